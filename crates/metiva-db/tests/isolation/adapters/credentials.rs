//! The integrations' sealed credentials, kept per workspace.

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::{Bytea, Text};
use diesel_async::RunQueryDsl;
use metiva_db::adapters::integrations::IntegrationError;
use metiva_db::adapters::{Credentials, Provider};
use metiva_db::{Database, DbError, TenantConn};
use metiva_security::cipher::KeyRing;
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, cid, exec, member_ctx, three_companies};

#[derive(QueryableByName)]
struct Raw {
    #[diesel(sql_type = Text)]
    hint: String,
    #[diesel(sql_type = Bytea)]
    credentials_ciphertext: Vec<u8>,
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn twilio_form() -> BTreeMap<String, String> {
    [
        ("account_sid", "AC0123456789abcdef0123456789abcdef"),
        ("auth_token", TOKEN),
        ("from_number", "+31612345678"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn ring() -> KeyRing {
    let mut k = KeyRing::new();
    k.rotate_in_key("k1", &[5u8; 32]);
    k
}

/// `company`'s Twilio credentials as a job of that company opens them.
async fn twilio_of(
    db: &Database,
    keys: &KeyRing,
    company: &str,
) -> Result<Option<Credentials>, DbError> {
    db.tenant(&cid(company), async |tc: &mut TenantConn<'_>| {
        metiva_db::adapters::credentials_loaded(db, tc, keys, Provider::Twilio).await
    })
    .await
}

#[tokio::test]
async fn credentials_are_sealed_and_each_workspace_sees_only_its_own() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let keys = ring();
    let owner_a = member_ctx(&tdb, &db, A, 1, "owner").await;
    let sales_a = member_ctx(&tdb, &db, A, 2, "sales").await;
    let owner_b = member_ctx(&tdb, &db, B, 3, "owner").await;

    // Without integrations.manage: refused.
    let r = db
        .connect_integration(
            &sales_a,
            &keys,
            Provider::Twilio,
            &twilio_form(),
            false,
            "r1",
        )
        .await;
    assert!(matches!(r, Err(IntegrationError::Forbidden)), "{r:?}");
    assert!(matches!(
        db.integrations(&sales_a).await,
        Err(IntegrationError::Forbidden)
    ));
    // Bad input: each field named.
    let mut bad = twilio_form();
    bad.insert("from_number".into(), "0612".into());
    let r = db
        .connect_integration(&owner_a, &keys, Provider::Twilio, &bad, false, "r2")
        .await;
    let Err(IntegrationError::Invalid(fields)) = r else {
        panic!("{r:?}")
    };
    let codes: Vec<(&str, &str)> = fields.iter().map(|f| (f.field, f.code)).collect();
    assert_eq!(codes, [("from_number", "invalid")]);

    let s = db
        .connect_integration(
            &owner_a,
            &keys,
            Provider::Twilio,
            &twilio_form(),
            false,
            "r3",
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(s.hint, "AC…cdef, +31612345678");
    // The raw secret is not in the table.
    let raw = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            Ok(
                diesel::sql_query("SELECT hint, credentials_ciphertext FROM integrations")
                    .get_result::<Raw>(tc.conn())
                    .await?,
            )
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!raw.hint.contains(TOKEN));
    assert!(
        !raw.credentials_ciphertext
            .windows(TOKEN.len())
            .any(|w| w == TOKEN.as_bytes()),
        "the token is sealed"
    );
    // A job of A opens them; B has none and sees none of A's.
    let creds = twilio_of(&db, &keys, A)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("connected"));
    assert_eq!(creds.get("auth_token"), Some(TOKEN));
    let b_view = db
        .integrations(&owner_b)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(b_view.iter().all(|v| v.connection.is_none()), "{b_view:?}");
    let none = twilio_of(&db, &keys, B)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_none());
    // A copied ciphertext does not open in another workspace.
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             CREATE TEMP TABLE leak ON COMMIT DROP AS SELECT * FROM integrations;
             SELECT set_config('app.company_id', '{B}', true);
             INSERT INTO integrations SELECT '{B}', provider, hint, credentials_key_id, credentials_nonce,
                 credentials_ciphertext, connected_by, connected_at FROM leak;
             COMMIT;"
        ),
    )
    .await;
    let copied = twilio_of(&db, &keys, B).await;
    assert!(
        copied.is_err(),
        "a copied ciphertext must not open elsewhere"
    );
    // Disconnect: gone, audited; a second disconnect is NotConnected.
    db.disconnect_integration(&owner_a, Provider::Twilio, "r4")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.disconnect_integration(&owner_a, Provider::Twilio, "r5")
            .await,
        Err(IntegrationError::NotConnected)
    ));
    #[derive(QueryableByName)]
    struct Act {
        #[diesel(sql_type = Text)]
        action: String,
    }
    let acts: Vec<String> = db
        .tenant(&cid(A), async |tc: &mut TenantConn<'_>| {
            Ok(diesel::sql_query(
                "SELECT action FROM audit_log WHERE action LIKE 'integrations.%' ORDER BY seq",
            )
            .load::<Act>(tc.conn())
            .await?)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        acts,
        ["integrations.connected", "integrations.disconnected"]
    );
}
