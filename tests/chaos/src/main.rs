//! `steadfast-chaos`: runs the fault-injection server as a process, for JavaScript, wasm and
//! browser tests that script it over its HTTP control API.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use steadfast_chaos::ChaosServer;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: steadfast-chaos [--port P] [--other-port P] [--addr-file PATH]";

const HELP: &str = "\
Loopback fault-injection HTTP server for steadfast's tests. Binds 127.0.0.1 only.

options:
  --port P          port of the primary origin (default 0: pick a free port)
  --other-port P    port of the second origin, for cross-origin redirects (default 0)
  --addr-file PATH  write {\"url\":...,\"other_url\":...} as JSON to PATH once listening
  -h, --help        print this help

Stops on SIGTERM or SIGINT. RUST_LOG sets the log filter (default info; debug logs each request).";

#[derive(Debug, Default, PartialEq)]
struct Options {
    port: u16,
    other_port: u16,
    addr_file: Option<PathBuf>,
    help: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        if flag == "-h" || flag == "--help" {
            options.help = true;
            continue;
        }
        if !matches!(flag.as_str(), "--port" | "--other-port" | "--addr-file") {
            return Err(format!("unknown argument {arg:?}"));
        }
        let value = match inline_value.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{flag} needs a value")),
        };
        match flag.as_str() {
            "--port" => options.port = parse_port(&flag, &value)?,
            "--other-port" => options.other_port = parse_port(&flag, &value)?,
            _ => options.addr_file = Some(PathBuf::from(value)),
        }
    }
    if options.port != 0 && options.port == options.other_port {
        return Err(format!(
            "--port and --other-port are both {}; the two origins need different ports",
            options.port
        ));
    }
    Ok(options)
}

fn parse_port(flag: &str, value: &str) -> Result<u16, String> {
    value
        .parse::<u16>()
        .map_err(|_| format!("invalid {flag} value {value:?}; expected a port number 0..=65535"))
}

/// Writes the address file through a temporary file and a rename, so a reader polling for it
/// never reads a partial file.
fn write_addr_file(path: &Path, server: &ChaosServer) -> std::io::Result<()> {
    #[derive(serde::Serialize)]
    struct Addresses {
        url: String,
        other_url: String,
    }
    let addresses = Addresses {
        url: server.url(""),
        other_url: server.other_url(""),
    };
    let contents = serde_json::to_string(&addresses).map_err(std::io::Error::other)?;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".tmp{}", std::process::id()));
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, format!("{contents}\n"))?;
    std::fs::rename(&temporary, path)
}

/// Installs the SIGTERM and SIGINT handlers and returns a future that resolves with the name of
/// the first signal. Installing before announcing the address means an early SIGTERM still
/// stops the server cleanly.
#[cfg(unix)]
fn install_stop_signals() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        }
    })
}

#[cfg(not(unix))]
fn install_stop_signals() -> std::io::Result<impl std::future::Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("steadfast-chaos: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{USAGE}\n\n{HELP}");
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("steadfast-chaos: failed to start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> ExitCode {
    let stop_signal = match install_stop_signals() {
        Ok(stop_signal) => stop_signal,
        Err(error) => {
            eprintln!("steadfast-chaos: failed to install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match ChaosServer::start_on(options.port, options.other_port).await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("steadfast-chaos: {error}. Pick other ports or pass 0.");
            return ExitCode::FAILURE;
        }
    };

    // The address file comes first, so a reader that saw the stdout line can open it.
    if let Some(path) = &options.addr_file {
        if let Err(error) = write_addr_file(path, &server) {
            eprintln!(
                "steadfast-chaos: failed to write the address file {}: {error}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    }
    if let Err(error) = announce(&server) {
        // Keep serving, because a caller that reads the address file does not need stdout.
        tracing::warn!(%error, "failed to write the listening line to stdout");
    }

    let signal = stop_signal.await;
    tracing::info!(signal, "steadfast-chaos stopping");
    drop(server);
    ExitCode::SUCCESS
}

/// Prints the listening line and flushes it, because callers wait for it on a pipe.
fn announce(server: &ChaosServer) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "steadfast-chaos listening on {} and {}",
        server.url(""),
        server.other_url("")
    )?;
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(|arg| arg.to_string()))
    }

    #[test]
    fn parses_flags_in_both_forms() {
        let options = parse(&[
            "--port",
            "8080",
            "--other-port=8081",
            "--addr-file",
            "a.json",
        ]);
        assert_eq!(
            options,
            Ok(Options {
                port: 8080,
                other_port: 8081,
                addr_file: Some(PathBuf::from("a.json")),
                help: false,
            })
        );
    }

    #[test]
    fn rejects_bad_flags_by_name() {
        let unknown = parse(&["--bogus"]).unwrap_err();
        assert!(unknown.contains("--bogus"), "{unknown}");
        let missing = parse(&["--port"]).unwrap_err();
        assert!(missing.contains("--port needs a value"), "{missing}");
        let invalid = parse(&["--other-port", "70000"]).unwrap_err();
        assert!(invalid.contains("--other-port"), "{invalid}");
        let same = parse(&["--port", "9000", "--other-port", "9000"]).unwrap_err();
        assert!(same.contains("different ports"), "{same}");
    }
}
