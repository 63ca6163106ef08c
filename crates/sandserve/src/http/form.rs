//! Form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`,
//! parsed once by the server for every handler.

use memchr::memmem;

use super::query::MultiMap;
use super::Request;

/// One form field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormField {
    /// The field name.
    pub name: Vec<u8>,
    /// Its value (a file's contents for an upload).
    pub value: Vec<u8>,
    /// The file name of an upload.
    pub filename: Option<Vec<u8>>,
    /// The part's `Content-Type`, if it had one.
    pub content_type: Option<Vec<u8>>,
}

/// RFC 2046 §5.1.1: a boundary is 1 to 70 characters.
pub const MAX_BOUNDARY: usize = 70;

/// Why a form body could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormError {
    /// `multipart/form-data` without a boundary parameter.
    NoBoundary,
    /// A boundary longer than RFC 2046 allows.
    BoundaryTooLong(usize),
    /// The body does not follow the multipart syntax: what is wrong.
    Malformed(&'static str),
    /// More fields than the limit.
    TooManyFields(usize),
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormError::NoBoundary => write!(f, "multipart/form-data without a boundary"),
            FormError::BoundaryTooLong(n) => write!(
                f,
                "multipart boundary of {n} bytes is longer than {MAX_BOUNDARY}"
            ),
            FormError::Malformed(why) => write!(f, "{why}"),
            FormError::TooManyFields(n) => write!(f, "more than {n} form fields"),
        }
    }
}

impl std::error::Error for FormError {}

/// Parses the request body by its `Content-Type`. A request with no form body
/// has no fields; a multipart body that cannot be parsed, or that has more
/// than `max_fields` fields, is an error (each field costs memory beyond its
/// bytes: a body of empty fields would cost a hundred times its size).
pub fn parse_form(request: &Request, max_fields: usize) -> Result<Vec<FormField>, FormError> {
    let content_type = request.headers.get(b"content-type").unwrap_or_default();
    let (mime, params) = split_params(content_type);
    if mime.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        if request
            .body
            .split(|&b| b == b'&')
            .filter(|p| !p.is_empty())
            .count()
            > max_fields
        {
            return Err(FormError::TooManyFields(max_fields));
        }
        return Ok(MultiMap::parse_urlencoded(&request.body)
            .iter()
            .map(|(name, value)| FormField {
                name: name.to_vec(),
                value: value.to_vec(),
                filename: None,
                content_type: None,
            })
            .collect());
    }
    if mime.eq_ignore_ascii_case(b"multipart/form-data") {
        let boundary = params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(b"boundary"))
            .map(|(_, v)| v.clone())
            .filter(|b| !b.is_empty())
            .ok_or(FormError::NoBoundary)?;
        return parse_multipart(&request.body, &boundary, max_fields);
    }
    Ok(Vec::new())
}

/// Parses a multipart body with the given boundary, in time linear in the
/// body's size (the boundary is at most 70 bytes and searched for with a
/// precomputed finder).
pub fn parse_multipart(
    body: &[u8],
    boundary: &[u8],
    max_fields: usize,
) -> Result<Vec<FormField>, FormError> {
    if boundary.len() > MAX_BOUNDARY {
        return Err(FormError::BoundaryTooLong(boundary.len()));
    }
    let malformed = FormError::Malformed;
    let delimiter = [b"--".as_slice(), boundary].concat();
    let finder = memmem::Finder::new(&delimiter);
    let mut fields = Vec::new();
    let Some(first) = finder.find(body) else {
        return Err(malformed("multipart body without its boundary"));
    };
    let mut rest = &body[first + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Ok(fields);
        }
        rest = strip_line_end(rest).ok_or(malformed("boundary line not ended"))?;
        let head_end = blank_line(rest).ok_or(malformed(
            "multipart part without a blank line after its headers",
        ))?;
        let head = &rest[..head_end.0];
        rest = &rest[head_end.0 + head_end.1..];
        let next = finder
            .find(rest)
            .ok_or(malformed("multipart body not closed"))?;
        let mut value = &rest[..next];
        value = value
            .strip_suffix(b"\r\n")
            .or_else(|| value.strip_suffix(b"\n"))
            .unwrap_or(value);
        let mut field = FormField {
            name: Vec::new(),
            value: value.to_vec(),
            filename: None,
            content_type: None,
        };
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], super::parse::trim(&line[colon + 1..]));
            if name.eq_ignore_ascii_case(b"content-disposition") {
                let (_, params) = split_params(value);
                for (k, v) in params {
                    if k.eq_ignore_ascii_case(b"name") {
                        field.name = v;
                    } else if k.eq_ignore_ascii_case(b"filename") {
                        field.filename = Some(v);
                    }
                }
            } else if name.eq_ignore_ascii_case(b"content-type") {
                field.content_type = Some(value.to_vec());
            }
        }
        if fields.len() == max_fields {
            return Err(FormError::TooManyFields(max_fields));
        }
        fields.push(field);
        rest = &rest[next + delimiter.len()..];
    }
}

/// Parameters of a header value: (name, value) pairs.
type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// `type/sub; a=1; b="two"` → (`type/sub`, [(a, 1), (b, two)]).
fn split_params(value: &[u8]) -> (&[u8], Params) {
    let mut parts = value.split(|&b| b == b';');
    let mime = super::parse::trim(parts.next().unwrap_or_default());
    let params = parts
        .filter_map(|p| {
            let p = super::parse::trim(p);
            let eq = p.iter().position(|&b| b == b'=')?;
            let key = super::parse::trim(&p[..eq]).to_vec();
            let mut v = super::parse::trim(&p[eq + 1..]);
            if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
                v = &v[1..v.len() - 1];
            }
            Some((key, v.to_vec()))
        })
        .collect();
    (mime, params)
}

/// The first blank line: where the head of a part ends, and the length of
/// the line break that ends it (`\r\n\r\n` or `\n\n`, mixed forms too).
/// Looks no further than that line.
fn blank_line(s: &[u8]) -> Option<(usize, usize)> {
    if s.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    if s.starts_with(b"\n") {
        return Some((0, 1));
    }
    for nl in memchr::memchr_iter(b'\n', s) {
        let cr = usize::from(nl > 0 && s[nl - 1] == b'\r');
        let after = &s[nl + 1..];
        if after.starts_with(b"\n") {
            return Some((nl - cr, cr + 2));
        }
        if after.starts_with(b"\r\n") {
            return Some((nl - cr, cr + 3));
        }
    }
    None
}

fn strip_line_end(s: &[u8]) -> Option<&[u8]> {
    s.strip_prefix(b"\r\n").or_else(|| s.strip_prefix(b"\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_fields_and_files() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"up\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n\
--XyZ--\r\nepilogue";
        let fields = parse_multipart(body, b"XyZ", 100).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].name, b"a");
        assert_eq!(fields[0].value, b"one");
        assert_eq!(fields[1].filename.as_deref(), Some(&b"f.txt"[..]));
        assert_eq!(fields[1].content_type.as_deref(), Some(&b"text/plain"[..]));
        assert_eq!(fields[1].value, b"line1\r\nline2");
        assert!(parse_multipart(b"--XyZ\r\nno blank line", b"XyZ", 100).is_err());
        assert!(parse_multipart(b"nothing", b"XyZ", 100).is_err());
    }

    #[test]
    fn long_boundaries_are_refused() {
        let long = vec![b'b'; MAX_BOUNDARY + 1];
        assert_eq!(
            parse_multipart(b"", &long, 100),
            Err(FormError::BoundaryTooLong(MAX_BOUNDARY + 1))
        );
        let boundary = vec![b'a'; MAX_BOUNDARY];
        let body = [
            b"--".as_slice(),
            &boundary,
            b"\r\n\r\nv\r\n--",
            &boundary,
            b"--",
        ]
        .concat();
        assert_eq!(
            parse_multipart(&body, &boundary, 100).unwrap()[0].value,
            b"v"
        );
    }

    #[test]
    fn the_number_of_fields_is_bounded() {
        let body = b"--B\r\n\r\n1\r\n--B\r\n\r\n2\r\n--B--";
        assert_eq!(parse_multipart(body, b"B", 2).unwrap().len(), 2);
        assert_eq!(
            parse_multipart(body, b"B", 1),
            Err(FormError::TooManyFields(1))
        );
        let urlencoded = crate::http::testing::request_with_body(
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            bytes::Bytes::from_static(b"a&a&&a"),
        );
        assert_eq!(parse_form(&urlencoded, 3).unwrap().len(), 3);
        assert_eq!(parse_form(&urlencoded, 2), Err(FormError::TooManyFields(2)));
    }

    #[test]
    fn a_part_head_ends_at_its_own_blank_line() {
        // The first part uses bare line feeds; a CRLF blank line further on
        // must not be taken for the end of its head.
        let body = b"--B\nContent-Disposition: form-data; name=\"a\"\n\none\n--B\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ntwo\r\n--B--";
        let fields = parse_multipart(body, b"B", 100).unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(
            (fields[0].name.as_slice(), fields[0].value.as_slice()),
            (&b"a"[..], &b"one"[..])
        );
        assert_eq!(
            (fields[1].name.as_slice(), fields[1].value.as_slice()),
            (&b"b"[..], &b"two"[..])
        );
        assert_eq!(blank_line(b"A: 1\r\nB: 2\r\n\r\nx"), Some((10, 4)));
        assert_eq!(blank_line(b"\r\nx"), Some((0, 2)));
        assert_eq!(blank_line(b"A: 1\nx"), None);
    }
}
