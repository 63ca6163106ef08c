//! Serving files from the document root: static files with their `.headers`,
//! ranges and directory listings, and `.asis` files sent byte for byte.

pub mod headers_file;
pub mod listing;
pub mod mime;
pub mod range;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::http::{Body, FileRange, Headers, Part, Request, Response};
use crate::mounts::{Mounts, ResolveError, Resolved};
use crate::sub::{substitute, Escape, SubContext, SubError};
use crate::topology::Topology;
use headers_file::HeadersFileError;
use range::RangeRequest;

/// A file response and where it came from, for the pipes that follow.
pub struct Served {
    /// The response.
    pub response: Response,
    /// What was served.
    pub resolved: Resolved,
}

/// Why a file could not be served. Each is answered from the table of error
/// answers (`crate::reply`).
#[derive(Debug)]
#[non_exhaustive]
pub enum FileError {
    /// Nothing is there (or the path was refused).
    NotFound {
        /// The URL path asked for.
        path: String,
    },
    /// Something is there but could not be read.
    Unreadable {
        /// The URL path asked for.
        path: String,
        /// The system's answer.
        source: std::io::Error,
    },
    /// A `.headers` file next to it is broken.
    HeadersFile(HeadersFileError),
    /// Substitution of a `.sub.` file or `.sub.headers` file failed.
    Substitution {
        /// The file, by its URL path.
        file: String,
        /// Why.
        source: SubError,
    },
    /// The `Range` header is not ASCII.
    RangeNotAscii,
    /// No range of the `Range` header can be served.
    RangeNotSatisfiable {
        /// The header's value.
        range: String,
        /// The size of the representation.
        size: u64,
    },
    /// An `.asis` path that is a directory.
    NotAFile {
        /// The URL path asked for.
        path: String,
    },
    /// A `.sub.` file too large to hold in memory for substitution.
    TooLargeToSubstitute {
        /// The URL path asked for.
        path: String,
        /// Its size.
        size: u64,
        /// The limit (`pipes.max_body_bytes`).
        limit: u64,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::NotFound { path } => write!(f, "{path} not found"),
            FileError::Unreadable { path, source } => {
                write!(f, "{path} cannot be read ({})", source.kind())
            }
            FileError::HeadersFile(e) => write!(f, "{e}"),
            FileError::Substitution { file, source } => write!(f, "{file}: {source}"),
            FileError::RangeNotAscii => write!(f, "Range header is not ASCII"),
            FileError::RangeNotSatisfiable { range, size } => {
                write!(f, "range {range:?} not satisfiable for {size} bytes")
            }
            FileError::NotAFile { path } => write!(f, "{path} is a directory, not an .asis file"),
            FileError::TooLargeToSubstitute { path, size, limit } => write!(
                f,
                "{path}: {size} bytes are more than substitution holds in memory ({limit})"
            ),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Unreadable { source, .. } => Some(source),
            FileError::HeadersFile(e) => Some(e),
            FileError::Substitution { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<HeadersFileError> for FileError {
    fn from(e: HeadersFileError) -> Self {
        FileError::HeadersFile(e)
    }
}

/// Files from the mounts: what static files and `.asis` files are served
/// with.
pub struct FileServer {
    mounts: Arc<Mounts>,
    topology: Arc<Topology>,
    max_substituted_bytes: u64,
}

impl FileServer {
    /// Serves `mounts`, substituting with `topology`; a `.sub.` file larger
    /// than `max_substituted_bytes` is refused.
    pub fn new(mounts: Arc<Mounts>, topology: Arc<Topology>, max_substituted_bytes: u64) -> Self {
        FileServer {
            mounts,
            topology,
            max_substituted_bytes,
        }
    }

    /// The document root and aliases.
    pub fn mounts(&self) -> &Mounts {
        &self.mounts
    }

    /// The host names and ports substitution uses.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Answers a request for a static file or a directory.
    pub fn serve_static(&self, request: &Request) -> Result<Served, FileError> {
        serve_static(
            &self.mounts,
            &self.topology,
            self.max_substituted_bytes,
            request,
        )
    }

    /// The headers the `__dir__.headers` and `NAME.headers` files (or their
    /// `.sub.headers` forms) beside `resolved` add to it, for `request`.
    pub fn headers_files(
        &self,
        request: &Request,
        resolved: &Resolved,
    ) -> Result<Headers, FileError> {
        let ctx = SubContext {
            request,
            topology: &self.topology,
            mounts: &self.mounts,
            file: Some(&resolved.path),
            root: &resolved.root,
            dir: &resolved.dir,
            url_base: &resolved.url_base,
        };
        extra_headers(resolved, &ctx)
    }

    /// Answers a request for an `.asis` file: the file is the whole response.
    pub fn asis_body(&self, request: &Request) -> Result<Body, FileError> {
        asis_body(&self.mounts, request)
    }
}

/// Whether serving `path` substitutes (`.sub.` in it): work to keep off the
/// threads that serve connections.
pub fn substitutes(path: &str) -> bool {
    path.contains(".sub.")
}

fn serve_static(
    mounts: &Mounts,
    topology: &Topology,
    max_substituted_bytes: u64,
    request: &Request,
) -> Result<Served, FileError> {
    let (resolved, file, meta) = open(mounts, request)?;
    if meta.is_dir() {
        let response = directory(request, file)?;
        return Ok(Served { response, resolved });
    }
    let name = resolved
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ctx = SubContext {
        request,
        topology,
        mounts,
        file: Some(&resolved.path),
        root: &resolved.root,
        dir: &resolved.dir,
        url_base: &resolved.url_base,
    };
    let mut headers = Headers::with_capacity(4);
    headers.push("Content-Type", mime::content_type(&name));
    let extra = extra_headers(&resolved, &ctx)?;
    if extra.contains(b"content-type") {
        headers.remove(b"content-type");
    }
    headers.extend(extra);

    let whole = FileRange {
        len: meta.len(),
        file: Arc::new(file),
        offset: 0,
    };
    let body = if substitution_enabled(&resolved) {
        if meta.len() > max_substituted_bytes {
            return Err(FileError::TooLargeToSubstitute {
                path: request.path.clone(),
                size: meta.len(),
                limit: max_substituted_bytes,
            });
        }
        let unreadable = |source| FileError::Unreadable {
            path: request.path.clone(),
            source,
        };
        let bytes = Body::file(whole).to_bytes().map_err(unreadable)?;
        let escape = Escape::for_file_name(&name);
        Body::from(
            substitute(&bytes, &ctx, escape).map_err(|source| FileError::Substitution {
                file: request.path.clone(),
                source,
            })?,
        )
    } else {
        Body::file(whole)
    };
    let response = ranged(request, headers, body)?;
    Ok(Served { response, resolved })
}

/// `.sub.` anywhere in the path below the mount root turns substitution on.
fn substitution_enabled(resolved: &Resolved) -> bool {
    let rel = resolved
        .path
        .strip_prefix(&resolved.root)
        .unwrap_or(&resolved.path);
    rel.to_string_lossy().contains(".sub.")
}

/// The whole body, or the part a `Range` header asks for.
fn ranged(request: &Request, mut headers: Headers, body: Body) -> Result<Response, FileError> {
    let size = body.len();
    let Some(range_header) = request.headers.get(b"range") else {
        return Ok(Response {
            headers,
            body,
            ..Response::default()
        });
    };
    let range_header = std::str::from_utf8(range_header)
        .ok()
        .filter(|r| r.is_ascii())
        .ok_or(FileError::RangeNotAscii)?;
    match range::parse(range_header, size) {
        RangeRequest::Satisfiable(ranges) if ranges.len() == 1 => {
            let (start, end) = ranges[0];
            headers.push("Content-Range", format!("bytes {start}-{}/{size}", end - 1));
            Ok(Response {
                status: 206,
                headers,
                body: body.slice(start, end),
                ..Response::default()
            })
        }
        RangeRequest::Satisfiable(ranges) => Ok(multipart(headers, &body, &ranges)),
        RangeRequest::Unsatisfiable | RangeRequest::Invalid => {
            Err(FileError::RangeNotSatisfiable {
                range: range_header.to_string(),
                size,
            })
        }
    }
}

fn asis_body(mounts: &Mounts, request: &Request) -> Result<Body, FileError> {
    let (_, file, meta) = open(mounts, request)?;
    if meta.is_dir() {
        return Err(FileError::NotAFile {
            path: request.path.clone(),
        });
    }
    Ok(Body::file(FileRange {
        file: Arc::new(file),
        offset: 0,
        len: meta.len(),
    }))
}

/// The `__dir__.headers` lines of the file's directory, then the file's own;
/// a `.sub.headers` file takes the place of its plain twin and is substituted.
/// They are read beneath the mount's directory, as the file was.
fn extra_headers(resolved: &Resolved, ctx: &SubContext) -> Result<Headers, FileError> {
    let mut headers = Headers::new();
    let dir = resolved.rel.parent().unwrap_or(Path::new(""));
    headers.extend(headers_of(&dir.join("__dir__"), resolved, ctx)?);
    headers.extend(headers_of(&resolved.rel, resolved, ctx)?);
    Ok(headers)
}

/// The headers file of `stem` (a path below the mount's directory).
fn headers_of(stem: &Path, resolved: &Resolved, ctx: &SubContext) -> Result<Headers, FileError> {
    let with = |suffix: &str| {
        let mut p = stem.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    // Named (by URL path) only when there is something to say of them.
    let name = |rel: &Path| ctx.mounts.display(&resolved.root.join(rel));
    let read = |rel: &Path| headers_file::read_text(|| resolved.dir.read(rel), || name(rel));
    let sub_path = with(".sub.headers");
    if let Some(text) = read(&sub_path)? {
        let text =
            substitute(&text, ctx, Escape::None).map_err(|source| FileError::Substitution {
                file: name(&sub_path),
                source,
            })?;
        return Ok(headers_file::parse(&name(&sub_path), &text)?);
    }
    let plain = with(".headers");
    Ok(match read(&plain)? {
        Some(text) => headers_file::parse(&name(&plain), &text)?,
        None => Headers::new(),
    })
}

fn directory(request: &Request, dir: File) -> Result<Response, FileError> {
    if !request.path.ends_with('/') {
        let mut location = format!("{}/", request.path);
        if let Some(q) = &request.query {
            location.push('?');
            location.push_str(q);
        }
        return Ok(Response::new(301).with_header("Location", location));
    }
    match listing::render(dir, &request.path) {
        Ok(html) => Ok(Response::new(200)
            .with_header("Content-Type", "text/html")
            .with_body(html)),
        Err(source) => Err(FileError::Unreadable {
            path: request.path.clone(),
            source,
        }),
    }
}

fn multipart(mut headers: Headers, body: &Body, ranges: &[(u64, u64)]) -> Response {
    let size = body.len();
    let boundary = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let content_type = headers
        .get(b"content-type")
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    headers.set(
        "Content-Type",
        format!("multipart/byteranges; boundary={boundary}"),
    );
    let mut parts = Vec::with_capacity(ranges.len() * 2 + 1);
    for &(start, end) in ranges {
        let mut part_head = format!("\r\n--{boundary}\r\n").into_bytes();
        if !content_type.is_empty() {
            part_head.extend_from_slice(b"Content-Type: ");
            part_head.extend_from_slice(&content_type);
            part_head.extend_from_slice(b"\r\n");
        }
        part_head.extend_from_slice(
            format!("Content-Range: bytes {start}-{}/{size}\r\n\r\n", end - 1).as_bytes(),
        );
        parts.push(Part::Bytes(Bytes::from(part_head)));
        match body.slice(start, end) {
            Body::Parts(p) => parts.extend(p),
            Body::Bytes(b) => parts.push(Part::Bytes(b)),
            _ => {}
        }
    }
    parts.push(Part::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    Response {
        status: 206,
        headers,
        body: Body::Parts(parts),
        ..Response::default()
    }
}

/// Resolves the request path and opens what is there. A path that is refused
/// or has nothing behind it is not found; one that exists but cannot be
/// looked at or opened is unreadable.
fn open(
    mounts: &Mounts,
    request: &Request,
) -> Result<(Resolved, File, std::fs::Metadata), FileError> {
    let unreadable = |source| FileError::Unreadable {
        path: request.path.clone(),
        source,
    };
    let not_served = |e| match e {
        ResolveError::Io(source) => unreadable(source),
        ResolveError::Refused(_) | ResolveError::Missing => FileError::NotFound {
            path: request.path.clone(),
        },
    };
    let resolved = mounts.resolve(&request.path).map_err(not_served)?;
    let opened = resolved.open().map_err(not_served)?;
    Ok((resolved, opened.file, opened.meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::request;

    struct Fixture {
        _dir: tempfile::TempDir,
        mounts: Mounts,
        topology: Topology,
    }

    fn fixture(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let mounts = Mounts::new(dir.path(), &[]).unwrap();
        let topology = Topology::localhost();
        Fixture {
            _dir: dir,
            mounts,
            topology,
        }
    }

    fn get(f: &Fixture, target: &str, headers: &[(&str, &str)]) -> Result<Response, FileError> {
        serve_static(
            &f.mounts,
            &f.topology,
            1 << 20,
            &request("GET", target, headers),
        )
        .map(|s| s.response)
    }

    fn header_list(r: &Response) -> Vec<(String, String)> {
        r.headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn headers_files_in_order_and_content_type_replaced() {
        let f = fixture(&[
            ("d/a.txt", "body"),
            ("d/__dir__.headers", "X-Dir: 1\n"),
            (
                "d/a.txt.headers",
                "X-File: 2\nContent-Type: text/x-own\nX-Dir: 3\n",
            ),
        ]);
        let r = get(&f, "/d/a.txt", &[]).unwrap();
        assert_eq!(
            header_list(&r),
            [
                ("X-Dir", "1"),
                ("X-File", "2"),
                ("Content-Type", "text/x-own"),
                ("X-Dir", "3")
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        assert_eq!(r.body.to_bytes().unwrap(), "body");
    }

    #[test]
    fn sub_headers_replace_their_plain_twin_and_substitute() {
        let f = fixture(&[
            ("a.sub.txt", "{{GET[x]}}-{{host}}"),
            ("a.sub.txt.headers", "X-Plain: ignored\n"),
            ("a.sub.txt.sub.headers", "X-Sub: {{GET[x]}}\n"),
        ]);
        let r = get(&f, "/a.sub.txt?x=%3Cy%3E", &[]).unwrap();
        assert_eq!(r.headers.get(b"x-sub"), Some(&b"<y>"[..]));
        assert!(!r.headers.contains(b"x-plain"));
        assert_eq!(
            r.body.to_bytes().unwrap(),
            "<y>-localhost",
            "no escaping for .txt"
        );
    }

    #[test]
    fn errors_name_url_paths_never_server_paths() {
        let f = fixture(&[
            ("b.txt", "x"),
            ("b.txt.headers", "A: 1\nbroken\n"),
            ("c.sub.html", "{{nope}}"),
        ]);
        let err = get(&f, "/b.txt", &[]).unwrap_err();
        assert_eq!(err.to_string(), "/b.txt.headers:2: line has no colon");
        let err = get(&f, "/c.sub.html", &[]).unwrap_err().to_string();
        assert!(
            err.starts_with("/c.sub.html: substitution failed: {{nope}}"),
            "{err}"
        );
        let root = f.mounts.doc_root().display().to_string();
        for e in [
            get(&f, "/b.txt", &[]),
            get(&f, "/c.sub.html", &[]),
            get(&f, "/none", &[]),
        ] {
            assert!(!e.unwrap_err().to_string().contains(&root));
        }
        assert!(matches!(
            get(&f, "/none", &[]),
            Err(FileError::NotFound { .. })
        ));
        assert!(matches!(
            get(&f, "/../x", &[]),
            Err(FileError::NotFound { .. })
        ));
    }

    #[test]
    fn ranges() {
        let f = fixture(&[("r.txt", "0123456789")]);
        let r = get(&f, "/r.txt", &[("Range", "bytes=2-4")]).unwrap();
        assert_eq!(r.status, 206);
        assert_eq!(r.headers.get(b"content-range"), Some(&b"bytes 2-4/10"[..]));
        assert_eq!(r.body.to_bytes().unwrap(), "234");
        let r = get(&f, "/r.txt", &[("Range", "bytes=0-0,8-")]).unwrap();
        let text = String::from_utf8(r.body.to_bytes().unwrap().to_vec()).unwrap();
        assert!(
            text.contains("Content-Range: bytes 0-0/10\r\n\r\n0\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Content-Range: bytes 8-9/10\r\n\r\n89\r\n"),
            "{text}"
        );
        let err = get(&f, "/r.txt", &[("Range", "bytes=20-")]).unwrap_err();
        assert!(
            matches!(err, FileError::RangeNotSatisfiable { size: 10, .. }),
            "{err}"
        );
    }

    #[test]
    fn directories_redirect_then_list() {
        let f = fixture(&[("dir/x.txt", "")]);
        let r = get(&f, "/dir?q=1", &[]).unwrap();
        assert_eq!(r.status, 301);
        assert_eq!(r.headers.get(b"location"), Some(&b"/dir/?q=1"[..]));
        let r = get(&f, "/dir/", &[]).unwrap();
        assert_eq!(r.status, 200);
        assert!(String::from_utf8_lossy(&r.body.to_bytes().unwrap()).contains("x.txt"));
    }

    #[test]
    fn asis_is_the_file_and_a_directory_is_refused() {
        let f = fixture(&[("a.asis", "HTTP/1.1 200 OK\r\n\r\n"), ("d.asis/x", "")]);
        let body = asis_body(&f.mounts, &request("GET", "/a.asis", &[])).unwrap();
        assert_eq!(body.len(), 19);
        let err = asis_body(&f.mounts, &request("GET", "/d.asis", &[])).unwrap_err();
        assert!(matches!(err, FileError::NotAFile { .. }), "{err}");
    }
}
