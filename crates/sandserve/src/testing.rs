//! Internals reached by the fuzz targets (`fuzz/`) and the benchmarks
//! (`benches/`): not a stable interface, and not for anything else.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

pub use crate::http::chunked::ChunkedDecoder;
pub use crate::http::parse::{body_framing, parse_head, Framing, HeadError};
pub use crate::http::{Limits, Pace};
pub use crate::pipes::{PipeLimits, Pipeline, Step};
pub use crate::sub::template::{tokenize, Token};

use crate::http::memory::MemIo;
use crate::http::{Peer, Request, ResponseWriter, Scheme, Transport};
use crate::reply::{ErrorAnswer, Reply};
use crate::session::Sessions;
use crate::stash::Stash;
use crate::wasm::{Runtime, WasmLimits};
use crate::worlds::handler::{HandlerWorld, LoadedHandler};

/// What running a pipeline end to end did.
#[cfg(feature = "fuzzing")]
#[derive(Debug)]
pub struct PipelineRun {
    /// Everything written to the client.
    pub written: Vec<u8>,
    /// The length of the body the pipeline made.
    pub body_len: u64,
    /// Time spent, on the paused clock (pauses pass at once).
    pub took: std::time::Duration,
    /// Whether it was refused as a whole (an error answer).
    pub refused: bool,
}

/// The limits the pipelines of [`run_pipeline`] run under.
#[cfg(feature = "fuzzing")]
pub const FUZZ_PIPE_LIMITS: crate::pipes::PipeLimits = crate::pipes::PipeLimits {
    max_steps: 32,
    max_trickle_items: 256,
    max_delay_secs: 10.0,
    max_total_delay_secs: 30.0,
    max_body_bytes: 1 << 20,
};

/// Parses `pipe` and applies it to a 200 response with `body`, then writes
/// the response to a client in memory, on a runtime whose clock is paused
/// (pauses pass at once but are counted). `None` if the pipe did not parse.
#[cfg(feature = "fuzzing")]
pub fn run_pipeline(pipe: &str, body: &[u8], head_only: bool) -> Option<PipelineRun> {
    use std::sync::OnceLock;

    use crate::http::Response;
    use crate::mounts::Mounts;
    use crate::sub::SubContext;

    static ROOT: OnceLock<std::path::PathBuf> = OnceLock::new();
    let root = ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sandserve-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    });
    let pipeline = Pipeline::parse(pipe, &FUZZ_PIPE_LIMITS).ok()?;
    let mounts = Mounts::new(root, &[]).ok()?;
    let topology = crate::app::App::topology(&crate::Config::default()).ok()?;
    let raw = b"GET /x?a=1 HTTP/1.1\r\nHost: h\r\n\r\n";
    let (head, _) = parse_head(raw, &Limits::default()).ok()??;
    let addr = "127.0.0.1:8000".parse().ok()?;
    let peer = Peer {
        client: addr,
        server: addr,
        scheme: Scheme::Http,
    };
    let request = Request::new(head, Bytes::new(), peer);
    let ctx = SubContext {
        request: &request,
        topology: &topology,
        mounts: &mounts,
        file: None,
        root: mounts.doc_root(),
        dir: mounts.doc_root_dir(),
        url_base: "/",
    };
    let response = Response::new(200).with_body(body.to_vec());
    let (response, refused) = match pipeline.apply(response, &ctx) {
        Ok(r) => (r, false),
        Err(e) => (ErrorAnswer::from(e).response(), true),
    };
    let body_len = response.body.len();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .ok()?;
    runtime.block_on(async move {
        let started = tokio::time::Instant::now();
        let (client, written) = MemIo::new();
        let mut writer = ResponseWriter::new(Transport::new(Box::new(client)), head_only, false);
        writer.send(&response).await.ok()?;
        let written = written.take();
        Some(PipelineRun {
            written,
            body_len,
            took: started.elapsed(),
            refused,
        })
    })
}

/// The status the server answers a refused request head with.
pub fn head_error_status(e: HeadError) -> u16 {
    ErrorAnswer::from(e).status()
}

/// The request handler world on an engine of its own, one handler loaded,
/// and a request for it: the per-request cost of a handler through the real
/// host code, without sockets.
pub struct HandlerBench {
    world: HandlerWorld,
    handler: Arc<LoadedHandler>,
    request: Arc<Request>,
    path: std::path::PathBuf,
}

impl HandlerBench {
    /// Loads the component in `path` (with no disk cache).
    pub async fn new(path: &Path) -> Result<HandlerBench, Box<dyn std::error::Error>> {
        let limits = WasmLimits {
            disk_cache: false,
            ..WasmLimits::default()
        };
        let runtime = Runtime::new(&limits, Path::new("/nonexistent"))?;
        let topology = crate::app::App::topology(&crate::Config::default())?;
        let tenants = Arc::new(crate::tenants::Tenants::new(None, 0));
        let stash = Arc::new(Stash::new(Default::default(), tenants.clone()));
        let world = HandlerWorld::new(
            Arc::new(runtime),
            stash.clone(),
            Arc::new(Sessions::new(stash, Default::default())),
            Arc::new(topology),
            tenants,
            Limits::default().max_form_fields,
        )?;
        let handler = world.load(&crate::wasm::Source::path(path)).await?;
        let raw = b"GET /hello.wasm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        let (head, _) = parse_head(raw, &Limits::default())?.ok_or("a partial head")?;
        let addr = "127.0.0.1:8000".parse()?;
        let peer = Peer {
            client: addr,
            server: addr,
            scheme: Scheme::Http,
        };
        Ok(HandlerBench {
            world,
            handler,
            request: Arc::new(Request::new(head, Bytes::new(), peer)),
            path: path.to_path_buf(),
        })
    }

    /// One request: a fresh store, instantiation, the call, teardown.
    /// Whether the handler answered with a response.
    pub async fn run_once(&self) -> bool {
        let writer = ResponseWriter::new(Transport::new(Box::new(MemIo::new().0)), false, false);
        let (reply, _) = self
            .world
            .serve(
                &self.handler,
                "/hello.wasm",
                self.request.clone(),
                Vec::new(),
                None,
                writer,
            )
            .await;
        matches!(reply, Reply::Response(_))
    }

    /// The per-request reload check: a `stat` of the file and a look-up of
    /// its compiled, linked component.
    pub async fn reload_check(&self) -> bool {
        self.world
            .load(&crate::wasm::Source::path(&self.path))
            .await
            .is_ok()
    }
}
