//! An owner offboards the workspace from `/settings/offboarding`: the page
//! offers the full export first and asks for the name typed out; a member
//! who is not an owner gets 403; a wrong name 422 with a clear message
//! (and, for the plain form, the page again naming the field), nothing
//! changed. The right name ends every member's access at once, signs the
//! owner out of the workspace (token cookie cleared), and leaves the
//! register row that the owner-role core resumes to the end (0 rows left,
//! the owner named as the actor).

use std::ops::ControlFlow;

use axum::http::StatusCode;
use metiva_db::offboarding::{Actor, Options};
use metiva_db::{CompanyId, Database, PoolSettings};

use crate::crm::{code, plain, script};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

const CONFIRM: &str = "/settings/offboarding/confirm";

#[tokio::test]
async fn an_owner_offboards_the_workspace_from_its_page() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;

    // The page: the export first, then the name to type; an admin reads
    // that only an owner can.
    let page = call(
        &w.dashboard,
        get_with("/settings/offboarding", &[("metiva_session", &owner)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let export = page.body.find("data-testid=\"offboard-export\"").unwrap();
    let form = page.body.find("data-testid=\"offboard-form\"").unwrap();
    assert!(export < form, "the export is offered before the form");
    assert!(page.body.contains("href=\"/privacy/exports\""));
    assert!(page.body.contains("De Vries Media"));
    // The copy says what really happens: the request is recorded and the
    // operator's `metiva offboard` completes the deletion.
    assert!(
        page.body.contains("Your request is recorded; the operator")
            && !page.body.contains("Metiva then deletes"),
        "{}",
        page.body
    );
    let nl = call(
        &w.dashboard,
        get_with(
            "/settings/offboarding?lang=nl",
            &[("metiva_session", &owner)],
        ),
    )
    .await;
    assert!(
        nl.body
            .contains("Uw verzoek wordt vastgelegd; de beheerder"),
        "{}",
        nl.body
    );
    let page = call(
        &w.dashboard,
        get_with("/settings/offboarding", &[("metiva_session", &admin)]),
    )
    .await;
    assert!(page.body.contains("offboard-not-owner"), "{}", page.body);
    assert!(!page.body.contains("offboard-form"));
    let privacy = call(
        &w.dashboard,
        get_with("/settings/privacy", &[("metiva_session", &owner)]),
    )
    .await;
    assert!(privacy.body.contains("href=\"/settings/offboarding\""));

    // Not an owner: 403, even with the right name.
    let good = [("name", "De Vries Media")];
    let r = call(&w.dashboard, script(CONFIRM, &admin, &good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("Only an owner"), "{}", r.body);
    let r = call(&w.dashboard, plain(CONFIRM, &admin, &good)).await;
    assert_eq!(r.location(), "/settings/offboarding?invalid=owner");

    // A wrong name (or none): 422 naming it; the plain form comes back to
    // the page with the message. Nothing changed.
    for name in ["De Vries", "de vries media", "Brouwer & Zn"] {
        let r = call(&w.dashboard, script(CONFIRM, &owner, &[("name", name)])).await;
        assert_eq!(
            (r.status, code(&r.body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "name_mismatch".into()),
            "{name}: {}",
            r.body
        );
        assert!(r.body.contains("not this workspace's name"), "{}", r.body);
    }
    let r = call(&w.dashboard, script(CONFIRM, &owner, &[("name", "  ")])).await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "name_required".into())
    );
    let r = call(
        &w.dashboard,
        plain(CONFIRM, &owner, &[("name", "De Vries")]),
    )
    .await;
    assert_eq!(r.location(), "/settings/offboarding?invalid=name");
    let page = call(
        &w.dashboard,
        get_with(&r.location(), &[("metiva_session", &owner)]),
    )
    .await;
    assert!(
        page.body.contains("data-testid=\"error-name\""),
        "{}",
        page.body
    );
    let r = call(
        &w.dashboard,
        get_with("/persons", &[("metiva_session", &admin)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "still usable after refusals");

    // The right name (surrounding spaces ignored): signed out of the
    // workspace, the token cookie cleared.
    let r = call(
        &w.dashboard,
        plain(CONFIRM, &owner, &[("name", " De Vries Media ")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.location().ends_with("/signed-out"), "{}", r.location());
    assert_eq!(r.set_cookie("metiva_session").as_deref(), Some(""));

    // Every member's access ended at once; another workspace is untouched.
    for token in [&owner, &admin] {
        let r = call(
            &w.dashboard,
            get_with("/persons", &[("metiva_session", token)]),
        )
        .await;
        assert_ne!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = call(
        &w.dashboard,
        get_with("/persons", &[("metiva_session", &other)]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // The owner-role core resumes the request to the end; the register
    // names the owner who asked.
    let owner_id = w.user_id("owner@devries.example").await;
    let db = Database::connect(&w.tdb.owner_url(), &PoolSettings::default()).unwrap();
    let company = CompanyId::parse(DE_VRIES).unwrap();
    let started = db.offboarding_receipt(&company).await.unwrap().unwrap();
    assert!(!started.done);
    assert_eq!(started.requested_by, "owner");
    assert_eq!(started.actor_user_id, Some(owner_id));
    let store = crate::offboarding::scratch_store("offboard-page");
    let receipt = db
        .offboard(
            &company,
            Actor::Operator,
            Options::default(),
            crate::offboarding::files(&store),
            |_, _| ControlFlow::Continue(()),
        )
        .await
        .unwrap();
    assert!(receipt.done);
    assert_eq!(receipt.requested_by, "owner");
    assert_eq!(receipt.actor_user_id, Some(owner_id));
    assert_eq!(db.company_row_count(&company).await.unwrap(), 0);

    // Asking again once offboarded: the owner's token no longer works.
    let r = call(&w.dashboard, script(CONFIRM, &owner, &good)).await;
    assert_ne!(r.status, StatusCode::NO_CONTENT);
}
