//! `http.request`: read-only views of the request.

// The same for both versions of the world.
macro_rules! for_version {
    ($v:ident) => {
        const _: () = {
            use wasmtime::component::Resource;

            use crate::worlds::handler::bindings::$v::sandserve::handler::http::HostRequest;
            use crate::worlds::handler::bindings::$v::sandserve::handler::types::{
                Credentials, Field, FormField,
            };
            use crate::worlds::handler::state::{HostState, RequestHandle};

            fn field((name, value): (&[u8], &[u8])) -> Field {
                Field {
                    name: name.to_vec(),
                    value: value.to_vec(),
                }
            }

            impl HostRequest for HostState {
                fn method(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.method.clone())
                }

                fn version(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.version.as_str().to_string())
                }

                fn request_line(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<Vec<u8>> {
                    Ok(self.request.request_line.clone())
                }

                fn target(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.target.clone())
                }

                fn path(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.path.clone())
                }

                fn query_string(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<Option<String>> {
                    Ok(self.request.query.clone())
                }

                fn url(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.url())
                }

                fn scheme(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.peer.scheme.as_str().to_string())
                }

                fn host(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<String> {
                    Ok(self.request.host())
                }

                fn headers(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<Vec<Field>> {
                    Ok(self.request.headers.iter().map(field).collect())
                }

                fn header(
                    &mut self,
                    _: Resource<RequestHandle>,
                    name: String,
                ) -> wasmtime::Result<Option<Vec<u8>>> {
                    Ok(self
                        .request
                        .headers
                        .get(name.as_bytes())
                        .map(<[u8]>::to_vec))
                }

                fn header_values(
                    &mut self,
                    _: Resource<RequestHandle>,
                    name: String,
                ) -> wasmtime::Result<Vec<Vec<u8>>> {
                    Ok(self
                        .request
                        .headers
                        .get_all(name.as_bytes())
                        .map(<[u8]>::to_vec)
                        .collect())
                }

                fn query(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<Vec<Field>> {
                    Ok(self.request.query_params().iter().map(field).collect())
                }

                fn body(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<Vec<u8>> {
                    Ok(self.request.body.to_vec())
                }

                fn body_size(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<u64> {
                    Ok(self.request.body.len() as u64)
                }

                fn read_body(
                    &mut self,
                    _: Resource<RequestHandle>,
                    offset: u64,
                    max: u32,
                ) -> wasmtime::Result<Vec<u8>> {
                    let body = &self.request.body;
                    let start = (offset.min(body.len() as u64)) as usize;
                    let end = start.saturating_add(max as usize).min(body.len());
                    Ok(body[start..end].to_vec())
                }

                fn form(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<Result<Vec<FormField>, String>> {
                    let request = &self.request;
                    let parsed = self.form.get_or_insert_with(|| {
                        crate::http::form::parse_form(request, self.max_form_fields)
                    });
                    Ok(parsed.clone().map_err(|e| e.to_string()).map(|fields| {
                        fields
                            .into_iter()
                            .map(|f| FormField {
                                name: f.name,
                                value: f.value,
                                filename: f.filename,
                                content_type: f.content_type,
                            })
                            .collect()
                    }))
                }

                fn cookies(&mut self, _: Resource<RequestHandle>) -> wasmtime::Result<Vec<Field>> {
                    Ok(self
                        .request
                        .cookies()
                        .into_iter()
                        .map(|(name, value)| Field { name, value })
                        .collect())
                }

                fn basic_auth(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<Option<Credentials>> {
                    Ok(self
                        .request
                        .basic_auth()
                        .map(|(username, password)| Credentials { username, password }))
                }

                fn client_address(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<String> {
                    Ok(self.request.peer.client.to_string())
                }

                fn server_address(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<String> {
                    Ok(self.request.peer.server.to_string())
                }

                fn route_match(
                    &mut self,
                    _: Resource<RequestHandle>,
                ) -> wasmtime::Result<Vec<(String, String)>> {
                    Ok(self.captures.clone())
                }

                fn drop(&mut self, handle: Resource<RequestHandle>) -> wasmtime::Result<()> {
                    if handle.owned() {
                        self.sandbox.table.delete(handle)?;
                    }
                    Ok(())
                }
            }
        };
    };
}

for_version!(v0_1);
for_version!(v0_2);
for_version!(v0_3);
