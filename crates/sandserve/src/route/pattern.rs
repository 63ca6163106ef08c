//! Route path patterns: literal text, `{name}` for one path segment, and at
//! most one `*` (after every group) for anything, `/` included. A leading `/`
//! is implied and a pattern matches the whole path.

/// A compiled path pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    source: String,
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(String),
    Group(String),
    Star,
}

/// Why a pattern could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad route pattern {:?}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for PatternError {}

/// Named values a match captured: `{name}` groups by name, the star as `"*"`.
pub type Captures = Vec<(String, String)>;

impl Pattern {
    /// Compiles a pattern.
    pub fn new(source: &str) -> Result<Self, PatternError> {
        let err = |reason| PatternError {
            pattern: source.to_string(),
            reason,
        };
        let text = if source.starts_with('/') {
            source.to_string()
        } else {
            format!("/{source}")
        };
        let mut tokens = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '{' => {
                    if tokens.contains(&Token::Star) {
                        return Err(err("a {group} may not follow the *"));
                    }
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if name.is_empty() || name.contains('{') || name.contains('/') {
                        return Err(err("a {group} needs a name"));
                    }
                    if !literal.is_empty() {
                        tokens.push(Token::Literal(std::mem::take(&mut literal)));
                    }
                    tokens.push(Token::Group(name));
                }
                '}' => return Err(err("unbalanced }")),
                '*' => {
                    if tokens.contains(&Token::Star) {
                        return Err(err("only one * is allowed"));
                    }
                    if !literal.is_empty() {
                        tokens.push(Token::Literal(std::mem::take(&mut literal)));
                    }
                    tokens.push(Token::Star);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(Pattern {
            source: source.to_string(),
            tokens,
        })
    }

    /// Matches a whole path; on success returns what the groups captured.
    pub fn matches(&self, path: &str) -> Option<Captures> {
        let mut captures = Vec::new();
        match_tokens(&self.tokens, path, &mut captures).then_some(captures)
    }
}

fn match_tokens(tokens: &[Token], rest: &str, captures: &mut Captures) -> bool {
    let Some((first, more)) = tokens.split_first() else {
        return rest.is_empty();
    };
    match first {
        Token::Literal(text) => rest
            .strip_prefix(text.as_str())
            .is_some_and(|rest| match_tokens(more, rest, captures)),
        Token::Group(name) => {
            let segment_end = rest.find('/').unwrap_or(rest.len());
            // Longest first, like a greedy regex, then shorter.
            for end in (1..=segment_end)
                .rev()
                .filter(|&e| rest.is_char_boundary(e))
            {
                let mark = captures.len();
                captures.push((name.clone(), rest[..end].to_string()));
                if match_tokens(more, &rest[end..], captures) {
                    return true;
                }
                captures.truncate(mark);
            }
            false
        }
        Token::Star => {
            for end in (0..=rest.len()).rev().filter(|&e| rest.is_char_boundary(e)) {
                let mark = captures.len();
                captures.push(("*".to_string(), rest[..end].to_string()));
                if match_tokens(more, &rest[end..], captures) {
                    return true;
                }
                captures.truncate(mark);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(p: &str, path: &str) -> Option<Vec<(String, String)>> {
        Pattern::new(p).unwrap().matches(path)
    }

    #[test]
    fn star_and_groups() {
        assert!(caps("*.asis", "/a/b.asis").is_some());
        assert!(caps("*.asis", "/a/b.asis.txt").is_none());
        assert!(caps("*", "/").is_some());
        assert_eq!(
            caps("/{a}/x/{b}/*", "/one/x/two/rest/of.it").unwrap(),
            [("a", "one"), ("b", "two"), ("*", "rest/of.it")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(caps("/{a}/x", "//x").is_none());
        assert!(caps("/{a}", "/a/b").is_none());
        assert!(caps("/exact", "/exact").is_some());
        assert!(caps("/exact", "/exactly").is_none());
    }

    #[test]
    fn bad_patterns() {
        for bad in ["/*/*", "/*/{a}", "/{}", "/}"] {
            assert!(Pattern::new(bad).is_err(), "{bad}");
        }
    }
}
