//! What bad input gets at the repository level: another tenant's id is
//! simply not found, and a unique clash is a conflict that names only the
//! constraint, never the other row.

use metiva_db::DbError;
use metiva_db::repo::persons::{self, PersonFields};
use metiva_testkit::TestDb;

use crate::fixtures::{A, B, cid, three_companies};

fn with_email(name: &str, email: &str) -> PersonFields {
    PersonFields {
        name: name.into(),
        email: Some(email.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn another_tenants_row_is_not_found_not_forbidden() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let b_person = db
        .tenant_read(&cid(B), async |tc| persons::list(tc, 1).await)
        .await
        .unwrap()
        .remove(0);
    let got = db
        .tenant_read(&cid(A), async |tc| persons::get(tc, b_person.id).await)
        .await;
    assert!(matches!(got, Err(DbError::NotFound)), "{got:?}");
    let got = db
        .tenant(&cid(A), async |tc| {
            persons::update(tc, b_person.id, &with_email("x", "x@x.example")).await
        })
        .await;
    assert!(matches!(got, Err(DbError::NotFound)), "{got:?}");
    let got = db
        .tenant(&cid(A), async |tc| persons::delete(tc, b_person.id).await)
        .await;
    assert!(matches!(got, Err(DbError::NotFound)), "{got:?}");
}

#[tokio::test]
async fn a_unique_clash_is_a_conflict_within_the_tenant_only() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    // The fixture gave Bravo lead@bravo.example. Alpha may use the same
    // address: uniqueness is per company, so it is no oracle for whether an
    // address exists in another tenant.
    db.tenant(&cid(A), async |tc| {
        persons::create(tc, &with_email("Same", "lead@bravo.example")).await
    })
    .await
    .unwrap();
    let clash = db
        .tenant(&cid(A), async |tc| {
            persons::create(tc, &with_email("Again", "LEAD@bravo.example")).await
        })
        .await;
    match clash {
        Err(DbError::Conflict { constraint }) => assert_eq!(constraint, "persons_email_key"),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn check_constraints_are_rejections_not_internal_errors() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let got = db
        .tenant(&cid(A), async |tc| {
            persons::create(
                tc,
                &PersonFields {
                    name: String::new(),
                    ..Default::default()
                },
            )
            .await
        })
        .await;
    assert!(matches!(got, Err(DbError::Rejected(_))), "{got:?}");
}
