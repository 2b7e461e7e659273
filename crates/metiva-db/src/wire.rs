//! The tenant binding on the wire: one round trip for a tenant read.
//!
//! A read through [`crate::Database::tenant_read`] needs its statements to
//! run with `app.company_id` set, transaction-locally. With `BEGIN;
//! SET LOCAL …`, the query and `COMMIT` as three requests, tokio-postgres
//! ends each with its own `Sync`, and the server answers, and flushes, three
//! times (measured: 1.5x a plain query; `cargo xtask bench`).
//!
//! PostgreSQL's extended protocol has a cheaper form: every message up to a
//! `Sync` runs in one implicit transaction, committed at the `Sync`. So this
//! module puts a *prelude* in front of each query's `Bind`, inside the same
//! `Sync`:
//!
//! ```text
//! Bind metiva_bind('cmp_…') · Execute · Bind <query> · Execute · Sync
//! ```
//!
//! `metiva_bind` runs `set_config('app.company_id', $1, true)` (LOCAL: it
//! ends at that `Sync`) and makes the transaction read-only. It is a
//! prepared statement, and the company id travels as a bind parameter,
//! never spliced into SQL. tokio-postgres has no API for this, so
//! [`TappedStream`] does it between tokio-postgres and the socket: it adds
//! the prelude's messages on the way out and removes its three answers
//! (`BindComplete`, one `DataRow`, `CommandComplete`) on the way in.
//!
//! A write lease ([`crate::Database::tenant`], [`Mode::Write`]) needs one
//! transaction for all its queries, so only its first query gets a
//! prelude, which opens it: `Parse/Bind/Execute BEGIN` and
//! `metiva_bind_rw` (the binding, not read-only), six answers removed.
//! Its later queries run inside that transaction; the lease commits or
//! rolls it back.
//!
//! # Security
//! - **Fail closed.** A query that goes out without a prelude runs with no
//!   tenant at all, and RLS turns that into no rows and refused writes.
//!   The prelude is only added to a `Bind` that starts a request (nothing
//!   since the last `Sync`), which is every query diesel-async sends;
//!   anything else goes out unchanged, unbound.
//! - **Never the wrong tenant.** The prelude comes from this connection's
//!   [`Tap`], which holds the company only while a lease holds the
//!   connection (set after checkout, cleared before release; see
//!   `tenant`). One connection serves one lease at a time.
//! - **The prelude's own failure is the query's failure.** If `metiva_bind`
//!   errs (access revoked, statement missing), the server skips the query
//!   up to the `Sync`, and its `ErrorResponse` is passed on as the query's
//!   answer.
//! - **Anything unexpected breaks the connection.** An answer out of order
//!   is an I/O error: tokio-postgres closes the connection and the pool
//!   drops it.
//!
//! This leans on how tokio-postgres frames a query (`Bind`, `Execute`,
//! `Sync`, after a separate `Parse` when the statement is new). Should an
//! upgrade change that, the prelude stops being added and tenant reads come
//! back empty: closed, and loud, since most of the suite reads tenant data.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The prepared statements the prelude runs. Prepared once per connection
/// (see `tenant`), by name, so the prelude's `Bind` can name them.
///
/// `transaction_read_only` is set after the company: a read lease must not
/// write. `metiva_assert_access` comes last, so it runs with the company
/// set (it reads memberships through RLS); run in another order it would
/// find nothing and refuse, which is still closed.
pub(crate) const PREPARE_SQL: &str = "\
PREPARE metiva_bind(text) AS \
  SELECT set_config('app.company_id', $1, true), set_config('transaction_read_only', 'on', true); \
PREPARE metiva_bind_access(text, uuid, uuid, text) AS \
  SELECT set_config('app.company_id', $1, true), set_config('transaction_read_only', 'on', true), \
         metiva_assert_access($2, $3, $4); \
PREPARE metiva_bind_rw(text) AS \
  SELECT set_config('app.company_id', $1, true); \
PREPARE metiva_bind_rw_access(text, uuid, uuid, text) AS \
  SELECT set_config('app.company_id', $1, true), metiva_assert_access($2, $3, $4)";

/// How a lease binds its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every query in its own implicit transaction, each with the prelude,
    /// read-only.
    Read,
    /// One explicit transaction: the first query's request opens it
    /// (`BEGIN`) and binds it; later queries run inside it, bound already.
    /// The lease commits or rolls back.
    Write,
}

/// The answers a prelude gets, in order, which the stream removes.
const READ_ANSWERS: &[u8] = b"2DC";
/// `BEGIN`: ParseComplete, BindComplete, CommandComplete; then the
/// binding's three.
const WRITE_ANSWERS: &[u8] = b"12C2DC";

/// What the next requests on a connection are bound to.
#[derive(Default)]
pub(crate) struct Tap {
    prelude: Mutex<Option<Prelude>>,
}

struct Prelude {
    company: String,
    /// Asserted with the first query only: later queries of the same lease
    /// run for the same request.
    access: Option<[String; 3]>,
    mode: Mode,
    /// A prelude went out (for `Write`: the transaction is open).
    sent: bool,
}

impl Tap {
    /// Binds the following requests to `company`, the first of them also
    /// asserting `access` (user, session, role).
    pub(crate) fn arm(&self, company: &str, access: Option<[String; 3]>, mode: Mode) {
        *self.lock() = Some(Prelude {
            company: company.to_owned(),
            access,
            mode,
            sent: false,
        });
    }

    /// The following requests run unbound (no tenant: RLS shows nothing).
    pub(crate) fn disarm(&self) {
        *self.lock() = None;
    }

    pub(crate) fn is_armed(&self) -> bool {
        self.lock().is_some()
    }

    /// Whether a prelude went out since `arm`: for a `Write` lease, whether
    /// there is a transaction to end.
    pub(crate) fn sent(&self) -> bool {
        self.lock().as_ref().is_some_and(|p| p.sent)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Prelude>> {
        // The guarded value is a plain Option: a panic elsewhere cannot
        // leave it half-written.
        self.prelude.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Encodes the prelude into `out`, if one is due, and returns the
    /// answers it will get.
    fn write_prelude(&self, out: &mut BytesMut) -> Option<&'static [u8]> {
        let mut guard = self.lock();
        let p = guard.as_mut()?;
        if p.mode == Mode::Write && p.sent {
            // Inside the transaction the first request opened and bound.
            return None;
        }
        p.sent = true;
        let (plain, with_access, answers) = match p.mode {
            Mode::Read => ("metiva_bind", "metiva_bind_access", READ_ANSWERS),
            Mode::Write => {
                // BEGIN, as the unnamed statement.
                out.put_u8(b'P');
                out.put_i32(4 + 1 + 6 + 2);
                out.put_u8(0);
                out.put_slice(b"BEGIN\0");
                out.put_i16(0);
                bind(out, "", &[]);
                execute(out);
                ("metiva_bind_rw", "metiva_bind_rw_access", WRITE_ANSWERS)
            }
        };
        match p.access.take() {
            Some([user, session, role]) => {
                bind(out, with_access, &[&p.company, &user, &session, &role]);
            }
            None => bind(out, plain, &[&p.company]),
        }
        execute(out);
        Some(answers)
    }
}

/// `Execute` of the unnamed portal, all rows.
fn execute(out: &mut BytesMut) {
    out.put_u8(b'E');
    out.put_i32(4 + 1 + 4);
    out.put_u8(0);
    out.put_i32(0);
}

/// `Bind` of the unnamed portal to `statement`, text parameters and text
/// results.
fn bind(out: &mut BytesMut, statement: &str, params: &[&str]) {
    let params_len: usize = params.iter().map(|p| 4 + p.len()).sum();
    let len = 4 + 1 + statement.len() + 1 + 2 + 2 + 2 + params_len + 2;
    out.put_u8(b'B');
    out.put_i32(len as i32);
    out.put_u8(0); // portal ""
    out.put_slice(statement.as_bytes());
    out.put_u8(0);
    out.put_i16(1); // one format code for all parameters: text
    out.put_i16(0);
    out.put_i16(params.len() as i16);
    for p in params {
        out.put_i32(p.len() as i32);
        out.put_slice(p.as_bytes());
    }
    out.put_i16(0); // results: text
}

/// Answers of one prelude still to be removed from the input.
struct Pending {
    /// How many `ReadyForQuery` come before its answers.
    after_ready: u64,
    /// The answers still to come, in order.
    answers: &'static [u8],
}

/// The socket between tokio-postgres and PostgreSQL, adding and removing
/// the prelude (see the module docs).
pub(crate) struct TappedStream<S> {
    inner: S,
    tap: Arc<Tap>,
    /// Bytes given by tokio-postgres, not yet split into messages.
    partial_out: BytesMut,
    /// Messages (with preludes) not yet written to the socket.
    out: BytesMut,
    started: bool,
    /// `ReadyForQuery` the server will have sent once it has answered
    /// everything written so far.
    ready_expected: u64,
    /// Nothing was written since the last `Sync` or `Query`.
    request_start: bool,
    /// Bytes read from the socket, not yet split into messages.
    partial_in: BytesMut,
    /// Messages to hand to tokio-postgres.
    input: BytesMut,
    ready_seen: u64,
    pending: VecDeque<Pending>,
}

const HIGH_WATER: usize = 256 * 1024;

impl<S> TappedStream<S> {
    pub(crate) fn new(inner: S, tap: Arc<Tap>) -> Self {
        Self {
            inner,
            tap,
            partial_out: BytesMut::new(),
            out: BytesMut::new(),
            started: false,
            ready_expected: 0,
            request_start: false,
            partial_in: BytesMut::new(),
            input: BytesMut::new(),
            ready_seen: 0,
            pending: VecDeque::new(),
        }
    }

    /// Moves every complete message from `partial_out` to `out`, adding a
    /// prelude in front of each `Bind` that starts a request.
    fn frame_output(&mut self) -> io::Result<()> {
        loop {
            if !self.started {
                // The startup message has no type byte, only a length.
                let Some((_, len)) = frame(&self.partial_out, false)? else {
                    return Ok(());
                };
                self.out.put_slice(&self.partial_out.split_to(len));
                self.started = true;
                // Startup ends with one ReadyForQuery.
                self.ready_expected = 1;
                self.request_start = true;
                continue;
            }
            let Some((kind, len)) = frame(&self.partial_out, true)? else {
                return Ok(());
            };
            if kind == b'B'
                && self.request_start
                && let Some(answers) = self.tap.write_prelude(&mut self.out)
            {
                self.pending.push_back(Pending {
                    after_ready: self.ready_expected,
                    answers,
                });
            }
            self.out.put_slice(&self.partial_out.split_to(len));
            // Sync and (simple) Query each end with exactly one
            // ReadyForQuery.
            self.request_start = matches!(kind, b'S' | b'Q');
            if self.request_start {
                self.ready_expected += 1;
            }
        }
    }

    /// Moves every complete message from `partial_in` to `input`, dropping
    /// the answers to preludes.
    fn frame_input(&mut self) -> io::Result<()> {
        while let Some((kind, len)) = frame(&self.partial_in, true)? {
            let msg = self.partial_in.split_to(len);
            // Notices, parameter changes and notifications may come at any
            // time and answer no request.
            let asynchronous = matches!(kind, b'N' | b'S' | b'A');
            let ours = !asynchronous
                && self
                    .pending
                    .front()
                    .is_some_and(|p| p.after_ready == self.ready_seen);
            if ours {
                let next = self
                    .pending
                    .front()
                    .and_then(|p| p.answers.first().copied());
                if next == Some(kind) {
                    if let Some(p) = self.pending.front_mut() {
                        p.answers = p.answers.get(1..).unwrap_or_default();
                        if p.answers.is_empty() {
                            self.pending.pop_front();
                        }
                    }
                    continue;
                }
                if kind != b'E' {
                    return Err(out_of_order());
                }
                // The prelude failed: the server skips the rest up to the
                // `Sync`, and this error becomes the query's answer.
                self.pending.pop_front();
            }
            if kind == b'Z' {
                self.ready_seen += 1;
                if self
                    .pending
                    .front()
                    .is_some_and(|p| p.after_ready < self.ready_seen)
                {
                    return Err(out_of_order());
                }
            }
            self.input.put_slice(&msg);
        }
        Ok(())
    }
}

fn out_of_order() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "metiva: tenant prelude answered out of order",
    )
}

/// The message at the start of `buf`, if it has fully arrived: its type
/// byte (0 for the untyped startup message) and its whole length.
fn frame(buf: &[u8], typed: bool) -> io::Result<Option<(u8, usize)>> {
    let at = usize::from(typed);
    let Some(&[a, b, c, d]) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    let len = i32::from_be_bytes([a, b, c, d]);
    let Some(total) = usize::try_from(len)
        .ok()
        .filter(|l| *l >= 4)
        .map(|l| l + at)
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "malformed protocol message",
        ));
    };
    if buf.len() < total {
        return Ok(None);
    }
    let kind = if typed {
        buf.first().copied().unwrap_or(0)
    } else {
        0
    };
    Ok(Some((kind, total)))
}

impl<S: AsyncWrite + Unpin> TappedStream<S> {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TappedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.out.len() >= HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        this.partial_out.extend_from_slice(buf);
        this.frame_output()?;
        // Start writing now; what is left goes out on flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TappedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.input.is_empty() {
                let n = this.input.len().min(buf.remaining());
                buf.put_slice(&this.input.split_to(n));
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; 16 * 1024];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                // End of stream: hand on whatever arrived, then EOF.
                return Poll::Ready(Ok(()));
            }
            this.partial_in.extend_from_slice(rb.filled());
            this.frame_input()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    fn startup() -> Vec<u8> {
        let mut m = 8i32.to_be_bytes().to_vec();
        m.extend_from_slice(&196_608i32.to_be_bytes());
        m
    }

    fn prelude(company: &str) -> Vec<u8> {
        let mut out = BytesMut::new();
        bind(&mut out, "metiva_bind", &[company]);
        let mut v = out.to_vec();
        v.extend(msg(b'E', &[0, 0, 0, 0, 0]));
        v
    }

    /// Writes `requests` one byte at a time through a stream armed for
    /// `company` (from the first request on, with `access` if given),
    /// returns what reached the server.
    async fn sent(
        requests: &[Vec<u8>],
        company: Option<&str>,
        access: Option<[String; 3]>,
        mode: Mode,
    ) -> Vec<u8> {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let tap = Arc::new(Tap::default());
        let mut s = TappedStream::new(client, Arc::clone(&tap));
        for b in startup() {
            s.write_all(&[b]).await.unwrap_or_else(|e| panic!("{e}"));
        }
        if let Some(c) = company {
            tap.arm(c, access, mode);
        }
        for r in requests {
            for b in r {
                s.write_all(&[*b]).await.unwrap_or_else(|e| panic!("{e}"));
            }
        }
        s.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
        let mut got = Vec::new();
        server
            .read_to_end(&mut got)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        got
    }

    fn query() -> Vec<u8> {
        let mut q = msg(b'B', b"\0s1\0\0\0\0\0\0\0");
        q.extend(msg(b'E', &[0, 0, 0, 0, 0]));
        q.extend(msg(b'S', b""));
        q
    }

    #[tokio::test]
    async fn every_query_of_an_armed_connection_gets_the_prelude_in_its_own_request() {
        let got = sent(&[query(), query()], Some("cmp_aaaaaa"), None, Mode::Read).await;
        let mut want = startup();
        for _ in 0..2 {
            want.extend(prelude("cmp_aaaaaa"));
            want.extend(query());
        }
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn a_disarmed_connection_and_a_mid_request_bind_go_out_unchanged() {
        let got = sent(&[query()], None, None, Mode::Read).await;
        assert_eq!(got, [startup(), query()].concat());
        // A Bind after a Parse in the same request is not at its start: no
        // prelude (it would run unbound, so RLS shows nothing).
        let parse_then_bind = [msg(b'P', b"\0SELECT 1\0\0\0"), query()].concat();
        let got = sent(
            std::slice::from_ref(&parse_then_bind),
            Some("cmp_aaaaaa"),
            None,
            Mode::Read,
        )
        .await;
        assert_eq!(got, [startup(), parse_then_bind].concat());
    }

    #[tokio::test]
    async fn the_access_assertion_goes_with_the_first_query_only() {
        let access = ["u".into(), "s".into(), "admin".into()];
        let got = sent(
            &[query(), query()],
            Some("cmp_aaaaaa"),
            Some(access),
            Mode::Read,
        )
        .await;
        let mut first = BytesMut::new();
        bind(
            &mut first,
            "metiva_bind_access",
            &["cmp_aaaaaa", "u", "s", "admin"],
        );
        let mut want = startup();
        want.extend(first.to_vec());
        want.extend(msg(b'E', &[0, 0, 0, 0, 0]));
        want.extend(query());
        want.extend(prelude("cmp_aaaaaa"));
        want.extend(query());
        assert_eq!(got, want);
    }

    /// Sends one armed query, then feeds `answers` to the client one byte
    /// at a time; returns what tokio-postgres would read.
    async fn received(mode: Mode, answers: &[Vec<u8>]) -> std::io::Result<Vec<u8>> {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let tap = Arc::new(Tap::default());
        let mut s = TappedStream::new(client, Arc::clone(&tap));
        s.write_all(&startup()).await?;
        tap.arm("cmp_aaaaaa", None, mode);
        s.write_all(&query()).await?;
        s.flush().await?;
        for b in answers.concat() {
            server.write_all(&[b]).await?;
        }
        drop(server);
        let mut got = Vec::new();
        s.read_to_end(&mut got).await?;
        Ok(got)
    }

    fn ready() -> Vec<u8> {
        msg(b'Z', b"I")
    }

    #[tokio::test]
    async fn the_preludes_answers_are_removed_and_nothing_else() {
        let row = msg(b'D', b"\0\x01\0\0\0\x0acmp_aaaaaa");
        let done = msg(b'C', b"SELECT 1\0");
        let notice = msg(b'N', b"SNOTICE\0\0");
        let answers = [
            ready(),
            msg(b'2', b""),
            notice.clone(),
            row.clone(),
            done.clone(),
            msg(b'2', b""),
            row.clone(),
            done.clone(),
            ready(),
        ];
        let got = received(Mode::Read, &answers)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let want = [ready(), notice, msg(b'2', b""), row, done, ready()].concat();
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn a_failed_prelude_is_the_querys_error() {
        let error = msg(b'E', b"SERROR\0C42501\0Mmetiva: access revoked\0\0");
        let got = received(Mode::Read, &[ready(), error.clone(), ready()])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got, [ready(), error, ready()].concat());
    }

    #[tokio::test]
    async fn an_answer_out_of_order_breaks_the_connection() {
        for answers in [vec![ready(), msg(b'D', b"\0\0")], vec![ready(), ready()]] {
            let err = received(Mode::Read, &answers).await.err();
            assert_eq!(
                err.map(|e| e.kind()),
                Some(std::io::ErrorKind::InvalidData),
                "{answers:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_write_lease_opens_and_binds_its_transaction_with_the_first_query_only() {
        let got = sent(&[query(), query()], Some("cmp_aaaaaa"), None, Mode::Write).await;
        let mut begin = msg(b'P', b"\0BEGIN\0\0\0");
        let mut b = BytesMut::new();
        bind(&mut b, "", &[]);
        begin.extend(b.to_vec());
        begin.extend(msg(b'E', &[0, 0, 0, 0, 0]));
        let mut set = BytesMut::new();
        bind(&mut set, "metiva_bind_rw", &["cmp_aaaaaa"]);
        let mut want = startup();
        want.extend(begin);
        want.extend(set.to_vec());
        want.extend(msg(b'E', &[0, 0, 0, 0, 0]));
        want.extend(query());
        want.extend(query());
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn a_write_preludes_six_answers_are_removed() {
        let row = msg(b'D', b"\0\x01\0\0\0\x0acmp_aaaaaa");
        let answers = [
            ready(),
            msg(b'1', b""),
            msg(b'2', b""),
            msg(b'C', b"BEGIN\0"),
            msg(b'2', b""),
            row.clone(),
            msg(b'C', b"SELECT 1\0"),
            msg(b'2', b""),
            msg(b'C', b"INSERT 0 1\0"),
            msg(b'Z', b"T"),
        ];
        let got = received(Mode::Write, &answers)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let want = [
            ready(),
            msg(b'2', b""),
            msg(b'C', b"INSERT 0 1\0"),
            msg(b'Z', b"T"),
        ]
        .concat();
        assert_eq!(got, want);
    }

    #[test]
    fn sent_tells_whether_a_write_lease_opened_its_transaction() {
        let tap = Tap::default();
        tap.arm("cmp_aaaaaa", None, Mode::Write);
        assert!(!tap.sent(), "nothing went out: no transaction to end");
        let mut out = BytesMut::new();
        assert_eq!(tap.write_prelude(&mut out), Some(WRITE_ANSWERS));
        assert!(tap.sent());
        assert_eq!(tap.write_prelude(&mut out), None, "once per lease");
        tap.disarm();
        assert!(!tap.sent());
    }
}
