promise_test(async () => {
  const response = await fetch("/hello.wasm");
  assert_equals(response.status, 200);
  assert_equals(response.headers.get("Content-Type"), "text/plain");
  assert_equals(await response.text(), "Hello, world!\n");
}, "a WebAssembly handler answers a fetch");
