//! Plain HTML pages: the sign-in form and the error page (no JavaScript needed).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
// Text and attribute values alike: `&<>"'/` as entities.
use html_escape::encode_safe;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f4f4;margin:0}\
main{max-width:24rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:6px;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:1rem 0 .3rem}\
input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}\
.buttons{margin-top:1.5rem;display:flex;gap:.5rem}button{padding:.5rem 1rem;font-size:1rem}\
.error{color:#b00020;background:#fdecea;padding:.6rem;border-radius:4px}\
.note{color:#666;font-size:.85rem;margin-top:1.5rem}";

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        title = encode_safe(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=UTF-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The sign-in form. `hidden` are the authorize parameters to carry through; the form posts back
/// to `action` (the authorize path).
pub(crate) fn sign_in_page(
    status: StatusCode,
    action: &str,
    client_name: &str,
    hidden: &[(String, String)],
    email: &str,
    error: Option<&str>,
    reauth: bool,
) -> Response {
    let mut body = String::new();
    body.push_str(if reauth {
        "<h1>Confirm it's you</h1>"
    } else {
        "<h1>Sign in</h1>"
    });
    body.push_str(&format!(
        "<p>to continue to <strong>{}</strong></p>",
        encode_safe(client_name)
    ));
    if let Some(error) = error {
        body.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            encode_safe(error)
        ));
    }
    body.push_str(&format!(
        "<form method=\"post\" action=\"{}\">",
        encode_safe(action)
    ));
    for (name, value) in hidden {
        body.push_str(&format!(
            "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
            encode_safe(name),
            encode_safe(value)
        ));
    }
    body.push_str(&format!(
        "<label for=\"email\">Email address</label>\
<input type=\"email\" id=\"email\" name=\"email\" value=\"{}\" autocomplete=\"username\" required autofocus>\
<label for=\"password\">Password</label>\
<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
<div class=\"buttons\"><button type=\"submit\" name=\"action\" value=\"login\">Continue</button>\
<button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button></div></form>\
<p class=\"note\">ims-emulator — a local Adobe IMS for tests. Never enter real credentials here.</p>",
        encode_safe(email)
    ));
    page(status, "Sign in — ims-emulator", &body)
}

/// An error page (used when redirecting would be unsafe: unknown client, unregistered redirect URI).
pub(crate) fn error_page(status: StatusCode, error: &str, description: &str) -> Response {
    let body = format!(
        "<h1>Sign-in error</h1><p class=\"error\" role=\"alert\"><strong>{}</strong>: {}</p>\
<p class=\"note\">ims-emulator did not redirect because the request cannot be trusted.</p>",
        encode_safe(error),
        encode_safe(description)
    );
    page(status, "Error — ims-emulator", &body)
}

/// A plain confirmation page (front-channel logout without a redirect URI).
pub(crate) fn message_page(title: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p>{}</p>",
        encode_safe(title),
        encode_safe(message)
    );
    page(StatusCode::OK, title, &body)
}

/// The start page at `/`.
pub(crate) fn index_page(base: &str, sign_in_link: &str) -> Response {
    let body = format!(
        "<h1>ims-emulator</h1><p>A local Adobe IMS at <code>{base}</code>, for tests only.</p>\
<p><a href=\"{link}\">Try the sign-in page</a> (web client, redirects to <code>/demo/callback</code>).</p>\
<p>Discovery: <a href=\"{base}/ims/.well-known/openid-configuration\">/ims/.well-known/openid-configuration</a><br>\
Keys: <a href=\"{base}/ims/keys\">/ims/keys</a><br>Seed: <a href=\"{base}/__emulator/seed\">/__emulator/seed</a></p>",
        base = encode_safe(base),
        link = encode_safe(sign_in_link),
    );
    page(StatusCode::OK, "ims-emulator", &body)
}

/// The demo redirect target: lists the parameters it received.
pub(crate) fn callback_page(params: &[(String, String)]) -> Response {
    let mut body = String::from(
        "<h1>Redirect received</h1><p>A client would now exchange the code at <code>/ims/token/v3</code>.</p><dl>",
    );
    for (k, v) in params {
        body.push_str(&format!(
            "<dt><strong>{}</strong></dt><dd><code style=\"word-break:break-all\">{}</code></dd>",
            encode_safe(k),
            encode_safe(v)
        ));
    }
    body.push_str("</dl>");
    page(StatusCode::OK, "Redirect received — ims-emulator", &body)
}
