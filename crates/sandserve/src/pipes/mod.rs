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
use std::time::Duration;

use serde::Deserialize;

use crate::http::{Body, Pace, Paced, Request, Response};
use crate::sub::{substitute, Escape, SubContext, SubError};

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

/// Bounds on what a pipeline may ask for (the `pipes` key of the
/// configuration). A URL names these numbers, so every one is bounded.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PipeLimits {
    /// Steps in one pipeline. Default: 32.
    pub max_steps: usize,
    /// Items in one `trickle` specification. Default: 256.
    pub max_trickle_items: usize,
    /// Longest single pause of `trickle`, in seconds. Default: 60.
    pub max_delay_secs: f64,
    /// All the pauses of one trickled response together, in seconds (so a
    /// small pause repeated over a large body is bounded too). Default: 300.
    pub max_total_delay_secs: f64,
    /// Largest body `sub` and `gzip` (and a `.sub.` file) hold in memory to
    /// change it, in bytes. Default: 67108864 (64 MiB).
    pub max_body_bytes: u64,
}

impl Default for PipeLimits {
    fn default() -> Self {
        PipeLimits {
            max_steps: 32,
            max_trickle_items: 256,
            max_delay_secs: 60.0,
            max_total_delay_secs: 300.0,
            max_body_bytes: 64 << 20,
        }
    }
}

/// A parsed pipeline, with the limits it was parsed under.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    /// The steps, in order.
    pub steps: Vec<Step>,
    limits: PipeLimits,
}

/// A pipeline that could not be parsed or applied; answered with a 500.
#[derive(Debug)]
#[non_exhaustive]
pub enum PipeError {
    /// A function that is not a pipe.
    Unknown(String),
    /// Too few or too many arguments.
    Arity {
        /// The pipe.
        pipe: &'static str,
        /// Fewest arguments it takes.
        min: usize,
        /// Most arguments it takes.
        max: usize,
        /// Arguments given.
        given: usize,
    },
    /// An argument that is not what the pipe takes.
    BadArgument {
        /// The pipe.
        pipe: &'static str,
        /// The argument as given.
        argument: String,
        /// What it must be.
        expected: &'static str,
    },
    /// A `trickle` specification that cannot be used.
    Trickle(trickle::TrickleError),
    /// More steps than allowed (the limit).
    TooManySteps(usize),
    /// A body too large to hold in memory for `sub` or `gzip`.
    BodyTooLarge {
        /// The pipe.
        pipe: &'static str,
        /// The body's size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The pauses of a trickled response add up to more than allowed.
    TooSlow {
        /// All the pauses together.
        total: Duration,
        /// The limit.
        limit: Duration,
    },
    /// `sub` failed.
    Substitution(SubError),
    /// The body could not be read (a file that shrank, say).
    Body(std::io::Error),
}

impl std::fmt::Display for PipeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pipe: ")?;
        match self {
            PipeError::Unknown(name) => write!(f, "unknown pipe {name:?}"),
            PipeError::Arity {
                pipe,
                min,
                max,
                given,
            } if min == max => write!(f, "{pipe} takes {min} argument(s), not {given}"),
            PipeError::Arity {
                pipe,
                min,
                max,
                given,
            } => write!(f, "{pipe} takes {min} to {max} arguments, not {given}"),
            PipeError::BadArgument {
                pipe,
                argument,
                expected,
            } => write!(f, "{pipe}: {argument:?} is not {expected}"),
            PipeError::Trickle(e) => write!(f, "trickle: {e}"),
            PipeError::TooManySteps(n) => write!(f, "more than {n} steps"),
            PipeError::BodyTooLarge { pipe, size, limit } => write!(
                f,
                "{pipe}: a body of {size} bytes is larger than the limit of {limit}"
            ),
            PipeError::TooSlow { total, limit } => write!(
                f,
                "trickle: the pauses add up to {:.1} s, more than the limit of {} s",
                total.as_secs_f64(),
                limit.as_secs_f64()
            ),
            PipeError::Substitution(e) => write!(f, "sub: {e}"),
            PipeError::Body(e) => write!(f, "reading the body: {}", e.kind()),
        }
    }
}

impl std::error::Error for PipeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PipeError::Trickle(e) => Some(e),
            PipeError::Substitution(e) => Some(e),
            PipeError::Body(e) => Some(e),
            _ => None,
        }
    }
}

impl Pipeline {
    /// Parses a pipe string such as `status(404)|header(X-A,1)`.
    pub fn parse(input: &str, limits: &PipeLimits) -> Result<Pipeline, PipeError> {
        let calls = grammar::calls(input);
        if calls.len() > limits.max_steps {
            return Err(PipeError::TooManySteps(limits.max_steps));
        }
        let steps = calls
            .into_iter()
            .map(|call| typed(&call.name, &call.args, limits))
            .collect::<Result<_, _>>()?;
        Ok(Pipeline {
            steps,
            limits: *limits,
        })
    }

    /// Whether a step holds the whole body in memory to change it.
    pub fn is_heavy(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Sub(_) | Step::Gzip))
    }

    /// The pipeline of a request's query: the last non-empty `pipe` parameter.
    pub fn from_request(
        request: &Request,
        limits: &PipeLimits,
    ) -> Result<Option<Pipeline>, PipeError> {
        let Some(query) = &request.query else {
            return Ok(None);
        };
        if !query.contains("pipe") {
            return Ok(None);
        }
        let params = request.query_params();
        match params.get_all(b"pipe").filter(|v| !v.is_empty()).last() {
            Some(value) => Pipeline::parse(&String::from_utf8_lossy(value), limits).map(Some),
            None => Ok(None),
        }
    }

    /// Applies every step to `response`, in order; then checks that the
    /// pauses of a trickled body, now of its final length, stay in bounds.
    pub fn apply(&self, mut response: Response, ctx: &SubContext) -> Result<Response, PipeError> {
        for step in &self.steps {
            self.apply_step(step, &mut response, ctx)?;
        }
        if let Body::Paced(paced) = &response.body {
            let total = crate::http::response::total_delay(&paced.plan, paced.body.len());
            let limit = Duration::from_secs_f64(self.limits.max_total_delay_secs);
            if total > limit {
                return Err(PipeError::TooSlow { total, limit });
            }
        }
        Ok(response)
    }

    /// Refuses a body too large for `pipe` to hold in memory.
    fn check_size(&self, pipe: &'static str, body: &Body) -> Result<(), PipeError> {
        let (size, limit) = (body.len(), self.limits.max_body_bytes);
        if size > limit {
            return Err(PipeError::BodyTooLarge { pipe, size, limit });
        }
        Ok(())
    }

    fn apply_step(
        &self,
        step: &Step,
        response: &mut Response,
        ctx: &SubContext,
    ) -> Result<(), PipeError> {
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
                if !(h.contains(b"cache-control")
                    || h.contains(b"pragma")
                    || h.contains(b"expires"))
                {
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
                self.check_size("sub", &response.body)?;
                response.body = response.body.map_bytes(|bytes| {
                    substitute(&bytes.map_err(PipeError::Body)?, ctx, *escape)
                        .map_err(PipeError::Substitution)
                })?;
                update_length(response);
            }
            Step::Gzip => {
                self.check_size("gzip", &response.body)?;
                response.body = response.body.map_bytes(|bytes| {
                    let bytes = bytes.map_err(PipeError::Body)?;
                    let mut enc = flate2::write::GzEncoder::new(
                        Vec::with_capacity(bytes.len() / 2 + 32),
                        flate2::Compression::default(),
                    );
                    // Writing to memory cannot fail.
                    enc.write_all(&bytes).map_err(PipeError::Body)?;
                    enc.finish().map_err(PipeError::Body)
                })?;
                response.headers.set("Content-Encoding", "gzip");
                update_length(response);
            }
        }
        Ok(())
    }
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
fn typed(name: &str, args: &[String], limits: &PipeLimits) -> Result<Step, PipeError> {
    let pipe: &'static str = match name {
        "status" => "status",
        "header" => "header",
        "trickle" => "trickle",
        "slice" => "slice",
        "sub" => "sub",
        "gzip" => "gzip",
        other => return Err(PipeError::Unknown(other.to_string())),
    };
    let count = |min: usize, max: usize| {
        if (min..=max).contains(&args.len()) {
            Ok(())
        } else {
            Err(PipeError::Arity {
                pipe,
                min,
                max,
                given: args.len(),
            })
        }
    };
    let bad = |argument: &str, expected: &'static str| PipeError::BadArgument {
        pipe,
        argument: argument.to_string(),
        expected,
    };
    match pipe {
        "status" => {
            count(1, 1)?;
            let code: u16 = args[0]
                .trim()
                .parse()
                .ok()
                .filter(|c| (100..=999).contains(c))
                .ok_or_else(|| bad(&args[0], "a status code from 100 to 999"))?;
            Ok(Step::Status(code))
        }
        "header" => {
            count(2, 3)?;
            let append = match args.get(2).map(|a| a.to_ascii_lowercase()) {
                None => false,
                Some(a) if a == "true" || a == "1" => true,
                Some(a) if a == "false" || a == "0" => false,
                Some(_) => return Err(bad(&args[2], "true, false, 1 or 0")),
            };
            if args[0].is_empty()
                || args[0]
                    .bytes()
                    .any(|b| b == b':' || b == b'\n' || b == b'\r')
            {
                // A name may not carry line breaks; a value may (header injection).
                return Err(bad(&args[0], "a header name"));
            }
            Ok(Step::Header {
                name: args[0].clone(),
                value: args[1].clone(),
                append,
            })
        }
        "trickle" => {
            count(1, 1)?;
            Ok(Step::Trickle(
                trickle::parse(&args[0], limits).map_err(PipeError::Trickle)?,
            ))
        }
        "slice" => {
            count(1, 2)?;
            let index = |a: &String| -> Result<Option<i64>, PipeError> {
                if a.eq_ignore_ascii_case("null") {
                    return Ok(None);
                }
                a.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| bad(a, "an integer or null"))
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
                Some(_) => Err(bad(&args[0], "html or none")),
            }
        }
        _ => {
            count(0, 0)?;
            Ok(Step::Gzip)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<Pipeline, PipeError> {
        Pipeline::parse(input, &PipeLimits::default())
    }

    #[test]
    fn typed_steps() {
        let p = parse("status(201)|header(X-A,1,TRUE)|slice(-3,null)|sub(none)|gzip|trickle(1:d0)")
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
            ("header(X,1,maybe)", "is not true, false, 1 or 0"),
            ("slice(a)", "not an integer"),
            ("sub(js)", "is not html or none"),
            ("gzip(1)", "gzip takes 0"),
            ("trickle(d1:r3)", "must be even"),
        ] {
            let err = parse(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    mod apply {
        use super::super::*;
        use crate::http::testing::request;
        use crate::mounts::Mounts;
        use crate::topology::Topology;

        /// Applies `pipe` to a 200 response with `body` and one header.
        fn run(pipe: &str, body: &str) -> Result<Response, PipeError> {
            let dir = tempfile::tempdir().unwrap();
            let mounts = Mounts::new(dir.path(), &[]).unwrap();
            let topology = Topology::localhost();
            let req = request("GET", "/x?who=%3Cme%3E", &[]);
            let ctx = SubContext {
                request: &req,
                topology: &topology,
                mounts: &mounts,
                file: None,
                root: mounts.doc_root(),
                dir: mounts.doc_root_dir(),
                url_base: "/",
            };
            let response = Response::new(200)
                .with_header("X-A", "0")
                .with_body(body.to_string());
            Pipeline::parse(pipe, &PipeLimits::default())?.apply(response, &ctx)
        }

        fn text(r: &Response) -> String {
            String::from_utf8(r.body.to_bytes().unwrap().to_vec()).unwrap()
        }

        #[test]
        fn status_and_headers() {
            let r = run(
                "status(418)|header(X-A,1,true)|header(X-B,2)|header(x-a,3,1)",
                "b",
            )
            .unwrap();
            assert_eq!((r.status, r.reason.as_ref()), (418, None));
            let all: Vec<_> = r
                .headers
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect();
            assert_eq!(
                all,
                [
                    (b"X-A".to_vec(), b"0".to_vec()),
                    (b"X-A".to_vec(), b"1".to_vec()),
                    (b"x-a".to_vec(), b"3".to_vec()),
                    (b"X-B".to_vec(), b"2".to_vec()),
                ]
            );
            let r = run("header(X-A,replaced)", "b").unwrap();
            assert_eq!(
                r.headers.get_all(b"x-a").collect::<Vec<_>>(),
                [&b"replaced"[..]]
            );
        }

        #[test]
        fn slice_follows_python() {
            for (pipe, want) in [
                ("slice(2)", "23456789"),
                ("slice(2,4)", "23"),
                ("slice(-3)", "789"),
                ("slice(null,-8)", "01"),
                ("slice(5,2)", ""),
                ("slice(-100,100)", "0123456789"),
            ] {
                assert_eq!(text(&run(pipe, "0123456789").unwrap()), want, "{pipe}");
            }
        }

        #[test]
        fn sub_escapes_and_order_matters() {
            assert_eq!(text(&run("sub", "{{GET[who]}}").unwrap()), "&lt;me&gt;");
            assert_eq!(text(&run("sub(none)", "{{GET[who]}}").unwrap()), "<me>");
            let err = run("sub", "{{nope}}").unwrap_err();
            assert!(matches!(err, PipeError::Substitution(_)), "{err}");
            let zipped = run("gzip", "hello hello hello").unwrap();
            assert_eq!(zipped.headers.get(b"content-encoding"), Some(&b"gzip"[..]));
            let mut out = String::new();
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(&zipped.body.to_bytes().unwrap()[..]),
                &mut out,
            )
            .unwrap();
            assert_eq!(out, "hello hello hello");
            let cut = run("gzip|slice(0,10)", "hello hello hello").unwrap();
            assert_eq!(cut.body.len(), 10, "slice cuts the compressed bytes");
        }

        #[test]
        fn trickle_paces_and_adds_no_cache() {
            let r = run("trickle(1:d0.1:r2)", "abc").unwrap();
            assert!(matches!(r.body, Body::Paced(_)));
            assert_eq!(r.body.len(), 3);
            assert_eq!(
                r.headers.get(b"cache-control"),
                Some(&b"no-cache, no-store, must-revalidate"[..])
            );
            assert_eq!(r.headers.get(b"expires"), Some(&b"0"[..]));
            let r = run("header(Expires,1)|trickle(1)", "abc").unwrap();
            assert!(
                !r.headers.contains(b"cache-control"),
                "kept when one is set"
            );
        }

        #[test]
        fn an_explicit_length_stays_true() {
            let r = run("header(Content-Length,10)|slice(0,3)", "0123456789").unwrap();
            assert_eq!(r.headers.get(b"content-length"), Some(&b"3"[..]));
        }
    }
}
