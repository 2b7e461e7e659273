//! The consent banner's texts, versioned. The snippet shows them, the
//! consent page lists them, and every ledger entry records the version and
//! the SHA-256 of the exact text the visitor saw ([`canonical`]).
//!
//! A published version is never edited: change the wording by adding a new
//! version at the front of [`BANNERS`] (old versions stay, so old ledger
//! hashes remain verifiable).

/// What a visitor can grant. Deny by default: all start unchecked.
pub const PURPOSES: [&str; 3] = ["analytics", "identification", "marketing"];

/// One purpose as the banner explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurposeText {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
}

/// One version of the banner in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BannerText {
    pub version: &'static str,
    pub lang: &'static str,
    pub title: &'static str,
    pub body: &'static str,
    pub accept: &'static str,
    pub reject: &'static str,
    pub customise: &'static str,
    pub save: &'static str,
    pub withdraw: &'static str,
    pub settings: &'static str,
    pub purposes: [PurposeText; 3],
}

/// The current version.
pub const BANNER_VERSION: &str = "2026-11.1";

/// Every published version, newest first; Dutch and English each.
pub const BANNERS: &[BannerText] = &[
    BannerText {
        version: "2026-11.1",
        lang: "nl",
        title: "Jouw privacykeuze",
        body: "Wij gebruiken geen cookies en bewaren niets dat jou herkent, tenzij je daar toestemming voor geeft. Zonder toestemming zien wij alleen bezoeken op bedrijfsniveau. Je keuze kun je altijd wijzigen of intrekken via Privacyinstellingen.",
        accept: "Alles accepteren",
        reject: "Alles weigeren",
        customise: "Zelf kiezen",
        save: "Keuze opslaan",
        withdraw: "Toestemming intrekken",
        settings: "Privacyinstellingen",
        purposes: [
            PurposeText {
                key: "analytics",
                label: "Statistieken",
                help: "Een willekeurige bezoekerscode in je browser, zodat wij herhaalbezoeken kunnen tellen.",
            },
            PurposeText {
                key: "identification",
                label: "Herkenning",
                help: "Als je een formulier invult, koppelen wij je bezoeken aan je contactgegevens.",
            },
            PurposeText {
                key: "marketing",
                label: "Marketing",
                help: "Conversies (bijvoorbeeld een ingevuld formulier) mogen worden doorgegeven aan advertentieplatforms.",
            },
        ],
    },
    BannerText {
        version: "2026-11.1",
        lang: "en",
        title: "Your privacy choice",
        body: "We use no cookies and keep nothing that recognises you unless you consent. Without consent we only see visits at company level. You can change or withdraw your choice at any time under Privacy settings.",
        accept: "Accept all",
        reject: "Reject all",
        customise: "Choose",
        save: "Save choice",
        withdraw: "Withdraw consent",
        settings: "Privacy settings",
        purposes: [
            PurposeText {
                key: "analytics",
                label: "Statistics",
                help: "A random visitor code in your browser, so we can count repeat visits.",
            },
            PurposeText {
                key: "identification",
                label: "Recognition",
                help: "When you fill in a form, we link your visits to your contact details.",
            },
            PurposeText {
                key: "marketing",
                label: "Marketing",
                help: "Conversions (such as a submitted form) may be passed on to advertising platforms.",
            },
        ],
    },
];

/// The banner of `version` in `lang` ("nl" or "en").
pub fn banner(version: &str, lang: &str) -> Option<&'static BannerText> {
    BANNERS
        .iter()
        .find(|b| b.version == version && b.lang == lang)
}

/// The current banner in `lang`; English when the language is unknown.
pub fn current(lang: &str) -> &'static BannerText {
    banner(BANNER_VERSION, lang)
        .or_else(|| banner(BANNER_VERSION, "en"))
        .unwrap_or(&EMPTY)
}

const EMPTY: BannerText = BannerText {
    version: "",
    lang: "",
    title: "",
    body: "",
    accept: "",
    reject: "",
    customise: "",
    save: "",
    withdraw: "",
    settings: "",
    purposes: [
        PurposeText {
            key: "analytics",
            label: "",
            help: "",
        },
        PurposeText {
            key: "identification",
            label: "",
            help: "",
        },
        PurposeText {
            key: "marketing",
            label: "",
            help: "",
        },
    ],
};

/// The exact text a ledger hash covers: every string the visitor could read
/// before deciding, in display order, one per line.
pub fn canonical(b: &BannerText) -> String {
    let mut lines = vec![
        b.version,
        b.lang,
        b.title,
        b.body,
        b.accept,
        b.reject,
        b.customise,
        b.save,
    ];
    for p in &b.purposes {
        lines.push(p.key);
        lines.push(p.label);
        lines.push(p.help);
    }
    lines.join("\n")
}

/// The ledger's proof of what a visitor saw: SHA-256 of [`canonical`], in
/// hex. Computed on the server only.
#[cfg(feature = "ssr")]
pub fn text_hash(b: &BannerText) -> String {
    hex::encode(metiva_security::secret::sha256(canonical(b).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_has_both_languages_and_all_purposes() {
        for b in BANNERS {
            assert!(banner(b.version, "nl").is_some(), "{} lacks nl", b.version);
            assert!(banner(b.version, "en").is_some(), "{} lacks en", b.version);
            let keys: Vec<&str> = b.purposes.iter().map(|p| p.key).collect();
            assert_eq!(keys, PURPOSES);
            assert!(!b.title.is_empty() && !b.body.is_empty());
        }
        assert_eq!(current("nl").lang, "nl");
        assert_eq!(current("de").lang, "en");
    }

    #[test]
    fn canonical_text_differs_per_language() {
        assert_ne!(canonical(current("nl")), canonical(current("en")));
    }
}
