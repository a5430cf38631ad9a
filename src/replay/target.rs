//! Where `reggate replay` sends: the in-process mock registries (`mock`), registries at a URL, or
//! the registries of a gateway configuration file — and the client that reaches them, which is the
//! gateway's own [`SoapClient`] (mTLS, token manager, SOAPAction, timeouts), set up for replay (see
//! [`super::run`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::Uri;

use crate::clock::{Clock, SystemClock};
use crate::config::GatewayConfig;
use crate::contract::Registry;
use crate::mock::faults::Plan;
use crate::mock::population::Population;
use crate::mock::server::MockServer;
use crate::mock::state::ServedFiles;
use crate::soap::breaker::BreakerPolicy;
use crate::soap::client::{Endpoint, Settings, SoapClient};
use crate::soap::hedge::HedgePolicy;
use crate::soap::log::NoLog;
use crate::tls::PkiLayout;
use crate::xml::schema::Schema;

use super::run::RunOptions;

/// The registries a replay calls, and how.
pub struct Target {
    what: String,
    schema: Arc<Schema>,
    tls: Arc<rustls::ClientConfig>,
    endpoints: Vec<(Registry, Endpoint)>,
    clock: Arc<dyn Clock>,
    mock: Option<MockServer>,
}

/// The client side of the development PKI: the gateway's client certificate and the registry CA.
fn dev_client_tls(
    certs: &Path,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let pki = PkiLayout::new(certs);
    client_tls(
        &pki.registry_ca(),
        &pki.gateway_client(),
        &pki.gateway_client_key(),
        clock,
    )
}

fn client_tls(
    ca: &Path,
    cert: &Path,
    key: &Path,
    clock: &Arc<dyn Clock>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let resolver = crate::tls::config::ReloadableClientCert::load(cert, key, clock.clone())
        .map_err(|e| format!("client certificate {}: {e}", cert.display()))?;
    crate::tls::config::client_config_with(ca, Some(Arc::new(resolver)), clock.clone())
        .map_err(|e| format!("registry CA {}: {e}", ca.display()))
}

fn endpoint(url: &str, token_url: &str) -> Result<Endpoint, String> {
    let parse = |u: &str| {
        u.parse::<Uri>()
            .map_err(|e| format!("'{u}' is not a URL: {e}"))
    };
    Ok(Endpoint {
        url: parse(url)?,
        token_url: parse(token_url)?,
    })
}

impl Target {
    /// The in-process mock registries answering from `population`, on free loopback ports, with the
    /// development PKI under `certs` (created if missing).
    pub async fn mock(
        certs: &Path,
        schema: Arc<Schema>,
        population: Population,
        files: ServedFiles,
    ) -> Result<Target, String> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let pki = crate::tls::pki::ensure(certs, clock.now())
            .map_err(|e| format!("development PKI {}: {e}", certs.display()))?;
        let mock =
            MockServer::start_in_process(&pki, schema.clone(), population, clock.clone(), files)
                .await?;
        let endpoints = Registry::ALL
            .into_iter()
            .map(|r| Ok((r, endpoint(&mock.url(r), &mock.token_url(r))?)))
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Target {
            what: "the in-process mock registries".into(),
            tls: dev_client_tls(certs, &clock)?,
            schema,
            endpoints,
            clock,
            mock: Some(mock),
        })
    }

    /// Registries at `url`: either a URL holding `{registry}` (`https://host:8443/registry/{registry}`,
    /// each registry's token endpoint at `/token` of its host), or `https://host:port` of a
    /// `reggate mock` (SNILS on that port, INN, children and labour on the next three). The client
    /// certificate and the registry CA are the development PKI's under `certs`.
    pub fn url(url: &str, certs: &Path, schema: Arc<Schema>) -> Result<Target, String> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let base = url
            .replace("{registry}", "x")
            .parse::<Uri>()
            .map_err(|e| format!("--target '{url}' is not a URL: {e}"))?;
        if base.scheme_str() != Some("https") {
            return Err(format!(
                "--target '{url}': registries are called over https"
            ));
        }
        let authority = base
            .authority()
            .ok_or_else(|| format!("--target '{url}': no host"))?
            .clone();
        let endpoints = if url.contains("{registry}") {
            Registry::ALL
                .into_iter()
                .map(|r| {
                    let e = endpoint(
                        &url.replace("{registry}", r.name()),
                        &format!("https://{authority}/token"),
                    )?;
                    Ok((r, e))
                })
                .collect::<Result<Vec<_>, String>>()?
        } else {
            if !matches!(base.path(), "" | "/") {
                return Err(format!(
                    "--target '{url}': give https://host:port of a `reggate mock`, or a URL with {{registry}} in it"
                ));
            }
            let port = authority.port_u16().unwrap_or(443);
            Registry::ALL
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let origin = format!("https://{}:{}", authority.host(), port + i as u16);
                    let e = endpoint(
                        &format!("{origin}/registry/{}", r.name()),
                        &format!("{origin}/token"),
                    )?;
                    Ok((r, e))
                })
                .collect::<Result<Vec<_>, String>>()?
        };
        Ok(Target {
            what: format!("the registries at {url}"),
            tls: dev_client_tls(certs, &clock)?,
            schema,
            endpoints,
            clock,
            mock: None,
        })
    }

    /// The registries a gateway configuration file names, with its client certificate and CA
    /// (development defaults where it gives none); `registries.mock = true` means the mock, with the
    /// configuration's population.
    pub async fn config(file: &Path, schema: Arc<Schema>) -> Result<Target, String> {
        let (config, _) =
            GatewayConfig::load(Some(file), std::env::vars()).map_err(|e| e.0.clone())?;
        config.check().map_err(|e| e.0)?;
        if config.registries.mock {
            let files = ServedFiles {
                wsdl: config.wsdl.clone(),
                schemas: config.schemas.clone(),
            };
            return Target::mock(
                &config.certs,
                schema,
                Population::generate(&config.mock),
                files,
            )
            .await;
        }
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let pki = PkiLayout::new(&config.certs);
        let r = &config.registries;
        let tls = client_tls(
            r.ca.as_deref().unwrap_or(&pki.registry_ca()),
            r.client_cert.as_deref().unwrap_or(&pki.gateway_client()),
            r.client_key.as_deref().unwrap_or(&pki.gateway_client_key()),
            &clock,
        )?;
        let endpoints = Registry::ALL
            .into_iter()
            .map(|reg| {
                let e = r
                    .endpoint(reg)
                    .ok_or_else(|| format!("{}: no [registries.{reg}] endpoint", file.display()))?;
                Ok((reg, endpoint(&e.url, &e.token_url)?))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Target {
            what: format!("the registries of {}", file.display()),
            schema,
            tls,
            endpoints,
            clock,
            mock: None,
        })
    }

    /// What this target is, for the terminal.
    pub fn describe(&self) -> &str {
        &self.what
    }

    /// A client of these registries: the gateway's pipeline, set up for replay (no message log).
    pub fn client(&self, options: &RunOptions) -> Arc<SoapClient> {
        let settings = Settings {
            attempt_timeout: options.timeout,
            call_deadline: options.timeout,
            retry: options.retry(),
            breaker: BreakerPolicy {
                failures: u32::MAX,
                open_for: Duration::ZERO,
            },
            hedge: HedgePolicy {
                after: None,
                ..HedgePolicy::default()
            },
            ..Settings::default()
        };
        Arc::new(SoapClient::new(
            self.schema.clone(),
            self.tls.clone(),
            &self.endpoints,
            self.clock.clone(),
            Arc::new(NoLog),
            settings,
        ))
    }

    /// Put `plan` in force at the mock; `Err` (why the case is skipped) when this is not the mock.
    pub fn set_faults(&self, plan: &Plan) -> Result<(), String> {
        let mock = self
            .mock
            .as_ref()
            .ok_or("a fault plan needs --target mock (faults are the mock's)")?;
        mock.state().faults.set_plan(plan)
    }

    /// Have the mock answer the next call to `registry` with `playback`; `Err` (why the case is
    /// skipped) when this is not the mock.
    pub fn set_playback(
        &self,
        registry: Registry,
        playback: &super::case::Playback,
    ) -> Result<(), String> {
        let mock = self
            .mock
            .as_ref()
            .ok_or("a playback answer needs --target mock (the mock gives it back)")?;
        mock.state()
            .playback
            .push(registry, playback.status, playback.body.clone().into());
        Ok(())
    }

    /// No faults any more — and every listener open again (a `refuse` rule closed one, and it
    /// reopens on its next look at the plan), so the next case meets a registry that listens.
    pub async fn clear_faults(&self) {
        let Some(mock) = &self.mock else { return };
        let _ = mock.state().faults.set_plan(&Plan::default());
        mock.state().playback.clear();
        for registry in Registry::ALL {
            let addr = mock.addr(registry);
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Stop the mock, if there is one.
    pub async fn shutdown(self) {
        if let Some(mock) = self.mock {
            mock.shutdown().await;
        }
    }
}
