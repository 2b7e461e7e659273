//! What the dashboard shows of it, and what a workspace manages: ISPs,
//! the pages, known networks, sites, trusted proxies.

use super::*;

#[tokio::test]
async fn consumer_isps_are_never_shown_as_a_company() {
    // A small dataset in the real format: one business, one consumer ISP.
    let dir = std::env::temp_dir().join(format!("metiva-asn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ip = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap());
    std::fs::write(
        dir.join("asn-ipv4-num.csv"),
        format!(
            "{},{},15169,Google LLC\n{},{},1136,KPN B.V.\n",
            ip("8.8.8.0"),
            ip("8.8.8.255"),
            ip("77.160.0.0"),
            ip("77.175.255.255")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("asn-ipv6-num.csv"), "").unwrap();
    let w = World::new().await;
    let config = server::config::Config {
        asn_dir: Some(dir.clone()),
        ..crate::test_config(&w.tdb.app_url())
    };
    let auth = DashboardAuth::new(&config, w.tdb.database(), &crate::world::keys());
    let router = dashboard_router_with(&config, auth);
    for (ip, path) in [("8.8.8.8", "/a"), ("77.161.2.3", "/b")] {
        let body = page_view(None).replace("/offerte-test", path);
        let r = call(&router, public_post("/collect", Some(ORIGIN), ip, body)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let rows = q(&w, DE_VRIES, "SELECT path, organisation, org_source FROM page_views WHERE path IN ('/a', '/b') ORDER BY path").await;
    assert_eq!(
        rows[0].get::<_, Option<String>>(1).as_deref(),
        Some("Google LLC")
    );
    assert_eq!(rows[0].get::<_, Option<String>>(2).as_deref(), Some("asn"));
    assert_eq!(
        rows[1].get::<_, Option<String>>(1),
        None,
        "a household on KPN is not a company"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_dashboard_pages_show_visits_consent_and_the_chain() {
    let w = World::new().await;
    let token = w.sign_in("owner@devries.example", DE_VRIES).await;
    let get = |p: &str| crate::world::get_with(p, &[("metiva_session", &token)]);
    let v = call(&w.dashboard, get("/visitors")).await;
    assert_eq!(v.status, StatusCode::OK);
    assert!(
        v.body.contains("data-testid=\"visits-chart\"") && v.body.contains("<rect"),
        "server-side SVG"
    );
    assert!(v.body.contains("Coolblue B.V.") && v.body.contains("Anouk Hendriks"));
    assert!(v.body.contains("CC BY 4.0"));
    let c = call(&w.dashboard, get("/consent")).await;
    assert!(
        c.body.contains(&format!("/s/{KEY}/snippet.js")),
        "the snippet tag, ready to paste"
    );
    assert!(c.body.contains("ledger-row") && c.body.contains("2026-11.1"));
    // Another workspace sees none of it.
    let b = w.sign_in("owner@brouwer.example", BROUWER).await;
    let bv = call(
        &w.dashboard,
        crate::world::get_with("/visitors", &[("metiva_session", &b)]),
    )
    .await;
    assert!(!bv.body.contains("Coolblue B.V.") && !bv.body.contains("Anouk"));
    // No permission, no page data: finance cannot read visitors.
    let f = w.sign_in("finance@devries.example", DE_VRIES).await;
    let fv = call(
        &w.dashboard,
        crate::world::get_with("/visitors", &[("metiva_session", &f)]),
    )
    .await;
    assert!(!fv.body.contains("Coolblue B.V."));
}

#[tokio::test]
async fn known_networks_import_is_permissioned_validated_and_audited() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let viewer = w.sign_in("viewer@devries.example", DE_VRIES).await;
    let import = |token: &str, csv: &str| {
        post_form(
            "/api/known-networks",
            &[("metiva_session", token)],
            &[("csv", csv)],
        )
    };
    let r = call(
        &w.dashboard,
        import(&viewer, "cidr,organisation\n10.0.0.0/8,X\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        &w.dashboard,
        import(
            &owner,
            "cidr,organisation\n192.0.2.0/24,Acme BV\n192.0.2.7/33,Bad\n",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("line 3"), "{}", r.body);
    // Nothing changed: the seeded list is still there.
    assert_eq!(
        count(&w, DE_VRIES, "SELECT count(*) FROM known_networks").await,
        4
    );
    let r = call(
        &w.dashboard,
        import(
            &owner,
            "cidr,organisation\n192.0.2.0/24,\"Acme, BV\"\n2001:db8:abcd::/48,Acme BV\n",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        count(&w, DE_VRIES, "SELECT count(*) FROM known_networks").await,
        2
    );
    assert!(
        w.audit_rows(DE_VRIES)
            .await
            .iter()
            .any(|a| a.action == "visitors.known_networks_imported"
                && a.target_id.as_deref() == Some("2"))
    );
    // The next view from that network is attributed to it (a fresh router:
    // the first one caches networks for up to 30 s).
    let (_, fresh) = w.second_dashboard().await;
    let body = page_view(None).replace("/offerte-test", "/acme");
    let r = call(
        &fresh,
        public_post("/collect", Some(ORIGIN), "192.0.2.200", body),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let org: Option<String> = q(
        &w,
        DE_VRIES,
        "SELECT organisation FROM page_views WHERE path = '/acme'",
    )
    .await[0]
        .get(0);
    assert_eq!(org.as_deref(), Some("Acme, BV"));
}

#[tokio::test]
async fn a_workspace_registers_sites_and_can_disable_them() {
    let w = World::new().await;
    let owner = w.sign_in("owner@devries.example", DE_VRIES).await;
    let sales = w.sign_in("sales@devries.example", DE_VRIES).await;
    let register = |token: &str, domain: &str, origins: &str| {
        post_form(
            "/api/sites",
            &[("metiva_session", token)],
            &[("domain", domain), ("origins", origins)],
        )
    };
    let r = call(&w.dashboard, register(&sales, "shop.example.nl", "")).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "sales lacks consent.manage"
    );
    for (domain, origins) in [
        ("https://shop.example.nl", ""),
        ("shop.example.nl", "https://*.example.nl"),
        ("shop.example.nl", "ftp://shop.example.nl"),
    ] {
        let r = call(&w.dashboard, register(&owner, domain, origins)).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{domain} {origins}: {}",
            r.body
        );
    }
    let r = call(
        &w.dashboard,
        register(
            &owner,
            "Shop.Example.nl",
            "https://shop.example.nl\nhttps://www.example.nl/",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let site: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let key = site["site_key"].as_str().unwrap().to_string();
    assert!(key.starts_with("pk_") && key.len() == 27, "{key}");
    assert_eq!(
        site["allowed_origins"],
        serde_json::json!(["https://shop.example.nl", "https://www.example.nl"])
    );
    assert!(
        w.audit_rows(DE_VRIES)
            .await
            .iter()
            .any(|a| a.action == "consent.site_registered")
    );

    // The new key works from its origins only, and writes into this
    // workspace.
    let body = page_view(None)
        .replace(KEY, &key)
        .replace("/offerte-test", "/shop");
    let r = call(
        &w.dashboard,
        public_post(
            "/collect",
            Some("https://www.example.nl"),
            "203.0.113.5",
            body.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = call(
        &w.dashboard,
        public_post("/collect", Some(ORIGIN), "203.0.113.5", body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        count(
            &w,
            DE_VRIES,
            "SELECT count(*) FROM page_views WHERE path = '/shop'"
        )
        .await,
        1
    );

    // Disabled: 404 (a fresh instance; others follow within their 5 s cache).
    let id = site["id"].as_str().unwrap();
    let r = call(
        &w.dashboard,
        post_form(
            &format!("/api/sites/{id}/disable"),
            &[("metiva_session", &owner)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (_, fresh) = w.second_dashboard().await;
    let r = call(
        &fresh,
        public_post(
            "/collect",
            Some("https://www.example.nl"),
            "203.0.113.5",
            body,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Another workspace cannot touch it.
    let brouwer = w.sign_in("owner@brouwer.example", BROUWER).await;
    let r = call(
        &w.dashboard,
        post_form(
            &format!("/api/sites/{id}/enable"),
            &[("metiva_session", &brouwer)],
            &[],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    let w = World::new().await;
    let view = |path: &str| page_view(None).replace("/offerte-test", path);
    // By default the header is the client's own words, and ignored.
    let mut req = public_post("/collect", Some(ORIGIN), "198.51.100.77", view("/xff-a"));
    req.headers_mut()
        .insert("x-forwarded-for", "192.0.2.9".parse().unwrap());
    assert_eq!(call(&w.dashboard, req).await.status, StatusCode::NO_CONTENT);
    // Behind one trusted proxy: the address that proxy appended, never
    // what the client wrote before it.
    let config = server::config::Config {
        trusted_proxy_hops: 1,
        ..crate::test_config(&w.tdb.app_url())
    };
    let auth = DashboardAuth::new(&config, w.tdb.database(), &crate::world::keys());
    let router = dashboard_router_with(&config, auth);
    let mut req = public_post("/collect", Some(ORIGIN), "10.0.0.2", view("/xff-b"));
    req.headers_mut().insert(
        "x-forwarded-for",
        "198.51.100.1, 192.0.2.9".parse().unwrap(),
    );
    assert_eq!(call(&router, req).await.status, StatusCode::NO_CONTENT);
    // A request that did not come through the proxy has no client address.
    let r = call(
        &router,
        public_post("/collect", Some(ORIGIN), "10.0.0.2", view("/xff-c")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let rows = q(
        &w,
        DE_VRIES,
        "SELECT path, organisation FROM page_views WHERE path LIKE '/xff-%' ORDER BY path",
    )
    .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].get::<_, Option<String>>(1).as_deref(),
        Some("Rabobank"),
        "peer 198.51.100.77"
    );
    assert_eq!(
        rows[1].get::<_, Option<String>>(1).as_deref(),
        Some("Coolblue B.V."),
        "192.0.2.9 via the proxy"
    );
}
