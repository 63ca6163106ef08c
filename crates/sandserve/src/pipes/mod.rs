//! The `?pipe=` language: a parsed pipeline is a list of typed steps that
//! change a response, applied left to right.
//!
//! | step | effect |
//! | --- | --- |
//! | `status(code)` | the status, with the reference's reason for it (empty when it has none) |
//! | `header(name, value[, append])` | replaces every `name` header, or appends one (`true`/`1`) |
//! | `trickle(spec)` | sends the body in timed pieces (see [`trickle`]); adds no-cache headers |
//! | `slice(start[, end])` | Python slice of the body bytes; `null` for an open end |
//! | `sub([html\|none])` | template substitution (see [`crate::sub`]); HTML escaping by default |
//! | `gzip` | gzips the body, sets `Content-Encoding: gzip` |

pub mod grammar;
pub mod trickle;

use std::io::Write;

use crate::http::{Body, Pace, Paced, Request, Response};
use crate::sub::{substitute, Escape, SubContext};

/// One step of a pipeline.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `status(code)`.
    Status(u16),
    /// `header(name, value[, append])`.
    Header {
        /// The header name.
        name: String,
        /// Its value.
        value: String,
        /// Append rather than replace.
        append: bool,
    },
    /// `trickle(spec)`.
    Trickle(Vec<Pace>),
    /// `slice(start[, end])`, Python semantics.
    Slice {
        /// Start index; negative counts from the end; `None` is the start.
        start: Option<i64>,
        /// End index; negative counts from the end; `None` is the end.
        end: Option<i64>,
    },
    /// `sub([escape])`.
    Sub(Escape),
    /// `gzip`.
    Gzip,
}

/// A parsed pipeline.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pipeline {
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// A pipeline that could not be parsed or applied; answered with a 500.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipeError(pub String);

impl std::fmt::Display for PipeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pipe: {}", self.0)
    }
}

impl Pipeline {
    /// Parses a pipe string such as `status(404)|header(X-A,1)`.
    pub fn parse(input: &str) -> Result<Pipeline, PipeError> {
        let steps = grammar::calls(input)
            .into_iter()
            .map(|call| typed(&call.name, &call.args).map_err(PipeError))
            .collect::<Result<_, _>>()?;
        Ok(Pipeline { steps })
    }

    /// The pipeline of a request's query: the last non-empty `pipe` parameter.
    pub fn from_request(request: &Request) -> Result<Option<Pipeline>, PipeError> {
        let Some(query) = &request.query else {
            return Ok(None);
        };
        if !query.contains("pipe") {
            return Ok(None);
        }
        let params = request.query_params();
        match params.get_all(b"pipe").filter(|v| !v.is_empty()).last() {
            Some(value) => Pipeline::parse(&String::from_utf8_lossy(value)).map(Some),
            None => Ok(None),
        }
    }

    /// Applies every step to `response`, in order.
    pub fn apply(&self, mut response: Response, ctx: &SubContext) -> Result<Response, PipeError> {
        for step in &self.steps {
            apply_step(step, &mut response, ctx)?;
        }
        Ok(response)
    }
}

fn apply_step(step: &Step, response: &mut Response, ctx: &SubContext) -> Result<(), PipeError> {
    match step {
        Step::Status(code) => {
            response.status = *code;
            response.reason = None;
        }
        Step::Header {
            name,
            value,
            append,
        } => {
            if *append {
                response.headers.append(name.as_str(), value.as_str());
            } else {
                response.headers.set(name.as_str(), value.as_str());
            }
        }
        Step::Trickle(plan) => {
            let h = &response.headers;
            if !(h.contains(b"cache-control") || h.contains(b"pragma") || h.contains(b"expires")) {
                response
                    .headers
                    .set("Cache-Control", "no-cache, no-store, must-revalidate");
                response.headers.set("Pragma", "no-cache");
                response.headers.set("Expires", "0");
            }
            let body = std::mem::take(&mut response.body);
            response.body = Body::Paced(Paced {
                body: Box::new(body),
                plan: plan.clone(),
            });
        }
        Step::Slice { start, end } => {
            let len = response.body.len() as i64;
            let at = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
            let s = start.map_or(0, at);
            let e = end.map_or(len, at);
            response.body = response.body.slice(s as u64, e.max(s) as u64);
            update_length(response);
        }
        Step::Sub(escape) => {
            response.body = response
                .body
                .map_bytes(|bytes| substitute(&bytes, ctx, *escape).map_err(|e| e.to_string()))
                .map_err(PipeError)?;
            update_length(response);
        }
        Step::Gzip => {
            response.body = response
                .body
                .map_bytes(|bytes| {
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(bytes.len() / 2 + 32),
                        flate2::Compression::default(),
                    );
                    enc.write_all(&bytes).map_err(|e| e.to_string())?;
                    enc.finish().map_err(|e| e.to_string())
                })
                .map_err(PipeError)?;
            response.headers.set("Content-Encoding", "gzip");
            update_length(response);
        }
    }
    Ok(())
}

/// Keeps an explicit `Content-Length` true to a body a pipe changed (the
/// writer adds one itself when there is none).
fn update_length(response: &mut Response) {
    if response.headers.contains(b"content-length") {
        let len = response.body.len().to_string();
        response.headers.set("Content-Length", len);
    }
}

/// Checks a call's arguments and makes it a typed step.
fn typed(name: &str, args: &[String]) -> Result<Step, String> {
    let count = |min: usize, max: usize| {
        if (min..=max).contains(&args.len()) {
            Ok(())
        } else if min == max {
            Err(format!(
                "{name} takes {min} argument(s), not {}",
                args.len()
            ))
        } else {
            Err(format!(
                "{name} takes {min} to {max} arguments, not {}",
                args.len()
            ))
        }
    };
    match name {
        "status" => {
            count(1, 1)?;
            let code: u16 = args[0]
                .trim()
                .parse()
                .ok()
                .filter(|c| (100..=999).contains(c))
                .ok_or_else(|| {
                    format!("status: {:?} is not a status code from 100 to 999", args[0])
                })?;
            Ok(Step::Status(code))
        }
        "header" => {
            count(2, 3)?;
            let append = match args.get(2).map(|a| a.to_ascii_lowercase()) {
                None => false,
                Some(a) if a == "true" || a == "1" => true,
                Some(a) if a == "false" || a == "0" => false,
                Some(a) => {
                    return Err(format!(
                        "header: append must be true, false, 1 or 0, not {a:?}"
                    ))
                }
            };
            if args[0].is_empty()
                || args[0]
                    .bytes()
                    .any(|b| b == b':' || b == b'\n' || b == b'\r')
            {
                // A name may not carry line breaks; a value may (header injection).
                return Err(format!("header: bad name {:?}", args[0]));
            }
            Ok(Step::Header {
                name: args[0].clone(),
                value: args[1].clone(),
                append,
            })
        }
        "trickle" => {
            count(1, 1)?;
            Ok(Step::Trickle(trickle::parse(&args[0])?))
        }
        "slice" => {
            count(1, 2)?;
            let index = |a: &String| -> Result<Option<i64>, String> {
                if a.eq_ignore_ascii_case("null") {
                    return Ok(None);
                }
                a.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("slice: {a:?} is not an integer or null"))
            };
            Ok(Step::Slice {
                start: index(&args[0])?,
                end: args.get(1).map(index).transpose()?.flatten(),
            })
        }
        "sub" => {
            count(0, 1)?;
            match args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
                None | Some("html") | Some("null") => Ok(Step::Sub(Escape::Html)),
                Some("none") => Ok(Step::Sub(Escape::None)),
                Some(other) => Err(format!("sub: escaping must be html or none, not {other:?}")),
            }
        }
        "gzip" => {
            count(0, 0)?;
            Ok(Step::Gzip)
        }
        other => Err(format!("unknown pipe {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_steps() {
        let p = Pipeline::parse(
            "status(201)|header(X-A,1,TRUE)|slice(-3,null)|sub(none)|gzip|trickle(1:d0)",
        )
        .unwrap();
        assert_eq!(p.steps.len(), 6);
        assert_eq!(p.steps[0], Step::Status(201));
        assert_eq!(
            p.steps[1],
            Step::Header {
                name: "X-A".into(),
                value: "1".into(),
                append: true
            }
        );
        assert_eq!(
            p.steps[2],
            Step::Slice {
                start: Some(-3),
                end: None
            }
        );
        assert_eq!(p.steps[3], Step::Sub(Escape::None));
    }

    #[test]
    fn errors_name_the_problem() {
        for (input, needle) in [
            ("nope", "unknown pipe \"nope\""),
            ("status(abc)", "not a status code"),
            ("status(1000)", "not a status code"),
            ("status()", "status takes 1"),
            ("header(X)", "header takes 2 to 3"),
            ("header(X,1,maybe)", "append must be"),
            ("slice(a)", "not an integer"),
            ("sub(js)", "escaping must be"),
            ("gzip(1)", "gzip takes 0"),
            ("trickle(d1:r3)", "must be even"),
        ] {
            let err = Pipeline::parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }
}
