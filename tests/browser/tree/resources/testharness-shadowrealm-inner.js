// The project's own helpers inside a ShadowRealm that runs a test, loaded
// before testharness.js (which reads GLOBAL to know where it is).
globalThis.self = globalThis;
globalThis.GLOBAL = {
  isWindow: () => false,
  isWorker: () => false,
  isShadowRealm: () => true,
};

// What the creating scope gives the realm: the query of the test's URL, and
// a way to read resources (there is no fetch in a ShadowRealm).
globalThis.setShadowRealmGlobalProperties = (search, adaptor) => {
  globalThis.location = { search };
  globalThis.fetch_json = (url) =>
    new Promise((resolve, reject) =>
      adaptor(url)((text) => resolve(JSON.parse(text)), (e) => reject(e)));
};
