//! `metiva-fakes`: every fake provider in one process, on fixed loopback
//! ports, for `cargo xtask run` (the demo) and the Playwright suite.
//!
//! ```text
//! metiva-fakes [--port-base 4010]
//!   stripe      127.0.0.1:4010   METIVA_STRIPE_API_BASE
//!   twilio      127.0.0.1:4011   METIVA_TWILIO_API_BASE
//!   google_ads  127.0.0.1:4012   METIVA_GOOGLE_ADS_API_BASE
//!   meta        127.0.0.1:4013   METIVA_META_API_BASE
//!   webhook     127.0.0.1:4014   (a workspace's lead destination URL)
//!   s3          127.0.0.1:4015   METIVA_S3_ENDPOINT (bucket metiva-test)
//! ```
//!
//! It prints one `export NAME=value` line per base URL, then
//! `metiva-fakes ready`, and runs until SIGTERM or Ctrl-C. Each recording
//! fake answers `GET /_fake/log` (what it received) and `POST /_fake/mode`
//! (`up`, `down`, `rate_limited:<secs>`).
//!
//! # Security
//! A test and demo tool only: it lives in the test kit, never in the
//! `metiva` binary, and binds loopback addresses only.

use metiva_testkit::fake_s3::{self, FakeS3};
use metiva_testkit::fake_stripe::FakeStripe;
use metiva_testkit::{fake_google_ads, fake_meta, fake_twilio, fake_webhook};

fn port_base() -> Result<u16, String> {
    let mut args = std::env::args().skip(1);
    let mut base: u16 = 4010;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port-base" => {
                base = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|p: &u16| *p >= 1024 && *p <= 65_000)
                    .ok_or("--port-base wants a port between 1024 and 65000")?;
            }
            "-h" | "--help" => {
                return Err("usage: metiva-fakes [--port-base 4010]".into());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(base)
}

#[tokio::main]
async fn main() {
    let base = match port_base() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let at = |offset: u16| format!("127.0.0.1:{}", base + offset);
    let stripe = FakeStripe::start_on(&at(0)).await;
    let twilio = fake_twilio::start_on(&at(1)).await;
    let google = fake_google_ads::start_on(&at(2)).await;
    let meta = fake_meta::start_on(&at(3)).await;
    let webhook = fake_webhook::start_on(&at(4)).await;
    let s3 = FakeS3::start_on(&at(5)).await;
    println!("export METIVA_STRIPE_API_BASE={}", stripe.base_url());
    println!("export METIVA_TWILIO_API_BASE={}", twilio.base_url());
    println!("export METIVA_GOOGLE_ADS_API_BASE={}", google.base_url());
    println!("export METIVA_META_API_BASE={}", meta.base_url());
    println!("# webhook receiver: {}/leads", webhook.base_url());
    // The fake bucket's fixed test credentials (not secrets).
    println!(
        "# object store: METIVA_OBJECT_STORE=s3 METIVA_S3_BUCKET={} METIVA_S3_ENDPOINT={}",
        fake_s3::BUCKET,
        s3.endpoint()
    );
    println!(
        "# AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}",
        fake_s3::ACCESS_KEY_ID,
        fake_s3::SECRET_ACCESS_KEY
    );
    println!("metiva-fakes ready");
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
