//! The device line of a session ("Chrome on Linux"), from the user agent it
//! signed in with. Server-only: `woothee` does the parsing, so its rules
//! never reach the wasm bundle.

use woothee::parser::Parser;
use woothee::woothee::VALUE_UNKNOWN;

use crate::i18n::{Lang, tr};

/// The most characters of an unrecognised user agent shown instead.
const RAW_CHARS: usize = 40;

/// "Chrome on Linux", "Safari on iPhone", the browser or the system alone
/// when only one is recognised, the start of the user agent when neither
/// is, and "Unknown device" when there is none.
pub(super) fn describe(user_agent: Option<&str>, lang: Lang) -> String {
    let ua = user_agent.map(str::trim).unwrap_or_default();
    if ua.is_empty() {
        return tr(lang, "Unknown device").to_owned();
    }
    let parsed = Parser::new().parse(ua);
    let browser = parsed
        .as_ref()
        .filter(|r| r.browser_type == "browser")
        .and_then(|r| known(r.name));
    let os = parsed.as_ref().and_then(|r| known(r.os)).map(system_name);
    match (browser, os) {
        (Some(browser), Some(os)) => format!("{browser} {} {os}", crate::i18n::tr(lang, "on")),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => shorten(ua),
    }
}

/// `woothee`'s answer for one field, unless it is "UNKNOWN".
fn known(value: &str) -> Option<&str> {
    (value != VALUE_UNKNOWN).then_some(value)
}

/// `woothee`'s system names, where they would mislead: Windows 11 still
/// sends "Windows NT 10.0", which `woothee` calls "Windows 10".
fn system_name(os: &str) -> &str {
    match os {
        "Windows 10" => "Windows",
        "Mac OSX" => "macOS",
        other => other,
    }
}

/// `ua` cut to [`RAW_CHARS`] characters, marked when cut.
fn shorten(ua: &str) -> String {
    match ua.char_indices().nth(RAW_CHARS) {
        Some((end, _)) => format!("{}…", ua.get(..end).unwrap_or(ua)),
        None => ua.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn en(ua: &str) -> String {
        describe(Some(ua), Lang::En)
    }

    #[test]
    fn common_browsers() {
        assert_eq!(
            en(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
            ),
            "Chrome on Linux"
        );
        assert_eq!(
            en("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"),
            "Firefox on Windows"
        );
        assert_eq!(
            en(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
            ),
            "Safari on iPhone"
        );
        assert_eq!(
            en(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
            ),
            "Edge on Windows"
        );
        assert_eq!(
            en(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
            ),
            "Safari on macOS"
        );
        assert_eq!(
            describe(
                Some(
                    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
                ),
                Lang::Nl
            ),
            "Chrome op Android"
        );
    }

    #[test]
    fn unknown_and_empty_fall_back_short() {
        assert_eq!(describe(None, Lang::En), "Unknown device");
        assert_eq!(describe(Some("  "), Lang::Nl), "Onbekend apparaat");
        assert_eq!(en("curl/8.5.0"), "curl/8.5.0");
        let long = format!("MetivaProbe/1.0 {}", "x".repeat(100));
        let shown = en(&long);
        assert_eq!(shown.chars().count(), RAW_CHARS + 1, "{shown}");
        assert!(shown.starts_with("MetivaProbe/1.0 ") && shown.ends_with('…'));
    }
}
