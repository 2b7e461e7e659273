//! The database's list of roles is the registry's list: one source of truth.

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use metiva_roles::Role;
use metiva_testkit::TestDb;

#[derive(QueryableByName)]
struct Def {
    #[diesel(sql_type = Text)]
    def: String,
}

#[tokio::test]
async fn the_memberships_role_check_lists_exactly_the_registry() {
    let tdb = TestDb::new().await;
    let mut conn = tdb.connect_as("metiva_app").await;
    let defs: Vec<Def> = diesel::sql_query(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint
         WHERE conrelid = 'memberships'::regclass AND contype = 'c'
           AND pg_get_constraintdef(oid) LIKE '%role%'",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(defs.len(), 1);
    let def = &defs[0].def;
    let mut in_db: Vec<&str> = def.split('\'').skip(1).step_by(2).collect();
    let mut registry: Vec<&str> = Role::ALL.iter().map(|r| r.key()).collect();
    in_db.sort_unstable();
    registry.sort_unstable();
    assert_eq!(in_db, registry, "{def}");
}
