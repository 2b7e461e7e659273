//! Configuring the pipeline and the lead SLA, the filtered deal list, and
//! editing and deleting deals: every change stays inside its workspace,
//! keeps the pipeline whole, and is audited with keys and ids only.

use metiva_db::crm::CrmError;
use metiva_db::crm::deal_list::{DealQuery, DealSort};
use metiva_db::crm::deals::DealForm;
use metiva_db::crm::pipeline::StageChange;
use metiva_db::crm::sla::SlaForm;
use metiva_db::{Database, TenantCtx};
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, member_ctx, three_companies};

async fn keys(db: &Database, ctx: &TenantCtx) -> Vec<(String, String, i64)> {
    db.pipeline_usage(ctx)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|u| (u.stage.key, u.stage.outcome, u.deals))
        .collect()
}

fn names(list: &[(String, String, i64)]) -> Vec<&str> {
    list.iter().map(|(k, _, _)| k.as_str()).collect()
}

async fn deal(db: &Database, ctx: &TenantCtx, title: &str, value: &str, close: &str) -> Uuid {
    let f = DealForm {
        title,
        value: Some(value),
        expected_close: Some(close),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    db.create_deal(ctx, &f, "req")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn refused_field(r: Result<(), CrmError>) -> (&'static str, &'static str) {
    match r {
        Err(CrmError::Invalid(f)) => f
            .first()
            .map(|e| (e.field, e.code))
            .unwrap_or_else(|| panic!("a refusal names a field")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn audited(db: &Database, ctx: &TenantCtx, action: &str) -> Vec<Option<String>> {
    db.in_tenant_read(ctx, async |tc| {
        metiva_db::repo::audit::search(
            tc,
            &metiva_db::repo::audit::AuditFilter {
                action: Some(action),
                actor: None,
                before: None,
                limit: 50,
            },
        )
        .await
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .map(|e| e.target_id)
    .collect()
}

#[tokio::test]
async fn the_pipeline_is_configured_per_workspace_and_stays_whole() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "admin").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let change = async |c: StageChange| db.change_pipeline(&a, &c, "req-p").await;

    // An open stage goes after the last open one, a lost one at the end.
    change(StageChange::Add {
        label: "Demo gepland".into(),
        outcome: "open".into(),
    })
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    change(StageChange::Add {
        label: "Geen budget".into(),
        outcome: "lost".into(),
    })
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        names(&keys(&db, &a).await),
        [
            "lead",
            "qualified",
            "proposal",
            "negotiation",
            "demo_gepland",
            "won",
            "lost",
            "geen_budget"
        ]
    );
    // The other workspace's pipeline is untouched.
    assert_eq!(keys(&db, &b).await.len(), 6);

    // A name another stage has (any case) is refused; so is an empty one.
    let taken = change(StageChange::Rename {
        key: "lead".into(),
        label: "demo GEPLAND".into(),
    })
    .await;
    assert_eq!(refused_field(taken), ("label", "stage.taken"));
    let empty = change(StageChange::Add {
        label: "  ".into(),
        outcome: "open".into(),
    })
    .await;
    assert_eq!(refused_field(empty), ("label", "required"));
    let odd = change(StageChange::Add {
        label: "Maybe".into(),
        outcome: "perhaps".into(),
    })
    .await;
    assert_eq!(refused_field(odd), ("outcome", "unknown"));

    // Reorder: demo moves up twice, past negotiation and proposal.
    for _ in 0..2 {
        change(StageChange::Move {
            key: "demo_gepland".into(),
            up: true,
        })
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    }
    assert_eq!(
        &names(&keys(&db, &a).await)[..5],
        [
            "lead",
            "qualified",
            "demo_gepland",
            "proposal",
            "negotiation"
        ]
    );
    // The first stage cannot go further up: nothing changes.
    change(StageChange::Move {
        key: "lead".into(),
        up: true,
    })
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(names(&keys(&db, &a).await)[0], "lead");

    // Another workspace's stage key is not found there.
    let foreign = db
        .change_pipeline(
            &b,
            &StageChange::Rename {
                key: "demo_gepland".into(),
                label: "Hijack".into(),
            },
            "req-x",
        )
        .await;
    assert!(matches!(foreign, Err(CrmError::NotFound)), "{foreign:?}");

    // A stage with deals goes only when its deals have somewhere of the
    // same outcome to go; they move there with their history.
    let d = deal(&db, &a, "Relaunch", "1000", "2027-03-10").await;
    db.move_deal(&a, d, 1, "demo_gepland", None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let no_target = change(StageChange::Remove {
        key: "demo_gepland".into(),
        move_to: None,
    })
    .await;
    assert_eq!(refused_field(no_target), ("move_to", "stage.move_to"));
    let to_won = change(StageChange::Remove {
        key: "demo_gepland".into(),
        move_to: Some("won".into()),
    })
    .await;
    assert_eq!(refused_field(to_won), ("move_to", "stage.move_to"));
    change(StageChange::Remove {
        key: "demo_gepland".into(),
        move_to: Some("proposal".into()),
    })
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));
    let after = keys(&db, &a).await;
    assert!(!names(&after).contains(&"demo_gepland"));
    assert_eq!(
        after.iter().find(|(k, _, _)| k == "proposal").map(|s| s.2),
        Some(1)
    );
    let (version, _, hist) = db
        .deal_history(&a, d)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the deal is gone"));
    assert_eq!(version, 3, "the moved deal's version was bumped");
    let last = hist.last().unwrap_or_else(|| panic!("no history"));
    assert_eq!(
        (last.from_stage.as_deref(), last.to_stage.as_str()),
        (Some("demo_gepland"), "proposal")
    );

    // The only won stage cannot go.
    let last_won = change(StageChange::Remove {
        key: "won".into(),
        move_to: None,
    })
    .await;
    assert_eq!(refused_field(last_won), ("key", "stage.last"));

    // Every change was audited with the stage's key, nothing more.
    assert_eq!(
        audited(&db, &a, "crm.stage_removed").await,
        [Some("demo_gepland".to_string())]
    );
    assert_eq!(audited(&db, &a, "crm.stage_added").await.len(), 2);
    assert!(audited(&db, &b, "crm.stage_added").await.is_empty());
}

#[tokio::test]
async fn the_lead_sla_is_set_per_workspace_and_new_leads_are_due_by_it() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "admin").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let sla = SlaForm {
        target_minutes: "30",
        day_start: "08:00",
        day_end: "18:00",
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    db.save_lead_sla(&a, &sla, "req-s")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Saving twice updates the one row.
    db.save_lead_sla(&a, &sla, "req-s2")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let read = db.lead_sla(&a).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read, sla);
    // B keeps the defaults.
    let other = db.lead_sla(&b).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.target_minutes, 60);
    assert_eq!(audited(&db, &a, "crm.sla_changed").await.len(), 2);

    // A lead created now gets its first-response task due at the deadline
    // of the workspace's own target (bounded by the create's start and end).
    let before = chrono::Utc::now();
    let lead = metiva_db::crm::contacts::ContactForm {
        name: "Nieuwe Lead",
        source: Some("lead"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    db.create_contact(&a, &lead, "r1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let after = chrono::Utc::now();
    let due = db.my_tasks(&a).await.unwrap_or_else(|e| panic!("{e}"))[0]
        .due_at
        .unwrap_or_else(|| panic!("no due time"));
    let (lo, hi) = (
        metiva_db::crm::sla::deadline(before, &sla),
        metiva_db::crm::sla::deadline(after, &sla),
    );
    assert!(lo <= due && due <= hi, "{lo} <= {due} <= {hi}");
    assert_ne!(
        metiva_db::crm::sla::deadline(before, &other),
        lo,
        "the defaults would give another deadline"
    );
}

#[tokio::test]
async fn the_deal_list_filters_sorts_and_pages_inside_the_workspace() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let owner = a.user_id().to_string();
    let small = deal(&db, &a, "Banner", "500", "2027-03-02").await;
    let big = deal(&db, &a, "Campagne", "25.000", "2027-03-31").await;
    let april = deal(&db, &a, "Audit", "1.000", "2027-04-01").await;
    deal(&db, &b, "Other workspace", "99.000", "2027-03-15").await;
    db.move_deal(&a, big, 1, "won", Some("Signed"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let list = async |q: DealQuery<'_>| {
        let f = q.validate().unwrap_or_else(|e| panic!("{e:?}"));
        let (total, rows) = db.deal_list(&a, &f).await.unwrap_or_else(|e| panic!("{e}"));
        (total, rows.into_iter().map(|r| r.id).collect::<Vec<_>>())
    };
    // March, by value descending: the won deal is in the list too.
    let (total, ids) = list(DealQuery {
        month: Some("2027-03"),
        sort: Some("value"),
        ..Default::default()
    })
    .await;
    assert_eq!((total, ids), (2, vec![big, small]));
    // By close date ascending; April's deal comes last.
    let (_, ids) = list(DealQuery {
        sort: Some("close"),
        dir: Some("asc"),
        ..Default::default()
    })
    .await;
    assert_eq!(ids, [small, big, april]);
    // By stage; by owner (none of these has one).
    let (total, ids) = list(DealQuery {
        stage: Some("won"),
        ..Default::default()
    })
    .await;
    assert_eq!((total, ids), (1, vec![big]));
    let (total, _) = list(DealQuery {
        owner: Some(&owner),
        ..Default::default()
    })
    .await;
    assert_eq!(total, 0);
    // Past the last page: the count, no rows.
    let (total, ids) = list(DealQuery {
        page: Some("2"),
        ..Default::default()
    })
    .await;
    assert_eq!((total, ids.len()), (3, 0));
    assert_eq!(
        DealQuery {
            sort: Some("title"),
            ..Default::default()
        }
        .validate()
        .map(|f| (f.sort, f.descending)),
        Ok((DealSort::Title, false))
    );

    // The export carries the same filter and is audited with the count.
    let f = DealQuery {
        month: Some("2027-03"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    let rows = db
        .export_deals(&a, &f, "req-e")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.title != "Other workspace"));
    assert_eq!(
        audited(&db, &a, "crm.deals_exported").await,
        [Some("2".to_string())]
    );
}

#[tokio::test]
async fn deals_are_edited_at_their_version_and_deleted_with_an_audit_entry() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let id = deal(&db, &a, "Relaunch", "1000", "2027-03-10").await;
    let edit = |title: &'static str, owner: Option<&'static str>| {
        DealForm {
            title,
            value: Some("2.500,50"),
            expected_close: Some("2027-05-01"),
            owner,
            ..Default::default()
        }
        .validate()
        .unwrap_or_else(|e| panic!("{e:?}"))
    };
    let v2 = db
        .update_deal(&a, id, 1, &edit("Relaunch 2027", None))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(v2, 2);
    let stored = db
        .deal_edit(&a, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("gone"));
    assert_eq!(
        (stored.title.as_str(), stored.value_cents, stored.version),
        ("Relaunch 2027", 250_050, 2)
    );
    // A stale edit changes nothing; another workspace sees no deal; an
    // owner from another workspace is refused by name.
    assert!(matches!(
        db.update_deal(&a, id, 1, &edit("Lost update", None)).await,
        Err(CrmError::Stale)
    ));
    assert!(matches!(
        db.update_deal(&b, id, 2, &edit("Hijack", None)).await,
        Err(CrmError::NotFound)
    ));
    assert!(
        db.deal_edit(&b, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let b_user = b.user_id().to_string();
    let foreign_owner = DealForm {
        title: "x",
        owner: Some(&b_user),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    match db.update_deal(&a, id, 2, &foreign_owner).await {
        Err(CrmError::Invalid(f)) => assert_eq!((f[0].field, f[0].code), ("owner", "unknown")),
        other => panic!("expected the owner refused, got {other:?}"),
    }

    assert!(matches!(
        db.delete_deal(&a, id, 1, "req-d").await,
        Err(CrmError::Stale)
    ));
    assert!(matches!(
        db.delete_deal(&b, id, 2, "req-d").await,
        Err(CrmError::NotFound)
    ));
    db.delete_deal(&a, id, 2, "req-d")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        db.deal_edit(&a, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    assert_eq!(
        audited(&db, &a, "crm.deal_deleted").await,
        [Some(id.to_string())]
    );
}

#[tokio::test]
async fn a_board_column_shows_its_latest_cards_and_counts_them_all() {
    use metiva_db::crm::deals::CLOSED_COLUMN_LIMIT;
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let lost = usize::try_from(CLOSED_COLUMN_LIMIT).unwrap_or(25) + 3;
    let mut last = Uuid::nil();
    for n in 0..lost {
        last = deal(&db, &a, &format!("Deal {n}"), "100", "2027-01-01").await;
        db.move_deal(&a, last, 1, "lost", Some("No budget"))
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    deal(&db, &a, "Still open", "100", "2027-01-01").await;
    deal(&db, &b, "Other workspace", "100", "2027-01-01").await;
    let board = db.deal_board(&a).await.unwrap_or_else(|e| panic!("{e}"));
    let count = |k: &str| board.counts.iter().find(|(s, _)| s == k).map(|(_, n)| *n);
    assert_eq!(count("lost"), i64::try_from(lost).ok());
    assert_eq!(count("lead"), Some(1));
    let shown: Vec<_> = board.cards.iter().filter(|c| c.stage == "lost").collect();
    assert_eq!(
        shown.len(),
        usize::try_from(CLOSED_COLUMN_LIMIT).unwrap_or(25)
    );
    assert_eq!(shown[0].id, last, "the latest change comes first");
    assert!(board.cards.iter().all(|c| c.title != "Other workspace"));
}
