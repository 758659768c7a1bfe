//! Everything the command prints: human text or `--json`, on stdout; errors
//! and notes on stderr.

use std::io::Write as _;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::exit::CliError;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Human output, or JSON with `json`.
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    /// Whether `--json` was given.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// One line on stdout.
    pub fn line(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed stdout (`ims token get | head -c0`) is not our failure.
        let _ = writeln!(out, "{text}");
    }

    /// A JSON value on stdout, pretty-printed.
    pub fn json(&self, value: &Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
        self.line(&text);
    }

    /// `json` with `--json`, else `human`.
    pub fn result(&self, human: &str, json: &Value) {
        if self.json {
            self.json(json);
        } else {
            self.line(human);
        }
    }

    /// A note for the person at the terminal (stderr), never with `--json`.
    pub fn note(&self, text: &str) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    /// A warning on stderr, also with `--json` (then as a JSON object
    /// `{"warning": ...}` on one line).
    pub fn warn(&self, text: &str) {
        if self.json {
            eprintln!("{}", json!({ "warning": text }));
        } else {
            eprintln!("warning: {text}");
        }
    }

    /// A table with a header row, columns padded to their widest cell.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) {
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let render = |cells: Vec<&str>| {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    line.push_str(cell);
                } else {
                    let width = widths.get(i).copied().unwrap_or(0);
                    line.push_str(&format!("{cell:<width$}  "));
                }
            }
            line.trim_end().to_owned()
        };
        self.line(&render(header.to_vec()));
        for row in rows {
            self.line(&render(row.iter().map(String::as_str).collect()));
        }
    }

    /// An error on stderr: `error: ...` and `hint: ...`, or a JSON object
    /// `{"error": {"kind", "message", "hint", "exit_code"}}` with `--json`.
    pub fn error(&self, err: &CliError) {
        if self.json {
            let value = json!({"error": {
                "kind": err.kind(),
                "message": err.to_string(),
                "hint": err.hint(),
                "exit_code": err.code(),
            }});
            eprintln!("{value}");
        } else {
            eprintln!("error: {err}");
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
        }
    }
}

/// An instant in ISO 8601 (RFC 3339), UTC.
pub fn iso(instant: OffsetDateTime) -> String {
    instant
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| instant.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn iso_is_utc_rfc3339() {
        assert_eq!(
            iso(datetime!(2030-01-02 03:04:05 +02:00)),
            "2030-01-02T01:04:05Z"
        );
    }
}
