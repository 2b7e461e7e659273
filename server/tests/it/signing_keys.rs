//! Token signing-key rotation with live sessions (issue 19): the first
//! rotation stores the environment's key and retires it; tokens it signed
//! keep working on both instances until they expire, and nobody is signed
//! out; new sign-ins use the promoted key, which instance B verifies at
//! once; a retired key's window closing refuses its tokens everywhere; an
//! unknown kid is refused (fail closed).

use std::time::Duration;

use axum::http::StatusCode;
use metiva_security::token::{AccessClaims, TokenSigner, now_secs};

use crate::world::{APP_URL, LOGIN_URL, SEED, World, api, call, keys};

const NOORD: &str = "cmp_63ae02";

/// The `kid` in a token's header.
pub(crate) fn kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    v["kid"].as_str().unwrap().to_string()
}

pub(crate) async fn session_status(router: &axum::Router, token: &str) -> StatusCode {
    call(router, api("session", Some(token))).await.status
}

#[tokio::test]
async fn rotation_keeps_live_sessions_and_reaches_both_instances() {
    let w = World::new().await;
    let (auth_b, b) = w.second_dashboard().await;
    let before = w.sign_in("owner@noord.example", NOORD).await;
    let env_kid = TokenSigner::from_seed(&SEED).public_key().kid;
    assert_eq!(kid(&before), env_kid);
    assert_eq!(session_status(&w.dashboard, &before).await, StatusCode::OK);
    assert_eq!(session_status(&b, &before).await, StatusCode::OK);

    let report = w
        .owner_db
        .rotate_signing_keys(
            &keys().field_keys,
            Some(&SEED),
            server::signing_keys::RETIRED_KEPT,
        )
        .await
        .unwrap();
    assert!(report.initialised);
    assert_eq!(report.retired.as_deref(), Some(env_kid.as_str()));
    assert_ne!(report.current, env_kid);

    // Both instances hear of it (NOTIFY) well within a second.
    for (name, auth) in [("A", &w.auth), ("B", &auth_b)] {
        let mut seen = false;
        for _ in 0..100 {
            if auth.signing.current().await.unwrap().table.len() == 3 {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(seen, "instance {name} did not pick up the rotation");
    }
    // Nobody is signed out: the retired key's token still works.
    assert_eq!(session_status(&w.dashboard, &before).await, StatusCode::OK);
    assert_eq!(session_status(&b, &before).await, StatusCode::OK);
    // New sign-ins are signed by the promoted key; B verifies them.
    let after = w.sign_in("owner@noord.example", NOORD).await;
    assert_eq!(kid(&after), report.current);
    assert_eq!(session_status(&b, &after).await, StatusCode::OK);
    // The JWKS publishes next, current and the retired key.
    let jwks = call(
        &w.login,
        crate::world::get_with("/.well-known/jwks.json", &[]),
    )
    .await;
    assert_eq!(jwks.status, StatusCode::OK);
    for k in [&report.current, &report.next, &env_kid] {
        assert!(jwks.body.contains(k.as_str()), "{k} not in {}", jwks.body);
    }
    // A second rotation: the previous current retires too, and its
    // tokens keep working.
    let second = w
        .owner_db
        .rotate_signing_keys(
            &keys().field_keys,
            Some(&SEED),
            server::signing_keys::RETIRED_KEPT,
        )
        .await
        .unwrap();
    assert!(!second.initialised);
    assert_eq!(second.retired.as_deref(), Some(report.current.as_str()));
    assert_eq!(second.current, report.next);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(session_status(&b, &after).await, StatusCode::OK);

    // The retirement window closes (as if the tokens' lifetime had
    // passed): the environment key's tokens are refused on both, although
    // METIVA_TOKEN_SIGNING_KEY still names it.
    w.owner_sql(&format!(
        "UPDATE token_signing_keys SET retired_at = now() - interval '1 hour' WHERE kid = '{env_kid}'"
    ))
    .await;
    let mut refused = false;
    for _ in 0..100 {
        if session_status(&b, &before).await != StatusCode::OK {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "B still accepts a token of a retired key");
    assert_ne!(session_status(&w.dashboard, &before).await, StatusCode::OK);
    assert_eq!(session_status(&b, &after).await, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let w = World::new().await;
    let good = w.sign_in("owner@noord.example", NOORD).await;
    assert_eq!(session_status(&w.dashboard, &good).await, StatusCode::OK);
    // Same claims, signed by a key nobody published.
    let claims = {
        use base64::Engine as _;
        let payload = good.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<AccessClaims>(&bytes).unwrap()
    };
    assert_eq!(claims.iss, LOGIN_URL);
    assert_eq!(claims.aud, APP_URL);
    assert!(claims.exp > now_secs());
    let stranger = TokenSigner::from_seed(&[8; 32]).mint(&claims).unwrap();
    assert_ne!(kid(&stranger), kid(&good));
    for _ in 0..3 {
        let s = session_status(&w.dashboard, &stranger).await;
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::UNAUTHORIZED,
            "{s}"
        );
    }
}

/// The key's age, live: `metiva check` and the security page show it, and
/// both flag a current key past 90 days.
#[tokio::test]
async fn the_key_age_is_shown_and_flagged_past_90_days() {
    use server::checks::{Outcome, signing_key_check};
    let w = World::new().await;
    let db = w.tdb.database();
    let c = signing_key_check(&db).await;
    assert_eq!(c.outcome, Outcome::Pass, "{c}");
    assert!(c.line.contains("not rotated yet"), "{c}");
    let token = w.sign_in("owner@noord.example", NOORD).await;
    let page = call(
        &w.dashboard,
        crate::world::get_with("/settings/security", &[("metiva_session", &token)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("fact-signing-key"), "{}", page.body);
    assert!(page.body.contains("Not rotated yet"), "{}", page.body);

    let report = w
        .owner_db
        .rotate_signing_keys(
            &keys().field_keys,
            Some(&SEED),
            server::signing_keys::RETIRED_KEPT,
        )
        .await
        .unwrap();
    let c = signing_key_check(&db).await;
    assert_eq!(c.outcome, Outcome::Pass, "{c}");
    assert!(
        c.line.contains(&format!("{}: 0 days old", report.current)),
        "{c}"
    );
    let page = call(
        &w.dashboard,
        crate::world::get_with("/settings/security", &[("metiva_session", &token)]),
    )
    .await;
    assert!(
        page.body
            .contains(&format!("{}, in use for 0 days", report.current)),
        "{}",
        page.body
    );

    w.owner_sql("UPDATE token_signing_keys SET activated_at = now() - interval '100 days' WHERE state = 'current'")
        .await;
    let c = signing_key_check(&db).await;
    assert_eq!(c.outcome, Outcome::Fail, "{c}");
    assert!(c.line.contains("100 days old (over 90)"), "{c}");
    let page = call(
        &w.dashboard,
        crate::world::get_with("/settings/security", &[("metiva_session", &token)]),
    )
    .await;
    assert!(page.body.contains("OLDER THAN 90 DAYS"), "{}", page.body);
    assert!(page.body.contains("in use for 100 days"), "{}", page.body);
}
