//! Reading the emulator's sign-in page the way a browser would, for tests
//! that drive a sign-in without one (a host's integration tests, this
//! workspace's own).

/// The sign-in form of a page the emulator served: where it posts, and the
/// hidden fields that carry the authorize request through.
///
/// ```
/// use ims_emulator::SignInForm;
///
/// let html = r#"<form method="post" action="/ims/authorize/v2">
///   <input type="hidden" name="client_id" value="emulator-web">
///   <input type="hidden" name="state" value="a&amp;b"></form>"#;
/// let form = SignInForm::parse(html).expect("a sign-in form");
/// assert_eq!(form.action, "/ims/authorize/v2");
/// let fields = form.fields("member@example.com", "member-password", "login");
/// assert_eq!(fields[1], ("state".to_owned(), "a&b".to_owned()));
/// assert_eq!(fields.last().unwrap(), &("action".to_owned(), "login".to_owned()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignInForm {
    /// The form's `action`: the path it posts to, relative to the page.
    pub action: String,
    /// The hidden fields, in page order.
    pub hidden: Vec<(String, String)>,
}

impl SignInForm {
    /// The first form of `html`, or `None` when the page has none (an
    /// error page, say).
    pub fn parse(html: &str) -> Option<SignInForm> {
        let form = &html[html.find("<form")?..];
        let action = attribute(&form[..form.find('>')?], "action")?;
        let mut hidden = Vec::new();
        let mut rest = form;
        while let Some(start) = rest.find("<input type=\"hidden\"") {
            let end = start + rest[start..].find('>')?;
            let tag = &rest[start..end];
            hidden.push((attribute(tag, "name")?, attribute(tag, "value")?));
            rest = &rest[end..];
        }
        Some(SignInForm { action, hidden })
    }

    /// What a person's browser posts: the hidden fields, the e-mail and
    /// password typed in, and the button pressed (`login` or `cancel`).
    pub fn fields(&self, email: &str, password: &str, button: &str) -> Vec<(String, String)> {
        let mut fields = self.hidden.clone();
        for (name, value) in [("email", email), ("password", password), ("action", button)] {
            fields.push((name.to_owned(), value.to_owned()));
        }
        fields
    }
}

/// The value of attribute `name` in `tag`, unescaped.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// The inverse of the pages' escaping (any HTML entity, as a browser reads it).
fn unescape(text: &str) -> String {
    html_escape::decode_html_entities(text).into_owned()
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::html::sign_in_page;

    #[tokio::test]
    async fn reads_back_what_the_sign_in_page_renders() {
        let hidden = vec![
            ("client_id".to_owned(), "emulator-web".to_owned()),
            ("state".to_owned(), "<a&b \"c\" 'd'>".to_owned()),
            ("redirect_uri".to_owned(), "http://x/cb?a=1&b=2".to_owned()),
        ];
        let page = sign_in_page(
            StatusCode::OK,
            "/ims/authorize/v2",
            "Client \"one\"",
            &hidden,
            "someone@example.com",
            Some("wrong password"),
            false,
        );
        let body = axum::body::to_bytes(page.into_body(), usize::MAX)
            .await
            .unwrap();
        let form = SignInForm::parse(std::str::from_utf8(&body).unwrap()).unwrap();
        assert_eq!(form.action, "/ims/authorize/v2");
        assert_eq!(form.hidden, hidden);
    }

    #[test]
    fn a_page_without_a_form_has_none() {
        assert_eq!(SignInForm::parse("<h1>Sign-in error</h1>"), None);
        assert_eq!(SignInForm::parse("<form method=\"post\""), None);
    }
}
