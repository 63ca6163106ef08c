test(() => {
  assert_equals(typeof window, "object");
  assert_equals(typeof self.GLOBAL, "undefined", ".window.js pages have no GLOBAL");
}, "runs in a window");
