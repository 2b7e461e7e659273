//! Walkthrough requests from the public Trust Center (`/trust`): stored as
//! a contact with a note in the operator's own workspace.
//!
//! # Security
//! - The workspace comes from the operator site's key, through the named
//!   public site-key path (`Database::site_by_key`, then `for_site_key`),
//!   never from the form.
//! - No visitor link is made here: the plain form carries no consent, so
//!   it identifies no visit. A consented visitor is linked by `/capture`
//!   (see `ingest::capture`) before the form is posted.
//! - A public form may add to a contact, never rename it: an existing
//!   person (same email) keeps its name and organisation, as `/capture`
//!   does.

use diesel::sql_types::{Bool, Nullable, Text, Uuid as SqlUuid};
use diesel::{ExpressionMethods, QueryableByName};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::schema::notes;
use crate::{CompanyId, Database, DbError};

/// A validated request (the caller checks lengths and the email's shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkthroughRequest {
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    pub message: Option<String>,
    /// `en` or `nl`: the language to answer in.
    pub lang: &'static str,
}

/// What storing a request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkthroughStored {
    pub person_id: Uuid,
    /// False when a contact with this email already existed.
    pub created: bool,
}

#[derive(QueryableByName)]
struct Upserted {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Bool)]
    created: bool,
}

impl Database {
    /// Stores a walkthrough request in `company` (the operator workspace
    /// the site key resolved to): the contact, upserted by email, and a
    /// note with the request, in one transaction.
    pub async fn record_walkthrough(
        &self,
        company: &CompanyId,
        r: &WalkthroughRequest,
    ) -> Result<WalkthroughStored, DbError> {
        self.for_site_key(company, async |tc| {
            let company = tc.company().as_str().to_string();
            // Raw SQL: an upsert reporting whether it inserted (xmax = 0),
            // which Diesel's DSL does not express (as in `ingest::capture`).
            let person: Upserted = diesel::sql_query(
                "INSERT INTO persons (company_id, name, email, organisation) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (company_id, email) DO UPDATE
                   SET organisation = COALESCE(persons.organisation, EXCLUDED.organisation),
                       updated_at = now()
                 RETURNING id, (xmax = 0) AS created",
            )
            .bind::<Text, _>(&company)
            .bind::<Text, _>(&r.name)
            .bind::<Text, _>(r.email.to_lowercase())
            .bind::<Nullable<Text>, _>(r.organisation.as_deref())
            .get_result(tc.conn())
            .await?;
            let mut body = format!(
                "Walkthrough requested on the Trust Center (answer in {}).",
                match r.lang {
                    "nl" => "Dutch",
                    _ => "English",
                }
            );
            if let Some(m) = &r.message {
                body.push_str("\n\n");
                body.push_str(m);
            }
            diesel::insert_into(notes::table)
                .values((
                    notes::company_id.eq(&company),
                    notes::body.eq(&body),
                    notes::person_id.eq(Some(person.id)),
                ))
                .execute(tc.conn())
                .await?;
            Ok(WalkthroughStored {
                person_id: person.id,
                created: person.created,
            })
        })
        .await
    }
}
