//! Form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`,
//! parsed once by the server for every handler.

use super::parse::find;
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

/// Parses the request body by its `Content-Type`. A request with no form body
/// has no fields; a multipart body that cannot be parsed is an error.
pub fn parse_form(request: &Request) -> Result<Vec<FormField>, String> {
    let content_type = request.headers.get(b"content-type").unwrap_or_default();
    let (mime, params) = split_params(content_type);
    if mime.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
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
            .ok_or("multipart/form-data without a boundary")?;
        return parse_multipart(&request.body, &boundary);
    }
    Ok(Vec::new())
}

/// Parses a multipart body with the given boundary.
pub fn parse_multipart(body: &[u8], boundary: &[u8]) -> Result<Vec<FormField>, String> {
    let delimiter = [b"--".as_slice(), boundary].concat();
    let mut fields = Vec::new();
    let Some(first) = find(body, &delimiter) else {
        return Err("multipart body without its boundary".into());
    };
    let mut rest = &body[first + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return Ok(fields);
        }
        rest = strip_line_end(rest).ok_or("boundary line not ended")?;
        let head_end = find(rest, b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| find(rest, b"\n\n").map(|i| (i, 2)))
            .ok_or("multipart part without a blank line after its headers")?;
        let head = &rest[..head_end.0];
        rest = &rest[head_end.0 + head_end.1..];
        let next = find(rest, &delimiter).ok_or("multipart body not closed")?;
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
        let fields = parse_multipart(body, b"XyZ").unwrap();
        assert_eq!(fields.len(), 2);
        assert_eq!(fields[0].name, b"a");
        assert_eq!(fields[0].value, b"one");
        assert_eq!(fields[1].filename.as_deref(), Some(&b"f.txt"[..]));
        assert_eq!(fields[1].content_type.as_deref(), Some(&b"text/plain"[..]));
        assert_eq!(fields[1].value, b"line1\r\nline2");
        assert!(parse_multipart(b"--XyZ\r\nno blank line", b"XyZ").is_err());
        assert!(parse_multipart(b"nothing", b"XyZ").is_err());
    }
}
