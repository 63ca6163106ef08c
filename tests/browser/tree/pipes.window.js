promise_test(async () => {
  const started = performance.now();
  const response = await fetch("/slow.txt?pipe=status(202)|header(X-Test,piped)|trickle(d0.3)");
  const body = await response.text();
  assert_equals(response.status, 202, "status");
  assert_equals(response.headers.get("X-Test"), "piped", "header");
  assert_equals(body, "trickled body");
  assert_greater_than_equal(performance.now() - started, 280, "the trickle's pause");
}, "?pipe= sets the status and a header and trickles the body");
