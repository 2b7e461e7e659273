//! Raw SQL that is cached as a prepared statement (issue 15).
//!
//! `diesel::sql_query` marks itself unsafe to cache, so diesel-async
//! parses and plans it again on every call. For a fixed statement text
//! that is pure overhead: a guarded page ran a handful of them per
//! request. [`sql`] takes the text as `&'static str`, so only a constant
//! statement can be cached (a `format!`ed one would grow the cache
//! without bound and does not compile here); diesel keys the cache on
//! the text and the bind types. The statement cache is per connection
//! and obeys `METIVA_DB_STATEMENT_CACHE=off` (a transaction-mode pooler)
//! like every typed query.
//!
//! Binds are positional (`$1`, `$2`, … in the text) in the order of the
//! `.bind` calls, exactly as with `sql_query`.

use std::marker::PhantomData;

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};

/// A constant statement text, cached per connection.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct CachedSql {
    text: &'static str,
}

/// A statement with one more bound value.
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Bound<Q, V, ST> {
    query: Q,
    value: V,
    _st: PhantomData<ST>,
}

/// A raw statement that diesel-async prepares once per connection.
pub fn sql(text: &'static str) -> CachedSql {
    CachedSql { text }
}

/// Binding values to a [`CachedSql`] statement, in `$n` order.
pub trait BindCached: Sized {
    fn bind<ST, V>(self, value: V) -> Bound<Self, V, ST> {
        Bound {
            query: self,
            value,
            _st: PhantomData,
        }
    }
}

impl BindCached for CachedSql {}
impl<Q, V, ST> BindCached for Bound<Q, V, ST> {}

impl QueryFragment<Pg> for CachedSql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // Unlike `SqlQuery`, no `unsafe_to_cache_prepared`: the text is a
        // constant, so caching it by text is sound.
        out.push_sql(self.text);
        Ok(())
    }
}

impl<Q, V, ST> QueryFragment<Pg> for Bound<Q, V, ST>
where
    Q: QueryFragment<Pg>,
    V: ToSql<ST, Pg>,
    Pg: HasSqlType<ST>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_bind_param_value_only(&self.value)
    }
}

// No static query id: the cache key is the statement text and the bind
// types.
impl QueryId for CachedSql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, V, ST> QueryId for Bound<Q, V, ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for CachedSql {
    type SqlType = Untyped;
}

impl<Q, V, ST> Query for Bound<Q, V, ST> {
    type SqlType = Untyped;
}
