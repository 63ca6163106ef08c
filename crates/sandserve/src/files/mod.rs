//! Serving files from the document root: static files with their `.headers`,
//! ranges and directory listings, and `.asis` files sent byte for byte.

pub mod headers_file;
pub mod listing;
pub mod mime;
pub mod range;
pub mod resolve;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::http::{Body, FileRange, Headers, Part, Request, Response};
use crate::server::Site;
use crate::sub::{substitute, Escape, SubContext};
use range::RangeRequest;
pub use resolve::{Mounts, ResolveError, Resolved};

/// A file response and where it came from, for the pipes that follow.
pub struct Served {
    /// The response.
    pub response: Response,
    /// What was served.
    pub resolved: Resolved,
}

/// Answers a request for a static file or a directory. `Err` is an error
/// response, to which no pipes apply.
pub fn serve_static(site: &Site, request: &Request) -> Result<Served, Response> {
    let (resolved, file, meta) = open(&site.mounts, request)?;
    if meta.is_dir() {
        let response = directory(request, &resolved)?;
        return Ok(Served { response, resolved });
    }
    let name = resolved
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ctx = SubContext {
        request,
        site,
        file: Some(&resolved.path),
        root: &resolved.root,
        url_base: &resolved.url_base,
    };
    let mut headers = Headers::with_capacity(4);
    headers.push("Content-Type", mime::content_type(&name));
    let extra = extra_headers(&resolved.path, &ctx).map_err(|e| Response::error(500, &e))?;
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
        let bytes = Body::file(whole)
            .to_bytes()
            .map_err(|e| Response::error(500, &format!("{}: {e}", request.path)))?;
        let escape = Escape::for_file_name(&name);
        Body::from(
            substitute(&bytes, &ctx, escape).map_err(|e| Response::error(500, &e.to_string()))?,
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
fn ranged(request: &Request, mut headers: Headers, body: Body) -> Result<Response, Response> {
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
        .ok_or_else(|| Response::error(400, "Range header is not ASCII"))?;
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
            let mut response = Response::error(
                416,
                &format!("range {range_header:?} not satisfiable for {size} bytes"),
            );
            response
                .headers
                .push("Content-Range", format!("bytes */{size}"));
            Err(response)
        }
    }
}

/// Answers a request for an `.asis` file: the file is the whole response.
pub fn asis_body(mounts: &Mounts, request: &Request) -> Result<Body, Response> {
    let (_, file, meta) = open(mounts, request)?;
    if meta.is_dir() {
        return Err(Response::error(
            500,
            &format!("{} is a directory, not an .asis file", request.path),
        ));
    }
    Ok(Body::file(FileRange {
        file: Arc::new(file),
        offset: 0,
        len: meta.len(),
    }))
}

/// The `__dir__.headers` lines of the file's directory, then the file's own;
/// a `.sub.headers` file takes the place of its plain twin and is substituted.
fn extra_headers(path: &Path, ctx: &SubContext) -> Result<Headers, String> {
    let mut headers = Headers::new();
    if let Some(dir) = path.parent() {
        headers.extend(headers_of(&dir.join("__dir__"), ctx)?);
    }
    headers.extend(headers_of(path, ctx)?);
    Ok(headers)
}

fn headers_of(stem: &Path, ctx: &SubContext) -> Result<Headers, String> {
    let with = |suffix: &str| {
        let mut p = stem.as_os_str().to_owned();
        p.push(suffix);
        std::path::PathBuf::from(p)
    };
    let sub_path = with(".sub.headers");
    if let Some(text) = headers_file::read_text(&sub_path).map_err(|e| e.to_string())? {
        let text = substitute(&text, ctx, Escape::None)
            .map_err(|e| format!("{}: {e}", sub_path.display()))?;
        return headers_file::parse(&sub_path, &text).map_err(|e| e.to_string());
    }
    Ok(headers_file::read(&with(".headers"))
        .map_err(|e| e.to_string())?
        .unwrap_or_default())
}

fn directory(request: &Request, resolved: &Resolved) -> Result<Response, Response> {
    if !request.path.ends_with('/') {
        let mut location = format!("{}/", request.path);
        if let Some(q) = &request.query {
            location.push('?');
            location.push_str(q);
        }
        return Ok(Response::new(301).with_header("Location", location));
    }
    match listing::render(&resolved.real, &request.path) {
        Ok(html) => Ok(Response::new(200)
            .with_header("Content-Type", "text/html")
            .with_body(html)),
        Err(e) => Err(Response::error(500, &format!("{}: {e}", request.path))),
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

/// Resolves the request path and opens what is there.
fn open(
    mounts: &Mounts,
    request: &Request,
) -> Result<(Resolved, File, std::fs::Metadata), Response> {
    let resolved = mounts.resolve(&request.path).map_err(|e| match e {
        ResolveError::Io(e) => Response::error(500, &format!("{}: {e}", request.path)),
        _ => not_found(request),
    })?;
    let failed = |e: std::io::Error| Response::error(500, &format!("{}: {e}", request.path));
    let file = File::open(&resolved.real).map_err(failed)?;
    let meta = file.metadata().map_err(failed)?;
    Ok((resolved, file, meta))
}

/// The 404 for a path with nothing behind it.
pub fn not_found(request: &Request) -> Response {
    Response::error(404, &format!("{} not found", request.path))
}
