// Loaded by a `// META: script=` line before the test that reads it.
self.helperValue = 42;
