//! The deal board at scale (issue 15) through the real router: a column
//! shows its latest cards up to the cap, the count of all its deals, and
//! a link to the rest in the list filtered to the stage, in English and
//! Dutch; a card names its contact and organisation on one line, and a
//! card without either has no empty line.

use axum::http::StatusCode;
use metiva_db::crm::deals::OPEN_COLUMN_LIMIT;

use crate::crm::script;
use crate::world::{DE_VRIES, World, call, get_with};

async fn page(w: &World, token: &str, uri: &str) -> crate::world::Resp {
    call(&w.dashboard, get_with(uri, &[("metiva_session", token)])).await
}

/// The markup of one stage's column: from its `data-stage` to the next
/// column (or the end of the board).
fn column<'a>(body: &'a str, stage: &str) -> &'a str {
    let start = body
        .find(&format!("data-stage=\"{stage}\""))
        .unwrap_or_else(|| panic!("no {stage} column: {body}"));
    let rest = &body[start..];
    let end = rest[1..]
        .find("data-testid=\"stage-column\"")
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[tokio::test]
async fn a_board_column_shows_its_latest_cards_counts_all_and_links_to_the_rest() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    // A contact and an organisation of the workspace to link a card to.
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO organisations (company_id, name) VALUES ('{DE_VRIES}', 'Bakkerij Zon');
         INSERT INTO persons (company_id, name) VALUES ('{DE_VRIES}', 'Sanne Bakker')"
    ))
    .await;
    let person = w
        .id_in(
            DE_VRIES,
            "SELECT id FROM persons WHERE name = 'Sanne Bakker'",
        )
        .await
        .to_string();
    let org = w
        .id_in(
            DE_VRIES,
            "SELECT id FROM organisations WHERE name = 'Bakkerij Zon'",
        )
        .await
        .to_string();

    // More lead deals than the column shows; the last one (the newest)
    // is linked to the contact and the organisation.
    let cap = usize::try_from(OPEN_COLUMN_LIMIT).unwrap_or(0);
    let added = cap + 2;
    for n in 0..added {
        let title = format!("Kolomdeal {n}");
        let mut form = vec![("title", title.as_str()), ("stage", "lead")];
        if n + 1 == added {
            form.extend([("contact", person.as_str()), ("organisation", org.as_str())]);
        }
        let r = call(&w.dashboard, script("/api/create_deal", &sales, &form)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let leads = w
        .count_in(
            DE_VRIES,
            "SELECT count(*) AS n FROM deals WHERE stage = 'lead'",
        )
        .await;
    let hidden = usize::try_from(leads).unwrap_or(0) - cap;

    let board = page(&w, &viewer, "/deals").await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.body);
    let lead = column(&board.body, "lead");
    assert_eq!(
        lead.matches("data-testid=\"deal-card\"").count(),
        cap,
        "{lead}"
    );
    assert!(
        lead.contains(&format!(">{leads}</span></h2>")),
        "the column does not count all {leads} deals: {lead}"
    );
    // The newest first, the oldest only in the list.
    let newest = format!(">Kolomdeal {}<", added - 1);
    assert!(lead.contains(&newest), "{lead}");
    assert!(!lead.contains(">Kolomdeal 0<"), "{lead}");
    assert!(
        lead.contains(">Sanne Bakker · Bakkerij Zon</p>"),
        "the card does not name its contact and organisation: {lead}"
    );
    // An unlinked card has no empty line under its value.
    assert!(
        !lead.contains("<p class=\"text-xs text-slate-600\"> </p>"),
        "{lead}"
    );
    assert!(
        lead.contains("href=\"/deals?view=list&amp;stage=lead\"")
            && lead.contains(&format!(">{hidden} more in the list</a>")),
        "no link to the other {hidden}: {lead}"
    );
    let nl = page(&w, &viewer, "/deals?lang=nl").await;
    assert!(
        column(&nl.body, "lead").contains(&format!(">{hidden} meer in de lijst</a>")),
        "{}",
        nl.body
    );

    // The link's list holds the deal the column left out.
    let list = page(&w, &viewer, "/deals?view=list&stage=lead").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Kolomdeal 0"), "{}", list.body);
}
