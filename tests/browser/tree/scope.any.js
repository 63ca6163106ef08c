// META: global=window,window-module,worker,worker-module
// META: title=Where the test runs
// META: script=/helpers/value.js

test(() => assert_equals(self.helperValue, 42), "the META script ran before the test");

// A promise test runs after the wrapper's own statements, which a module
// worker evaluates after its imports.
promise_test(async () => {
  const inWindow = typeof window !== "undefined";
  assert_equals(GLOBAL.isWindow(), inWindow, "isWindow");
  assert_equals(GLOBAL.isWorker(), !inWindow, "isWorker");
}, "GLOBAL says where the test runs");

promise_test(async () => {
  const title = typeof document === "undefined" ? self.META_TITLE : document.title;
  assert_equals(title, "Where the test runs");
}, "the title from META");
