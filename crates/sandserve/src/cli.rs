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
    /// Print the hosts-file lines for every configured domain.
    Hosts(HostsArgs),
    /// Inspect or empty the compile cache of handlers.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// Compiles a component read on stdin (what the server runs to compile
    /// handlers in a child process of their own).
    #[command(name = "compile-component", hide = true)]
    CompileComponent {
        /// The limits to compile within, as JSON.
        settings: String,
    },
}

#[derive(clap::Args)]
struct HostsArgs {
    /// A JSON configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start from wpt serve's defaults.
    #[arg(long)]
    wpt_defaults: bool,
    /// The address the names should resolve to.
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
}

#[derive(Subcommand)]
enum CacheAction {
    /// Where the cache is, how many entries and bytes it holds.
    Stats(CacheArgs),
    /// Delete every entry.
    Clear(CacheArgs),
}

#[derive(clap::Args)]
struct CacheArgs {
    /// The configuration whose `wasm.cache_dir` to use.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The cache directory (overrides the configuration's).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The directory to serve. Default: the config's doc_root, else the current directory.
    doc_root: Option<PathBuf>,
    /// A JSON configuration file in the shape of wpt's config.json.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Start from wpt serve's defaults (hosts web-platform.test and
    /// not-web-platform.test with their subdomains, its ports, generated TLS
    /// certificates); --config then overrides them key by key.
    #[arg(long)]
    wpt_defaults: bool,
    /// Serve the document root as `wpt serve` does: generated test wrappers
    /// (`X.any.html` from `X.any.js`…), the tree's forbidden paths and
    /// rewrites (implied by --wpt-defaults).
    #[arg(long)]
    wpt: bool,
    /// A script put into every HTML page served.
    #[arg(long, value_name = "FILE")]
    inject_script: Option<PathBuf>,
    /// A delay before every response, in milliseconds.
    #[arg(long, value_name = "MS")]
    latency: Option<u64>,
    /// The address to bind to (overrides browser_host/server_host/bind_address).
    #[arg(long)]
    bind: Option<String>,
    /// The http port (replaces the configured http ports; 0 picks a free one).
    #[arg(long)]
    port: Option<u16>,
    /// error, warn, info, debug or trace. Default: info.
    #[arg(long)]
    log_level: Option<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Compile every handler under the document root before serving
    /// (from the disk cache when it has them).
    #[arg(long)]
    precompile: bool,
}

/// Parses the command line and runs the command; returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Hosts(args) => hosts(args),
        Command::Cache { action } => cache(action),
        Command::CompileComponent { settings } => crate::wasm::compiler::child_main(&settings),
    }
}

/// The configuration from a file, over wpt's defaults or sandserve's.
fn load_config(
    path: Option<&std::path::Path>,
    wpt_defaults: bool,
) -> Result<Config, crate::config::ConfigError> {
    match (path, wpt_defaults) {
        (_, true) => Config::from_file_over(path, Config::wpt_defaults()),
        (Some(path), false) => Config::from_file(path),
        (None, false) => Ok(Config::default()),
    }
}

fn hosts(args: HostsArgs) -> ExitCode {
    let config = match load_config(args.config.as_deref(), args.wpt_defaults) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let topology = match crate::app::App::topology(&config) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let mut text = format!("# sandserve: the names of {}\n", config.browser_host);
    for domain in topology.resolvable_domains() {
        text.push_str(&format!("{}\t{domain}\n", args.address));
    }
    text.push_str("# sandserve: end\n");
    // A closed pipe (`| head`) is not an error worth a message.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    ExitCode::SUCCESS
}

fn cache(action: CacheAction) -> ExitCode {
    let (CacheAction::Stats(args) | CacheAction::Clear(args)) = &action;
    let config = match load_config(args.config.as_deref(), false) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let dir = args
        .cache_dir
        .clone()
        .or(config.wasm.cache_dir)
        .unwrap_or_else(crate::config::default_cache_dir);
    match action {
        CacheAction::Stats(_) => {
            let usage = crate::wasm::cache::usage(&dir);
            println!("cache: {}", dir.display());
            println!("entries: {}", usage.entries);
            println!(
                "size: {:.1} MiB of {} MiB",
                usage.bytes as f64 / 1048576.0,
                config.wasm.cache_max_mib
            );
            ExitCode::SUCCESS
        }
        CacheAction::Clear(_) => match crate::wasm::cache::clear(&dir) {
            Ok(before) => {
                println!(
                    "removed {} entries ({:.1} MiB) from {}",
                    before.entries,
                    before.bytes as f64 / 1048576.0,
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&format!("cannot clear {}: {e}", dir.display())),
        },
    }
}

/// Prints a progress bar on a terminal; nothing otherwise.
fn progress_bar(done: usize, total: usize) {
    use std::io::{IsTerminal, Write};
    let mut err = std::io::stderr();
    if !err.is_terminal() || total == 0 {
        return;
    }
    let width = 30;
    let filled = done * width / total;
    let _ = write!(
        err,
        "\rprecompiling [{}{}] {done}/{total}",
        "#".repeat(filled),
        " ".repeat(width - filled)
    );
    if done == total {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

/// Memory freed after a burst (a pipe's body, a flood of headers, request
/// bodies) goes back to the kernel within seconds: glibc keeps freed memory
/// inside its heaps for reuse, so a thread trims them every two seconds.
#[allow(unsafe_code)]
fn return_memory_promptly() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let trimmer = std::thread::Builder::new()
            .name("sandserve-trim".into())
            .spawn(|| loop {
                std::thread::sleep(std::time::Duration::from_secs(2));
                let started = std::time::Instant::now();
                // SAFETY: malloc_trim only returns free memory to the kernel.
                let returned = unsafe { libc::malloc_trim(0) };
                tracing::trace!("malloc_trim: {returned} in {:?}", started.elapsed());
            });
        if let Err(e) = trimmer {
            tracing::warn!("freed memory is not trimmed: {e}");
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut config = match load_config(args.config.as_deref(), args.wpt_defaults) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Some(root) = args.doc_root {
        config.doc_root = Some(root);
    }
    if let Some(port) = args.port {
        config
            .ports
            .insert("http".into(), vec![PortSpec::Port(port)]);
    }
    if let Some(threads) = args.threads {
        config.threads = Some(threads);
    }
    if args.wpt {
        config.wpt.enabled = true;
    }
    if let Some(script) = args.inject_script {
        config.wpt.inject_script = Some(script);
    }
    if let Some(ms) = args.latency {
        config.wpt.latency_ms = ms;
    }
    if let Some(bind) = args.bind {
        config.bind_address = true;
        config.server_host = Some(bind);
    }
    if let Err(e) = config.validate("command line") {
        return fail(&e);
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

    // Components are compiled by this program, in a child process of their
    // own with its own memory and time limits.
    match std::env::current_exe() {
        Ok(program) => config.wasm.compiler = crate::config::Compiler::Child(program),
        Err(e) => tracing::warn!("compiling components in this process: {e}"),
    }

    return_memory_promptly();

    // Connections and handlers share these threads: a handler runs on one
    // while it computes, and yields it at every epoch tick (1 ms) and
    // whenever it waits (sleep, the client).
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.threads {
        builder.worker_threads(threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let config_python_enabled = config.python.enabled;
    runtime.block_on(async {
        let server = match Server::bind(config).await {
            Ok(s) => s,
            Err(e) => return fail(&e),
        };
        println!(
            "sandserve: serving {} with {} worker threads",
            server.doc_root().display(),
            tokio::runtime::Handle::current().metrics().num_workers()
        );
        if server.client_caps() {
            println!("sandserve: per-client caps on (the per_client key sets them)");
        }
        for l in server.listeners() {
            println!(
                "sandserve: {} on {} (bound to {})",
                l.scheme_name, l.url, l.addr
            );
        }
        match server.python_runner() {
            Some(runner) => println!("sandserve: .py handlers run in {}", runner.display()),
            None if config_python_enabled => println!(
                "sandserve: .py handlers answer 500: the Python runner is not installed \
                 (bash scripts/build-python-runner.sh)"
            ),
            None => {}
        }
        if let Some(ca) = server.ca_cert() {
            println!(
                "sandserve: TLS CA certificate for browsers to trust: {}",
                ca.display()
            );
        }
        if args.precompile {
            let summary = server.precompile(progress_bar).await;
            println!(
                "sandserve: precompiled {} handlers in {:.2} s ({} failed)",
                summary.handlers,
                summary.elapsed.as_secs_f64(),
                summary.failed.len()
            );
            for (path, why) in &summary.failed {
                println!("sandserve: {}: {why}", path.display());
            }
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
