//! Listeners, connection handling and the shared state behind [`ChaosServer`].

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::log::LoggedRequest;
use crate::routes;
use crate::scenario::Scenario;

/// Loopback fault-injection HTTP server with two origins that share one state.
///
/// Both listeners serve HTTP/1.1 and h2c with prior knowledge on the same port. Dropping the
/// server stops both listeners and closes open connections.
pub struct ChaosServer {
    state: Arc<State>,
    shutdown: Option<watch::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// Which listener a request came in on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Primary,
    Other,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Primary => "primary",
            Origin::Other => "other",
        }
    }
}

pub(crate) struct ScenarioEntry {
    pub scenario: Scenario,
    pub next_index: usize,
    pub log: Vec<LoggedRequest>,
    pub preflights: Vec<LoggedRequest>,
}

pub(crate) struct State {
    pub started: Instant,
    pub started_wall: SystemTime,
    pub primary: SocketAddr,
    pub other: SocketAddr,
    pub scenarios: Mutex<HashMap<String, ScenarioEntry>>,
    /// `/bytes` path-and-query keys already requested, for the first-request-only reset.
    pub bytes_requested: Mutex<HashSet<String>>,
    pub active_bodies: Arc<AtomicUsize>,
}

impl State {
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub fn url(&self, origin: Origin, path: &str) -> String {
        let addr = match origin {
            Origin::Primary => self.primary,
            Origin::Other => self.other,
        };
        format!("http://{addr}{path}")
    }

    pub fn scenarios(&self) -> MutexGuard<'_, HashMap<String, ScenarioEntry>> {
        lock(&self.scenarios)
    }

    pub fn script(&self, id: &str, scenario: Scenario) {
        let entry = ScenarioEntry {
            scenario,
            next_index: 0,
            log: Vec::new(),
            preflights: Vec::new(),
        };
        self.scenarios().insert(id.to_owned(), entry);
    }
}

/// Locks `mutex`, recovering the data if a panicking handler poisoned it. That is safe because
/// every critical section leaves the maps consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ChaosServer {
    /// Binds two listeners on 127.0.0.1 port 0 (two origins, for cross-origin redirects) and
    /// serves on the current tokio runtime.
    ///
    /// # Panics
    /// Panics when called outside a tokio runtime.
    pub async fn start() -> io::Result<ChaosServer> {
        ChaosServer::start_on(0, 0).await
    }

    /// Like [`ChaosServer::start`], on the given ports of 127.0.0.1 (0 picks a free port).
    pub async fn start_on(port: u16, other_port: u16) -> io::Result<ChaosServer> {
        let (shutdown, shutdown_rx) = watch::channel(());
        let state = bind_and_serve(port, other_port, shutdown_rx).await?;
        Ok(ChaosServer {
            state,
            shutdown: Some(shutdown),
            thread: None,
        })
    }

    /// Like [`ChaosServer::start`], on its own thread with its own multi-thread tokio runtime,
    /// for callers without a runtime or that want the server off their runtime.
    pub fn start_in_background() -> io::Result<ChaosServer> {
        let (shutdown, shutdown_rx) = watch::channel(());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("steadfast-chaos".to_owned())
            .spawn(move || run_background(shutdown_rx, ready_tx))?;
        let state = ready_rx.recv().map_err(|_| {
            io::Error::other("steadfast-chaos server thread exited before binding its listeners")
        })??;
        Ok(ChaosServer {
            state,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Returns the primary origin's address.
    pub fn addr(&self) -> SocketAddr {
        self.state.primary
    }

    /// Returns the second origin's address. It shares scenarios and logs with the primary.
    pub fn other_addr(&self) -> SocketAddr {
        self.state.other
    }

    /// Returns `http://127.0.0.1:PORT{path}` on the primary origin.
    pub fn url(&self, path: &str) -> String {
        self.state.url(Origin::Primary, path)
    }

    /// Returns `http://127.0.0.1:PORT{path}` on the other origin.
    pub fn other_url(&self, path: &str) -> String {
        self.state.url(Origin::Other, path)
    }

    /// Returns the URL that plays scenario `id` on the primary origin, `.../s/{id}`.
    pub fn scenario_url(&self, id: &str) -> String {
        self.url(&format!("/s/{id}"))
    }

    /// Registers a scenario under `id`: requests to `/s/{id}` (any method, any sub-path
    /// `/s/{id}/...`, any query) play its steps. Replaces an earlier one and clears its logs.
    ///
    /// # Panics
    /// Panics with the reason when [`Scenario::validate`] rejects the scenario (status out of
    /// range, invalid header), so a bad script fails the test at the line that wrote it.
    pub fn script(&self, id: &str, scenario: Scenario) {
        if let Err(reason) = scenario.validate() {
            panic!("invalid scenario for id {id:?}: {reason}");
        }
        self.state.script(id, scenario);
    }

    /// Returns the requests logged for scenario `id` so far, in arrival order, without CORS
    /// preflights. Empty for an id never scripted.
    pub fn log(&self, id: &str) -> Vec<LoggedRequest> {
        self.state
            .scenarios()
            .get(id)
            .map(|entry| entry.log.clone())
            .unwrap_or_default()
    }

    /// Returns the CORS preflights logged for scenario `id`, in arrival order.
    pub fn preflights(&self, id: &str) -> Vec<LoggedRequest> {
        self.state
            .scenarios()
            .get(id)
            .map(|entry| entry.preflights.clone())
            .unwrap_or_default()
    }

    /// Returns the number of response bodies still streaming, on any route. A stall that the
    /// client abandoned drops out of this count once hyper notices the closed connection.
    pub fn active_responses(&self) -> usize {
        self.state.active_bodies.load(Ordering::SeqCst)
    }
}

impl Drop for ChaosServer {
    fn drop(&mut self) {
        // Dropping the sender wakes every accept loop and connection task.
        drop(self.shutdown.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::warn!("steadfast-chaos server thread panicked");
            }
        }
    }
}

fn run_background(
    shutdown_rx: watch::Receiver<()>,
    ready_tx: std::sync::mpsc::Sender<io::Result<Arc<State>>>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("steadfast-chaos-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready_tx.send(Err(error));
            return;
        }
    };
    runtime.block_on(async move {
        let mut stopped = shutdown_rx.clone();
        match bind_and_serve(0, 0, shutdown_rx).await {
            Ok(state) => {
                let _ = ready_tx.send(Ok(state));
                // Resolves with an error once the ChaosServer drops the sender.
                let _ = stopped.changed().await;
            }
            Err(error) => {
                let _ = ready_tx.send(Err(error));
            }
        }
    });
    // Bounds the wait for blocking work such as a gzip bomb still being built.
    runtime.shutdown_timeout(Duration::from_secs(2));
}

async fn bind_and_serve(
    port: u16,
    other_port: u16,
    shutdown: watch::Receiver<()>,
) -> io::Result<Arc<State>> {
    let primary = bind(port).await?;
    let other = bind(other_port).await?;
    let state = Arc::new(State {
        started: Instant::now(),
        started_wall: SystemTime::now(),
        primary: primary.local_addr()?,
        other: other.local_addr()?,
        scenarios: Mutex::new(HashMap::new()),
        bytes_requested: Mutex::new(HashSet::new()),
        active_bodies: Arc::new(AtomicUsize::new(0)),
    });
    tracing::info!(
        primary = %state.primary,
        other = %state.other,
        "steadfast-chaos started"
    );
    tokio::spawn(accept_loop(
        primary,
        Origin::Primary,
        Arc::clone(&state),
        shutdown.clone(),
    ));
    tokio::spawn(accept_loop(
        other,
        Origin::Other,
        Arc::clone(&state),
        shutdown,
    ));
    Ok(state)
}

async fn bind(port: u16) -> io::Result<TcpListener> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(addr)
        .await
        .map_err(|error| io::Error::new(error.kind(), format!("failed to bind {addr}: {error}")))
}

async fn accept_loop(
    listener: TcpListener,
    origin: Origin,
    state: Arc<State>,
    mut shutdown: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let task = serve_connection(stream, peer, origin, Arc::clone(&state), shutdown.clone());
                    tokio::spawn(task);
                }
                Err(error) => {
                    // Usually EMFILE. Back off instead of spinning, because the listener stays usable.
                    tracing::warn!(origin = origin.as_str(), %error, "accept failed, retrying in 50 ms");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    tracing::info!(origin = origin.as_str(), "steadfast-chaos listener stopped");
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    origin: Origin,
    state: Arc<State>,
    mut shutdown: watch::Receiver<()>,
) {
    // Small frames must reach the client when written, not when Nagle's algorithm decides.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(routes::handle(request, origin, state).await) }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                // Expected whenever a step aborts a response or a client disconnects mid-stall.
                tracing::debug!(%peer, origin = origin.as_str(), %error, "connection ended with an error");
            }
        }
        _ = shutdown.changed() => {}
    }
}
