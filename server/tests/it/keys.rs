//! Per-company data keys: the demo's values are sealed with their
//! company's DEK, no company reads another's key, rotation rewraps
//! (interrupted, then resumed) without touching data, and values sealed
//! under the master key move to the DEKs.

use std::ops::ControlFlow;

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use metiva_db::{Database, PoolSettings};
use metiva_security::cipher::{CipherError, KeyRing, Sealed};
use server::keys::Keys;

use crate::world::{BROUWER, DE_VRIES, ENC, SEED, World};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct S {
    #[diesel(sql_type = Text)]
    s: String,
}

async fn count(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

const NEW: [u8; 32] = [11; 32];

#[tokio::test]
async fn each_company_seals_with_its_own_key_and_reads_no_other() {
    let w = World::new().await;
    let mut su = w.tdb.connect_as("postgres").await;
    // The demo's seeded IPs are sealed with De Vries's DEK, none with the
    // master key.
    let views = count(
        &mut su,
        "SELECT count(*) AS n FROM page_views WHERE company_id = 'cmp_8fa2c1'",
    )
    .await;
    assert!(views > 50, "{views}");
    let under_dek = count(
        &mut su,
        "SELECT count(*) AS n FROM page_views p JOIN company_keys k
           ON k.company_id = p.company_id AND k.id = p.ip_key_id
         WHERE p.company_id = 'cmp_8fa2c1'",
    )
    .await;
    assert_eq!(under_dek, views);
    // Stored wrapped only: 48 bytes, under the master key's id.
    let kek: S = diesel::sql_query(
        "SELECT kek_id || ':' || length(wrapped) AS s FROM company_keys WHERE company_id = 'cmp_8fa2c1'",
    )
    .get_result(&mut su)
    .await
    .unwrap();
    let keys = Keys::from_seed(&SEED, &ENC);
    assert_eq!(kek.s, format!("{}:48", keys.encryption_key_id));

    // The app role bound to Brouwer sees no other company's key, and may
    // neither change nor delete its own.
    let mut app = w.tdb.connect_as("metiva_app").await;
    app.batch_execute("BEGIN; SELECT set_config('app.company_id', 'cmp_1d47b9', true);")
        .await
        .unwrap();
    let de_vries_key = "SELECT count(*) AS n FROM company_keys WHERE company_id = 'cmp_8fa2c1'";
    assert_eq!(count(&mut app, de_vries_key).await, 0);
    for sql in [
        "UPDATE company_keys SET kek_id = 'x'",
        "DELETE FROM company_keys",
    ] {
        let e = app.batch_execute(sql).await.unwrap_err().to_string();
        assert!(e.contains("permission denied"), "{sql}: {e}");
        app.batch_execute(
            "ROLLBACK; BEGIN; SELECT set_config('app.company_id', 'cmp_1d47b9', true);",
        )
        .await
        .unwrap();
    }
    // Bound to De Vries, its own key is there.
    app.batch_execute("ROLLBACK; BEGIN; SELECT set_config('app.company_id', 'cmp_8fa2c1', true);")
        .await
        .unwrap();
    assert_eq!(count(&mut app, de_vries_key).await, 1);
    app.batch_execute("ROLLBACK").await.unwrap();

    // Another process (same master key) opens them through the key table;
    // a ring never loaded refuses instead of guessing.
    let db = w.tdb.database();
    let ring = Keys::from_seed(&SEED, &ENC).field_keys;
    let (row, sealed) = one_view(&mut su, DE_VRIES).await;
    let at = metiva_db::visitors::ip_context(DE_VRIES, &row);
    assert_eq!(ring.open(&sealed, &at), Err(CipherError::DataKeyNotLoaded));
    KeyRing::load(&ring, &db, DE_VRIES).await.unwrap();
    let ip = String::from_utf8(ring.open(&sealed, &at).unwrap()).unwrap();
    assert!(ip.contains('.') || ip.contains(':'), "{ip}");
    // Brouwer's key (created on first use) does not open De Vries's value
    // in Brouwer's context.
    KeyRing::load(&ring, &db, BROUWER).await.unwrap();
    let there = metiva_db::visitors::ip_context(BROUWER, &row);
    assert!(ring.open(&sealed, &there).is_err());
}

async fn one_view(conn: &mut diesel_async::AsyncPgConnection, company: &str) -> (String, Sealed) {
    #[derive(QueryableByName)]
    struct V {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        ip_key_id: String,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        ip_nonce: Vec<u8>,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        ip_ciphertext: Vec<u8>,
    }
    let v: V = diesel::sql_query(
        "SELECT id::text AS id, ip_key_id, ip_nonce, ip_ciphertext FROM page_views
         WHERE company_id = $1 ORDER BY id LIMIT 1",
    )
    .bind::<Text, _>(company)
    .get_result(conn)
    .await
    .unwrap();
    (
        v.id,
        Sealed {
            key_id: v.ip_key_id,
            nonce: v.ip_nonce.try_into().unwrap(),
            ciphertext: v.ip_ciphertext,
        },
    )
}

/// `n` companies `cmp_e00000`… with a DEK each (created through the app
/// role, as a first seal would) and one value sealed for each.
async fn companies_with_keys(w: &World, ring: &KeyRing, n: usize) -> Vec<(String, Sealed)> {
    let mut su = w.tdb.connect_as("postgres").await;
    su.batch_execute(&format!(
        "INSERT INTO companies (id, name)
         SELECT 'cmp_e' || lpad(to_hex(i), 5, '0'), 'Rotation ' || i FROM generate_series(1, {n}) AS i"
    ))
    .await
    .unwrap();
    let db = w.tdb.database();
    let mut out = Vec::new();
    for i in 1..=n {
        let c = format!("cmp_e{i:05x}");
        KeyRing::load(ring, &db, &c).await.unwrap();
        let s = ring
            .seal(
                c.as_bytes(),
                &metiva_db::visitors::ip_context(&c, "00000000-0000-4000-8000-000000000001"),
            )
            .unwrap();
        out.push((c, s));
    }
    out
}

#[tokio::test]
async fn rotation_interrupted_halfway_then_run_again_completes() {
    let w = World::new().await;
    let before = Keys::from_seed(&SEED, &ENC);
    let values = companies_with_keys(&w, &before.field_keys, 40).await;
    let owner = Database::connect(&w.tdb.owner_url(), &PoolSettings::default()).unwrap();
    let rotated = Keys::rotated(&SEED, &NEW, &[ENC]);
    let new_id = rotated.encryption_key_id.clone();

    // A crash after 20 companies: each company is its own transaction, so
    // stopping between them leaves exactly what a killed process leaves.
    let mut seen = 0;
    let half = owner
        .rotate_data_keys(&rotated.field_keys, |_| {
            seen += 1;
            if seen > 20 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .await
        .unwrap();
    assert!(half.stopped);
    // The demo's workspaces come first (by id); one without a key is
    // counted as such.
    assert_eq!(half.rewrapped + half.without_key, 20, "{half:?}");
    assert!(half.rewrapped >= 18, "{half:?}");
    let mut su = w.tdb.connect_as("postgres").await;
    let under_new = format!("SELECT count(*) AS n FROM company_keys WHERE kek_id = '{new_id}'");
    assert_eq!(count(&mut su, &under_new).await, half.rewrapped as i64);

    // Run again: the rest is rewrapped, the done ones skipped.
    let started = std::time::Instant::now();
    let rest = owner
        .rotate_data_keys(&rotated.field_keys, |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let total = count(&mut su, "SELECT count(*) AS n FROM company_keys").await;
    assert_eq!((rest.rewrapped + half.rewrapped) as i64, total, "{rest:?}");
    assert!(rest.rewrapped > 0, "{rest:?}");
    assert_eq!(rest.already_current, half.rewrapped);
    assert_eq!(count(&mut su, &under_new).await, total);
    eprintln!(
        "rotation: {} companies rewrapped in {} ms (debug build)",
        rest.rewrapped,
        elapsed.as_millis()
    );
    // Idempotent: a third run changes nothing and audits nothing.
    let again = owner
        .rotate_data_keys(&rotated.field_keys, |_| ControlFlow::Continue(()))
        .await
        .unwrap();
    assert_eq!(again.rewrapped, 0);
    // Audited once per company, in its own log.
    assert_eq!(
        count(
            &mut su,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'keys.rewrapped'"
        )
        .await,
        total
    );
    assert_eq!(
        count(
            &mut su,
            "SELECT count(*) AS n FROM audit_log WHERE action = 'keys.rewrapped' AND company_id = 'cmp_e00001'"
        )
        .await,
        1
    );

    // The data was not touched: with only the new master key, every value
    // opens; with only the old one, no key unwraps any more.
    let only_new = Keys::from_seed(&SEED, &NEW).field_keys;
    let only_old = Keys::from_seed(&SEED, &ENC).field_keys;
    let db = w.tdb.database();
    for (c, sealed) in &values {
        KeyRing::load(&only_new, &db, c).await.unwrap();
        let at = metiva_db::visitors::ip_context(c, "00000000-0000-4000-8000-000000000001");
        assert_eq!(only_new.open(sealed, &at).unwrap(), c.as_bytes());
        assert!(matches!(
            KeyRing::load(&only_old, &db, c).await,
            Err(CipherError::UnknownKey(_))
        ));
    }
}

#[tokio::test]
async fn values_sealed_under_the_master_key_move_to_the_company_key() {
    let w = World::new().await;
    let keys = Keys::from_seed(&SEED, &ENC);
    let ring = &keys.field_keys;
    let mut su = w.tdb.connect_as("postgres").await;
    // Make 30 of De Vries's page views look as before per-company keys:
    // sealed under the master key directly.
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "SELECT id::text AS id FROM page_views WHERE company_id = 'cmp_8fa2c1' ORDER BY id LIMIT 30",
    )
    .load(&mut su)
    .await
    .unwrap();
    for Id { id } in &ids {
        let at = metiva_db::visitors::ip_context(DE_VRIES, id);
        let s = ring.seal_transient(b"192.0.2.0", &at).unwrap();
        su.batch_execute(&format!(
            "UPDATE page_views SET ip_key_id = '{}', ip_nonce = '\\x{}', ip_ciphertext = '\\x{}'
             WHERE company_id = 'cmp_8fa2c1' AND id = '{id}'",
            s.key_id,
            hex::encode(s.nonce),
            hex::encode(&s.ciphertext)
        ))
        .await
        .unwrap();
    }
    let legacy = "SELECT count(*) AS n FROM page_views WHERE ip_key_id NOT LIKE 'd-%'";
    assert_eq!(count(&mut su, legacy).await, 30);

    let owner = Database::connect(&w.tdb.owner_url(), &PoolSettings::default()).unwrap();
    let moved = owner.migrate_sealed_values(ring, 7).await.unwrap();
    assert_eq!(moved, 30);
    assert_eq!(count(&mut su, legacy).await, 0);
    // Resumable and idempotent: nothing left to move.
    assert_eq!(owner.migrate_sealed_values(ring, 7).await.unwrap(), 0);
    // Each moved value opens with the DEK in its own place.
    let fresh = Keys::from_seed(&SEED, &ENC).field_keys;
    KeyRing::load(&fresh, &w.tdb.database(), DE_VRIES)
        .await
        .unwrap();
    let (row, sealed) = one_view(&mut su, DE_VRIES).await;
    assert!(sealed.key_id.starts_with("d-"));
    assert!(
        fresh
            .open(&sealed, &metiva_db::visitors::ip_context(DE_VRIES, &row))
            .is_ok()
    );
}
