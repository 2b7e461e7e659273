//! The deal board's per-stage counts (`deal_stage_counts`, migration
//! 000059) against a full recount of `deals`, after random writes through
//! the app's own paths (create, move, edit, delete, a contact's erasure)
//! and bulk statements that touch several stages at once (imports, moves
//! of many deals, deletes, a stage key renamed through the cascade), in
//! three workspaces at once. The counts are kept by statement triggers in
//! each writer's transaction, so any drift shows here, and so does a board
//! whose counts disagree with the recount. The table's isolation is held
//! like every tenant table's: bound to one company, the app role neither
//! sees nor writes another's counts.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use metiva_db::crm::deals::DealForm;
use metiva_db::{Database, TenantCtx};
use metiva_testkit::TestDb;
use rand::Rng;
use uuid::Uuid;

use crate::fixtures::{A, B, C, exec, member_ctx, three_companies, try_exec};

const STAGES: [&str; 6] = [
    "lead",
    "qualified",
    "proposal",
    "negotiation",
    "won",
    "lost",
];

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct StageCount {
    #[diesel(sql_type = Text)]
    stage: String,
    #[diesel(sql_type = BigInt)]
    deals: i64,
}

/// The company's count rows and a recount of its deals, in one snapshot.
async fn counts_and_recount(tdb: &TestDb, company: &str) -> (Vec<StageCount>, Vec<StageCount>) {
    crate::fixtures::kept_and_recount(
        tdb,
        company,
        "SELECT stage, deals FROM deal_stage_counts ORDER BY stage",
        "SELECT stage, count(*) AS deals FROM deals GROUP BY stage ORDER BY stage",
    )
    .await
}

/// The counts match a recount (no row for a stage without deals), and the
/// board shows the same counts.
async fn board_matches_recount(
    tdb: &TestDb,
    db: &Database,
    ctx: &TenantCtx,
    company: &str,
    round: usize,
) {
    let (kept, recount) = counts_and_recount(tdb, company).await;
    assert_eq!(
        kept, recount,
        "round {round}, {company}: kept counts drifted"
    );
    let board = db
        .deal_board(ctx)
        .await
        .unwrap_or_else(|e| panic!("round {round}: {e}"));
    let mut shown: Vec<StageCount> = board
        .counts
        .into_iter()
        .map(|(stage, deals)| StageCount { stage, deals })
        .collect();
    shown.sort();
    assert_eq!(
        shown, recount,
        "round {round}, {company}: the board's counts"
    );
}

/// A random deal of the company with its version, if it has any.
async fn some_deal(tdb: &TestDb, company: &str) -> Option<(Uuid, i32)> {
    #[derive(QueryableByName)]
    struct D {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
    }
    let mut owner = tdb.connect_as("metiva_owner").await;
    exec(
        &mut owner,
        &format!("BEGIN; SELECT set_config('app.company_id', '{company}', true);"),
    )
    .await;
    let d: Vec<D> = diesel::sql_query("SELECT id, version FROM deals ORDER BY random() LIMIT 1")
        .load(&mut owner)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    exec(&mut owner, "COMMIT;").await;
    d.into_iter().next().map(|d| (d.id, d.version))
}

#[tokio::test]
async fn deal_stage_counts_match_a_full_recount_after_random_writes() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let db = tdb.database();
    let mut ctxs = Vec::new();
    for (n, c) in [A, B, C].into_iter().enumerate() {
        ctxs.push(member_ctx(&tdb, &db, c, 60 + n as u128, "owner").await);
    }
    let mut owner = tdb.connect_as("metiva_owner").await;
    let mut rng = rand::rng();
    for round in 0..80 {
        let which = rng.random_range(0..3);
        let company = [A, B, C][which];
        let ctx = &ctxs[which];
        let pick = rng.random_range(0..STAGES.len());
        let stage = STAGES[pick];
        let other = STAGES[(pick + 1) % STAGES.len()];
        match rng.random_range(0..12) {
            // Create through the app, in a random open stage (a new deal
            // cannot start won or lost).
            0..=1 => {
                let f = DealForm {
                    title: "Random deal",
                    value: Some("1250"),
                    stage: Some(STAGES[pick % 4]),
                    ..Default::default()
                }
                .validate()
                .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                db.create_deal(ctx, &f, "req")
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
            }
            // Move through the app (won and lost need a reason).
            2..=3 => {
                if let Some((id, version)) = some_deal(&tdb, company).await {
                    let reason = matches!(stage, "won" | "lost").then_some("price");
                    db.move_deal(ctx, id, version, stage, reason)
                        .await
                        .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                }
            }
            // Delete through the app.
            4 => {
                if let Some((id, version)) = some_deal(&tdb, company).await {
                    db.delete_deal(ctx, id, version, "req")
                        .await
                        .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
                }
            }
            // An import-shaped batch: 1..40 deals over every stage, one
            // statement.
            5..=6 => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                         INSERT INTO deals (company_id, title, value_cents, stage)
                           SELECT '{company}', 'Batch ' || g, g * 100,
                                  (ARRAY['lead','qualified','proposal','negotiation','won','lost'])[1 + (g + {round}) % 6]
                           FROM generate_series(1, {}) g;
                         COMMIT;",
                        rng.random_range(1..40)
                    ),
                )
                .await
            }
            // Many deals from several stages into one, one statement.
            7..=8 => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                         UPDATE deals SET stage = '{stage}', version = version + 1
                          WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT {});
                         COMMIT;",
                        rng.random_range(1..15)
                    ),
                )
                .await
            }
            // Edits that keep the stage, and a stage swap between two
            // deals in one statement (nets to zero per stage).
            9 => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                         UPDATE deals SET title = title || '.'
                          WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT 5);
                         WITH two AS (SELECT id, stage, row_number() OVER () AS n
                                        FROM (SELECT id, stage FROM deals ORDER BY random() LIMIT 2) x)
                         UPDATE deals d SET stage = o.stage
                           FROM two t JOIN two o ON o.n <> t.n
                          WHERE d.id = t.id;
                         COMMIT;"
                    ),
                )
                .await
            }
            // A deleting statement over several stages (an erasure or a
            // cleanup), and a second one in the same transaction.
            10 => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                         DELETE FROM deals WHERE id IN (SELECT id FROM deals ORDER BY random() LIMIT {});
                         DELETE FROM deals WHERE stage = '{stage}' AND id IN
                           (SELECT id FROM deals WHERE stage = '{stage}' ORDER BY random() LIMIT 2);
                         COMMIT;",
                        rng.random_range(1..10)
                    ),
                )
                .await
            }
            // A stage key renamed: the deals follow by ON UPDATE CASCADE,
            // and so must their count. Renamed back in the same
            // transaction, so the stages stay the six this test draws from.
            _ => {
                exec(
                    &mut owner,
                    &format!(
                        "BEGIN; SELECT set_config('app.company_id', '{company}', true);
                         UPDATE pipeline_stages SET key = '{stage}_x' WHERE key = '{stage}';
                         UPDATE deals SET stage = '{other}' WHERE id IN
                           (SELECT id FROM deals WHERE stage = '{stage}_x' LIMIT 1);
                         UPDATE pipeline_stages SET key = '{stage}' WHERE key = '{stage}_x';
                         COMMIT;"
                    ),
                )
                .await
            }
        }
        board_matches_recount(&tdb, &db, ctx, company, round).await;
    }
    // Every workspace once more, whatever the last rounds touched.
    for (which, company) in [A, B, C].into_iter().enumerate() {
        board_matches_recount(&tdb, &db, &ctxs[which], company, 80).await;
    }
}

#[tokio::test]
async fn deal_stage_counts_stay_in_their_workspace() {
    let tdb = TestDb::new().await;
    three_companies(&tdb).await;
    let mut owner = tdb.connect_as("metiva_owner").await;
    for (c, n) in [(A, 3), (B, 5)] {
        exec(
            &mut owner,
            &format!(
                "BEGIN; SELECT set_config('app.company_id', '{c}', true);
                 INSERT INTO deals (company_id, title, value_cents, stage)
                   SELECT '{c}', 'Deal ' || g, 100, 'lead' FROM generate_series(1, {n}) g;
                 COMMIT;"
            ),
        )
        .await;
    }
    let mut app = tdb.connect_as("metiva_app").await;
    // Bound to A: only A's counts are visible.
    exec(
        &mut app,
        &format!("BEGIN; SELECT set_config('app.company_id', '{A}', true);"),
    )
    .await;
    let seen: Vec<StageCount> = diesel::sql_query("SELECT stage, deals FROM deal_stage_counts")
        .load(&mut app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seen,
        vec![StageCount {
            stage: "lead".into(),
            deals: 3
        }]
    );
    // Another company's counts can be neither changed nor deleted (0 rows)…
    let n = diesel::sql_query(format!(
        "UPDATE deal_stage_counts SET deals = 0 WHERE company_id = '{B}'"
    ))
    .execute(&mut app)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 0);
    let n = diesel::sql_query(format!(
        "DELETE FROM deal_stage_counts WHERE company_id = '{B}'"
    ))
    .execute(&mut app)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n, 0);
    exec(&mut app, "COMMIT;").await;
    // …nor written for it (the policy's WITH CHECK).
    let r = try_exec(
        &mut app,
        &format!(
            "BEGIN; SELECT set_config('app.company_id', '{A}', true);
             INSERT INTO deal_stage_counts (company_id, stage, deals) VALUES ('{B}', 'won', 1);
             COMMIT;"
        ),
    )
    .await;
    assert!(r.is_err(), "a count row for another company was written");
    // With no binding, nothing is visible.
    let seen: Vec<StageCount> = diesel::sql_query("SELECT stage, deals FROM deal_stage_counts")
        .load(&mut app)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(seen.is_empty());
    // B's counts are what B's deals make them, untouched by A's session.
    let (kept, recount) = counts_and_recount(&tdb, B).await;
    assert_eq!(kept, recount);
    assert_eq!(
        kept,
        vec![StageCount {
            stage: "lead".into(),
            deals: 5
        }]
    );
}
