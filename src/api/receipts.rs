//! `GET /v1/applications/{id}/receipt`: the signed receipt of submission as JSON, or as a one-page
//! PDF with `Accept: application/pdf` (or `?format=pdf`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::body::{Path, Query};
use crate::api::problem::{Problem, internal};
use crate::api::{ApiState, Caller, at, load_application};
use crate::ids::sha256_hex;
use crate::receipt::{Receipt, pdf};

/// `?format=pdf|json`.
#[derive(Debug, Default, Deserialize)]
pub struct ReceiptQuery {
    /// `pdf` or `json`; another value is refused naming `?format`.
    pub format: Option<Format>,
}

/// The receipt's form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Signed JSON.
    Json,
    /// A one-page PDF carrying the signed JSON.
    Pdf,
}

/// The receipt of an application.
pub async fn receipt(
    State(state): State<Arc<ApiState>>,
    _caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ReceiptQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some(signer) = state.receipts.as_ref() else {
        return Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "receipts-unavailable",
            "Receipts unavailable",
            "no receipt-signing certificate is configured",
        ));
    };
    let record = load_application(&state, &id).await?;
    let signed = signer
        .sign(Receipt {
            number: record.number.clone(),
            id: record.id.clone(),
            submitted_at: at(record.submitted_ms),
            benefit: record.benefit.clone(),
            digest: sha256_hex(record.input.to_string().as_bytes()),
        })
        .map_err(|e| internal("receipt could not be signed", &e))?;
    let wants_pdf = q.format == Some(Format::Pdf)
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/pdf"));
    if wants_pdf {
        let disposition = format!("inline; filename=\"receipt-{}.pdf\"", record.number);
        return Ok((
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            pdf(&signed),
        )
            .into_response());
    }
    Ok(axum::Json(signed).into_response())
}
