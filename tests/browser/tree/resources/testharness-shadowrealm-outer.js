// The project's own helpers for a scope that creates a ShadowRealm and runs a
// test in it (the functions sandserve's ShadowRealm wrappers call). A WPT
// checkout has its own; these are written for the tests in this tree.
//
// Chromium stops responding when code in a ShadowRealm calls import(), so
// these helpers load scripts into a realm by reading them through the
// creating scope and evaluating them there: shadowRealmEvalAsync() gives
// every realm fakeDynamicImport() and runs the wrappers' import() calls
// through it.

const realmsWithImport = new WeakSet();

// How this scope reads a resource for a realm: fetch(), or inside a realm
// (which has no fetch), the reader its own creator gave it.
const readerHere = () =>
  typeof fetch === "function" ? globalThis.fetchAdaptor : globalThis.readForRealm;

// Runs the async function body `body` (source text) in `realm`; resolves
// when it completes, rejects with the error's text.
globalThis.shadowRealmEvalAsync = (realm, body) => {
  if (!realmsWithImport.has(realm)) {
    globalThis.setupFakeDynamicImportInShadowRealm(realm, readerHere());
  }
  const code = body.replace(/\bimport\(/g, "fakeDynamicImport(");
  const run = realm.evaluate(
    "(resolve, reject) => { (async () => {\n" + code +
      "\n})().then(() => resolve(), (e) => reject(String(e && e.stack || e))); }"
  );
  // Resolving functions are passed wrapped in arrows: Chromium refuses to
  // pass a realm's own across.
  return new Promise((resolve, reject) => run((v) => resolve(v), (e) => reject(e)));
};

// What the realm gets to read a resource as text: `adaptor(url)` is an
// executor for a promise of the text.
globalThis.fetchAdaptor = (url) => (resolve, reject) => {
  fetch(url).then((r) => r.text()).then(resolve, (e) => reject(String(e)));
};

// A function that posts the realm's harness messages to the page that runs
// this scope's tests.
globalThis.getPostMessageFunc = async () => {
  if (typeof DedicatedWorkerGlobalScope !== "undefined" && self instanceof DedicatedWorkerGlobalScope) {
    return (msg) => postMessage(msg);
  }
  if (typeof SharedWorkerGlobalScope !== "undefined" && self instanceof SharedWorkerGlobalScope) {
    const port = await new Promise((resolve) =>
      self.addEventListener("connect", (e) => resolve(e.ports[0]), { once: true }));
    return (msg) => port.postMessage(msg);
  }
  if (typeof ServiceWorkerGlobalScope !== "undefined" && self instanceof ServiceWorkerGlobalScope) {
    const client = await new Promise((resolve) =>
      self.addEventListener("message", function listener(e) {
        if (e.data && e.data.type === "connect") {
          self.removeEventListener("message", listener);
          resolve(e.source);
        }
      }));
    return (msg) => client.postMessage(msg);
  }
  throw new Error("getPostMessageFunc: not a worker scope");
};

// The harness messages that report `error`, which stopped the realm before
// its tests could run.
globalThis.createSetupErrorResult = (error) => ({
  type: "complete",
  tests: [],
  asserts: [],
  status: { status: 1, message: String(error), stack: error && error.stack, OK: 0 },
});

// Gives `realm` a `fakeDynamicImport(url)` that reads the script through
// `adaptor` and evaluates it in the realm as a script, for scopes where
// `import()` is not allowed; and `readForRealm`, for a realm it creates.
globalThis.setupFakeDynamicImportInShadowRealm = (realm, adaptor) => {
  realmsWithImport.add(realm);
  const load = (url) => (resolve, reject) => {
    new Promise((res, rej) => adaptor(url)((v) => res(v), (e) => rej(e)))
      .then((text) => { realm.evaluate(text + "\n;undefined"); })
      .then(() => resolve(), (e) => reject(String(e)));
  };
  realm.evaluate(`(read, load) => {
    globalThis.readForRealm = read;
    // (A realm's own resolving functions cannot cross to the creating
    // scope in Chromium: arrows wrap them.)
    globalThis.fakeDynamicImport = (url) => new Promise((resolve, reject) =>
      load(url)((v) => resolve(v), (e) => reject(e)));
  }`)((url) => adaptor(url), load);
};

// The page's side of an AudioWorklet's fetches: requests come over `port`
// as {type: "fetch-request", id, url} and are answered with the text.
globalThis.setupFakeFetchOverMessagePort = (port) => {
  port.addEventListener("message", async (e) => {
    if (!e.data || e.data.type !== "fetch-request") return;
    const { id, url } = e.data;
    try {
      const text = await (await fetch(url)).text();
      port.postMessage({ type: "fetch-response", id, text });
    } catch (err) {
      port.postMessage({ type: "fetch-response", id, error: String(err) });
    }
  });
  port.start();
};
