//! Opening connections: a parsed database URL ([`DbUrl`]) and TLS with
//! rustls, on tokio-postgres' own `connect`.
//!
//! tokio-postgres opens every connection itself, so `connect_timeout`,
//! keepalives, several hosts and `target_session_attrs` work as documented
//! for it. Nothing sits between the driver and the socket.
//!
//! # Security
//! `sslmode` follows libpq's meaning:
//!
//! | `sslmode` | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | no |
//! | `prefer` (default) | if the server offers it | no (chain only when `sslrootcert` is set) |
//! | `require` | always | no (chain only when `sslrootcert` is set, as libpq does) |
//! | `verify-ca` | always | chain to `sslrootcert` |
//! | `verify-full` | always | chain to `sslrootcert`, and the host name |
//!
//! `sslrootcert` is a PEM file, or `system` for the operating system's
//! bundle. tokio-postgres itself knows only `disable`/`prefer`/`require`:
//! the two `verify-*` modes are taken out of the URL here, the driver is
//! told `require`, and the certificate check is ours (rustls' WebPKI
//! verifier). Production refuses anything below `verify-full` for a host
//! that is not on this machine ([`DbUrl::production_refusal`]).

use std::path::PathBuf;
use std::sync::Arc;

use diesel_async::AsyncPgConnection;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::DbError;
use crate::tenant::SharedBatch;

/// A driver connection over [`MakeRustlsConnect`] (plain or TLS).
pub(crate) type Connection = tokio_postgres::Connection<
    tokio_postgres::Socket,
    <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket>>::Stream,
>;

/// The operating system's CA bundle, for `sslrootcert=system` (Debian's
/// path; the same in the runtime image).
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// libpq's `sslmode`, all five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<Self, DbError> {
        Ok(match s {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            // `allow` means "plain text first": never what we want.
            other => {
                return Err(DbError::Internal(format!(
                    "database URL: unsupported sslmode {other:?} (use disable, prefer, require, verify-ca or verify-full)"
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// A database URL, parsed once: the driver's config, the TLS mode and the
/// connector that enforces it.
///
/// # Security
/// `Debug` shows neither the password nor the URL: only user, hosts and
/// TLS mode.
#[derive(Clone)]
pub struct DbUrl {
    config: tokio_postgres::Config,
    ssl: SslMode,
    tls: MakeRustlsConnect,
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbUrl")
            .field("user", &self.config.get_user())
            .field("hosts", &self.config.get_hosts())
            .field("sslmode", &self.ssl)
            .finish_non_exhaustive()
    }
}

impl DbUrl {
    /// Parses a `postgres://` URL or a `key=value` connection string.
    #[tracing::instrument(skip_all)]
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let (rest, sslmode, rootcert) = take_ssl_params(url)?;
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e| DbError::Internal(format!("database URL: {e}")))?;
        let ssl = match sslmode.as_deref() {
            Some(m) => SslMode::parse(m)?,
            None => SslMode::Prefer,
        };
        config.ssl_mode(match ssl {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
        if config.get_connect_timeout().is_none() {
            // A dead host must not hold a pool slot forever.
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        let roots = rootcert.map(|p| load_roots(&p)).transpose()?;
        let tls = MakeRustlsConnect::new(client_config(ssl, roots)?);
        Ok(Self { config, ssl, tls })
    }

    pub fn ssl_mode(&self) -> SslMode {
        self.ssl
    }

    /// Every host is on this machine: a Unix socket, `localhost` or a
    /// loopback address.
    pub fn is_local(&self) -> bool {
        use tokio_postgres::config::Host;
        let hosts_local = self.config.get_hosts().iter().all(|h| match h {
            #[cfg(unix)]
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        });
        hosts_local && self.config.get_hostaddrs().iter().all(|a| a.is_loopback())
    }

    /// Why production must not use this URL, if it must not: anything
    /// below `verify-full` to a host that is not on this machine can be
    /// read or impersonated on the way.
    pub fn production_refusal(&self) -> Option<String> {
        (!self.is_local() && self.ssl < SslMode::VerifyFull).then(|| {
            format!(
                "DATABASE_URL uses sslmode={} for a remote host; production needs sslmode=verify-full with sslrootcert",
                self.ssl.as_str()
            )
        })
    }

    /// The driver's config, to adjust per use (application name).
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// Connects with tokio-postgres, TLS as configured, and drives the
    /// connection on its own task.
    pub(crate) async fn client(
        &self,
        config: &tokio_postgres::Config,
    ) -> Result<(tokio_postgres::Client, Connection), DbError> {
        config
            .connect(self.tls.clone())
            .await
            .map_err(|e| DbError::Unavailable(e.to_string()))
    }

    /// One diesel-async connection outside the pool: bootstrap, the catalog
    /// lint, migrations, tests and benchmarks. Request code may not call it
    /// (`clippy.toml`): it reaches data only through [`crate::Database`].
    pub async fn open(&self) -> Result<AsyncPgConnection, DbError> {
        let unavailable = |e: &dyn std::fmt::Display| DbError::Unavailable(e.to_string());
        let (client, connection) = self.client(&self.config).await?;
        // The connection's I/O runs on its own task; when it ends (error or
        // close) the client reports itself closed and the pool drops it.
        // Notifications are dropped: LISTEN has a connection of its own
        // (see `access`).
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "database connection ended");
            }
        });
        // diesel-async sets each connection up with two prepared `SET`s.
        // Outside a transaction, a pooler in transaction mode (PgBouncer
        // before 1.21) may hand the two halves of a prepare to different
        // server backends. Inside one, they reach one backend; the `SET`s
        // are session settings, which persist after COMMIT (and which
        // PgBouncer replays on whichever backend serves us next).
        //
        // `jit = off` in the same flight (issue 15): JIT compiles a plan on
        // every execution above `jit_above_cost`, about 60 ms for the
        // visitors page's rollup query, which runs in a few ms without it;
        // short OLTP statements never gain from it. A session setting
        // because the migrations' owner role cannot `ALTER ROLE`
        // (NOCREATEROLE). A performance setting only: behind a pooler that
        // drops it, queries are merely slower, never wrong.
        client
            .batch_execute("BEGIN; SET jit = off")
            .await
            .map_err(|e| unavailable(&e))?;
        let conn = AsyncPgConnection::try_from(client)
            .await
            .map_err(|e| unavailable(&e))?;
        conn.batch_execute_shared("COMMIT").await?;
        Ok(conn)
    }
}

/// Takes `sslmode` and `sslrootcert` out of a URL or connection string
/// (tokio-postgres refuses `verify-*` and does not know `sslrootcert`), and
/// returns the rest unchanged.
fn take_ssl_params(url: &str) -> Result<(String, Option<String>, Option<String>), DbError> {
    let mut sslmode = None;
    let mut rootcert = None;
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            sslmode = Some(value);
            true
        }
        "sslrootcert" => {
            rootcert = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_string(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let v = percent_encoding::percent_decode_str(v)
                        .decode_utf8()
                        .map_err(|_| DbError::Internal("database URL: invalid UTF-8".into()))?
                        .into_owned();
                    if !take(k, v) {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        // key=value form; these two keys never need quoting in practice,
        // and a quoted value is unquoted.
        let mut kept = Vec::new();
        for token in url.split_whitespace() {
            match token.split_once('=') {
                Some((k, v)) if take(k, v.trim_matches('\'').to_string()) => {}
                _ => kept.push(token),
            }
        }
        kept.join(" ")
    };
    Ok((rest, sslmode, rootcert))
}

fn load_roots(path: &str) -> Result<RootCertStore, DbError> {
    let path = if path == "system" {
        PathBuf::from(SYSTEM_ROOTS)
    } else {
        PathBuf::from(path)
    };
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| DbError::Internal(format!("sslrootcert {}: {e}", path.display())))?;
    for cert in certs {
        let cert =
            cert.map_err(|e| DbError::Internal(format!("sslrootcert {}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| DbError::Internal(format!("sslrootcert {}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(DbError::Internal(format!(
            "sslrootcert {}: no certificate in it",
            path.display()
        )));
    }
    Ok(roots)
}

fn client_config(
    ssl: SslMode,
    roots: Option<RootCertStore>,
) -> Result<rustls::ClientConfig, DbError> {
    // ring keeps the build lean (aws-lc-rs compiles a C library); its
    // classical key exchange is what managed PostgreSQL offers today.
    #[expect(deprecated, reason = "ring lacks post-quantum key exchange; see above")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls_err = |e: rustls::Error| DbError::Internal(format!("TLS setup: {e}"));
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(tls_err)?;
    let webpki = |roots: RootCertStore| {
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .build()
            .map_err(|e| DbError::Internal(format!("TLS setup: {e}")))
    };
    let verifier: Arc<dyn ServerCertVerifier> = match (ssl, roots) {
        (SslMode::VerifyFull, Some(roots)) => webpki(roots)?,
        (SslMode::VerifyCa, Some(roots)) => Arc::new(ChainOnly(webpki(roots)?)),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            // Security: verification without trust anchors would be a
            // quiet downgrade; refuse instead.
            return Err(DbError::Internal(format!(
                "database URL: sslmode={} needs sslrootcert (a PEM file, or `system`)",
                ssl.as_str()
            )));
        }
        // libpq: with a root certificate, `require` and `prefer` check the
        // chain as `verify-ca` does.
        (_, Some(roots)) => Arc::new(ChainOnly(webpki(roots)?)),
        (_, None) => Arc::new(EncryptOnly(provider)),
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// `verify-ca`: the chain must lead to a trusted root; the name is not
/// checked (libpq's meaning).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // WebPKI checks the chain before the name, so a name error means
        // the chain itself was valid.
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// `require`/`prefer` without a root certificate: encrypted, not
/// authenticated (libpq's meaning). The handshake's own signatures are still
/// checked. Production refuses this mode for remote hosts.
#[derive(Debug)]
struct EncryptOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_modes_leave_the_url_for_the_driver() {
        let (rest, mode, root) = take_ssl_params(
            "postgres://app:pw@db.example:5432/metiva?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://app:pw@db.example:5432/metiva?application_name=x"
        );
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(root.as_deref(), Some("/etc/ca.pem"));

        let (rest, mode, root) =
            take_ssl_params("host=db.example user=app sslmode=verify-ca sslrootcert='/ca.pem'")
                .unwrap();
        assert_eq!(rest, "host=db.example user=app");
        assert_eq!(mode.as_deref(), Some("verify-ca"));
        assert_eq!(root.as_deref(), Some("/ca.pem"));
    }

    #[test]
    fn production_refuses_less_than_verify_full_remotely() {
        let remote = DbUrl::parse("postgres://app@db.example/metiva?sslmode=require").unwrap();
        assert!(remote.production_refusal().is_some());
        let plain = DbUrl::parse("postgres://app@10.0.0.5/metiva").unwrap();
        assert!(plain.production_refusal().is_some());
        let local = DbUrl::parse("postgres://app@127.0.0.1/metiva?sslmode=disable").unwrap();
        assert!(local.production_refusal().is_none());
        let socket = DbUrl::parse("host=/run/pg user=app dbname=metiva").unwrap();
        assert!(socket.production_refusal().is_none());
    }

    #[test]
    fn verification_without_a_root_is_refused() {
        let e = DbUrl::parse("postgres://app@db.example/metiva?sslmode=verify-full").unwrap_err();
        assert!(e.to_string().contains("sslrootcert"), "{e}");
        let e = DbUrl::parse("postgres://app@db.example/metiva?sslmode=allow").unwrap_err();
        assert!(e.to_string().contains("unsupported sslmode"), "{e}");
    }

    #[test]
    fn debug_shows_no_password() {
        let u = DbUrl::parse("postgres://app:hunter2@db.example/metiva").unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
