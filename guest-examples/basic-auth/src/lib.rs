//! Without credentials: 401 with `WWW-Authenticate: Basic realm="sandserve"`.
//! With `user:pass` (or `?user=&pass=`): 200 naming the user. Otherwise 403.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let want_user = request.param("user").unwrap_or_else(|| "user".into());
    let want_pass = request.param("pass").unwrap_or_else(|| "pass".into());
    match request.basic_auth() {
        None => Ok((
            401,
            [("WWW-Authenticate", "Basic realm=\"sandserve\"")],
            "credentials required",
        )
            .into()),
        Some((user, pass)) if user == want_user.as_bytes() && pass == want_pass.as_bytes() => {
            Ok(format!("welcome, {want_user}").into())
        }
        Some(_) => Err(Error::new(403, "wrong credentials")),
    }
}

handler!(handle);
