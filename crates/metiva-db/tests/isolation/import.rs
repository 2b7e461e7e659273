//! The CSV import: a staged file is its uploader's alone (404 for another
//! workspace and another member), expires, and is written all or nothing
//! in one transaction; contacts link to organisations by name.

use metiva_db::crm::import::{ImportError, ImportKind};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, exec, member_ctx, three_companies};

/// The names of workspace `ctx`'s contacts, sorted.
async fn contact_names(db: &metiva_db::Database, ctx: &metiva_db::TenantCtx) -> Vec<String> {
    let mut names: Vec<String> = db
        .person_list(ctx, None, metiva_db::visitors::PERSON_PAGE_MAX)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|p| p.name)
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_staged_import_is_its_uploaders_and_is_written_all_or_nothing() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let colleague = member_ctx(&tdb, &db, A, 3, "admin").await;
    let viewer = member_ctx(&tdb, &db, A, 4, "viewer").await;
    let b = member_ctx(&tdb, &db, B, 2, "owner").await;
    let before = contact_names(&db, &a).await;

    // A role without crm.import may not stage a file.
    let denied = db
        .stage_import(&viewer, ImportKind::Contacts, "naam\nX\n")
        .await;
    assert!(matches!(denied, Err(ImportError::Forbidden)), "{denied:?}");

    // An existing organisation, linked by name regardless of case.
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO organisations (company_id, name) VALUES ('{A}', 'Bloemenhuis Jansen');
             COMMIT;"
        ),
    )
    .await;
    let bad = "naam;e-mail;telefoon;organisatie\r\n\
               Anouk Jansen;anouk@bloemenhuis.example;06 1234 5678;bloemenhuis jansen\r\n\
               Bram Visser;bram@example;;Nieuw BV\r\n\
               Carla de Wit;;+31 20 123 4567;nieuw bv\r\n";
    let id = db
        .stage_import(&a, ImportKind::Contacts, bad)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    // Another workspace and another member of this one: simply not there.
    for other in [&b, &colleague] {
        let r = db.import_preview(other, id, None).await;
        assert!(matches!(r, Err(ImportError::NotFound)), "{r:?}");
        let r = db
            .confirm_import(other, id, "name,email,phone,organisation", "req-x")
            .await;
        assert!(matches!(r, Err(ImportError::NotFound)), "{r:?}");
    }

    // The preview names line 3's email, and shows the others as stored.
    let p = db
        .import_preview(&a, id, None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(p.lines, 3);
    assert_eq!(
        p.errors
            .iter()
            .map(|e| (e.line, e.field, e.code))
            .collect::<Vec<_>>(),
        [(3, "email", "email.format")]
    );
    assert_eq!(p.new_organisations, 1, "Nieuw BV, once");
    assert_eq!(p.sample[0].values[2], "+31612345678");

    // Confirming writes nothing while a line fails.
    let r = db
        .confirm_import(&a, id, "name,email,phone,organisation", "req-1")
        .await;
    match r {
        Err(ImportError::Lines(lines)) => assert_eq!(lines[0].line, 3),
        other => panic!("expected the failing line, got {other:?}"),
    }
    assert_eq!(
        contact_names(&db, &a).await,
        before,
        "something was written"
    );

    // Without the email column every line passes: all are written, in one
    // go, linked to the existing and the one new organisation.
    let done = db
        .confirm_import(&a, id, "name,,phone,organisation", "req-2")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((done.contacts, done.organisations), (3, 1));
    let people = db
        .person_list(&a, None, metiva_db::visitors::PERSON_PAGE_MAX)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let org_of = |n: &str| {
        people
            .iter()
            .find(|p| p.name == n)
            .and_then(|p| p.organisation.clone())
    };
    assert_eq!(
        org_of("Anouk Jansen").as_deref(),
        Some("Bloemenhuis Jansen")
    );
    assert_eq!(org_of("Bram Visser").as_deref(), Some("Nieuw BV"));
    assert_eq!(org_of("Carla de Wit").as_deref(), Some("Nieuw BV"));
    let orgs = db
        .organisation_list(&a)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(orgs.len(), 2);
    // The staged file is gone with the confirmation: a second confirm
    // finds nothing to write.
    let again = db
        .confirm_import(&a, id, "name,,phone,organisation", "req-3")
        .await;
    assert!(matches!(again, Err(ImportError::NotFound)), "{again:?}");
    // Workspace B saw none of it.
    assert!(
        !contact_names(&db, &b)
            .await
            .contains(&"Anouk Jansen".to_string())
    );

    // Organisations: a name or domain the workspace already has is named
    // on its line.
    let id = db
        .stage_import(
            &a,
            ImportKind::Organisations,
            "Bedrijfsnaam,Website\nNIEUW BV,nieuw.example\nFris BV,fris.example\n",
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let p = db
        .import_preview(&a, id, None)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        p.errors
            .iter()
            .map(|e| (e.line, e.code))
            .collect::<Vec<_>>(),
        [(2, "name.taken")]
    );

    // A staged file expires: an hour on, it is not found.
    exec(
        &mut tdb.connect_as("metiva_owner").await,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             UPDATE crm_imports SET expires_at = now() - interval '1 second';
             COMMIT;"
        ),
    )
    .await;
    let r = db.import_preview(&a, id, None).await;
    assert!(matches!(r, Err(ImportError::NotFound)), "{r:?}");
}

#[tokio::test]
async fn a_new_upload_replaces_the_members_previous_one() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let a = member_ctx(&tdb, &db, A, 1, "sales").await;
    let first = db
        .stage_import(&a, ImportKind::Contacts, "name\nEen\n")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let second = db
        .stage_import(&a, ImportKind::Contacts, "name\nTwee\n")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let r = db.import_preview(&a, first, None).await;
    assert!(matches!(r, Err(ImportError::NotFound)), "{r:?}");
    assert!(db.import_preview(&a, second, None).await.is_ok());
    // A mapping that does not fit the file is refused as a whole.
    let r = db.confirm_import(&a, second, "name,email", "req").await;
    match r {
        Err(ImportError::Invalid(f)) => assert_eq!(f[0].code, "mapping.format"),
        other => panic!("{other:?}"),
    }
    let r = db.confirm_import(&a, second, "", "req").await;
    match r {
        Err(ImportError::Invalid(f)) => assert_eq!(f[0].code, "mapping.name"),
        other => panic!("{other:?}"),
    }
    // Removing the member removes their staged file with the membership.
    let owner = member_ctx(&tdb, &db, A, 5, "owner").await;
    db.member_action(
        &owner,
        a.user_id(),
        metiva_db::members::MemberAction::Remove,
        "req-remove",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut conn = tdb.connect_as("metiva_owner").await;
    let left = crate::fixtures::try_exec(
        &mut conn,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             DO $$ BEGIN IF EXISTS (SELECT 1 FROM crm_imports) THEN RAISE 'still staged'; END IF; END $$;
             COMMIT;"
        ),
    )
    .await;
    assert!(
        left.is_ok(),
        "the staged file outlived the membership: {left:?}"
    );
}
