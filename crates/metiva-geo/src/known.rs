//! A workspace's own list of known networks.
//!
//! CIDR syntax, masking and containment are `ipnet`'s; this module adds the
//! CSV format, the error messages a person can act on, and the
//! longest-prefix index.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::csv::split_record;
use crate::error::GeoError;

/// The most rows a known-networks CSV may have.
pub const MAX_KNOWN_NETWORKS: usize = 10_000;

/// The longest organisation name (in characters) a known network may have.
pub const MAX_ORGANISATION_CHARS: usize = 200;

/// One network of a workspace's known-networks list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownNetwork {
    /// The network (host bits zero and IPv4-mapped IPv6 networks written as
    /// IPv4 when produced by [`KnownNetworks::parse_csv`]).
    pub network: IpNet,
    /// The organisation to show for visitors from this network.
    pub organisation: String,
}

impl KnownNetwork {
    /// The network in CIDR notation, such as `192.0.2.0/24`.
    pub fn cidr(&self) -> String {
        self.network.to_string()
    }

    /// Whether `ip` lies in this network. IPv4-mapped IPv6 addresses are
    /// treated as IPv4. Host bits of `network` (in a value built by hand) are
    /// ignored rather than rejected.
    pub fn contains(&self, ip: IpAddr) -> bool {
        canonical(self.network).contains(&ip.to_canonical())
    }
}

/// A workspace's known networks, indexed for longest-prefix lookup.
///
/// Built from at most a few thousand rows; [`KnownNetworks::lookup`] does one
/// binary search per distinct prefix length in use.
#[derive(Debug, Clone, Default)]
pub struct KnownNetworks {
    rows: Vec<KnownNetwork>,
    v4: Vec<Group<Ipv4Addr>>,
    v6: Vec<Group<Ipv6Addr>>,
}

/// The networks of one prefix length, as (network address, row index)
/// sorted.
#[derive(Debug, Clone)]
struct Group<A> {
    prefix: u8,
    entries: Vec<(A, usize)>,
}

impl KnownNetworks {
    /// Parses a known-networks CSV.
    ///
    /// The first line must be the header `cidr,organisation` (case does not
    /// matter; `organization` is accepted too, and `;` may be used instead of
    /// `,` throughout, as spreadsheet programs in some locales do). Each
    /// following line holds a network in CIDR notation (`192.0.2.0/24`,
    /// `2001:db8:abcd::/48`; a bare address means a single host) and an
    /// organisation name of 1 to [`MAX_ORGANISATION_CHARS`] characters,
    /// CSV-quoted if it contains the delimiter (`"Acme, BV"`). Blank lines are
    /// ignored; a UTF-8 byte order mark is allowed.
    ///
    /// Errors name the 1-based line and the problem, e.g.
    /// `line 3: "192.0.2.0/33" is not a CIDR network (...)`. A network with
    /// host bits set is rejected (`"192.0.2.1/24": host bits set; did you
    /// mean 192.0.2.0/24?`), as is a network listed twice. More than
    /// [`MAX_KNOWN_NETWORKS`] rows is [`GeoError::TooMany`].
    pub fn parse_csv(text: &str) -> Result<Vec<KnownNetwork>, GeoError> {
        let error = |line: usize, message: String| GeoError::Line {
            file: None,
            line,
            message,
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate();
        let Some((_, header)) = lines.next() else {
            return Err(error(
                1,
                "the file is empty; expected the header \"cidr,organisation\"".to_owned(),
            ));
        };
        let delim = if header.contains(';') && !header.contains(',') {
            ';'
        } else {
            ','
        };
        if !is_header(header, delim) {
            return Err(error(
                1,
                format!(
                    "expected the header \"cidr,organisation\", found {:?}",
                    shorten(header)
                ),
            ));
        }

        let mut rows: Vec<KnownNetwork> = Vec::new();
        let mut seen: HashMap<IpNet, usize> = HashMap::new();
        for (i, line) in lines {
            let line_no = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            if rows.len() >= MAX_KNOWN_NETWORKS {
                return Err(GeoError::TooMany {
                    max: MAX_KNOWN_NETWORKS,
                });
            }
            let row = parse_row(line, delim).map_err(|message| error(line_no, message))?;
            match seen.entry(row.network) {
                Entry::Occupied(first) => {
                    return Err(error(
                        line_no,
                        format!("{} is already listed on line {}", row.cidr(), first.get()),
                    ));
                }
                Entry::Vacant(slot) => {
                    slot.insert(line_no);
                }
            }
            rows.push(row);
        }
        Ok(rows)
    }

    /// Indexes `rows`. Rows need not come from [`KnownNetworks::parse_csv`]:
    /// host bits are ignored, and IPv4-mapped IPv6 networks (prefix 96 or
    /// more) count as IPv4. When the same network is listed twice, the first
    /// row wins.
    pub fn new(rows: Vec<KnownNetwork>) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for (idx, row) in rows.iter().enumerate() {
            match canonical(row.network) {
                IpNet::V4(net) => v4.push((net.prefix_len(), net.network(), idx)),
                IpNet::V6(net) => v6.push((net.prefix_len(), net.network(), idx)),
            }
        }
        Self {
            rows,
            v4: group(v4),
            v6: group(v6),
        }
    }

    /// The most specific (longest-prefix) network containing `ip`, if any.
    /// IPv4-mapped IPv6 addresses are looked up as IPv4.
    pub fn lookup(&self, ip: IpAddr) -> Option<&KnownNetwork> {
        let idx = match ip.to_canonical() {
            IpAddr::V4(ip) => longest_match(&self.v4, |prefix| {
                Ipv4Net::new(ip, prefix).ok().map(|net| net.network())
            }),
            IpAddr::V6(ip) => longest_match(&self.v6, |prefix| {
                Ipv6Net::new(ip, prefix).ok().map(|net| net.network())
            }),
        }?;
        self.rows.get(idx)
    }
}

/// Groups (prefix, network, row) by prefix, longest prefix first.
fn group<A: Ord + Copy>(mut entries: Vec<(u8, A, usize)>) -> Vec<Group<A>> {
    entries.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut groups: Vec<Group<A>> = Vec::new();
    for (prefix, net, idx) in entries {
        match groups.last_mut() {
            Some(last) if last.prefix == prefix => last.entries.push((net, idx)),
            _ => groups.push(Group {
                prefix,
                entries: vec![(net, idx)],
            }),
        }
    }
    groups
}

/// The row of the longest prefix whose group holds the network `network_of`
/// gives for that prefix (the address being looked up, truncated).
fn longest_match<A: Ord + Copy>(
    groups: &[Group<A>],
    network_of: impl Fn(u8) -> Option<A>,
) -> Option<usize> {
    groups.iter().find_map(|group| {
        let net = network_of(group.prefix)?;
        let at = group.entries.partition_point(|&(n, _)| n < net);
        match group.entries.get(at) {
            Some(&(n, idx)) if n == net => Some(idx),
            _ => None,
        }
    })
}

/// An IPv4-mapped IPv6 network of prefix 96 or more as the IPv4 network it
/// stands for; anything else unchanged.
fn canonical(network: IpNet) -> IpNet {
    match network {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => v6
            .addr()
            .to_ipv4_mapped()
            .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok())
            .map_or(network, IpNet::V4),
        _ => network,
    }
}

fn is_header(line: &str, delim: char) -> bool {
    let Ok(fields) = split_record(line, delim) else {
        return false;
    };
    let fields: Vec<String> = fields.iter().map(|f| f.trim().to_lowercase()).collect();
    matches!(
        fields
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["cidr", "organisation" | "organization"]
    )
}

fn parse_row(line: &str, delim: char) -> Result<KnownNetwork, String> {
    let fields = split_record(line, delim)?;
    let [cidr, organisation] = fields.as_slice() else {
        let extra = if fields.len() > 2 {
            format!("; put the organisation in double quotes if it contains a {delim:?}")
        } else {
            String::new()
        };
        return Err(format!(
            "expected 2 fields (cidr{delim}organisation) but found {}{extra}",
            fields.len()
        ));
    };
    let network = parse_cidr(cidr.trim())?;
    let organisation = organisation.trim();
    if organisation.is_empty() {
        return Err("the organisation is empty".to_owned());
    }
    let chars = organisation.chars().count();
    if chars > MAX_ORGANISATION_CHARS {
        return Err(format!(
            "the organisation is {chars} characters long; at most {MAX_ORGANISATION_CHARS} are allowed"
        ));
    }
    if organisation.chars().any(char::is_control) {
        return Err("the organisation contains a control character".to_owned());
    }
    Ok(KnownNetwork {
        network,
        organisation: organisation.to_owned(),
    })
}

/// Parses `address/prefix` (or a bare address, meaning a single host),
/// rejecting host bits. IPv4-mapped IPv6 networks become IPv4.
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    if text.is_empty() {
        return Err("the cidr field is empty".to_owned());
    }
    let network = match text.parse::<IpNet>() {
        Ok(network) => network,
        // A bare address is a single host.
        Err(_) => match text.parse::<IpAddr>() {
            Ok(host) => IpNet::from(host),
            Err(_) => {
                return Err(format!(
                    "{:?} is not a CIDR network ({})",
                    shorten(text),
                    why_not_cidr(text)
                ));
            }
        },
    };
    let network = canonical(network);
    let truncated = network.trunc();
    if truncated != network {
        return Err(format!(
            "{:?}: host bits set; did you mean {truncated}?",
            shorten(text)
        ));
    }
    Ok(network)
}

/// Which part of `text`, which `ipnet` refused, is wrong: the address, or
/// the prefix length after it.
fn why_not_cidr(text: &str) -> String {
    let (address, prefix) = text.split_once('/').unwrap_or((text, ""));
    let Ok(address) = address.parse::<IpAddr>() else {
        return "expected an address and prefix length, such as 192.0.2.0/24 or 2001:db8::/48"
            .to_owned();
    };
    let (family, max) = match address {
        IpAddr::V4(_) => ("IPv4", 32),
        IpAddr::V6(_) => ("IPv6", 128),
    };
    if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) {
        // Out of range, or more digits than the family needs (`/0024`).
        format!("an {family} prefix length is 0 to {max}")
    } else {
        "the prefix length is not a number".to_owned()
    }
}

/// `text`, cut to a length fit for an error message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(MAX - 1).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(cidr: &str, organisation: &str) -> KnownNetwork {
        KnownNetwork {
            network: parse_cidr(cidr).unwrap(),
            organisation: organisation.to_owned(),
        }
    }

    fn line_error(text: &str) -> (usize, String) {
        match KnownNetworks::parse_csv(text) {
            Err(GeoError::Line {
                file: None,
                line,
                message,
            }) => (line, message),
            other => panic!("expected a line error for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn parses_rows() {
        let text = "\u{feff}CIDR , Organisation\r\n\
                    192.0.2.0/24,Acme BV\r\n\
                    \r\n\
                    2001:db8:abcd::/48,\"Acme, BV\"\r\n\
                    198.51.100.7,\"The \"\"Best\"\" Co\"\n\
                    ::ffff:203.0.113.0/120,  Mapped Ltd  \n";
        let rows = KnownNetworks::parse_csv(text).unwrap();
        assert_eq!(
            rows,
            vec![
                net("192.0.2.0/24", "Acme BV"),
                net("2001:db8:abcd::/48", "Acme, BV"),
                net("198.51.100.7/32", "The \"Best\" Co"),
                net("203.0.113.0/24", "Mapped Ltd"),
            ]
        );
        assert_eq!(rows[1].cidr(), "2001:db8:abcd::/48");
        assert_eq!(rows[2].cidr(), "198.51.100.7/32");
        assert_eq!(rows[3].cidr(), "203.0.113.0/24");

        let semicolons = "cidr;organization\n192.0.2.0/24;\"Acme; BV\"\n10.0.0.0/8;Acme, BV\n";
        let rows = KnownNetworks::parse_csv(semicolons).unwrap();
        assert_eq!(rows[0].organisation, "Acme; BV");
        assert_eq!(rows[1].organisation, "Acme, BV");

        assert_eq!(KnownNetworks::parse_csv("cidr,organisation\n").unwrap(), []);
        assert_eq!(KnownNetworks::parse_csv("cidr,organisation").unwrap(), []);
    }

    #[test]
    fn errors_name_the_line() {
        let h = "cidr,organisation\n";
        let cases: &[(&str, usize, &str)] = &[
            ("", 1, "the file is empty"),
            (
                "192.0.2.0/24,Acme\n",
                1,
                "expected the header \"cidr,organisation\", found \"192.0.2.0/24,Acme\"",
            ),
            ("cidr,organisation,extra\n", 1, "expected the header"),
            ("\"cidr,organisation\n", 1, "expected the header"),
            (
                "cidr,organisation\n192.0.2.0/24,A\n\n192.0.2.0/33,B\n",
                4,
                "\"192.0.2.0/33\" is not a CIDR network (an IPv4 prefix length is 0 to 32)",
            ),
            (
                "cidr,organisation\n2001:db8::/129,B\n",
                2,
                "an IPv6 prefix length is 0 to 128",
            ),
            (
                "cidr,organisation\n192.0.2.1/24,B\n",
                2,
                "\"192.0.2.1/24\": host bits set; did you mean 192.0.2.0/24?",
            ),
            (
                "cidr,organisation\n2001:db8::1/48,B\n",
                2,
                "did you mean 2001:db8::/48?",
            ),
            (
                "cidr,organisation\nacme.example/24,B\n",
                2,
                "\"acme.example/24\" is not a CIDR network",
            ),
            (
                "cidr,organisation\n192.0.2.0/,B\n",
                2,
                "the prefix length is not a number",
            ),
            (
                "cidr,organisation\n192.0.2.0/+24,B\n",
                2,
                "the prefix length is not a number",
            ),
            (
                "cidr,organisation\n192.0.2.0/0024,B\n",
                2,
                "an IPv4 prefix length is 0 to 32",
            ),
            (
                "cidr,organisation\n2001:db8::/1280,B\n",
                2,
                "an IPv6 prefix length is 0 to 128",
            ),
            (
                "cidr,organisation\n192.0.2.0/24x,B\n",
                2,
                "the prefix length is not a number",
            ),
            (
                "cidr,organisation\n192.0.2.00/24,B\n",
                2,
                "expected an address and prefix length",
            ),
            (
                "cidr,organisation\n192.0.2.0/24/1,B\n",
                2,
                "not a CIDR network",
            ),
            (
                "cidr,organisation\n192.0.2.0/24,Acme, BV\n",
                2,
                "expected 2 fields (cidr,organisation) but found 3; put the organisation in double quotes",
            ),
            ("cidr,organisation\n192.0.2.0/24\n", 2, "but found 1"),
            ("cidr,organisation\n,Acme\n", 2, "the cidr field is empty"),
            (
                "cidr,organisation\n192.0.2.0/24,  \n",
                2,
                "the organisation is empty",
            ),
            ("cidr,organisation\n192.0.2.0/24,\"Acme\n", 2, "not closed"),
            (
                "cidr,organisation\n192.0.2.0/24,A\tB\n",
                2,
                "control character",
            ),
            (
                "cidr,organisation\n192.0.2.0/24,A\n10.0.0.0/8,B\n192.0.2.0/24,C\n",
                4,
                "192.0.2.0/24 is already listed on line 2",
            ),
        ];
        for &(text, line, needle) in cases {
            let (got_line, message) = line_error(text);
            assert_eq!(got_line, line, "{text:?}: {message}");
            assert!(message.contains(needle), "{text:?}: {message}");
        }
        let err =
            KnownNetworks::parse_csv(&format!("{h}10.0.0.0/8,A\n192.0.2.0/33,B\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: \"192.0.2.0/33\" is not a CIDR network (an IPv4 prefix length is 0 to 32)"
        );
        let long = "x".repeat(300);
        let (_, message) = line_error(&format!("{h}{long}/8,A\n"));
        assert!(message.chars().count() < 200, "{message}");
    }

    #[test]
    fn limits() {
        let h = "cidr,organisation\n";
        let ok = "é".repeat(MAX_ORGANISATION_CHARS);
        let rows = KnownNetworks::parse_csv(&format!("{h}10.0.0.0/8,{ok}\n")).unwrap();
        assert_eq!(rows[0].organisation, ok);
        let (line, message) = line_error(&format!("{h}10.0.0.0/8,{ok}x\n"));
        assert_eq!(line, 2);
        assert!(message.contains("201 characters"), "{message}");

        let body = |n: u32| -> String {
            (0..n)
                .map(|i| format!("{}/32,Org {i}\n", Ipv4Addr::from(0x0a00_0000 + i)))
                .collect()
        };
        let max = u32::try_from(MAX_KNOWN_NETWORKS).unwrap();
        let rows = KnownNetworks::parse_csv(&format!("{h}{}", body(max))).unwrap();
        assert_eq!(rows.len(), MAX_KNOWN_NETWORKS);
        match KnownNetworks::parse_csv(&format!("{h}{}", body(max + 1))) {
            Err(GeoError::TooMany { max }) => assert_eq!(max, MAX_KNOWN_NETWORKS),
            other => panic!("expected TooMany, got {other:?}"),
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let networks = KnownNetworks::new(vec![
            net("10.0.0.0/8", "Eight"),
            net("10.1.2.0/24", "TwentyFour"),
            net("10.1.0.0/16", "Sixteen"),
            net("10.1.2.3/32", "Host"),
            net("2001:db8::/32", "Doc"),
            net("2001:db8:abcd::/48", "Acme"),
            net("0.0.0.0/0", "Everything v4"),
        ]);
        let org = |s: &str| networks.lookup(ip(s)).map(|n| n.organisation.as_str());
        assert_eq!(org("10.1.2.3"), Some("Host"));
        assert_eq!(org("10.1.2.4"), Some("TwentyFour"));
        assert_eq!(org("10.1.2.255"), Some("TwentyFour"));
        assert_eq!(org("10.1.3.0"), Some("Sixteen"));
        assert_eq!(org("10.1.255.255"), Some("Sixteen"));
        assert_eq!(org("10.0.255.255"), Some("Eight"));
        assert_eq!(org("10.2.0.0"), Some("Eight"));
        assert_eq!(org("11.0.0.0"), Some("Everything v4"));
        assert_eq!(org("::ffff:10.1.2.3"), Some("Host"));
        assert_eq!(org("2001:db8:abcd:1::5"), Some("Acme"));
        assert_eq!(org("2001:db8:abce::"), Some("Doc"));
        assert_eq!(org("2001:db9::"), None);
        assert_eq!(org("::"), None);

        let empty = KnownNetworks::new(Vec::new());
        assert_eq!(empty.lookup(ip("10.0.0.1")), None);
        assert_eq!(KnownNetworks::default().lookup(ip("::1")), None);
    }

    #[test]
    fn first_row_wins_a_tie_and_hand_built_rows_are_normalised() {
        // Rows built by hand, not parsed: host bits set, IPv4-mapped.
        let odd = |network: &str, prefix: u8, organisation: &str| KnownNetwork {
            network: IpNet::new(ip(network), prefix).unwrap(),
            organisation: organisation.to_owned(),
        };
        let rows = vec![
            odd("192.0.2.77", 24, "First"), // host bits set
            odd("192.0.2.0", 24, "Second"),
            odd("::ffff:203.0.113.9", 120, "Mapped"),
            odd("::ffff:0.0.0.0", 95, "Not mapped"),
        ];
        assert_eq!(rows[0].cidr(), "192.0.2.77/24");
        let networks = KnownNetworks::new(rows.clone());
        let org = |s: &str| networks.lookup(ip(s)).map(|n| n.organisation.as_str());
        assert_eq!(org("192.0.2.1"), Some("First"));
        assert_eq!(org("203.0.113.200"), Some("Mapped"));
        assert_eq!(org("::ffff:203.0.113.200"), Some("Mapped"));
        assert_eq!(org("198.51.100.1"), None, "a /95 is an IPv6 network");
        assert_eq!(org("::fffe:0:1"), Some("Not mapped"));
        assert!(rows[0].contains(ip("192.0.2.200")));
        assert!(rows[2].contains(ip("203.0.113.1")));
        assert!(rows[2].contains(ip("::ffff:203.0.113.1")));
        assert!(!rows[2].contains(ip("203.0.114.1")));
    }

    #[test]
    fn contains() {
        let n = net("192.0.2.0/24", "A");
        assert!(n.contains(ip("192.0.2.0")));
        assert!(n.contains(ip("192.0.2.255")));
        assert!(n.contains(ip("::ffff:192.0.2.9")));
        assert!(!n.contains(ip("192.0.1.255")));
        assert!(!n.contains(ip("192.0.3.0")));
        assert!(!n.contains(ip("::c000:200")));
        let all = net("::/0", "All v6");
        assert!(all.contains(ip("2001:db8::1")));
        assert!(!all.contains(ip("192.0.2.1")));
        assert!(!all.contains(ip("::ffff:192.0.2.1")));
    }

    /// Lookup agrees with a linear scan for the longest containing prefix
    /// (first row on a tie), over random networks and addresses.
    #[test]
    fn randomized_lookup_matches_linear_scan() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200 {
            let count = next() % 30;
            let rows: Vec<KnownNetwork> = (0..count)
                .map(|i| {
                    // Addresses in 10.0.0.0/22 so networks overlap often.
                    let addr = 0x0a00_0000 | u32::try_from(next() % 1024).unwrap();
                    let prefix = 20 + u8::try_from(next() % 13).unwrap();
                    KnownNetwork {
                        network: IpNet::V4(Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap())
                            .trunc(),
                        organisation: format!("Org {i}"),
                    }
                })
                .collect();
            let networks = KnownNetworks::new(rows.clone());
            for _ in 0..200 {
                let addr = IpAddr::V4(Ipv4Addr::from(
                    0x0a00_0000 | u32::try_from(next() % 1100).unwrap(),
                ));
                let mut best: Option<&KnownNetwork> = None;
                for row in &rows {
                    if row.contains(addr)
                        && best.is_none_or(|b| row.network.prefix_len() > b.network.prefix_len())
                    {
                        best = Some(row);
                    }
                }
                assert_eq!(networks.lookup(addr), best, "{addr}");
            }
        }
    }
}
