//! Regression guard for the pages' database work (issue 15): each page's
//! statements, counted by diesel's instrumentation on every connection this
//! test process opens (BEGIN and COMMIT included), stay within the budget
//! written below. Nothing is timed. The demo data plus a few hundred rows
//! stand in for the bench's sizes; a statement per row would show at once.
//!
//! Measured on the pages after warm-up (one request each first, so the
//! guard's access cache and the statement caches are filled, as in
//! production). Raise a budget only with a reason in the commit.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

use crate::world::{DE_VRIES, World, call, get_with};

/// Statements per page view, at most.
/// Measured on 2026-12-06 (issue 15): the person page runs five short
/// transactions (its record, notes and tasks, and the forms' pickers).
const BUDGET: &[(&str, usize)] = &[
    ("/", 4),
    ("/persons", 9),
    ("/persons/{id}", 28),
    ("/deals", 20),
    ("/visitors", 13),
    ("/settings/security", 12),
];

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

struct Counter;

impl Instrumentation for Counter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if matches!(event, InstrumentationEvent::StartQuery { .. }) {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn counter() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(Counter))
}

#[tokio::test]
async fn every_page_stays_within_its_statement_budget() {
    // Before any connection opens: every connection of this process counts.
    set_default_instrumentation(counter).unwrap_or_else(|e| panic!("{e}"));
    let w = World::new().await;
    w.owner_sql(&format!(
        "SELECT set_config('app.company_id', '{DE_VRIES}', true);
         INSERT INTO persons (company_id, name, email)
           SELECT '{DE_VRIES}', 'Budget ' || g, 'b' || g || '@budget.example' FROM generate_series(1, 300) g;
         INSERT INTO deals (company_id, title, value_cents, stage)
           SELECT '{DE_VRIES}', 'Budget deal ' || g, g * 100, 'lead' FROM generate_series(1, 100) g"
    ))
    .await;
    let token = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let person = {
        let r = call(
            &w.dashboard,
            get_with("/persons", &[("metiva_session", &token)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let at = r
            .body
            .find("href=\"/persons/")
            .unwrap_or_else(|| panic!("no person link on /persons"));
        r.body
            .get(at + 15..at + 15 + 36)
            .unwrap_or_else(|| panic!("short person link"))
            .to_string()
    };
    let mut over = Vec::new();
    for (page, budget) in BUDGET {
        let uri = page.replace("{id}", &person);
        let get = || get_with(&uri, &[("metiva_session", &token)]);
        let warm = call(&w.dashboard, get()).await;
        assert_eq!(warm.status, StatusCode::OK, "{uri}: {}", warm.body);
        let before = STATEMENTS.load(Ordering::SeqCst);
        let r = call(&w.dashboard, get()).await;
        let used = STATEMENTS.load(Ordering::SeqCst) - before;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        println!("{page}: {used} statements (budget {budget})");
        if used > *budget {
            over.push(format!("{page}: {used} > {budget}"));
        }
    }
    assert!(over.is_empty(), "over budget: {over:?}");
}
