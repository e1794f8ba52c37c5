//! Side-by-side benchmarks of the native client against raw hyper-util and reqwest.
//!
//! Run with `make bench` (or `make bench-quick` for a short pass). The server runs in a child
//! process on 127.0.0.1 so the parent's CPU time is client time only. Every figure is
//! printed as a median over interleaved rounds and as a ratio to raw hyper-util, because the
//! machines are shared and only ratios from one run are comparable.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};

const CONCURRENCY: usize = 16;
const STREAM_CHUNK: usize = 64 * 1024;

fn main() {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("--serve") => serve(),
        Some("--profile") => {
            let client = args.next().expect("--profile takes a client name");
            let protocol = args.next().expect("--profile takes h1 or h2c");
            let requests: usize = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--profile takes a request count");
            profile(&client, protocol == "h2c", requests);
        }
        Some("--download") => {
            let client = args.next().expect("--download takes a client name");
            let url = args.next().expect("--download takes a URL");
            let bytes: u64 = args
                .next()
                .and_then(|b| b.parse().ok())
                .expect("--download takes a byte count");
            download_child(&client, &url, bytes);
        }
        _ => run_all(),
    }
}

struct Settings {
    requests_per_round: usize,
    rounds: usize,
    download_bytes: u64,
    core_iterations: u32,
}

fn settings() -> Settings {
    if std::env::var_os("STEADFAST_BENCH_QUICK").is_some() {
        Settings {
            requests_per_round: 2_000,
            rounds: 3,
            download_bytes: 256 << 20,
            core_iterations: 100_000,
        }
    } else {
        Settings {
            requests_per_round: 20_000,
            rounds: 5,
            download_bytes: 1 << 30,
            core_iterations: 1_000_000,
        }
    }
}

/// Sends `requests` GETs with one client on a current-thread runtime, for a profiler or
/// callgrind to attribute the client's work per request. The server is a child process, so
/// `valgrind --trace-children=no` counts client instructions only.
fn profile(client: &str, http2: bool, requests: usize) {
    let (mut server, addr) = spawn_server();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let subject = subjects(http2)
        .into_iter()
        .find(|s| s.name() == client)
        .expect("--profile takes hyper-util, reqwest or steadfast");
    let url = format!("http://{addr}/hello");
    runtime.block_on(async {
        round(&subject, &url, 100).await;
        let (rate, cpu) = round(&subject, &url, requests).await;
        println!(
            "{client}: {rate:.0} requests/s, {:.1} µs CPU/request",
            cpu * 1e6
        );
    });
    let _ = server.kill();
    let _ = server.wait();
}

fn run_all() {
    let settings = settings();
    let (mut server, addr) = spawn_server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!(
        "# steadfast benchmarks: loopback, {CONCURRENCY} concurrent requests, {} rounds",
        settings.rounds
    );
    for http2 in [false, true] {
        runtime.block_on(throughput(addr, http2, &settings));
    }
    runtime.block_on(outage(addr));
    core_decision(settings.core_iterations);
    downloads(addr, settings.download_bytes);
    let _ = server.kill();
    let _ = server.wait();
}

/// A client under test: sends one GET and reads its body.
#[derive(Clone)]
// Clones are per worker, so the size of the hyper variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Subject {
    Hyper(
        hyper_util::client::legacy::Client<
            hyper_util::client::legacy::connect::HttpConnector,
            Empty<Bytes>,
        >,
    ),
    Reqwest(reqwest::Client),
    Steadfast(steadfast::Client),
}

impl Subject {
    fn name(&self) -> &'static str {
        match self {
            Subject::Hyper(_) => "hyper-util",
            Subject::Reqwest(_) => "reqwest",
            Subject::Steadfast(_) => "steadfast",
        }
    }

    async fn get(&self, url: &str) {
        match self {
            Subject::Hyper(client) => {
                let response = client
                    .get(url.parse().expect("bench URL"))
                    .await
                    .expect("hyper request");
                let body = response.into_body().collect().await.expect("hyper body");
                assert_eq!(body.to_bytes().len(), 5);
            }
            Subject::Reqwest(client) => {
                let body = client
                    .get(url)
                    .send()
                    .await
                    .expect("reqwest request")
                    .bytes()
                    .await
                    .expect("reqwest body");
                assert_eq!(body.len(), 5);
            }
            Subject::Steadfast(client) => {
                let body = client
                    .get(url)
                    .send()
                    .await
                    .expect("steadfast request")
                    .bytes()
                    .await
                    .expect("steadfast body");
                assert_eq!(body.len(), 5);
            }
        }
    }
}

fn subjects(http2: bool) -> Vec<Subject> {
    let mut hyper_builder = hyper_util::client::legacy::Client::builder(TokioExecutor::new());
    hyper_builder.http2_only(http2);
    let hyper = hyper_builder.build_http();
    let mut reqwest_builder = reqwest::Client::builder();
    if http2 {
        reqwest_builder = reqwest_builder.http2_prior_knowledge();
    }
    let mut steadfast_builder = steadfast::Client::builder();
    if http2 {
        steadfast_builder = steadfast_builder.http2_prior_knowledge();
    }
    vec![
        Subject::Hyper(hyper),
        Subject::Reqwest(reqwest_builder.build().expect("reqwest client")),
        Subject::Steadfast(steadfast_builder.build().expect("steadfast client")),
    ]
}

/// Returns (requests per second, client CPU seconds per request) for one round.
async fn round(subject: &Subject, url: &str, requests: usize) -> (f64, f64) {
    let remaining = Arc::new(AtomicU64::new(requests as u64));
    let cpu_before = process_cpu_seconds();
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let subject = subject.clone();
        let remaining = remaining.clone();
        let url = url.to_string();
        workers.push(tokio::spawn(async move {
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                subject.get(&url).await;
            }
        }));
    }
    for worker in workers {
        worker.await.expect("bench worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = process_cpu_seconds() - cpu_before;
    (requests as f64 / elapsed, cpu / requests as f64)
}

async fn throughput(addr: SocketAddr, http2: bool, settings: &Settings) {
    let url = format!("http://{addr}/hello");
    let subjects = subjects(http2);
    for subject in &subjects {
        round(subject, &url, 200).await; // warm the pool
    }
    let mut rates = vec![Vec::new(); subjects.len()];
    let mut cpus = vec![Vec::new(); subjects.len()];
    for _ in 0..settings.rounds {
        for (i, subject) in subjects.iter().enumerate() {
            let (rate, cpu) = round(subject, &url, settings.requests_per_round).await;
            rates[i].push(rate);
            cpus[i].push(cpu);
        }
    }
    let protocol = if http2 { "h2c" } else { "HTTP/1.1" };
    let base_rate = median(&rates[0]);
    let base_cpu = median(&cpus[0]);
    println!("\n## requests/s, {protocol}, retries configured but not firing");
    println!("| client | requests/s (median) | ratio to hyper-util | client CPU µs/request | CPU ratio |");
    println!("| --- | --- | --- | --- | --- |");
    for (i, subject) in subjects.iter().enumerate() {
        let rate = median(&rates[i]);
        let cpu = median(&cpus[i]);
        println!(
            "| {} | {:.0} | {:.2} | {:.1} | {:.2} |",
            subject.name(),
            rate,
            rate / base_rate,
            cpu * 1e6,
            cpu / base_cpu
        );
    }
}

async fn outage(addr: SocketAddr) {
    let logical = 2_000u64;
    let client = steadfast::Client::builder()
        .retry(
            steadfast::RetryPolicy::default()
                .initial_delay(Duration::from_millis(1))
                .max_delay(Duration::from_millis(5)),
        )
        .build()
        .expect("steadfast client");
    let before = server_count(addr, &client).await;
    let mut workers = Vec::new();
    let remaining = Arc::new(AtomicU64::new(logical));
    for _ in 0..CONCURRENCY {
        let client = client.clone();
        let remaining = remaining.clone();
        let url = format!("http://{addr}/down");
        workers.push(tokio::spawn(async move {
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let response = client.get(&url).send().await.expect("outage request");
                assert_eq!(response.status(), 503);
            }
        }));
    }
    for worker in workers {
        worker.await.expect("outage worker");
    }
    let attempts = server_count(addr, &client).await - before - 1;
    println!("\n## full outage: every response 503, default budget");
    println!("| logical requests | attempts sent | attempts per logical request |");
    println!("| --- | --- | --- |");
    println!(
        "| {logical} | {attempts} | {:.3} |",
        attempts as f64 / logical as f64
    );
}

async fn server_count(addr: SocketAddr, client: &steadfast::Client) -> u64 {
    let text = client
        .get(format!("http://{addr}/count"))
        .send()
        .await
        .expect("count")
        .text()
        .await
        .expect("count body");
    text.trim().parse().expect("count is a number")
}

fn core_decision(iterations: u32) {
    use steadfast::core::{Call, CallSpec, Instant as CoreInstant, ResponseHead, Step};
    let head = ResponseHead {
        status: 503,
        content_length: Some(0),
        ..ResponseHead::default()
    };
    let policy = Arc::new(steadfast::RetryPolicy::default().max_attempts(u32::MAX));
    let mut spec = CallSpec::new("GET", "http://127.0.0.1:1");
    spec.policy = policy;
    let mut now = CoreInstant::ZERO;
    let mut call = Call::new(spec, now, [1; 32]);
    let _ = call.poll(now);
    let started = Instant::now();
    for _ in 0..iterations {
        call.handle_head(now, &head);
        let Some(Step::Wait { until }) = call.poll(now) else {
            panic!("expected a backoff")
        };
        now = until;
        call.handle_timeout(now);
        let Some(Step::StartAttempt(_)) = call.poll(now) else {
            panic!("expected an attempt")
        };
    }
    let per_cycle = started.elapsed().as_secs_f64() / f64::from(iterations);
    println!("\n## core: one retry cycle (head 503 → decision → backoff → next attempt with its headers)");
    println!("| iterations | ns per cycle |");
    println!("| --- | --- |");
    println!("| {iterations} | {:.0} |", per_cycle * 1e9);
}

fn downloads(addr: SocketAddr, bytes: u64) {
    let url = format!("http://{addr}/stream/{bytes}");
    let exe = std::env::current_exe().expect("bench binary path");
    let mut results = Vec::new();
    for client in [
        "hyper-util",
        "steadfast",
        "hyper-util",
        "steadfast",
        "hyper-util",
        "steadfast",
    ] {
        let output = Command::new(&exe)
            .args(["--download", client, &url, &bytes.to_string()])
            .output()
            .expect("download child");
        assert!(
            output.status.success(),
            "{client} download failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let mut fields = text.split_whitespace();
        let rate: f64 = fields.next().and_then(|f| f.parse().ok()).expect("rate");
        let peak_kib: u64 = fields
            .next()
            .and_then(|f| f.parse().ok())
            .expect("peak RSS");
        results.push((client, rate, peak_kib));
    }
    let stats = |name: &str| {
        let rates: Vec<f64> = results
            .iter()
            .filter(|r| r.0 == name)
            .map(|r| r.1)
            .collect();
        let peaks: Vec<f64> = results
            .iter()
            .filter(|r| r.0 == name)
            .map(|r| r.2 as f64)
            .collect();
        (median(&rates), median(&peaks))
    };
    let (hyper_rate, hyper_peak) = stats("hyper-util");
    let (steadfast_rate, steadfast_peak) = stats("steadfast");
    println!(
        "\n## streamed download of {} MiB, one request per child process",
        bytes >> 20
    );
    println!("| client | MiB/s (median) | ratio | peak RSS of the process, MiB |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| hyper-util body frames | {hyper_rate:.0} | 1.00 | {:.1} |",
        hyper_peak / 1024.0
    );
    println!(
        "| steadfast bytes_stream | {steadfast_rate:.0} | {:.2} | {:.1} |",
        steadfast_rate / hyper_rate,
        steadfast_peak / 1024.0
    );
}

fn download_child(client: &str, url: &str, bytes: u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = Instant::now();
    let received = runtime.block_on(async {
        let mut received = 0u64;
        if client == "steadfast" {
            let response = steadfast::Client::new()
                .get(url)
                .send()
                .await
                .expect("steadfast download");
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                received += chunk.expect("steadfast chunk").len() as u64;
            }
        } else {
            let hyper = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                .build_http::<Empty<Bytes>>();
            let response = hyper
                .get(url.parse().expect("URL"))
                .await
                .expect("hyper download");
            let mut body = response.into_body();
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.expect("hyper frame").into_data() {
                    received += data.len() as u64;
                }
            }
        }
        received
    });
    assert_eq!(
        received, bytes,
        "{client} received {received} of {bytes} bytes"
    );
    let rate = bytes as f64 / (1 << 20) as f64 / started.elapsed().as_secs_f64();
    println!("{rate:.1} {}", peak_rss_kib());
}

/// Starts this binary as the bench server and returns its address.
fn spawn_server() -> (Child, SocketAddr) {
    let exe = std::env::current_exe().expect("bench binary path");
    let mut child = Command::new(exe)
        .arg("--serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("bench server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("server stdout"))
        .read_line(&mut line)
        .expect("server address");
    let addr = line.trim().parse().expect("server prints its address");
    (child, addr)
}

fn serve() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        println!("{}", listener.local_addr().expect("local address"));
        std::io::stdout().flush().expect("flush address");
        let count = Arc::new(AtomicU64::new(0));
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let count = count.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let count = count.clone();
                    async move { Ok::<_, std::convert::Infallible>(respond(request, &count)) }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

type ServerBody = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

fn respond(
    request: hyper::Request<hyper::body::Incoming>,
    count: &AtomicU64,
) -> hyper::Response<ServerBody> {
    let path = request.uri().path();
    let seen = count.fetch_add(1, Ordering::Relaxed);
    if path == "/down" {
        return hyper::Response::builder()
            .status(503)
            .body(full("down"))
            .expect("response");
    }
    if path == "/count" {
        return hyper::Response::new(full(&seen.to_string()));
    }
    if let Some(size) = path
        .strip_prefix("/stream/")
        .and_then(|s| s.parse::<u64>().ok())
    {
        let chunk = Bytes::from(vec![7u8; STREAM_CHUNK]);
        let frames =
            futures_util::stream::iter((0..size.div_ceil(STREAM_CHUNK as u64)).map(move |i| {
                let left = size - i * STREAM_CHUNK as u64;
                Ok(Frame::data(
                    chunk.slice(..left.min(STREAM_CHUNK as u64) as usize),
                ))
            }));
        return hyper::Response::builder()
            .header("content-length", size)
            .body(BodyExt::boxed(StreamBody::new(frames)))
            .expect("response");
    }
    hyper::Response::new(full("hello"))
}

fn full(text: &str) -> ServerBody {
    BodyExt::boxed(http_body_util::Full::new(Bytes::from(text.to_string())))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted[sorted.len() / 2]
}

/// Returns the CPU seconds this process has used so far, all threads together, from
/// `CLOCK_PROCESS_CPUTIME_ID` (nanoseconds). `/proc/self/stat` counts only in clock ticks
/// of 10 ms, too coarse for a round of a few thousand requests; it is the fallback where
/// the clock is not available.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu_seconds() -> f64 {
    // The `struct timespec` of 64-bit Linux.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut time = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid, writable `struct timespec`, the only memory the call writes.
    let status = unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut time) };
    if status != 0 {
        return stat_cpu_seconds();
    }
    time.tv_sec as f64 + time.tv_nsec as f64 / 1e9
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu_seconds() -> f64 {
    stat_cpu_seconds()
}

/// Returns user + system CPU seconds of this process, from /proc/self/stat (clock ticks of
/// 10 ms on Linux with USER_HZ = 100).
fn stat_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name, utime and stime are the 12th and 13th fields (0-based 11, 12).
    (ticks(11) + ticks(12)) / 100.0
}

/// Returns the peak resident set size of this process in KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}
