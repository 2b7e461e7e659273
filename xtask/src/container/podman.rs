//! Podman for the container test: its configuration, the local Debian
//! base (debootstrap, once), the runtime image build and one-off runs.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use super::{BASE, IMAGE, context_dir};
use crate::{root, sh, target_dir};

/// TOOLCHAIN.md: runc (crun refuses the hybrid cgroups here), limits the
/// machine can grant (no CAP_SYS_RESOURCE), events to a file.
pub(super) fn containers_conf() -> Result<PathBuf> {
    let dir = target_dir().join("container");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("containers.conf");
    std::fs::write(
        &path,
        "[containers]\ndefault_ulimits = [\"nofile=16384:16384\", \"nproc=16384:16384\"]\n\n[engine]\nruntime = \"runc\"\nevents_logger = \"file\"\n",
    )?;
    Ok(path)
}

pub(super) struct Podman {
    pub(super) conf: PathBuf,
}

impl Podman {
    pub(super) fn cmd(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", &self.conf);
        c
    }

    pub(super) fn out(&self, args: &[&str]) -> Result<String> {
        let out = self
            .cmd()
            .args(args)
            .output()
            .context("cannot start podman")?;
        if !out.status.success() {
            bail!(
                "podman {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    pub(super) fn image_id(&self, image: &str) -> Option<String> {
        self.out(&["image", "inspect", "--format", "{{.Id}}", image])
            .ok()
    }

    /// The Debian base, made once with debootstrap from the mirror apt
    /// already uses (1–2 minutes), then kept in podman's storage.
    pub(super) fn ensure_base(&self) -> Result<()> {
        if self.image_id(BASE).is_some() {
            return Ok(());
        }
        let t = Instant::now();
        let rootfs = target_dir().join("container/rootfs");
        let _ = std::fs::remove_dir_all(&rootfs);
        let mirror = debian_mirror();
        eprintln!("container: making {BASE} with debootstrap from {mirror} (once)");
        // Its hundreds of progress lines are shown only if it fails.
        let out = Command::new("debootstrap")
            .args(["--variant=minbase", "bookworm"])
            .arg(&rootfs)
            .arg(&mirror)
            .output()
            .context("cannot start debootstrap")?;
        if !out.status.success() {
            let log = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
            bail!("debootstrap failed ({})", out.status);
        }
        // Slim, as debian:bookworm-slim is: no package caches or lists, no
        // documentation.
        for dir in [
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
            "usr/share/locale",
        ] {
            let d = rootfs.join(dir);
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        for cache in ["pkgcache.bin", "srcpkgcache.bin"] {
            let _ = std::fs::remove_file(rootfs.join("var/cache/apt").join(cache));
        }
        let tar = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .args(["-c", "."])
            .stdout(Stdio::piped())
            .spawn()
            .context("tar")?;
        let status = self
            .cmd()
            .args(["import", "--quiet", "-", BASE])
            .stdin(tar.stdout.context("tar's output")?)
            .stdout(Stdio::null())
            .status()
            .context("podman import")?;
        let _ = std::fs::remove_dir_all(&rootfs);
        if !status.success() {
            bail!("podman import of the debootstrap root failed ({status})");
        }
        eprintln!(
            "container: {BASE} made in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// Builds the Dockerfile's `runtime` stage from the prepared context;
    /// returns the image size in bytes. The previous run's image is
    /// removed afterwards (its cached apt layer is shared, so it stays).
    pub(super) fn build(&self) -> Result<u64> {
        let previous = self.image_id(IMAGE);
        let t = Instant::now();
        sh(self
            .cmd()
            // HEALTHCHECK exists only in the docker format (OCI drops it).
            .args(["build", "--quiet", "--format", "docker", "--network=host"])
            .args(["--target", "runtime", "--build-arg", "DIST=dist-context"])
            .arg("--build-arg")
            .arg(format!("BASE={BASE}"))
            .arg("-f")
            .arg(root().join("Dockerfile"))
            .args(["-t", IMAGE])
            .arg(context_dir())
            .stdout(Stdio::null()))?;
        eprintln!(
            "container: runtime image built in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        if let Some(old) = previous
            && self.image_id(IMAGE).as_deref() != Some(old.as_str())
        {
            let _ = self.out(&["rmi", &old]);
        }
        self.out(&["image", "inspect", "--format", "{{.Size}}", IMAGE])?
            .parse()
            .context("image size")
    }

    /// Runs a one-off container to completion; its output on failure.
    pub(super) fn one_off(&self, args: &[String]) -> Result<String> {
        let out = self
            .cmd()
            .args(["run", "--rm", "--init", "--read-only", "--network=host"])
            .args(args)
            .output()
            .context("podman run")?;
        if !out.status.success() {
            bail!(
                "`podman run … {}` failed ({}): {}",
                args.last().map_or("", String::as_str),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// The first Debian mirror apt is configured with.
fn debian_mirror() -> String {
    let texts = [
        "/etc/apt/sources.list.d/debian.sources",
        "/etc/apt/sources.list",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .collect::<Vec<_>>();
    for text in &texts {
        for line in text.lines() {
            let url = line.strip_prefix("URIs:").map(str::trim).or_else(|| {
                line.strip_prefix("deb ")
                    .and_then(|l| l.split_whitespace().next())
            });
            if let Some(u) = url
                && u.starts_with("http")
                && !u.contains("security")
            {
                return u.to_string();
            }
        }
    }
    "http://deb.debian.org/debian".into()
}
