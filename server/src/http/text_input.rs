//! Refuses request input that cannot be text, before any handler (or SQL)
//! sees it.
//!
//! # Security
//! PostgreSQL stores text as UTF-8 without NUL; a form field or query
//! parameter carrying `%00` or bytes that are not UTF-8 used to reach a
//! query and come back as a 500 or a 503. Every query string, every
//! urlencoded form body and every JSON body is checked here instead, and
//! refused with 400 and a sentence that says why. Nothing partial is
//! processed.

use percent_encoding::percent_decode;

/// Why `input` is not text, if it is not.
pub fn urlencoded_problem(input: &[u8]) -> Option<&'static str> {
    for pair in input.split(|b| *b == b'&') {
        for part in pair.splitn(2, |b| *b == b'=') {
            let decoded: Vec<u8> = percent_decode(part).collect();
            if let Some(why) = text_problem(&decoded) {
                return Some(why);
            }
        }
    }
    None
}

/// Why a JSON body is not acceptable text: invalid UTF-8 (which the JSON
/// parser would refuse too) or an escaped NUL (`\u0000`), which it would
/// accept and PostgreSQL would not.
pub fn json_problem(body: &[u8]) -> Option<&'static str> {
    if std::str::from_utf8(body).is_err() {
        return Some("The request body is not valid UTF-8.");
    }
    let lower = body.to_ascii_lowercase();
    lower
        .windows(6)
        .any(|w| w == b"\\u0000")
        .then_some("The request contains a NUL character, which no field accepts.")
}

fn text_problem(bytes: &[u8]) -> Option<&'static str> {
    if std::str::from_utf8(bytes).is_err() {
        return Some("The request contains bytes that are not valid UTF-8 text.");
    }
    bytes
        .contains(&0)
        .then_some("The request contains a NUL character, which no field accepts.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_invalid_utf8_are_refused_wherever_they_sit() {
        assert!(urlencoded_problem(b"email=a%40b.example&password=x").is_none());
        assert!(urlencoded_problem(b"q=caf%C3%A9+au+lait").is_none());
        assert!(urlencoded_problem(b"email=a%00b").is_some());
        assert!(urlencoded_problem(b"action=%00%ff").is_some());
        assert!(urlencoded_problem(b"x=%ff").is_some());
        assert!(urlencoded_problem(b"%ff=1").is_some());
        assert!(urlencoded_problem(b"x=%C3%28").is_some());
        assert!(json_problem(br#"{"name":"ok"}"#).is_none());
        assert!(json_problem(br#"{"name":"a\u0000b"}"#).is_some());
        assert!(json_problem(b"{\"name\":\"\xff\"}").is_some());
    }
}
