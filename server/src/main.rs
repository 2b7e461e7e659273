//! `metiva`: the single binary. Parses the command line, loads the
//! configuration, and hands over to the command. Every failure ends as one
//! `metiva: error: …` line and a non-zero exit; nothing panics.

use std::process::ExitCode;

use clap::Parser as _;
use server::config::Config;
use server::{AuditCommand, Cli, Command, KeysCommand, database, http};

/// mimalloc instead of the system allocator: allocation and freeing were
/// about a third of a guarded page view's instructions under glibc's
/// allocator, with its per-thread arenas and consolidation (issue 15).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let command = match Cli::try_parse() {
        Ok(Cli { command: Some(c) }) => c,
        Ok(Cli { command: None }) => {
            // No command: the help, as `metiva --help` shows it.
            print!("{}", <Cli as clap::CommandFactory>::command().render_help());
            return ExitCode::SUCCESS;
        }
        Err(e) => return refused(&e),
    };
    if command == Command::Keygen {
        println!("{}", server::keygen());
        return ExitCode::SUCCESS;
    }
    server::observability::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Server-side rendering nests a page's components into one future
        // per request; a form-heavy page in a debug build outgrows the
        // default 2 MiB worker stack. 8 MiB is the main thread's own size.
        .thread_stack_size(8 * 1024 * 1024)
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
            Command::Keygen => Ok(()),
            Command::Audit {
                command: AuditCommand::Verify { company },
            } => database::audit_verify(&config, company.as_deref()).await,
            Command::Keys {
                command: KeysCommand::Rotate,
            } => server::keys::rotate(&config).await,
            Command::Keys {
                command: KeysCommand::RotateSigning,
            } => server::signing_keys::rotate(&config).await,
            Command::Keys {
                command: KeysCommand::MigrateValues { batch },
            } => server::keys::migrate_values(&config, batch).await,
            Command::Offboard { company, batch } => {
                server::keys::offboard(&config, &company, batch).await
            }
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

/// `--help` and `--version` print and succeed; anything else the parser
/// refused is one `metiva: error: …` line, clap's usage and hint, and exit
/// status 2.
fn refused(e: &clap::Error) -> ExitCode {
    if e.use_stderr() {
        // clap's message starts with `error: `.
        eprint!("metiva: {}", e.render());
    } else {
        let _ = e.print();
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
}
