//! A reader for HJSON, the format the aio CLI writes its configuration files
//! in (`hjson.stringify` of the `hjson` npm package), into a JSON tree.
//!
//! The project's own, not a third-party crate: the published HJSON parsers
//! panicked on malformed or non-ASCII files that our fuzzing found, and a
//! `[patch]` of one would not reach the crates that depend on ims-core (see
//! the HJSON comparison in `BENCHMARKS.md`). It follows the `hjson` package's
//! reader:
//!
//! - comments: `#` and `//` to the end of the line, `/* … */`;
//! - the root object's braces may be left out;
//! - keys: quoted (`"…"`, `'…'`) or quoteless (no whitespace, no `{}[],:`);
//! - values: objects, arrays, `"…"` and `'…'` strings with JSON escapes,
//!   `'''` multi-line strings (indentation up to the opening quotes' column
//!   removed), `true`, `false`, `null`, numbers, and quoteless strings to the
//!   end of the line (a keyword or a number followed by `,`, `}`, `]` or a
//!   comment is that value);
//! - commas between members and elements are optional; a trailing one is
//!   allowed.
//!
//! Every read is by checked index (no slicing that can panic), nesting is
//! limited to [`MAX_DEPTH`], and an error names a line, a column and a
//! reason but never quotes the text: a configuration file holds secrets.

use std::fmt;

use serde_json::{Map, Number, Value};

/// The deepest nesting of objects and arrays read (serde_json's limit too).
pub(crate) const MAX_DEPTH: usize = 128;

/// The most indentation a `'''` string's lines lose.
const MAX_INDENT: usize = 1024;

/// Why and where a text is not HJSON. Its `Display` quotes none of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HjsonError {
    /// What is wrong.
    pub(crate) reason: &'static str,
    /// 1-based line of the error.
    pub(crate) line: usize,
    /// 1-based column (in characters) of the error.
    pub(crate) col: usize,
}

impl fmt::Display for HjsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {}, column {}",
            self.reason, self.line, self.col
        )
    }
}

impl std::error::Error for HjsonError {}

/// Reads `text` as HJSON. The root is a value in braces or brackets, or the
/// members of an object without its braces.
pub(crate) fn parse(text: &str) -> Result<Value, HjsonError> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    reader.skip_white()?;
    let value = match reader.peek() {
        Some(b'{' | b'[') => reader.value()?,
        _ => reader.members(false)?,
    };
    reader.skip_white()?;
    if reader.peek().is_some() {
        return Err(reader.error("trailing characters after the root value"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

/// The characters that cannot start a quoteless value nor appear in a
/// quoteless key.
fn is_punctuator(byte: u8) -> bool {
    matches!(byte, b'{' | b'}' | b'[' | b']' | b',' | b':')
}

/// HJSON's whitespace: every ASCII control character and the space.
fn is_white(byte: u8) -> bool {
    byte <= b' '
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos.saturating_add(offset)).copied()
    }

    /// An error at the current position.
    fn error(&self, reason: &'static str) -> HjsonError {
        self.error_at(self.pos, reason)
    }

    fn error_at(&self, pos: usize, reason: &'static str) -> HjsonError {
        let before = self.bytes.get(..pos).unwrap_or(self.bytes);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Characters, not bytes: count the bytes that start one.
        let col = before
            .get(line_start..)
            .unwrap_or_default()
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        HjsonError { reason, line, col }
    }

    /// The text between two positions, which are always at ASCII bytes or
    /// the ends of the text (so on character boundaries).
    fn slice(&self, from: usize, to: usize) -> Result<&str, HjsonError> {
        self.text
            .get(from..to)
            .ok_or_else(|| self.error_at(from, "a character is cut in two"))
    }

    /// Skips whitespace and comments.
    fn skip_white(&mut self) -> Result<(), HjsonError> {
        loop {
            match self.peek() {
                Some(b) if is_white(b) => self.pos += 1,
                Some(b'#') => self.skip_line(),
                Some(b'/') if self.peek_at(1) == Some(b'/') => self.skip_line(),
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match self.peek() {
                            None => return Err(self.error_at(start, "unterminated /* comment")),
                            Some(b'*') if self.peek_at(1) == Some(b'/') => {
                                self.pos += 2;
                                break;
                            }
                            Some(_) => self.pos += 1,
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn skip_line(&mut self) {
        while let Some(b) = self.peek() {
            if b == b'\n' {
                return;
            }
            self.pos += 1;
        }
    }

    fn enter(&mut self) -> Result<(), HjsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nested too deep"));
        }
        Ok(())
    }

    /// A value; whitespace and comments before it are skipped.
    fn value(&mut self) -> Result<Value, HjsonError> {
        self.skip_white()?;
        match self.peek() {
            None => Err(self.error("a value is missing")),
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                let object = self.members(true)?;
                self.depth -= 1;
                Ok(object)
            }
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                let array = self.elements()?;
                self.depth -= 1;
                Ok(array)
            }
            Some(quote @ (b'"' | b'\'')) => {
                if quote == b'\''
                    && self.peek_at(1) == Some(b'\'')
                    && self.peek_at(2) == Some(b'\'')
                {
                    self.multiline_string().map(Value::String)
                } else {
                    self.quoted_string(quote).map(Value::String)
                }
            }
            Some(_) => self.quoteless(),
        }
    }

    /// An object's members up to its `}` (after the `{`), or to the end of
    /// the text for a root object without braces.
    fn members(&mut self, braces: bool) -> Result<Value, HjsonError> {
        let mut object = Map::new();
        loop {
            self.skip_white()?;
            match self.peek() {
                None if braces => {
                    return Err(
                        self.error("the end of the text inside an object (a '}' is missing)")
                    );
                }
                None => return Ok(Value::Object(object)),
                Some(b'}') if braces => {
                    self.pos += 1;
                    return Ok(Value::Object(object));
                }
                Some(_) => {}
            }
            let key = self.key()?;
            self.skip_white()?;
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':' after a key"));
            }
            self.pos += 1;
            let value = self.value()?;
            object.insert(key, value);
            self.skip_white()?;
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
        }
    }

    /// An array's elements up to its `]` (after the `[`).
    fn elements(&mut self) -> Result<Value, HjsonError> {
        let mut array = Vec::new();
        loop {
            self.skip_white()?;
            match self.peek() {
                None => {
                    return Err(
                        self.error("the end of the text inside an array (a ']' is missing)")
                    );
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(array));
                }
                Some(_) => {}
            }
            array.push(self.value()?);
            self.skip_white()?;
            if self.peek() == Some(b',') {
                self.pos += 1;
            }
        }
    }

    /// A member's key: quoted, or quoteless up to the `:` (whitespace may
    /// follow it, not be inside it).
    fn key(&mut self) -> Result<String, HjsonError> {
        match self.peek() {
            Some(quote @ (b'"' | b'\'')) => return self.quoted_string(quote),
            Some(b) if is_punctuator(b) => {
                return Err(self.error("a punctuator where a key was expected"));
            }
            _ => {}
        }
        let start = self.pos;
        let mut end = None;
        loop {
            match self.peek() {
                None => return Err(self.error("the end of the text inside a key")),
                Some(b':') => break,
                Some(b) if is_white(b) => {
                    end.get_or_insert(self.pos);
                }
                Some(b) if is_punctuator(b) => {
                    return Err(self.error("a punctuator inside a quoteless key"));
                }
                Some(_) if end.is_some() => {
                    return Err(self.error("whitespace inside a quoteless key (quote it)"));
                }
                Some(_) => {}
            }
            self.pos += 1;
        }
        let end = end.unwrap_or(self.pos);
        Ok(self.slice(start, end)?.to_owned())
    }

    /// A `"…"` or `'…'` string on one line, with JSON escapes (and `\'`).
    fn quoted_string(&mut self, quote: u8) -> Result<String, HjsonError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error_at(open, "unterminated string")),
                Some(b'\n' | b'\r') => {
                    return Err(self.error("a line break inside a quoted string"));
                }
                Some(b) if b == quote => {
                    out.push_str(self.slice(run, self.pos)?);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(self.slice(run, self.pos)?);
                    self.pos += 1;
                    self.escape(&mut out)?;
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// The escape after a `\`.
    fn escape(&mut self, out: &mut String) -> Result<(), HjsonError> {
        let Some(b) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\'' => '\'',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.error_at(self.pos - 1, "an unknown escape in a string")),
        };
        out.push(c);
        Ok(())
    }

    /// The character of a `\uXXXX` escape (after the `u`); a UTF-16
    /// surrogate pair is two escapes.
    fn unicode_escape(&mut self) -> Result<char, HjsonError> {
        let start = self.pos;
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if self.peek() != Some(b'\\') || self.peek_at(1) != Some(b'u') {
                return Err(self.error_at(start, "a lone UTF-16 surrogate in a \\u escape"));
            }
            self.pos += 2;
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error_at(start, "a lone UTF-16 surrogate in a \\u escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code)
            .ok_or_else(|| self.error_at(start, "a lone UTF-16 surrogate in a \\u escape"))
    }

    fn hex4(&mut self) -> Result<u32, HjsonError> {
        let mut code = 0u32;
        for _ in 0..4 {
            let digit = self
                .peek()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("a \\u escape without four hex digits"))?;
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }

    /// A `'''` string (at its first quote): the rest of the opening line is
    /// skipped if blank, each line loses up to the opening quotes' column of
    /// whitespace, `\r` is dropped, and the last line break before the
    /// closing `'''` is not part of the string.
    fn multiline_string(&mut self) -> Result<String, HjsonError> {
        let open = self.pos;
        let indent = self.column_of(open);
        self.pos += 3;
        while let Some(b) = self.peek() {
            if !is_white(b) || b == b'\n' {
                break;
            }
            self.pos += 1;
        }
        if self.peek() == Some(b'\n') {
            self.pos += 1;
            self.skip_indent(indent);
        }
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error_at(open, "unterminated ''' string")),
                Some(b'\'') if self.peek_at(1) == Some(b'\'') && self.peek_at(2) == Some(b'\'') => {
                    out.push_str(self.slice(run, self.pos)?);
                    self.pos += 3;
                    if out.ends_with('\n') {
                        out.pop();
                    }
                    return Ok(out);
                }
                Some(b'\n') => {
                    self.pos += 1;
                    out.push_str(self.slice(run, self.pos)?);
                    self.skip_indent(indent);
                    run = self.pos;
                }
                Some(b'\r') => {
                    out.push_str(self.slice(run, self.pos)?);
                    self.pos += 1;
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// The 0-based column (in characters) of `pos`, counted back to the
    /// line's start but at most [`MAX_INDENT`] (so that a file of many
    /// `'''` strings on one long line is not read again for each).
    fn column_of(&self, pos: usize) -> usize {
        self.bytes
            .get(..pos)
            .unwrap_or_default()
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .filter(|&&b| (b & 0xC0) != 0x80)
            .take(MAX_INDENT)
            .count()
    }

    fn skip_indent(&mut self, indent: usize) {
        for _ in 0..indent {
            match self.peek() {
                Some(b) if is_white(b) && b != b'\n' => self.pos += 1,
                _ => return,
            }
        }
    }

    /// `true`, `false`, `null`, a number, or a quoteless string to the end
    /// of the line. At each `,`, `}`, `]` or comment, what was read so far
    /// is that value if it is a keyword or a number.
    fn quoteless(&mut self) -> Result<Value, HjsonError> {
        if self.peek().is_some_and(is_punctuator) {
            return Err(self.error("a punctuator where a value was expected"));
        }
        let start = self.pos;
        loop {
            let at_end = matches!(self.peek(), None | Some(b'\n' | b'\r'));
            let stops = at_end
                || matches!(self.peek(), Some(b',' | b'}' | b']' | b'#'))
                || (self.peek() == Some(b'/') && matches!(self.peek_at(1), Some(b'/' | b'*')));
            if stops {
                let read = self.slice(start, self.pos)?;
                if let Some(value) = keyword_or_number(read.trim()) {
                    return Ok(value);
                }
                if at_end {
                    return Ok(Value::String(read.trim().to_owned()));
                }
            }
            self.pos += 1;
        }
    }
}

/// `true`, `false`, `null`, or a JSON number that is finite.
fn keyword_or_number(text: &str) -> Option<Value> {
    match text {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "null" => return Some(Value::Null),
        _ => {}
    }
    if !is_json_number(text) {
        return None;
    }
    if let Ok(n) = text.parse::<u64>() {
        return Some(Value::Number(n.into()));
    }
    if let Ok(n) = text.parse::<i64>() {
        return Some(Value::Number(n.into()));
    }
    let float = text.parse::<f64>().ok()?;
    Number::from_f64(float).map(Value::Number)
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(text: &str) -> bool {
    let mut bytes = text.as_bytes();
    if let [b'-', rest @ ..] = bytes {
        bytes = rest;
    }
    let digits = |b: &[u8]| b.iter().take_while(|c| c.is_ascii_digit()).count();
    let int = digits(bytes);
    if int == 0 || (int > 1 && bytes.first() == Some(&b'0')) {
        return false;
    }
    bytes = bytes.get(int..).unwrap_or_default();
    if let [b'.', rest @ ..] = bytes {
        let frac = digits(rest);
        if frac == 0 {
            return false;
        }
        bytes = rest.get(frac..).unwrap_or_default();
    }
    if let [b'e' | b'E', rest @ ..] = bytes {
        let rest = match rest {
            [b'+' | b'-', rest @ ..] => rest,
            _ => rest,
        };
        let exp = digits(rest);
        if exp == 0 {
            return false;
        }
        bytes = rest.get(exp..).unwrap_or_default();
    }
    bytes.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(text: &str) -> Value {
        match parse(text) {
            Ok(value) => value,
            Err(err) => panic!("{text:?}: {err}"),
        }
    }

    fn err(text: &str) -> HjsonError {
        match parse(text) {
            Ok(value) => panic!("{text:?} was read as {value}"),
            Err(err) => err,
        }
    }

    /// What aio's `hjson.stringify(…, { condense, emitRootBraces,
    /// separator, bracesSameLine, multiline: 'off' })` writes.
    #[test]
    fn reads_what_aio_writes() {
        let text = "{\n  ims: {\n    contexts: {\n      cli: {\n        access_token: {\n          token: \"eyJhbGciOiJSUzI1NiJ9.e30.sig\",\n          expiry: 1767225600000\n        },\n        \"cli.bare-output\": false,\n        scopes: [\"openid\", \"AdobeID\"]\n      }\n    },\n    config: {\n      current: cli\n    }\n  }\n}\n";
        assert_eq!(
            ok(text),
            json!({"ims": {
                "contexts": {"cli": {
                    "access_token": {"token": "eyJhbGciOiJSUzI1NiJ9.e30.sig", "expiry": 1_767_225_600_000_u64},
                    "cli.bare-output": false,
                    "scopes": ["openid", "AdobeID"]
                }},
                "config": {"current": "cli"}
            }})
        );
    }

    #[test]
    fn quoteless_values_keywords_and_numbers() {
        assert_eq!(
            ok(
                "a: true love\nb: true\nc: 12 monkeys\nd: -1.5e3\ne: null # comment\nf: 0x10\ng: 007"
            ),
            json!({"a": "true love", "b": true, "c": "12 monkeys", "d": -1500.0, "e": null, "f": "0x10", "g": "007"})
        );
        // A keyword or number before `,` `}` `]` is that value; a string runs to the line's end.
        assert!(parse("{a: [1, true, x, y], b: 2}").is_err());
        assert_eq!(
            ok("{a: [1, true, x\n], b: 2}"),
            json!({"a": [1, true, "x"], "b": 2})
        );
        assert_eq!(ok("a: 1e999999"), json!({"a": "1e999999"}));
        assert_eq!(ok("a: -9223372036854775808"), json!({"a": i64::MIN}));
        assert_eq!(ok("a: 18446744073709551615"), json!({"a": u64::MAX}));
    }

    #[test]
    fn strings_keys_and_comments() {
        let text = "// header\n/* block\n comment */\n{\n  'single': 'it\\'s \\u00e9\\ud83d\\ude00',\n  \"double key\": \"a\\tb\"\n  url: https://example.com/path # part of the string\n  slashes: a/b\n}";
        assert_eq!(
            ok(text),
            json!({"single": "it's é😀", "double key": "a\tb", "url": "https://example.com/path # part of the string", "slashes": "a/b"})
        );
        assert_eq!(ok("{a:'€'}"), json!({"a": "€"}));
        assert_eq!(ok("{'': ''}"), json!({"": ""}));
        assert_eq!(ok(""), json!({}));
        assert_eq!(ok("# only a comment"), json!({}));
    }

    #[test]
    fn multiline_strings() {
        let text =
            "{\n  key:\n    '''\n    first\n      indented\n    last\n    '''\n  one: '''x'''\n}";
        assert_eq!(
            ok(text),
            json!({"key": "first\n  indented\nlast", "one": "x"})
        );
        assert_eq!(ok("a: '''\r\n  l1\r\n  l2'''"), json!({"a": "l1\nl2"}));
    }

    /// Indentation and the opening line, as the `hjson` package reads them.
    #[test]
    fn multiline_string_indentation() {
        let text = "{\n        a: '''all on the key line'''\n        b: '''line 1\n                line 2'''\n        c: '''\nline 1\n    line 2'''\n        d: ''' line 1\n        line 2\n    line 3'''\n        e: '''\n            line 1\n                line 2\n             '''\n        f:\n        '''\n        line 1\n         line 2\n        line 3\n        '''\n}\n";
        assert_eq!(
            ok(text),
            json!({
                "a": "all on the key line",
                "b": "line 1\n     line 2",
                "c": "line 1\nline 2",
                "d": "line 1\nline 2\nline 3",
                "e": " line 1\n     line 2\n  ",
                "f": "line 1\n line 2\nline 3"
            })
        );
    }

    #[test]
    fn whitespace_around_quoteless_values_is_dropped() {
        let text = "{\n map: {\n  \" \":  0 \n  pi: 2.5    \t\n  τ:\t\t\t6.5  \n  'τ/2':   π  \n  /:  some tabs\t\t\t\n },\n single: \t z -. \n arr: [\n  \t bah\n     zz   \n ]\n}";
        assert_eq!(
            ok(text),
            json!({
                "map": {" ": 0, "pi": 2.5, "τ": 6.5, "τ/2": "π", "/": "some tabs"},
                "single": "z -.",
                "arr": ["bah", "zz"]
            })
        );
    }

    #[test]
    fn errors_say_where_and_quote_nothing() {
        let e = err("{\n  client_secret: \"p8-SECRET-\\q-VALUE\"\n}");
        assert_eq!((e.line, e.col), (2, 30));
        let shown = e.to_string();
        assert!(
            shown.contains("line 2") && !shown.contains("SECRET"),
            "{shown}"
        );

        for bad in [
            "{",
            "[",
            "}",
            "{a:}",
            "{:}",
            "{a b: 1}",
            "{a: 1} x",
            "{a:'''",
            "'''x",
            "{a:'''\nx'",
            "{a:'''\nx''",
            "{\"a\"é: 1}",
            "{a:\"\\é\"}",
            "{a:\"\\u12€\"}",
            "{a:\"\\u12\"}",
            "{a:\"\\ud800\"}",
            "{a:\"x\ny\"}",
            "/* open",
            "a",
            "a:",
        ] {
            let e = err(bad);
            assert!(e.line >= 1 && e.col >= 1, "{bad:?}: {e}");
        }
        // Columns count characters, not bytes.
        assert_eq!(err("{é: 'x\n}").col, 7);
    }

    #[test]
    fn nesting_is_limited() {
        let ok_depth = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&format!("a: {ok_depth}")).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&format!("a: {deep}")).reason, "nested too deep");
        let deep_objects = format!("{}1{}", "{a:".repeat(10_000), "}".repeat(10_000));
        assert_eq!(err(&deep_objects).reason, "nested too deep");
    }
}
