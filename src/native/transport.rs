//! The connection layer: hyper-util's pooled client over TCP and rustls, and the per-origin
//! limit on requests in flight.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::dns::{GaiAddrs, GaiResolver, Name};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;
use url::Url;

use super::exchange::origin_of;
use super::time::{Clock, SeedSource};
use crate::client::ClientConfig;
use crate::error::Error;

pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// The request body type of every hyper request: bytes or the caller's stream.
pub(crate) type RequestBody = UnsyncBoxBody<Bytes, BoxError>;

pub(crate) type Connector = HttpsConnector<HttpConnector<Resolver>>;

/// The native transport of one client: its connection pool, its clock and its per-origin
/// limits. Shared by every clone of the client.
pub(crate) struct Transport {
    pub(crate) client: HyperClient<Connector, RequestBody>,
    pub(crate) clock: Clock,
    pub(crate) limits: OriginLimits,
    /// The seeds of this client's calls.
    pub(crate) seeds: SeedSource,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    /// Builds the pool, the TCP connector and the TLS configuration from `config`.
    ///
    /// # Errors
    ///
    /// Returns a builder error when the TLS configuration cannot be built, which happens only
    /// if the ring provider rejects its own default protocol versions.
    pub(crate) fn new(config: &ClientConfig) -> Result<Transport, Error> {
        let connector = connector(config)?;
        let mut builder = HyperClient::builder(TokioExecutor::new());
        builder
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .pool_idle_timeout(config.pool_idle_timeout)
            .http2_only(config.http2_prior_knowledge);
        Ok(Transport {
            client: builder.build(connector),
            clock: Clock::new(),
            limits: OriginLimits::new(config.max_connections_per_host),
            seeds: SeedSource::new(),
        })
    }
}

fn connector(config: &ClientConfig) -> Result<Connector, Error> {
    let mut http = HttpConnector::new_with_resolver(Resolver(GaiResolver::new()));
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(config.connect_timeout);

    // The provider is passed explicitly so that no process-wide default has to be installed,
    // and a different default installed by the application does not change this client.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::builder("the TLS configuration could not be built").with_source(e))?
        .with_root_certificates(roots)
        .with_no_client_auth();

    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .wrap_connector(http))
}

/// A steadfast-level limit on the requests in flight to one origin.
///
/// A request holds a permit of its origin from the start of an attempt to the end (or drop)
/// of its body. With HTTP/1.1, where one connection carries one request at a time, this
/// bounds the connections open to the origin; with HTTP/2 it bounds concurrent streams.
/// hyper-util has no such limit of its own.
pub(crate) struct OriginLimits {
    max: Option<usize>,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl OriginLimits {
    fn new(max: Option<usize>) -> OriginLimits {
        OriginLimits {
            max,
            semaphores: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a permit of the origin of `url`; returns `None` at once when there is no
    /// limit.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future gives up the place in the queue.
    pub(crate) async fn acquire(&self, url: &Url) -> Option<OwnedSemaphorePermit> {
        let max = self.max?;
        let origin = origin_of(url);
        let semaphore = {
            let mut map = self
                .semaphores
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            map.entry(origin)
                .or_insert_with(|| Arc::new(Semaphore::new(max)))
                .clone()
        };
        // The semaphore is never closed, so acquiring cannot fail.
        semaphore.acquire_owned().await.ok()
    }
}

/// A DNS resolution failure, as its own type so the error classifier can recognise it.
#[derive(Debug)]
pub(crate) struct DnsError {
    pub(crate) host: String,
    pub(crate) source: std::io::Error,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DNS resolution of {} failed: {}", self.host, self.source)
    }
}

impl StdError for DnsError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// The system resolver (getaddrinfo on a blocking thread), with its errors typed as
/// [`DnsError`].
#[derive(Clone, Debug)]
pub(crate) struct Resolver(GaiResolver);

type ResolveFuture = Pin<Box<dyn Future<Output = Result<GaiAddrs, DnsError>> + Send>>;

impl Service<Name> for Resolver {
    type Response = GaiAddrs;
    type Error = DnsError;
    type Future = ResolveFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), DnsError>> {
        self.0.poll_ready(cx).map_err(|source| DnsError {
            host: String::new(),
            source,
        })
    }

    fn call(&mut self, name: Name) -> ResolveFuture {
        let host = name.as_str().to_string();
        let lookup = self.0.call(name);
        Box::pin(async move { lookup.await.map_err(|source| DnsError { host, source }) })
    }
}
