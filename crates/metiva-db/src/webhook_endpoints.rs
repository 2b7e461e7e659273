//! The one global lookup a provider webhook makes: which active company
//! owns an unguessable endpoint id (`whe_…` for Stripe, `twe_…` for
//! Twilio). A directory function answers the company id only; the app role
//! cannot list connections across tenants.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::{CompanyId, Database, DbError};

/// A provider's endpoint ids: their prefix and the directory function's
/// query (a set-returning definer function in FROM, hence raw SQL).
pub(crate) struct EndpointDirectory {
    pub prefix: &'static str,
    pub sql: &'static str,
}

impl Database {
    /// The company owning `endpoint` in `dir`, or `None`.
    pub(crate) async fn endpoint_company(
        &self,
        dir: &EndpointDirectory,
        endpoint: &str,
    ) -> Result<Option<CompanyId>, DbError> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            company_id: String,
        }
        // Shape first: anything that cannot be an endpoint id (prefix and
        // 32 lower-case hex digits) is not looked up at all.
        let shaped = endpoint.len() == dir.prefix.len() + 32
            && endpoint.starts_with(dir.prefix)
            && endpoint
                .bytes()
                .skip(dir.prefix.len())
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !shaped {
            return Ok(None);
        }
        let rows: Vec<Row> = self
            .global(async |conn| {
                Ok(diesel::sql_query(dir.sql)
                    .bind::<diesel::sql_types::Text, _>(endpoint)
                    .load(conn)
                    .await?)
            })
            .await?;
        // Fail closed: no row, or (impossibly) more than one, is unknown.
        let mut it = rows.into_iter();
        match (it.next(), it.next()) {
            (Some(r), None) => CompanyId::parse(&r.company_id)
                .map(Some)
                .map_err(|e| DbError::Internal(e.to_string())),
            _ => Ok(None),
        }
    }
}
