//! A minimal HTTP/1.1 client for the pages bench's sign-in and checks
//! (a handful of requests; the load itself is wrk's).

use std::collections::HashMap;

use anyhow::{Result, anyhow, ensure};

use crate::pages::{PASSWORD, Served, VIEWER};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub(crate) struct Resp {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn cookies(&self) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next().map(str::to_string))
            .collect()
    }
}

pub(crate) async fn http(
    addr: &str,
    method: &str,
    path: &str,
    cookies: &[String],
    form: Option<&str>,
) -> Result<Resp> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !cookies.is_empty() {
        req.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
    }
    if let Some(body) = form {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no HTTP status from {addr}{path}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Resp { status, headers })
}

fn path_of(location: &str) -> String {
    // Absolute URL -> path and query.
    location
        .split_once("://")
        .and_then(|(_, rest)| {
            rest.find('/')
                .and_then(|i| rest.get(i..))
                .map(str::to_string)
        })
        .unwrap_or_else(|| location.to_string())
}

fn form_encode(s: &str) -> String {
    percent_encode(s)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Signs in through the login service; answers the dashboard's cookies.
pub(crate) async fn sign_in(s: &Served) -> Result<Vec<String>> {
    let first = http(&s.app, "GET", "/", &[], None).await?;
    let to_login = first
        .header("location")
        .ok_or_else(|| anyhow!("/ did not redirect to the login service ({})", first.status))?;
    let app_cookies = first.cookies();
    let login_path = path_of(to_login);
    let query = login_path
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let body = format!(
        "{query}&email={}&password={}",
        form_encode(VIEWER),
        form_encode(PASSWORD)
    );
    let posted = http(&s.login, "POST", "/login", &[], Some(&body)).await?;
    let callback = posted.header("location").ok_or_else(|| {
        anyhow!(
            "the login service answered {} without a redirect",
            posted.status
        )
    })?;
    let cb = http(&s.app, "GET", &path_of(callback), &app_cookies, None).await?;
    ensure!(
        cb.status == 303 || cb.status == 302 || cb.status == 307,
        "the callback answered {}",
        cb.status
    );
    let mut jar: HashMap<String, String> = HashMap::new();
    for c in app_cookies.into_iter().chain(cb.cookies()) {
        if let Some((k, v)) = c.split_once('=') {
            jar.insert(k.to_string(), v.to_string());
        }
    }
    jar.retain(|_, v| !v.is_empty());
    Ok(jar.into_iter().map(|(k, v)| format!("{k}={v}")).collect())
}
