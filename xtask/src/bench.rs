//! `cargo xtask bench pages [flags]`: the pages under load (issue 15). The
//! release binary must exist (`cargo leptos build --release`, or `--bin`);
//! wrk comes from Debian. The bench starts its own embedded database, so
//! the test cluster is not needed. The driver is a debug build: wrk makes
//! the load, the driver only signs in, loads data and reads /proc.

use anyhow::{Result, bail};

use crate::{cargo, sh};

pub fn pages(args: &[String]) -> Result<()> {
    if std::process::Command::new("wrk")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!("wrk is missing: apt-get install -y wrk");
    }
    crate::tools::ensure_postgres()?;
    sh(cargo()
        .args(["run", "--quiet", "-p", "metiva-bench", "--", "pages"])
        .args(args))
}

/// `cargo xtask bench footprint [flags]`: the release binary's sizes, cold
/// start to /readyz (embedded and external PostgreSQL), memory idle and
/// under a /collect load, and /trust's first byte and weight (issue 19;
/// see bench/src/footprint.rs). Needs the release binary, wrk and curl;
/// starts its own private clusters, never the test cluster.
pub fn footprint(args: &[String]) -> Result<()> {
    for tool in ["wrk", "curl"] {
        if std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_err()
        {
            bail!("{tool} is missing: apt-get install -y {tool}");
        }
    }
    crate::tools::ensure_postgres()?;
    sh(cargo()
        .args(["run", "--quiet", "-p", "metiva-bench", "--", "footprint"])
        .args(args))
}
