//! Verifying a member's own phone for SMS alerts: a 6-digit one-time code
//! sent by SMS (through the `notify.sms` job), valid for 10 minutes, at
//! most 5 tries, at most 3 codes per member per hour. Once verified, the
//! member may turn SMS breach alerts on.
//!
//! # Security
//! - Only a salted hash of the code is stored (`keyed_hash` with a random
//!   16-byte salt per code); the SMS body that carries it is sealed and
//!   cleared once sent. A 6-digit code is guessable offline from a hash,
//!   so what protects it is the 10-minute life and the 5 tries, counted
//!   in the database (a wrong try commits its count before answering).
//! - The comparison is constant-time.
//! - The number is sealed with the workspace's data key; only its last
//!   three digits are kept in the clear, for the settings page.
//! - A member changes only their own phone: the user id comes from the
//!   verified session, never from the form.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use metiva_security::cipher::KeyRing;
use metiva_security::secret::{ct_eq, keyed_hash};
use uuid::Uuid;

use super::sms::{open_text, place, seal_text};
use crate::access::TenantCtx;
use crate::schema::{member_phones, phone_codes, sms_messages};
use crate::{Database, DbError, TenantConn};

/// How long a code is valid.
pub const CODE_TTL: TimeDelta = TimeDelta::minutes(10);
/// Wrong tries before a code is dead.
pub const MAX_TRIES: i32 = 5;
/// Codes a member may request per hour.
pub const MAX_CODES_PER_HOUR: i64 = 3;

/// Why a phone request or confirmation was refused.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    /// The number is not a phone number (422).
    #[error("invalid phone number")]
    InvalidPhone,
    /// More than [`MAX_CODES_PER_HOUR`] codes in the last hour (429).
    #[error("too many codes requested")]
    Throttled,
    /// No code is waiting (422).
    #[error("no code requested")]
    NoCode,
    /// The code is older than [`CODE_TTL`] (422).
    #[error("code expired")]
    Expired,
    /// [`MAX_TRIES`] wrong tries: request a new code (422).
    #[error("too many wrong tries")]
    Locked,
    /// Wrong code; `left` tries remain (422).
    #[error("wrong code")]
    WrongCode { left: i32 },
    /// Alerts need a verified phone first (422).
    #[error("no verified phone")]
    NotVerified,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Normalises a typed number to E.164: spaces, dashes, dots and
/// parentheses dropped; a leading `00` becomes `+`; a Dutch national
/// number (`06…`, `010…`) gets `+31`. Then `+` and 8 to 15 digits.
pub fn normalise_phone(raw: &str) -> Result<String, PhoneError> {
    let compact: String = raw
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let e164 = if let Some(rest) = compact.strip_prefix('+') {
        format!("+{rest}")
    } else if let Some(rest) = compact.strip_prefix("00") {
        format!("+{rest}")
    } else if let Some(rest) = compact.strip_prefix('0') {
        format!("+31{rest}")
    } else {
        return Err(PhoneError::InvalidPhone);
    };
    let digits = e164.get(1..).unwrap_or("");
    let ok = (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(e164)
    } else {
        Err(PhoneError::InvalidPhone)
    }
}

fn hint(e164: &str) -> String {
    e164.get(e164.len().saturating_sub(3)..)
        .unwrap_or("")
        .to_string()
}

fn code_hash(salt: &[u8], user: Uuid, code: &str) -> [u8; 32] {
    let mut data = user.as_bytes().to_vec();
    data.extend_from_slice(code.as_bytes());
    keyed_hash(salt, "metiva.phone_code.v1", &data)
}

/// The member's phone as the settings page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneSettings {
    /// Last three digits of the verified phone, if any.
    pub verified_hint: Option<String>,
    pub sms_alerts: bool,
    /// Last three digits of a number with a live code waiting.
    pub pending_hint: Option<String>,
}

impl Database {
    /// The signed-in member's phone settings.
    pub async fn my_phone(
        &self,
        ctx: &TenantCtx,
        now: DateTime<Utc>,
    ) -> Result<PhoneSettings, DbError> {
        let me = ctx.user_id();
        self.in_tenant_read(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let verified: Option<(String, bool)> = member_phones::table
                .filter(member_phones::company_id.eq(&company))
                .filter(member_phones::user_id.eq(me))
                .select((member_phones::phone_hint, member_phones::sms_alerts))
                .first(tc.conn())
                .await
                .optional()?;
            let pending: Option<String> = phone_codes::table
                .filter(phone_codes::company_id.eq(&company))
                .filter(phone_codes::user_id.eq(me))
                .filter(phone_codes::verified_at.is_null())
                .filter(phone_codes::expires_at.gt(now))
                .filter(phone_codes::attempts.lt(MAX_TRIES))
                .order(phone_codes::created_at.desc())
                .select(phone_codes::phone_hint)
                .first(tc.conn())
                .await
                .optional()?;
            Ok(PhoneSettings {
                sms_alerts: verified.as_ref().is_some_and(|v| v.1),
                verified_hint: verified.map(|v| v.0),
                pending_hint: pending,
            })
        })
        .await
    }

    /// Sends a new code to `raw_phone` for the signed-in member (throttled:
    /// [`MAX_CODES_PER_HOUR`]). The SMS goes out through its own job.
    pub async fn request_phone_code(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        raw_phone: &str,
        now: DateTime<Utc>,
    ) -> Result<(), PhoneError> {
        let phone = normalise_phone(raw_phone)?;
        let me = ctx.user_id();
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            let recent: i64 = phone_codes::table
                .filter(phone_codes::company_id.eq(&company))
                .filter(phone_codes::user_id.eq(me))
                .filter(phone_codes::created_at.gt(now - TimeDelta::hours(1)))
                .count()
                .get_result(tc.conn())
                .await?;
            if recent >= MAX_CODES_PER_HOUR {
                return Ok(Err(PhoneError::Throttled));
            }
            let code = format!("{:06}", rand::random_range(0..1_000_000u32));
            let salt: [u8; 16] = rand::random();
            let id = Uuid::new_v4();
            let sealed_phone = seal_text(
                keys,
                &place(&company, "phone_codes", "phone", &id.to_string()),
                &phone,
            )?;
            diesel::insert_into(phone_codes::table)
                .values((
                    phone_codes::company_id.eq(&company),
                    phone_codes::id.eq(id),
                    phone_codes::user_id.eq(me),
                    phone_codes::phone_key_id.eq(&sealed_phone.key_id),
                    phone_codes::phone_nonce.eq(sealed_phone.nonce.to_vec()),
                    phone_codes::phone_ciphertext.eq(&sealed_phone.ciphertext),
                    phone_codes::phone_hint.eq(hint(&phone)),
                    phone_codes::code_salt.eq(salt.to_vec()),
                    phone_codes::code_hash.eq(code_hash(&salt, me, &code).to_vec()),
                    phone_codes::created_at.eq(now),
                    phone_codes::expires_at.eq(now + CODE_TTL),
                ))
                .execute(tc.conn())
                .await?;
            let msg = Uuid::new_v4();
            let body = format!(
                "Metiva: uw verificatiecode is {code} / your verification code is {code} (10 min)."
            );
            let sealed_body = seal_text(
                keys,
                &place(&company, "sms_messages", "body", &msg.to_string()),
                &body,
            )?;
            diesel::insert_into(sms_messages::table)
                .values((
                    sms_messages::company_id.eq(&company),
                    sms_messages::id.eq(msg),
                    sms_messages::user_id.eq(me),
                    sms_messages::purpose.eq("phone_code"),
                    sms_messages::phone_code_id.eq(Some(id)),
                    sms_messages::body_key_id.eq(Some(&sealed_body.key_id)),
                    sms_messages::body_nonce.eq(Some(sealed_body.nonce.to_vec())),
                    sms_messages::body_ciphertext.eq(Some(&sealed_body.ciphertext)),
                ))
                .execute(tc.conn())
                .await?;
            super::sms::enqueue(tc, msg).await?;
            Ok(Ok(()))
        })
        .await?
    }

    /// Checks `code` against the member's latest code; on success the
    /// phone becomes the member's verified phone. A wrong try is counted
    /// (committed) before the refusal.
    pub async fn confirm_phone_code(
        &self,
        ctx: &TenantCtx,
        keys: &KeyRing,
        code: &str,
        now: DateTime<Utc>,
        request_id: &str,
    ) -> Result<(), PhoneError> {
        let me = ctx.user_id();
        let code = code.trim();
        crate::billing::connection::load_key(self, keys, ctx.company()).await?;
        self.in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
            let company = tc.company().as_str().to_string();
            type CodeRow = (
                Uuid,
                String,
                Vec<u8>,
                Vec<u8>,
                String,
                Vec<u8>,
                Vec<u8>,
                i32,
                DateTime<Utc>,
            );
            let row: Option<CodeRow> = phone_codes::table
                .filter(phone_codes::company_id.eq(&company))
                .filter(phone_codes::user_id.eq(me))
                .filter(phone_codes::verified_at.is_null())
                .order(phone_codes::created_at.desc())
                .select((
                    phone_codes::id,
                    phone_codes::phone_key_id,
                    phone_codes::phone_nonce,
                    phone_codes::phone_ciphertext,
                    phone_codes::phone_hint,
                    phone_codes::code_salt,
                    phone_codes::code_hash,
                    phone_codes::attempts,
                    phone_codes::expires_at,
                ))
                .for_update()
                .first(tc.conn())
                .await
                .optional()?;
            let Some((id, pk, pn, pc, phint, salt, hash, attempts, expires_at)) = row else {
                return Ok(Err(PhoneError::NoCode));
            };
            if attempts >= MAX_TRIES {
                return Ok(Err(PhoneError::Locked));
            }
            if expires_at <= now {
                return Ok(Err(PhoneError::Expired));
            }
            let good = code.len() == 6
                && code.bytes().all(|b| b.is_ascii_digit())
                && ct_eq(&code_hash(&salt, me, code), &hash);
            if !good {
                let used = attempts + 1;
                diesel::update(
                    phone_codes::table
                        .filter(phone_codes::company_id.eq(&company))
                        .filter(phone_codes::id.eq(id)),
                )
                .set(phone_codes::attempts.eq(used))
                .execute(tc.conn())
                .await?;
                return Ok(Err(if used >= MAX_TRIES {
                    PhoneError::Locked
                } else {
                    PhoneError::WrongCode {
                        left: MAX_TRIES - used,
                    }
                }));
            }
            diesel::update(
                phone_codes::table
                    .filter(phone_codes::company_id.eq(&company))
                    .filter(phone_codes::id.eq(id)),
            )
            .set(phone_codes::verified_at.eq(Some(now)))
            .execute(tc.conn())
            .await?;
            // Re-sealed where it now lives (the associated data names the
            // table, column and row).
            let phone = open_text(
                keys,
                &place(&company, "phone_codes", "phone", &id.to_string()),
                pk,
                pn,
                pc,
            )?;
            let sealed = seal_text(
                keys,
                &place(&company, "member_phones", "phone", &me.to_string()),
                &phone,
            )?;
            diesel::insert_into(member_phones::table)
                .values((
                    member_phones::company_id.eq(&company),
                    member_phones::user_id.eq(me),
                    member_phones::phone_key_id.eq(&sealed.key_id),
                    member_phones::phone_nonce.eq(sealed.nonce.to_vec()),
                    member_phones::phone_ciphertext.eq(&sealed.ciphertext),
                    member_phones::phone_hint.eq(&phint),
                    member_phones::verified_at.eq(now),
                ))
                .on_conflict((member_phones::company_id, member_phones::user_id))
                .do_update()
                .set((
                    member_phones::phone_key_id.eq(excluded(member_phones::phone_key_id)),
                    member_phones::phone_nonce.eq(excluded(member_phones::phone_nonce)),
                    member_phones::phone_ciphertext.eq(excluded(member_phones::phone_ciphertext)),
                    member_phones::phone_hint.eq(excluded(member_phones::phone_hint)),
                    member_phones::verified_at.eq(excluded(member_phones::verified_at)),
                    member_phones::updated_at.eq(diesel::dsl::now.into_sql::<Timestamptz>()),
                ))
                .execute(tc.conn())
                .await?;
            crate::repo::audit::append(
                tc,
                &crate::repo::audit::AuditEntry {
                    actor_user_id: Some(me),
                    action: "member.phone_verified",
                    target_type: Some("user"),
                    target_id: Some(&me.to_string()),
                    request_id: Some(request_id),
                    reason: None,
                },
            )
            .await?;
            Ok(Ok(()))
        })
        .await?
    }

    /// Turns the member's SMS breach alerts on or off (on needs a
    /// verified phone).
    pub async fn set_sms_alerts(&self, ctx: &TenantCtx, on: bool) -> Result<(), PhoneError> {
        let me = ctx.user_id();
        let n = self
            .in_tenant(ctx, async |tc: &mut TenantConn<'_>| {
                let company = tc.company().as_str().to_string();
                Ok(diesel::update(
                    member_phones::table
                        .filter(member_phones::company_id.eq(&company))
                        .filter(member_phones::user_id.eq(me)),
                )
                .set((
                    member_phones::sms_alerts.eq(on),
                    member_phones::updated_at.eq(diesel::dsl::now.into_sql::<Timestamptz>()),
                ))
                .execute(tc.conn())
                .await?)
            })
            .await?;
        if n == 0 && on {
            return Err(PhoneError::NotVerified);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_normalise_to_e164() {
        assert_eq!(
            normalise_phone("06 1234 5678").ok().as_deref(),
            Some("+31612345678")
        );
        assert_eq!(
            normalise_phone("0031-6-12345678").ok().as_deref(),
            Some("+31612345678")
        );
        assert_eq!(
            normalise_phone("+44 7700 900123").ok().as_deref(),
            Some("+447700900123")
        );
        for bad in [
            "",
            "abc",
            "12345",
            "+3161234567890123",
            "+31 6 1234 567x",
            "+0612345678",
        ] {
            assert!(normalise_phone(bad).is_err(), "{bad}");
        }
    }
}
