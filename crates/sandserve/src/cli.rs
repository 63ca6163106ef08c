//! The `sandserve` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{parse_level, Config, PortSpec};
use crate::Server;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "sandserve",
    version,
    about = "A web-platform test server with sandboxed WebAssembly handlers"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a document root.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The directory to serve. Default: the config's doc_root, else the current directory.
    doc_root: Option<PathBuf>,
    /// A JSON configuration file in the shape of wpt's config.json.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The address to bind to (overrides browser_host/server_host/bind_address).
    #[arg(long)]
    bind: Option<String>,
    /// The http port (replaces the configured http ports; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// error, warn, info, debug or trace. Default: info.
    #[arg(long)]
    log_level: Option<String>,
}

/// Parses the command line and runs the command; returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut config = match &args.config {
        Some(path) => match Config::from_file(path) {
            Ok(c) => c,
            Err(e) => return fail(&e),
        },
        None => Config::default(),
    };
    if let Some(root) = args.doc_root {
        config.doc_root = Some(root);
    }
    if let Some(port) = args.port {
        config
            .ports
            .insert("http".into(), vec![PortSpec::Port(port)]);
    }
    if let Some(bind) = args.bind {
        config.bind_address = true;
        config.server_host = Some(bind);
    }
    let level_name = args
        .log_level
        .or_else(|| config.log_level.clone())
        .unwrap_or_else(|| "info".into());
    let Some(level) = parse_level(&level_name) else {
        return fail(&format!(
            "--log-level: {level_name:?} is not one of error, warn, info, debug, trace"
        ));
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async {
        let server = match Server::bind(config).await {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        println!(
            "sandserve: serving {}",
            server.site().mounts.doc_root().display()
        );
        for l in server.listeners() {
            println!(
                "sandserve: {} on {} (bound to {})",
                l.scheme_name, l.url, l.addr
            );
        }
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        server.run(shutdown).await;
        println!("sandserve: stopped");
        ExitCode::SUCCESS
    })
}

async fn stop_on_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("stopping: no new connections; finishing requests in flight");
    shutdown.cancel();
}

fn fail(error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("sandserve: {error}");
    ExitCode::from(2)
}
