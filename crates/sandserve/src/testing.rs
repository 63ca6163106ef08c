//! Internals reached by the fuzz targets (`fuzz/`) and the benchmarks
//! (`benches/`): not a stable interface, and not for anything else.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

pub use crate::http::chunked::ChunkedDecoder;
pub use crate::http::parse::{body_framing, parse_head, Framing, HeadError};
pub use crate::http::{Limits, Pace};
pub use crate::pipes::{Pipeline, Step};
pub use crate::sub::template::{tokenize, Token};

use crate::http::{Peer, Request, ResponseWriter, Scheme, Transport};
use crate::reply::{ErrorAnswer, Reply};
use crate::stash::Stash;
use crate::topology::Topology;
use crate::wasm::{Runtime, WasmLimits};
use crate::worlds::handler::{HandlerWorld, LoadedHandler};

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
        let runtime =
            Runtime::new(&limits, Path::new("/nonexistent")).map_err(|e| e.to_string())?;
        let topology = Topology::from_config(&crate::Config::default(), Default::default())
            .map_err(|e| e.to_string())?;
        let world = HandlerWorld::new(
            Arc::new(runtime),
            Arc::new(Stash::new(Default::default())),
            Arc::new(topology),
        )
        .map_err(|e| e.to_string())?;
        let handler = world.load(path).await?;
        let raw = b"GET /hello.wasm HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        let (head, _) = parse_head(raw, &Limits::default())?.ok_or("a partial head")?;
        let addr = "127.0.0.1:8000".parse().expect("an address");
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
        let writer =
            ResponseWriter::new(Transport::new(Box::new(tokio::io::empty())), false, false);
        let (reply, _) = self
            .world
            .serve(
                &self.handler,
                "/hello.wasm",
                self.request.clone(),
                Vec::new(),
                writer,
            )
            .await;
        matches!(reply, Reply::Response(_))
    }

    /// The per-request reload check: a `stat` of the file and a look-up of
    /// its compiled, linked component.
    pub async fn reload_check(&self) -> bool {
        self.world.load(&self.path).await.is_ok()
    }
}
