//! Compiling every handler at start-up (`sandserve serve --precompile`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::App;
use crate::wasm::LoadError;

/// What precompiling found.
#[derive(Debug, Default)]
pub struct Summary {
    /// Handler components ready to serve.
    pub handlers: usize,
    /// Files that are not valid components, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// `.wasm` core modules (static files, not handlers).
    pub static_modules: usize,
    /// How long it took.
    pub elapsed: Duration,
}

/// Every `.wasm` under the document root and every routed handler.
fn handler_files(app: &App) -> Vec<PathBuf> {
    let mut files = app.routed_handlers.clone();
    let mut seen = HashSet::new();
    walk(app.mounts.doc_root(), &mut seen, &mut files);
    files.sort();
    files.dedup();
    files
}

fn walk(dir: &Path, seen: &mut HashSet<PathBuf>, out: &mut Vec<PathBuf>) {
    let Ok(real) = dir.canonicalize() else { return };
    if !seen.insert(real) {
        return; // a symlink loop
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, seen, out);
        } else if path.extension().is_some_and(|e| e == "wasm") {
            out.push(path);
        }
    }
}

/// Loads every handler, as many at once as there are cores; `progress` is
/// told (done, total) after each.
pub async fn precompile(app: &App, mut progress: impl FnMut(usize, usize)) -> Summary {
    let started = Instant::now();
    let files = handler_files(app);
    let total = files.len();
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut pending = files.into_iter();
    let mut running = JoinSet::new();
    let mut summary = Summary::default();
    let mut done = 0;
    loop {
        while running.len() < parallel {
            let Some(path) = pending.next() else { break };
            let dispatcher = app.dispatcher.clone();
            running.spawn(async move {
                let source = crate::wasm::Source::path(&path);
                // `NAME_wsh.wasm` is a WebSocket handler (as in `ws_doc_root`).
                let websocket = path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with("_wsh.wasm"));
                let result = if websocket {
                    dispatcher.websockets().load(&source).await.map(|_| ())
                } else {
                    dispatcher.handlers().load(&source).await.map(|_| ())
                };
                (path, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        done += 1;
        progress(done, total);
        match joined {
            Ok((_, Ok(()))) => summary.handlers += 1,
            Ok((_, Err(LoadError::CoreModule))) => summary.static_modules += 1,
            Ok((_, Err(LoadError::Missing))) => {}
            Ok((path, Err(why))) => summary.failed.push((path, why.to_string())),
            Err(e) => summary.failed.push((PathBuf::new(), e.to_string())),
        }
    }
    summary.elapsed = started.elapsed();
    summary
}
