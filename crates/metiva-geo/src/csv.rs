//! A minimal CSV record splitter (RFC 4180 quoting, one record per line).

use std::borrow::Cow;

/// Splits one CSV record into its fields.
///
/// Fields may be quoted with `"`; inside a quoted field `""` stands for one
/// `"` and the delimiter has no special meaning. A quote inside an unquoted
/// field, an unclosed quoted field or text after a closing quote are errors.
/// Records spanning several lines are not supported (the caller splits the
/// input into lines first). Fields are returned untrimmed.
pub(crate) fn split_record(line: &str, delim: char) -> Result<Vec<Cow<'_, str>>, String> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let (value, after) = quoted_field(quoted)?;
            fields.push(value);
            if after.is_empty() {
                return Ok(fields);
            }
            match after.strip_prefix(delim) {
                Some(next) => rest = next,
                None => {
                    return Err(format!(
                        "unexpected text after a closing quote in field {}",
                        fields.len()
                    ));
                }
            }
        } else {
            let (field, next) = match rest.split_once(delim) {
                Some((field, next)) => (field, Some(next)),
                None => (rest, None),
            };
            if field.contains('"') {
                return Err(format!(
                    "field {} contains a quote but does not start with one",
                    fields.len() + 1
                ));
            }
            fields.push(Cow::Borrowed(field));
            match next {
                Some(next) => rest = next,
                None => return Ok(fields),
            }
        }
    }
}

/// Reads a quoted field whose opening quote has been consumed. Returns the
/// unescaped value and the text after the closing quote.
fn quoted_field(text: &str) -> Result<(Cow<'_, str>, &str), String> {
    const UNCLOSED: &str = "a quoted field is not closed";
    let (head, after) = text.split_once('"').ok_or(UNCLOSED)?;
    let Some(mut after) = after.strip_prefix('"') else {
        return Ok((Cow::Borrowed(head), after));
    };
    // Escaped quotes: build an owned value.
    let mut value = String::with_capacity(text.len());
    value.push_str(head);
    value.push('"');
    loop {
        let (part, next) = after.split_once('"').ok_or(UNCLOSED)?;
        value.push_str(part);
        match next.strip_prefix('"') {
            Some(more) => {
                value.push('"');
                after = more;
            }
            None => return Ok((Cow::Owned(value), next)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn split(line: &str) -> Vec<String> {
        split_record(line, ',')
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(split("a,b,c"), ["a", "b", "c"]);
        assert_eq!(split("a,,"), ["a", "", ""]);
        assert_eq!(split(""), [""]);
        assert_eq!(split("1,\"Cloudflare, Inc.\""), ["1", "Cloudflare, Inc."]);
        assert_eq!(
            split("\"\"\"Uzbektelekom\"\" JSC\""),
            ["\"Uzbektelekom\" JSC"]
        );
        assert_eq!(split("\"a\"\"\",b"), ["a\"", "b"]);
        assert_eq!(split("\"\",x"), ["", "x"]);
        assert_eq!(
            split_record("\"a;b\";c", ';').unwrap(),
            [Cow::Borrowed("a;b"), Cow::Borrowed("c")]
        );
    }

    #[test]
    fn malformed_fields() {
        assert!(split_record("\"abc", ',').is_err());
        assert!(split_record("\"ab\"\"c", ',').is_err());
        assert!(split_record("\"ab\"c", ',').is_err());
        assert!(split_record("ab\"c", ',').is_err());
        assert!(split_record("x,ab\"", ',').is_err());
    }
}
