use super::*;

fn facts(isolation: Isolation, key: KeyFact, region: RegionFact) -> TrustFacts {
    TrustFacts {
        roles: 8,
        permissions: 18,
        isolation,
        key,
        region,
        consent_denied_by_default: true,
        ip_example: ("203.0.113.77".into(), "203.0.113.0".into()),
        retention: RetentionFacts {
            page_views_months: 13,
            visitors_months: 13,
            contacts_months: 24,
            audit_months: 24,
            data_bounds: (1, 60),
            audit_bounds: (12, 120),
            invoice_years: 7,
        },
        walkthrough_site: Some("pk_metiva_trust_center".into()),
    }
}

fn page(lang: Lang, f: TrustFacts) -> String {
    render(move || view! { <TrustPage lang facts=f form=WalkthroughFields::default() /> })
}

#[test]
fn the_page_states_what_holds_and_what_does_not() {
    let holds = page(
        Lang::En,
        facts(
            Isolation::Holds {
                tables: 27,
                checked_at: "now".into(),
            },
            KeyFact::Configured {
                key_id: "k1".into(),
            },
            RegionFact::Eu("eu-central-1".into()),
        ),
    );
    assert!(holds.contains("27 tenant tables, every one"), "{holds}");
    assert!(holds.contains("EU (eu-central-1)"));
    assert!(holds.contains("/s/pk_metiva_trust_center/snippet.js"));
    assert!(!holds.contains("Does not hold"));
    let broken = page(
        Lang::En,
        facts(
            Isolation::Broken {
                tables: 27,
                forced: 26,
                problems: 1,
                checked_at: "now".into(),
            },
            KeyFact::Missing,
            RegionFact::NotEu("us-east-1".into()),
        ),
    );
    assert!(broken.contains("26 / 27"), "{broken}");
    assert!(!broken.contains("every one with row-level security"));
    assert!(broken.contains("Not configured"));
    assert!(broken.contains("us-east-1: not a known EU region"));
}

#[test]
fn the_page_is_dutch_when_asked() {
    let nl = page(
        Lang::Nl,
        facts(
            Isolation::Unknown,
            KeyFact::GeneratedLocally {
                key_id: "k1".into(),
            },
            RegionFact::DevelopmentDefault,
        ),
    );
    assert!(nl.contains(r#"<html lang="nl""#), "{nl}");
    assert!(nl.contains("Compliance door architectuur"), "{nl}");
    assert!(!nl.contains("Book a walkthrough"));
}
