//! Host bindings of the `handler` world in `wit/handler.wit`.

wasmtime::component::bindgen!({
    world: "handler",
    path: "../../wit",
    imports: {
        "sandserve:handler/http.[method]response-writer.write-status": async | trappable,
        "sandserve:handler/http.[method]response-writer.write-header": async | trappable,
        "sandserve:handler/http.[method]response-writer.end-headers": async | trappable,
        "sandserve:handler/http.[method]response-writer.write-content": async | trappable,
        "sandserve:handler/http.[method]response-writer.write-raw": async | trappable,
        "sandserve:handler/timing.sleep": async | trappable,
        default: trappable,
    },
    exports: { default: async },
    with: {
        "sandserve:handler/http.request": super::state::RequestHandle,
        "sandserve:handler/http.response": super::state::ResponseHandle,
        "sandserve:handler/http.response-writer": super::state::WriterHandle,
    },
});
