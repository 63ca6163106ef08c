//! Template substitution: `{{host}}`, `{{domains[www]}}`, `{{GET[token]}}`,
//! `{{$id:uuid()}}` … in `.sub.` files, `.sub.headers` files and the `sub`
//! pipe.
//!
//! A block is `{{`, then anything without a `}`, then `}}` (it may span
//! lines); text without such a block is left alone. Any failure (an unknown
//! name, a missing key, a value that is not text) fails the whole response.

pub mod template;

use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use base64::Engine;

use crate::http::parse::find;
use crate::http::Request;
use crate::mounts::{Mounts, RootDir};
use crate::text::html_escape;
use crate::topology::Topology;
use template::Token;

/// How substituted values are escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// `& < > " '` become character references.
    Html,
    /// Values are inserted as they are.
    None,
}

impl Escape {
    /// The escaping the `.sub.` file-name flag implies for a file name.
    pub fn for_file_name(name: &str) -> Escape {
        let ext = name.rsplit('.').next().unwrap_or_default();
        match ext {
            "html" | "htm" | "xht" | "xhtml" | "xml" | "svg" => Escape::Html,
            _ => Escape::None,
        }
    }
}

/// What a substitution may read: the request, the server's names and ports,
/// the mounts (for `doc_root`), and where the file being served is.
pub struct SubContext<'a> {
    /// The request being answered.
    pub request: &'a Request,
    /// Host names and ports.
    pub topology: &'a Topology,
    /// The document root and aliases.
    pub mounts: &'a Mounts,
    /// The file being served, for `fs_path` relative to it.
    pub file: Option<&'a Path>,
    /// The root directory of the mount being served.
    pub root: &'a Path,
    /// That directory, open: files are read beneath it.
    pub dir: &'a RootDir,
    /// The URL prefix of that mount.
    pub url_base: &'a str,
}

/// A substitution that failed: the expression and why.
#[derive(Debug)]
pub struct SubError {
    /// The text inside the braces.
    pub expr: String,
    /// What went wrong.
    pub kind: SubErrorKind,
}

/// Why an expression could not be evaluated.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubErrorKind {
    /// The expression does not start with a name.
    ExpectedName,
    /// The name is not one substitution knows.
    UnknownName(String),
    /// `$name` used before it was assigned.
    VariableNotSet(String),
    /// `domains[x]`, `hosts[h][x]`: no such subdomain.
    NoSubdomain(String),
    /// `hosts[x]`: no such host.
    NoHost(String),
    /// `ports[x]`: no ports for that scheme.
    NoPorts(String),
    /// `ports[s][i]`: no port at that index.
    NoPort {
        /// The scheme.
        scheme: String,
        /// The index asked for.
        index: String,
    },
    /// `location[x]`: not a part of a URL.
    NoLocationPart(String),
    /// `headers[x]`: the request has no such header.
    NoHeader(String),
    /// `alternate_hosts[x]`: not configured.
    NoAlternateHost(String),
    /// `[x]` after something that cannot be indexed.
    CannotIndex(String),
    /// `(…)` after something that is not a function.
    NotCallable,
    /// A name where an index or arguments should be.
    UnexpectedName,
    /// The expression ends on something that is not a single value.
    NotAValue,
    /// A function called with the wrong number of arguments.
    Arity {
        /// The function.
        function: &'static str,
        /// Arguments it takes.
        takes: usize,
        /// Arguments given.
        given: usize,
    },
    /// `file_hash` with an algorithm it does not know.
    UnknownHash(String),
    /// A path that leads outside the document root.
    OutsideRoot(String),
    /// A file that could not be read.
    Unreadable {
        /// The path as written in the template.
        path: String,
        /// The system's answer.
        source: std::io::Error,
    },
}

impl fmt::Display for SubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SubErrorKind::*;
        write!(f, "substitution failed: {{{{{}}}}}: ", self.expr)?;
        match &self.kind {
            ExpectedName => write!(f, "expected a name"),
            UnknownName(n) => write!(f, "unknown name {n:?}"),
            VariableNotSet(n) => write!(f, "variable {n} is not set"),
            NoSubdomain(s) => write!(f, "no subdomain {s:?}"),
            NoHost(h) => write!(f, "no host {h:?}"),
            NoPorts(s) => write!(f, "no {s:?} ports"),
            NoPort { scheme, index } => write!(f, "no {scheme} port {index:?}"),
            NoLocationPart(k) => write!(f, "location has no {k:?}"),
            NoHeader(h) => write!(f, "no request header {h:?}"),
            NoAlternateHost(k) => write!(f, "no alternate host {k:?}"),
            CannotIndex(k) => write!(f, "cannot index with [{k}]"),
            NotCallable => write!(f, "only a function can be called"),
            UnexpectedName => write!(f, "unexpected name"),
            NotAValue => write!(f, "not a single value"),
            Arity {
                function,
                takes,
                given,
            } => write!(f, "{function} takes {takes} arguments, not {given}"),
            UnknownHash(a) => write!(f, "unknown hash algorithm {a:?}"),
            OutsideRoot(p) => write!(f, "{p:?} is outside the document root"),
            Unreadable { path, source } => write!(f, "{path}: {}", io_reason(source)),
        }
    }
}

impl std::error::Error for SubError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            SubErrorKind::Unreadable { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// An I/O error in words that name no server path.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.kind().to_string(),
    }
}

/// Substitutes every `{{…}}` block of `input`.
pub fn substitute(input: &[u8], ctx: &SubContext, escape: Escape) -> Result<Vec<u8>, SubError> {
    let mut out = Vec::with_capacity(input.len());
    let mut variables: HashMap<String, String> = HashMap::new();
    let mut i = 0;
    while i < input.len() {
        let Some(open) = find(&input[i..], b"{{").map(|p| p + i) else {
            break;
        };
        let inner_end = memchr::memchr(b'}', &input[open + 2..]).map(|p| p + open + 2);
        match inner_end {
            Some(end) if input.get(end + 1) == Some(&b'}') => {
                out.extend_from_slice(&input[i..open]);
                let expr = String::from_utf8_lossy(&input[open + 2..end]);
                let value = evaluate(&expr, ctx, &mut variables).map_err(|kind| SubError {
                    expr: expr.clone().into_owned(),
                    kind,
                })?;
                let value = match escape {
                    Escape::Html => html_escape(&value),
                    Escape::None => value,
                };
                out.extend_from_slice(value.as_bytes());
                i = end + 2;
            }
            _ => {
                // Not a block here: keep the first brace and look again after it.
                out.extend_from_slice(&input[i..open + 1]);
                i = open + 1;
            }
        }
    }
    out.extend_from_slice(&input[i..]);
    Ok(out)
}

/// What an expression has resolved to so far.
enum Node {
    Text(String),
    Domains(String),
    Hosts,
    Ports,
    PortList(String),
    Location,
    Get,
    Headers,
    Alternates,
    Function(&'static str),
}

fn evaluate(
    expr: &str,
    ctx: &SubContext,
    variables: &mut HashMap<String, String>,
) -> Result<String, SubErrorKind> {
    use SubErrorKind::*;
    let topology = ctx.topology;
    let mut tokens = template::tokenize(expr).into_iter().peekable();
    let assign = match tokens.peek() {
        Some(Token::Assign(name)) => {
            let name = name.clone();
            tokens.next();
            Some(name)
        }
        _ => None,
    };
    let Some(Token::Name(name)) = tokens.next() else {
        return Err(ExpectedName);
    };
    let mut node = if let Some(value) = variables.get(&name) {
        Node::Text(value.clone())
    } else {
        match name.as_str() {
            "host" | "browser_host" => Node::Text(topology.browser_host().to_string()),
            "server_host" => Node::Text(topology.server_host().to_string()),
            "domains" => Node::Domains(String::new()),
            "hosts" => Node::Hosts,
            "ports" => Node::Ports,
            "location" => Node::Location,
            "GET" => Node::Get,
            "headers" => Node::Headers,
            "alternate_hosts" => Node::Alternates,
            "url_base" => Node::Text(ctx.url_base.to_string()),
            "doc_root" => Node::Text(ctx.mounts.doc_root().display().to_string()),
            "uuid" => Node::Function("uuid"),
            "header_or_default" => Node::Function("header_or_default"),
            "file_hash" => Node::Function("file_hash"),
            "fs_path" => Node::Function("fs_path"),
            other if other.starts_with('$') => return Err(VariableNotSet(other.to_string())),
            other => return Err(UnknownName(other.to_string())),
        }
    };
    for token in tokens {
        node = match (node, token) {
            (Node::Domains(host), Token::Index(sub)) => Node::Text(
                topology
                    .domain(&host, &sub)
                    .ok_or(NoSubdomain(sub.clone()))?
                    .to_string(),
            ),
            (Node::Hosts, Token::Index(key)) => {
                if !topology.has_host(&key) {
                    return Err(NoHost(key));
                }
                Node::Domains(key)
            }
            (Node::Ports, Token::Index(scheme)) => {
                if topology.ports(&scheme).is_none() {
                    return Err(NoPorts(scheme));
                }
                Node::PortList(scheme)
            }
            (Node::PortList(scheme), Token::Index(index)) => {
                let port = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| topology.ports(&scheme)?.get(i).copied());
                match port {
                    Some(port) => Node::Text(port.to_string()),
                    None => return Err(NoPort { scheme, index }),
                }
            }
            (Node::Location, Token::Index(key)) => {
                Node::Text(location(ctx.request, &key).ok_or(NoLocationPart(key.clone()))?)
            }
            (Node::Get, Token::Index(key)) => Node::Text(
                ctx.request
                    .query_params()
                    .first(key.as_bytes())
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default(),
            ),
            (Node::Headers, Token::Index(key)) => Node::Text(
                ctx.request
                    .headers
                    .get(key.as_bytes())
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .ok_or(NoHeader(key.clone()))?,
            ),
            (Node::Alternates, Token::Index(key)) => Node::Text(
                topology
                    .alternate_host(&key)
                    .ok_or(NoAlternateHost(key.clone()))?
                    .to_string(),
            ),
            (Node::Function(f), Token::Args(args)) => Node::Text(call(f, &args, ctx)?),
            (_, Token::Index(key)) => return Err(CannotIndex(key)),
            (_, Token::Args(_)) => return Err(NotCallable),
            (_, Token::Assign(_) | Token::Name(_)) => return Err(UnexpectedName),
        };
    }
    let Node::Text(value) = node else {
        return Err(NotAValue);
    };
    if let Some(var) = assign {
        variables.insert(var, value.clone());
    }
    Ok(value)
}

fn location(request: &Request, key: &str) -> Option<String> {
    let scheme = request.peer.scheme.as_str();
    let host = request.host();
    let (hostname, port) = split_host_port(&host, scheme);
    Some(match key {
        "server" => format!("{scheme}://{hostname}:{port}"),
        "scheme" => scheme.to_string(),
        "host" => format!("{hostname}:{port}"),
        "hostname" => hostname,
        "port" => port.to_string(),
        "path" | "pathname" => request.path.clone(),
        "query" => request
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default(),
        _ => return None,
    })
}

fn split_host_port(host: &str, scheme: &str) -> (String, u16) {
    let default = if scheme == "https" { 443 } else { 80 };
    // [v6]:port, name:port, or a bare name.
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
            return (format!("[{addr}]"), port.unwrap_or(default));
        }
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() => {
            (name.to_string(), port.parse().unwrap_or(default))
        }
        _ => (host.to_string(), default),
    }
}

fn call(f: &'static str, args: &[String], ctx: &SubContext) -> Result<String, SubErrorKind> {
    let arity = |takes: usize| {
        if args.len() == takes {
            Ok(())
        } else {
            Err(SubErrorKind::Arity {
                function: f,
                takes,
                given: args.len(),
            })
        }
    };
    match f {
        "uuid" => {
            arity(0)?;
            Ok(uuid::Uuid::new_v4().to_string())
        }
        "header_or_default" => {
            arity(2)?;
            Ok(ctx
                .request
                .headers
                .get(args[0].as_bytes())
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_else(|| args[1].clone()))
        }
        "file_hash" => {
            arity(2)?;
            let algorithm = Digest::named(&args[0])?;
            let path = contained(ctx.root, ctx.root, &args[1])?;
            let rel = path.strip_prefix(ctx.root).unwrap_or(&path);
            let unreadable = |source| SubErrorKind::Unreadable {
                path: args[1].clone(),
                source,
            };
            let data = ctx
                .dir
                .read(rel)
                .map_err(unreadable)?
                .ok_or_else(|| unreadable(std::io::ErrorKind::NotFound.into()))?;
            Ok(base64::engine::general_purpose::STANDARD.encode(algorithm.digest(&data)))
        }
        "fs_path" => {
            arity(1)?;
            let base = ctx.file.and_then(Path::parent).unwrap_or(ctx.root);
            Ok(contained(ctx.root, base, &args[0])?.display().to_string())
        }
        other => Err(SubErrorKind::UnknownName(other.to_string())),
    }
}

/// The algorithms `file_hash` knows.
#[derive(Clone, Copy)]
enum Digest {
    Md5,
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Digest {
    fn named(name: &str) -> Result<Digest, SubErrorKind> {
        Ok(match name {
            "md5" => Digest::Md5,
            "sha1" => Digest::Sha1,
            "sha224" => Digest::Sha224,
            "sha256" => Digest::Sha256,
            "sha384" => Digest::Sha384,
            "sha512" => Digest::Sha512,
            other => return Err(SubErrorKind::UnknownHash(other.to_string())),
        })
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            Digest::Md5 => md5::Md5::digest(data).to_vec(),
            Digest::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Digest::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Digest::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Digest::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Digest::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// `path` made absolute (`/x` from the root, `x` from `base`) and normalised;
/// an error if it leaves the root.
fn contained(root: &Path, base: &Path, path: &str) -> Result<PathBuf, SubErrorKind> {
    let joined = match path.strip_prefix('/') {
        Some(rel) => root.join(rel),
        None => base.join(path),
    };
    let mut normal = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    if normal.starts_with(root) {
        Ok(normal)
    } else {
        Err(SubErrorKind::OutsideRoot(path.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::topology::HostNames;

    fn request(target: &str, headers: &[(&str, &str)]) -> Request {
        crate::http::testing::request("GET", target, headers)
    }

    /// Names, ports and a document root holding `data.txt`.
    struct World {
        dir: tempfile::TempDir,
        topology: Topology,
        mounts: Mounts,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("data.txt"), "hello").unwrap();
        let names = HostNames {
            browser_host: "web-platform.test".into(),
            server_host: "web-platform.test".into(),
            alternate_hosts: [("alt".to_string(), "not-web-platform.test".to_string())].into(),
            subdomains: vec!["www".into(), "élève".into()],
            not_subdomains: vec![],
        };
        let ports = BTreeMap::from([
            ("http".to_string(), vec![8000, 8001]),
            ("https".to_string(), vec![8443]),
        ]);
        let topology = Topology::new(names, ports).unwrap();
        let mounts = Mounts::new(dir.path(), &[]).unwrap();
        World {
            dir,
            topology,
            mounts,
        }
    }

    fn sub_with(w: &World, request: &Request, file: &str, text: &str) -> Result<String, SubError> {
        let root = w.mounts.doc_root();
        let file = root.join(file);
        let ctx = SubContext {
            request,
            topology: &w.topology,
            mounts: &w.mounts,
            file: Some(&file),
            root,
            dir: w.mounts.doc_root_dir(),
            url_base: "/",
        };
        substitute(text.as_bytes(), &ctx, Escape::None).map(|v| String::from_utf8(v).unwrap())
    }

    fn sub(text: &str) -> Result<String, SubError> {
        let w = world();
        let r = request(
            "/sub/page.html?token=a%26b&empty=",
            &[("Host", "web-platform.test:8001"), ("X-A", "<1>")],
        );
        sub_with(&w, &r, "sub/page.html", text)
    }

    #[test]
    fn every_name_resolves() {
        for (template, want) in [
            ("{{host}}", "web-platform.test"),
            ("{{domains[www]}}", "www.web-platform.test"),
            ("{{domains[élève]}}", "xn--lve-6lad.web-platform.test"),
            ("{{domains[]}}", "web-platform.test"),
            ("{{hosts[alt][www]}}", "www.not-web-platform.test"),
            ("{{hosts[][]}}", "web-platform.test"),
            ("{{ports[http][1]}}", "8001"),
            ("{{ports[https][0]}}", "8443"),
            ("{{location[server]}}", "http://web-platform.test:8001"),
            ("{{location[host]}}", "web-platform.test:8001"),
            ("{{location[hostname]}}", "web-platform.test"),
            ("{{location[port]}}", "8001"),
            ("{{location[scheme]}}", "http"),
            ("{{location[path]}}", "/sub/page.html"),
            ("{{location[query]}}", "?token=a%26b&empty="),
            ("{{GET[token]}}", "a&b"),
            ("{{GET[missing]}}", ""),
            ("{{headers[x-a]}}", "<1>"),
            ("{{header_or_default(X-B, none here)}}", "none here"),
            ("{{alternate_hosts[alt]}}", "not-web-platform.test"),
            ("{{url_base}}", "/"),
            ("{{browser_host}}", "web-platform.test"),
            ("{{server_host}}", "web-platform.test"),
            // base64 of the MD5 of "hello".
            ("{{file_hash(md5, /data.txt)}}", "XUFAKrxLKna5cZ2REBfFkg=="),
            (
                "a {{$x:host}} b {{$x}} c",
                "a web-platform.test b web-platform.test c",
            ),
            ("{not} }} {{x} {{", "{not} }} {{x} {{"),
        ] {
            assert_eq!(sub(template).unwrap(), want, "{template}");
        }
        let id = sub("{{uuid()}}").unwrap();
        assert_eq!(id.len(), 36);
        assert_ne!(id, sub("{{uuid()}}").unwrap());
    }

    #[test]
    fn fs_path_is_relative_to_the_file_and_contained() {
        let w = world();
        let root = w.mounts.doc_root().to_path_buf();
        let r = request("/sub/page.html", &[]);
        let path = sub_with(&w, &r, "sub/page.html", "{{fs_path(x.js)}}").unwrap();
        assert_eq!(Path::new(&path), root.join("sub/x.js"));
        let path = sub_with(&w, &r, "top.html", "{{fs_path(x.js)}}").unwrap();
        assert_eq!(Path::new(&path), root.join("x.js"), "right at the top too");
        let path = sub_with(&w, &r, "sub/page.html", "{{fs_path(/data.txt)}}").unwrap();
        assert_eq!(Path::new(&path), root.join("data.txt"));
        let err = sub_with(&w, &r, "sub/page.html", "{{fs_path(../../etc/passwd)}}").unwrap_err();
        assert!(matches!(err.kind, SubErrorKind::OutsideRoot(_)), "{err}");
        drop(w.dir);
    }

    #[test]
    fn html_escaping_applies_to_values_only() {
        let w = world();
        let r = request("/", &[("X-A", "<&\"'>")]);
        let ctx = SubContext {
            request: &r,
            topology: &w.topology,
            mounts: &w.mounts,
            file: None,
            root: w.mounts.doc_root(),
            dir: w.mounts.doc_root_dir(),
            url_base: "/",
        };
        let out = substitute(b"<p>{{headers[x-a]}}</p>", &ctx, Escape::Html).unwrap();
        assert_eq!(out, b"<p>&lt;&amp;&quot;&#x27;&gt;</p>");
    }

    #[test]
    fn failures_name_the_expression() {
        for (template, needle) in [
            ("{{nope}}", "unknown name \"nope\""),
            ("{{$unset}}", "variable $unset is not set"),
            ("{{domains[www9]}}", "no subdomain \"www9\""),
            ("{{hosts[zzz][www]}}", "no host \"zzz\""),
            ("{{ports[ws][0]}}", "no \"ws\" ports"),
            ("{{ports[http][5]}}", "no http port \"5\""),
            ("{{location[fragment]}}", "location has no \"fragment\""),
            ("{{headers[x-missing]}}", "no request header \"x-missing\""),
            ("{{host[0]}}", "cannot index with [0]"),
            ("{{host()}}", "only a function can be called"),
            ("{{ports}}", "not a single value"),
            ("{{uuid(1)}}", "uuid takes 0 arguments, not 1"),
            (
                "{{file_hash(crc32, /data.txt)}}",
                "unknown hash algorithm \"crc32\"",
            ),
            ("{{file_hash(md5, /nothing)}}", "/nothing: no such file"),
            ("{{file_hash(md5, /../x)}}", "outside the document root"),
        ] {
            let err = sub(template).unwrap_err().to_string();
            assert!(err.contains(needle), "{template}: {err}");
            assert!(err.contains(template), "{template}: {err}");
        }
    }
}
