//! Company-level identification of website visitors from their IP address.
//!
//! Two sources of truth, both held in memory only:
//!
//! * [`AsnIndex`]: the IP-to-ASN-organisation dataset published as the npm
//!   package `@ip-location-db/asn` (see [`ASN_ATTRIBUTION`], which must be
//!   shown wherever the data is used). Every organisation carries an
//!   [`OrgKind`]: consumer access and mobile providers are
//!   [`OrgKind::ConsumerIsp`] and must never be presented as a visiting
//!   company (see [`classify`]).
//! * [`KnownNetworks`]: a workspace's own list of networks (`cidr,organisation`
//!   CSV), which takes precedence over the ASN data in the caller.
//!
//! This crate never stores, logs or returns IP addresses it is asked about;
//! a lookup returns the matching organisation or network and nothing else.

mod asn;
mod classify;
mod csv;
mod error;
mod known;

pub use asn::{AsnIndex, OrgKind, Organisation};
pub use classify::classify;
pub use error::GeoError;
/// The network type of [`KnownNetwork`], re-exported so callers build
/// rows with the same `ipnet` version.
pub use ipnet::IpNet;
pub use known::{KnownNetwork, KnownNetworks, MAX_KNOWN_NETWORKS, MAX_ORGANISATION_CHARS};

/// The attribution the CC BY 4.0 licence of the IP-to-ASN data requires;
/// show it wherever organisations from [`AsnIndex`] are displayed.
pub const ASN_ATTRIBUTION: &str = "IP-to-ASN data: ip-location-db (@ip-location-db/asn), from RouteViews and DB-IP, licensed CC BY 4.0.";
