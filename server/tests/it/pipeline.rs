//! Pipeline and SLA settings, the deal list with its CSV export, and the
//! deal edit form through the real router: permission per role, fields
//! named on refusal, 404 across workspaces, 409 on a stale version.

use axum::http::StatusCode;

use crate::crm::{code, plain, script};
use crate::world::{BROUWER, DE_VRIES, World, call, get_with};

async fn page(w: &World, token: &str, uri: &str) -> crate::world::Resp {
    call(&w.dashboard, get_with(uri, &[("metiva_session", token)])).await
}

async fn new_deal(w: &World, token: &str, title: &str, value: &str, close: &str) -> String {
    let r = call(
        &w.dashboard,
        script(
            "/api/create_deal",
            token,
            &[
                ("title", title),
                ("value", value),
                ("expected_close", close),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[tokio::test]
async fn the_pipeline_is_configured_by_roles_that_may_and_read_by_the_rest() {
    let w = World::new().await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let add = [
        ("action", "add"),
        ("label", "Demo gepland"),
        ("outcome", "open"),
    ];

    // Sales reads the settings but may not change them.
    let r = call(&w.dashboard, script("/api/change_stage", &sales, &add)).await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::FORBIDDEN, "forbidden".into()),
        "{}",
        r.body
    );
    let p = page(&w, &sales, "/settings/pipeline").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("pipeline-settings"), "{}", p.body);
    assert!(
        !p.body.contains("add-stage-form"),
        "sales was offered the form"
    );

    // The admin adds a stage with a plain form; the board gets a column.
    let r = call(&w.dashboard, plain("/api/change_stage", &admin, &add)).await;
    assert_eq!(r.location(), "/settings/pipeline?done=saved");
    let board = page(&w, &sales, "/deals").await;
    assert!(
        board.body.contains("data-stage=\"demo_gepland\""),
        "{}",
        board.body
    );
    let audit = w.audit_rows(DE_VRIES).await;
    assert!(
        audit.iter().any(
            |a| a.action == "crm.stage_added" && a.target_id.as_deref() == Some("demo_gepland")
        )
    );

    // The same name again: a script gets 422 naming the field, a plain
    // form goes back with its code.
    let r = call(&w.dashboard, script("/api/change_stage", &admin, &add)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Stage name"), "{}", r.body);
    let r = call(&w.dashboard, plain("/api/change_stage", &admin, &add)).await;
    assert_eq!(
        r.location(),
        "/settings/pipeline?invalid=label%3Astage.taken"
    );
    let p = page(
        &w,
        &admin,
        "/settings/pipeline?invalid=label%3Astage.taken&lang=nl",
    )
    .await;
    assert!(
        p.body.contains("Een andere fase heeft deze naam al."),
        "the refusal is not shown in Dutch: {}",
        p.body
    );

    // An unknown action is a 422; another workspace's stage is not found.
    let r = call(
        &w.dashboard,
        script("/api/change_stage", &admin, &[("action", "explode")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = call(
        &w.dashboard,
        script(
            "/api/change_stage",
            &other,
            &[
                ("action", "rename"),
                ("key", "demo_gepland"),
                ("label", "Overgenomen"),
            ],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A renamed default stage shows its own name, in every language.
    let r = call(
        &w.dashboard,
        plain(
            "/api/change_stage",
            &admin,
            &[("action", "rename"), ("key", "lead"), ("label", "Inbound")],
        ),
    )
    .await;
    assert_eq!(r.location(), "/settings/pipeline?done=saved");
    let board = page(&w, &sales, "/deals?lang=nl").await;
    assert!(board.body.contains(">Inbound<"), "{}", board.body);
    assert!(board.body.contains(">Gekwalificeerd<"), "{}", board.body);
}

#[tokio::test]
async fn the_lead_sla_is_set_with_its_fields_checked() {
    let w = World::new().await;
    let admin = w.sign_in("admin@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let good = [
        ("target_minutes", "45"),
        ("day_start", "08:30"),
        ("day_end", "17:00"),
    ];
    let r = call(&w.dashboard, script("/api/save_lead_sla", &viewer, &good)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let bad = [
        ("target_minutes", "99999"),
        ("day_start", "18:00"),
        ("day_end", "09:00"),
    ];
    let r = call(&w.dashboard, script("/api/save_lead_sla", &admin, &bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("Target (minutes)") && r.body.contains("Business day ends"),
        "{}",
        r.body
    );
    let r = call(&w.dashboard, plain("/api/save_lead_sla", &admin, &good)).await;
    assert_eq!(r.location(), "/settings/pipeline?done=saved");
    let p = page(&w, &admin, "/settings/pipeline").await;
    assert!(p.body.contains("value=\"45\""), "{}", p.body);
    assert!(p.body.contains("value=\"08:30\""), "{}", p.body);
    // The viewer sees the target, without a form.
    let p = page(&w, &viewer, "/settings/pipeline").await;
    assert!(p.body.contains("sla-summary") && !p.body.contains("sla-form"));
    assert!(p.body.contains("45"), "{}", p.body);
}

#[tokio::test]
async fn the_deal_list_filters_and_exports_exactly_what_it_shows() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    new_deal(&w, &sales, "=Maart campagne", "25.000", "2027-03-15").await;
    new_deal(&w, &sales, "April audit", "1.000", "2027-04-02").await;

    let list = page(&w, &viewer, "/deals?view=list&month=2027-03&sort=value").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Maart campagne"), "{}", list.body);
    assert!(!list.body.contains("April audit"), "{}", list.body);
    assert!(list.body.contains("deal-filter"));
    // The viewer may not export, so no export link and a 403.
    assert!(!list.body.contains("deal-export"));
    let r = page(&w, &viewer, "/deals.csv?month=2027-03").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A malformed filter is a 422 naming it, for the page and the export.
    let bad = page(&w, &sales, "/deals?view=list&month=maart").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("Closing month"), "{}", bad.body);
    let r = page(&w, &sales, "/deals.csv?sort=password").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);

    // Sales exports the filtered list: March only, formula neutralised,
    // audited with the count.
    let list = page(&w, &sales, "/deals?view=list&month=2027-03").await;
    assert!(list.body.contains("deal-export"));
    let r = page(&w, &sales, "/deals.csv?month=2027-03").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.starts_with("title,value_eur,stage,"), "{}", r.body);
    assert!(r.body.contains("\"'=Maart campagne\"") || r.body.contains("'=Maart campagne"));
    assert!(r.body.contains("25000.00"), "{}", r.body);
    assert!(!r.body.contains("April audit"), "{}", r.body);
    let audit = w.audit_rows(DE_VRIES).await;
    let row = audit
        .iter()
        .find(|a| a.action == "crm.deals_exported")
        .unwrap_or_else(|| panic!("the export was not audited"));
    assert_eq!(row.target_id.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_deal_is_edited_at_its_version_and_deleted_by_its_workspace_only() {
    let w = World::new().await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let other = w.sign_in("owner@brouwer.example", BROUWER).await;
    let id = new_deal(&w, &sales, "Relaunch", "1000", "2027-03-10").await;
    let edit = |version: &'static str, title: &'static str, value: &'static str| {
        vec![
            ("id", id.clone()),
            ("version", version.to_string()),
            ("title", title.to_string()),
            ("value", value.to_string()),
            ("expected_close", "2027-05-01".to_string()),
        ]
    };
    let form = |f: &[(&'static str, String)]| -> Vec<(&'static str, String)> { f.to_vec() };
    let send = async |token: &str, uri: &str, f: Vec<(&'static str, String)>, is_plain: bool| {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let req = if is_plain {
            plain(uri, token, &pairs)
        } else {
            script(uri, token, &pairs)
        };
        call(&w.dashboard, req).await
    };

    // The edit form is offered to sales on the deal's page, not to a viewer.
    let p = page(&w, &sales, &format!("/deals/{id}")).await;
    assert!(p.body.contains("deal-edit-form"), "{}", p.body);
    let p = page(&w, &viewer, &format!("/deals/{id}")).await;
    assert!(!p.body.contains("deal-edit-form"));
    let r = send(&viewer, "/api/save_deal", edit("1", "x", "1"), false).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // A bad amount is named; nothing changes.
    let r = send(
        &sales,
        "/api/save_deal",
        edit("1", "Relaunch", "12,3,4"),
        false,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Value (euro)"), "{}", r.body);
    let r = send(&sales, "/api/save_deal", edit("1", "", "1"), true).await;
    assert_eq!(
        r.location(),
        format!("/deals/{id}?invalid=title%3Arequired")
    );

    // Another workspace: not found. Then a save, and the stale second one.
    let r = send(&other, "/api/save_deal", edit("1", "Hijack", "1"), false).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = send(
        &sales,
        "/api/save_deal",
        edit("1", "Relaunch 2027", "2.500"),
        true,
    )
    .await;
    assert_eq!(r.location(), format!("/deals/{id}?done=saved"));
    let r = send(
        &sales,
        "/api/save_deal",
        edit("1", "Lost update", "1"),
        false,
    )
    .await;
    assert_eq!(
        (r.status, code(&r.body)),
        (StatusCode::CONFLICT, "conflict".into()),
        "{}",
        r.body
    );
    let r = send(
        &sales,
        "/api/save_deal",
        edit("1", "Lost update", "1"),
        true,
    )
    .await;
    assert_eq!(r.location(), format!("/deals/{id}?stale=1"));
    let p = page(&w, &sales, &format!("/deals/{id}")).await;
    assert!(p.body.contains("Relaunch 2027") && p.body.contains("2500,00"));
    assert!(!p.body.contains("Lost update"));

    // Delete: not from another workspace, not at a stale version; then
    // gone (404) and audited.
    let del = |v: &'static str| form(&[("id", id.clone()), ("version", v.to_string())]);
    let r = send(&other, "/api/delete_deal", del("2"), false).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = send(&sales, "/api/delete_deal", del("1"), false).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = send(&sales, "/api/delete_deal", del("2"), true).await;
    assert_eq!(r.location(), "/deals?done=deleted");
    let p = page(&w, &sales, &format!("/deals/{id}")).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let audit = w.audit_rows(DE_VRIES).await;
    assert!(
        audit
            .iter()
            .any(|a| a.action == "crm.deal_deleted" && a.target_id.as_deref() == Some(id.as_str()))
    );
}
