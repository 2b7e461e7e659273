//! Every JSON error answers one envelope, `{"error": {"code", "message"}}`,
//! with its status: one real route per status class (the 500 is proved at
//! the unit level in `server::http::error`, since no route may fail on
//! purpose).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::world::{APP_URL, DE_VRIES, World, call, post_form};

fn envelope(r: &crate::world::Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    let json: serde_json::Value =
        serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| m.len() > 5),
        "{json}"
    );
    assert_eq!(json.as_object().map(|o| o.len()), Some(1), "{json}");
}

fn json_post(uri: &str, token: &str, body: &str) -> Request<Body> {
    let mut b = Request::post(uri);
    if !token.is_empty() {
        b = b.header(header::COOKIE, format!("metiva_session={token}"));
    }
    b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .header(header::HOST, "127.0.0.1:3000")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn each_status_class_answers_the_envelope() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let visit = "/api/visits/00000000-0000-4000-8000-000000000000/reveal";

    // 400: bytes that are not text.
    let r = call(&w.dashboard, json_post(visit, &owner, "reason=%00")).await;
    envelope(&r, StatusCode::BAD_REQUEST, "bad_request");
    // 401: no session.
    let r = call(&w.dashboard, json_post(visit, "", "reason=x")).await;
    envelope(&r, StatusCode::UNAUTHORIZED, "unauthenticated");
    // 403: a permission the viewer lacks.
    let r = call(
        &w.dashboard,
        json_post(visit, &viewer, "reason=audit+check"),
    )
    .await;
    envelope(&r, StatusCode::FORBIDDEN, "forbidden");
    // 403: a cross-site write.
    let mut req = json_post(visit, &owner, "reason=audit+check");
    req.headers_mut().insert(
        header::ORIGIN,
        header::HeaderValue::from_static("https://evil.example"),
    );
    envelope(
        &call(&w.dashboard, req).await,
        StatusCode::FORBIDDEN,
        "cross_site",
    );
    // 404: no such visit (missing and foreign alike).
    let r = call(&w.dashboard, json_post(visit, &owner, "reason=audit+check")).await;
    envelope(&r, StatusCode::NOT_FOUND, "not_found");
    // 409: the last owner cannot suspend themselves.
    let me = w.user_id("owner@devries.example").await;
    let r = call(
        &w.dashboard,
        json_post(&format!("/api/members/{me}/suspend"), &owner, ""),
    )
    .await;
    envelope(&r, StatusCode::CONFLICT, "last_owner");
    // 413: a body over the limit.
    let big = format!("reason={}", "a".repeat(300_000));
    let r = call(&w.dashboard, json_post(visit, &owner, &big)).await;
    envelope(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // 422: a reveal without a reason.
    let r = call(&w.dashboard, json_post(visit, &owner, "reason=")).await;
    envelope(&r, StatusCode::UNPROCESSABLE_ENTITY, "reason_required");
    // 429: the sign-in throttle, asked by a script.
    let state = "t".repeat(43);
    let mut last = None;
    for _ in 0..7 {
        let req = post_form(
            "/login",
            &[],
            &[
                ("email", "finance@devries.example"),
                ("password", "wrong"),
                ("return_to", &format!("{APP_URL}/")),
                ("state", &state),
            ],
        );
        last = Some(call(&w.login, req).await);
    }
    let r = last.unwrap_or_else(|| panic!("no attempt"));
    envelope(&r, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(r.headers.contains_key(header::RETRY_AFTER));
}

/// Server functions answer the same envelope: the framework's own refusal
/// (arguments that do not decode) is the caller's 400 and a permission
/// the role lacks 403, each with its code.
#[tokio::test]
async fn server_functions_answer_the_envelope_too() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;

    // 400: a required argument is missing.
    let r = call(&w.dashboard, json_post("/api/deal_record", &owner, "")).await;
    envelope(&r, StatusCode::BAD_REQUEST, "bad_request");
    assert!(r.body.contains("id"), "{}", r.body);
    // 403: the viewer may not invite members.
    let r = call(
        &w.dashboard,
        json_post(
            "/api/invite_member",
            &viewer,
            "name=New&email=new%40devries.example&role=viewer",
        ),
    )
    .await;
    envelope(&r, StatusCode::FORBIDDEN, "forbidden");
    // 200 and no envelope when it works.
    let r = call(&w.dashboard, json_post("/api/run_self_test", &owner, "")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("\"error\""), "{}", r.body);
}
