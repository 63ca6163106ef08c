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
use range::RangeRequest;
pub use resolve::{Mounts, ResolveError, Resolved};

/// The name of the per-directory headers file.
pub const DIR_HEADERS: &str = "__dir__.headers";

/// Answers a request for a static file, a directory, or something missing.
pub fn serve_static(mounts: &Mounts, request: &Request) -> Response {
    let resolved = match mounts.resolve(&request.path) {
        Ok(r) => r,
        Err(e) => return not_found(request, &e),
    };
    let file = match File::open(&resolved.real) {
        Ok(f) => f,
        Err(e) => return Response::error(500, &format!("{}: {e}", request.path)),
    };
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Response::error(500, &format!("{}: {e}", request.path)),
    };
    if meta.is_dir() {
        return directory(request, &resolved);
    }
    let name = resolved
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut headers = Headers::with_capacity(4);
    headers.push("Content-Type", mime::content_type(&name));
    match extra_headers(&resolved.path) {
        Ok(extra) => {
            if extra.contains(b"content-type") {
                headers.remove(b"content-type");
            }
            headers.extend(extra);
        }
        Err(e) => return Response::error(500, &e.to_string()),
    }
    let size = meta.len();
    let file = Arc::new(file);
    let whole = FileRange {
        file: file.clone(),
        offset: 0,
        len: size,
    };
    let Some(range_header) = request.headers.get(b"range") else {
        return Response {
            headers,
            body: Body::file(whole),
            ..Response::default()
        };
    };
    let Ok(range_header) = std::str::from_utf8(range_header) else {
        return Response::error(400, "Range header is not ASCII");
    };
    if !range_header.is_ascii() {
        return Response::error(400, "Range header is not ASCII");
    }
    match range::parse(range_header, size) {
        RangeRequest::Satisfiable(ranges) if ranges.len() == 1 => {
            let (start, end) = ranges[0];
            headers.push("Content-Range", format!("bytes {start}-{}/{size}", end - 1));
            let body = Body::file(FileRange {
                file,
                offset: start,
                len: end - start,
            });
            Response {
                status: 206,
                headers,
                body,
                ..Response::default()
            }
        }
        RangeRequest::Satisfiable(ranges) => multipart(headers, file, size, &ranges),
        RangeRequest::Unsatisfiable | RangeRequest::Invalid => {
            let mut response = Response::error(
                416,
                &format!("range {range_header:?} not satisfiable for {size} bytes"),
            );
            response
                .headers
                .push("Content-Range", format!("bytes */{size}"));
            response
        }
    }
}

/// Answers a request for an `.asis` file: the file is the whole response.
pub fn asis_body(mounts: &Mounts, request: &Request) -> Result<Body, Response> {
    let resolved = mounts
        .resolve(&request.path)
        .map_err(|e| not_found(request, &e))?;
    let file = File::open(&resolved.real)
        .map_err(|e| Response::error(500, &format!("{}: {e}", request.path)))?;
    let meta = file
        .metadata()
        .map_err(|e| Response::error(500, &format!("{}: {e}", request.path)))?;
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

/// The `__dir__.headers` lines of the file's directory, then the file's own.
fn extra_headers(path: &Path) -> Result<Headers, headers_file::HeadersFileError> {
    let mut headers = Headers::new();
    if let Some(dir) = path.parent() {
        if let Some(h) = headers_file::read(&dir.join(DIR_HEADERS))? {
            headers.extend(h);
        }
    }
    let mut own = path.as_os_str().to_owned();
    own.push(".headers");
    if let Some(h) = headers_file::read(Path::new(&own))? {
        headers.extend(h);
    }
    Ok(headers)
}

fn directory(request: &Request, resolved: &Resolved) -> Response {
    if !request.path.ends_with('/') {
        let mut location = format!("{}/", request.path);
        if let Some(q) = &request.query {
            location.push('?');
            location.push_str(q);
        }
        return Response::new(301).with_header("Location", location);
    }
    match listing::render(&resolved.real, &request.path) {
        Ok(html) => Response::new(200)
            .with_header("Content-Type", "text/html")
            .with_body(html),
        Err(e) => Response::error(500, &format!("{}: {e}", request.path)),
    }
}

fn multipart(mut headers: Headers, file: Arc<File>, size: u64, ranges: &[(u64, u64)]) -> Response {
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
        parts.push(Part::File(FileRange {
            file: file.clone(),
            offset: start,
            len: end - start,
        }));
    }
    parts.push(Part::Bytes(Bytes::from(format!("\r\n--{boundary}--\r\n"))));
    Response {
        status: 206,
        headers,
        body: Body::Parts(parts),
        ..Response::default()
    }
}

fn not_found(request: &Request, error: &ResolveError) -> Response {
    match error {
        ResolveError::Io(e) => Response::error(500, &format!("{}: {e}", request.path)),
        _ => Response::error(404, &format!("{} not found", request.path)),
    }
}
