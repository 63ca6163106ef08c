//! The ShadowRealm wrappers: a test runs inside a ShadowRealm created by a
//! window, by another ShadowRealm, by a dedicated, shared or service worker,
//! or by an AudioWorklet, and its results travel out to the page.
//!
//! The realm's side of the work is done by the tree's helper scripts, whose
//! functions these wrappers call: `testharness-shadowrealm-outer.js` in the
//! creating scope (`shadowRealmEvalAsync`, `fetchAdaptor`,
//! `getPostMessageFunc`, `createSetupErrorResult`,
//! `setupFakeDynamicImportInShadowRealm`, `setupFakeFetchOverMessagePort`),
//! `testharness-shadowrealm-inner.js` inside the realm
//! (`setShadowRealmGlobalProperties`, `fakeDynamicImport`) and
//! `testharness-shadowrealm-audioworkletprocessor.js` (`TestRunner`), with
//! `fetch_tests_from_shadow_realm` / `begin_shadow_realm_tests` of
//! testharness.js.
//!
//! Code evaluated in a realm is passed as a JavaScript string literal, so a
//! realm inside a realm is one more level of quoting, nothing else.

use super::js_string;

/// The helpers of the creating scope.
pub const OUTER: &str = "/resources/testharness-shadowrealm-outer.js";
const INNER: &str = "/resources/testharness-shadowrealm-inner.js";
const PROCESSOR: &str = "/resources/testharness-shadowrealm-audioworkletprocessor.js";

/// How code in the realm loads a script: `import()`, or the helpers'
/// fetch-and-evaluate where `import()` is not allowed.
fn load(fake_import: bool, url: &str) -> String {
    let how = if fake_import {
        "fakeDynamicImport"
    } else {
        "import"
    };
    format!("await {how}({});\n", js_string(url))
}

/// Realm code that readies the harness in it.
fn harness(fake_import: bool) -> String {
    load(fake_import, INNER) + &load(fake_import, "/resources/testharness.js")
}

/// Realm code that loads the META scripts and the test (and, in worker
/// scripts, sets `META_TITLE` as the worker wrappers do).
fn test(meta: &[(String, String)], test_url: &str, fake_import: bool, title: bool) -> String {
    let mut out = String::new();
    for (key, value) in meta {
        match key.as_str() {
            "script" => out.push_str(&load(fake_import, value)),
            "title" if title => {
                out.push_str(&format!("globalThis.META_TITLE = {};\n", js_string(value)))
            }
            _ => {}
        }
    }
    out.push_str(&load(fake_import, test_url));
    out
}

/// `body` run in `realm` by the helpers, awaited.
fn eval_async(realm: &str, body: &str) -> String {
    format!(
        "await shadowRealmEvalAsync({realm}, {});\n",
        js_string(body)
    )
}

/// A page script that reports what failed before any test could run.
fn page_script(body: &str) -> String {
    format!(
        "<script>\n(async () => {{\n{body}}})().catch(e => setup(() => {{ throw e; }}));\n</script>\n"
    )
}

/// The page script of `.any.shadowrealm-in-window.html`.
pub fn in_window(meta: &[(String, String)], test_url: &str) -> String {
    let mut body = String::from("const realm = new ShadowRealm();\n");
    body.push_str(&eval_async("realm", &harness(false)));
    body.push_str(
        "realm.evaluate(\"setShadowRealmGlobalProperties\")(location.search, fetchAdaptor);\n",
    );
    body.push_str(&eval_async("realm", &test(meta, test_url, false, false)));
    body.push_str("await fetch_tests_from_shadow_realm(realm);\ndone();\n");
    page_script(&body)
}

/// The page script of `.any.shadowrealm-in-shadowrealm.html`: the outer realm
/// holds the inner one in its global `inner`.
pub fn in_realm(meta: &[(String, String)], test_url: &str) -> String {
    let mut body = String::from("const outer = new ShadowRealm();\n");
    body.push_str("outer.evaluate(\"var inner = new ShadowRealm();\");\n");
    let ready = load(false, OUTER) + &eval_async("inner", &harness(false));
    body.push_str(&eval_async("outer", &ready));
    body.push_str(&format!(
        "outer.evaluate({})(location.search, fetchAdaptor);\n",
        js_string("inner.evaluate(\"setShadowRealmGlobalProperties\")")
    ));
    let run = eval_async("inner", &test(meta, test_url, false, false));
    body.push_str(&eval_async("outer", &run));
    body.push_str(&format!(
        "outer.evaluate({});\n",
        js_string(
            "function begin_shadow_realm_tests(report) {\n  \
             inner.evaluate(\"begin_shadow_realm_tests\")(report);\n}"
        )
    ));
    body.push_str("await fetch_tests_from_shadow_realm(outer);\ndone();\n");
    page_script(&body)
}

/// The page script of `.https.any.shadowrealm-in-audioworklet.html`, whose
/// worklet module is `module_url`.
pub fn in_audio_worklet(module_url: &str) -> String {
    let mut body = String::from("const context = new AudioContext();\n");
    for url in [OUTER, PROCESSOR, module_url] {
        body.push_str(&format!(
            "await context.audioWorklet.addModule({});\n",
            js_string(url)
        ));
    }
    body.push_str(
        "const node = new AudioWorkletNode(context, \"test-runner\");\n\
         setupFakeFetchOverMessagePort(node.port);\n\
         fetch_tests_from_worker(node.port);\n",
    );
    format!("<script>\n(async () => {{\n{body}}})();\n</script>\n")
}

/// `.any.worker-shadowrealm.js` (dedicated and shared workers) and
/// `.any.serviceworker-shadowrealm.js` (`fake_import`); `query` is the
/// script's own, `?` included, which the realm sees as `location.search`.
pub fn worker_script(
    fake_import: bool,
    meta: &[(String, String)],
    test_url: &str,
    query: &str,
) -> String {
    let mut body = String::from("const realm = new ShadowRealm();\n");
    if fake_import {
        body.push_str("setupFakeDynamicImportInShadowRealm(realm, fetchAdaptor);\n");
    }
    body.push_str(&eval_async("realm", &harness(fake_import)));
    body.push_str(&format!(
        "realm.evaluate(\"setShadowRealmGlobalProperties\")({}, fetchAdaptor);\n",
        js_string(query)
    ));
    body.push_str(&eval_async(
        "realm",
        &test(meta, test_url, fake_import, true),
    ));
    body.push_str(
        "realm.evaluate(\"begin_shadow_realm_tests\")(json => report(JSON.parse(json)));\n",
    );
    format!(
        "importScripts({});\n(async () => {{\n\
         const report = await getPostMessageFunc();\n\
         try {{\n{body}}} catch (e) {{\n\
         report(createSetupErrorResult(e));\n}}\n}})();\n",
        js_string(OUTER)
    )
}

/// `.any.audioworklet-shadowrealm.js`: the worklet module that gives the
/// helpers' `TestRunner` processor its realm; the realm's fetches go over the
/// node's port, its `location.search` is the module's query.
pub fn audio_worklet_script(meta: &[(String, String)], test_url: &str) -> String {
    let mut body = String::from(
        "const query = import.meta.url.split(\"?\")[1];\n\
         const search = query ? \"?\" + query : \"\";\n\
         const adaptor = this.fetchOverPortExecutor.bind(this);\n\
         const realm = new ShadowRealm();\n\
         setupFakeDynamicImportInShadowRealm(realm, adaptor);\n",
    );
    body.push_str(&eval_async("realm", &harness(true)));
    body.push_str("realm.evaluate(\"setShadowRealmGlobalProperties\")(search, adaptor);\n");
    body.push_str(&eval_async("realm", &test(meta, test_url, true, true)));
    body.push_str(
        "realm.evaluate(\"begin_shadow_realm_tests\")(\n  \
         json => this.port.postMessage(JSON.parse(json)));\n",
    );
    format!(
        "TestRunner.prototype.createShadowRealmAndStartTests = async function() {{\n\
         try {{\n{body}}} catch (e) {{\n\
         this.port.postMessage(createSetupErrorResult(e));\n}}\n}};\n"
    )
}

#[cfg(test)]
mod tests {
    use super::super::Wrapper;

    fn generate(path: &str, query: Option<&str>, source: &str) -> String {
        Wrapper::for_path(path)
            .unwrap_or_else(|| panic!("no wrapper for {path}"))
            .generate(path, query, source.as_bytes())
            .unwrap()
    }

    #[test]
    fn every_variant_needs_its_global() {
        let src = "// META: global=window\n";
        for path in [
            "/a.any.shadowrealm-in-window.html",
            "/a.any.shadowrealm-in-shadowrealm.html",
            "/a.any.shadowrealm-in-dedicatedworker.html",
            "/a.any.shadowrealm-in-sharedworker.html",
            "/a.https.any.shadowrealm-in-serviceworker.html",
            "/a.https.any.shadowrealm-in-audioworklet.html",
        ] {
            let w = Wrapper::for_path(path).unwrap();
            assert!(w.generate(path, None, src.as_bytes()).is_err(), "{path}");
            assert!(w
                .generate(path, None, b"// META: global=shadowrealm\n")
                .is_ok());
        }
    }

    #[test]
    fn the_secure_variants_name_their_source_without_https() {
        let w = Wrapper::for_path("/d/a.https.any.shadowrealm-in-serviceworker.html").unwrap();
        assert_eq!(
            w.source_path("/d/a.https.any.shadowrealm-in-serviceworker.html"),
            "/d/a.any.js"
        );
        let page = generate(
            "/d/a.https.any.shadowrealm-in-serviceworker.html",
            Some("q=1"),
            "// META: global=shadowrealm-in-serviceworker\n",
        );
        assert!(page.contains("register(\"/d/a.any.serviceworker-shadowrealm.js?q=1\""));
    }

    #[test]
    fn window_realm_loads_harness_scripts_and_test_in_order() {
        let page = generate(
            "/d/a.any.shadowrealm-in-window.html",
            None,
            "// META: global=shadowrealm\n// META: script=/x.js\n// META: title=T\n",
        );
        assert!(page.contains("<script src=\"/resources/testharness-shadowrealm-outer.js\">"));
        assert!(page.contains("<title>T</title>"));
        let inner = page.find("testharness-shadowrealm-inner.js").unwrap();
        let script = page.find("/x.js").unwrap();
        let test = page.find("/d/a.any.js").unwrap();
        assert!(inner < script && script < test);
        assert!(page.contains("await fetch_tests_from_shadow_realm(realm);"));
        // Nothing in the page ends its script element early.
        assert_eq!(page.matches("</script>").count(), 4);
    }

    #[test]
    fn nested_realm_code_is_quoted_twice() {
        let page = generate(
            "/a.any.shadowrealm-in-shadowrealm.html",
            None,
            "// META: global=shadowrealm\n",
        );
        assert!(page.contains(
            "await shadowRealmEvalAsync(outer, \"await shadowRealmEvalAsync(inner, \\\"await \
             import(\\\\\\\"/a.any.js\\\\\\\");\\\\n\\\");\\n\");"
        ));
    }

    #[test]
    fn worker_scripts_import_or_fetch_and_pass_their_query() {
        let dedicated = generate(
            "/a.any.worker-shadowrealm.js",
            Some("v=2"),
            "// META: title=T\n",
        );
        assert!(dedicated
            .starts_with("importScripts(\"/resources/testharness-shadowrealm-outer.js\");"));
        assert!(dedicated.contains("(\"?v=2\", fetchAdaptor)"));
        assert!(dedicated.contains("import(\\\"/a.any.js\\\")"));
        assert!(dedicated.contains("globalThis.META_TITLE = \\\"T\\\""));
        let service = generate("/a.any.serviceworker-shadowrealm.js", None, "");
        assert!(service.contains("setupFakeDynamicImportInShadowRealm(realm, fetchAdaptor);"));
        assert!(service.contains("fakeDynamicImport(\\\"/a.any.js\\\")"));
        assert!(!service.contains(" import("));
        let worklet = generate("/a.any.audioworklet-shadowrealm.js", None, "");
        assert!(worklet.starts_with("TestRunner.prototype.createShadowRealmAndStartTests"));
        assert!(worklet.contains("fakeDynamicImport(\\\"/a.any.js\\\")"));
    }
}
