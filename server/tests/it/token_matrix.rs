//! The token attack matrix, against the real dashboard router: every case
//! is refused (403), and a valid token with a foreign `X-Tenant` header is
//! served for the token's company.

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use metiva_security::token::{AccessClaims, TokenSigner, now_secs};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::world::{APP_URL, BROUWER, DE_VRIES, LOGIN_URL, SEED, World, api, call};

struct Ctx {
    signer: TokenSigner,
    user: Uuid,
    sid: Uuid,
}

impl Ctx {
    fn claims(&self) -> Value {
        let now = now_secs();
        json!({
            "iss": LOGIN_URL, "aud": APP_URL, "sub": self.user.to_string(),
            "company_id": DE_VRIES, "sid": self.sid.to_string(),
            "iat": now, "nbf": now, "exp": now + 600,
        })
    }

    fn sign(&self, claims: &Value) -> String {
        let c: AccessClaims = serde_json::from_value(claims.clone()).unwrap();
        self.signer.mint(&c).unwrap()
    }

    fn with(&self, f: impl FnOnce(&mut Value)) -> String {
        let mut c = self.claims();
        f(&mut c);
        self.sign(&c)
    }
}

/// A token signed for real, then given a payload of our choosing with the
/// original signature (so the signature no longer matches).
fn raw(header: &Value, payload: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        B64.encode(header.to_string()),
        B64.encode(payload.to_string())
    )
}

#[tokio::test]
async fn every_attack_is_refused_and_the_claim_always_wins() {
    let w = World::new().await;
    let user = w.user_id("sales@devries.example").await;
    // A real session for the user, as the login service would create it.
    let sid = Uuid::new_v4();
    w.login_db
        .create_session(&metiva_db::login::NewSession {
            id: sid,
            user_id: user,
            secret_hash: &[1; 32],
            user_agent: None,
            ttl: std::time::Duration::from_secs(3600),
            ip: None,
        })
        .await
        .unwrap();
    let ctx = Ctx {
        signer: TokenSigner::from_seed(&SEED),
        user,
        sid,
    };
    let good = ctx.sign(&ctx.claims());
    let r = call(&w.dashboard, api("session", Some(&good))).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the baseline token works: {}",
        r.body
    );

    let kid = ctx.signer.public_key().kid;
    let sig = good.rsplit('.').next().unwrap().to_string();
    let now = now_secs();
    let public = ctx.signer.public_key().bytes;

    let mut cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                B64.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
                B64.encode(ctx.claims().to_string())
            ),
        ),
        (
            "HS256 signed with the public key",
            jsonwebtoken::encode(
                &{
                    let mut h = Header::new(Algorithm::HS256);
                    h.kid = Some(kid.clone());
                    h
                },
                &ctx.claims(),
                &EncodingKey::from_secret(&public).unwrap(),
            )
            .unwrap(),
        ),
        ("unknown kid", {
            let other = TokenSigner::from_seed(&[8; 32]);
            let c: AccessClaims = serde_json::from_value(ctx.claims()).unwrap();
            other.mint(&c).unwrap()
        }),
        (
            "tampered payload",
            raw(
                &json!({"alg": "EdDSA", "typ": "JWT", "kid": kid}),
                &{
                    let mut c = ctx.claims();
                    c["company_id"] = json!(BROUWER);
                    c
                },
                &sig,
            ),
        ),
        (
            "expired",
            ctx.with(|c| {
                c["exp"] = json!(now - 60);
                c["iat"] = json!(now - 700);
                c["nbf"] = json!(now - 700);
            }),
        ),
        ("not yet valid", ctx.with(|c| c["nbf"] = json!(now + 300))),
        (
            "wrong iss",
            ctx.with(|c| c["iss"] = json!("https://evil.example")),
        ),
        (
            "wrong aud",
            ctx.with(|c| c["aud"] = json!("https://other-app.example")),
        ),
        (
            "missing company_id",
            jsonwebtoken::encode(
                &{
                    let mut h = Header::new(Algorithm::EdDSA);
                    h.kid = Some(kid.clone());
                    h
                },
                &{
                    let mut c = ctx.claims();
                    c.as_object_mut().unwrap().remove("company_id");
                    c
                },
                &EncodingKey::from_ed_der(&pkcs8(&SEED)),
            )
            .unwrap(),
        ),
        (
            "string exp",
            jsonwebtoken::encode(
                &{
                    let mut h = Header::new(Algorithm::EdDSA);
                    h.kid = Some(kid.clone());
                    h
                },
                &{
                    let mut c = ctx.claims();
                    c["exp"] = json!((now + 600).to_string());
                    c
                },
                &EncodingKey::from_ed_der(&pkcs8(&SEED)),
            )
            .unwrap(),
        ),
        (
            "company the user is not a member of",
            ctx.with(|c| c["company_id"] = json!(BROUWER)),
        ),
        (
            "malformed company id",
            jsonwebtoken::encode(
                &{
                    let mut h = Header::new(Algorithm::EdDSA);
                    h.kid = Some(kid.clone());
                    h
                },
                &{
                    let mut c = ctx.claims();
                    c["company_id"] = json!("cmp_8fa2c1' OR '1'='1");
                    c
                },
                &EncodingKey::from_ed_der(&pkcs8(&SEED)),
            )
            .unwrap(),
        ),
        (
            "unknown session",
            ctx.with(|c| c["sid"] = json!(Uuid::new_v4().to_string())),
        ),
        ("another user's session", {
            let other = w.user_id("viewer@devries.example").await;
            ctx.with(|c| c["sub"] = json!(other.to_string()))
        }),
        ("garbage", "not.a.token".to_string()),
    ];

    // State-based cases: each mutates the world, checks, and restores.
    for (name, token) in cases.drain(..) {
        let r = call(&w.dashboard, api("session", Some(&token))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.body);
        assert!(!r.body.contains(DE_VRIES), "{name} leaked: {}", r.body);
    }
    let mut refused = 15;

    let state_cases: [(&str, &str, &str); 4] = [
        (
            "revoked session",
            "UPDATE sessions SET revoked_at = now() WHERE id = '{sid}'",
            "UPDATE sessions SET revoked_at = NULL WHERE id = '{sid}'",
        ),
        (
            "suspended member",
            "UPDATE memberships SET status = 'suspended' WHERE user_id = '{user}' AND company_id = 'cmp_8fa2c1'",
            "UPDATE memberships SET status = 'active' WHERE user_id = '{user}' AND company_id = 'cmp_8fa2c1'",
        ),
        (
            "removed member",
            "DELETE FROM memberships WHERE user_id = '{user}' AND company_id = 'cmp_8fa2c1'",
            "INSERT INTO memberships (company_id, user_id, role) VALUES ('cmp_8fa2c1', '{user}', 'sales')",
        ),
        (
            "suspended company",
            "UPDATE companies SET status = 'suspended' WHERE id = 'cmp_8fa2c1'",
            "UPDATE companies SET status = 'active' WHERE id = 'cmp_8fa2c1'",
        ),
    ];
    for (name, break_it, restore) in state_cases {
        let fill = |s: &str| {
            s.replace("{sid}", &sid.to_string())
                .replace("{user}", &user.to_string())
        };
        // Warm the cache first: revocation must beat it.
        let r = call(&w.dashboard, api("session", Some(&good))).await;
        assert_eq!(r.status, StatusCode::OK, "before {name}: {}", r.body);
        w.owner_sql(&fill(break_it)).await;
        let r = call(&w.dashboard, api("session", Some(&good))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{name}: {}", r.body);
        refused += 1;
        w.owner_sql(&fill(restore)).await;
        // Insert does not notify; a refusal is never cached, so it works.
        let r = call(&w.dashboard, api("session", Some(&good))).await;
        assert_eq!(r.status, StatusCode::OK, "after {name}: {}", r.body);
    }
    assert!(refused >= 19);

    // A valid token plus tenant-looking headers, query and body fields of
    // another company: the token's company is served.
    let mut req = api(
        "session?company_id=cmp_1d47b9&tenant=cmp_1d47b9",
        Some(&good),
    );
    for h in ["x-tenant", "x-company-id"] {
        req.headers_mut()
            .insert(h, header::HeaderValue::from_static("cmp_1d47b9"));
    }
    let r = call(&w.dashboard, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains(DE_VRIES) && !r.body.contains(BROUWER),
        "{}",
        r.body
    );
    // Cookies other than the token are ignored too.
    let mut req = api("session", None);
    req.headers_mut().insert(
        header::COOKIE,
        header::HeaderValue::from_str(&format!(
            "company_id=cmp_1d47b9; metiva_session={good}; tenant=cmp_1d47b9"
        ))
        .unwrap(),
    );
    let r = call(&w.dashboard, req).await;
    assert!(
        r.body.contains(DE_VRIES) && !r.body.contains(BROUWER),
        "{}",
        r.body
    );
}

fn pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}
