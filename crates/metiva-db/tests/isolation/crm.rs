//! The CRM writes: validation before SQL, 404 across workspaces, 409 on a
//! stale version (no lost update), references that must stay inside the
//! workspace, and audited deletes.

use metiva_db::crm::CrmError;
use metiva_db::crm::contacts::ContactForm;
use metiva_db::crm::organisations::OrganisationForm;
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, member_ctx, three_companies};

fn org(name: &str) -> metiva_db::crm::organisations::OrganisationFields {
    OrganisationForm {
        name,
        domain: Some("https://www.bloemenhuis.example/"),
        kvk: Some("6912 3456"),
        vat: Some("NL823456789B01"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"))
}

#[tokio::test]
async fn organisations_round_trip_and_stale_edits_are_refused() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;

    let id = db
        .create_organisation(&a, &org("Bloemenhuis"), "req-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (stored, _) = db
        .organisation_record(&a, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("created organisation not found"));
    assert_eq!(stored.domain.as_deref(), Some("bloemenhuis.example"));
    assert_eq!(stored.kvk.as_deref(), Some("69123456"));
    assert_eq!(stored.version, 1);

    // Another workspace: the same id is simply not there, for reads and
    // every write.
    assert!(
        db.organisation_record(&b, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
    let foreign = db.update_organisation(&b, id, 1, &org("Hijacked")).await;
    assert!(matches!(foreign, Err(CrmError::NotFound)), "{foreign:?}");
    let foreign = db.delete_organisation(&b, id, 1, "req-x").await;
    assert!(matches!(foreign, Err(CrmError::NotFound)), "{foreign:?}");

    // Two people edit version 1: the first wins, the second gets Stale and
    // changes nothing.
    let v2 = db
        .update_organisation(&a, id, 1, &org("Bloemenhuis BV"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(v2, 2);
    let lost = db.update_organisation(&a, id, 1, &org("Stale write")).await;
    assert!(matches!(lost, Err(CrmError::Stale)), "{lost:?}");
    let (now, _) = db
        .organisation_record(&a, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("missing"));
    assert_eq!((now.name.as_str(), now.version), ("Bloemenhuis BV", 2));

    // The same domain twice in one workspace is the domain field's error;
    // in another workspace it is fine.
    let twice = db.create_organisation(&a, &org("Copy"), "req-2").await;
    match twice {
        Err(CrmError::Invalid(f)) => {
            assert_eq!((f[0].field, f[0].code), ("domain", "domain.taken"))
        }
        other => panic!("expected a domain clash, got {other:?}"),
    }
    db.create_organisation(&b, &org("Elsewhere"), "req-3")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    // Delete at a stale version: refused; at the current one: gone, and
    // audited with ids only.
    let stale = db.delete_organisation(&a, id, 1, "req-4").await;
    assert!(matches!(stale, Err(CrmError::Stale)), "{stale:?}");
    db.delete_organisation(&a, id, 2, "req-5")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let audit = db
        .in_tenant_read(&a, async |tc| {
            metiva_db::repo::audit::search(
                tc,
                &metiva_db::repo::audit::AuditFilter {
                    action: Some("crm.organisation_deleted"),
                    actor: None,
                    before: None,
                    limit: 10,
                },
            )
            .await
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].target_id.as_deref(), Some(id.to_string().as_str()));
}

#[tokio::test]
async fn contacts_validate_first_and_keep_references_inside_the_workspace() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let b_org = db
        .create_organisation(&b, &org("Bravo's client"), "req-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    // Every bad field is named at once, and nothing is stored.
    let bad = ContactForm {
        name: " ",
        email: Some("not an email"),
        phone: Some("12345"),
        notes: Some(&"n".repeat(10_001)),
        ..Default::default()
    }
    .validate()
    .err()
    .unwrap_or_default();
    let named: Vec<&str> = bad.iter().map(|f| f.field).collect();
    assert_eq!(named, ["name", "email", "phone", "notes"]);

    // Another workspace's organisation or member is "unknown", not linked.
    let b_org_text = b_org.to_string();
    let foreign_org = ContactForm {
        name: "Anouk",
        organisation: Some(&b_org_text),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    match db.create_contact(&a, &foreign_org, "req-2").await {
        Err(CrmError::Invalid(f)) => {
            assert_eq!((f[0].field, f[0].code), ("organisation", "unknown"))
        }
        other => panic!("expected an unknown organisation, got {other:?}"),
    }
    let b_user = b.user_id().to_string();
    let foreign_owner = ContactForm {
        name: "Anouk",
        owner: Some(&b_user),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    match db.create_contact(&a, &foreign_owner, "req-3").await {
        Err(CrmError::Invalid(f)) => assert_eq!((f[0].field, f[0].code), ("owner", "unknown")),
        other => panic!("expected an unknown owner, got {other:?}"),
    }

    // A good one: phone normalised, linked to its own organisation.
    let a_org = db
        .create_organisation(&a, &org("Bloemenhuis"), "req-4")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"))
        .to_string();
    let me = a.user_id().to_string();
    let good = ContactForm {
        name: "Anouk de Vries",
        email: Some("Anouk@Bloemenhuis.example"),
        phone: Some("06 1234 5678"),
        organisation: Some(&a_org),
        owner: Some(&me),
        source: Some("lead"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    let id = db
        .create_contact(&a, &good, "req-5")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let c = db
        .contact(&a, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("missing"));
    assert_eq!(c.phone.as_deref(), Some("+31612345678"));
    assert_eq!(c.email.as_deref(), Some("anouk@bloemenhuis.example"));
    assert_eq!(c.source, "lead");
    assert!(
        db.contact(&b, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );

    // The same email twice is the email field's error.
    match db.create_contact(&a, &good, "req-6").await {
        Err(CrmError::Invalid(f)) => assert_eq!((f[0].field, f[0].code), ("email", "email.taken")),
        other => panic!("expected an email clash, got {other:?}"),
    }

    // Stale edit, then delete.
    db.update_contact(&a, id, 1, &good)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.update_contact(&a, id, 1, &good).await,
        Err(CrmError::Stale)
    ));
    assert!(matches!(
        db.delete_contact(&b, id, 2, "req-7").await,
        Err(CrmError::NotFound)
    ));
    db.delete_contact(&a, id, 2, "req-8")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(
        db.contact(&a, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
}

#[tokio::test]
async fn deals_move_through_the_workspace_pipeline_with_reasons_and_history() {
    use metiva_db::crm::deals::DealForm;
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;

    // Every workspace starts with the default pipeline.
    let stages = db
        .deal_board(&a)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .stages;
    let keys: Vec<&str> = stages.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "lead",
            "qualified",
            "proposal",
            "negotiation",
            "won",
            "lost"
        ]
    );

    let form = DealForm {
        title: "Website relaunch",
        value: Some("12.500,00"),
        expected_close: Some("2027-03-31"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(form.value_cents, 1_250_000);
    let id = db
        .create_deal(&a, &form, "req-1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    // Won without a reason is refused; an unknown stage too.
    match db.move_deal(&a, id, 1, "won", Some("  ")).await {
        Err(CrmError::Invalid(f)) => {
            assert_eq!((f[0].field, f[0].code), ("reason", "reason.required"))
        }
        other => panic!("expected a missing reason, got {other:?}"),
    }
    match db.move_deal(&a, id, 1, "vanished", None).await {
        Err(CrmError::Invalid(f)) => assert_eq!(f[0].field, "stage"),
        other => panic!("expected an unknown stage, got {other:?}"),
    }
    // Another workspace cannot see or move it.
    assert!(matches!(
        db.move_deal(&b, id, 1, "qualified", None).await,
        Err(CrmError::NotFound)
    ));

    let v2 = db
        .move_deal(&a, id, 1, "proposal", None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.move_deal(&a, id, 1, "lost", Some("price")).await,
        Err(CrmError::Stale)
    ));
    let v3 = db
        .move_deal(&a, id, v2, "won", Some("Signed after the pitch"))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (version, _, hist) = db
        .deal_history(&a, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("missing"));
    assert_eq!(version, v3);
    let moves: Vec<(Option<&str>, &str)> = hist
        .iter()
        .map(|h| (h.from_stage.as_deref(), h.to_stage.as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            (None, "lead"),
            (Some("lead"), "proposal"),
            (Some("proposal"), "won")
        ]
    );
    assert_eq!(hist[2].reason.as_deref(), Some("Signed after the pitch"));
    assert!(
        db.deal_history(&b, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );
}

#[tokio::test]
async fn search_stays_in_the_workspace_and_uses_the_terms_index() {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    use metiva_db::crm::search::HitKind;

    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    db.create_organisation(&a, &org("Bloemenhuis Jansen"), "r1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    db.create_organisation(&b, &org("Bloemenhuis Bravo"), "r2")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    let hits = db
        .search(&a, "bloemen")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<&str> = hits.iter().map(|h| h.label.as_str()).collect();
    assert_eq!(labels, ["Bloemenhuis Jansen"], "{hits:?}");
    assert_eq!(hits[0].kind, HitKind::Organisation);
    // Wildcards are literal; too short searches nothing.
    assert!(
        db.search(&a, "%%")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    assert!(
        db.search(&a, "b")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    // Emails match too, and only this workspace's ("lead@alpha.example"
    // is A's own seeded person; B's is lead@bravo.example).
    let hits = db
        .search(&a, "lead@")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].detail, "lead@alpha.example");

    // The plan reads the company-leading terms index, under RLS, as the
    // runtime role, once the workspace holds a realistic number of rows
    // (and statistics say so).
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO organisations (company_id, name, domain)
               SELECT '{A}', 'Klant ' || g, 'klant' || g || '.example' FROM generate_series(1, 5000) g;
             COMMIT; ANALYZE search_terms;"
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        db.search(&a, "klant4999")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        1
    );
    // A word too common to read whole ("klant", in 5,000 names) does not
    // cut the hit the other word finds.
    let hits = db
        .search(&a, "klant 4999")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].label, "Klant 4999");
    #[derive(QueryableByName)]
    struct Plan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let mut app = tdb.connect_as("metiva_app").await;
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{A}', true)"
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let plan: Vec<Plan> = diesel::sql_query(format!(
        "EXPLAIN SELECT kind, record_id FROM search_terms
         WHERE company_id = '{A}' AND term >= 'bloem' AND term < 'bloen' LIMIT 2000"
    ))
    .load(&mut app)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let text: Vec<String> = plan.into_iter().map(|p| p.line).collect();
    assert!(
        text.iter()
            .any(|l| l.contains("Index") && l.contains("search_terms_pkey")),
        "{text:#?}"
    );
}

#[tokio::test]
async fn a_new_lead_gets_a_first_response_task_and_records_take_tasks_and_notes() {
    use metiva_db::crm::tasks::{Link, TaskForm};
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;

    let lead = ContactForm {
        name: "Nieuwe Lead",
        source: Some("lead"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    let id = db
        .create_contact(&a, &lead, "r1")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mine = db.my_tasks(&a).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0].purpose, "first_response");
    assert_eq!(mine[0].person_id, Some(id));
    assert!(mine[0].due_at.is_some_and(|d| d > chrono::Utc::now()));

    // A task and a note on the contact; another workspace can add neither.
    let task = TaskForm {
        title: "Bel terug",
        due: Some("2027-01-15T14:30"),
        ..Default::default()
    }
    .validate()
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        task.due_at.map(|d| d.to_rfc3339()),
        Some("2027-01-15T13:30:00+00:00".to_string()),
        "Amsterdam winter time is UTC+1"
    );
    db.add_task(&a, Link::Person(id), &task)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.add_task(&b, Link::Person(id), &task).await,
        Err(CrmError::NotFound)
    ));
    db.add_note(&a, Link::Person(id), "Wil een offerte voor maart.")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.add_note(&b, Link::Person(id), "x").await,
        Err(CrmError::NotFound)
    ));
    let long = "n".repeat(10_001);
    assert!(matches!(
        db.add_note(&a, Link::Person(id), &long).await,
        Err(CrmError::Invalid(_))
    ));
    let (tasks, notes, _members) = db
        .tasks_and_notes(&a, Link::Person(id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((tasks.len(), notes.len()), (2, 1));

    // Done once; a second click at the old version is stale.
    let first = &mine[0];
    db.complete_task(&a, first.id, first.version)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(matches!(
        db.complete_task(&a, first.id, first.version).await,
        Err(CrmError::Stale)
    ));
    assert!(
        db.my_tasks(&a)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}
