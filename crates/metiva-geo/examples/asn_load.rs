//! Loads the IP-to-ASN dataset and reports how long it took and its size.
//!
//! ```sh
//! cargo run --release -p metiva-geo --example asn_load -- /path/to/package [IP...]
//! ```
//! The directory defaults to `$METIVA_ASN_DIR`.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Instant;

use metiva_geo::{ASN_ATTRIBUTION, AsnIndex};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args_os().skip(1);
    let dir = args
        .next()
        .or_else(|| std::env::var_os("METIVA_ASN_DIR"))
        .map(PathBuf::from)
        .ok_or("usage: asn_load DIR [IP...] (or set METIVA_ASN_DIR)")?;

    let started = Instant::now();
    let index = AsnIndex::load_dir(&dir)?;
    let elapsed = started.elapsed();
    println!(
        "loaded {index:?} ({} ranges) in {elapsed:.2?}",
        index.ranges()
    );

    let ips: Vec<IpAddr> = args
        .map(|arg| arg.to_string_lossy().parse())
        .collect::<Result<_, _>>()?;
    for ip in &ips {
        match index.lookup(*ip) {
            Some(org) => {
                let asn = org
                    .asn
                    .map_or_else(|| "?".to_owned(), |asn| asn.to_string());
                println!("{ip}: {} (AS{asn}, {:?})", org.name, org.kind);
            }
            None => println!("{ip}: no match"),
        }
    }

    let probes = 1_000_000u32;
    let started = Instant::now();
    let mut found = 0usize;
    for i in 0..probes {
        let ip = IpAddr::from(i.wrapping_mul(2_654_435_761).to_be_bytes());
        found += usize::from(index.lookup(ip).is_some());
    }
    let elapsed = started.elapsed();
    println!(
        "{probes} IPv4 lookups in {elapsed:.2?} ({:.0} ns each, {found} matched)",
        elapsed.as_nanos() as f64 / f64::from(probes)
    );
    println!("{ASN_ATTRIBUTION}");
    Ok(())
}
