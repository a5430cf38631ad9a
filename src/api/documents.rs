//! Document bytes for manifest entries: `PUT /v1/applications/{id}/documents/{name}`. The type is
//! judged by the bytes (PDF, JPEG, PNG signatures), not by what the caller says; at most 5 MiB; the
//! SHA-256 must be the manifest's. Bytes are stored once by digest (`<dir>/ab/abcdef…`, written to a
//! temporary file, synced, renamed), and the application is processed once every entry has arrived.
//! Refusals say the limit and what was received.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use crate::api::problem::Problem;
use crate::api::{ApiState, Caller, load_application, sha256_hex};
use crate::domain::application::MAX_DOCUMENT_BYTES;
use crate::store::{Attached, StoredDocument};

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

    /// Keep `bytes` under their digest (idempotent: the same bytes land in the same file).
    pub fn put(&self, sha256: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(sha256);
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(FsPath::new("."));
        std::fs::create_dir_all(dir)?;
        // One temporary file per call: concurrent uploads of the same bytes (the same document
        // for several applications) must not write into each other's file. The renames then
        // race harmlessly: every one puts the same bytes in place.
        let tmp = dir.join(format!(".{sha256}.{}", crate::ids::uuid_v4()));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        // The rename is durable once the directory is synced too.
        std::fs::File::open(dir)?.sync_all()
    }

    /// The bytes of a digest, if stored.
    pub fn get(&self, sha256: &str) -> Option<Vec<u8>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        std::fs::read(self.path(sha256)).ok()
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
    let bytes = match Limited::new(body, MAX_DOCUMENT_BYTES as usize)
        .collect()
        .await
    {
        Ok(c) => c.to_bytes(),
        Err(_) => return Err(too_large(format!("more than {MAX_DOCUMENT_BYTES} bytes"))),
    };
    let Some(found) = sniff(&bytes) else {
        let head: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
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
    let digest = sha256_hex(&bytes);
    if digest != entry.sha256 || bytes.len() as u64 != entry.size {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-digest-mismatch",
            "Document differs from the manifest",
            format!(
                "the manifest says {} bytes with SHA-256 {}; received {} bytes with SHA-256 {digest}",
                entry.size,
                entry.sha256,
                bytes.len()
            ),
        ));
    }
    let documents = state.documents.clone();
    let (d, b) = (digest.clone(), bytes.clone());
    tokio::task::spawn_blocking(move || documents.put(&d, &b))
        .await
        .map_err(|e| crate::store::StoreError::Io(std::io::Error::other(e)))?
        .map_err(crate::store::StoreError::Io)?;
    let stored = StoredDocument {
        name: name.clone(),
        sha256: digest,
        size: bytes.len() as u64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_uploads_of_the_same_bytes_all_succeed() {
        let dir = std::env::temp_dir().join(format!("reggate-docs-race-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = DocumentStore {
            dir: dir.clone(),
            wait_for_documents: true,
        };
        let bytes = vec![7u8; 256 * 1024];
        let digest = crate::api::sha256_hex(&bytes);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| s.spawn(|| store.put(&digest, &bytes)))
                .collect();
            for h in handles {
                h.join().expect("thread").expect("every upload is stored");
            }
        });
        assert_eq!(store.get(&digest).as_deref(), Some(&bytes[..]));
        let leftovers = std::fs::read_dir(store.path(&digest).parent().expect("dir"))
            .expect("dir")
            .count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
