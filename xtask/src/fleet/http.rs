//! Just enough HTTP/1.1 for the fleet's measurements, over std's TCP: whole
//! answers with their headers (redirects and cookies are followed by hand),
//! kept-alive connections for polling and bursts, and form encoding.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use crate::commands::Result;

/// How long any answer may take before the harness calls it a hang.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// An answer: status, headers (names lower-cased), body.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: String,
}

impl Answer {
    /// The first header called `name` (lower case).
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every `Set-Cookie`'s `name=value`.
    pub(super) fn cookies(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .map(|pair| pair.trim().to_owned())
            .collect()
    }
}

/// `host:port` of an `http://` URL, and its path with the query.
pub(super) fn split_url(url: &str) -> Result<(String, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http:// URL: {url}"))?;
    Ok(match rest.find('/') {
        Some(at) => (rest[..at].to_owned(), rest[at..].to_owned()),
        None => (rest.to_owned(), "/".to_owned()),
    })
}

/// `request` on a fresh connection (closed after the answer).
pub(super) fn once(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Answer> {
    let (authority, path) = split_url(url)?;
    let mut connection = Connection::open(&authority)?;
    connection.exchange(method, &path, headers, body)
}

/// A kept-alive connection.
pub(super) struct Connection {
    authority: String,
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `host:port`.
    pub(super) fn open(authority: &str) -> Result<Connection> {
        let stream = TcpStream::connect(authority)
            .map_err(|e| format!("cannot connect to {authority}: {e}"))?;
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            authority: authority.to_owned(),
            reader: BufReader::new(stream),
        })
    }

    /// The request's bytes.
    pub(super) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Vec<u8> {
        let mut text = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.authority);
        if !body.is_empty() || method == "POST" {
            let _ = write!(text, "Content-Length: {}\r\n", body.len());
        }
        for (name, value) in headers {
            let _ = write!(text, "{name}: {value}\r\n");
        }
        text.push_str("\r\n");
        text.push_str(body);
        text.into_bytes()
    }

    /// Sends a request and reads its answer; reconnects for the next one
    /// when the server closes.
    pub(super) fn exchange(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<Answer> {
        let request = self.request(method, path, headers, body);
        self.send(&request)?;
        self.answer()
    }

    /// Writes prepared request bytes.
    pub(super) fn send(&mut self, request: &[u8]) -> Result {
        self.reader
            .get_mut()
            .write_all(request)
            .map_err(|e| format!("cannot send to {}: {e}", self.authority))
    }

    /// Reads one whole answer.
    pub(super) fn answer(&mut self) -> Result<Answer> {
        let mut status = None;
        let mut headers = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| format!("cannot read an answer from {}: {e}", self.authority))?;
            if n == 0 {
                return Err(format!(
                    "{} closed the connection mid-answer",
                    self.authority
                ));
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if status.is_none() {
                status = trimmed
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok());
                continue;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let status = status.ok_or("an answer without a status")?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v): &(String, String)| v.clone())
        };
        let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
        let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let body = if chunked {
            self.chunked_body()?
        } else {
            let length = header("content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; length];
            self.reader
                .read_exact(&mut body)
                .map_err(|e| format!("cannot read an answer's body: {e}"))?;
            body
        };
        if close {
            *self = Connection::open(&self.authority)?;
        }
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn chunked_body(&mut self) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            self.reader
                .read_line(&mut line)
                .map_err(|e| format!("cannot read a chunk: {e}"))?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| format!("a bad chunk size {line:?}"))?;
            let mut chunk = vec![0u8; size + 2];
            self.reader
                .read_exact(&mut chunk)
                .map_err(|e| format!("cannot read a chunk: {e}"))?;
            chunk.truncate(size);
            body.extend_from_slice(&chunk);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

/// `application/x-www-form-urlencoded` of `fields`.
pub(super) fn form(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

/// The URL a `Location` points to, resolved against the URL that answered.
pub(super) fn resolve(base: &str, location: &str) -> Result<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_owned());
    }
    let (authority, path) = split_url(base)?;
    if location.starts_with('/') {
        return Ok(format!("http://{authority}{location}"));
    }
    let dir = path
        .split('?')
        .next()
        .and_then(|p| p.rfind('/').map(|at| &p[..=at]))
        .unwrap_or("/");
    Ok(format!("http://{authority}{dir}{location}"))
}

/// The value of attribute `name` in an HTML tag, unescaped.
pub(super) fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

/// `text` with HTML's character references decoded: the named ones an
/// escaper writes (`&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`) and numeric
/// ones (`&#39;`, `&#x2F;`); anything else is kept as written.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(|parsed| parsed.ok())
                    .and_then(char::from_u32),
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first form of a page: its action and hidden fields.
pub(super) fn first_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let form = &html[html.find("<form")?..];
    let action = attribute(&form[..form.find('>')?], "action")?;
    let end = form.find("</form>").unwrap_or(form.len());
    let mut hidden = Vec::new();
    let mut rest = &form[..end];
    while let Some(start) = rest.find("<input") {
        let stop = start + rest[start..].find('>')?;
        let tag = &rest[start..stop];
        if tag.contains("type=\"hidden\"")
            && let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value"))
        {
            hidden.push((name, value));
        }
        rest = &rest[stop..];
    }
    Some((action, hidden))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_forms_and_pages_are_read() {
        assert_eq!(
            split_url("http://127.0.0.1:9/a/b?c=d").unwrap(),
            ("127.0.0.1:9".to_owned(), "/a/b?c=d".to_owned())
        );
        assert!(split_url("https://x").is_err());
        assert_eq!(
            form(&[("e mail".into(), "a+b@c.d/&".into())]),
            "e+mail=a%2Bb%40c.d%2F%26"
        );
        assert_eq!(
            resolve("http://h:1/ims/authorize/v2?x", "/admin").unwrap(),
            "http://h:1/admin"
        );
        assert_eq!(
            resolve("http://h:1/ims/authorize/v2?x", "signin?y").unwrap(),
            "http://h:1/ims/authorize/signin?y"
        );
        let html = r#"<form method="post" action="/ims/login?a=1&amp;b=2"><input type="hidden" name="state" value="s&quot;1"><input name="email"></form>"#;
        let (action, hidden) = first_form(html).unwrap();
        assert_eq!(action, "/ims/login?a=1&b=2");
        assert_eq!(hidden, vec![("state".to_owned(), "s\"1".to_owned())]);
        // html-escape's encode_safe writes '/' and '\'' as numeric references.
        let html =
            r#"<form action="&#x2F;ims&#x2F;login?a=&#39;1&#x27;&amp;b=2&unknown;&"></form>"#;
        let (action, _) = first_form(html).unwrap();
        assert_eq!(action, "/ims/login?a='1'&b=2&unknown;&");
    }
}
