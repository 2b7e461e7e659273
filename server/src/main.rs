//! `metiva`: the single binary. Parses the command line, loads the
//! configuration, and hands over to the command. Every failure ends as one
//! `metiva: error: …` line and a non-zero exit; nothing panics.

use std::process::ExitCode;

use server::config::Config;
use server::{Command, USAGE, database, http, parse_args};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("metiva: error: {msg}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("metiva {}", app::BUILD_VERSION);
            return ExitCode::SUCCESS;
        }
        Command::Keygen => {
            println!("{}", server::keygen());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("metiva: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let config = Config::from_env()?;
        match command {
            Command::Serve { only } => http::serve(config, only).await,
            Command::Migrate => database::migrate_only(&config).await,
            Command::SeedDemo => database::seed_demo(&config).await,
            Command::Check => database::check(&config).await,
            Command::Help | Command::Version | Command::Keygen => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}` prints the whole cause chain on one line.
            eprintln!("metiva: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=warn,diesel_async=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
