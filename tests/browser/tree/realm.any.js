// META: global=shadowrealm
// META: title=In a ShadowRealm
// META: script=/helpers/value.js

test(() => assert_equals(self.helperValue, 42), "the META script ran before the test");

test(() => {
  assert_true(GLOBAL.isShadowRealm(), "isShadowRealm");
  assert_false(GLOBAL.isWindow(), "isWindow");
  assert_equals(typeof document, "undefined", "no document");
}, "GLOBAL says where the test runs");

promise_test(async () => {
  const data = await fetch_json("/helpers/data.json");
  assert_equals(data.answer, 42);
}, "the realm reads a resource through the scope that created it");
