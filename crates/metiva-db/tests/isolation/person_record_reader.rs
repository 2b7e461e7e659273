//! The person record for a caller who may not write (issue 15): its
//! statement reads no member list, only each shown note's author name,
//! and only while that author is an active member of this workspace. A
//! writer's record still holds every active member (the task form's
//! assignee choice). Both records are otherwise the same, and neither
//! names a user through another workspace's membership or notes.

use metiva_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::{A, B, exec, member_ctx, three_companies};

/// The id both workspaces use for their person.
const SHARED: Uuid = Uuid::from_u128(0x9e51_0000_0000_4000_8000_0000_0000_0001);

/// The user `member_ctx` creates for `n`.
fn user(n: u128) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | (n << 8))
}

async fn owner_sql(tdb: &TestDb, company: &str, sql: &str) {
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true); {sql} COMMIT;"),
    )
    .await;
}

#[tokio::test]
async fn a_readers_record_names_only_the_shown_notes_active_authors() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    // A: a writer (1), two note authors (2 active, 3 suspended below), a
    // member who wrote nothing (4) and the reader (6).
    let writer = member_ctx(&tdb, &db, A, 1, "owner").await;
    for (n, role) in [(2, "member"), (3, "member"), (4, "sales")] {
        member_ctx(&tdb, &db, A, n, role).await;
    }
    let reader = member_ctx(&tdb, &db, A, 6, "viewer").await;
    // B: user 2 is a member there too, and B's own author (5) writes on
    // B's person with the same id.
    member_ctx(&tdb, &db, B, 2, "member").await;
    member_ctx(&tdb, &db, B, 5, "member").await;
    let (u2, u3, u5) = (user(2), user(3), user(5));
    owner_sql(
        &tdb,
        A,
        &format!(
            "INSERT INTO persons (company_id, id, name) VALUES ('{A}', '{SHARED}', 'Gedeeld');
             INSERT INTO notes (company_id, body, person_id, author_user_id, at)
                 VALUES ('{A}', 'Van 2', '{SHARED}', '{u2}', now() - interval '3 days'),
                        ('{A}', 'Van 3', '{SHARED}', '{u3}', now() - interval '2 days'),
                        ('{A}', 'Weer van 2', '{SHARED}', '{u2}', now() - interval '1 day'),
                        ('{A}', 'Zonder auteur', '{SHARED}', NULL, now());
             UPDATE memberships SET status = 'suspended' WHERE user_id = '{u3}';"
        ),
    )
    .await;
    owner_sql(
        &tdb,
        B,
        &format!(
            "INSERT INTO persons (company_id, id, name) VALUES ('{B}', '{SHARED}', 'Gedeeld B');
             INSERT INTO notes (company_id, body, person_id, author_user_id)
                 VALUES ('{B}', 'Van 5', '{SHARED}', '{u5}');"
        ),
    )
    .await;

    let read = db
        .person_record(&reader, SHARED)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the reader's record"));
    let full = db
        .person_record(&writer, SHARED)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the writer's record"));

    // The same record apart from the member list.
    assert_eq!(read.person, full.person);
    assert_eq!(read.notes, full.notes);
    assert_eq!(
        read.notes
            .iter()
            .map(|n| n.body.as_str())
            .collect::<Vec<_>>(),
        ["Zonder auteur", "Weer van 2", "Van 3", "Van 2"]
    );
    assert_eq!((read.tasks.len(), read.visitors.len()), (0, 0));

    // The reader: the shown notes' active author, once; not the suspended
    // author, not members who wrote nothing, nothing from B.
    assert_eq!(read.members, vec![(u2, "User 2".to_string())]);
    // The writer: every active member of A by name (the assignee choice),
    // still not the suspended one and nothing from B.
    assert_eq!(
        full.members,
        [1, 2, 4, 6]
            .into_iter()
            .map(|n| (user(n), format!("User {n}")))
            .collect::<Vec<_>>()
    );

    // A reader in B sees B's author only.
    let b_reader = member_ctx(&tdb, &db, B, 7, "viewer").await;
    let b = db
        .person_record(&b_reader, SHARED)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("B's record"));
    assert_eq!(b.members, vec![(u5, "User 5".to_string())]);
    assert_eq!(
        b.notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(),
        ["Van 5"]
    );
}
