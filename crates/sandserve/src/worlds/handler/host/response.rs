//! `http.response`: the response the server writes when `handle` returns.

// The same for both versions of the world.
macro_rules! for_version {
    ($v:ident) => {
        const _: () = {
            use std::time::{Duration, SystemTime};

            use wasmtime::component::Resource;

            use crate::wasm::Stop;
            use crate::worlds::handler::bindings::$v::sandserve::handler::http::HostResponse;
            use crate::worlds::handler::bindings::$v::sandserve::handler::types::CookieAttributes;
            use crate::worlds::handler::state::{HostState, ResponseHandle};

            impl HostResponse for HostState {
                fn set_status(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    code: u16,
                    reason: Option<Vec<u8>>,
                ) -> wasmtime::Result<()> {
                    if let Some(reason) = &reason {
                        if crate::http::writer::breaks_a_line(reason) {
                            return Err(Stop::LineBreak("a reason phrase".into()).into());
                        }
                        self.count_response_bytes(reason.len())?;
                    }
                    self.response.status = code;
                    self.response.reason = reason;
                    Ok(())
                }

                fn set_header(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    name: Vec<u8>,
                    value: Vec<u8>,
                ) -> wasmtime::Result<()> {
                    self.accept_header(&name, &value)?;
                    self.response.headers.set(name, value);
                    Ok(())
                }

                fn append_header(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    name: Vec<u8>,
                    value: Vec<u8>,
                ) -> wasmtime::Result<()> {
                    self.accept_header(&name, &value)?;
                    self.response.headers.append(name, value);
                    Ok(())
                }

                fn remove_header(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    name: Vec<u8>,
                ) -> wasmtime::Result<()> {
                    self.response.headers.remove(&name);
                    Ok(())
                }

                fn set_cookie(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    name: String,
                    value: String,
                    attributes: CookieAttributes,
                ) -> wasmtime::Result<()> {
                    let line = cookie_line(&name, &value, &attributes);
                    self.accept_header(b"Set-Cookie", line.as_bytes())?;
                    self.response.headers.append("Set-Cookie", line);
                    Ok(())
                }

                fn delete_cookie(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    name: String,
                    path: Option<String>,
                    domain: Option<String>,
                ) -> wasmtime::Result<()> {
                    let yesterday = SystemTime::now() - Duration::from_secs(86_400);
                    let attributes = CookieAttributes {
                        path,
                        domain,
                        max_age: Some(0),
                        expires: Some(httpdate::fmt_http_date(yesterday)),
                        same_site: None,
                        secure: false,
                        http_only: false,
                    };
                    let line = cookie_line(&name, "", &attributes);
                    self.accept_header(b"Set-Cookie", line.as_bytes())?;
                    self.response.headers.append("Set-Cookie", line);
                    Ok(())
                }

                fn set_body(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    body: Vec<u8>,
                ) -> wasmtime::Result<()> {
                    self.response_bytes =
                        self.response_bytes.saturating_sub(self.body.len() as u64);
                    self.count_response_bytes(body.len())?;
                    self.body = body;
                    Ok(())
                }

                fn append_body(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    chunk: Vec<u8>,
                ) -> wasmtime::Result<()> {
                    self.count_response_bytes(chunk.len())?;
                    self.body.extend_from_slice(&chunk);
                    Ok(())
                }

                fn set_add_required_headers(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    add: bool,
                ) -> wasmtime::Result<()> {
                    self.response.add_required_headers = add;
                    Ok(())
                }

                fn set_close_connection(
                    &mut self,
                    _: Resource<ResponseHandle>,
                    close: bool,
                ) -> wasmtime::Result<()> {
                    self.response.close_connection = close;
                    Ok(())
                }

                fn drop(&mut self, handle: Resource<ResponseHandle>) -> wasmtime::Result<()> {
                    if handle.owned() {
                        self.sandbox.table.delete(handle)?;
                    }
                    Ok(())
                }
            }

            /// `name=value` then the attributes, in the order wptserve writes them.
            fn cookie_line(name: &str, value: &str, a: &CookieAttributes) -> String {
                let mut line = format!("{name}={value}");
                if let Some(domain) = &a.domain {
                    line.push_str(&format!("; Domain={domain}"));
                }
                if let Some(expires) = &a.expires {
                    line.push_str(&format!("; expires={expires}"));
                }
                if a.http_only {
                    line.push_str("; HttpOnly");
                }
                if let Some(max_age) = a.max_age {
                    line.push_str(&format!("; Max-Age={max_age}"));
                }
                line.push_str(&format!("; Path={}", a.path.as_deref().unwrap_or("/")));
                if let Some(same_site) = &a.same_site {
                    line.push_str(&format!("; SameSite={same_site}"));
                }
                if a.secure {
                    line.push_str("; Secure");
                }
                line
            }
        };
    };
}

for_version!(v0_1);
for_version!(v0_2);
for_version!(v0_3);
