//! The tenancy core's `src/schema.rs` is generated from the migrated database, and this test
//! keeps it so: it renders Diesel's `table!` declarations from the catalog
//! and compares them with the checked-in file. After a migration, run
//! `METIVA_BLESS_SCHEMA=1 cargo test -p metiva-db --test isolation schema_file`
//! to rewrite the file, and review the diff.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use diesel::QueryableByName;
use diesel::sql_types::{Bool, Integer, Text};
use diesel_async::RunQueryDsl;
use metiva_testkit::TestDb;

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    type_name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Bool)]
    is_array: bool,
    /// Position in the primary key (0 when not part of it).
    #[diesel(sql_type = Integer)]
    pk_position: i32,
}

/// Every column of every table in `public`, in declaration order, with its
/// base type and primary-key position. Raw SQL: a catalog query.
const CATALOG: &str = "
SELECT c.relname::text AS table_name,
       a.attname::text AS column_name,
       (CASE WHEN t.typcategory = 'A' THEN et.typname ELSE t.typname END)::text AS type_name,
       a.attnotnull AS not_null,
       (t.typcategory = 'A') AS is_array,
       COALESCE(array_position(pk.conkey, a.attnum), 0)::int AS pk_position
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type et ON et.oid = t.typelem
LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE c.relkind IN ('r', 'p') AND c.relname <> '__diesel_schema_migrations'
  AND NOT c.relispartition
ORDER BY c.relname, a.attnum";

fn diesel_type(pg: &str) -> &'static str {
    match pg {
        "text" => "Text",
        "varchar" => "Varchar",
        "uuid" => "Uuid",
        "timestamptz" => "Timestamptz",
        "timestamp" => "Timestamp",
        "date" => "Date",
        "time" => "Time",
        "int8" => "BigInt",
        "int4" => "Integer",
        "int2" => "SmallInt",
        "bool" => "Bool",
        "bytea" => "Bytea",
        "jsonb" => "Jsonb",
        "inet" => "Inet",
        "cidr" => "Cidr",
        "numeric" => "Numeric",
        "float8" => "Double",
        "float4" => "Float",
        other => panic!("no Diesel type mapped for PostgreSQL type {other}: extend diesel_type"),
    }
}

fn render(columns: &[Column]) -> String {
    let mut tables: BTreeMap<&str, Vec<&Column>> = BTreeMap::new();
    for c in columns {
        tables.entry(&c.table_name).or_default().push(c);
    }
    let mut out = String::from(
        "// @generated from the migrated database by the isolation suite's\n\
         // schema_file test. Do not edit: run\n\
         // METIVA_BLESS_SCHEMA=1 cargo test -p metiva-db --test isolation schema_file\n",
    );
    for (table, cols) in &tables {
        let mut pk: Vec<&&Column> = cols.iter().filter(|c| c.pk_position > 0).collect();
        pk.sort_by_key(|c| c.pk_position);
        let pk: Vec<&str> = pk.iter().map(|c| c.column_name.as_str()).collect();
        assert!(!pk.is_empty(), "table {table} has no primary key");
        let _ = write!(
            out,
            "\ndiesel::table! {{\n    {table} ({}) {{\n",
            pk.join(", ")
        );
        for c in cols {
            let mut ty = diesel_type(&c.type_name).to_string();
            if c.is_array {
                ty = format!("Array<Nullable<{ty}>>");
            }
            if !c.not_null {
                ty = format!("Nullable<{ty}>");
            }
            let _ = writeln!(out, "        {} -> {ty},", c.column_name);
        }
        out.push_str("    }\n}\n");
    }
    let names: Vec<&str> = tables.keys().copied().collect();
    let _ = write!(
        out,
        "\ndiesel::allow_tables_to_appear_in_same_query!(\n    {},\n);\n",
        names.join(",\n    ")
    );
    out
}

#[tokio::test]
async fn the_checked_in_schema_matches_the_migrations() {
    let tdb = TestDb::new().await;
    let mut conn = tdb.connect_as("metiva_owner").await;
    let columns: Vec<Column> = diesel::sql_query(CATALOG)
        .load(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let want = render(&columns);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../metiva-tenancy/src/schema.rs"
    );
    if std::env::var_os("METIVA_BLESS_SCHEMA").is_some() {
        std::fs::write(path, &want).unwrap_or_else(|e| panic!("{path}: {e}"));
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        have == want,
        "crates/metiva-tenancy/src/schema.rs is out of step with the migrations. Rerun with \
         METIVA_BLESS_SCHEMA=1 and review the diff.\n--- generated ---\n{want}"
    );
}
