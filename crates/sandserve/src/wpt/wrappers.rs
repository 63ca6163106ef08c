//! Test wrappers: the HTML page or worker script that runs a `.js` test,
//! generated from the source when it is asked for (`X.any.js` →
//! `X.any.html`, `X.any.worker.html`, `X.any.worker.js`…; `X.window.js` →
//! `X.window.html`; `X.worker.js` → `X.worker.html`; `X.extension.js` →
//! `X.extension.html`). Nothing is written into the tree, so an edit of the
//! source is live on the next request.

use std::fmt;

use super::meta;

mod realm;

/// How a wrapper runs its test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A window page that loads the test as a classic script, with
    /// `self.GLOBAL` set (`.any.html`).
    AnyWindow,
    /// The same, loading the test as a module (`.any.window-module.html`).
    AnyWindowModule,
    /// A window page without `self.GLOBAL` (`.window.html`).
    Window,
    /// A window page with the testdriver helpers (`.extension.html`).
    Extension,
    /// A page that runs the worker script in a dedicated worker.
    Dedicated { module: bool },
    /// …in a shared worker.
    Shared { module: bool },
    /// …in a service worker, registered afresh.
    Service { module: bool },
    /// The worker script itself: the harness, the META scripts, the test.
    WorkerScript { module: bool },
    /// A window page that runs the test in a ShadowRealm it creates.
    RealmInWindow,
    /// A window page that runs the test in a ShadowRealm created inside
    /// another ShadowRealm.
    RealmInRealm,
    /// A window page that runs the test in a ShadowRealm inside an
    /// AudioWorklet, the worklet module being the wrapper's script.
    RealmInAudioWorklet,
    /// A worker script that creates the ShadowRealm and reports its results
    /// to the page (`fake_import`: through the helpers' fetch-and-evaluate
    /// import, for service workers, where `import()` is not allowed).
    RealmWorkerScript { fake_import: bool },
    /// The AudioWorklet module that creates the ShadowRealm.
    RealmAudioWorkletScript,
}

/// A kind of wrapper, by the end of the path that asks for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wrapper {
    /// The end of a request path this wrapper answers.
    suffix: &'static str,
    /// What replaces it to name the source file.
    source: &'static str,
    /// What replaces it to name what the wrapper loads (the source, or the
    /// worker script that wraps it).
    loads: &'static str,
    /// The `global=` scope the source must expose, if any.
    global: Option<&'static str>,
    shape: Shape,
}

const fn w(
    suffix: &'static str,
    source: &'static str,
    loads: &'static str,
    global: Option<&'static str>,
    shape: Shape,
) -> Wrapper {
    Wrapper {
        suffix,
        source,
        loads,
        global,
        shape,
    }
}

/// Every wrapper, most specific suffix first (`X.any.worker.html` is an
/// `.any.` wrapper, not a `.worker.html` one).
pub const ALL: &[Wrapper] = &[
    w(
        ".any.html",
        ".any.js",
        ".any.js",
        Some("window"),
        Shape::AnyWindow,
    ),
    w(
        ".any.window-module.html",
        ".any.js",
        ".any.js",
        Some("window-module"),
        Shape::AnyWindowModule,
    ),
    w(
        ".any.worker.html",
        ".any.js",
        ".any.worker.js",
        Some("dedicatedworker"),
        Shape::Dedicated { module: false },
    ),
    w(
        ".any.worker-module.html",
        ".any.js",
        ".any.worker-module.js",
        Some("dedicatedworker-module"),
        Shape::Dedicated { module: true },
    ),
    w(
        ".any.sharedworker.html",
        ".any.js",
        ".any.worker.js",
        Some("sharedworker"),
        Shape::Shared { module: false },
    ),
    w(
        ".any.sharedworker-module.html",
        ".any.js",
        ".any.worker-module.js",
        Some("sharedworker-module"),
        Shape::Shared { module: true },
    ),
    w(
        ".any.serviceworker.html",
        ".any.js",
        ".any.worker.js",
        Some("serviceworker"),
        Shape::Service { module: false },
    ),
    w(
        ".any.serviceworker-module.html",
        ".any.js",
        ".any.worker-module.js",
        Some("serviceworker-module"),
        Shape::Service { module: true },
    ),
    w(
        ".any.worker.js",
        ".any.js",
        ".any.js",
        None,
        Shape::WorkerScript { module: false },
    ),
    w(
        ".any.worker-module.js",
        ".any.js",
        ".any.js",
        None,
        Shape::WorkerScript { module: true },
    ),
    w(
        ".any.shadowrealm-in-window.html",
        ".any.js",
        ".any.js",
        Some("shadowrealm-in-window"),
        Shape::RealmInWindow,
    ),
    w(
        ".any.shadowrealm-in-shadowrealm.html",
        ".any.js",
        ".any.js",
        Some("shadowrealm-in-shadowrealm"),
        Shape::RealmInRealm,
    ),
    w(
        ".any.shadowrealm-in-dedicatedworker.html",
        ".any.js",
        ".any.worker-shadowrealm.js",
        Some("shadowrealm-in-dedicatedworker"),
        Shape::Dedicated { module: false },
    ),
    w(
        ".any.shadowrealm-in-sharedworker.html",
        ".any.js",
        ".any.worker-shadowrealm.js",
        Some("shadowrealm-in-sharedworker"),
        Shape::Shared { module: false },
    ),
    // These two need a secure context, hence `.https.` in the name, which
    // the source's name does not have.
    w(
        ".https.any.shadowrealm-in-serviceworker.html",
        ".any.js",
        ".any.serviceworker-shadowrealm.js",
        Some("shadowrealm-in-serviceworker"),
        Shape::Service { module: false },
    ),
    w(
        ".https.any.shadowrealm-in-audioworklet.html",
        ".any.js",
        ".any.audioworklet-shadowrealm.js",
        Some("shadowrealm-in-audioworklet"),
        Shape::RealmInAudioWorklet,
    ),
    w(
        ".any.worker-shadowrealm.js",
        ".any.js",
        ".any.js",
        None,
        Shape::RealmWorkerScript { fake_import: false },
    ),
    w(
        ".any.serviceworker-shadowrealm.js",
        ".any.js",
        ".any.js",
        None,
        Shape::RealmWorkerScript { fake_import: true },
    ),
    w(
        ".any.audioworklet-shadowrealm.js",
        ".any.js",
        ".any.js",
        None,
        Shape::RealmAudioWorkletScript,
    ),
    w(
        ".window.html",
        ".window.js",
        ".window.js",
        None,
        Shape::Window,
    ),
    // As `wpt serve` does, a `.worker.js` test is held to the same exposure
    // rule as `.any.worker.html` (its default globals include it).
    w(
        ".worker.html",
        ".worker.js",
        ".worker.js",
        Some("dedicatedworker"),
        Shape::Dedicated { module: false },
    ),
    w(
        ".extension.html",
        ".extension.js",
        ".extension.js",
        None,
        Shape::Extension,
    ),
];

/// Why a wrapper is not served.
#[derive(Debug, PartialEq, Eq)]
pub enum WrapperError {
    /// The source's `global=` does not expose it in this scope.
    NotExposed {
        /// The scope.
        global: &'static str,
    },
}

impl fmt::Display for WrapperError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WrapperError::NotExposed { global } => {
                write!(f, "This test cannot be loaded in {global} mode")
            }
        }
    }
}

impl std::error::Error for WrapperError {}

impl Wrapper {
    /// The wrapper that answers `path`, if any.
    #[cfg(test)]
    pub fn for_path(path: &str) -> Option<Wrapper> {
        ALL.iter()
            .find(|w| path.len() > w.suffix.len() && path.ends_with(w.suffix))
            .copied()
    }

    /// The route pattern of this wrapper.
    pub fn pattern(&self) -> String {
        format!("*{}", self.suffix)
    }

    /// The URL path of the source file, for the request path `path`.
    pub fn source_path(&self, path: &str) -> String {
        replace_end(path, self.suffix, self.source)
    }

    /// The URL path the wrapper loads, for the request path `path`.
    pub fn loads_path(&self, path: &str) -> String {
        replace_end(path, self.suffix, self.loads)
    }

    /// The content type of what it generates.
    pub fn content_type(&self) -> &'static str {
        match self.shape {
            Shape::WorkerScript { .. }
            | Shape::RealmWorkerScript { .. }
            | Shape::RealmAudioWorkletScript => "text/javascript",
            _ => "text/html",
        }
    }

    /// The wrapper for the request path `path` (query `query`, without its
    /// `?`) whose source is `source`.
    pub fn generate(
        &self,
        path: &str,
        query: Option<&str>,
        source: &[u8],
    ) -> Result<String, WrapperError> {
        let meta = meta::read(source);
        if let Some(global) = self.global {
            if !meta::variants(meta::globals(&meta)).contains(global) {
                return Err(WrapperError::NotExposed { global });
            }
        }
        let loads = self.loads_path(path);
        let query = match query {
            Some(q) if !q.is_empty() => format!("?{q}"),
            _ => String::new(),
        };
        Ok(match self.shape {
            Shape::WorkerScript { module } => worker_script(module, &meta, &loads),
            Shape::RealmWorkerScript { fake_import } => {
                realm::worker_script(fake_import, &meta, &loads, &query)
            }
            Shape::RealmAudioWorkletScript => realm::audio_worklet_script(&meta, &loads),
            shape => page(shape, &meta, &format!("{loads}{query}"), &loads),
        })
    }
}

fn replace_end(path: &str, end: &str, with: &str) -> String {
    let stem = path.strip_suffix(end).unwrap_or(path);
    format!("{stem}{with}")
}

/// `self.GLOBAL`, as tests that run in several scopes read it.
fn global(window: bool) -> String {
    format!(
        "self.GLOBAL = {{\n  isWindow: function() {{ return {window}; }},\n  \
         isWorker: function() {{ return {}; }},\n  \
         isShadowRealm: function() {{ return false; }},\n}};\n",
        !window
    )
}

fn page(shape: Shape, meta: &[(String, String)], worker_url: &str, test_url: &str) -> String {
    let mut out = String::from("<!doctype html>\n<meta charset=utf-8>\n");
    for (key, value) in meta {
        match key.as_str() {
            "timeout" if value == "long" => {
                out.push_str("<meta name=\"timeout\" content=\"long\">\n")
            }
            "title" => {
                out.push_str("<title>");
                out.push_str(&value.replace('&', "&amp;").replace('<', "&lt;"));
                out.push_str("</title>\n");
            }
            _ => {}
        }
    }
    if matches!(shape, Shape::AnyWindow | Shape::AnyWindowModule) {
        out.push_str("<script>\n");
        out.push_str(&global(true));
        out.push_str("</script>\n");
    }
    out.push_str("<script src=\"/resources/testharness.js\"></script>\n");
    out.push_str("<script src=\"/resources/testharnessreport.js\"></script>\n");
    if matches!(
        shape,
        Shape::RealmInWindow | Shape::RealmInRealm | Shape::RealmInAudioWorklet
    ) {
        out.push_str(&format!("<script src=\"{}\"></script>\n", realm::OUTER));
    }
    if shape == Shape::Extension {
        out.push_str("<script src=\"/resources/testdriver.js\"></script>\n");
        out.push_str("<script src=\"/resources/testdriver-vendor.js\"></script>\n");
    }
    let in_page = matches!(
        shape,
        Shape::AnyWindow | Shape::AnyWindowModule | Shape::Window | Shape::Extension
    );
    if in_page {
        for (key, value) in meta {
            if key == "script" {
                out.push_str(&format!("<script src=\"{}\"></script>\n", attr(value)));
            }
        }
    }
    out.push_str("<div id=log></div>\n");
    let url = js_string(worker_url);
    match shape {
        Shape::AnyWindow | Shape::Window | Shape::Extension => {
            out.push_str(&format!("<script src=\"{}\"></script>\n", attr(test_url)));
        }
        Shape::AnyWindowModule => {
            out.push_str(&format!(
                "<script type=module src=\"{}\"></script>\n",
                attr(test_url)
            ));
        }
        Shape::Dedicated { module } => out.push_str(&format!(
            "<script>\nfetch_tests_from_worker(new Worker({url}{}));\n</script>\n",
            if module { ", {type: \"module\"}" } else { "" }
        )),
        Shape::Shared { module } => out.push_str(&format!(
            "<script>\nfetch_tests_from_worker(new SharedWorker({url}{}));\n</script>\n",
            if module { ", {type: \"module\"}" } else { "" }
        )),
        Shape::Service { module } => out.push_str(&format!(
            "<script>\n(async () => {{\n  const scope = \"does/not/exist\";\n  \
             const old = await navigator.serviceWorker.getRegistration(scope);\n  \
             if (old) await old.unregister();\n  \
             const registration = await navigator.serviceWorker.register({url}, \
             {{scope{}}});\n  \
             fetch_tests_from_worker(registration.installing);\n}})();\n</script>\n",
            if module { ", type: \"module\"" } else { "" }
        )),
        Shape::RealmInWindow => out.push_str(&realm::in_window(meta, test_url)),
        Shape::RealmInRealm => out.push_str(&realm::in_realm(meta, test_url)),
        Shape::RealmInAudioWorklet => out.push_str(&realm::in_audio_worklet(worker_url)),
        Shape::WorkerScript { .. }
        | Shape::RealmWorkerScript { .. }
        | Shape::RealmAudioWorkletScript => unreachable!("scripts are not pages"),
    }
    out
}

fn worker_script(module: bool, meta: &[(String, String)], test_url: &str) -> String {
    let load = |url: &str| {
        if module {
            format!("import {};\n", js_string(url))
        } else {
            format!("importScripts({});\n", js_string(url))
        }
    };
    let mut out = global(false);
    out.push_str(&load("/resources/testharness.js"));
    for (key, value) in meta {
        match key.as_str() {
            "script" => out.push_str(&load(value)),
            "title" => out.push_str(&format!("self.META_TITLE = {};\n", js_string(value))),
            _ => {}
        }
    }
    out.push_str(&load(test_url));
    out.push_str("done();\n");
    out
}

/// `s` for a double-quoted HTML attribute.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

/// `s` as a double-quoted JavaScript string that cannot end the script
/// element it is in.
fn js_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\x3c"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_pick_the_most_specific_wrapper() {
        let any_worker = Wrapper::for_path("/a/b.any.worker.html").unwrap();
        assert_eq!(
            any_worker.source_path("/a/b.any.worker.html"),
            "/a/b.any.js"
        );
        assert_eq!(
            any_worker.loads_path("/a/b.any.worker.html"),
            "/a/b.any.worker.js"
        );
        let plain = Wrapper::for_path("/a/b.worker.html").unwrap();
        assert_eq!(plain.source_path("/a/b.worker.html"), "/a/b.worker.js");
        assert!(Wrapper::for_path("/a/b.html").is_none());
        assert!(Wrapper::for_path("/a/b.worker.js").is_none());
        assert!(Wrapper::for_path(".any.html").is_none());
    }

    #[test]
    fn exposure_follows_global() {
        let src = b"// META: global=window\n";
        let shared = Wrapper::for_path("/x.any.sharedworker.html").unwrap();
        assert_eq!(
            shared.generate("/x.any.sharedworker.html", None, src),
            Err(WrapperError::NotExposed {
                global: "sharedworker"
            })
        );
        let window = Wrapper::for_path("/x.any.html").unwrap();
        assert!(window.generate("/x.any.html", None, src).is_ok());
        // Worker scripts are never refused.
        let script = Wrapper::for_path("/x.any.worker.js").unwrap();
        assert!(script.generate("/x.any.worker.js", None, src).is_ok());
    }

    #[test]
    fn meta_shapes_the_page() {
        let src = b"// META: title=a < b & c\n// META: script=/s.js?a=1&b=\"2\"\n\
                    // META: timeout=long\ntest(() => {});\n";
        let page = Wrapper::for_path("/d/t.any.html")
            .unwrap()
            .generate("/d/t.any.html", Some("x=1"), src)
            .unwrap();
        assert!(page.contains("<title>a &lt; b &amp; c</title>"));
        assert!(page.contains("<meta name=\"timeout\" content=\"long\">"));
        assert!(page.contains("<script src=\"/s.js?a=1&amp;b=&quot;2&quot;\"></script>"));
        assert!(page.contains("<script src=\"/d/t.any.js\"></script>"));
        assert!(page.contains("isWindow: function() { return true; }"));
        let worker = Wrapper::for_path("/d/t.any.worker.html")
            .unwrap()
            .generate("/d/t.any.worker.html", Some("x=1"), src)
            .unwrap();
        assert!(worker.contains("new Worker(\"/d/t.any.worker.js?x=1\")"));
        assert!(!worker.contains("/s.js"));
        let script = Wrapper::for_path("/d/t.any.worker-module.js")
            .unwrap()
            .generate("/d/t.any.worker-module.js", None, src)
            .unwrap();
        assert!(script.contains("import \"/s.js?a=1&b=\\\"2\\\"\";"));
        assert!(script.contains("self.META_TITLE = \"a \\x3c b & c\";"));
        assert!(script.ends_with("import \"/d/t.any.js\";\ndone();\n"));
    }
}
