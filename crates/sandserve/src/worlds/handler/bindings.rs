//! Host bindings of the `handler` world: the current version
//! (`wit/handler.wit`, 0.3.0) and the earlier ones (`wit/v0.2.0/`,
//! `wit/v0.1.0/`, kept so that components built against them still run).
//! All map their resources to the same host types, so one store serves any.

// 0.2.0 and 0.3.0 import the same functions, differing in types only
// (0.3.0 adds `session`, whose functions come as `$more`).
macro_rules! since_0_2 {
    ($path:literal $(, $($more:tt)*)?) => {
        wasmtime::component::bindgen!({
            world: "handler",
            path: $path,
            imports: {
                "sandserve:handler/http.[method]response-writer.write-status": async | trappable,
                "sandserve:handler/http.[method]response-writer.write-header": async | trappable,
                "sandserve:handler/http.[method]response-writer.end-headers": async | trappable,
                "sandserve:handler/http.[method]response-writer.write-content": async | trappable,
                "sandserve:handler/http.[method]response-writer.write-raw": async | trappable,
                "sandserve:handler/http.[method]response-writer.flush": async | trappable,
                "sandserve:handler/stash.put": async | trappable,
                "sandserve:handler/stash.take": async | trappable,
                "sandserve:handler/stash.peek": async | trappable,
                "sandserve:handler/stash.compare-and-swap": async | trappable,
                "sandserve:handler/stash.lock": async | trappable,
                "sandserve:handler/timing.sleep": async | trappable,
                $($($more)*)?
                default: trappable,
            },
            exports: { default: async },
            with: {
                "sandserve:handler/http.request": crate::worlds::handler::state::RequestHandle,
                "sandserve:handler/http.response": crate::worlds::handler::state::ResponseHandle,
                "sandserve:handler/http.response-writer": crate::worlds::handler::state::WriterHandle,
                "sandserve:handler/stash.lock-guard": crate::worlds::shared::LockGuard,
            },
        });
    };
}

/// `sandserve:handler@0.3.0`.
pub mod v0_3 {
    since_0_2!(
        "../../wit",
        "sandserve:handler/session.get": async | trappable,
        "sandserve:handler/session.set": async | trappable,
        "sandserve:handler/session.delete": async | trappable,
        "sandserve:handler/session.keys": async | trappable,
        "sandserve:handler/session.clear": async | trappable,
        "sandserve:handler/session.id": async | trappable,
    );
}

/// `sandserve:handler@0.2.0`.
pub mod v0_2 {
    since_0_2!("../../wit/v0.2.0");
}

/// `sandserve:handler@0.1.0`.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        world: "handler",
        path: "../../wit/v0.1.0",
        imports: {
            "sandserve:handler/http.[method]response-writer.write-status": async | trappable,
            "sandserve:handler/http.[method]response-writer.write-header": async | trappable,
            "sandserve:handler/http.[method]response-writer.end-headers": async | trappable,
            "sandserve:handler/http.[method]response-writer.write-content": async | trappable,
            "sandserve:handler/http.[method]response-writer.write-raw": async | trappable,
            "sandserve:handler/stash.put": async | trappable,
            "sandserve:handler/stash.take": async | trappable,
            "sandserve:handler/stash.peek": async | trappable,
            "sandserve:handler/stash.compare-and-swap": async | trappable,
            "sandserve:handler/timing.sleep": async | trappable,
            default: trappable,
        },
        exports: { default: async },
        with: {
            "sandserve:handler/http.request": crate::worlds::handler::state::RequestHandle,
            "sandserve:handler/http.response": crate::worlds::handler::state::ResponseHandle,
            "sandserve:handler/http.response-writer": crate::worlds::handler::state::WriterHandle,
        },
    });
}
