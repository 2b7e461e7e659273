//! The login service's router (its own listener and state). For now it
//! serves only health; sign-in lands with the login issue.

use axum::Router;
use metiva_db::Database;

use super::dashboard::common_layers;

pub fn login_router(db: Database) -> Router {
    common_layers(super::health::routes(db))
}
