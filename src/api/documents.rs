//! Document bytes for manifest entries: `PUT /v1/applications/{id}/documents/{name}`. The type is
//! judged by the bytes, not by what the caller says: their signature (PDF, JPEG, PNG) first, then
//! their structure ([`content`]: a PDF parses, an image's header decodes); at most 5 MiB; the
//! SHA-256 must be the manifest's. Bytes are stored once by digest (`<dir>/ab/abcdef…`), and the
//! application is processed once every entry has arrived. Refusals say the limit and what was
//! received.
//!
//! A body is never held in memory: it streams into a temporary file of its own
//! (`<dir>/.upload-<uuid>`) while its digest, size and first bytes are taken, each piece written as
//! it came before the next is read ([`Receiving`]): no buffer of its own, so a stalled upload costs
//! only its connection's buffers. Only when every check has passed is the file synced and renamed into its
//! place; on any other way out (a refusal, an error, a client that goes away mid-body) the file
//! is deleted ([`TempFile`]). Concurrent uploads of the same bytes each have their own file, and
//! their renames put the same bytes in the same place.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::api::body::Path;
use crate::api::content;
use crate::api::problem::Problem;
use crate::api::{ApiState, Caller, load_application};
use crate::domain::application::MAX_DOCUMENT_BYTES;
use crate::store::{Attached, StoreError, StoredDocument};

/// Pieces of uploads written at once, across all uploads. Each write is a trip to the blocking
/// pool; unbounded, 200 uploads would keep 200 threads (and their stacks and allocator arenas)
/// alive, while a disk takes no more bytes per second from 200 writers than from 16.
static WRITES: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(16);

/// Bytes [`sniff`] needs to judge a type (PNG's signature is the longest).
pub const SNIFF_BYTES: usize = 8;

/// Where document bytes live, and whether applications wait for them.
#[derive(Clone, Debug)]
pub struct DocumentStore {
    /// The directory (content-addressed).
    pub dir: PathBuf,
    /// Applications wait in `submitted` until every manifest entry's bytes have arrived.
    pub wait_for_documents: bool,
}

/// The media type the bytes themselves show, if one we accept.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

impl DocumentStore {
    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(&sha256[..2]).join(sha256)
    }

    /// Start receiving a document: a new temporary file, unique to this call.
    pub async fn receive(&self) -> std::io::Result<Receiving> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let temp = TempFile(Some(
            self.dir.join(format!(".upload-{}", crate::ids::uuid_v4())),
        ));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(temp.path())
            .await?
            .into_std()
            .await;
        Ok(Receiving {
            sink: Some(Sink {
                file,
                hasher: openssl::sha::Sha256::new(),
            }),
            temp,
            size: 0,
            head: Vec::with_capacity(SNIFF_BYTES),
        })
    }

    /// Keep received bytes under their digest (idempotent: the same bytes land in the same file).
    /// The file is synced before its rename and the directory after, so a stored document survives
    /// a crash; bytes already stored are left as they are.
    pub async fn keep(&self, received: Received) -> std::io::Result<()> {
        let Received {
            file,
            mut temp,
            sha256,
            ..
        } = received;
        let path = self.path(&sha256);
        let top = self.dir.clone();
        // Metadata calls and syncs, one trip to the blocking pool.
        blocking(move || {
            if path.exists() {
                return Ok(()); // `temp` goes as it drops
            }
            let dir = path.parent().unwrap_or(FsPath::new("."));
            let created = !dir.exists();
            std::fs::create_dir_all(dir)?;
            file.sync_all()?;
            drop(file);
            std::fs::rename(temp.path(), &path)?;
            temp.disarm();
            std::fs::File::open(dir)?.sync_all()?;
            if created {
                // The new `ab/` directory itself must be durable in its parent too.
                std::fs::File::open(&top)?.sync_all()?;
            }
            Ok(())
        })
        .await
    }

    /// The bytes of a digest, if stored.
    pub fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        std::fs::read(self.path(sha256)).ok()
    }
}

/// A temporary file that is deleted when dropped, unless it has been renamed into place.
#[derive(Debug)]
pub struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &FsPath {
        self.0.as_deref().unwrap_or(FsPath::new(""))
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            // Unlinking is a quick metadata call; doing it here covers every way out, including
            // a handler future dropped because its client went away.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A document arriving: its bytes so far are in a temporary file, their digest and size counted.
pub struct Receiving {
    /// Away in the blocking pool while a piece is written.
    sink: Option<Sink>,
    temp: TempFile,
    size: u64,
    head: Vec<u8>,
}

/// The file and the digest, which go to the blocking pool together.
struct Sink {
    file: std::fs::File,
    hasher: openssl::sha::Sha256,
}

impl Receiving {
    /// The next piece of the body: hashed and written (not synced) before this returns, so the
    /// body is read no faster than the disk takes it.
    pub async fn write(&mut self, bytes: Bytes) -> std::io::Result<()> {
        let want = SNIFF_BYTES.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..want]);
        self.size += bytes.len() as u64;
        // Waiting here is waiting for the disk, and the body is read no faster meanwhile.
        let _turn = WRITES.acquire().await.map_err(std::io::Error::other)?;
        let mut sink = self.sink.take().ok_or_else(gone)?;
        let sink = blocking(move || {
            use std::io::Write;
            sink.hasher.update(&bytes);
            sink.file.write_all(&bytes)?;
            Ok(sink)
        })
        .await?;
        self.sink = Some(sink);
        Ok(())
    }

    /// Bytes received so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The whole body has arrived.
    pub async fn finish(mut self) -> std::io::Result<Received> {
        let Sink { file, hasher } = self.sink.take().ok_or_else(gone)?;
        let sha256 = hex::encode(hasher.finish());
        Ok(Received {
            file,
            temp: self.temp,
            sha256,
            size: self.size,
            head: self.head,
        })
    }
}

/// A write that failed before (its sink went with it): the upload cannot go on.
fn gone() -> std::io::Error {
    std::io::Error::other("an earlier write of this upload failed")
}

/// `f` on the blocking pool; a panic there is an I/O error here.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(std::io::Error::other)?
}

/// A document received in full, not yet kept.
pub struct Received {
    file: std::fs::File,
    temp: TempFile,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// Their length.
    pub size: u64,
    /// The first [`SNIFF_BYTES`] of them.
    pub head: Vec<u8>,
}

impl Received {
    /// Where the bytes are until they are kept.
    pub fn path(&self) -> &FsPath {
        self.temp.path()
    }
}

/// `PUT /v1/applications/{id}/documents/{name}`.
pub async fn upload(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    Path((id, name)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let record = load_application(&state, &id).await?;
    let input = crate::service::application_of(&record)?;
    let Some(entry) = input.manifest_entry(&name).cloned() else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "no-manifest-entry",
            "No such document in the manifest",
            format!("the manifest names: {}", input.manifest_names().join(", ")),
        ));
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = |received: String| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "document-too-large",
            "Document too large",
            format!(
                "a document may be at most {MAX_DOCUMENT_BYTES} bytes (5 MiB); received {received}"
            ),
        )
    };
    if let Some(n) = declared.filter(|n| *n > MAX_DOCUMENT_BYTES) {
        return Err(too_large(format!("{n} bytes")));
    }
    let received = receive(&state.documents, body, too_large).await?;
    let Some(found) = sniff(&received.head) else {
        let head = hex::encode(&received.head);
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document-type",
            "Unsupported document type",
            format!("accepted: PDF, JPEG, PNG (judged by content); received bytes starting {head}"),
        ));
    };
    if found != entry.media_type {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document-type-mismatch",
            "Document type differs from the manifest",
            format!(
                "the manifest says {}, the bytes are {found}",
                entry.media_type
            ),
        ));
    }
    if received.sha256 != entry.sha256 || received.size != entry.size {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-digest-mismatch",
            "Document differs from the manifest",
            format!(
                "the manifest says {} bytes with SHA-256 {}; received {} bytes with SHA-256 {}",
                entry.size, entry.sha256, received.size, received.sha256
            ),
        ));
    }
    if let Err(why) = content::judge(received.path(), found).await {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document-content",
            "Document content is not what its first bytes say",
            format!("the bytes start like {found} but are {why}"),
        ));
    }
    let (digest, size) = (received.sha256.clone(), received.size);
    state
        .documents
        .keep(received)
        .await
        .map_err(StoreError::Io)?;
    let stored = StoredDocument {
        name: name.clone(),
        sha256: digest,
        size,
        media_type: found.to_string(),
    };
    let missing = match state
        .store
        .attach_document(&record.id, &stored, state.clock.now())
        .await?
    {
        Attached::Done { missing } => missing,
        // Already there (a repeat of the same bytes) or no longer awaited: fine, nothing changes.
        Attached::Unknown => state
            .store
            .get(&record.id)
            .await?
            .map_or(0, |r| r.documents_missing.len()),
    };
    let body = serde_json::json!({"name": name, "sha256": stored.sha256, "media_type": found, "documents_missing": missing});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// The body into a temporary file, at most [`MAX_DOCUMENT_BYTES`]: beyond that it is refused
/// (`too_large`) as soon as the limit is passed, without reading on.
async fn receive(
    documents: &DocumentStore,
    mut body: Body,
    too_large: impl Fn(String) -> Problem,
) -> Result<Received, Problem> {
    let mut receiving = documents.receive().await.map_err(StoreError::Io)?;
    while let Some(frame) = body.frame().await {
        // A body that breaks off (the client went away, or the listener cut it off for stalling
        // and answers 408 itself) leaves nothing behind: the temporary file goes with `receiving`.
        let frame = frame.map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "body-incomplete",
                "Request body incomplete",
                "the document's bytes stopped before their end; nothing was stored",
            )
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers say nothing about the document
        };
        if receiving.size() + data.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(too_large(format!("more than {MAX_DOCUMENT_BYTES} bytes")));
        }
        receiving.write(data).await.map_err(StoreError::Io)?;
    }
    Ok(receiving.finish().await.map_err(StoreError::Io)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(name: &str) -> DocumentStore {
        let dir = std::env::temp_dir().join(format!("reggate-docs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        DocumentStore {
            dir,
            wait_for_documents: true,
        }
    }

    /// Every file under `dir`, recursively (temporary ones included).
    fn files(dir: &FsPath) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(files(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    async fn upload(store: &DocumentStore, bytes: &[u8]) -> std::io::Result<String> {
        let mut receiving = store.receive().await?;
        // In pieces, as a body arrives.
        for piece in bytes.chunks(10_000) {
            receiving.write(Bytes::copy_from_slice(piece)).await?;
        }
        let received = receiving.finish().await?;
        let digest = received.sha256.clone();
        store.keep(received).await?;
        Ok(digest)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_uploads_of_the_same_bytes_all_succeed() {
        let store = Arc::new(store("race"));
        let bytes: Arc<Vec<u8>> = Arc::new((0..256 * 1024).map(|i| (i % 251) as u8).collect());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (store, bytes) = (store.clone(), bytes.clone());
                tokio::spawn(async move { upload(&store, &bytes).await })
            })
            .collect();
        let mut digests = Vec::new();
        for t in tasks {
            digests.push(t.await.expect("task").expect("every upload is stored"));
        }
        let digest = crate::ids::sha256_hex(&bytes);
        assert!(digests.iter().all(|d| *d == digest), "{digests:?}");
        assert_eq!(store.get(&digest).as_deref(), Some(&bytes[..]));
        assert_eq!(
            files(&store.dir),
            [store.path(&digest)],
            "no temporary file is left behind"
        );
        let _ = std::fs::remove_dir_all(&store.dir);
    }

    #[tokio::test]
    async fn an_upload_given_up_leaves_no_file() {
        let store = store("abandoned");
        let mut receiving = store.receive().await.expect("receive");
        receiving
            .write(Bytes::from_static(b"%PDF-1.4 half of it"))
            .await
            .expect("write");
        assert_eq!(files(&store.dir).len(), 1, "the temporary file");
        drop(receiving);
        assert!(files(&store.dir).is_empty());
        // Received in full but refused (say, a digest that is not the manifest's).
        let mut receiving = store.receive().await.expect("receive");
        receiving
            .write(Bytes::from_static(b"%PDF-1.4 all of it"))
            .await
            .expect("write");
        let received = receiving.finish().await.expect("finish");
        assert_eq!(received.size, 18);
        assert_eq!(sniff(&received.head), Some("application/pdf"));
        drop(received);
        assert!(files(&store.dir).is_empty());
        let _ = std::fs::remove_dir_all(&store.dir);
    }
}
