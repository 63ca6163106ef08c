//! Builds every guest in `guest-examples/` for wasm32-wasip2 and generates
//! `for_each_guest!` and `for_each_websocket_guest!`, which `tests/handlers.rs`
//! and `tests/websocket.rs` use to require one test per guest (a guest
//! without a test fails the build).

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.parent().unwrap().to_path_buf();
    let guests = repo.join("guest-examples");
    for watched in [
        "guest-examples",
        "crates/sandserve-guest",
        "crates/sandserve-websocket-guest",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", repo.join(watched).display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let target_dir = out.join("guests");

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(guests.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("run cargo to build the guest examples");
    if !status.success() {
        panic!(
            "building guest-examples failed; is the wasm32-wasip2 target installed? \
             (rustup target add wasm32-wasip2, which scripts/test.sh does)"
        );
    }

    let wasm_dir = target_dir.join("wasm32-wasip2/release");
    let mut names: Vec<String> = members(&guests.join("Cargo.toml"));
    names.sort();
    let mut code = format!(
        "/// Where the built guests are.\npub const GUEST_DIR: &str = {:?};\n\n",
        wasm_dir.display().to_string()
    );
    // WebSocket guests (`ws-…`, `hostile-ws-…`) have their tests in
    // tests/websocket.rs; the others in tests/handlers.rs.
    let websocket = |name: &str| name.starts_with("ws-") || name.starts_with("hostile-ws-");
    for (macro_name, which) in [
        ("for_each_guest", false),
        ("for_each_websocket_guest", true),
    ] {
        code.push_str(&format!(
            "/// Calls `$m!(test_name, \"file-stem\")` for every {}guest.\n#[macro_export]\nmacro_rules! {macro_name} {{\n    ($m:ident) => {{\n",
            if which { "WebSocket " } else { "request handler " }
        ));
        for name in names.iter().filter(|n| websocket(n) == which) {
            let file = name.replace('-', "_");
            assert!(
                wasm_dir.join(format!("{file}.wasm")).exists(),
                "{file}.wasm was not built"
            );
            code.push_str(&format!("        $m!({file}, {name:?});\n"));
        }
        code.push_str("    };\n}\n");
    }
    std::fs::write(out.join("guests.rs"), code).unwrap();
}

/// The `members` of the guest workspace.
fn members(manifest: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let start = text.find("members = [").expect("members list") + "members = [".len();
    let end = start + text[start..].find(']').unwrap();
    text[start..end]
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
