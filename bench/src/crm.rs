//! `cargo xtask bench crm`: the deal board and the search at 10,000
//! contacts and 2,000 deals in one workspace, beside two other workspaces
//! of the same size, through the domain functions the pages call (the
//! queries and their tenant binding; HTML rendering is not included).
//! Also prints the search query's plan as the runtime role.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use metiva_db::{CompanyId, Database, PoolSettings, bootstrap};

use super::{percentile, target};

const TENANTS: [&str; 3] = ["cmp_c00001", "cmp_c00002", "cmp_c00003"];
const CONTACTS: i32 = 10_000;
const DEALS: i32 = 2_000;
const ORGANISATIONS: i32 = 1_000;
const SAMPLES: usize = 200;

async fn seed(owner_url: &str) -> Result<()> {
    let mut o = AsyncPgConnection::establish(owner_url).await?;
    for (n, t) in TENANTS.iter().enumerate() {
        o.batch_execute(&format!(
            "BEGIN; SELECT set_config('app.company_id', '{t}', true);
             INSERT INTO companies (id, name) VALUES ('{t}', 'CRM bench {t}');
             INSERT INTO users (id, email, name) VALUES
               ('00000000-0000-4000-8000-00000000c00{n}', 'sales{n}@crm.example', 'Sales {n}');
             INSERT INTO sessions (id, user_id, secret_hash, expires_at) VALUES
               ('00000000-0000-4000-8000-00000000d00{n}', '00000000-0000-4000-8000-00000000c00{n}',
                sha256('crm{n}'), now() + interval '1 day');
             INSERT INTO memberships (company_id, user_id, role)
               VALUES ('{t}', '00000000-0000-4000-8000-00000000c00{n}', 'sales');
             INSERT INTO organisations (company_id, name, domain)
               SELECT '{t}', 'Klant ' || g, 'klant' || g || '.example' FROM generate_series(1, {ORGANISATIONS}) g;
             INSERT INTO persons (company_id, name, email)
               SELECT '{t}', 'Person ' || g || ' Jansen', 'p' || g || '@klant' || (g % {ORGANISATIONS}) || '.example'
               FROM generate_series(1, {CONTACTS}) g;
             INSERT INTO deals (company_id, title, value_cents, stage)
               SELECT '{t}', 'Deal ' || g, g * 100,
                      (ARRAY['lead','qualified','proposal','negotiation','won','lost'])[1 + g % 6]
               FROM generate_series(1, {DEALS}) g;
             COMMIT;"
        ))
        .await?;
    }
    o.batch_execute("ANALYZE persons; ANALYZE deals; ANALYZE organisations; ANALYZE search_terms;")
        .await?;
    Ok(())
}

fn summary(name: &str, mut d: Vec<Duration>) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1_000.0;
    println!(
        "{name:<44} p50 {:>7.2} ms   p99 {:>7.2} ms   ({} samples)",
        ms(percentile(&d, 0.50)),
        ms(percentile(&d, 0.99)),
        d.len()
    );
}

#[derive(QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

pub async fn run() -> Result<()> {
    let (target, cluster, _dir) = target().await?;
    let su = metiva_embedded_pg::socket_url(
        &target.socket_dir,
        metiva_embedded_pg::SUPERUSER,
        "postgres",
    );
    bootstrap::bootstrap_as_superuser(&su, "metiva").await?;
    bootstrap::run_migrations(&target.socket(bootstrap::OWNER_ROLE)).await?;
    let started = Instant::now();
    seed(&target.socket(bootstrap::OWNER_ROLE)).await?;
    println!(
        "crm bench: 3 workspaces × {CONTACTS} contacts, {DEALS} deals, {ORGANISATIONS} organisations (seeded in {:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let db = Database::connect(
        &target.socket(bootstrap::APP_ROLE),
        &PoolSettings::default(),
    )?;
    let company = CompanyId::parse(TENANTS[0]).map_err(|e| anyhow!("{e}"))?;
    let ctx = db
        .resolve_access(
            &company,
            uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_c000),
            uuid::Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_d000),
        )
        .await?
        .ok_or_else(|| anyhow!("the bench member does not resolve"))?;

    // Warm the pool and the statement cache.
    for _ in 0..10 {
        db.deal_board(&ctx).await?;
        db.search(&ctx, "jansen").await?;
    }
    let mut board = Vec::with_capacity(SAMPLES);
    let mut search_word = Vec::with_capacity(SAMPLES);
    let mut search_two = Vec::with_capacity(SAMPLES);
    let mut search_email = Vec::with_capacity(SAMPLES);
    let mut cards = 0;
    for i in 0..SAMPLES {
        let t = Instant::now();
        let deals = db.deal_board(&ctx).await?.cards;
        board.push(t.elapsed());
        cards = deals.len();
        let t = Instant::now();
        db.search(&ctx, &format!("person {}", 1 + i * 37 % 10_000))
            .await?;
        search_two.push(t.elapsed());
        let t = Instant::now();
        db.search(&ctx, &format!("klant{}", 1 + i % 1_000)).await?;
        search_word.push(t.elapsed());
        let t = Instant::now();
        db.search(&ctx, &format!("p{}@klant", 1 + i * 13 % 10_000))
            .await?;
        search_email.push(t.elapsed());
    }
    summary(&format!("deal board ({cards} cards, stages, names)"), board);
    summary("search: one word (\"klantN\")", search_word);
    summary("search: two words (\"person N\")", search_two);
    summary("search: email prefix (\"pN@klant\")", search_email);

    // The plan of the search's term lookup, as the runtime role under RLS.
    let mut app = AsyncPgConnection::establish(&target.socket(bootstrap::APP_ROLE)).await?;
    app.batch_execute(&format!(
        "BEGIN; SELECT set_config('app.company_id', '{}', true)",
        TENANTS[0]
    ))
    .await?;
    let plan: Vec<PlanLine> = diesel::sql_query(format!(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT kind, record_id FROM search_terms
         WHERE company_id = '{}' AND term >= 'klant42' AND term < 'klant43' LIMIT 2000",
        TENANTS[0]
    ))
    .load(&mut app)
    .await?;
    println!("search term lookup plan (runtime role, RLS on):");
    for p in plan {
        println!("    {}", p.line);
    }
    app.batch_execute("ROLLBACK").await?;
    db.close();
    if let Some(mut c) = cluster {
        c.stop().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}
