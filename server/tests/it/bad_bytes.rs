//! Bytes that cannot be text (a NUL, invalid UTF-8), in every query
//! parameter and every form field of every route, signed in with every
//! permission: always a 4xx with a message, never a 5xx, before any SQL.

use axum::body::Body;
use axum::http::{Request, header};

use crate::world::{DE_VRIES, World, call};

/// Percent-encoded, as a browser or a script would send them.
const BAD: [&str; 5] = ["%00", "%ff", "%C3%28", "a%00b", "%00%ff"];
/// Every parameter name a form or page of ours reads.
const PARAMS: [&str; 61] = [
    "email",
    "password",
    "return_to",
    "state",
    "action",
    "actor",
    "before",
    "days",
    "q",
    "id",
    "role",
    "name",
    "domain",
    "origins",
    "reason",
    "company",
    "token",
    "code",
    "lang",
    "user",
    "choice",
    "csv",
    "title",
    "value",
    "expected_close",
    "stage",
    "owner",
    "organisation",
    "contact",
    "version",
    "back",
    "kvk",
    "vat",
    "address",
    "notes",
    "phone",
    "label",
    "outcome",
    "key",
    "move_to",
    "target_minutes",
    "day_start",
    "day_end",
    "month",
    "sort",
    "dir",
    "page",
    "view",
    "due",
    "assignee",
    "kind",
    "body",
    "source",
    "mapping",
    "note",
    "text",
    "file",
    "page_views_months",
    "visitors_months",
    "contacts_months",
    "audit_months",
];

const DASHBOARD_GETS: [&str; 27] = [
    "/",
    "/persons",
    "/persons/00000000-0000-4000-8000-000000000000",
    "/deals",
    "/deals/00000000-0000-4000-8000-000000000000",
    "/visitors",
    "/consent",
    "/system",
    "/members",
    "/settings/members",
    "/settings/security",
    "/settings/audit",
    "/settings/audit.csv",
    "/settings/sessions",
    "/auth/callback",
    "/auth/switch",
    "/deals.csv",
    "/persons.csv",
    "/settings/pipeline",
    "/organisations",
    "/organisations/00000000-0000-4000-8000-000000000000",
    "/tasks",
    "/search",
    "/import",
    "/import/00000000-0000-4000-8000-000000000000",
    "/settings/privacy",
    "/erasures/00000000-0000-4000-8000-000000000000/receipt.json",
];

const DASHBOARD_POSTS: [&str; 55] = [
    "/api/audit_log",
    "/api/consent_overview",
    "/api/deal_list",
    "/api/deal_record",
    "/api/invite_member",
    "/api/isolation_status",
    "/api/manage_member",
    "/api/members",
    "/api/my_sessions",
    "/api/person_list",
    "/api/person_record",
    "/api/revoke_session",
    "/api/run_database_check",
    "/api/run_self_test",
    "/api/security_overview",
    "/api/session",
    "/api/system_status",
    "/api/visitors_overview",
    "/api/members/invite",
    "/api/known-networks",
    "/api/sites",
    "/api/sites/00000000-0000-4000-8000-000000000000/disable",
    "/api/sessions/revoke-all",
    "/api/members/00000000-0000-4000-8000-000000000000/suspend",
    "/auth/logout",
    "/api/save_organisation",
    "/api/delete_organisation",
    "/api/organisations",
    "/api/organisation_page",
    "/api/save_contact",
    "/api/delete_contact",
    "/api/contact_form_data",
    "/api/create_deal",
    "/api/move_deal",
    "/api/deal_board",
    "/api/deal_history",
    "/api/search",
    "/api/my_tasks",
    "/api/record_work",
    "/api/add_task",
    "/api/complete_task",
    "/api/add_note",
    "/api/change_stage",
    "/api/save_lead_sla",
    "/api/pipeline_settings",
    "/api/save_deal",
    "/api/delete_deal",
    "/api/deal_form_data",
    "/api/import_form",
    "/api/import_preview",
    "/api/confirm_import",
    "/api/erase_contact",
    "/api/privacy_settings",
    "/api/save_retention",
    "/api/import",
];

const LOGIN_GETS: [&str; 4] = ["/", "/login", "/signed-out", "/invite/cmp_8fa2c1/abc"];
const LOGIN_POSTS: [&str; 4] = ["/login", "/choose", "/logout", "/invite/cmp_8fa2c1/abc"];

/// The query or form body with `bad` in `only` (or in every parameter).
fn encoded(bad: &str, only: Option<&str>) -> String {
    PARAMS
        .iter()
        .map(|p| {
            let v = if only.is_none_or(|o| o == *p) {
                bad
            } else {
                "ok"
            };
            format!("{p}={v}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn request(method: &str, path: &str, encoded: &str, cookie: &str) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .header(header::COOKIE, cookie)
        .header(header::HOST, "127.0.0.1:3000");
    if method == "GET" {
        b.uri(format!("{path}?{encoded}"))
            .header(header::ACCEPT, "text/html")
            .body(Body::empty())
    } else {
        b.uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(encoded.to_string()))
    }
    .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn bytes_that_are_not_text_get_4xx_everywhere() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let cookie = format!("metiva_session={token}");
    let routes = [
        (&w.dashboard, "GET", &DASHBOARD_GETS[..]),
        (&w.dashboard, "POST", &DASHBOARD_POSTS[..]),
        (&w.login, "GET", &LOGIN_GETS[..]),
        (&w.login, "POST", &LOGIN_POSTS[..]),
    ];
    let mut requests = 0;
    for (router, method, paths) in routes {
        for path in paths {
            for bad in BAD {
                for only in std::iter::once(None).chain(PARAMS.iter().map(|p| Some(*p))) {
                    let r = call(router, request(method, path, &encoded(bad, only), &cookie)).await;
                    requests += 1;
                    assert!(
                        r.status.is_client_error(),
                        "{method} {path} with {bad} in {only:?}: {} {}",
                        r.status,
                        r.body
                    );
                    assert!(!r.body.is_empty(), "{method} {path}: a 4xx says why");
                }
            }
        }
    }
    // A NUL escaped inside JSON, which the JSON parser itself accepts.
    for path in DASHBOARD_POSTS {
        let req = Request::post(path)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"name":"a\u0000b","email":"x\u0000@y"}"#))
            .unwrap_or_else(|e| panic!("{e}"));
        let r = call(&w.dashboard, req).await;
        assert!(
            r.status.is_client_error(),
            "JSON {path}: {} {}",
            r.status,
            r.body
        );
    }
    assert!(requests > 5_000, "{requests}");
    // The same session still works: nothing was half-processed.
    let ok = call(
        &w.dashboard,
        crate::world::get_with("/persons", &[("metiva_session", &token)]),
    )
    .await;
    assert_eq!(ok.status, axum::http::StatusCode::OK);
}
