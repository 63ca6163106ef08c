const other = "http://{{domains[www1]}}:{{ports[http][1]}}";

promise_test(async () => {
  assert_not_equals(new URL(other).origin, location.origin);
  const response = await fetch(`${other}/cors/data.txt`);
  assert_equals(await response.text(), "shared across origins");
}, "a cross-origin fetch that the .headers file allows");

promise_test(async (t) => {
  await promise_rejects_js(t, TypeError, fetch(`${other}/cors/private.txt`));
}, "a cross-origin fetch without CORS headers fails");
