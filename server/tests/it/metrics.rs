//! The metrics listener: scraped and parsed as Prometheus text after real
//! traffic; it refuses a public address unless told to.

use std::collections::HashMap;

use crate::logs::{APP_URL, http, seed, sign_in, start_production, stop};

/// Every sample line: `name{labels}` -> value. Comment lines must be
/// `# HELP` or `# TYPE`; anything else fails the parse.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(c) = line.strip_prefix('#') {
            let c = c.trim_start();
            assert!(c.starts_with("HELP ") || c.starts_with("TYPE "), "{line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let v: f64 = value.parse().unwrap_or_else(|e| panic!("{e}: {line}"));
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        out.insert(series.to_string(), v);
    }
    out
}

fn sum(samples: &HashMap<String, f64>, prefix: &str, contains: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(k, _)| k.starts_with(prefix) && contains.iter().all(|c| k.contains(c)))
        .map(|(_, v)| v)
        .sum()
}

#[tokio::test]
async fn the_endpoint_is_scraped_and_parsed() {
    let tdb = metiva_testkit::TestDb::new().await;
    let t = tdb.clone();
    tokio::task::spawn_blocking(move || seed(&t)).await.unwrap();
    let Some(p) = start_production(&tdb, &[("METIVA_LIMIT_INGEST_PER_IP", "2/m")]) else {
        println!("SKIPPED: no TLS test listener (METIVA_TEST_PG_TCP); run under cargo xtask test");
        return;
    };
    let text = tokio::task::spawn_blocking(move || {
        sign_in(&p, "owner@devries.example", "cmp_8fa2c1", "203.0.113.77");
        let body = format!(
            r#"{{"type":"pageview","site":"{}","path":"/","visitor":null}}"#,
            metiva_db::seed::OPERATOR_SITE_KEY
        );
        let statuses: Vec<u16> = (0..3)
            .map(|_| {
                http(
                    p.app,
                    "POST",
                    "/collect",
                    &[("Origin", APP_URL), ("X-Forwarded-For", "198.51.100.23")],
                    &body,
                )
                .0
            })
            .collect();
        assert_eq!(statuses, [204, 204, 429]);
        let (st, head, text) = http(p.metrics, "GET", "/metrics", &[], "");
        assert_eq!(st, 200, "{head}");
        assert!(head.contains("text/plain"), "{head}");
        // Only /metrics is served there.
        assert_eq!(http(p.metrics, "GET", "/", &[], "").0, 404);
        stop(p);
        text
    })
    .await
    .unwrap();
    let m = parse(&text);
    assert!(
        sum(
            &m,
            "metiva_http_requests_total",
            &["route=\"/login\"", "method=\"POST\""]
        ) >= 1.0,
        "{text}"
    );
    assert!(
        sum(
            &m,
            "metiva_http_request_duration_seconds_bucket",
            &["route=\"/collect\"", "le=\"+Inf\""]
        ) >= 3.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "metiva_ingest_events_total",
            &["endpoint=\"collect\"", "outcome=\"accepted\""]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "metiva_ingest_events_total",
            &["outcome=\"refused_429\""]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        sum(
            &m,
            "metiva_rate_limited_total",
            &["limit=\"ingest_per_ip\""]
        ),
        1.0
    );
    assert!(sum(&m, "metiva_db_pool_connections_max", &["pool=\"app\""]) > 0.0);
    assert!(
        m.keys()
            .any(|k| k.starts_with("metiva_db_pool_connections_in_use{pool=\"login\""))
    );
    assert!(
        m.keys()
            .any(|k| k.starts_with("metiva_db_pool_connections_waiting"))
    );
    // Labels never carry a path, an address or an email.
    for bad in ["198.51.100", "203.0.113", "@devries", "cmp_"] {
        assert!(!text.contains(bad), "{bad} in metrics:\n{text}");
    }
}

#[test]
fn a_public_metrics_address_needs_the_opt_in() {
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_metiva"));
        cmd.arg("serve")
            .env("DATABASE_URL", "postgres://u@127.0.0.1:1/x")
            .env("METIVA_APP_ADDR", "127.0.0.1:0")
            .env("METIVA_LOGIN_ADDR", "127.0.0.1:0")
            .env(
                "METIVA_DATA_DIR",
                metiva_testkit::scratch_dir("metrics-public"),
            );
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let refused = run(&[("METIVA_METRICS_ADDR", "0.0.0.0:0")]);
    assert!(refused.contains("METIVA_METRICS_PUBLIC=1"), "{refused}");
    // With the opt-in it gets past the configuration (to the database).
    let allowed = run(&[
        ("METIVA_METRICS_ADDR", "0.0.0.0:0"),
        ("METIVA_METRICS_PUBLIC", "1"),
    ]);
    assert!(!allowed.contains("METIVA_METRICS_PUBLIC"), "{allowed}");
    assert!(allowed.contains("unreachable"), "{allowed}");
}
