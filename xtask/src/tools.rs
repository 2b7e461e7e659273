//! Installs what is missing, and nothing else. Every check is cheap, so a
//! warm machine pays a second at most.
//!
//! Nothing here downloads a binary from outside the package registries:
//! Tailwind and wasm-opt come from npm, Chromium and PostgreSQL from
//! Debian, cargo-leptos and wasm-bindgen from crates.io.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{root, sh};

/// cargo-leptos 0.3.11 needs rustc 1.96 with `--locked`; 0.3.10 builds here.
const CARGO_LEPTOS_VERSION: &str = "0.3.10";

/// Dependency checks `cargo xtask test` runs: (binary, crate, version).
const CARGO_TOOLS: [(&str, &str, &str); 2] = [
    ("deny", "cargo-deny", "0.20.2"),
    ("machete", "cargo-machete", "0.9.2"),
];

pub fn ensure_all(with_browser: bool) -> Result<()> {
    ensure_wasm_target()?;
    ensure_cargo_leptos()?;
    for (sub, krate, version) in CARGO_TOOLS {
        ensure_cargo_tool(sub, krate, version)?;
    }
    ensure_wasm_bindgen()?;
    ensure_npm(&root())?;
    ensure_postgres()?;
    ensure_test_network()?;
    if with_browser {
        ensure_npm(&root().join("end2end"))?;
        ensure_chromium()?;
    }
    Ok(())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ensure_wasm_target() -> Result<()> {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn ensure_cargo_leptos() -> Result<()> {
    let have = output(Command::new("cargo").args(["leptos", "--version"])).unwrap_or_default();
    if have.contains(CARGO_LEPTOS_VERSION) {
        return Ok(());
    }
    eprintln!("installing cargo-leptos {CARGO_LEPTOS_VERSION} (about 25 minutes on 2 cores, once)");
    // A quicker, verified-working release profile for a build tool.
    sh(Command::new("cargo")
        .args([
            "install",
            "cargo-leptos",
            "--version",
            CARGO_LEPTOS_VERSION,
            "--locked",
        ])
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1")
        .env_remove("CARGO_TARGET_DIR"))
}

/// `cargo <sub>` at `version`, installed from crates.io when missing
/// (cargo-deny takes about 6 minutes on 2 cores, cargo-machete about 3).
fn ensure_cargo_tool(sub: &str, krate: &str, version: &str) -> Result<()> {
    let have = output(Command::new("cargo").args([sub, "--version"])).unwrap_or_default();
    if have.contains(version) {
        return Ok(());
    }
    eprintln!("installing {krate} {version} (once)");
    sh(Command::new("cargo")
        .args(["install", krate, "--version", version, "--locked"])
        .env_remove("CARGO_TARGET_DIR"))
}

/// The wasm-bindgen version pinned in Cargo.lock; the CLI must equal it.
fn locked_wasm_bindgen() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_string());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn ensure_wasm_bindgen() -> Result<()> {
    let want = locked_wasm_bindgen()?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want.as_str()) {
        return Ok(());
    }
    eprintln!("installing wasm-bindgen-cli {want} (about 5 minutes, once)");
    // Without --locked: its lockfile pins a crate the registry doesn't serve.
    sh(Command::new("cargo")
        .args(["install", "wasm-bindgen-cli", "--version", &want])
        .env_remove("CARGO_TARGET_DIR"))
}

/// `npm ci` when node_modules is missing or older than the lockfile.
fn ensure_npm(dir: &Path) -> Result<()> {
    let lock = dir.join("package-lock.json");
    let marker = dir.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&marker)) {
        (Ok(l), Ok(m)) => match (l.modified(), m.modified()) {
            (Ok(l), Ok(m)) => m >= l,
            _ => false,
        },
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    sh(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        // Playwright drives Debian's Chromium; never download a browser.
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

fn apt_install(package: &str) -> Result<()> {
    if !is_root() {
        bail!("`{package}` is missing: install it with `sudo apt-get install -y {package}`");
    }
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    sh(Command::new("apt-get").arg("update").envs(env))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", package])
        .envs(env))
}

pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn ensure_chromium() -> Result<()> {
    if chromium_path().is_file() {
        return Ok(());
    }
    apt_install("chromium")
}

/// PgBouncer and openssl, for the suites' TLS and pooler setups.
fn ensure_test_network() -> Result<()> {
    if !Path::new("/usr/sbin/pgbouncer").is_file() {
        apt_install("pgbouncer")?;
    }
    if output(Command::new("openssl").arg("version")).is_none() {
        apt_install("openssl")?;
    }
    Ok(())
}

pub fn ensure_postgres() -> Result<()> {
    if metiva_embedded_pg::PgBinaries::locate().is_ok() {
        return Ok(());
    }
    apt_install("postgresql")?;
    metiva_embedded_pg::PgBinaries::locate()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("{e}"))
}
