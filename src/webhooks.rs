//! Webhooks: the outbox's status-change events pushed to configured URLs, HMAC-signed, at least once
//! and in order. Each subscription has a durable cursor in the store; a dispatcher sends the events
//! after it one at a time, advancing the cursor only after a 2xx, and retries a failure with
//! exponential backoff (backon) — so nothing is lost across restarts, and an application's events
//! (indeed all events) arrive in outbox order. A receiver may see an event twice (after a crash
//! between its 2xx and the cursor write): `seq` identifies it.
//!
//! Signature: `X-Reggate-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use backon::BackoffBuilder;
use http_body_util::Full;
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use tokio::sync::watch;

use crate::store::{Event, Store};

/// One subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Its name (the key of its cursor).
    pub name: String,
    /// Where events are POSTed (`http://` or `https://`).
    pub url: String,
    /// The HMAC secret shared with the receiver.
    pub secret: String,
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let hex = PKey::hmac(secret.as_bytes())
        .and_then(|key| {
            let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
            signer.update(body)?;
            signer.sign_to_vec()
        })
        .map(hex::encode)
        .unwrap_or_default();
    format!("sha256={hex}")
}

/// The JSON body of an event.
pub fn body(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "seq": e.seq,
        "application_id": e.application_id,
        "number": e.number,
        "kind": e.kind,
        "status": e.status,
        "at": crate::api::at(e.at_ms),
    }))
    .unwrap_or_default()
}

/// The HTTP(S) client events are POSTed with.
type HookClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Deliver `subscription`'s events until `stop` turns true; `https://` receivers are verified with
/// `tls` (its roots: the configured `webhooks.ca`).
pub async fn dispatch(
    subscription: Subscription,
    store: Arc<dyn Store>,
    tls: Arc<rustls::ClientConfig>,
    mut stop: watch::Receiver<bool>,
) {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .build();
    let client: HookClient = Client::builder(TokioExecutor::new()).build(https);
    let Ok(uri) = subscription.url.parse::<Uri>() else {
        tracing::error!(subscription = %subscription.name, "webhook URL is not a URI; not dispatching");
        return;
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let cursor = match store.webhook_cursor(&subscription.name).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook cursor");
                pause(&mut stop, Duration::from_secs(1)).await;
                continue;
            }
        };
        let events = match store.events_after(cursor, 100).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "webhook events");
                pause(&mut stop, Duration::from_secs(1)).await;
                continue;
            }
        };
        if events.is_empty() {
            pause(&mut stop, Duration::from_millis(200)).await;
            continue;
        }
        for event in events {
            if !deliver(&client, &uri, &subscription, &event, &mut stop).await {
                return;
            }
            if let Err(e) = store
                .set_webhook_cursor(&subscription.name, event.seq)
                .await
            {
                tracing::error!(error = %e, "webhook cursor not saved; the event may be sent again");
            }
        }
    }
}

async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stop.changed() => {}
    }
}

/// Send one event until a 2xx; false when stopped first.
async fn deliver(
    client: &HookClient,
    uri: &Uri,
    subscription: &Subscription,
    event: &Event,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let payload = Bytes::from(body(event));
    let sig = signature(&subscription.secret, &payload);
    let mut backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(60))
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        if *stop.borrow() {
            return false;
        }
        let request = hyper::Request::post(uri.clone())
            .header("content-type", "application/json")
            .header("x-reggate-signature", &sig)
            .header("x-reggate-event", event.seq.to_string())
            .body(Full::new(payload.clone()));
        let outcome = match request {
            Ok(r) => tokio::time::timeout(Duration::from_secs(10), client.request(r)).await,
            Err(_) => return true,
        };
        match outcome {
            Ok(Ok(r)) if r.status().is_success() => {
                metrics::counter!(
                    "reggate_webhook_deliveries_total",
                    "subscription" => subscription.name.clone(),
                    "outcome" => "ok"
                )
                .increment(1);
                return true;
            }
            other => {
                let why = match other {
                    Ok(Ok(r)) => format!("HTTP {}", r.status()),
                    Ok(Err(e)) => e.to_string(),
                    Err(_) => "timeout".to_string(),
                };
                metrics::counter!(
                    "reggate_webhook_deliveries_total",
                    "subscription" => subscription.name.clone(),
                    "outcome" => "retry"
                )
                .increment(1);
                tracing::warn!(subscription = %subscription.name, seq = event.seq, %why, "webhook delivery failed; retrying");
                let delay = backoff.next().unwrap_or(Duration::from_secs(60));
                pause(stop, delay).await;
            }
        }
    }
}
