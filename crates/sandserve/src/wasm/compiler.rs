//! Compiling a component: untrusted work too. A small component with one
//! pathological function can take the compiler tens of seconds and gigabytes,
//! so it is bounded — in size before it starts (`wasm.max_component_mib`),
//! in number at once (`wasm.max_compiles`), in time (`wasm.compile_secs`)
//! and, when compiling in a child process, in memory
//! (`wasm.compile_memory_mib`).
//!
//! The `sandserve` command compiles in a child process: itself, run as
//! `sandserve compile-component`, with its address space and CPU time
//! limited by the kernel and killed past its time, so nothing a component
//! does to the compiler reaches the server. A server embedded without that
//! program compiles on a blocking thread and stops waiting past the time
//! limit (the compile itself cannot be stopped there, and its memory is not
//! bounded).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use wasmtime::component::Component;
use wasmtime::Engine;

use super::cache::own_artifact;
use super::limits::WasmLimits;
use super::loader::LoadError;

/// Where components are compiled.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Compiler {
    /// In this process, on a blocking thread.
    #[default]
    InProcess,
    /// In a child process: this program (which must be `sandserve`), run as
    /// `sandserve compile-component`.
    Child(PathBuf),
}

/// The hidden subcommand that compiles in a child process.
pub const SUBCOMMAND: &str = "compile-component";

/// Compiles `bytes` for `engine` as `compiler` says, within `limits`. Blocks:
/// call it from a blocking thread.
pub fn compile(engine: &Engine, limits: &WasmLimits, bytes: &[u8]) -> Result<Component, LoadError> {
    match &limits.compiler {
        Compiler::InProcess => Component::new(engine, bytes)
            .map_err(|e| LoadError::NotAComponent(std::sync::Arc::new(e))),
        Compiler::Child(program) => in_child(engine, limits, program, bytes),
    }
}

fn in_child(
    engine: &Engine,
    limits: &WasmLimits,
    program: &PathBuf,
    bytes: &[u8],
) -> Result<Component, LoadError> {
    let settings = serde_json::to_string(limits).map_err(|_| LoadError::CompilerFailed)?;
    let mut child = Command::new(program)
        .arg(SUBCOMMAND)
        .arg(settings)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LoadError::CompilerUnavailable(e.kind()))?;
    // Past its time it is killed: a watchdog waits for the word that it is
    // done, or for the deadline.
    let (done, finished) = mpsc::channel::<()>();
    let pid = child.id();
    let deadline = limits.compile_time();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(deadline).is_err() {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid as i32).expect("a child's pid"),
                rustix::process::Signal::KILL,
            );
            return true;
        }
        false
    });
    let mut stdin = child.stdin.take().expect("piped");
    let written = stdin.write_all(bytes);
    drop(stdin);
    let mut artifact = Vec::new();
    let mut errors = String::new();
    let read = child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut artifact);
    let _ = child
        .stderr
        .take()
        .expect("piped")
        .take(64 << 10)
        .read_to_string(&mut errors);
    let status = child.wait();
    let _ = done.send(());
    let killed = watchdog.join().unwrap_or(false);
    if killed {
        return Err(LoadError::CompileLimit(
            "took longer than wasm.compile_secs",
        ));
    }
    let status = status.map_err(|e| LoadError::Unreadable(e.kind()))?;
    if status.success() && written.is_ok() && read.is_ok() {
        return own_artifact(engine, &artifact).map_err(|e| {
            LoadError::NotAComponent(std::sync::Arc::new(e.context("the compiler's output")))
        });
    }
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        // The kernel's CPU-time limit.
        Some(24) => Err(LoadError::CompileLimit(
            "took longer than wasm.compile_secs",
        )),
        Some(_) => Err(LoadError::CompileLimit(
            "needed more memory than wasm.compile_memory_mib",
        )),
        None if errors.contains("memory allocation") => Err(LoadError::CompileLimit(
            "needed more memory than wasm.compile_memory_mib",
        )),
        None => Err(LoadError::NotAComponent(std::sync::Arc::new(
            wasmtime::Error::msg(errors.trim().to_string()),
        ))),
    }
}

/// The child's side: reads a component on stdin and writes its compiled
/// form on stdout, within the limits in `settings` (as the parent wrote
/// them). Returns the exit code.
pub fn child_main(settings: &str) -> std::process::ExitCode {
    use std::process::ExitCode;
    let fail = |what: &dyn std::fmt::Display| {
        eprintln!("{what}");
        ExitCode::from(1)
    };
    let limits: WasmLimits = match serde_json::from_str(settings) {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let limits = &limits;
    use rustix::process::{setrlimit, Resource, Rlimit};
    let memory = limits.compile_memory_mib.saturating_mul(1 << 20);
    let cpu = limits.compile_secs.ceil() as u64;
    for (resource, value) in [(Resource::As, memory), (Resource::Cpu, cpu)] {
        let limit = Rlimit {
            current: Some(value),
            maximum: Some(value),
        };
        if let Err(e) = setrlimit(resource, limit) {
            return fail(&format!("cannot limit the compiler: {e}"));
        }
    }
    // The same compilation settings as the server's engine, without its
    // instance pool (which would reserve far more address space than the
    // compiler may have): the artifact fits the server's engine.
    let engine = match super::runtime::engine_for_compiling(limits) {
        Ok(engine) => engine,
        Err(e) => return fail(&format!("{e:#}")),
    };
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        return fail(&e);
    }
    match engine.precompile_component(&bytes) {
        Ok(artifact) => match std::io::stdout().write_all(&artifact) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// How long a compile may take.
impl WasmLimits {
    /// The compile-time limit.
    pub fn compile_time(&self) -> Duration {
        Duration::from_secs_f64(self.compile_secs)
    }
}
