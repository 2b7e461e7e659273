//! Objects larger than one sealed value (a workspace export's ZIP), sealed
//! in chunks with the field cipher and streamed into and out of the
//! object store ([`FileStore`]) without ever holding the whole object.
//!
//! # Format
//! A magic line (`metiva.sealed-stream.v1\n`), then frames, one per chunk
//! of at most [`CHUNK`] plaintext bytes:
//!
//! ```text
//! u8 last (0 or 1) | u8 key-id length | key id | 12-byte nonce |
//! u32 BE ciphertext length | ciphertext+tag
//! ```
//!
//! # Security
//! - Every chunk is sealed by [`KeyRing::seal`] under the company's data
//!   key (DEK), so destroying the DEK (offboarding) makes the object
//!   unreadable like every other value of the company, and the bytes at
//!   rest in the bucket are ciphertext only.
//! - Each chunk's associated data binds the company, the object's table,
//!   column and id, the chunk's index and whether it is the last one
//!   (`{id}#{index}#last` / `#more`): chunks cannot be reordered, dropped,
//!   moved to another object or company, and a stream cut short (no
//!   chunk says `last`) fails instead of reading as a shorter file. This
//!   is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár) on
//!   the same AES-256-GCM the rest of the product uses, with a fresh
//!   random nonce per chunk.
//! - Reading fails closed: a frame that does not open, a length beyond
//!   the format's bounds, trailing bytes or a missing last chunk end the
//!   stream with an error, never with plaintext that was not sealed here.
//! - Writing goes through one multipart upload that becomes visible only
//!   when completed (S3, and the local store's staged rename), so a crash
//!   mid-upload never leaves a readable half object; an abandoned S3
//!   upload is cleaned up by the bucket's lifecycle rule (README).

use std::path::Path as FsPath;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use metiva_security::cipher::{FieldContext, KeyRing, Sealed};
use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::DbError;
use crate::files::{FileStore, parse_key, store_err};

/// The first bytes of every sealed stream.
pub const MAGIC: &[u8] = b"metiva.sealed-stream.v1\n";
/// Plaintext bytes per chunk (1 MiB): what the reader and the writer hold.
pub const CHUNK: usize = 1024 * 1024;
/// Bytes per multipart part (S3's minimum is 5 MiB, except the last).
const PART: usize = 8 * 1024 * 1024;
/// Parts in flight at once (memory: about `PART * (INFLIGHT + 1)`).
const INFLIGHT: usize = 2;
/// AES-GCM's tag.
const TAG: usize = 16;
/// A key id longer than this is not one of ours (`d-…`, `k1`).
const MAX_KEY_ID: usize = 64;

/// Where the object belongs: its company and its place, as for a field.
#[derive(Debug, Clone)]
pub struct StreamContext {
    pub company: String,
    pub table: &'static str,
    pub column: &'static str,
    pub id: String,
}

impl StreamContext {
    fn row_id(&self, index: u64, last: bool) -> String {
        format!("{}#{index}#{}", self.id, if last { "last" } else { "more" })
    }

    fn seal(
        &self,
        keys: &KeyRing,
        index: u64,
        last: bool,
        chunk: &[u8],
    ) -> Result<Sealed, DbError> {
        let row = self.row_id(index, last);
        keys.seal(
            chunk,
            &FieldContext {
                company_id: &self.company,
                table: self.table,
                column: self.column,
                row_id: &row,
            },
        )
        .map_err(|e| DbError::Internal(format!("sealing a stream chunk: {e}")))
    }

    fn open(&self, keys: &KeyRing, index: u64, last: bool, s: &Sealed) -> Result<Vec<u8>, String> {
        let row = self.row_id(index, last);
        keys.open(
            s,
            &FieldContext {
                company_id: &self.company,
                table: self.table,
                column: self.column,
                row_id: &row,
            },
        )
        .map_err(|e| format!("chunk {index} does not open: {e}"))
    }
}

/// What was written: the plaintext's size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub bytes: u64,
    pub sha256: String,
}

fn frame(out: &mut Vec<u8>, last: bool, s: &Sealed) -> Result<(), DbError> {
    let id = s.key_id.as_bytes();
    let id_len = u8::try_from(id.len())
        .ok()
        .filter(|n| usize::from(*n) <= MAX_KEY_ID)
        .ok_or_else(|| DbError::Internal("a key id too long to frame".into()))?;
    let ct_len = u32::try_from(s.ciphertext.len())
        .map_err(|_| DbError::Internal("a chunk too long to frame".into()))?;
    out.push(u8::from(last));
    out.push(id_len);
    out.extend_from_slice(id);
    out.extend_from_slice(&s.nonce);
    out.extend_from_slice(&ct_len.to_be_bytes());
    out.extend_from_slice(&s.ciphertext);
    Ok(())
}

/// Fills `buf` from `f` as far as it goes (short only at the end). A
/// plain read of a local spool file: a 1 MiB read does not hold the
/// runtime's thread long enough to matter, and keeps tokio's file
/// machinery out of this crate.
fn fill(f: &mut std::fs::File, buf: &mut Vec<u8>) -> std::io::Result<()> {
    use std::io::Read;
    buf.clear();
    buf.resize(CHUNK, 0);
    let mut n = 0;
    while n < CHUNK {
        let Some(rest) = buf.get_mut(n..) else { break };
        let got = f.read(rest)?;
        if got == 0 {
            break;
        }
        n += got;
    }
    buf.truncate(n);
    Ok(())
}

/// Seals the local file `src` chunk by chunk into the object `key` (one
/// multipart upload; the object appears only once complete). The
/// company's data key must be loaded. Answers the plaintext's size and
/// SHA-256, read in the same pass.
pub async fn put_file(
    files: &FileStore,
    keys: &KeyRing,
    key: &str,
    at: &StreamContext,
    src: &FsPath,
) -> Result<Written, DbError> {
    if !key.starts_with(&format!("{}/", at.company)) {
        return Err(DbError::Internal("object key outside its company".into()));
    }
    let path = parse_key(key)?;
    let io = |e: std::io::Error| DbError::Internal(format!("reading {}: {e}", src.display()));
    let mut f = std::fs::File::open(src).map_err(io)?;
    let upload = files
        .inner()?
        .put_multipart(&path)
        .await
        .map_err(store_err)?;
    let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
    let written = async {
        w.write(MAGIC);
        let mut hash = Sha256::new();
        let mut total = 0u64;
        let (mut cur, mut next) = (Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK));
        fill(&mut f, &mut cur).map_err(io)?;
        let mut index = 0u64;
        let mut out = Vec::with_capacity(CHUNK + 128);
        loop {
            // Read one ahead: the last chunk is the one with nothing after.
            let last = if cur.len() < CHUNK {
                true
            } else {
                fill(&mut f, &mut next).map_err(io)?;
                next.is_empty()
            };
            hash.update(&cur);
            total += cur.len() as u64;
            out.clear();
            frame(&mut out, last, &at.seal(keys, index, last, &cur)?)?;
            w.wait_for_capacity(INFLIGHT).await.map_err(store_err)?;
            w.write(&out);
            if last {
                break;
            }
            std::mem::swap(&mut cur, &mut next);
            index += 1;
        }
        Ok::<_, DbError>(Written {
            bytes: total,
            sha256: hex::encode(hash.finalize()),
        })
    }
    .await;
    match written {
        Ok(written) => {
            w.finish().await.map_err(store_err)?;
            Ok(written)
        }
        Err(e) => {
            // Nothing half-written stays behind (best effort: the error
            // that stopped us is the one worth reporting).
            let _ = w.abort().await;
            Err(e)
        }
    }
}

/// A stream of plaintext chunks.
pub type PlainStream = BoxStream<'static, Result<Vec<u8>, std::io::Error>>;

/// Opens the sealed object `key` as a stream of plaintext chunks, each
/// authenticated before it is yielded; any fault ends the stream with an
/// error (see the module's Security). The company's data key must be
/// loaded. A missing object is `DbError::NotFound`-like: the store's
/// error, answered before any byte.
pub async fn open(
    files: &FileStore,
    keys: Arc<KeyRing>,
    key: &str,
    at: StreamContext,
) -> Result<PlainStream, DbError> {
    if !key.starts_with(&format!("{}/", at.company)) {
        return Err(DbError::Internal("object key outside its company".into()));
    }
    let path = parse_key(key)?;
    let got = files.inner()?.get(&path).await.map_err(store_err)?;
    let state = Reader {
        inner: got.into_stream(),
        buf: Vec::new(),
        index: 0,
        magic_seen: false,
        ended: false,
        keys,
        at,
    };
    Ok(futures::stream::try_unfold(state, Reader::next_chunk).boxed())
}

struct Reader {
    inner: BoxStream<'static, object_store::Result<bytes::Bytes>>,
    buf: Vec<u8>,
    index: u64,
    magic_seen: bool,
    /// The last chunk was yielded: only the end may follow.
    ended: bool,
    keys: Arc<KeyRing>,
    at: StreamContext,
}

fn bad(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

impl Reader {
    /// Reads more bytes; false at the end of the object.
    async fn more(&mut self) -> Result<bool, std::io::Error> {
        match self.inner.next().await {
            Some(Ok(b)) => {
                self.buf.extend_from_slice(&b);
                Ok(true)
            }
            Some(Err(e)) => Err(std::io::Error::other(format!("object store: {e}"))),
            None => Ok(false),
        }
    }

    /// The length of the frame at the start of `buf`, once its header is
    /// there (bounds checked before anything is allocated for it).
    fn frame_len(&self) -> Result<Option<usize>, std::io::Error> {
        let Some(&id_len) = self.buf.get(1) else {
            return Ok(None);
        };
        let id_len = usize::from(id_len);
        if id_len == 0 || id_len > MAX_KEY_ID {
            return Err(bad("a frame's key id length is out of bounds"));
        }
        let head = 2 + id_len + 12 + 4;
        let Some(len) = self.buf.get(head - 4..head) else {
            return Ok(None);
        };
        let mut be = [0u8; 4];
        be.copy_from_slice(len);
        let ct = usize::try_from(u32::from_be_bytes(be)).unwrap_or(usize::MAX);
        if !(TAG..=CHUNK + TAG).contains(&ct) {
            return Err(bad("a frame's length is out of bounds"));
        }
        Ok(Some(head + ct))
    }

    async fn next_chunk(mut self) -> Result<Option<(Vec<u8>, Self)>, std::io::Error> {
        if !self.magic_seen {
            while self.buf.len() < MAGIC.len() {
                if !self.more().await? {
                    return Err(bad("not a sealed stream (too short)"));
                }
            }
            if self.buf.get(..MAGIC.len()) != Some(MAGIC) {
                return Err(bad("not a sealed stream"));
            }
            self.buf.drain(..MAGIC.len());
            self.magic_seen = true;
        }
        if self.ended {
            // Nothing may follow the last chunk.
            if !self.buf.is_empty() || self.more().await? {
                return Err(bad("bytes after the last chunk"));
            }
            return Ok(None);
        }
        let len = loop {
            if let Some(len) = self.frame_len()?
                && self.buf.len() >= len
            {
                break len;
            }
            if !self.more().await? {
                return Err(bad("the stream ends before its last chunk"));
            }
        };
        let frame: Vec<u8> = self.buf.drain(..len).collect();
        let last = match frame.first() {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(bad("a frame's last flag is not 0 or 1")),
        };
        let id_len = usize::from(frame.get(1).copied().unwrap_or(0));
        let key_id = std::str::from_utf8(frame.get(2..2 + id_len).unwrap_or_default())
            .map_err(|_| bad("a frame's key id is not text"))?
            .to_string();
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(frame.get(2 + id_len..14 + id_len).unwrap_or(&[0; 12]));
        let sealed = Sealed {
            key_id,
            nonce,
            ciphertext: frame.get(18 + id_len..).unwrap_or_default().to_vec(),
        };
        // The flag is part of the associated data: a frame that claims to
        // be the last (or not) falsely does not open.
        let plain = self
            .at
            .open(&self.keys, self.index, last, &sealed)
            .map_err(bad)?;
        self.ended = last;
        self.index += 1;
        Ok(Some((plain, self)))
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;
    use metiva_security::envelope::MemoryKeyStore;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    const C: &str = "cmp_aaaaaa";

    async fn ring() -> Arc<KeyRing> {
        let mut keys = KeyRing::new();
        keys.rotate_in_key("k1", &[7u8; 32]);
        let store = MemoryKeyStore::default();
        for c in [C, "cmp_bbbbbb"] {
            keys.load(&store, c).await.unwrap();
        }
        Arc::new(keys)
    }

    fn at(company: &str, id: &str) -> StreamContext {
        StreamContext {
            company: company.into(),
            table: "exports",
            column: "zip",
            id: id.into(),
        }
    }

    /// Writes `plain` through a spool file; answers the store, the bytes
    /// at rest and what was written.
    async fn sealed(keys: &KeyRing, plain: &[u8]) -> (FileStore, Arc<InMemory>, Vec<u8>, Written) {
        let mem = Arc::new(InMemory::new());
        let files = FileStore::new(mem.clone());
        let spool = std::env::temp_dir().join(format!("metiva-sealed-{}", uuid::Uuid::new_v4()));
        std::fs::write(&spool, plain).unwrap();
        let w = put_file(&files, keys, &format!("{C}/x"), &at(C, "x"), &spool)
            .await
            .unwrap();
        let _ = std::fs::remove_file(&spool);
        let raw = mem.get(&Path::from(format!("{C}/x"))).await.unwrap();
        let raw = raw.bytes().await.unwrap().to_vec();
        (files, mem, raw, w)
    }

    async fn read(
        files: &FileStore,
        keys: Arc<KeyRing>,
        at: StreamContext,
    ) -> Result<Vec<u8>, String> {
        let s = open(files, keys, &format!("{C}/x"), at)
            .await
            .map_err(|e| e.to_string())?;
        let chunks: Vec<Vec<u8>> = s.try_collect().await.map_err(|e| e.to_string())?;
        Ok(chunks.concat())
    }

    /// Replaces the object's bytes at rest.
    async fn put_raw(mem: &InMemory, raw: Vec<u8>) {
        mem.put(&Path::from(format!("{C}/x")), PutPayload::from(raw))
            .await
            .unwrap();
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn sizes_round_trip_with_their_digest() {
        let keys = ring().await;
        for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 17] {
            let plain = pattern(n);
            let (files, _, raw, w) = sealed(&keys, &plain).await;
            assert_eq!(w.bytes, n as u64);
            assert_eq!(w.sha256, hex::encode(Sha256::digest(&plain)));
            assert!(raw.starts_with(MAGIC));
            assert_eq!(
                read(&files, keys.clone(), at(C, "x")).await.unwrap(),
                plain,
                "{n}"
            );
        }
    }

    #[tokio::test]
    async fn cut_reordered_altered_or_moved_streams_do_not_open() {
        let keys = ring().await;
        let plain = pattern(2 * CHUNK + 5);
        let (files, mem, raw, _) = sealed(&keys, &plain).await;
        let frame = |i: usize| -> std::ops::Range<usize> {
            // Frames of full chunks are the same size; find the i-th.
            let mut at = MAGIC.len();
            for _ in 0..i {
                let id = usize::from(raw[at + 1]);
                let len = u32::from_be_bytes(raw[at + 14 + id..at + 18 + id].try_into().unwrap());
                at += 18 + id + len as usize;
            }
            let id = usize::from(raw[at + 1]);
            let len = u32::from_be_bytes(raw[at + 14 + id..at + 18 + id].try_into().unwrap());
            at..at + 18 + id + len as usize
        };
        let (f0, f1, f2) = (frame(0), frame(1), frame(2));
        assert_eq!(f2.end, raw.len());

        // Cut after a whole frame: no chunk said "last".
        put_raw(&mem, raw[..f1.end].to_vec()).await;
        let e = read(&files, keys.clone(), at(C, "x")).await.unwrap_err();
        assert!(e.contains("ends before its last chunk"), "{e}");
        // Cut inside a frame.
        put_raw(&mem, raw[..f2.end - 3].to_vec()).await;
        assert!(read(&files, keys.clone(), at(C, "x")).await.is_err());
        // Two frames swapped (same sizes).
        let mut swapped = raw[..f0.start].to_vec();
        swapped.extend_from_slice(&raw[f1.clone()]);
        swapped.extend_from_slice(&raw[f0.clone()]);
        swapped.extend_from_slice(&raw[f2.clone()]);
        put_raw(&mem, swapped).await;
        assert!(read(&files, keys.clone(), at(C, "x")).await.is_err());
        // A middle frame flagged "last" (the flag is authenticated).
        let mut flagged = raw[..f1.end].to_vec();
        flagged[f1.start] = 1;
        put_raw(&mem, flagged).await;
        assert!(read(&files, keys.clone(), at(C, "x")).await.is_err());
        // One byte of ciphertext flipped.
        let mut flipped = raw.clone();
        flipped[f1.start + 40] ^= 1;
        put_raw(&mem, flipped).await;
        assert!(read(&files, keys.clone(), at(C, "x")).await.is_err());
        // Bytes after the last chunk.
        let mut longer = raw.clone();
        longer.extend_from_slice(&raw[f0.clone()]);
        put_raw(&mem, longer).await;
        let e = read(&files, keys.clone(), at(C, "x")).await.unwrap_err();
        assert!(e.contains("after the last chunk"), "{e}");
        // An absurd length is refused before anything is allocated.
        let mut huge = raw.clone();
        let id = usize::from(raw[f0.start + 1]);
        huge[f0.start + 14 + id..f0.start + 18 + id].copy_from_slice(&u32::MAX.to_be_bytes());
        put_raw(&mem, huge).await;
        let e = read(&files, keys.clone(), at(C, "x")).await.unwrap_err();
        assert!(e.contains("out of bounds"), "{e}");

        // Intact, but read as another object or another company's.
        put_raw(&mem, raw.clone()).await;
        assert_eq!(read(&files, keys.clone(), at(C, "x")).await.unwrap(), plain);
        assert!(read(&files, keys.clone(), at(C, "y")).await.is_err());
        let other = StreamContext {
            company: "cmp_bbbbbb".into(),
            ..at(C, "x")
        };
        // Its key must name the other company too: refused before reading.
        assert!(
            open(&files, keys.clone(), &format!("{C}/x"), other)
                .await
                .is_err()
        );
    }
}
