//! Identifier newtypes, parsed at the edge.

use std::fmt;
use std::str::FromStr;

/// A company (tenant) id: `cmp_` followed by six lowercase hex digits, for
/// example `cmp_8fa2c1`.
///
/// # Security
/// The only constructor is [`CompanyId::parse`], so a `CompanyId` holds
/// nothing but `[a-z0-9_]`. The tenant binding sends it as a bind parameter
/// anyway (see `wire`), never spliced into SQL.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyId(String);

/// Why a string is not a company id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a company id looks like cmp_8fa2c1 (cmp_ and six hex digits)")]
pub struct InvalidCompanyId;

impl CompanyId {
    pub fn parse(s: &str) -> Result<Self, InvalidCompanyId> {
        let hex = s.strip_prefix("cmp_").ok_or(InvalidCompanyId)?;
        if hex.len() == 6 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_string()))
        } else {
            Err(InvalidCompanyId)
        }
    }

    /// A fresh random id.
    pub fn random() -> Self {
        let n: u32 = rand::random::<u32>() & 0x00ff_ffff;
        Self(format!("cmp_{n:06x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for CompanyId {
    type Err = InvalidCompanyId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CompanyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CompanyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompanyId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_the_documented_shape() {
        assert!(CompanyId::parse("cmp_8fa2c1").is_ok());
        for bad in [
            "",
            "cmp_",
            "cmp_8FA2C1",
            "cmp_8fa2c",
            "cmp_8fa2c12",
            "xyz_8fa2c1",
            "cmp_8fa2c'",
            "cmp_8fa2g1",
        ] {
            assert_eq!(CompanyId::parse(bad), Err(InvalidCompanyId), "{bad}");
        }
    }

    #[test]
    fn random_ids_parse() {
        for _ in 0..100 {
            let id = CompanyId::random();
            assert_eq!(CompanyId::parse(id.as_str()), Ok(id));
        }
    }
}
