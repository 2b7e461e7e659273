//! Organisations deduplicated by (ASN, name) while the dataset is read, so
//! each name is stored once however many ranges share it.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::Organisation;
use crate::classify::classify;

/// Organisations deduplicated by (ASN, name) while parsing. An ASN almost
/// always has a single name: `first` maps it to its first organisation,
/// `others` holds any further names.
#[derive(Default)]
pub(super) struct OrgTable {
    orgs: Vec<Organisation>,
    first: HashMap<u32, u32, BuildHasherDefault<AsnHasher>>,
    others: HashMap<(u32, Arc<str>), u32>,
}

impl OrgTable {
    /// The index of the organisation, adding it on first sight; `None` when
    /// there are more organisations than a `u32` can count.
    pub(super) fn intern(&mut self, asn: u32, name: &str) -> Option<u32> {
        let first = self.first.get(&asn).copied();
        if let Some(idx) = first {
            let same = usize::try_from(idx)
                .ok()
                .and_then(|i| self.orgs.get(i))
                .is_some_and(|org| &*org.name == name);
            if same {
                return Some(idx);
            }
            if let Some(&idx) = self.others.get(&(asn, Arc::from(name))) {
                return Some(idx);
            }
        }
        let idx = u32::try_from(self.orgs.len()).ok()?;
        let shared: Arc<str> = Arc::from(name);
        if first.is_some() {
            self.others.insert((asn, Arc::clone(&shared)), idx);
        } else {
            self.first.insert(asn, idx);
        }
        self.orgs.push(Organisation {
            kind: classify(asn, name),
            name: shared,
            asn: Some(asn),
        });
        Some(idx)
    }

    /// The organisations, indexed by what [`OrgTable::intern`] returned.
    pub(super) fn into_orgs(self) -> Vec<Organisation> {
        self.orgs
    }
}

/// A fast hasher for the (trusted, not attacker-chosen) ASN keys of
/// [`OrgTable`]: a Fibonacci multiply of the number.
#[derive(Default)]
struct AsnHasher(u64);

impl Hasher for AsnHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
