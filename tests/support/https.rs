//! A small HTTPS client of the gateway's API for in-process tests: one connection per call
//! (`Connection: close`), TLS trusting the development internal CA, with or without a client
//! certificate and the bearer key; it can also read the certificate the server presents.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reggate::clock::Clock;
use reggate::gateway::Gateway;
use reggate::tls::config::{ReloadableClientCert, client_config_with};
use reggate::tls::pki::PkiLayout;
use rustls_pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// An API client: over TLS (trusting the development internal CA, with or without a client
/// certificate) or plain, with or without the bearer key.
pub struct Api {
    /// The API's address.
    pub addr: SocketAddr,
    /// TLS, or plain HTTP with none.
    pub tls: Option<TlsConnector>,
    /// The bearer key sent.
    pub bearer: Option<&'static str>,
}

impl Api {
    pub fn new(
        gw: &Gateway,
        key: &'static str,
        certs: &PkiLayout,
        clock: &Arc<dyn Clock>,
        client: Option<(PathBuf, PathBuf)>,
    ) -> Api {
        let resolver = client.map(|(cert, key)| {
            Arc::new(ReloadableClientCert::load(&cert, &key, clock.clone()).expect("client cert"))
                as Arc<dyn rustls::client::ResolvesClientCert>
        });
        let ca = certs.internal_ca();
        let config = client_config_with(&ca, resolver, clock.clone()).expect("client TLS");
        Api {
            addr: gw.api,
            tls: Some(TlsConnector::from(config)),
            bearer: Some(key),
        }
    }

    /// The certificate the API presents on a new connection.
    pub async fn server_certificate(&self) -> Vec<u8> {
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let tls = self
            .tls
            .as_ref()
            .expect("TLS")
            .connect(name, tcp)
            .await
            .expect("handshake");
        tls.get_ref().1.peer_certificates().expect("a certificate")[0].to_vec()
    }

    pub fn bearer(self, bearer: Option<&'static str>) -> Api {
        Api { bearer, ..self }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        self.try_call(method, path, headers, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// The status and JSON body, or why there was no answer (I/O and TLS errors).
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Result<(u16, Value), String> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(key) = self.bearer {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(body);
        let tcp = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(self.addr))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect: {e}"))?;
        let raw = match &self.tls {
            Some(tls) => {
                let name = ServerName::try_from("localhost").expect("name");
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?;
                exchange(stream, head.as_bytes()).await?
            }
            None => exchange(tcp, head.as_bytes()).await?,
        };
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &[u8],
) -> Result<Vec<u8>, String> {
    s.write_all(request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .map_err(|_| "answer timed out".to_string())?
        .map_err(|e| format!("read: {e}"))?;
    Ok(raw)
}
