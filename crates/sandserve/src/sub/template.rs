//! Tokenising a `{{…}}` expression.
//!
//! An expression is an optional assignment `$name:`, a name (which may start
//! with `$` to reuse a variable), then any chain of `[index]` and `(args)`.
//! Nothing may come before the name (not even a space); tokenising stops
//! quietly at the first character that fits none of these, like the
//! reference's scanner.

/// One token of an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// `$name:` — assign the value to `$name`.
    Assign(String),
    /// A name, `$` included when there is one.
    Name(String),
    /// `[key]`; the key may be empty.
    Index(String),
    /// `(a, b)`: arguments, split at commas with following spaces dropped.
    Args(Vec<String>),
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Tokenises an expression.
pub fn tokenize(expr: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = expr;
    loop {
        let mut chars = rest.chars();
        let Some(first) = chars.next() else {
            return out;
        };
        let token = match first {
            c if c == '$' || is_word(c) => {
                let start = usize::from(first == '$');
                let word_len: usize = rest[start..]
                    .chars()
                    .take_while(|&c| is_word(c))
                    .map(char::len_utf8)
                    .sum();
                if word_len == 0 {
                    return out;
                }
                let end = start + word_len;
                if first == '$' && rest[end..].starts_with(':') {
                    let t = Token::Assign(rest[..end].to_string());
                    rest = &rest[end + 1..];
                    t
                } else {
                    let t = Token::Name(rest[..end].to_string());
                    rest = &rest[end..];
                    t
                }
            }
            '[' => {
                let Some(close) = rest.find(']') else {
                    return out;
                };
                let t = Token::Index(rest[1..close].to_string());
                rest = &rest[close + 1..];
                t
            }
            '(' => {
                let Some(close) = rest.find(')') else {
                    return out;
                };
                let inner = &rest[1..close];
                let args = if inner.is_empty() {
                    Vec::new()
                } else {
                    inner
                        .split(',')
                        .enumerate()
                        .map(|(i, a)| if i == 0 { a } else { a.trim_start() })
                        .map(str::to_string)
                        .collect()
                };
                rest = &rest[close + 1..];
                Token::Args(args)
            }
            _ => return out,
        };
        out.push(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Token::*;

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn expressions() {
        assert_eq!(tokenize("host"), [Name(s("host"))]);
        assert_eq!(
            tokenize("hosts[alt][www]"),
            [Name(s("hosts")), Index(s("alt")), Index(s("www"))]
        );
        assert_eq!(tokenize("domains[]"), [Name(s("domains")), Index(s(""))]);
        assert_eq!(
            tokenize("$id:uuid()"),
            [Assign(s("$id")), Name(s("uuid")), Args(vec![])]
        );
        assert_eq!(tokenize("$id"), [Name(s("$id"))]);
        assert_eq!(
            tokenize("header_or_default(X-A,  d e)"),
            [Name(s("header_or_default")), Args(vec![s("X-A"), s("d e")])]
        );
        assert_eq!(tokenize("GET[a b]"), [Name(s("GET")), Index(s("a b"))]);
        assert_eq!(tokenize("élève"), [Name(s("élève"))]);
    }

    #[test]
    fn stops_quietly() {
        assert_eq!(tokenize(" host"), []);
        assert_eq!(tokenize("host trailing"), [Name(s("host"))]);
        assert_eq!(tokenize("ports[http"), [Name(s("ports"))]);
        assert_eq!(tokenize("$"), []);
        assert_eq!(tokenize("-x"), []);
    }
}
