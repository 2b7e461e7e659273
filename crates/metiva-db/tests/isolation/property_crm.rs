#![expect(
    clippy::indexing_slicing,
    reason = "the test indexes its own model by construction; a panic is a test failure"
)]
//! Property test over the CRM tables: random sequences of organisation
//! and deal operations by members of three workspaces, through the same
//! domain API the pages call. Every workspace's view equals its own model:
//! another workspace's organisation or deal is never read, changed,
//! deleted, moved or linked (a foreign organisation named on a new deal is
//! refused by field), and the deal list counts exactly its own deals.

use std::collections::BTreeMap;

use metiva_db::TenantCtx;
use metiva_db::crm::CrmError;
use metiva_db::crm::deal_list::DealFilter;
use metiva_db::crm::deals::{CLOSED_COLUMN_LIMIT, DealForm, OPEN_COLUMN_LIMIT};
use metiva_db::crm::organisations::OrganisationForm;
use metiva_testkit::TestDb;
use proptest::prelude::*;
use uuid::Uuid;

use crate::fixtures::{A, B, C, member_ctx, three_companies};

const TENANTS: [&str; 3] = [A, B, C];
const CASES: u32 = 3;
const OPS_PER_CASE: usize = 1_200;
const STAGES: [&str; 4] = ["lead", "qualified", "proposal", "negotiation"];

#[derive(Debug, Clone)]
enum Op {
    CreateOrg {
        t: usize,
        name: u16,
    },
    ReadOrg {
        t: usize,
        pick: usize,
    },
    RenameOrg {
        t: usize,
        pick: usize,
        name: u16,
    },
    DeleteOrg {
        t: usize,
        pick: usize,
    },
    /// A deal linked to an organisation picked from every one ever made.
    CreateDeal {
        t: usize,
        org: Option<usize>,
        name: u16,
    },
    MoveDeal {
        t: usize,
        pick: usize,
        stage: usize,
    },
    ListDeals {
        t: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let t = 0..3usize;
    prop_oneof![
        3 => (t.clone(), any::<u16>()).prop_map(|(t, name)| Op::CreateOrg { t, name }),
        2 => (t.clone(), any::<usize>()).prop_map(|(t, pick)| Op::ReadOrg { t, pick }),
        2 => (t.clone(), any::<usize>(), any::<u16>()).prop_map(|(t, pick, name)| Op::RenameOrg { t, pick, name }),
        1 => (t.clone(), any::<usize>()).prop_map(|(t, pick)| Op::DeleteOrg { t, pick }),
        3 => (t.clone(), proptest::option::of(any::<usize>()), any::<u16>()).prop_map(|(t, org, name)| Op::CreateDeal { t, org, name }),
        3 => (t.clone(), any::<usize>(), 0..4usize).prop_map(|(t, pick, stage)| Op::MoveDeal { t, pick, stage }),
        1 => t.prop_map(|t| Op::ListDeals { t }),
    ]
}

/// Every id ever created (with its workspace), and each workspace's live
/// organisations (name, version) and deals (stage, version).
#[derive(Default)]
struct Model {
    orgs: Vec<(usize, Uuid)>,
    deals: Vec<(usize, Uuid)>,
    live_orgs: [BTreeMap<Uuid, (String, i32)>; 3],
    live_deals: [BTreeMap<Uuid, (String, i32)>; 3],
}

fn fail(e: impl std::fmt::Debug) -> TestCaseError {
    TestCaseError::fail(format!("{e:?}"))
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let mut ctx: Vec<TenantCtx> = Vec::new();
    for (i, t) in TENANTS.iter().enumerate() {
        let n = u128::try_from(i).unwrap_or(0) + 1;
        ctx.push(member_ctx(&tdb, &db, t, n, "account_manager").await);
    }
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::CreateOrg { t, name } => {
                let f = OrganisationForm {
                    name: &format!("o{name}"),
                    ..Default::default()
                }
                .validate()
                .map_err(fail)?;
                let id = db
                    .create_organisation(&ctx[t], &f, "prop")
                    .await
                    .map_err(fail)?;
                m.orgs.push((t, id));
                m.live_orgs[t].insert(id, (f.name.clone(), 1));
            }
            Op::ReadOrg { t, pick } if !m.orgs.is_empty() => {
                let (_, id) = m.orgs[pick % m.orgs.len()];
                let got = db.organisation_record(&ctx[t], id).await.map_err(fail)?;
                match (m.live_orgs[t].get(&id), got) {
                    (Some((name, version)), Some((o, _))) => {
                        prop_assert_eq!(&o.name, name);
                        prop_assert_eq!(o.version, *version);
                    }
                    (None, None) => {}
                    (want, got) => prop_assert!(false, "read {id} as {t}: {want:?} vs {got:?}"),
                }
            }
            Op::RenameOrg { t, pick, name } if !m.orgs.is_empty() => {
                let (owner, id) = m.orgs[pick % m.orgs.len()];
                let f = OrganisationForm {
                    name: &format!("r{name}"),
                    ..Default::default()
                }
                .validate()
                .map_err(fail)?;
                // Another workspace uses the version the owner would.
                let version = m.live_orgs[owner].get(&id).map_or(1, |(_, v)| *v);
                let got = db.update_organisation(&ctx[t], id, version, &f).await;
                match m.live_orgs[t].get_mut(&id) {
                    Some(entry) => {
                        let v = got.map_err(fail)?;
                        *entry = (f.name.clone(), v);
                    }
                    None => prop_assert!(
                        matches!(got, Err(CrmError::NotFound)),
                        "rename {id} as {t}: {got:?}"
                    ),
                }
            }
            Op::DeleteOrg { t, pick } if !m.orgs.is_empty() => {
                let (owner, id) = m.orgs[pick % m.orgs.len()];
                let version = m.live_orgs[owner].get(&id).map_or(1, |(_, v)| *v);
                let got = db.delete_organisation(&ctx[t], id, version, "prop").await;
                if m.live_orgs[t].remove(&id).is_some() {
                    prop_assert!(got.is_ok(), "delete own {id}: {got:?}");
                } else {
                    prop_assert!(
                        matches!(got, Err(CrmError::NotFound)),
                        "delete {id} as {t}: {got:?}"
                    );
                }
            }
            Op::CreateDeal { t, org, name } => {
                let org = org
                    .filter(|_| !m.orgs.is_empty())
                    .map(|p| m.orgs[p % m.orgs.len()].1);
                let org_text = org.map(|o| o.to_string());
                let f = DealForm {
                    title: &format!("d{name}"),
                    organisation: org_text.as_deref(),
                    ..Default::default()
                }
                .validate()
                .map_err(fail)?;
                let got = db.create_deal(&ctx[t], &f, "prop").await;
                match org {
                    Some(o) if !m.live_orgs[t].contains_key(&o) => prop_assert!(
                        matches!(&got, Err(CrmError::Invalid(e)) if e.iter().any(|e| e.field == "organisation")),
                        "a deal in {t} linked to {o}: {got:?}"
                    ),
                    _ => {
                        let id = got.map_err(fail)?;
                        m.deals.push((t, id));
                        m.live_deals[t].insert(id, ("lead".into(), 1));
                    }
                }
            }
            Op::MoveDeal { t, pick, stage } if !m.deals.is_empty() => {
                let (owner, id) = m.deals[pick % m.deals.len()];
                let version = m.live_deals[owner].get(&id).map_or(1, |(_, v)| *v);
                let to = STAGES[stage];
                let got = db.move_deal(&ctx[t], id, version, to, None).await;
                match m.live_deals[t].get_mut(&id) {
                    Some(entry) => {
                        let v = got.map_err(fail)?;
                        *entry = (to.to_string(), v);
                    }
                    None => prop_assert!(
                        matches!(got, Err(CrmError::NotFound)),
                        "move {id} as {t}: {got:?}"
                    ),
                }
            }
            Op::ListDeals { t } => {
                let f = DealFilter {
                    page: 1,
                    ..Default::default()
                };
                let (total, rows) = db.deal_list(&ctx[t], &f).await.map_err(fail)?;
                prop_assert_eq!(usize::try_from(total).unwrap_or(0), m.live_deals[t].len());
                for r in rows {
                    let want = m.live_deals[t].get(&r.id);
                    prop_assert_eq!(want.map(|(s, _)| s.as_str()), Some(r.stage.as_str()));
                }
            }
            _ => {}
        }
    }
    // Finally each workspace's board counts exactly its own deals per
    // stage, and every card on it is its own deal in the stage the model
    // says; a column shows its stage's deals up to its limit (the rest are
    // in the list view).
    for (t, member) in ctx.iter().enumerate() {
        let board = db.deal_board(member).await.map_err(fail)?;
        let mut want_counts: BTreeMap<String, i64> = BTreeMap::new();
        for (s, _) in m.live_deals[t].values() {
            *want_counts.entry(s.clone()).or_default() += 1;
        }
        let counts: BTreeMap<String, i64> = board.counts.into_iter().collect();
        prop_assert_eq!(&counts, &want_counts);
        let mut shown: BTreeMap<String, i64> = BTreeMap::new();
        for c in &board.cards {
            let want = m.live_deals[t].get(&c.id).map(|(s, _)| s.as_str());
            prop_assert_eq!(want, Some(c.stage.as_str()), "card {} as {}", c.id, t);
            *shown.entry(c.stage.clone()).or_default() += 1;
        }
        for (stage, n) in &want_counts {
            let limit = if matches!(stage.as_str(), "won" | "lost") {
                CLOSED_COLUMN_LIMIT
            } else {
                OPEN_COLUMN_LIMIT
            };
            prop_assert_eq!(shown.get(stage).copied().unwrap_or(0), (*n).min(limit));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, max_shrink_iters: 0, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn each_workspace_sees_exactly_its_own_organisations_and_deals(ops in proptest::collection::vec(op(), OPS_PER_CASE)) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        rt.block_on(run(ops))?;
    }
}
