test(() => {
  assert_equals(location.protocol, "https:");
  assert_true(self.isSecureContext);
}, "served over https with the generated certificate");
