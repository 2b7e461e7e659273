//! The catalog lint: reads PostgreSQL's own catalog and reports every way
//! the isolation rules are broken. It runs at every startup (fail-closed),
//! in `metiva check`, and in the test suite, so a new table that forgets a
//! rule fails before anyone has to remember it.
//!
//! A *tenant table* is any ordinary or partitioned table, in any
//! non-system schema, with a `company_id` column.

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::{Database, DbError};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// A stable rule name, e.g. `force_rls`.
    pub rule: &'static str,
    /// The object at fault, schema-qualified.
    pub object: String,
    /// One sentence saying what is wrong.
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.object, self.detail, self.rule)
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    rule: String,
    #[diesel(sql_type = Text)]
    object: String,
}

/// Each rule is one query returning the offending objects. The policy
/// test looks for the NULLIF form on `app.company_id` in both USING and
/// WITH CHECK of a RESTRICTIVE policy for all commands.
const RULES: &[(&str, &str, &str)] = &[
    (
        "enable_rls",
        "row-level security is not enabled",
        "SELECT format('%I.%I', n.nspname, c.relname) AS object FROM tenant_tables c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT c.relrowsecurity",
    ),
    (
        "force_rls",
        "row-level security is not forced (the owner would bypass it)",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM tenant_tables c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT c.relforcerowsecurity",
    ),
    (
        "restrictive_tenant_policy",
        "no RESTRICTIVE policy for ALL commands with USING and WITH CHECK on NULLIF(current_setting('app.company_id', true), '')",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM tenant_tables c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT EXISTS (
           SELECT 1 FROM pg_policy p
           WHERE p.polrelid = c.oid AND NOT p.polpermissive AND p.polcmd = '*'
             AND p.polqual IS NOT NULL AND p.polwithcheck IS NOT NULL
             AND pg_get_expr(p.polqual, p.polrelid) ~ 'company_id = \\( SELECT NULLIF\\(current_setting\\(''app\\.company_id''::text, true\\), ''''::text\\)'
             AND pg_get_expr(p.polwithcheck, p.polrelid) ~ 'company_id = \\( SELECT NULLIF\\(current_setting\\(''app\\.company_id''::text, true\\), ''''::text\\)'
             AND 0 = ALL (p.polroles))",
    ),
    (
        "permissive_tenant_policy",
        "has a PERMISSIVE policy that filters on the tenant (tenant filters must be RESTRICTIVE so no later policy can widen them)",
        "SELECT format('%I.%I (%s)', n.nspname, c.relname, p.polname) FROM tenant_tables c
         JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_policy p ON p.polrelid = c.oid
         WHERE p.polpermissive AND (coalesce(pg_get_expr(p.polqual, p.polrelid), '') ~ 'app\\.company_id'
                                    OR coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') ~ 'app\\.company_id')",
    ),
    (
        "company_id_index",
        "has no index leading with company_id",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM tenant_tables c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE NOT EXISTS (
           SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
           WHERE i.indrelid = c.oid AND a.attname = 'company_id')",
    ),
    (
        "composite_index_leads_with_company_id",
        "has a composite index that does not lead with company_id",
        "SELECT format('%I.%I (%s)', n.nspname, c.relname, ic.relname) FROM tenant_tables c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_index i ON i.indrelid = c.oid JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indnatts > 1 AND a.attname <> 'company_id'",
    ),
    (
        "composite_foreign_key",
        "references another tenant table without company_id in the key (foreign-key checks bypass RLS)",
        "SELECT format('%I.%I (%s)', n.nspname, c.relname, k.conname) FROM tenant_tables c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_constraint k ON k.conrelid = c.oid AND k.contype = 'f'
         WHERE k.confrelid IN (SELECT oid FROM tenant_tables)
           AND NOT EXISTS (
             SELECT 1 FROM unnest(k.conkey) WITH ORDINALITY AS ck(attnum, ord)
             JOIN unnest(k.confkey) WITH ORDINALITY AS fk(attnum, ord) USING (ord)
             JOIN pg_attribute ca ON ca.attrelid = k.conrelid AND ca.attnum = ck.attnum
             JOIN pg_attribute fa ON fa.attrelid = k.confrelid AND fa.attnum = fk.attnum
             WHERE ca.attname = 'company_id' AND fa.attname = 'company_id')",
    ),
    (
        "unique_includes_company_id",
        "has a primary key, unique constraint or unique index without company_id (a company-sharded deployment could not enforce it)",
        "SELECT format('%I.%I (%s)', n.nspname, c.relname, ic.relname) FROM tenant_tables c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_index i ON i.indrelid = c.oid AND i.indisunique
         JOIN pg_class ic ON ic.oid = i.indexrelid
         WHERE NOT EXISTS (
           SELECT 1 FROM pg_attribute a
           WHERE a.attrelid = c.oid AND a.attname = 'company_id' AND a.attnum = ANY (i.indkey))",
    ),
    (
        "no_truncate_for_app",
        "grants TRUNCATE to metiva_app (TRUNCATE ignores RLS)",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
           AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_app')
           AND has_table_privilege('metiva_app', c.oid, 'TRUNCATE')",
    ),
    (
        "audit_log_append_only",
        "lets metiva_app UPDATE or DELETE audit rows (the audit log is INSERT/SELECT only)",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = 'audit_log' AND c.relkind IN ('r', 'p')
           AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metiva_app')
           AND (has_table_privilege('metiva_app', c.oid, 'UPDATE') OR has_table_privilege('metiva_app', c.oid, 'DELETE'))",
    ),
    (
        "view_security_invoker",
        "is a view without security_invoker (it would read with its owner's rights)",
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
           AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'] OR c.reloptions @> ARRAY['security_invoker=on'], false)",
    ),
    (
        "security_definer_superuser",
        "is a SECURITY DEFINER function owned by a superuser",
        "SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)) FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_roles r ON r.oid = p.proowner
         WHERE p.prosecdef AND r.rolsuper AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
    ),
];

/// The tenant tables, as a CTE every rule reads.
const TENANT_TABLES: &str = "WITH tenant_tables AS (
    SELECT c.* FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_toast'
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'company_id'
                  AND a.attnum > 0 AND NOT a.attisdropped))";

/// Runs every rule over the live catalog of the connection's database.
pub async fn lint(mut conn: &AsyncPgConnection) -> Result<Vec<Finding>, DbError> {
    let mut union = Vec::new();
    for (rule, _, sql) in RULES {
        union.push(format!(
            "SELECT '{rule}'::text AS rule, object::text FROM ({sql}) AS q(object)"
        ));
    }
    let sql = format!("{TENANT_TABLES} {}", union.join(" UNION ALL "));
    // Raw SQL: catalog queries (pg_class, pg_policy, pg_constraint), outside
    // the schema.
    let rows: Vec<Row> = diesel::sql_query(sql).load(&mut conn).await?;
    let mut findings: Vec<Finding> = rows
        .into_iter()
        .filter_map(|r| {
            RULES
                .iter()
                .find(|(name, _, _)| *name == r.rule)
                .map(|(rule, detail, _)| Finding {
                    rule,
                    object: r.object,
                    detail: (*detail).to_string(),
                })
        })
        .collect();
    findings.sort();
    Ok(findings)
}

/// Lints the database at `url` (any role that can read the catalog).
#[expect(
    clippy::disallowed_methods,
    reason = "a catalog read on its own connection, no tenant data"
)]
pub async fn lint_url(url: &str) -> Result<Vec<Finding>, DbError> {
    let conn = crate::DbUrl::parse(url)?.open().await?;
    lint(&conn).await
}

/// How many tenant tables the catalog holds (for reports).
pub async fn tenant_table_count(mut conn: &AsyncPgConnection) -> Result<i64, DbError> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    // Raw SQL: a catalog query, outside the schema.
    let n: N = diesel::sql_query(format!(
        "{TENANT_TABLES} SELECT count(*) AS n FROM tenant_tables"
    ))
    .get_result(&mut conn)
    .await?;
    Ok(n.n)
}

/// What the runtime role may do that it must not.
#[derive(Debug, Clone, QueryableByName)]
pub struct RolePosture {
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = Bool)]
    pub superuser: bool,
    #[diesel(sql_type = Bool)]
    pub bypass_rls: bool,
    /// Tenant tables this role owns, or could own by `SET ROLE`.
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    pub owned_tenant_tables: Vec<String>,
    /// Other roles with SUPERUSER or BYPASSRLS that this role is a member
    /// of (it could `SET ROLE` to them and escape RLS).
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    pub privileged_memberships: Vec<String>,
}

impl Database {
    /// Global read of the catalog: the runtime role's own posture. Used by
    /// the fail-closed startup checks.
    pub async fn read_role_posture(&self) -> Result<RolePosture, DbError> {
        let sql = format!(
            "{TENANT_TABLES}
             SELECT r.rolname::text AS role, r.rolsuper AS superuser, r.rolbypassrls AS bypass_rls,
                    coalesce((SELECT array_agg(c.relname::text ORDER BY c.relname) FROM tenant_tables c
                              WHERE pg_has_role(current_user, c.relowner, 'MEMBER')), '{{}}') AS owned_tenant_tables,
                    coalesce((SELECT array_agg(p.rolname::text ORDER BY p.rolname) FROM pg_roles p
                              WHERE (p.rolsuper OR p.rolbypassrls) AND p.rolname <> current_user
                                AND pg_has_role(current_user, p.oid, 'MEMBER')), '{{}}') AS privileged_memberships
             FROM pg_roles r WHERE r.rolname = current_user"
        );
        self.global(async |conn| {
            // Raw SQL: a catalog query (pg_roles), outside the schema.
            Ok(diesel::sql_query(&sql)
                .get_result::<RolePosture>(conn)
                .await?)
        })
        .await
    }

    /// Global read of the catalog: the isolation lint, as the runtime role.
    pub async fn lint_catalog(&self) -> Result<(Vec<Finding>, i64), DbError> {
        self.global(async |conn| {
            let findings = lint(conn).await?;
            let tables = tenant_table_count(conn).await?;
            Ok((findings, tables))
        })
        .await
    }
}

/// One tenant table, as the catalog names it.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct TenantTable {
    #[diesel(sql_type = Text)]
    pub schema: String,
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// Every tenant table (the lint's own definition: any table with a
/// `company_id` column), ordered by schema and name. Used by the
/// workspace export, so a new tenant table is exported without code
/// changes.
pub async fn tenant_tables(mut conn: &AsyncPgConnection) -> Result<Vec<TenantTable>, DbError> {
    // Raw SQL: a catalog query, outside the schema.
    Ok(diesel::sql_query(format!(
        "{TENANT_TABLES} SELECT n.nspname::text AS schema, c.relname::text AS name
         FROM tenant_tables c JOIN pg_namespace n ON n.oid = c.relnamespace
         ORDER BY n.nspname, c.relname"
    ))
    .load(&mut conn)
    .await?)
}
