//! A signed-in world for router tests: a fresh database with the demo
//! data (bcrypt cost 4), a dashboard and a login service wired to it, and
//! helpers that sign in through the real routers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use metiva_db::login::LoginDb;
use metiva_db::{Database, PoolSettings};
use metiva_testkit::TestDb;
use server::http::guard::DashboardAuth;
use server::http::{LoginService, dashboard_router_with, login_router};
use server::keys::Keys;
use tower::ServiceExt;

pub const APP_URL: &str = "http://127.0.0.1:3000";
pub const LOGIN_URL: &str = "http://127.0.0.1:3001";
pub const SEED: [u8; 32] = [7; 32];
pub const ENC: [u8; 32] = [9; 32];
pub const PASSWORD: &str = "metiva-demo";
pub const DE_VRIES: &str = "cmp_8fa2c1";
pub const BROUWER: &str = "cmp_1d47b9";

pub fn keys() -> Keys {
    Keys::from_seed(&SEED, &ENC)
}

/// A response, reduced to what tests look at.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// The value a `Set-Cookie` gives `name` (None when not set).
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
    }
}

pub async fn call(router: &axum::Router, req: Request<Body>) -> Resp {
    call_bytes(router, req).await.0
}

pub fn get_with(uri: &str, cookies: &[(&str, &str)]) -> Request<Body> {
    let mut b = Request::get(uri).header(header::ACCEPT, "text/html");
    if !cookies.is_empty() {
        let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        b = b.header(header::COOKIE, c.join("; "));
    }
    b.body(Body::empty()).unwrap()
}

pub fn post_form(uri: &str, cookies: &[(&str, &str)], form: &[(&str, &str)]) -> Request<Body> {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", server::http::ui::qs(v)))
        .collect();
    let mut b = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if !cookies.is_empty() {
        let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        b = b.header(header::COOKIE, c.join("; "));
    }
    b.body(Body::from(body.join("&"))).unwrap()
}

/// Calls a server function (POST /api/<endpoint>) with a token cookie.
pub fn api(endpoint: &str, token: Option<&str>) -> Request<Body> {
    let cookies: Vec<(&str, &str)> = token.map(|t| ("metiva_session", t)).into_iter().collect();
    post_form(&format!("/api/{endpoint}"), &cookies, &[])
}

/// The id of the first session on a `/settings/sessions` page that is not
/// this browser's own (the revoke form's hidden `id` field).
pub fn other_session_id(page: &str) -> String {
    page.split(r#"data-testid="session-row""#)
        .skip(1)
        .find(|row| !row.contains("this-device"))
        .and_then(|row| row.split(r#"name="id" value=""#).nth(1))
        .map(|rest| rest[..36].to_string())
        .expect("another session on the page")
}

/// The query parameter `name` of a URL.
pub fn param(url: &str, name: &str) -> String {
    let q = url.split_once('?').map(|x| x.1).unwrap_or_default();
    q.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .map(|v| {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).unwrap_or_default()
        })
        .unwrap_or_default()
}

pub struct World {
    pub tdb: TestDb,
    pub owner_db: Database,
    pub login_db: LoginDb,
    pub auth: Arc<DashboardAuth>,
    pub dashboard: axum::Router,
    pub login_service: Arc<LoginService>,
    pub login: axum::Router,
}

impl World {
    pub async fn new() -> Self {
        let tdb = TestDb::new().await;
        let owner_db = Database::connect(&tdb.owner_url(), &PoolSettings::default()).unwrap();
        let hash = tokio::task::spawn_blocking(|| {
            let pw = metiva_security::password::Password::new(PASSWORD).unwrap();
            metiva_security::password::hash(&pw, 4).unwrap()
        })
        .await
        .unwrap();
        owner_db.seed_demo(&hash).await.unwrap();
        let config = crate::test_config(&tdb.app_url());
        let keys = keys();
        owner_db
            .seed_demo_site(&server::database::demo_site(&keys.field_keys))
            .await
            .unwrap();
        let auth = DashboardAuth::new(&config, tdb.database(), &keys);
        let dashboard = dashboard_router_with(&config, auth.clone());
        let login_db =
            LoginDb::connect(&tdb.login_url(), &metiva_testkit::pool_settings()).unwrap();
        let login_service = LoginService::new(&config, login_db.clone(), &keys)
            .await
            .unwrap();
        let login = login_router(login_service.clone(), &config, tdb.database());
        let w = Self {
            tdb,
            owner_db,
            login_db,
            auth,
            dashboard,
            login_service,
            login,
        };
        w.wait_for_listener(&w.auth).await;
        w
    }

    /// Another dashboard instance on the same database (own cache and
    /// listener).
    pub async fn second_dashboard(&self) -> (Arc<DashboardAuth>, axum::Router) {
        let config = crate::test_config(&self.tdb.app_url());
        let auth = DashboardAuth::new(&config, self.tdb.database(), &keys());
        let router = dashboard_router_with(&config, auth.clone());
        self.wait_for_listener(&auth).await;
        (auth, router)
    }

    pub async fn wait_for_listener(&self, auth: &DashboardAuth) {
        for _ in 0..200 {
            if auth.cache.is_trusted() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the access listener did not connect");
    }

    /// Starts a flow at the dashboard: (login URL, state cookie).
    pub async fn start(&self, path: &str) -> (String, String) {
        let r = call(&self.dashboard, get_with(path, &[])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let state = r.set_cookie("metiva_state").expect("state cookie");
        (r.location(), state)
    }

    /// Signs in through the real routers and returns the token cookie
    /// value. `company` picks the workspace when the user has several.
    pub async fn sign_in(&self, email: &str, company: &str) -> String {
        self.sign_in_full(email, company).await.0
    }

    /// Enters `company` with an existing login session (no password),
    /// the way switching and silent renewal do: (token cookie).
    pub async fn enter(&self, login_cookie: &str, company: &str, purpose: &str) -> String {
        let (login_url, state) = self.start("/").await;
        let path = format!(
            "{}&company={company}&purpose={purpose}",
            login_url.strip_prefix(LOGIN_URL).unwrap()
        );
        let r = call(
            &self.login,
            get_with(&path, &[("metiva_login", login_cookie)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let cb = r.location();
        let path = cb.strip_prefix(APP_URL).expect("callback").to_string();
        let r = call(
            &self.dashboard,
            get_with(&path, &[("metiva_state", &state)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        r.set_cookie("metiva_session").expect("token cookie")
    }

    /// As [`World::sign_in`], also returning the login session cookie.
    pub async fn sign_in_full(&self, email: &str, company: &str) -> (String, String) {
        let (login_url, state) = self.start("/").await;
        let return_to = param(&login_url, "return_to");
        let st = param(&login_url, "state");
        assert_eq!(st, state);
        let mut req = post_form(
            "/login",
            &[],
            &[
                ("email", email),
                ("password", PASSWORD),
                ("return_to", &return_to),
                ("state", &st),
            ],
        );
        // The client address the login service sees (a documentation
        // range): stored only truncated and encrypted.
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [192, 0, 2, 77],
                50_000,
            ))));
        let r = call(&self.login, req).await;
        let login_cookie = r.set_cookie("metiva_login").expect("login cookie");
        let callback = if r.status == StatusCode::SEE_OTHER {
            r.location()
        } else {
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert!(r.body.contains("Choose a workspace"), "{}", r.body);
            let c = call(
                &self.login,
                post_form(
                    "/choose",
                    &[("metiva_login", &login_cookie)],
                    &[
                        ("choice", company),
                        ("return_to", &return_to),
                        ("state", &st),
                    ],
                ),
            )
            .await;
            assert_eq!(c.status, StatusCode::SEE_OTHER, "{}", c.body);
            c.location()
        };
        let path = callback
            .strip_prefix(APP_URL)
            .expect("callback on the dashboard")
            .to_string();
        let r = call(
            &self.dashboard,
            get_with(&path, &[("metiva_state", &state)]),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        (
            r.set_cookie("metiva_session").expect("token cookie"),
            login_cookie,
        )
    }

    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        self.login_db
            .credentials(email)
            .await
            .unwrap()
            .expect("user")
            .user_id
    }

    /// The newest 50 audit rows of a workspace.
    pub async fn audit_rows(&self, company: &str) -> Vec<metiva_db::repo::audit::AuditRow> {
        self.tdb
            .database()
            .tenant(&metiva_db::CompanyId::parse(company).unwrap(), async |tc| {
                metiva_db::repo::audit::list(tc, 50).await
            })
            .await
            .unwrap()
    }

    /// `sql`'s one value, read as the app role under `company`'s tenant
    /// binding (RLS applies): a count (`… AS n`).
    pub async fn count_in(&self, company: &str, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let sql = sql.to_string();
        self.read_in(company, async move |tc| {
            use diesel_async::RunQueryDsl;
            #[expect(
                clippy::disallowed_methods,
                reason = "a test reads rows under the tenant binding"
            )]
            let row = diesel::sql_query(sql).get_result::<N>(tc.conn()).await?;
            Ok(row.n)
        })
        .await
    }

    /// `sql`'s one `id`, read as [`Self::count_in`] reads.
    pub async fn id_in(&self, company: &str, sql: &str) -> uuid::Uuid {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let sql = sql.to_string();
        self.read_in(company, async move |tc| {
            use diesel_async::RunQueryDsl;
            #[expect(
                clippy::disallowed_methods,
                reason = "a test reads rows under the tenant binding"
            )]
            let row = diesel::sql_query(sql).get_result::<Id>(tc.conn()).await?;
            Ok(row.id)
        })
        .await
    }

    async fn read_in<T>(
        &self,
        company: &str,
        f: impl AsyncFnOnce(&mut metiva_db::TenantConn<'_>) -> Result<T, metiva_db::DbError>,
    ) -> T {
        self.tdb
            .database()
            .tenant(&metiva_db::CompanyId::parse(company).unwrap(), f)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs SQL as the owner role with RLS out of the way (fixtures).
    pub async fn owner_sql(&self, sql: &str) {
        use diesel_async::SimpleAsyncConnection;
        let mut c = self.tdb.connect_as("metiva_owner").await;
        c.batch_execute(&format!(
            "BEGIN; ALTER TABLE memberships NO FORCE ROW LEVEL SECURITY; ALTER TABLE companies NO FORCE ROW LEVEL SECURITY; {sql}; ALTER TABLE memberships FORCE ROW LEVEL SECURITY; ALTER TABLE companies FORCE ROW LEVEL SECURITY; COMMIT;"
        ))
        .await
        .unwrap();
    }
}

/// Like [`call`], also answering the body's exact bytes (a PDF is binary:
/// `Resp::body` is lossy UTF-8).
pub async fn call_bytes(router: &axum::Router, req: Request<Body>) -> (Resp, Vec<u8>) {
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| match e {});
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&bytes).into_owned();
    (
        Resp {
            status,
            headers,
            body,
        },
        bytes,
    )
}

/// The `error.message` of a JSON error answer (empty when there is none).
pub fn error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .map(|v| {
            v["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .unwrap_or_default()
}
