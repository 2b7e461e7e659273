//! The `metiva` server library: configuration and startup checks, the axum
//! routers (dashboard, login service), the CLI (parsed with clap).
//! `main.rs` is a thin shell around it so integration tests can drive the
//! routers in process.

// The visits table's row (a reveal form with a reason select inside a
// <details>) nests Leptos view types deeper than rustc's default 128
// query depth allows when laying out its async render.
#![recursion_limit = "256"]

pub mod checks;
pub mod config;
pub mod database;
pub mod file_store;
pub mod http;
pub mod key_rotation;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod observability;
pub mod retention_sweep;
pub mod shutdown;
pub mod signing_keys;
pub mod worker;

/// What `metiva --help` says after the commands.
const ENVIRONMENT: &str = "\
Environment (see README.md): METIVA_ENV, DATABASE_URL, DATABASE_MIGRATION_URL,
METIVA_DATA_DIR, METIVA_APP_ADDR, METIVA_LOGIN_ADDR, METIVA_APP_URL,
METIVA_LOGIN_URL, METIVA_REGION, METIVA_ENCRYPTION_KEY, LEPTOS_SITE_ROOT,
METIVA_METRICS_ADDR, METIVA_LIMIT_*.
With no DATABASE_URL outside production, metiva starts its own private
PostgreSQL under METIVA_DATA_DIR (default .metiva/): the embedded default.";

/// The command line: `metiva <command> [options]`. With no command it
/// shows the help; `help` and `--help` do too, `--version` the version.
#[derive(Debug, clap::Parser)]
#[command(
    name = "metiva",
    version = app::BUILD_VERSION,
    about = "metiva: a multi-tenant workspace for Dutch marketing and sales agencies",
    after_help = ENVIRONMENT
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the command line asked for.
#[derive(Debug, PartialEq, clap::Subcommand)]
pub enum Command {
    /// Run the dashboard (127.0.0.1:3000) and the login service
    /// (127.0.0.1:3001) and the job worker in one process; --only
    /// app|login|worker runs one of them
    Serve {
        /// Run only this service
        #[arg(long, value_name = "SERVICE")]
        only: Option<http::Service>,
    },
    /// Apply database migrations as the owner role
    Migrate,
    /// Load the demo workspaces and users (refused in production)
    SeedDemo,
    /// Production-readiness checks, one line each; exits non-zero on any
    /// failure
    Check,
    /// Print a fresh METIVA_ENCRYPTION_KEY and METIVA_TOKEN_SIGNING_KEY
    Keygen,
    /// The audit log's hash chains (run as the owner role)
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Per-workspace data keys (run as the owner role)
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Offboard a workspace: delete all its rows, destroy its data key,
    /// keep a receipt (run as the owner role; run again to resume)
    Offboard {
        /// The workspace's id
        #[arg(value_name = "cmp_…")]
        company: String,
        /// Rows deleted per transaction
        #[arg(long, default_value_t = 5000)]
        batch: i64,
    },
}

/// `metiva keys …`.
#[derive(Debug, PartialEq, clap::Subcommand)]
pub enum KeysCommand {
    /// Rewrap every workspace's data key under METIVA_ENCRYPTION_KEY (the
    /// previous key listed in METIVA_ENCRYPTION_KEYS_RETIRED); resumable
    Rotate,
    /// Rotate the token signing key: next becomes current, current
    /// retires (its tokens stay valid until they expire), a fresh next is
    /// published; every instance picks it up
    RotateSigning,
    /// Move values sealed under a master key to their workspace's data
    /// key, in batches; resumable
    MigrateValues {
        /// Rows per transaction
        #[arg(long, default_value_t = 1000)]
        batch: i64,
    },
}

/// `metiva audit …`.
#[derive(Debug, PartialEq, clap::Subcommand)]
pub enum AuditCommand {
    /// Check every company's audit chain (or one), one line each; exits
    /// non-zero naming the first broken row of any broken chain
    Verify {
        /// Check only this company
        #[arg(long, value_name = "cmp_…")]
        company: Option<String>,
    },
}

/// `metiva keygen`: fresh keys from the OS's CSPRNG, in the form `metiva
/// check` accepts: the field-encryption key and the login service's Ed25519
/// seed, with the public key id the dashboard will know it by.
pub fn keygen() -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key: [u8; 32] = rand::random();
    let (signer, seed) = metiva_security::token::TokenSigner::generate();
    format!(
        "METIVA_ENCRYPTION_KEY={}\nMETIVA_TOKEN_SIGNING_KEY={}\n# token key id: {}",
        b64.encode(key),
        b64.encode(seed),
        signer.public_key().kid
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use clap::error::ErrorKind;

    use super::*;

    fn parse(s: &str) -> Result<Option<Command>, ErrorKind> {
        Cli::try_parse_from(std::iter::once("metiva").chain(s.split_whitespace()))
            .map(|c| c.command)
            .map_err(|e| e.kind())
    }

    #[test]
    fn parses_the_commands() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("--help"), Err(ErrorKind::DisplayHelp));
        assert_eq!(parse("-h"), Err(ErrorKind::DisplayHelp));
        assert_eq!(parse("help"), Err(ErrorKind::DisplayHelp));
        assert_eq!(parse("--version"), Err(ErrorKind::DisplayVersion));
        assert_eq!(parse("-V"), Err(ErrorKind::DisplayVersion));
        assert_eq!(parse("serve"), Ok(Some(Command::Serve { only: None })));
        for line in ["serve --only login", "serve --only=login"] {
            assert_eq!(
                parse(line),
                Ok(Some(Command::Serve {
                    only: Some(http::Service::Login)
                })),
                "{line}"
            );
        }
        assert_eq!(
            parse("serve --only app"),
            Ok(Some(Command::Serve {
                only: Some(http::Service::App)
            }))
        );
        assert_eq!(
            parse("serve --only worker"),
            Ok(Some(Command::Serve {
                only: Some(http::Service::Worker)
            }))
        );
        assert_eq!(parse("migrate"), Ok(Some(Command::Migrate)));
        assert_eq!(parse("seed-demo"), Ok(Some(Command::SeedDemo)));
        assert_eq!(parse("check"), Ok(Some(Command::Check)));
        assert_eq!(parse("keygen"), Ok(Some(Command::Keygen)));
        assert_eq!(
            parse("keys rotate-signing"),
            Ok(Some(Command::Keys {
                command: KeysCommand::RotateSigning
            }))
        );
        let verify = |company: Option<&str>| {
            Ok(Some(Command::Audit {
                command: AuditCommand::Verify {
                    company: company.map(String::from),
                },
            }))
        };
        assert_eq!(parse("audit verify"), verify(None));
        assert_eq!(
            parse("audit verify --company cmp_8fa2c1"),
            verify(Some("cmp_8fa2c1"))
        );
    }

    #[test]
    fn refuses_unknown_input() {
        for line in [
            "frobnicate",
            "serve --only everything",
            "serve --only",
            "serve --frobnicate",
            "migrate now",
            "audit frobnicate",
            "audit verify --company",
            "--frobnicate",
        ] {
            let err =
                Cli::try_parse_from(std::iter::once("metiva").chain(line.split_whitespace())).err();
            assert_eq!(err.as_ref().map(|e| e.exit_code()), Some(2), "{line}");
            assert!(
                err.is_some_and(|e| e.to_string().starts_with("error: ")),
                "{line}"
            );
        }
    }

    #[test]
    fn the_help_lists_every_command_and_the_environment() {
        let mut cli = <Cli as clap::CommandFactory>::command();
        let help = cli.render_help().to_string();
        for word in [
            "serve",
            "--only app|login|worker",
            "migrate",
            "seed-demo",
            "check",
            "keygen",
            "audit",
            "--version",
            "METIVA_ENV",
        ] {
            assert!(help.contains(word), "{word}: {help}");
        }
        let serve = cli
            .find_subcommand_mut("serve")
            .map(|c| c.render_help().to_string())
            .unwrap_or_default();
        for word in ["--only <SERVICE>", "app", "login"] {
            assert!(serve.contains(word), "{word}: {serve}");
        }
    }
}
