//! The container test's HTTP checks: readiness and a sign-in through the
//! login service, over a minimal HTTP/1.0 client (no dependency).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{APP_URL, DEMO_EMAIL, DEMO_PASSWORD, LOGIN_URL};

/// Polls `/readyz` until 200.
pub(super) fn wait_ready(addr: &str, limit: Duration) -> Result<()> {
    let t = Instant::now();
    loop {
        if let Ok(r) = http(addr, "GET", "/readyz", &[], None)
            && r.status == 200
        {
            return Ok(());
        }
        if t.elapsed() > limit {
            bail!("/readyz did not answer 200 within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The sign-in, as a browser does it (see server/tests/it/auth_flow.rs):
/// the dashboard sends an anonymous visitor to the login service with a
/// state cookie; the form POST answers with the code hand-off; the
/// dashboard redeems it and sets the session cookie; the page then shows
/// the workspace. Production cookies carry the `__Host-` prefix.
pub(super) fn sign_in(app: &str, login: &str) -> Result<()> {
    let r = http(app, "GET", "/", &[], None)?;
    if r.status != 303 {
        bail!("anonymous GET / answered {}, not 303", r.status);
    }
    let to_login = r
        .header("location")
        .context("no Location to the login service")?;
    let state = r
        .cookie("__Host-metiva_state")
        .context("no __Host-metiva_state cookie (production cookies)")?;
    let query = to_login
        .strip_prefix(&format!("{LOGIN_URL}/login?"))
        .with_context(|| format!("redirect to {to_login}, not the login service"))?;
    let return_to = query_param(query, "return_to").context("no return_to")?;
    let body = format!(
        "email={}&password={DEMO_PASSWORD}&return_to={return_to}&state={state}",
        DEMO_EMAIL.replace('@', "%40")
    );
    let r = http(
        login,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(&body),
    )?;
    if r.status != 303 {
        bail!("the sign-in POST answered {}, not 303", r.status);
    }
    let callback = r.header("location").context("no Location after sign-in")?;
    let path = callback
        .strip_prefix(APP_URL)
        .filter(|p| p.starts_with("/auth/callback?code="))
        .with_context(|| format!("sign-in went to {callback}, not the dashboard's callback"))?;
    let cookie = format!("__Host-metiva_state={state}");
    let r = http(app, "GET", path, &[("Cookie", &cookie)], None)?;
    let session = r
        .cookie("__Host-metiva_session")
        .filter(|_| r.status == 303)
        .with_context(|| format!("the callback answered {} without a session", r.status))?;
    let cookie = format!("__Host-metiva_session={session}");
    let r = http(app, "GET", "/", &[("Cookie", &cookie)], None)?;
    if r.status != 200 || !r.body.contains("De Vries Media") {
        bail!(
            "the signed-in dashboard answered {} without the workspace",
            r.status
        );
    }
    Ok(())
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .find_map(|(_, v)| {
                v.split(';')
                    .next()?
                    .strip_prefix(name)?
                    .strip_prefix('=')
                    .map(str::to_string)
            })
    }
}

/// A minimal HTTP/1.0 client (no chunking, the server closes): enough for
/// the checks, without a dependency.
fn http(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/html\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP header end")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .context("no HTTP status")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_string(),
    })
}
