//! A tour of steadfast against a local fault-injection server.
//!
//! Run it with `make demo` (or `cargo run --release --example demo --features native`).
//! Every request goes to a chaos server that this program starts on 127.0.0.1; nothing
//! leaves the machine. Each scenario prints the attempts steadfast made, what the server
//! returned, how long steadfast waited and why, and what the caller finally received.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use steadfast::{Client, IdempotencyKey};
use steadfast_chaos::{BodySpec, ChaosServer, DateForm, RetryAfterSpec, Scenario, Step};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

const DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let subscriber = tracing_subscriber::registry().with(Timeline::default());
    tracing::subscriber::set_global_default(subscriber)?;

    let server = ChaosServer::start().await?;
    println!(
        "steadfast demo: a chaos server listens on {} (loopback only)\n",
        server.url("")
    );
    let client = Client::builder()
        .timeout(Duration::from_secs(20))
        .read_timeout(Duration::from_millis(500))
        .build()?;

    retry_after(&client, &server).await?;
    connection_refused(&client).await;
    stalled_body(&client, &server).await?;
    idempotent_post(&client, &server).await?;
    too_long_retry_after(&client, &server).await?;
    streamed_download(&client, &server).await?;
    println!("All scenarios done. Every request above went to 127.0.0.1 only.");
    Ok(())
}

fn heading(number: u32, title: &str, setup: &str) {
    println!("{number}. {title}");
    println!("   server: {setup}");
}

async fn retry_after(client: &Client, server: &ChaosServer) -> Result<(), steadfast::Error> {
    heading(
        1,
        "GET through two 503s with Retry-After",
        "503 Retry-After: 1, then 503 Retry-After as an HTTP-date 2 s ahead, then 200",
    );
    server.script(
        "flaky",
        Scenario::new(vec![
            step_503(RetryAfterSpec {
                secs: 1,
                form: DateForm::Delta,
            }),
            step_503(RetryAfterSpec {
                secs: 2,
                form: DateForm::Imf,
            }),
            Step {
                body: BodySpec::Text("inventory: 42 widgets".into()),
                ..Step::default()
            },
        ]),
    );
    let response = client.get(server.url("/s/flaky")).send().await?;
    let attempts = response.attempts();
    let request_id = response.request_id().to_string();
    let body = response.error_for_status()?.text().await?;
    let ids: Vec<String> = server
        .log("flaky")
        .iter()
        .map(|r| r.header("x-request-id").unwrap_or("-").to_string())
        .collect();
    let same = ids.iter().all(|id| *id == request_id);
    println!("   result: {body:?} after {attempts} attempts");
    println!(
        "   server saw X-Request-ID {request_id} on all {} attempts: {same}\n",
        ids.len()
    );
    Ok(())
}

fn step_503(retry_after: RetryAfterSpec) -> Step {
    Step {
        status: 503,
        retry_after: Some(retry_after),
        ..Step::default()
    }
}

async fn connection_refused(client: &Client) {
    // A port that was just free on loopback: nothing listens there, so connecting is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or(9);
    heading(
        2,
        "GET to a closed port",
        &format!("nothing listens on 127.0.0.1:{port}"),
    );
    let url = format!("http://127.0.0.1:{port}/orders");
    match client.get(&url).send().await {
        Ok(response) => println!("   unexpected: {}\n", response.status()),
        Err(error) => println!(
            "   result: error after {} attempts: {error}\n",
            error.attempts()
        ),
    }
}

async fn stalled_body(client: &Client, server: &ChaosServer) -> Result<(), steadfast::Error> {
    heading(
        3,
        "JSON body that stalls after its first byte",
        "sends the head and `{`, then goes silent for 5 s; the next attempt is healthy",
    );
    let json = r#"{"status":"ok","items":3}"#;
    server.script(
        "stall",
        Scenario::new(vec![
            Step {
                body: BodySpec::Text(json.into()),
                stall_after_bytes: Some(1),
                stall_ms: 5_000,
                ..Step::default()
            },
            Step {
                body: BodySpec::Text(json.into()),
                ..Step::default()
            },
        ]),
    );
    let started = Instant::now();
    let value: serde_json::Value = client
        .get(server.url("/s/stall"))
        .send()
        .await?
        .json()
        .await?;
    println!(
        "   result: {value} in {} ms (read_timeout 500 ms caught the stall)\n",
        started.elapsed().as_millis()
    );
    Ok(())
}

async fn idempotent_post(client: &Client, server: &ChaosServer) -> Result<(), steadfast::Error> {
    heading(
        4,
        "POST, with and without an Idempotency-Key",
        "502 Bad Gateway, then 201 Created",
    );
    let steps = vec![
        Step {
            status: 502,
            ..Step::default()
        },
        Step {
            status: 201,
            ..Step::default()
        },
    ];
    server.script("order-keyed", Scenario::new(steps.clone()));
    let keyed = client
        .post(server.url("/s/order-keyed"))
        .idempotency_key(IdempotencyKey::Auto)
        .json(&serde_json::json!({"sku": "W-42", "quantity": 1}))
        .send()
        .await?;
    let keys: Vec<String> = server
        .log("order-keyed")
        .iter()
        .map(|r| r.header("idempotency-key").unwrap_or("-").to_string())
        .collect();
    println!(
        "   with IdempotencyKey::Auto: {} after {} attempts; keys sent: {keys:?}",
        keyed.status(),
        keyed.attempts()
    );

    server.script("order-plain", Scenario::new(steps));
    let plain = client
        .post(server.url("/s/order-plain"))
        .body("{}")
        .send()
        .await?;
    match plain.error_for_status() {
        Ok(response) => println!("   without a key: unexpected {}", response.status()),
        Err(error) => println!("   without a key: {error}"),
    }
    println!();
    Ok(())
}

async fn too_long_retry_after(
    client: &Client,
    server: &ChaosServer,
) -> Result<(), steadfast::Error> {
    heading(
        5,
        "GET during maintenance",
        "503 with Retry-After: 86400 (one day)",
    );
    server.script(
        "maintenance",
        Scenario::repeat(step_503(RetryAfterSpec {
            secs: 86_400,
            form: DateForm::Delta,
        })),
    );
    let started = Instant::now();
    let response = client.get(server.url("/s/maintenance")).send().await?;
    let elapsed = started.elapsed().as_millis();
    if let Err(error) = response.error_for_status() {
        let retry_after = error.retry_after().map_or(0, |d| d.as_secs());
        println!("   result in {elapsed} ms: {error}");
        println!("   error.retry_after() = {retry_after} s, for the caller to schedule\n");
    }
    Ok(())
}

async fn streamed_download(
    client: &Client,
    server: &ChaosServer,
) -> Result<(), Box<dyn std::error::Error>> {
    let cut = DOWNLOAD_BYTES * 2 / 5;
    heading(
        6,
        "Streamed 256 MiB download through a dropped connection",
        &format!(
            "serves ranges with a strong ETag and drops the connection after {} MiB",
            cut >> 20
        ),
    );
    server.script(
        "download",
        Scenario::new(vec![
            Step {
                body: BodySpec::Pattern(DOWNLOAD_BYTES),
                ranges: true,
                reset_after_bytes: Some(cut),
                ..Step::default()
            },
            Step {
                body: BodySpec::Pattern(DOWNLOAD_BYTES),
                ranges: true,
                ..Step::default()
            },
        ]),
    );
    let started = Instant::now();
    let response = client
        .get(server.url("/s/download"))
        .send()
        .await?
        .error_for_status()?;
    let progress = ProgressBar::new(DOWNLOAD_BYTES);
    progress.set_style(ProgressStyle::with_template(
        "   {bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
    )?);
    let mut stream = response.bytes_stream();
    let mut offset = 0u64;
    let mut mismatches = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        let expected = steadfast_chaos::pattern(offset, chunk.len());
        mismatches += u64::from(chunk != expected);
        offset += chunk.len() as u64;
        progress.set_position(offset);
    }
    progress.finish();
    let ranges: Vec<String> = server
        .log("download")
        .iter()
        .map(|r| r.header("range").unwrap_or("(none)").to_string())
        .collect();
    println!(
        "   result: {} MiB in {:.2} s, every byte in place: {}; Range headers sent: {ranges:?}\n",
        offset >> 20,
        started.elapsed().as_secs_f64(),
        mismatches == 0 && offset == DOWNLOAD_BYTES
    );
    Ok(())
}

/// Prints steadfast's debug events as a per-request timeline.
#[derive(Default)]
struct Timeline {
    starts: Mutex<HashMap<String, Instant>>,
}

#[derive(Default)]
struct Fields {
    message: String,
    values: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl Fields {
    fn record(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.values.push((field.name(), value));
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: tracing::Subscriber> Layer<S> for Timeline {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target().starts_with("steadfast") && *metadata.level() <= tracing::Level::DEBUG
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(request_id) = fields.get("request_id").map(str::to_string) else {
            return;
        };
        let mut starts = self.starts.lock().unwrap_or_else(|p| p.into_inner());
        let started = *starts
            .entry(request_id.clone())
            .or_insert_with(Instant::now);
        let elapsed = started.elapsed().as_millis();
        let Some(text) = describe(&fields) else {
            return;
        };
        println!(
            "   [{}] {elapsed:>5} ms  {text}",
            &request_id[..request_id.len().min(8)]
        );
    }
}

fn describe(fields: &Fields) -> Option<String> {
    let attempt = fields.get("attempt").unwrap_or("?");
    let mut text = String::new();
    match fields.message.as_str() {
        "attempt started" => write!(text, "attempt {attempt} started").ok()?,
        "response head" => {
            write!(text, "attempt {attempt} answered {}", fields.get("status")?).ok()?
        }
        "retry scheduled" => {
            write!(
                text,
                "waiting {} ms before attempt {}, because of {}",
                fields.get("delay_ms")?,
                next(attempt),
                fields.get("cause")?
            )
            .ok()?;
            if let Some(offset) = fields.get("resume_at").filter(|o| *o != "None") {
                write!(
                    text,
                    "; will resume at byte {}",
                    offset.trim_start_matches("Some(").trim_end_matches(')')
                )
                .ok()?;
            }
        }
        "retry stopped" => write!(text, "{}", fields.get("reason")?).ok()?,
        "body failed" => write!(
            text,
            "body of attempt {attempt} failed: {}",
            fields.get("fault")?
        )
        .ok()?,
        "call failed" => write!(
            text,
            "gave up after {} attempts: {}",
            fields.get("attempts")?,
            fields.get("failure")?
        )
        .ok()?,
        _ => return None,
    }
    Some(text)
}

fn next(attempt: &str) -> String {
    attempt
        .parse::<u32>()
        .map_or_else(|_| "?".to_string(), |n| (n + 1).to_string())
}
