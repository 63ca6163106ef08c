//! Template substitution: `{{host}}`, `{{domains[www]}}`, `{{GET[token]}}`,
//! `{{$id:uuid()}}` … in `.sub.` files, `.sub.headers` files and the `sub`
//! pipe.
//!
//! A block is `{{`, then anything without a `}`, then `}}` (it may span
//! lines); text without such a block is left alone. Any failure (an unknown
//! name, a missing key, a value that is not text) fails the whole response.

pub mod template;

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use base64::Engine;

use crate::files::listing::escape as html_escape;
use crate::http::parse::find;
use crate::http::Request;
use crate::server::Site;
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

/// What a substitution may read.
pub struct SubContext<'a> {
    /// The request being answered.
    pub request: &'a Request,
    /// The site: configuration, hosts, ports.
    pub site: &'a Site,
    /// The file being served, for `fs_path` relative to it.
    pub file: Option<&'a Path>,
    /// The root directory of the mount being served (the document root).
    pub root: &'a Path,
    /// The URL prefix of that mount.
    pub url_base: &'a str,
}

/// A substitution that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubError(pub String);

impl std::fmt::Display for SubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "substitution failed: {}", self.0)
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
        let inner_end = input[open + 2..]
            .iter()
            .position(|&b| b == b'}')
            .map(|p| p + open + 2);
        match inner_end {
            Some(end) if input.get(end + 1) == Some(&b'}') => {
                out.extend_from_slice(&input[i..open]);
                let expr = String::from_utf8_lossy(&input[open + 2..end]);
                let value = evaluate(&expr, ctx, &mut variables)?;
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
) -> Result<String, SubError> {
    let err = |why: String| SubError(format!("{{{{{expr}}}}}: {why}"));
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
        return Err(err("expected a name".into()));
    };
    let config = &ctx.site.config;
    let mut node = if let Some(value) = variables.get(&name) {
        Node::Text(value.clone())
    } else {
        match name.as_str() {
            "host" | "browser_host" => Node::Text(config.browser_host.clone()),
            "server_host" => Node::Text(config.bind_host().to_string()),
            "domains" => Node::Domains(String::new()),
            "hosts" => Node::Hosts,
            "ports" => Node::Ports,
            "location" => Node::Location,
            "GET" => Node::Get,
            "headers" => Node::Headers,
            "alternate_hosts" => Node::Alternates,
            "url_base" => Node::Text(ctx.url_base.to_string()),
            "doc_root" => Node::Text(ctx.site.mounts.doc_root().display().to_string()),
            "uuid" => Node::Function("uuid"),
            "header_or_default" => Node::Function("header_or_default"),
            "file_hash" => Node::Function("file_hash"),
            "fs_path" => Node::Function("fs_path"),
            other if other.starts_with('$') => {
                return Err(err(format!("variable {other} is not set")))
            }
            other => return Err(err(format!("unknown name {other:?}"))),
        }
    };
    for token in tokens {
        node = match (node, token) {
            (Node::Domains(host), Token::Index(sub)) => Node::Text(
                ctx.site
                    .hosts
                    .domain(&host, &sub)
                    .ok_or_else(|| err(format!("no subdomain {sub:?}")))?
                    .to_string(),
            ),
            (Node::Hosts, Token::Index(key)) => {
                if !ctx.site.hosts.has_host(&key) {
                    return Err(err(format!("no host {key:?}")));
                }
                Node::Domains(key)
            }
            (Node::Ports, Token::Index(scheme)) => {
                if !ctx.site.ports.contains_key(&scheme) {
                    return Err(err(format!("no {scheme:?} ports")));
                }
                Node::PortList(scheme)
            }
            (Node::PortList(scheme), Token::Index(i)) => {
                let port = i
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| ctx.site.ports[&scheme].get(i))
                    .ok_or_else(|| err(format!("no {scheme} port {i:?}")))?;
                Node::Text(port.to_string())
            }
            (Node::Location, Token::Index(key)) => Node::Text(
                location(ctx.request, &key)
                    .ok_or_else(|| err(format!("location has no {key:?}")))?,
            ),
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
                    .ok_or_else(|| err(format!("no request header {key:?}")))?,
            ),
            (Node::Alternates, Token::Index(key)) => Node::Text(
                config
                    .alternate_hosts
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| err(format!("no alternate host {key:?}")))?,
            ),
            (Node::Function(f), Token::Args(args)) => Node::Text(call(f, &args, ctx).map_err(err)?),
            (_, Token::Index(key)) => return Err(err(format!("cannot index with [{key}]"))),
            (_, Token::Args(_)) => return Err(err("only a function can be called".into())),
            (_, Token::Assign(_) | Token::Name(_)) => return Err(err("unexpected name".into())),
        };
    }
    let Node::Text(value) = node else {
        return Err(err("not a single value".into()));
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

fn call(f: &str, args: &[String], ctx: &SubContext) -> Result<String, String> {
    let arity = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{f} takes {n} arguments, not {}", args.len()))
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
            let path = contained(ctx.root, ctx.root, &args[1])?;
            let data = std::fs::read(&path).map_err(|e| format!("{}: {e}", args[1]))?;
            let digest = digest(&args[0], &data)?;
            Ok(base64::engine::general_purpose::STANDARD.encode(digest))
        }
        "fs_path" => {
            arity(1)?;
            let base = ctx.file.and_then(Path::parent).unwrap_or(ctx.root);
            Ok(contained(ctx.root, base, &args[0])?.display().to_string())
        }
        _ => Err(format!("unknown function {f}")),
    }
}

fn digest(alg: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    use sha2::Digest;
    Ok(match alg {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        other => return Err(format!("unknown hash algorithm {other:?}")),
    })
}

/// `path` made absolute (`/x` from the root, `x` from `base`) and normalised;
/// an error if it leaves the root.
fn contained(root: &Path, base: &Path, path: &str) -> Result<PathBuf, String> {
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
        Err(format!("{path:?} is outside the document root"))
    }
}
