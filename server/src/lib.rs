//! The `metiva` server library: configuration and startup checks, the axum
//! routers (dashboard, login service), the CLI. `main.rs` is a thin shell
//! around it so integration tests can drive the routers in process.

pub mod checks;
pub mod config;
pub mod database;
pub mod http;
pub mod keys;
pub mod shutdown;

pub const USAGE: &str = "\
metiva: a multi-tenant workspace for Dutch marketing and sales agencies

Usage: metiva <command> [options]

Commands:
  serve [--only app|login]  run the dashboard (127.0.0.1:3000) and the login
                            service (127.0.0.1:3001) in one process
  migrate                   apply database migrations as the owner role
  seed-demo                 load the demo workspaces and users (refused in production)
  check                     production-readiness checks, one line each; exits
                            non-zero on any failure
  keygen                    print a fresh METIVA_ENCRYPTION_KEY and
                            METIVA_TOKEN_SIGNING_KEY
  help, --help              show this text
  --version                 print the version

Environment (see README.md): METIVA_ENV, DATABASE_URL, DATABASE_MIGRATION_URL,
METIVA_DATA_DIR, METIVA_APP_ADDR, METIVA_LOGIN_ADDR, METIVA_APP_URL,
METIVA_LOGIN_URL, METIVA_REGION, METIVA_ENCRYPTION_KEY, LEPTOS_SITE_ROOT.
With no DATABASE_URL outside production, metiva starts its own private
PostgreSQL under METIVA_DATA_DIR (default .metiva/): the embedded default.
";

/// What the command line asked for.
#[derive(Debug, PartialEq)]
pub enum Command {
    Serve { only: Option<http::Service> },
    Migrate,
    SeedDemo,
    Check,
    Keygen,
    Help,
    Version,
}

pub fn parse_args(args: &[String]) -> Result<Command, String> {
    let mut it = args.iter().map(String::as_str);
    let cmd = match it.next() {
        None | Some("help" | "--help" | "-h") => return Ok(Command::Help),
        Some("--version" | "-V") => return Ok(Command::Version),
        Some("serve") => {
            let mut only = None;
            while let Some(arg) = it.next() {
                match arg {
                    "--only" => {
                        let v = it.next().ok_or("--only needs a value: app or login")?;
                        only = Some(v.parse()?);
                    }
                    other if other.starts_with("--only=") => {
                        only = Some(other.trim_start_matches("--only=").parse()?);
                    }
                    other => return Err(format!("unexpected argument `{other}` for serve")),
                }
            }
            Command::Serve { only }
        }
        Some("migrate") => Command::Migrate,
        Some("seed-demo") => Command::SeedDemo,
        Some("check") => Command::Check,
        Some("keygen") => Command::Keygen,
        Some(other) => return Err(format!("unknown command `{other}` (try `metiva --help`)")),
    };
    if let Some(extra) = it.next() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    Ok(cmd)
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
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_commands() {
        assert_eq!(parse_args(&args("")), Ok(Command::Help));
        assert_eq!(parse_args(&args("--help")), Ok(Command::Help));
        assert_eq!(
            parse_args(&args("serve")),
            Ok(Command::Serve { only: None })
        );
        assert_eq!(
            parse_args(&args("serve --only login")),
            Ok(Command::Serve {
                only: Some(http::Service::Login)
            })
        );
        assert_eq!(parse_args(&args("migrate")), Ok(Command::Migrate));
        assert_eq!(parse_args(&args("seed-demo")), Ok(Command::SeedDemo));
        assert_eq!(parse_args(&args("check")), Ok(Command::Check));
        assert_eq!(parse_args(&args("keygen")), Ok(Command::Keygen));
    }

    #[test]
    fn refuses_unknown_input() {
        assert!(parse_args(&args("frobnicate")).is_err());
        assert!(parse_args(&args("serve --only everything")).is_err());
        assert!(parse_args(&args("serve --only")).is_err());
        assert!(parse_args(&args("migrate now")).is_err());
    }
}
