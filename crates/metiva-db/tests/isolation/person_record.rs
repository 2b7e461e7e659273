//! The person page's record in one statement (issue 15): the person row
//! with its visitors, deals, tasks, notes, members and conversion uploads
//! folded in as arrays. Workspace B holds a person with the very same id
//! as A's, with its own chain, work and members: A's record holds none of
//! B's rows (and B's none of A's), an id only B has is not found in A,
//! and each list equals, in content and order, what the separate reads
//! that the statement replaced return.

use metiva_db::conversions::UploadsOf;
use metiva_db::crm::tasks::Link;
use metiva_db::repo::deals;
use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, cid, exec, member_ctx, three_companies};

/// The id both workspaces use for their person.
const SHARED: Uuid = Uuid::from_u128(0x9e50_0000_0000_4000_8000_0000_0000_0001);
/// A person only B has.
const ONLY_B: Uuid = Uuid::from_u128(0x9e50_0000_0000_4000_8000_0000_0000_0002);

/// Row ids per workspace: `n` numbers the row, `w` the workspace (1 A, 2 B).
fn rid(w: u128, n: u128) -> Uuid {
    Uuid::from_u128(0x9e50_0000_0000_4000_8000_0000_0000_0000 | (w << 16) | n)
}

/// A person `SHARED` in `company` (workspace number `w`) with two
/// visitors (one with page views and a pending forward), two deals, three
/// tasks (one done), two notes and two conversion uploads.
async fn record_in(tdb: &TestDb, company: &str, w: u128) {
    let ip = "'k1', decode('000000000000000000000000', 'hex'), decode(repeat('ab', 24), 'hex')";
    let (site, v1, v2, d1, d2) = (rid(w, 1), rid(w, 2), rid(w, 3), rid(w, 4), rid(w, 5));
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{company}', true);
             INSERT INTO sites (company_id, id, domain, site_key)
                 VALUES ('{company}', '{site}', 'w{w}.example', 'pk_personrecord{w}');
             INSERT INTO persons (company_id, id, name, email)
                 VALUES ('{company}', '{SHARED}', 'Gedeeld {w}', 'gedeeld@w{w}.example');
             INSERT INTO visitors (company_id, id, site_id, visitor_key, analytics, identification, marketing,
                                   person_id, first_seen, last_seen)
                 VALUES ('{company}', '{v1}', '{site}', gen_random_uuid(), true, true, true, '{SHARED}',
                         now() - interval '3 days', now() - interval '2 days'),
                        ('{company}', '{v2}', '{site}', gen_random_uuid(), true, true, false, '{SHARED}',
                         now() - interval '3 days', now() - interval '1 day');
             INSERT INTO page_views (company_id, id, site_id, visitor_id, path, ip_key_id, ip_nonce, ip_ciphertext)
                 VALUES ('{company}', gen_random_uuid(), '{site}', '{v1}', '/a', {ip}),
                        ('{company}', gen_random_uuid(), '{site}', '{v1}', '/b', {ip});
             INSERT INTO forwards (company_id, visitor_id, person_id, event)
                 VALUES ('{company}', '{v1}', '{SHARED}', 'lead');
             INSERT INTO deals (company_id, id, title, value_cents, stage, person_id, created_at)
                 VALUES ('{company}', '{d1}', 'Deal een {w}', 100, 'won', '{SHARED}', now() - interval '2 days'),
                        ('{company}', '{d2}', 'Deal twee {w}', 200, 'lead', '{SHARED}', now() - interval '1 day');
             INSERT INTO tasks (company_id, title, person_id, due_at, done_at)
                 VALUES ('{company}', 'Klaar {w}', '{SHARED}', now() - interval '5 days', now()),
                        ('{company}', 'Later {w}', '{SHARED}', now() + interval '2 days', NULL),
                        ('{company}', 'Eerst {w}', '{SHARED}', now() + interval '1 day', NULL);
             INSERT INTO notes (company_id, body, person_id, at)
                 VALUES ('{company}', 'Oud {w}', '{SHARED}', now() - interval '2 days'),
                        ('{company}', 'Nieuw {w}', '{SHARED}', now() - interval '1 day');
             INSERT INTO conversion_uploads (company_id, deal_id, person_id, platform, idempotency_key,
                                             value_cents, currency)
                 VALUES ('{company}', '{d1}', '{SHARED}', 'meta', 'k-{w}-m', 100, 'EUR'),
                        ('{company}', '{d1}', '{SHARED}', 'google_ads', 'k-{w}-g', 100, 'EUR');
             COMMIT;"
        ),
    )
    .await;
}

#[tokio::test]
async fn the_folded_record_holds_only_its_own_workspaces_rows_in_the_reads_order() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    record_in(&tdb, A, 1).await;
    record_in(&tdb, B, 2).await;
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{B}', true);
             INSERT INTO persons (company_id, id, name) VALUES ('{B}', '{ONLY_B}', 'Alleen B');
             COMMIT;"
        ),
    )
    .await;
    let db = tdb.database();
    // Writers: their record holds the whole member list (a reader's holds
    // only the shown notes' authors, see person_record_reader.rs).
    let a = member_ctx(&tdb, &db, A, 1, "owner").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;

    for (ctx, company, w) in [(&a, A, 1), (&b, B, 2)] {
        let r = db
            .person_record(ctx, SHARED)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("{company}'s person not found"));
        assert_eq!(r.person.company_id, company);
        assert_eq!(r.person.name, format!("Gedeeld {w}"));

        // Visitors: most recently seen first, with their own counts.
        let visitors: Vec<_> = r
            .visitors
            .iter()
            .map(|v| {
                (
                    v.id,
                    v.domain.as_str(),
                    v.views,
                    v.marketing,
                    v.pending_forwards,
                )
            })
            .collect();
        let domain = format!("w{w}.example");
        assert_eq!(
            visitors,
            [
                (rid(w, 3), domain.as_str(), 0, false, 0),
                (rid(w, 2), domain.as_str(), 2, true, 1),
            ],
            "{company}"
        );

        // Deals, tasks, notes, members, uploads: exactly what the separate
        // reads return, so the same rows in the same order.
        let deals = db
            .tenant_read(&cid(company), async |tc| {
                deals::list_for_person(tc, SHARED).await
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.deals, deals, "{company}");
        assert_eq!(
            r.deals.iter().map(|d| d.id).collect::<Vec<_>>(),
            [rid(w, 5), rid(w, 4)],
            "{company}"
        );
        assert!(r.deals.iter().all(|d| d.company_id == company));

        let (tasks, notes, members) = db
            .tasks_and_notes(ctx, Link::Person(SHARED))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.tasks, tasks, "{company}");
        assert_eq!(
            r.tasks.iter().map(|t| t.title.as_str()).collect::<Vec<_>>(),
            [
                format!("Eerst {w}"),
                format!("Later {w}"),
                format!("Klaar {w}")
            ],
            "{company}"
        );
        assert_eq!(r.notes, notes, "{company}");
        assert_eq!(
            r.notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
            [format!("Nieuw {w}"), format!("Oud {w}")],
            "{company}"
        );
        assert_eq!(r.members, members, "{company}");
        assert_eq!(
            r.members.iter().map(|m| m.1.as_str()).collect::<Vec<_>>(),
            [format!("User {w}")],
            "{company}: only its own members"
        );

        let uploads = db
            .conversion_uploads(ctx, UploadsOf::Person(SHARED))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.uploads, uploads, "{company}");
        assert_eq!(
            r.uploads
                .iter()
                .map(|u| (u.deal_id, u.platform.as_str()))
                .collect::<Vec<_>>(),
            [(rid(w, 4), "google_ads"), (rid(w, 4), "meta")],
            "{company}"
        );
    }

    // B's own person is simply not found in A; in B it is, with empty lists.
    assert!(
        db.person_record(&a, ONLY_B)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none(),
        "B's person must not be found in A"
    );
    let only_b = db
        .person_record(&b, ONLY_B)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("B's own person not found"));
    assert!(only_b.visitors.is_empty() && only_b.deals.is_empty());
    assert!(only_b.tasks.is_empty() && only_b.notes.is_empty() && only_b.uploads.is_empty());
    assert_eq!(only_b.members.len(), 1);
}
