//! Configuration: a JSON file in the shape of wpt's `config.json`, plus
//! sandserve's own `limits` and `timeouts`. Every key has a default that
//! serves; an unknown key or a bad value stops start-up with a message that
//! names it and where it is.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::http::Limits;
pub use crate::pipes::PipeLimits;
pub use crate::session::SessionConfig;
pub use crate::stash::StashConfig;
pub use crate::tenants::PerClient;
pub use crate::wasm::compiler::Compiler;
pub use crate::wasm::limits::MemoryReset;
pub use crate::wasm::WasmLimits;
pub use crate::websocket::WebSocketLimits;

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The host name browsers use for the main origin. Default: `localhost`.
    pub browser_host: String,
    /// The host to bind to when `bind_address` is true. Default: `browser_host`.
    pub server_host: Option<String>,
    /// Other host names by key, e.g. `{"alt": "not-web-platform.test"}`. Default: none.
    pub alternate_hosts: BTreeMap<String, String>,
    /// The directory served at `/`. Default: the command line's, else the current directory.
    pub doc_root: Option<PathBuf>,
    /// Ports per scheme: numbers or `"auto"`. Default: `{"http": [8000]}`.
    pub ports: BTreeMap<String, Vec<PortSpec>>,
    /// Bind to `server_host` (true) or to every interface (false). Default: true.
    pub bind_address: bool,
    /// Subdomain labels of the configured hosts. Default: none.
    pub subdomains: Vec<String>,
    /// Labels that must *not* resolve (for tests of failures). Default: none.
    pub not_subdomains: Vec<String>,
    /// TLS settings, as in wpt. Default: `{"type": "none"}`.
    pub ssl: Ssl,
    /// Extra mount points. Default: none.
    pub aliases: Vec<Alias>,
    /// Request size limits.
    pub limits: Limits,
    /// Connection timeouts.
    pub timeouts: Timeouts,
    /// Limits on WebAssembly handlers.
    pub wasm: WasmLimits,
    /// Where the stash lives, and its limits.
    pub stash: StashConfig,
    /// Per-client sessions (kept where the stash is).
    pub sessions: SessionConfig,
    /// Limits on what `?pipe=` may ask for.
    pub pipes: PipeLimits,
    /// Limits on WebSocket connections.
    pub websockets: WebSocketLimits,
    /// Caps on what one client address may hold at once.
    pub per_client: PerClient,
    /// Routes to handlers, tried before the default routes. Default: none.
    pub routes: Vec<RouteConfig>,
    /// `.py` files as wptserve-style Python handlers: `true`, `false` (served
    /// as files), or `{"enabled": …, "runner": "path/to/runner.wasm"}`.
    /// Default: on, with the runner installed beside the `sandserve` binary.
    pub python: PythonConfig,
    /// The `wpt serve` layer: test wrappers, the tree's rules, an injected
    /// script, added latency (see [`WptConfig`]). Default: off, except with
    /// `--wpt-defaults`.
    pub wpt: WptConfig,
    /// wpt's start-up DNS probe; accepted for compatibility, not performed.
    pub check_subdomains: bool,
    /// Accept HTTP/1.1 requests without a `Host` header, with several, or
    /// with one that is not a host and port (as wptserve does, for old
    /// clients). Default: false — such requests get `400` (RFC 9112 §3.2).
    pub lenient_host: bool,
    /// Log level (`error`, `warn`, `info`, `debug`, `trace`). Default: `info`.
    pub log_level: Option<String>,
    /// Worker threads serving connections. Default: one per core.
    pub threads: Option<usize>,
    /// The directory of WebSocket handlers: `/NAME` on a `ws` or `wss` port
    /// runs `NAME_wsh.wasm` there. Default: `websockets/handlers` under the
    /// document root (as `wpt serve`).
    pub ws_doc_root: Option<PathBuf>,
    /// wpt's; accepted, not served.
    pub ws_extra: Option<serde_json::Value>,
    /// wpt's logging settings; accepted and ignored (see `log_level`).
    pub logging: Option<serde_json::Value>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            browser_host: "localhost".into(),
            server_host: None,
            alternate_hosts: BTreeMap::new(),
            doc_root: None,
            ports: BTreeMap::from([("http".to_string(), vec![PortSpec::Port(8000)])]),
            bind_address: true,
            subdomains: Vec::new(),
            not_subdomains: Vec::new(),
            ssl: Ssl::default(),
            aliases: Vec::new(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            wasm: WasmLimits::default(),
            stash: StashConfig::default(),
            sessions: SessionConfig::default(),
            pipes: PipeLimits::default(),
            websockets: WebSocketLimits::default(),
            per_client: PerClient::default(),
            routes: Vec::new(),
            python: PythonConfig::default(),
            wpt: WptConfig::default(),
            check_subdomains: false,
            lenient_host: false,
            log_level: None,
            threads: None,
            ws_doc_root: None,
            ws_extra: None,
            logging: None,
        }
    }
}

/// Python handlers: on or off, and where the runner is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PythonConfig {
    /// Run `.py` files as handlers. Default: true.
    pub enabled: bool,
    /// The runner component. Default: `sandserve-python.wasm` beside the
    /// binary, else `python/runner.wasm` in the directory above it (where
    /// `scripts/build-python-runner.sh` puts it).
    pub runner: Option<PathBuf>,
}

impl Default for PythonConfig {
    fn default() -> Self {
        PythonConfig {
            enabled: true,
            runner: None,
        }
    }
}

impl<'de> Deserialize<'de> for PythonConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            On(bool),
            Full {
                #[serde(default = "yes")]
                enabled: bool,
                #[serde(default)]
                runner: Option<PathBuf>,
            },
        }
        fn yes() -> bool {
            true
        }
        Ok(match Shape::deserialize(d)? {
            Shape::On(enabled) => PythonConfig {
                enabled,
                runner: None,
            },
            Shape::Full { enabled, runner } => PythonConfig { enabled, runner },
        })
    }
}

/// What `wpt serve` adds to a document root.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WptConfig {
    /// Generated test wrappers (`X.any.html` from `X.any.js`…), the tree's
    /// forbidden paths, rewrites and `.well-known` handlers. `--wpt` turns
    /// it on, as does `--wpt-defaults`.
    pub enabled: bool,
    /// A script put into every HTML page served (`--inject-script`).
    pub inject_script: Option<PathBuf>,
    /// A delay before every response, in milliseconds (`--latency`).
    pub latency_ms: u64,
}

/// A port: a number, or `"auto"` for a free one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortSpec {
    /// This port (0 means any free port, as `"auto"`).
    Port(u16),
    /// A free port chosen at start-up, never one on the Fetch bad-ports list.
    Auto,
}

impl<'de> Deserialize<'de> for PortSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = PortSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number (0-65535) or \"auto\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortSpec, E> {
                u16::try_from(v)
                    .map(PortSpec::Port)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortSpec, E> {
                u16::try_from(v)
                    .map(PortSpec::Port)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortSpec, E> {
                match v {
                    "auto" => Ok(PortSpec::Auto),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The `ssl` key, as in wpt's configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ssl {
    /// `none`, `openssl` or `pregenerated`. Default: `none`.
    #[serde(rename = "type")]
    pub kind: SslKind,
    /// wpt's CONNECT-then-TLS mode; accepted, not supported.
    pub encrypt_after_connect: bool,
    /// Options of the `openssl` type.
    pub openssl: OpensslOptions,
    /// Options of the `pregenerated` type.
    pub pregenerated: PregeneratedOptions,
    /// Options of the `none` type (there are none).
    pub none: serde_json::Value,
}

/// `ssl.openssl`: generate a CA and a host certificate (no `openssl` binary
/// is used; the key keeps wpt's name).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpensslOptions {
    /// Where the CA and host certificate are kept, relative to the
    /// configuration file. Default: `certs` in the compile cache's directory.
    pub base_path: Option<PathBuf>,
    /// Days the certificates are valid. Default: 30.
    pub duration: u32,
    /// Generate new ones at every start. Default: false.
    pub force_regenerate: bool,
    /// wpt's; accepted and ignored.
    pub openssl_binary: Option<String>,
    /// wpt's; accepted and ignored.
    pub password: Option<String>,
    /// wpt's; accepted and ignored.
    pub base_conf_path: Option<String>,
}

impl Default for OpensslOptions {
    fn default() -> Self {
        OpensslOptions {
            base_path: None,
            duration: 30,
            force_regenerate: false,
            openssl_binary: None,
            password: None,
            base_conf_path: None,
        }
    }
}

/// `ssl.pregenerated`: certificate files, relative to the configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PregeneratedOptions {
    /// The host's private key (PEM).
    pub host_key_path: Option<PathBuf>,
    /// The host's certificate chain (PEM).
    pub host_cert_path: Option<PathBuf>,
    /// The CA certificate browsers should trust (PEM), for the start-up line.
    pub ca_cert_path: Option<PathBuf>,
}

/// How TLS certificates are obtained.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SslKind {
    /// No TLS: https ports are dropped.
    #[default]
    None,
    /// Generate a CA and a host certificate.
    Openssl,
    /// Use certificate files given in `pregenerated`.
    Pregenerated,
}

/// A mount point: `url-path` served from `local-dir`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    /// The URL path; ending in `/` mounts a directory tree, otherwise one file.
    #[serde(rename = "url-path")]
    pub url_path: String,
    /// The local directory or file, relative to the configuration file.
    #[serde(rename = "local-dir")]
    pub local_dir: PathBuf,
}

/// Connection timeouts, in seconds.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Timeouts {
    /// Time allowed to receive a request head once its first byte has come,
    /// and between two reads of a body. Default: 30.
    pub header_read_secs: f64,
    /// Time an idle connection is kept open waiting for the next request. Default: 75.
    pub keep_alive_secs: f64,
    /// On SIGINT/SIGTERM, time allowed for requests in flight to finish. Default: 30.
    pub shutdown_grace_secs: f64,
    /// Time a whole request body may take, however steadily it comes. Default: 300.
    pub body_secs: f64,
    /// Time a write to a client may go without progress (a client that does
    /// not read) before the connection is dropped. Default: 60.
    pub send_secs: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read_secs: 30.0,
            keep_alive_secs: 75.0,
            shutdown_grace_secs: 30.0,
            body_secs: 300.0,
            send_secs: 60.0,
        }
    }
}

impl Timeouts {
    /// The header read timeout.
    pub fn header_read(&self) -> Duration {
        Duration::from_secs_f64(self.header_read_secs)
    }

    /// The keep-alive idle timeout.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs_f64(self.keep_alive_secs)
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs_f64(self.shutdown_grace_secs)
    }

    /// The time a whole body may take.
    pub fn body(&self) -> Duration {
        Duration::from_secs_f64(self.body_secs)
    }

    /// The time a write may go without progress.
    pub fn send(&self) -> Duration {
        Duration::from_secs_f64(self.send_secs)
    }
}

/// An explicit route to a WebAssembly handler.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Methods it answers (`GET` also answers `HEAD`); `["*"]` or absent: any.
    #[serde(default)]
    pub methods: Vec<String>,
    /// The path pattern: literal text, `{name}` for one segment, one `*`.
    pub path: String,
    /// The `.wasm` component; relative paths are relative to the configuration file.
    pub handler: PathBuf,
}

/// The schemes a `ports` key may name.
pub const SCHEMES: &[&str] = &[
    "http",
    "https",
    "http-local",
    "http-public",
    "https-local",
    "https-public",
    "ws",
    "wss",
    "h2",
    "http2",
    "webtransport-h3",
];

/// A configuration that cannot be used.
#[derive(Debug)]
pub struct ConfigError {
    /// Where: the file, or the command line.
    pub source: String,
    /// What is wrong, naming the key.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Reads a configuration file. Relative paths in it (`doc_root`, aliases)
    /// are taken relative to the file's directory.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            source: source.clone(),
            message: format!("cannot read: {e}"),
        })?;
        let mut config = Config::from_json(&text, &source)?;
        config.rebase(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// What `wpt serve` uses when its `config.json` says nothing: the hosts
    /// `web-platform.test` and `not-web-platform.test`, subdomains `www`,
    /// `www1`, `www2`, `天気の良い日`, `élève` and every two-label
    /// combination of them, the not-subdomain `nonexistent`, its ports, and
    /// generated TLS certificates.
    pub fn wpt_defaults() -> serde_json::Value {
        let labels = ["www", "www1", "www2", "天気の良い日", "élève"];
        let mut subdomains: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
        for a in labels {
            for b in labels {
                subdomains.push(format!("{a}.{b}"));
            }
        }
        serde_json::json!({
            "browser_host": "web-platform.test",
            "alternate_hosts": {"alt": "not-web-platform.test"},
            "subdomains": subdomains,
            "not_subdomains": ["nonexistent"],
            "ports": {
                "http": [8000, "auto"],
                "https": [8443, 8444],
                "http-local": ["auto"],
                "http-public": ["auto"],
                "https-local": ["auto"],
                "https-public": ["auto"],
                "ws": ["auto"],
                "wss": ["auto"],
                "h2": [9000]
            },
            "ssl": {"type": "openssl"},
            "wpt": {"enabled": true}
        })
    }

    /// Reads a configuration file over `defaults` (JSON objects are merged
    /// key by key, the file winning), like [`Config::from_file`].
    pub fn from_file_over(
        path: Option<&Path>,
        defaults: serde_json::Value,
    ) -> Result<Config, ConfigError> {
        let (source, mut merged) = (
            path.map_or("--wpt-defaults".to_string(), |p| p.display().to_string()),
            defaults,
        );
        if let Some(path) = path {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                source: source.clone(),
                message: format!("cannot read: {e}"),
            })?;
            let theirs: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| ConfigError {
                    source: source.clone(),
                    message: e.to_string(),
                })?;
            merge(&mut merged, theirs);
        }
        let mut config: Config = serde_json::from_value(merged).map_err(|e| ConfigError {
            source: source.clone(),
            message: e.to_string(),
        })?;
        config.validate(&source)?;
        if let Some(path) = path {
            config.rebase(path.parent().unwrap_or(Path::new(".")));
        }
        Ok(config)
    }

    /// Parses configuration JSON; `source` names it in errors.
    pub fn from_json(text: &str, source: &str) -> Result<Config, ConfigError> {
        let config: Config = serde_json::from_str(text).map_err(|e| ConfigError {
            source: source.to_string(),
            message: e.to_string(),
        })?;
        config.validate(source)?;
        Ok(config)
    }

    /// Makes the relative paths of a configuration file relative to `base`,
    /// the file's directory.
    fn rebase(&mut self, base: &Path) {
        if let Some(root) = &self.doc_root {
            self.doc_root = Some(base.join(root));
        }
        for alias in &mut self.aliases {
            alias.local_dir = base.join(&alias.local_dir);
        }
        for route in &mut self.routes {
            route.handler = base.join(&route.handler);
        }
        if let Some(runner) = &self.python.runner {
            self.python.runner = Some(base.join(runner));
        }
        if let Some(script) = &self.wpt.inject_script {
            self.wpt.inject_script = Some(base.join(script));
        }
        if let Some(dir) = &self.ws_doc_root {
            self.ws_doc_root = Some(base.join(dir));
        }
        if let Some(dir) = &self.wasm.cache_dir {
            self.wasm.cache_dir = Some(base.join(dir));
        }
        if let Some(ca) = &self.stash.ca_file {
            self.stash.ca_file = Some(base.join(ca));
        }
        let ssl = &mut self.ssl;
        for path in [
            &mut ssl.openssl.base_path,
            &mut ssl.pregenerated.host_key_path,
            &mut ssl.pregenerated.host_cert_path,
            &mut ssl.pregenerated.ca_cert_path,
        ]
        .into_iter()
        .flatten()
        {
            *path = base.join(&*path);
        }
    }

    /// Checks what the types alone cannot; `source` names where the
    /// configuration came from in the error.
    pub fn validate(&self, source: &str) -> Result<(), ConfigError> {
        self.check().map_err(|message| ConfigError {
            source: source.to_string(),
            message,
        })
    }

    fn check(&self) -> Result<(), String> {
        for scheme in self.ports.keys() {
            if !SCHEMES.contains(&scheme.as_str()) {
                return Err(format!(
                    "ports: unknown scheme {scheme:?} (known: {})",
                    SCHEMES.join(", ")
                ));
            }
        }
        let mut seen = BTreeMap::new();
        for (scheme, ports) in &self.ports {
            for port in ports {
                if let PortSpec::Port(p @ 1..) = port {
                    if let Some(other) = seen.insert(*p, scheme) {
                        return Err(format!(
                            "ports: port {p} is given to both {other:?} and {scheme:?}"
                        ));
                    }
                }
            }
        }
        if self.browser_host.trim().is_empty() {
            return Err("browser_host: must not be empty".into());
        }
        for (key, value) in [
            ("timeouts.header_read_secs", self.timeouts.header_read_secs),
            ("timeouts.keep_alive_secs", self.timeouts.keep_alive_secs),
            (
                "timeouts.shutdown_grace_secs",
                self.timeouts.shutdown_grace_secs,
            ),
            ("timeouts.body_secs", self.timeouts.body_secs),
            ("timeouts.send_secs", self.timeouts.send_secs),
        ] {
            if !(value.is_finite() && value > 0.0 && value < 1e9) {
                return Err(format!(
                    "{key}: must be a positive number of seconds, not {value}"
                ));
            }
        }
        let l = &self.limits;
        for (key, value) in [
            ("limits.max_request_line", l.max_request_line as u64),
            ("limits.max_header_lines", l.max_header_lines as u64),
            ("limits.max_header_bytes", l.max_header_bytes as u64),
            ("limits.max_buffered_body_mib", l.max_buffered_body_mib),
        ] {
            if value == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
        }
        if self.threads == Some(0) {
            return Err("threads: must be at least 1".into());
        }
        if let Some(level) = &self.log_level {
            if parse_level(level).is_none() {
                return Err(format!(
                    "log_level: {level:?} is not one of error, warn, info, debug, trace"
                ));
            }
        }
        for (i, alias) in self.aliases.iter().enumerate() {
            if !alias.url_path.starts_with('/') {
                return Err(format!(
                    "aliases[{i}].url-path: {:?} must start with /",
                    alias.url_path
                ));
            }
        }
        for (i, route) in self.routes.iter().enumerate() {
            crate::route::Pattern::new(&route.path)
                .map_err(|e| format!("routes[{i}].path: {e}"))?;
        }
        let w = &self.wasm;
        if !(w.wall_time_secs.is_finite() && w.wall_time_secs > 0.0) {
            return Err("wasm.wall_time_secs: must be a positive number of seconds".into());
        }
        for (key, value) in [
            ("wasm.cpu_time_ms", w.cpu_time_ms),
            ("wasm.max_memory_mib", w.max_memory_mib),
            ("wasm.max_stack_kib", w.max_stack_kib as u64),
            ("wasm.max_instances", u64::from(w.max_instances)),
        ] {
            if value == 0 {
                return Err(format!("{key}: must be at least 1"));
            }
        }
        if w.max_memory_mib > 4096 {
            return Err("wasm.max_memory_mib: at most 4096 (a 32-bit memory)".into());
        }
        let p = &self.pipes;
        for (key, value) in [
            ("pipes.max_delay_secs", p.max_delay_secs),
            ("pipes.max_total_delay_secs", p.max_total_delay_secs),
        ] {
            if !(value.is_finite() && (0.0..1e9).contains(&value)) {
                return Err(format!("{key}: must be a number of seconds, not {value}"));
            }
        }
        self.stash.validate()?;
        self.sessions.validate()?;
        if self.ssl.encrypt_after_connect {
            return Err("ssl.encrypt_after_connect: not supported".into());
        }
        Ok(())
    }

    /// Whether the listeners take connections from beyond this machine.
    pub fn public(&self) -> bool {
        let host = self.bind_host();
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        !loopback
    }

    /// The host listeners bind to.
    pub fn bind_host(&self) -> &str {
        if self.bind_address {
            self.server_host.as_deref().unwrap_or(&self.browser_host)
        } else {
            "0.0.0.0"
        }
    }
}

/// Merges `theirs` into `ours`: objects key by key, anything else replaced.
fn merge(ours: &mut serde_json::Value, theirs: serde_json::Value) {
    match (ours, theirs) {
        (serde_json::Value::Object(ours), serde_json::Value::Object(theirs)) => {
            for (key, value) in theirs {
                match ours.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        ours.insert(key, value);
                    }
                }
            }
        }
        (ours, theirs) => *ours = theirs,
    }
}

/// The default directory of the compile cache (and of generated
/// certificates): `$XDG_CACHE_HOME/sandserve`, else `$HOME/.cache/sandserve`,
/// else a directory under the system temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("sandserve");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache/sandserve");
    }
    std::env::temp_dir().join("sandserve-cache")
}

/// Parses a log level name.
pub fn parse_level(level: &str) -> Option<tracing::Level> {
    match level.to_ascii_lowercase().as_str() {
        "error" => Some(tracing::Level::ERROR),
        "warn" | "warning" => Some(tracing::Level::WARN),
        "info" => Some(tracing::Level::INFO),
        "debug" => Some(tracing::Level::DEBUG),
        "trace" => Some(tracing::Level::TRACE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        Config::from_json(json, "test.json")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_serve() {
        let c = Config::from_json("{}", "x").unwrap();
        assert_eq!(c.ports["http"], [PortSpec::Port(8000)]);
        assert_eq!(c.bind_host(), "localhost");
    }

    #[test]
    fn wpt_shape_is_accepted() {
        let c = Config::from_json(
            r#"{"ports": {"http": [8000, "auto"], "https": [8443]}, "bind_address": false,
                "browser_host": "web-platform.test", "alternate_hosts": {"alt": "not-web-platform.test"},
                "check_subdomains": false, "ssl": {"type": "none"},
                "aliases": [{"url-path": "/x/", "local-dir": "y"}]}"#,
            "x",
        )
        .unwrap();
        assert_eq!(c.ports["http"], [PortSpec::Port(8000), PortSpec::Auto]);
        assert_eq!(c.bind_host(), "0.0.0.0");
    }

    #[test]
    fn errors_name_the_key() {
        assert!(err(r#"{"colour": 1}"#).contains("unknown field `colour`"));
        assert!(err(r#"{"ports": {"gopher": [70]}}"#).contains("unknown scheme \"gopher\""));
        assert!(err(r#"{"ports": {"http": [70000]}}"#).contains("70000"));
        assert!(err(r#"{"ports": {"http": ["any"]}}"#).contains("\"auto\""));
        assert!(err(r#"{"ports": {"http": [80], "https": [80]}}"#).contains("port 80"));
        assert!(
            err(r#"{"timeouts": {"keep_alive_secs": -1}}"#).contains("timeouts.keep_alive_secs")
        );
        assert!(err(r#"{"limits": {"max_header_lines": 0}}"#).contains("limits.max_header_lines"));
        assert!(err(r#"{"log_level": "loud"}"#).contains("log_level"));
        assert!(err("{\n  \"ports\": 5\n}").contains("line 2"));
    }
}
