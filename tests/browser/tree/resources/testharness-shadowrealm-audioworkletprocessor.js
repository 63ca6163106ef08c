// The project's own AudioWorklet processor that hosts a ShadowRealm test: the
// wrapper module (X.any.audioworklet-shadowrealm.js) gives it
// createShadowRealmAndStartTests; the node's port carries the harness
// messages to the page and the realm's reads from it.
class TestRunner extends AudioWorkletProcessor {
  constructor() {
    super();
    this.pending = new Map();
    this.nextId = 0;
    this.port.onmessage = (e) => {
      if (!e.data || e.data.type !== "fetch-response") return;
      const waiting = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      if ("error" in e.data) waiting.reject(e.data.error);
      else waiting.resolve(e.data.text);
    };
    this.createShadowRealmAndStartTests();
  }

  // Like fetchAdaptor, over the port (a worklet has no fetch).
  fetchOverPortExecutor(url) {
    const id = this.nextId++;
    const text = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.port.postMessage({ type: "fetch-request", id, url });
    return (resolve, reject) => {
      text.then((t) => resolve(t), (e) => reject(String(e)));
    };
  }

  // Kept alive while the tests run (false would let the node be collected).
  process() {
    return true;
  }
}
globalThis.TestRunner = TestRunner;
registerProcessor("test-runner", TestRunner);
