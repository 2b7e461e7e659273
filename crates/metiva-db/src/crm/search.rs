//! One search over contacts, organisations and deals: by name, email,
//! domain or title, inside the request's workspace only, answered from
//! the terms index (migration `crm_search` says why not trigrams: under
//! RLS only LEAKPROOF operators reach an index, and text ranges are).

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::access::TenantCtx;
use crate::schema::{deals, organisations, persons, search_terms};
use crate::{Database, DbError, TenantConn};

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitKind {
    Contact,
    Organisation,
    Deal,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub kind: HitKind,
    pub id: Uuid,
    pub label: String,
    /// The email, domain or stage shown beside the label.
    pub detail: String,
}

/// The shortest query searched (fewer characters match nearly everything).
pub const MIN_QUERY: usize = 2;
/// The longest query searched.
pub const MAX_QUERY: usize = 100;
/// Hits per kind.
pub const PER_KIND: i64 = 20;

/// The prefixes a query is searched by: the whole query when it holds
/// punctuation (an email or a domain is a term of its own), otherwise
/// each word of two or more characters; lower-case, at most five.
pub fn query_terms(q: &str) -> Vec<String> {
    let q = q.trim().to_lowercase();
    let mut terms: Vec<String> = if q
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace())
    {
        vec![q.chars().take(100).collect()]
    } else {
        q.split_whitespace()
            .filter(|w| w.chars().count() >= 2)
            .map(|w| w.chars().take(100).collect())
            .collect()
    };
    terms.dedup();
    terms.truncate(5);
    terms
}

/// The smallest string greater than every string starting with `prefix`
/// (in byte order, the terms' collation): its last character, plus one.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        // Skip the surrogate gap.
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The records (kind, id) with a term starting with `prefix`, among
/// `within` when given; and whether the read stopped at its bound.
async fn matching(
    tc: &mut TenantConn<'_>,
    prefix: &str,
    within: Option<&[Uuid]>,
) -> Result<(HashSet<(String, Uuid)>, bool), DbError> {
    let company = tc.company().as_str().to_string();
    let mut q = search_terms::table
        .filter(search_terms::company_id.eq(&company))
        .filter(search_terms::term.ge(prefix))
        .into_boxed();
    if let Some(end) = prefix_end(prefix) {
        q = q.filter(search_terms::term.lt(end));
    }
    if let Some(ids) = within {
        q = q.filter(search_terms::record_id.eq_any(ids));
    }
    let rows: Vec<(String, Uuid)> = q
        .select((search_terms::kind, search_terms::record_id))
        .limit(MAX_MATCHES + 1)
        .load(tc.conn())
        .await?;
    let truncated = rows.len() > usize::try_from(MAX_MATCHES).unwrap_or(usize::MAX);
    Ok((rows.into_iter().collect(), truncated))
}

/// Terms read per query word (a bound on a very common prefix).
const MAX_MATCHES: i64 = 2_000;

/// The query as it is searched: trimmed, or `None` when it is too short
/// or too long to search.
pub fn normalise(q: &str) -> Option<String> {
    let q = q.trim();
    let n = q.chars().count();
    (MIN_QUERY..=MAX_QUERY).contains(&n).then(|| q.to_string())
}

impl Database {
    /// Contacts, organisations and deals matching `q`, by kind, each kind
    /// by name; in one snapshot.
    pub async fn search(&self, ctx: &TenantCtx, q: &str) -> Result<Vec<Hit>, DbError> {
        let Some(q) = normalise(q) else {
            return Ok(Vec::new());
        };
        let terms = query_terms(&q);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        self.in_tenant_snapshot(ctx, async |tc: &mut TenantConn<'_>| {
            // Every word must match (some term of the record starts with
            // it). The most selective word picks the candidates; a word
            // too common to read whole ("person") is then checked against
            // those candidates only, so it never cuts true hits.
            let mut sets = Vec::with_capacity(terms.len());
            for t in &terms {
                let (m, truncated) = matching(tc, t, None).await?;
                sets.push((t, m, truncated));
            }
            sets.sort_by_key(|(_, m, truncated)| (*truncated, m.len()));
            let mut found: HashSet<(String, Uuid)> = HashSet::new();
            for (i, (t, m, truncated)) in sets.into_iter().enumerate() {
                if i == 0 {
                    found = m;
                } else if truncated {
                    let ids: Vec<Uuid> = found.iter().map(|(_, id)| *id).collect();
                    let (m, _) = matching(tc, t, Some(&ids)).await?;
                    found = found.intersection(&m).cloned().collect();
                } else {
                    found = found.intersection(&m).cloned().collect();
                }
            }
            let ids = |kind: &str| -> Vec<Uuid> {
                found
                    .iter()
                    .filter(|(k, _)| k == kind)
                    .map(|(_, id)| *id)
                    .collect()
            };
            let company = tc.company().as_str().to_string();
            let people: Vec<(Uuid, String, Option<String>)> = persons::table
                .filter(persons::company_id.eq(&company))
                .filter(persons::id.eq_any(ids("person")))
                .order(persons::name.asc())
                .limit(PER_KIND)
                .select((persons::id, persons::name, persons::email))
                .load(tc.conn())
                .await?;
            let orgs: Vec<(Uuid, String, Option<String>)> = organisations::table
                .filter(organisations::company_id.eq(&company))
                .filter(organisations::id.eq_any(ids("organisation")))
                .order(organisations::name.asc())
                .limit(PER_KIND)
                .select((
                    organisations::id,
                    organisations::name,
                    organisations::domain,
                ))
                .load(tc.conn())
                .await?;
            let found_deals: Vec<(Uuid, String, String)> = deals::table
                .filter(deals::company_id.eq(&company))
                .filter(deals::id.eq_any(ids("deal")))
                .order(deals::title.asc())
                .limit(PER_KIND)
                .select((deals::id, deals::title, deals::stage))
                .load(tc.conn())
                .await?;
            let mut hits: Vec<Hit> = people
                .into_iter()
                .map(|(id, label, email)| Hit {
                    kind: HitKind::Contact,
                    id,
                    label,
                    detail: email.unwrap_or_default(),
                })
                .collect();
            hits.extend(orgs.into_iter().map(|(id, label, domain)| Hit {
                kind: HitKind::Organisation,
                id,
                label,
                detail: domain.unwrap_or_default(),
            }));
            hits.extend(found_deals.into_iter().map(|(id, label, stage)| Hit {
                kind: HitKind::Deal,
                id,
                label,
                detail: stage,
            }));
            Ok(hits)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_become_prefixes_and_ranges() {
        assert_eq!(query_terms("Bloemen  Jansen"), ["bloemen", "jansen"]);
        assert_eq!(query_terms("anouk@Bloem"), ["anouk@bloem"]);
        assert_eq!(query_terms("a b"), Vec::<String>::new());
        assert_eq!(prefix_end("bloem").as_deref(), Some("bloen"));
        assert_eq!(prefix_end("az").as_deref(), Some("a{"));
        assert_eq!(normalise("  a "), None);
        assert_eq!(normalise(" ab "), Some("ab".into()));
        assert_eq!(normalise(&"x".repeat(101)), None);
    }
}
