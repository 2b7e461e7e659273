//! Checks against the real `@ip-location-db/asn` data: `METIVA_ASN_DIR`, or
//! the npm package `cargo xtask install` puts in the workspace's
//! `node_modules`. Without the dataset the test fails and says so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::path::PathBuf;

use metiva_geo::{AsnIndex, OrgKind};

#[test]
fn real_dataset_lookups() {
    let dir = std::env::var_os("METIVA_ASN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../node_modules/@ip-location-db/asn")
        });
    assert!(
        dir.join("asn-ipv4-num.csv").is_file(),
        "the ASN dataset is missing in {}: run `cargo xtask install` (npm ci)",
        dir.display()
    );
    let index = AsnIndex::load_dir(&dir).expect("load the ASN dataset");
    assert!(index.ranges() > 100_000, "{index:?}");

    let check = |ip: &str, asn: u32, name: &str, kind: OrgKind| {
        let ip: IpAddr = ip.parse().unwrap();
        let org = index.lookup(ip).unwrap_or_else(|| panic!("{ip} not found"));
        assert_eq!(org.asn, Some(asn), "{ip}: {org:?}");
        assert!(org.name.contains(name), "{ip}: {org:?}");
        assert_eq!(org.kind, kind, "{ip}: {org:?}");
    };
    check("1.1.1.1", 13335, "Cloudflare", OrgKind::Business);
    check("::ffff:1.1.1.1", 13335, "Cloudflare", OrgKind::Business);
    check(
        "2606:4700:4700::1111",
        13335,
        "Cloudflare",
        OrgKind::Business,
    );
    check("8.8.8.8", 15169, "Google", OrgKind::Business);
    check("2001:4860:4860::8888", 15169, "Google", OrgKind::Business);
    check("77.160.1.1", 1136, "KPN", OrgKind::ConsumerIsp);
    check("2a02:a400::1", 1136, "KPN", OrgKind::ConsumerIsp);
    check(
        "84.104.1.1",
        33915,
        "Vodafone Libertel",
        OrgKind::ConsumerIsp,
    );
    check(
        "2001:1c00::1",
        33915,
        "Vodafone Libertel",
        OrgKind::ConsumerIsp,
    );
    check("31.21.1.1", 50266, "Odido", OrgKind::ConsumerIsp);

    for private in ["10.1.2.3", "192.168.1.1", "127.0.0.1", "::1", "fe80::1"] {
        assert_eq!(index.lookup(private.parse().unwrap()), None, "{private}");
    }
}
