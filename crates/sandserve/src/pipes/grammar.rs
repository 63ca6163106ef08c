//! The `?pipe=` grammar: `f1(arg,arg)|f2|f3(arg)`.
//!
//! Functions are separated by `|`; arguments sit in parentheses, separated by
//! `,`; `)` ends them. Inside an argument a backslash escapes the next
//! character: `\n`, `\r` and `\t` become the control characters (which is how
//! a test injects raw header lines), anything else stands for itself. Spaces
//! are kept as they are.

/// One function call of a pipe string, before its arguments are typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The function name.
    pub name: String,
    /// The arguments, unescaped.
    pub args: Vec<String>,
}

/// Splits a pipe string into calls. `f()` has no arguments; an unclosed
/// argument list ends at the end of the string.
pub fn calls(input: &str) -> Vec<Call> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    let mut name = String::new();
    while let Some(c) = chars.next() {
        match c {
            '|' => {
                if !name.is_empty() {
                    out.push(Call {
                        name: std::mem::take(&mut name),
                        args: Vec::new(),
                    });
                }
            }
            '(' => {
                let mut args = Vec::new();
                let mut arg = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some('n') => arg.push('\n'),
                            Some('r') => arg.push('\r'),
                            Some('t') => arg.push('\t'),
                            Some(other) => arg.push(other),
                            None => {}
                        },
                        ',' => args.push(std::mem::take(&mut arg)),
                        ')' => {
                            closed = true;
                            break;
                        }
                        c => arg.push(c),
                    }
                }
                if !(arg.is_empty() && args.is_empty() && closed) {
                    args.push(arg);
                }
                out.push(Call {
                    name: std::mem::take(&mut name),
                    args,
                });
            }
            c => name.push(c),
        }
    }
    if !name.is_empty() {
        out.push(Call {
            name,
            args: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[&str]) -> Call {
        Call {
            name: name.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn splits_calls_and_arguments() {
        assert_eq!(
            calls("status(404)|header(X-A, b c)|gzip|sub()"),
            [
                call("status", &["404"]),
                call("header", &["X-A", " b c"]),
                call("gzip", &[]),
                call("sub", &[]),
            ]
        );
        assert_eq!(calls("slice(1,)"), [call("slice", &["1", ""])]);
        assert_eq!(calls("||gzip||"), [call("gzip", &[])]);
        assert_eq!(calls(""), []);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            calls(r"header(X,a\r\nInjected: yes\,\)\\\q\t)"),
            [call("header", &["X", "a\r\nInjected: yes,)\\q\t"])]
        );
        assert_eq!(
            calls(r"header(X,unclosed"),
            [call("header", &["X", "unclosed"])]
        );
    }
}
