//! English and Dutch. The catalog is keyed by the English text: views call
//! `tr(lang, "English text")`; the Dutch comes from [`CATALOG`]. A string
//! missing from the catalog fails debug builds (and so the tests), and the
//! end-to-end tests walk the pages in Dutch looking for any English text
//! from the catalog.

use serde::{Deserialize, Serialize};

/// The two languages of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    En,
    Nl,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Nl => "nl",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "en" => Some(Lang::En),
            "nl" => Some(Lang::Nl),
            _ => None,
        }
    }
}

/// The text for `en` in `lang`.
pub fn tr(lang: Lang, en: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Nl => match dutch(en) {
            Some(nl) => nl,
            None => {
                debug_assert!(false, "missing from the i18n catalog: {en:?}");
                en
            }
        },
    }
}

/// The Dutch for `en`. On the server a map over the catalogs, built once:
/// a Dutch page asks for dozens of texts, and a scan of the catalogs (some
/// seven hundred entries) cost about two thousand instructions each
/// (issue 15). The catalogs hold each English text once (tested), so the
/// map answers what the scan answered.
#[cfg(feature = "ssr")]
fn dutch(en: &str) -> Option<&'static str> {
    use std::collections::HashMap;
    use std::sync::LazyLock;
    static DUTCH: LazyLock<HashMap<&'static str, &'static str>> =
        LazyLock::new(|| CATALOGS.iter().flat_map(|c| c.iter().copied()).collect());
    DUTCH.get(en).copied()
}

/// The Dutch for `en`: in the browser a scan of its one small catalog (no
/// map code in the wasm bundle).
#[cfg(not(feature = "ssr"))]
fn dutch(en: &str) -> Option<&'static str> {
    CATALOGS
        .iter()
        .flat_map(|c| c.iter())
        .find(|(e, _)| *e == en)
        .map(|(_, nl)| *nl)
}

/// The request's language, as the server negotiated it (query, cookie,
/// `Accept-Language`). English outside a request.
pub fn current() -> Lang {
    #[cfg(feature = "ssr")]
    {
        // Read in place: `use_context` would clone the whole request head
        // (every header and extension) for one `Copy` value, and every
        // component asks (issue 15).
        leptos::prelude::with_context::<http::request::Parts, _>(|p| {
            p.extensions.get::<Lang>().copied()
        })
        .flatten()
        .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        Lang::En
    }
}

/// A stage's name: a default stage the workspace has not renamed is
/// translated; a workspace's own label is shown as it was typed.
pub fn stage_label(lang: Lang, key: &str, label: &str) -> String {
    match stage(Lang::En, key) {
        en if en == label => tr(lang, en).to_string(),
        _ => label.to_string(),
    }
}

/// A role's name.
pub fn role(lang: Lang, key: &str) -> &'static str {
    let en = match key {
        "owner" => "Owner",
        "admin" => "Admin",
        "account_manager" => "Account manager",
        "sales" => "Sales",
        "marketing" => "Marketing",
        "finance" => "Finance",
        "member" => "Member",
        "viewer" => "Viewer",
        _ => return "?",
    };
    tr(lang, en)
}

/// A membership status.
pub fn status(lang: Lang, key: &str) -> &'static str {
    let en = match key {
        "active" => "Active",
        "suspended" => "Suspended",
        "invited" => "Invited",
        _ => return "?",
    };
    tr(lang, en)
}

/// A deal stage.
pub fn stage(lang: Lang, key: &str) -> &'static str {
    let en = match key {
        "lead" => "Lead",
        "qualified" => "Qualified",
        "proposal" => "Proposal",
        "negotiation" => "Negotiation",
        "won" => "Won",
        "lost" => "Lost",
        _ => return "?",
    };
    tr(lang, en)
}

#[cfg(feature = "ssr")]
mod alerts_catalog;
#[cfg(feature = "ssr")]
mod billing_catalog;
mod catalog;
#[cfg(feature = "ssr")]
mod conversions_catalog;
#[cfg(feature = "ssr")]
mod crm_catalog;
#[cfg(feature = "ssr")]
mod files_catalog;
#[cfg(feature = "ssr")]
mod integrations_catalog;
#[cfg(feature = "ssr")]
mod jobs_catalog;
#[cfg(feature = "ssr")]
mod login_catalog;
#[cfg(feature = "ssr")]
mod trust_catalog;

#[cfg(feature = "ssr")]
pub use alerts_catalog::ALERTS_CATALOG;
#[cfg(feature = "ssr")]
pub use billing_catalog::BILLING_CATALOG;
pub use catalog::CATALOG;
#[cfg(feature = "ssr")]
pub use conversions_catalog::CONVERSIONS_CATALOG;
#[cfg(feature = "ssr")]
pub use crm_catalog::CRM_CATALOG;
#[cfg(feature = "ssr")]
pub use files_catalog::FILES_CATALOG;
#[cfg(feature = "ssr")]
pub use integrations_catalog::INTEGRATIONS_CATALOG;
#[cfg(feature = "ssr")]
pub use jobs_catalog::JOBS_CATALOG;
#[cfg(feature = "ssr")]
pub use login_catalog::LOGIN_CATALOG;
#[cfg(feature = "ssr")]
pub use trust_catalog::TRUST_CATALOG;

/// Every catalog `tr` searches, in order.
#[cfg(feature = "ssr")]
const CATALOGS: [&[(&str, &str)]; 10] = [
    CATALOG,
    CRM_CATALOG,
    LOGIN_CATALOG,
    TRUST_CATALOG,
    JOBS_CATALOG,
    BILLING_CATALOG,
    ALERTS_CATALOG,
    INTEGRATIONS_CATALOG,
    CONVERSIONS_CATALOG,
    FILES_CATALOG,
];
/// The islands word only the dashboard frame's strings; the CRM and login
/// pages render on the server alone, so their catalogs stay out of the
/// wasm bundle (a few KB of its 250 KB budget).
#[cfg(not(feature = "ssr"))]
const CATALOGS: [&[(&str, &str)]; 1] = [CATALOG];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dutch_map_answers_what_the_catalogs_say() {
        for (en, nl) in CATALOGS.iter().flat_map(|c| c.iter()) {
            assert_eq!(dutch(en), Some(*nl), "{en}");
            assert_eq!(tr(Lang::Nl, en), *nl);
            assert_eq!(tr(Lang::En, en), *en);
        }
        assert_eq!(dutch("not in any catalog"), None);
    }

    #[test]
    fn the_catalog_has_each_english_text_once_and_every_entry_translated() {
        let all: Vec<&(&str, &str)> = CATALOGS.iter().flat_map(|c| c.iter()).collect();
        for (i, (en, nl)) in all.iter().enumerate() {
            assert!(!nl.is_empty(), "{en}");
            assert!(
                all.iter().skip(i + 1).all(|(e, _)| e != en),
                "duplicate entry {en:?}"
            );
        }
        assert_eq!(tr(Lang::Nl, "Overview"), "Overzicht");
        assert_eq!(tr(Lang::En, "Overview"), "Overview");
        assert_eq!(role(Lang::Nl, "viewer"), "Kijker");
    }
}
