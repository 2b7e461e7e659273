//! A refused form's fields, both ways. A plain (no-script) form post that
//! fails validation goes back to its page with `?invalid=field:code,…`
//! (codes only, never the submitted values), and the page words each
//! code in the reader's language; a script gets a 422 naming each field.

/// The `(field, code)` pairs of a page's `?invalid=` query; malformed
/// items are skipped (the page only words codes it knows).
pub fn parse_invalid(list: &str) -> Vec<(String, String)> {
    list.split(',')
        .filter_map(|p| p.split_once(':'))
        .map(|(f, c)| (f.to_string(), c.to_string()))
        .collect()
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use metiva_db::crm::FieldError;

    use crate::error::AppError;
    use crate::i18n::tr;

    /// The `?invalid=` value for refused fields: `field:code,…`, escaped.
    pub fn invalid_list(fields: &[FieldError]) -> String {
        let list = fields
            .iter()
            .map(|f| format!("{}:{}", f.field, f.code))
            .collect::<Vec<_>>()
            .join(",");
        crate::query_escape(&list)
    }

    /// A refused form: a plain form post is sent back to `back` with the
    /// fields in its query; either way the answer is a 422 naming each
    /// field, its code worded by `code_text` in the user's language.
    pub fn refused(
        fields: &[FieldError],
        back: &str,
        code_text: fn(&str) -> &'static str,
    ) -> AppError {
        if crate::member_forms::ssr::plain_form() {
            leptos_axum::redirect(&format!("{back}?invalid={}", invalid_list(fields)));
        }
        let l = crate::i18n::current();
        let msg = fields
            .iter()
            .map(|f| format!("{}: {}", f.field, tr(l, code_text(f.code))))
            .collect::<Vec<_>>()
            .join(" ");
        AppError::validation(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_invalid;

    #[test]
    fn the_query_reads_back_pairs_and_skips_malformed_items() {
        assert_eq!(
            parse_invalid("url:not_https,secret:required"),
            [
                ("url".to_string(), "not_https".to_string()),
                ("secret".to_string(), "required".to_string())
            ]
        );
        assert_eq!(
            parse_invalid("nocolon,a:b"),
            [("a".to_string(), "b".to_string())]
        );
        assert!(parse_invalid("").is_empty());
    }
}
