//! `// META: key=value` lines at the top of a test's `.js` source, and the
//! `global=` variants they expose it in.

use std::collections::BTreeSet;

/// The `(key, value)` pairs of the leading `// META:` lines of `source`,
/// in order; reading stops at the first line that is not one. A line is
/// `//`, optional blanks, `META:`, optional blanks, a key of word
/// characters, `=`, and the value (the rest of the line, without its `\n`).
pub fn read(source: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in source.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        match parse_line(line) {
            Some(pair) => out.push(pair),
            None => break,
        }
    }
    out
}

fn parse_line(line: &[u8]) -> Option<(String, String)> {
    let rest = line.strip_prefix(b"//")?;
    let rest = skip_blanks(rest).strip_prefix(b"META:")?;
    let rest = skip_blanks(rest);
    let key_len = rest
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
        .count();
    let (key, rest) = rest.split_at(key_len);
    let value = rest.strip_prefix(b"=")?;
    Some((
        String::from_utf8_lossy(key).into_owned(),
        String::from_utf8_lossy(value).into_owned(),
    ))
}

fn skip_blanks(s: &[u8]) -> &[u8] {
    let n = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    &s[n..]
}

/// The first `global=` value of `meta`, or `""`.
pub fn globals(meta: &[(String, String)]) -> &str {
    meta.iter()
        .find(|(k, _)| k == "global")
        .map_or("", |(_, v)| v.as_str())
}

/// The scopes a comma-separated `global=` value exposes a test in. Empty:
/// `window` and `dedicatedworker`. `worker` stands for the dedicated,
/// shared and service workers; `worker-module` for their module forms;
/// `shadowrealm` for every `shadowrealm-in-*` scope. Unknown names expose
/// nothing.
pub fn variants(globals: &str) -> BTreeSet<&'static str> {
    if globals.is_empty() {
        return BTreeSet::from(["window", "dedicatedworker"]);
    }
    let mut out = BTreeSet::new();
    for item in globals.split(',') {
        out.extend(expand(item.trim()));
    }
    out
}

fn expand(item: &str) -> &'static [&'static str] {
    match item {
        "window" => &["window"],
        "window-module" => &["window-module"],
        "dedicatedworker" => &["dedicatedworker"],
        "dedicatedworker-module" => &["dedicatedworker-module"],
        "sharedworker" => &["sharedworker"],
        "sharedworker-module" => &["sharedworker-module"],
        "serviceworker" => &["serviceworker"],
        "serviceworker-module" => &["serviceworker-module"],
        "worker" => &["dedicatedworker", "sharedworker", "serviceworker"],
        "worker-module" => &[
            "dedicatedworker-module",
            "sharedworker-module",
            "serviceworker-module",
        ],
        "shadowrealm" => &[
            "shadowrealm-in-window",
            "shadowrealm-in-shadowrealm",
            "shadowrealm-in-dedicatedworker",
            "shadowrealm-in-sharedworker",
            "shadowrealm-in-serviceworker",
            "shadowrealm-in-audioworklet",
        ],
        "shadowrealm-in-window" => &["shadowrealm-in-window"],
        "shadowrealm-in-shadowrealm" => &["shadowrealm-in-shadowrealm"],
        "shadowrealm-in-dedicatedworker" => &["shadowrealm-in-dedicatedworker"],
        "shadowrealm-in-sharedworker" => &["shadowrealm-in-sharedworker"],
        "shadowrealm-in-serviceworker" => &["shadowrealm-in-serviceworker"],
        "shadowrealm-in-audioworklet" => &["shadowrealm-in-audioworklet"],
        "jsshell" => &["jsshell"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_meta_lines_only() {
        let src = b"// META: title=A & <b>\n//META:script=/x.js\n// META: timeout=long\r\n\
                    'use strict';\n// META: script=/late.js\n";
        assert_eq!(
            read(src),
            vec![
                ("title".into(), "A & <b>".into()),
                ("script".into(), "/x.js".into()),
                ("timeout".into(), "long\r".into()),
            ]
        );
        assert!(read(b"\n// META: title=x\n").is_empty());
        assert!(read(b"// META: no equals sign\n").is_empty());
        assert_eq!(read(b"// META: k=").len(), 1);
    }

    #[test]
    fn globals_expand() {
        assert_eq!(variants(""), BTreeSet::from(["window", "dedicatedworker"]));
        assert_eq!(
            variants("window, worker"),
            BTreeSet::from(["window", "dedicatedworker", "sharedworker", "serviceworker"])
        );
        assert!(variants("jsshell").contains("jsshell"));
        assert!(variants("nonsense").is_empty());
        assert_eq!(variants("shadowrealm").len(), 6);
        let meta = read(b"// META: global=sharedworker\n// META: global=window\n");
        assert_eq!(globals(&meta), "sharedworker");
    }
}
