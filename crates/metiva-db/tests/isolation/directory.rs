//! The one role that bypasses RLS, `metiva_directory`, is contained: nobody
//! logs in as it, no runtime role can become it, and each of its narrow
//! definer functions is executable only by the role that needs it. The
//! login role cannot read tenant rows without a tenant context, and the
//! app role cannot read a password hash.

use diesel::QueryableByName;
use diesel::sql_types::Bool;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use metiva_testkit::TestDb;

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    ok: bool,
}

async fn flag(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> bool {
    diesel::sql_query(sql)
        .get_result::<Flag>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .ok
}

#[tokio::test]
async fn the_directory_role_is_contained() {
    let tdb = TestDb::new().await;
    let mut su = tdb.connect_as("postgres").await;
    assert!(
        flag(
            &mut su,
            "SELECT (NOT rolcanlogin AND rolbypassrls AND NOT rolsuper) AS ok FROM pg_roles WHERE rolname = 'metiva_directory'"
        )
        .await
    );
    for role in ["metiva_app", "metiva_login"] {
        let sql = format!("SELECT NOT pg_has_role('{role}', 'metiva_directory', 'MEMBER') AS ok");
        assert!(
            flag(&mut su, &sql).await,
            "{role} can become metiva_directory"
        );
    }
    // Who may execute which directory function.
    let cases = [
        ("metiva_login_workspaces(uuid)", "metiva_login", true),
        ("metiva_login_workspaces(uuid)", "metiva_app", false),
        ("metiva_invite_user(text, text)", "metiva_app", true),
        ("metiva_invite_user(text, text)", "metiva_login", false),
        ("metiva_session_workspaces(uuid)", "metiva_app", true),
        ("metiva_session_workspaces(uuid)", "metiva_login", false),
    ];
    for (func, role, allowed) in cases {
        let sql = format!(
            "SELECT (has_function_privilege('{role}', '{func}', 'EXECUTE') = {allowed}) AS ok"
        );
        assert!(flag(&mut su, &sql).await, "{role} on {func}");
    }
    // No definer function is owned by anyone but the directory role, with
    // one named exception: the audit retention cut (migration 000050),
    // owned by the migration owner, which does not bypass RLS (the tables
    // force it), so the cut stays inside the bound company's rows; only
    // the app role may call it.
    assert!(
        flag(
            &mut su,
            "SELECT NOT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
               JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE p.prosecdef AND n.nspname = 'public' AND r.rolname <> 'metiva_directory'
                 AND NOT (p.proname = 'metiva_audit_cut' AND r.rolname = 'metiva_owner')) AS ok"
        )
        .await
    );
    assert!(
        flag(
            &mut su,
            "SELECT (NOT rolbypassrls AND NOT rolsuper) AS ok FROM pg_roles WHERE rolname = 'metiva_owner'"
        )
        .await,
        "the audit cut's owner must not bypass RLS"
    );
    for (role, allowed) in [("metiva_app", true), ("metiva_login", false)] {
        let sql = format!(
            "SELECT bool_and(has_function_privilege('{role}', p.oid, 'EXECUTE') = {allowed}) AS ok
               FROM pg_proc p WHERE p.proname = 'metiva_audit_cut'"
        );
        assert!(flag(&mut su, &sql).await, "{role} on metiva_audit_cut");
    }
}

#[tokio::test]
async fn the_login_role_sees_no_tenant_rows_and_the_app_role_no_hashes() {
    let tdb = TestDb::new().await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    owner
        .batch_execute(
            "BEGIN; SELECT set_config('app.company_id', 'cmp_aaaaaa', true);
             INSERT INTO companies (id, name) VALUES ('cmp_aaaaaa', 'A');
             INSERT INTO users (email, name, password_hash) VALUES ('a@a.example', 'A', '$2b$04$x');
             INSERT INTO memberships (company_id, user_id, role) SELECT 'cmp_aaaaaa', id, 'owner' FROM users;
             COMMIT;",
        )
        .await
        .unwrap();
    let mut login = tdb.connect_as("metiva_login").await;
    // Without a tenant context: no memberships, no companies.
    assert!(
        flag(
            &mut login,
            "SELECT ((SELECT count(*) FROM memberships) = 0 AND (SELECT count(*) FROM companies) = 0) AS ok"
        )
        .await
    );
    // It may read credentials (that is its job).
    assert!(
        flag(
            &mut login,
            "SELECT (count(password_hash) = 1) AS ok FROM users"
        )
        .await
    );
    // The app role may not, even inside its tenant.
    let mut app = tdb.connect_as("metiva_app").await;
    let err = app
        .batch_execute(
            "BEGIN; SELECT set_config('app.company_id', 'cmp_aaaaaa', true); SELECT password_hash FROM users; COMMIT;",
        )
        .await
        .expect_err("the app role read a password hash");
    assert!(err.to_string().contains("permission denied"), "{err}");
    let _ = app.batch_execute("ROLLBACK").await;
    // An unknown session lists no workspaces through the directory.
    assert!(
        flag(
            &mut app,
            "SELECT NOT EXISTS (SELECT 1 FROM metiva_session_workspaces(gen_random_uuid())) AS ok"
        )
        .await
    );
}

/// The site-key lookup is a named cross-tenant read. Site keys are unique
/// per workspace only (every unique key includes company_id); a key that
/// two workspaces hold resolves to nothing, never to a guess.
#[tokio::test]
async fn an_ambiguous_site_key_resolves_to_nothing() {
    let tdb = TestDb::new().await;
    crate::fixtures::three_companies(&tdb).await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    for c in ["cmp_aaaaaa", "cmp_bbbbbb"] {
        crate::fixtures::exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{c}', true);
                 INSERT INTO sites (company_id, domain, site_key) VALUES ('{c}', 'a.example', 'pk_only_{}');
                 INSERT INTO sites (company_id, domain, site_key) VALUES ('{c}', 'a.example', 'pk_shared_key');
                 COMMIT;",
                &c[4..]
            ),
        )
        .await;
    }
    let db = tdb.database();
    let one = db
        .site_by_key("pk_only_aaaaaa")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        one.map(|s| s.company.as_str().to_string()).as_deref(),
        Some("cmp_aaaaaa")
    );
    let shared = db
        .site_by_key("pk_shared_key")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(shared.is_none(), "an ambiguous key must not resolve");
    // Within one workspace the key stays unique.
    let dup = crate::fixtures::try_exec(
        &mut owner,
        "BEGIN; SELECT set_config('app.company_id', 'cmp_aaaaaa', true);
         INSERT INTO sites (company_id, domain, site_key) VALUES ('cmp_aaaaaa', 'b.example', 'pk_only_aaaaaa');
         COMMIT;",
    )
    .await;
    assert!(dup.is_err());
}

/// Issue 15: the access assertion is a definer function (owned by the
/// directory role, so RLS is not evaluated inside it). It must confine
/// itself: a live access holds only under its own company's binding, and
/// is refused without a binding, under another company's binding, with
/// another role, and once its session is revoked. Only the app role may
/// call it.
#[tokio::test]
async fn the_access_assertion_holds_only_under_its_own_binding() {
    let tdb = TestDb::new().await;
    crate::fixtures::three_companies(&tdb).await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    crate::fixtures::exec(
        &mut owner,
        "INSERT INTO users (id, email, name)
             VALUES ('00000000-0000-4000-8000-0000000000a1', 'aa@a.example', 'AA');
         INSERT INTO sessions (id, user_id, secret_hash, expires_at)
             VALUES ('00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-0000000000a1',
                     sha256('aa'), now() + interval '1 hour');
         BEGIN; SELECT set_config('app.company_id', 'cmp_aaaaaa', true);
         INSERT INTO memberships (company_id, user_id, role)
             VALUES ('cmp_aaaaaa', '00000000-0000-4000-8000-0000000000a1', 'sales');
         COMMIT;",
    )
    .await;
    let mut su = tdb.connect_as("postgres").await;
    assert!(
        flag(
            &mut su,
            "SELECT (p.prosecdef AND pg_get_userbyid(p.proowner) = 'metiva_directory'
                     AND has_function_privilege('metiva_app', p.oid, 'EXECUTE')
                     AND NOT has_function_privilege('metiva_login', p.oid, 'EXECUTE')) AS ok
             FROM pg_proc p WHERE p.proname = 'metiva_assert_access'"
        )
        .await
    );
    let mut app = tdb.connect_as("metiva_app").await;
    let assert = |company: Option<&str>, role: &str| {
        let bind = company.map_or(String::new(), |c| {
            format!("SELECT set_config('app.company_id', '{c}', true);")
        });
        format!(
            "BEGIN; {bind} SELECT metiva_assert_access('00000000-0000-4000-8000-0000000000a1',
               '00000000-0000-4000-8000-0000000000a2', '{role}'); COMMIT;"
        )
    };
    app.batch_execute(&assert(Some("cmp_aaaaaa"), "sales"))
        .await
        .unwrap_or_else(|e| panic!("a live access was refused: {e}"));
    for (company, role) in [
        (None, "sales"),
        (Some("cmp_bbbbbb"), "sales"),
        (Some("cmp_aaaaaa"), "owner"),
    ] {
        let err = app
            .batch_execute(&assert(company, role))
            .await
            .expect_err("the assertion let a wrong access through");
        assert!(err.to_string().contains("access revoked"), "{err}");
        let _ = app.batch_execute("ROLLBACK").await;
    }
    crate::fixtures::exec(
        &mut owner,
        "UPDATE sessions SET revoked_at = now() WHERE id = '00000000-0000-4000-8000-0000000000a2'",
    )
    .await;
    let err = app
        .batch_execute(&assert(Some("cmp_aaaaaa"), "sales"))
        .await
        .expect_err("a revoked session still passed");
    assert!(err.to_string().contains("access revoked"), "{err}");
}
