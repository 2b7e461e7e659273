//! The audited IP reveal: one page view's sealed, truncated address is
//! opened only together with its audit row, in one transaction.

use super::ip_context;
use crate::access::TenantCtx;
use crate::repo::audit::{self, AuditEntry};
use crate::schema::{audit_log, page_views};
use crate::{Database, DbError, TenantConn};
use diesel::dsl::max;
use diesel::{ExpressionMethods, QueryDsl, Queryable};
use diesel_async::RunQueryDsl;
use metiva_security::cipher::{KeyRing, Sealed};
use uuid::Uuid;

/// What a reveal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reveal {
    NotFound,
    /// The truncated IP, and the id of the audit row that records it.
    Revealed {
        ip: String,
        audit_id: i64,
    },
    /// The row exists but its ciphertext does not open here (moved,
    /// altered, or sealed with a key no longer configured). The attempt is
    /// audited all the same.
    Unreadable {
        audit_id: i64,
    },
}

#[derive(Queryable)]
struct SealedIp {
    ip_key_id: String,
    ip_nonce: Vec<u8>,
    ip_ciphertext: Vec<u8>,
}

impl Database {
    /// Opens one page view's sealed, truncated IP and writes the audit row
    /// (who, which row, why), in the same transaction. The caller checks
    /// the `ip.reveal` permission first; the reason is required.
    pub async fn reveal_ip(
        &self,
        ctx: &TenantCtx,
        view: Uuid,
        reason: &str,
        request_id: &str,
        keys: &KeyRing,
    ) -> Result<Reveal, DbError> {
        let user = ctx.user_id();
        // The company's data key, before the transaction (its own read).
        // A failure leaves the IP unopened (audited as a failed reveal).
        let _ = keys.load(self, ctx.company().as_str()).await;
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let rows: Vec<SealedIp> = page_views::table
                .filter(page_views::company_id.eq(&company))
                .filter(page_views::id.eq(view))
                .select((
                    page_views::ip_key_id,
                    page_views::ip_nonce,
                    page_views::ip_ciphertext,
                ))
                .load(tc.conn())
                .await?;
            let Some(s) = rows.into_iter().next() else {
                return Ok(Reveal::NotFound);
            };
            let row = view.to_string();
            let opened = s.ip_nonce.as_slice().try_into().ok().and_then(|nonce| {
                keys.open(
                    &Sealed {
                        key_id: s.ip_key_id,
                        nonce,
                        ciphertext: s.ip_ciphertext,
                    },
                    &ip_context(&company, &row),
                )
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            });
            let action = if opened.is_some() {
                "visitor.ip_revealed"
            } else {
                "visitor.ip_reveal_failed"
            };
            audit::append(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action,
                    target_type: Some("page_view"),
                    target_id: Some(&row),
                    request_id: Some(request_id),
                    reason: Some(reason),
                },
            )
            .await?;
            let audit_id: i64 = audit_log::table
                .filter(audit_log::company_id.eq(&company))
                .filter(audit_log::target_id.eq(&row))
                .select(max(audit_log::id))
                .first::<Option<i64>>(tc.conn())
                .await?
                .ok_or_else(|| DbError::Internal("the reveal's audit row is missing".into()))?;
            Ok(match opened {
                Some(ip) => Reveal::Revealed { ip, audit_id },
                None => Reveal::Unreadable { audit_id },
            })
        })
        .await
    }
}
