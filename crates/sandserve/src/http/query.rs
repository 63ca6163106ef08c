//! Query strings and `application/x-www-form-urlencoded` bodies as multi-maps.

use percent_encoding::percent_decode;

/// Name/value pairs in order, every value kept, names compared exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiMap {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl MultiMap {
    /// Parses `a=1&b=&c&a=2`: `+` is a space, percent escapes are decoded to
    /// bytes, blank values are kept and empty pairs are dropped.
    pub fn parse_urlencoded(input: &[u8]) -> Self {
        let entries = input
            .split(|&b| b == b'&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (&pair[..i], &pair[i + 1..]),
                    None => (pair, &b""[..]),
                };
                (form_decode(name), form_decode(value))
            })
            .collect();
        MultiMap { entries }
    }

    /// The first value of `name`.
    pub fn first(&self, name: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// The last value of `name`.
    pub fn last(&self, name: &[u8]) -> Option<&[u8]> {
        self.entries
            .iter()
            .rfind(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
    }

    /// How many pairs there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Decodes one form component: `+` is a space, `%XX` a byte.
pub fn form_decode(input: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = input
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_reference() {
        let q = MultiMap::parse_urlencoded(b"a=1&b=&c&&a=2&sp=x+y%20z&enc=%E2%9C%93&eq=a=b");
        assert_eq!(q.first(b"a"), Some(&b"1"[..]));
        assert_eq!(q.last(b"a"), Some(&b"2"[..]));
        assert_eq!(q.first(b"b"), Some(&b""[..]));
        assert_eq!(q.first(b"c"), Some(&b""[..]));
        assert_eq!(q.first(b"sp"), Some(&b"x y z"[..]));
        assert_eq!(q.first(b"enc"), Some("✓".as_bytes()));
        assert_eq!(q.first(b"eq"), Some(&b"a=b"[..]));
        assert_eq!(q.len(), 7);
    }
}
