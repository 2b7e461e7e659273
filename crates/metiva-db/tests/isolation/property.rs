#![expect(
    clippy::indexing_slicing,
    reason = "the test indexes its own model by construction; a panic is a test failure"
)]
//! Property test: random sequences of create/read/update/delete/list by
//! three tenants, through the repository API. Each tenant's view always
//! equals its own model, and no operation ever returns or changes another
//! tenant's row. At least 10,000 operations per run.

use std::collections::BTreeMap;

use metiva_db::repo::persons::{self, PersonFields};
use metiva_db::{DbError, PoolSettings};
use metiva_testkit::TestDb;
use proptest::prelude::*;
use uuid::Uuid;

use crate::fixtures::{A, B, C, cid, three_companies};

const TENANTS: [&str; 3] = [A, B, C];
const CASES: u32 = 3;
const OPS_PER_CASE: usize = 3_400;

#[derive(Debug, Clone)]
enum Op {
    Create {
        t: usize,
        name: u16,
    },
    /// `pick` indexes into every row ever created, by any tenant.
    Read {
        t: usize,
        pick: usize,
    },
    Update {
        t: usize,
        pick: usize,
        name: u16,
    },
    Delete {
        t: usize,
        pick: usize,
    },
    List {
        t: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0usize..3;
    prop_oneof![
        3 => (t.clone(), any::<u16>()).prop_map(|(t, name)| Op::Create { t, name }),
        3 => (t.clone(), any::<usize>()).prop_map(|(t, pick)| Op::Read { t, pick }),
        2 => (t.clone(), any::<usize>(), any::<u16>()).prop_map(|(t, pick, name)| Op::Update { t, pick, name }),
        1 => (t.clone(), any::<usize>()).prop_map(|(t, pick)| Op::Delete { t, pick }),
        1 => t.prop_map(|t| Op::List { t }),
    ]
}

fn fields(name: u16) -> PersonFields {
    PersonFields {
        name: format!("p{name}"),
        ..Default::default()
    }
}

/// Owner of each id ever created, and each tenant's live rows.
#[derive(Default)]
struct Model {
    all: Vec<(usize, Uuid)>,
    live: [BTreeMap<Uuid, String>; 3],
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database_with(&PoolSettings {
        max_size: 3,
        ..metiva_testkit::pool_settings()
    });
    let mut m = Model::default();
    // The fixture's one person per tenant is part of each model.
    for (i, t) in TENANTS.iter().enumerate() {
        let rows = db
            .tenant_read(&cid(t), async |tc| persons::list(tc, 10).await)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for p in rows {
            m.all.push((i, p.id));
            m.live[i].insert(p.id, p.name);
        }
    }
    for op in ops {
        match op {
            Op::Create { t, name } => {
                let p = db
                    .tenant(&cid(TENANTS[t]), async |tc| {
                        persons::create(tc, &fields(name)).await
                    })
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&p.company_id, TENANTS[t]);
                m.all.push((t, p.id));
                m.live[t].insert(p.id, p.name);
            }
            Op::Read { t, pick } => {
                let (_, id) = m.all[pick % m.all.len()];
                let got = db
                    .tenant_read(&cid(TENANTS[t]), async |tc| persons::get(tc, id).await)
                    .await;
                match m.live[t].get(&id) {
                    Some(name) => {
                        let p = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                        prop_assert_eq!(&p.name, name);
                        prop_assert_eq!(&p.company_id, TENANTS[t]);
                    }
                    None => prop_assert!(
                        matches!(got, Err(DbError::NotFound)),
                        "read {id} as {t}: {got:?}"
                    ),
                }
            }
            Op::Update { t, pick, name } => {
                let (_, id) = m.all[pick % m.all.len()];
                let got = db
                    .tenant(&cid(TENANTS[t]), async |tc| {
                        persons::update(tc, id, &fields(name)).await
                    })
                    .await;
                if m.live[t].contains_key(&id) {
                    let p = got.map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&p.company_id, TENANTS[t]);
                    m.live[t].insert(id, p.name);
                } else {
                    prop_assert!(
                        matches!(got, Err(DbError::NotFound)),
                        "update {id} as {t}: {got:?}"
                    );
                }
            }
            Op::Delete { t, pick } => {
                let (_, id) = m.all[pick % m.all.len()];
                let got = db
                    .tenant(&cid(TENANTS[t]), async |tc| persons::delete(tc, id).await)
                    .await;
                if m.live[t].remove(&id).is_some() {
                    prop_assert!(got.is_ok(), "delete own {id}: {got:?}");
                } else {
                    prop_assert!(
                        matches!(got, Err(DbError::NotFound)),
                        "delete {id} as {t}: {got:?}"
                    );
                }
            }
            Op::List { t } => {
                let rows = db
                    .tenant_read(&cid(TENANTS[t]), async |tc| {
                        persons::list(tc, 100_000).await
                    })
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let seen: BTreeMap<Uuid, String> =
                    rows.iter().map(|p| (p.id, p.name.clone())).collect();
                prop_assert!(rows.iter().all(|p| p.company_id == TENANTS[t]));
                prop_assert_eq!(&seen, &m.live[t]);
            }
        }
    }
    // Finally every tenant's whole view equals its model.
    for (t, tenant) in TENANTS.iter().enumerate() {
        let rows = db
            .tenant_read(&cid(tenant), async |tc| persons::list(tc, 100_000).await)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let seen: BTreeMap<Uuid, String> = rows.into_iter().map(|p| (p.id, p.name)).collect();
        prop_assert_eq!(&seen, &m.live[t]);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, max_shrink_iters: 0, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn each_tenant_sees_exactly_its_own_model(ops in proptest::collection::vec(op(), OPS_PER_CASE)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run(ops))?;
    }
}

// The property covers at least 10,000 operations, or this does not compile.
const _: () = assert!(CASES as usize * OPS_PER_CASE >= 10_000);
