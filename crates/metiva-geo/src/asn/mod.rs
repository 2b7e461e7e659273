//! The IP-to-ASN-organisation index: the types callers see, the sorted
//! range tables and their lookup. Reading the dataset's lines is in
//! [`parse`], deduplicating organisations while reading in [`org_table`].

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::error::GeoError;

use org_table::OrgTable;
use parse::parse_ranges;

mod org_table;
mod parse;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests;

/// The IPv4 file of `@ip-location-db/asn`.
const V4_FILE: &str = "asn-ipv4-num.csv";
/// The IPv6 file of `@ip-location-db/asn`.
const V6_FILE: &str = "asn-ipv6-num.csv";

/// What kind of network an organisation operates, as far as visitor
/// identification is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    /// An organisation that may be shown as the visiting company.
    Business,
    /// A consumer access, mobile or other internet service provider: the
    /// visitor is one of its customers (often a household), so it must never
    /// be presented as a visiting company.
    ConsumerIsp,
}

/// The organisation an address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    /// The organisation's name as published in the dataset.
    pub name: Arc<str>,
    /// The autonomous system number the address is announced by (always
    /// set for organisations from [`AsnIndex`]).
    pub asn: Option<u32>,
    /// Whether the organisation may be shown as a visiting company.
    pub kind: OrgKind,
}

/// An immutable, in-memory index from IP address to [`Organisation`], built
/// from the `@ip-location-db/asn` dataset (show [`crate::ASN_ATTRIBUTION`]
/// wherever its results are displayed).
///
/// The index holds sorted, non-overlapping address ranges per family, each
/// pointing into a table of organisations deduplicated by (ASN, name);
/// [`AsnIndex::lookup`] is a binary search. It is `Send + Sync` and meant to
/// be built once and shared (e.g. in an `Arc`).
///
/// Loading does not rely on the input being sorted or free of overlaps: the
/// ranges are sorted by (start, end, ASN, name), and a range that starts at
/// or before the end of the last range kept is dropped whole. The result is
/// therefore the same whatever the order of the input lines.
pub struct AsnIndex {
    v4: Vec<(u32, u32, u32)>,
    v6: Vec<(u128, u128, u32)>,
    orgs: Vec<Organisation>,
}

impl AsnIndex {
    /// An index without any ranges: every lookup returns `None`.
    pub fn empty() -> Self {
        Self {
            v4: Vec::new(),
            v6: Vec::new(),
            orgs: Vec::new(),
        }
    }

    /// Loads `asn-ipv4-num.csv` and `asn-ipv6-num.csv` from `dir` (the
    /// `package` directory of the npm package). Both files must exist.
    pub fn load_dir(dir: &Path) -> Result<Self, GeoError> {
        let v4_path = dir.join(V4_FILE);
        let v6_path = dir.join(V6_FILE);
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| GeoError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let v4 = read(&v4_path)?;
        let v6 = read(&v6_path)?;
        build(
            &v4,
            Some(v4_path.display().to_string()),
            &v6,
            Some(v6_path.display().to_string()),
        )
    }

    /// Builds an index from the contents of the two files, in the dataset's
    /// format: one range per line, `start,end,asn,organisation`, with `start`
    /// and `end` the first and last address as decimal integers and the
    /// organisation optionally CSV-quoted (`"Cloudflare, Inc."`, `""` for a
    /// quote). Blank lines are ignored; any malformed line is an error that
    /// names the file and line.
    pub fn from_csv(v4: &str, v6: &str) -> Result<Self, GeoError> {
        build(v4, Some(V4_FILE.to_owned()), v6, Some(V6_FILE.to_owned()))
    }

    /// The organisation `ip` belongs to, if any. IPv4-mapped IPv6 addresses
    /// (`::ffff:192.0.2.1`) are looked up as IPv4.
    pub fn lookup(&self, ip: IpAddr) -> Option<&Organisation> {
        let org = match ip.to_canonical() {
            IpAddr::V4(ip) => find(&self.v4, u32::from(ip)),
            IpAddr::V6(ip) => find(&self.v6, u128::from(ip)),
        }?;
        self.orgs.get(usize::try_from(org).ok()?)
    }

    /// The number of address ranges (IPv4 and IPv6) in the index.
    pub fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the index has no ranges at all.
    pub fn is_empty(&self) -> bool {
        self.ranges() == 0
    }
}

impl Default for AsnIndex {
    fn default() -> Self {
        Self::empty()
    }
}

impl fmt::Debug for AsnIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsnIndex")
            .field("v4_ranges", &self.v4.len())
            .field("v6_ranges", &self.v6.len())
            .field("organisations", &self.orgs.len())
            .finish()
    }
}

/// The range containing `ip` in sorted, non-overlapping `ranges`.
fn find<T: Ord + Copy>(ranges: &[(T, T, u32)], ip: T) -> Option<u32> {
    let after = ranges.partition_point(|&(start, _, _)| start <= ip);
    let &(_, end, org) = ranges.get(after.checked_sub(1)?)?;
    (ip <= end).then_some(org)
}

/// Parses both files into one organisation table and two normalised range
/// tables.
fn build(
    v4_text: &str,
    v4_file: Option<String>,
    v6_text: &str,
    v6_file: Option<String>,
) -> Result<AsnIndex, GeoError> {
    let mut orgs = OrgTable::default();
    let mut v4 = parse_ranges::<u32>(v4_text, v4_file, "IPv4", &mut orgs)?;
    let mut v6 = parse_ranges::<u128>(v6_text, v6_file, "IPv6", &mut orgs)?;
    let orgs = orgs.into_orgs();
    normalise(&mut v4, &orgs);
    normalise(&mut v6, &orgs);
    Ok(AsnIndex { v4, v6, orgs })
}

/// Sorts `ranges` deterministically and drops every range that overlaps one
/// kept before it.
fn normalise<T: Ord + Copy>(ranges: &mut Vec<(T, T, u32)>, orgs: &[Organisation]) {
    let key = |idx: u32| {
        usize::try_from(idx)
            .ok()
            .and_then(|i| orgs.get(i))
            .map(|org| (org.asn, org.name.as_ref()))
    };
    ranges.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| key(a.2).cmp(&key(b.2)))
    });
    let mut last_end: Option<T> = None;
    ranges.retain(|&(start, end, _)| {
        if last_end.is_some_and(|last| start <= last) {
            false
        } else {
            last_end = Some(end);
            true
        }
    });
    ranges.shrink_to_fit();
}
