//! `?set=name=value` sets a cookie (with `&path=`, `&max_age=`,
//! `&samesite=`, `&secure=1`, `&httponly=1`); `?delete=name` expires one. The
//! body lists the cookies the request carried, as JSON.

use sandserve_guest::{handler, Cookie, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let query = request.query();
    for set in query.get_all("set") {
        let set = String::from_utf8_lossy(set);
        let (name, value) = set.split_once('=').unwrap_or((&set, ""));
        let mut cookie = Cookie::new(name, value);
        if let Some(path) = request.param("path") {
            cookie = cookie.path(path);
        }
        if let Some(age) = request.param("max_age") {
            cookie = cookie.max_age(age.parse().map_err(|_| Error::new(400, "bad max_age"))?);
        }
        if let Some(same_site) = request.param("samesite") {
            cookie = cookie.same_site(same_site);
        }
        if request.param("secure").as_deref() == Some("1") {
            cookie = cookie.secure();
        }
        if request.param("httponly").as_deref() == Some("1") {
            cookie = cookie.http_only();
        }
        response.set_cookie(&cookie);
    }
    for name in query.get_all("delete") {
        response.delete_cookie(&String::from_utf8_lossy(name), None, None);
    }
    let sent: Vec<[String; 2]> = request
        .cookies()
        .into_iter()
        .map(|(n, v)| {
            [
                String::from_utf8_lossy(&n).into(),
                String::from_utf8_lossy(&v).into(),
            ]
        })
        .collect();
    let body = serde_json::to_vec(&sent).map_err(|e| Error::new(500, e.to_string()))?;
    Ok(([("Content-Type", "application/json")], body).into())
}

handler!(handle);
