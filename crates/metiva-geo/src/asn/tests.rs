//! Unit tests of the ASN index: parsing, error messages, boundaries, both
//! families, deduplication, overlaps, and lookups against a linear scan.

use super::*;
use std::net::{Ipv4Addr, Ipv6Addr};

fn ip4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse().unwrap())
}

fn ip6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().unwrap())
}

fn name(index: &AsnIndex, ip: IpAddr) -> Option<String> {
    index.lookup(ip).map(|org| org.name.to_string())
}

fn line_error(result: Result<AsnIndex, GeoError>) -> (Option<String>, usize, String) {
    match result {
        Err(GeoError::Line {
            file,
            line,
            message,
        }) => (file, line, message),
        Err(other) => panic!("expected a line error, got {other}"),
        Ok(index) => panic!("expected a line error, got {index:?}"),
    }
}

const CLOUDFLARE_V4: &str = "16777216,16777471,13335,\"Cloudflare, Inc.\"\n";

#[test]
fn quoted_names() {
    let v4 = concat!(
        "16777216,16777471,13335,\"Cloudflare, Inc.\"\n",
        "16778240,16779263,38803,Gtelecom Pty Ltd\n",
        "16781312,16781567,8193,\"\"\"Uzbektelekom\"\" Joint Stock Company\"\n",
        "16781568,16781569,64512,\"\"\n",
        "16781570,16781571,64513,  Padded Name  \r\n",
    );
    let index = AsnIndex::from_csv(v4, "").unwrap();
    assert_eq!(index.ranges(), 5);
    let org = index.lookup(ip4("1.0.0.1")).unwrap();
    assert_eq!(&*org.name, "Cloudflare, Inc.");
    assert_eq!(org.asn, Some(13335));
    assert_eq!(org.kind, OrgKind::Business);
    assert_eq!(
        name(&index, ip4("1.0.16.1")).as_deref(),
        Some("\"Uzbektelekom\" Joint Stock Company")
    );
    assert_eq!(name(&index, ip4("1.0.17.0")).as_deref(), Some("AS64512"));
    assert_eq!(
        name(&index, ip4("1.0.17.2")).as_deref(),
        Some("Padded Name")
    );
}

#[test]
fn malformed_lines_name_the_line() {
    let cases = [
        ("1,2,3,A\n\nbad\n", 3, "expected 4 fields"),
        ("1,2,3\n", 1, "expected 4 fields"),
        ("x,2,3,A\n", 1, "start \"x\" is not a decimal number"),
        ("-1,2,3,A\n", 1, "start \"-1\" is not a decimal number"),
        ("+1,2,3,A\n", 1, "not a decimal number"),
        ("1,,3,A\n", 1, "end \"\" is not a decimal number"),
        ("1,2,AS3,A\n", 1, "asn \"AS3\" is not a decimal number"),
        (
            "1,4294967296,3,A\n",
            1,
            "end 4294967296 is out of range for IPv4",
        ),
        ("1,2,4294967296,A\n", 1, "asn 4294967296 is out of range"),
        ("5,2,3,A\n", 1, "start 5 is greater than end 2"),
        ("1,2,3,A\n4,5,6,\"B\n", 2, "not closed"),
        ("1,2,3,A, Inc.\n", 1, "found 5"),
        ("1,2,3,\"A\" Inc\n", 1, "after a closing quote"),
        ("1,2,3,A \"B\"\n", 1, "contains a quote"),
    ];
    for (text, line, needle) in cases {
        let (file, got_line, message) = line_error(AsnIndex::from_csv(text, ""));
        assert_eq!(file.as_deref(), Some(V4_FILE), "{text:?}");
        assert_eq!(got_line, line, "{text:?}: {message}");
        assert!(message.contains(needle), "{text:?}: {message}");
    }
    let (file, line, message) = line_error(AsnIndex::from_csv(CLOUDFLARE_V4, "1,2,3,A\n1,2,3\n"));
    assert_eq!((file.as_deref(), line), (Some(V6_FILE), 2), "{message}");
    let (_, _, message) = line_error(AsnIndex::from_csv(
        "",
        "1,340282366920938463463374607431768211456,3,A\n",
    ));
    assert!(message.contains("out of range for IPv6"), "{message}");
    let err = AsnIndex::from_csv("1,2,3\n", "").unwrap_err();
    assert_eq!(
        err.to_string(),
        "asn-ipv4-num.csv, line 1: expected 4 fields (start,end,asn,organisation)"
    );
}

#[test]
fn boundaries() {
    let v4 = "167772160,167772415,64500,Ten\n167772416,167772416,64501,Single\n";
    let index = AsnIndex::from_csv(v4, "").unwrap();
    // 10.0.0.0 - 10.0.0.255, then 10.0.1.0 alone.
    assert_eq!(name(&index, ip4("9.255.255.255")), None);
    assert_eq!(name(&index, ip4("10.0.0.0")).as_deref(), Some("Ten"));
    assert_eq!(name(&index, ip4("10.0.0.128")).as_deref(), Some("Ten"));
    assert_eq!(name(&index, ip4("10.0.0.255")).as_deref(), Some("Ten"));
    assert_eq!(name(&index, ip4("10.0.1.0")).as_deref(), Some("Single"));
    assert_eq!(name(&index, ip4("10.0.1.1")), None);
    assert_eq!(name(&index, ip4("0.0.0.0")), None);
    assert_eq!(name(&index, ip4("255.255.255.255")), None);
    assert_eq!(
        name(&index, ip6("::a00:0")),
        None,
        "IPv4-compatible is not mapped"
    );

    let all = AsnIndex::from_csv("0,4294967295,1,All\n", "").unwrap();
    assert_eq!(name(&all, ip4("0.0.0.0")).as_deref(), Some("All"));
    assert_eq!(name(&all, ip4("255.255.255.255")).as_deref(), Some("All"));
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let index = AsnIndex::from_csv(CLOUDFLARE_V4, "").unwrap();
    assert_eq!(
        name(&index, ip6("::ffff:1.0.0.1")).as_deref(),
        Some("Cloudflare, Inc.")
    );
    assert_eq!(name(&index, ip6("::ffff:1.0.1.0")), None);
}

#[test]
fn ipv6_lookups() {
    let start = u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap());
    let end = u128::from(
        "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"
            .parse::<Ipv6Addr>()
            .unwrap(),
    );
    let top = u128::MAX;
    let v6_text = format!("{start},{end},64496,Doc Net\n{top},{top},64497,\"Top, Ltd\"\n");
    let index = AsnIndex::from_csv("", &v6_text).unwrap();
    assert_eq!(index.ranges(), 2);
    assert_eq!(
        name(&index, ip6("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff")),
        None
    );
    assert_eq!(name(&index, ip6("2001:db8::")).as_deref(), Some("Doc Net"));
    assert_eq!(
        name(&index, ip6("2001:db8:1234::1")).as_deref(),
        Some("Doc Net")
    );
    assert_eq!(
        name(&index, ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")).as_deref(),
        Some("Doc Net")
    );
    assert_eq!(name(&index, ip6("2001:db9::")), None);
    assert_eq!(
        name(&index, ip6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).as_deref(),
        Some("Top, Ltd")
    );
    assert_eq!(name(&index, ip6("::")), None);
    assert_eq!(
        name(&index, ip4("32.1.13.184")),
        None,
        "families are separate"
    );
}

#[test]
fn organisations_are_deduplicated_by_asn_and_name() {
    let v4 = "1,1,100,Acme\n3,3,100,Acme\n5,5,101,Acme\n7,7,100,Other\n";
    let v6 = "1,1,100,Acme\n";
    let index = AsnIndex::from_csv(v4, v6).unwrap();
    assert_eq!(index.orgs.len(), 3);
    let a = index.lookup(ip4("0.0.0.1")).unwrap();
    let b = index.lookup(ip4("0.0.0.3")).unwrap();
    let c = index.lookup(ip6("::1")).unwrap();
    assert!(Arc::ptr_eq(&a.name, &b.name) && Arc::ptr_eq(&a.name, &c.name));
    assert_eq!(index.lookup(ip4("0.0.0.5")).unwrap().asn, Some(101));
}

#[test]
fn overlaps_are_dropped_deterministically() {
    // Sorted: (10,20,A) kept; (10,30,B) and (15,25,C) overlap it and are
    // dropped; (21,22,D) starts after 20 and is kept; (22,40,E) overlaps D.
    let lines = [
        "10,30,2,B",
        "15,25,3,C",
        "10,20,1,A",
        "21,22,4,D",
        "22,40,5,E",
        "50,60,6,F",
    ];
    let expect = |index: &AsnIndex| {
        let got: Vec<_> = [10, 20, 21, 22, 23, 30, 40, 50]
            .map(|n| name(index, IpAddr::V4(Ipv4Addr::from(n))))
            .to_vec();
        let want = [
            Some("A"),
            Some("A"),
            Some("D"),
            Some("D"),
            None,
            None,
            None,
            Some("F"),
        ];
        assert_eq!(got, want.map(|n| n.map(str::to_owned)).to_vec());
        assert_eq!(index.ranges(), 3);
    };
    expect(&AsnIndex::from_csv(&lines.join("\n"), "").unwrap());
    let mut reversed = lines;
    reversed.reverse();
    expect(&AsnIndex::from_csv(&reversed.join("\n"), "").unwrap());
    // Same range twice with different organisations: the lower (ASN, name) wins.
    let index = AsnIndex::from_csv("1,2,7,Zed\n1,2,7,Alpha\n1,2,9,Aaa\n", "").unwrap();
    assert_eq!(name(&index, ip4("0.0.0.1")).as_deref(), Some("Alpha"));
}

#[test]
fn empty_index() {
    let index = AsnIndex::empty();
    assert!(index.is_empty());
    assert_eq!(index.ranges(), 0);
    assert_eq!(index.lookup(ip4("1.1.1.1")), None);
    assert_eq!(index.lookup(ip6("2001:db8::1")), None);
    let parsed = AsnIndex::from_csv("\n\n", "").unwrap();
    assert!(parsed.is_empty());
    assert!(AsnIndex::default().is_empty());
}

#[test]
fn load_dir_reports_missing_files() {
    let dir = std::env::temp_dir().join("metiva-geo-no-such-dir");
    match AsnIndex::load_dir(&dir) {
        Err(GeoError::Io { path, .. }) => assert!(path.ends_with(V4_FILE)),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn index_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AsnIndex>();
    assert_send_sync::<Organisation>();
}

/// A tiny xorshift64* generator, good enough for test data.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random non-overlapping ranges (with gaps and adjacent ranges), written
/// in shuffled order; every address in and around them is checked against
/// a linear scan.
#[test]
fn randomized_lookup_matches_linear_scan() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for round in 0..50 {
        let mut table: Vec<(u64, u64, u32)> = Vec::new();
        let mut next = rng.below(5);
        let count = rng.below(40);
        for _ in 0..count {
            let start = next + rng.below(4); // gap of 0..=3
            let end = start + rng.below(6);
            table.push((start, end, u32::try_from(rng.below(8)).unwrap()));
            next = end + 1;
        }
        let limit = next + 5;
        let mut shuffled = table.clone();
        for i in (1..shuffled.len()).rev() {
            let j = usize::try_from(rng.below(i as u64 + 1)).unwrap();
            shuffled.swap(i, j);
        }
        // IPv4 near zero, IPv6 near the top of the address space.
        let v6_base = u128::MAX - u128::from(limit);
        let v4_text: String = shuffled
            .iter()
            .map(|(s, e, o)| format!("{s},{e},{o},Org {o}\n"))
            .collect();
        let v6_text: String = shuffled
            .iter()
            .map(|(s, e, o)| {
                let (s, e) = (v6_base + u128::from(*s), v6_base + u128::from(*e));
                format!("{s},{e},{o},\"Org, {o}\"\n")
            })
            .collect();
        let index = AsnIndex::from_csv(&v4_text, &v6_text).unwrap();
        assert_eq!(index.ranges(), table.len() * 2, "round {round}");
        for ip in 0..=limit {
            let linear = table.iter().find(|(s, e, _)| *s <= ip && ip <= *e);
            let v4_ip = Ipv4Addr::from(u32::try_from(ip).unwrap());
            let got = index
                .lookup(IpAddr::V4(v4_ip))
                .map(|o| (o.asn, o.name.to_string()));
            let want = linear.map(|(_, _, o)| (Some(*o), format!("Org {o}")));
            assert_eq!(got, want, "round {round}, v4 {ip}");
            let mapped = IpAddr::V6(v4_ip.to_ipv6_mapped());
            assert_eq!(
                index.lookup(mapped).map(|o| o.name.to_string()),
                want.map(|(_, n)| n),
                "round {round}, mapped {ip}"
            );
            let v6_ip = Ipv6Addr::from(v6_base + u128::from(ip));
            let got = index.lookup(IpAddr::V6(v6_ip)).map(|o| o.name.to_string());
            let want = linear.map(|(_, _, o)| format!("Org, {o}"));
            assert_eq!(got, want, "round {round}, v6 {ip}");
        }
    }
}
