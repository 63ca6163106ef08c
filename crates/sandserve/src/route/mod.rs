//! Routing: an ordered table of (methods, path pattern, handler); the first
//! route that matches a request wins.

pub mod pattern;

pub use pattern::{Captures, Pattern, PatternError};

/// Which methods a route answers. Methods are case-sensitive; a route for
/// `GET` also answers `HEAD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Methods {
    /// Any method.
    Any,
    /// These methods.
    Only(Vec<String>),
}

impl Methods {
    /// Whether `method` is allowed.
    pub fn allows(&self, method: &str) -> bool {
        match self {
            Methods::Any => true,
            Methods::Only(list) => list
                .iter()
                .any(|m| m == method || (m == "GET" && method == "HEAD")),
        }
    }
}

/// One route.
#[derive(Clone, Debug)]
pub struct Route<H> {
    /// The methods it answers.
    pub methods: Methods,
    /// The path pattern it matches.
    pub pattern: Pattern,
    /// What handles a matching request.
    pub handler: H,
}

/// An ordered route table.
#[derive(Clone, Debug)]
pub struct RouteTable<H> {
    routes: Vec<Route<H>>,
}

impl<H> Default for RouteTable<H> {
    fn default() -> Self {
        RouteTable { routes: Vec::new() }
    }
}

impl<H> RouteTable<H> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route after the existing ones.
    pub fn push(&mut self, methods: Methods, pattern: Pattern, handler: H) {
        self.routes.push(Route {
            methods,
            pattern,
            handler,
        });
    }

    /// The first route matching `method` and `path`, with what it captured.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Route<H>, Captures)> {
        self.routes.iter().find_map(|route| {
            if !route.methods.allows(method) {
                return None;
            }
            route.pattern.matches(path).map(|caps| (route, caps))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_get_answers_head() {
        let mut t = RouteTable::new();
        t.push(
            Methods::Only(vec!["GET".into()]),
            Pattern::new("*.asis").unwrap(),
            1,
        );
        t.push(Methods::Any, Pattern::new("*.wasm").unwrap(), 2);
        t.push(
            Methods::Only(vec!["GET".into()]),
            Pattern::new("*").unwrap(),
            3,
        );
        assert_eq!(t.find("GET", "/x.asis").unwrap().0.handler, 1);
        assert_eq!(t.find("HEAD", "/x.asis").unwrap().0.handler, 1);
        assert_eq!(t.find("POST", "/x.wasm").unwrap().0.handler, 2);
        assert_eq!(t.find("GET", "/x.html").unwrap().0.handler, 3);
        assert!(t.find("POST", "/x.asis").is_none());
        assert!(t.find("get", "/x.html").is_none());
    }
}
