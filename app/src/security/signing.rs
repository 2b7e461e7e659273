//! The security page's token-signing-key line: the live keys from
//! `token_signing_keys` (the dashboard's role reads their public parts
//! and times only), the current key's age, and a warning past 90 days.

use crate::i18n::{Lang, tr};

/// Ages past this many days are flagged (as `metiva check` does).
pub const AGE_WARNING_DAYS: i64 = 90;

/// One line: which key signs, for how long, and what comes next.
pub fn signing_key_line(
    l: Lang,
    keys: &[metiva_db::signing_keys::SigningKeyInfo],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    use metiva_db::signing_keys::KeyState;
    let Some(current) = keys.iter().find(|k| k.state == KeyState::Current) else {
        return format!(
            "{} (metiva keys rotate-signing)",
            tr(
                l,
                "Not rotated yet: the key from the environment signs, and its age is not recorded"
            )
        );
    };
    let days = current.age(now).num_days().max(0);
    let mut line = format!(
        "{}, {} {days} {}",
        current.public.kid,
        tr(l, "in use for"),
        tr(l, "days")
    );
    if let Some(next) = keys.iter().find(|k| k.state == KeyState::Next) {
        line.push_str(&format!(
            "; {} {}",
            tr(l, "next key published:"),
            next.public.kid
        ));
    }
    if days >= AGE_WARNING_DAYS {
        line = format!(
            "{} {line} (metiva keys rotate-signing)",
            tr(l, "OLDER THAN 90 DAYS, rotate it:")
        );
    }
    line
}
