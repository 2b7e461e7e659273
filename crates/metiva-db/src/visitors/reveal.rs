//! The audited IP reveal: one page view's sealed, truncated address is
//! opened only together with its audit row, in one transaction.
//!
//! Why a member reveals is a code from a fixed list ([`REVEAL_REASONS`])
//! plus an optional short note ([`RevealReason`]): the code goes to
//! `audit_log.reason`, the note to `audit_log.note` (swept with the row).

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

/// Why an IP is revealed: the form's fixed list, as stored codes.
pub const REVEAL_REASONS: [&str; 5] = [
    "abuse_report",
    "security_incident",
    "legal_request",
    "subject_request",
    "other",
];

/// The longest note (characters).
pub const MAX_REVEAL_NOTE: usize = 200;

/// A checked reveal reason: a code from [`REVEAL_REASONS`] and a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevealReason {
    pub code: &'static str,
    pub note: Option<String>,
}

impl RevealReason {
    /// Checks a posted reason and note; `Err` is a stable error code:
    /// `reason_required`, `note_required` ("other" needs one),
    /// `note_too_long`, `note_invalid` (control characters) or
    /// `note_personal` (it looks like an email address).
    ///
    /// A reason that is not a code is an older client's free text: it is
    /// kept as "other" with the text as the note, under the note's checks
    /// (so nothing free-form reaches `audit_log.reason` any more).
    pub fn parse(reason: &str, note: Option<&str>) -> Result<Self, &'static str> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err("reason_required");
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        let (code, note) = match REVEAL_REASONS.into_iter().find(|c| *c == reason) {
            Some(code) => (code, note),
            None if note.is_none() => ("other", Some(reason)),
            None => return Err("reason_unknown"),
        };
        if let Some(n) = note {
            if n.chars().count() > MAX_REVEAL_NOTE {
                return Err("note_too_long");
            }
            if n.chars().any(char::is_control) {
                return Err("note_invalid");
            }
            // The form says "no personal data"; an email address is the
            // one kind a check can see without guessing.
            if n.contains('@') {
                return Err("note_personal");
            }
        } else if code == "other" {
            return Err("note_required");
        }
        Ok(Self {
            code,
            note: note.map(str::to_string),
        })
    }
}

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
    /// (who, which row, why: the reason's code and note), in the same
    /// transaction. The caller checks the `ip.reveal` permission first.
    pub async fn reveal_ip(
        &self,
        ctx: &TenantCtx,
        view: Uuid,
        reason: &RevealReason,
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
            audit::append_with_note(
                tc,
                &AuditEntry {
                    actor_user_id: Some(user),
                    action,
                    target_type: Some("page_view"),
                    target_id: Some(&row),
                    request_id: Some(request_id),
                    reason: Some(reason.code),
                },
                reason.note.as_deref(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reveal_reasons_are_codes_with_a_short_note() {
        let ok = |r, n| RevealReason::parse(r, n);
        assert_eq!(
            ok("abuse_report", None),
            Ok(RevealReason {
                code: "abuse_report",
                note: None
            })
        );
        assert_eq!(
            ok("legal_request", Some(" ticket 42 ")).map(|r| r.note),
            Ok(Some("ticket 42".into()))
        );
        // An older client's free text: "other" with the text as its note.
        assert_eq!(
            ok("abuse report #42", None),
            Ok(RevealReason {
                code: "other",
                note: Some("abuse report #42".into())
            })
        );
        assert_eq!(ok("", None), Err("reason_required"));
        assert_eq!(ok("other", Some("  ")), Err("note_required"));
        assert_eq!(ok("whatever", Some("x")), Err("reason_unknown"));
        let long = "x".repeat(201);
        assert_eq!(ok("other", Some(&long)), Err("note_too_long"));
        assert_eq!(ok("other", Some("a\u{7}b")), Err("note_invalid"));
        assert_eq!(
            ok("other", Some("mail jan@example.nl")),
            Err("note_personal")
        );
    }
}
