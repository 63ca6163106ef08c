importScripts("/resources/testharness.js");
test(() => assert_true(self instanceof DedicatedWorkerGlobalScope), "runs in a dedicated worker");
done();
