//! The dashboard router: Leptos pages and server functions, static assets,
//! health, and the security middleware in front of them.

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use metiva_db::Database;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

/// Largest request body any endpoint accepts. Forms and JSON calls are
/// small; anything bigger is refused with 413 before it is buffered.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("metiva")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.app_addr)
        .build()
}

pub fn dashboard_router(config: &Config, db: Database) -> Router {
    let options = leptos_options(config);
    let routes = generate_route_list(app::App);
    let context_db = db.clone();
    let pages = Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context_db.clone()),
            {
                let options = options.clone();
                move || app::shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(app::shell))
        .with_state(options);
    common_layers(pages.merge(super::health::routes(db)))
}

/// Security headers and the body limit, shared by every router.
pub fn common_layers(router: Router) -> Router {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    router
        .layer(middleware::from_fn(limit_body))
        .layer(header("x-content-type-options", "nosniff"))
        .layer(header("x-frame-options", "DENY"))
        .layer(header("referrer-policy", "strict-origin-when-cross-origin"))
        .layer(header("cross-origin-opener-policy", "same-origin"))
}

/// Refuses bodies over [`MAX_BODY_BYTES`] with 413, whether announced by
/// `Content-Length` or discovered while reading a chunked body. The body is
/// buffered here (it is small by then), so handlers such as server
/// functions never see a truncated body and never turn it into a 500.
async fn limit_body(req: Request, next: Next) -> Response {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Request body too large: the limit is {MAX_BODY_BYTES} bytes."),
        )
            .into_response()
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => too_large(),
    }
}
