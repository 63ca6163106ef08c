//! `session` (0.3.0): the request's client's session. Opening it may wait
//! for another request of the same session, or for a shared store: that
//! wait is parked, wall time and not CPU time.

use crate::session::SessionError as Error;
use crate::wasm::Stop;
use crate::worlds::handler::bindings::v0_3::sandserve::handler::session::{Host, SessionError};
use crate::worlds::handler::state::HostState;

fn convert(e: Error) -> SessionError {
    match e {
        Error::TooLarge(why) => SessionError::TooLarge(why),
        Error::Unavailable(why) => SessionError::Unavailable(why),
        Error::HeadersSent => SessionError::HeadersSent,
    }
}

impl HostState {
    /// Runs one session call, parked when it may wait.
    async fn in_session<T>(
        &mut self,
        call: impl AsyncFnOnce(&mut crate::session::RequestSession) -> Result<T, Error>,
    ) -> wasmtime::Result<Result<T, SessionError>> {
        if !self.session.may_wait() {
            return Ok(call(&mut self.session).await.map_err(convert));
        }
        self.sandbox.give_turn();
        self.sandbox.clock.suspend();
        let result = tokio::select! {
            result = call(&mut self.session) => Some(result),
            _ = self.writer.transport().gone() => None,
        };
        self.sandbox.clock.resume();
        match result {
            Some(result) => Ok(result.map_err(convert)),
            None => Err(Stop::ClientGone.into()),
        }
    }
}

impl Host for HostState {
    async fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, SessionError>> {
        self.in_session(async |s| s.get(&key).await).await
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), SessionError>> {
        let headers_open = !self.writer_used;
        self.in_session(async |s| s.set(key, value, headers_open).await)
            .await
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), SessionError>> {
        self.in_session(async |s| s.delete(&key).await).await
    }

    async fn keys(&mut self) -> wasmtime::Result<Result<Vec<String>, SessionError>> {
        self.in_session(async |s| s.keys().await).await
    }

    async fn clear(&mut self) -> wasmtime::Result<Result<(), SessionError>> {
        self.in_session(async |s| s.clear().await).await
    }

    async fn id(&mut self) -> wasmtime::Result<Result<Option<String>, SessionError>> {
        self.in_session(async |s| s.id().await).await
    }

    fn discard(&mut self) -> wasmtime::Result<()> {
        self.session.discard();
        Ok(())
    }
}
