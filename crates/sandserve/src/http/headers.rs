//! An ordered header multi-map that keeps every value, its order and the case
//! of each name exactly as given.
//!
//! Request headers are stored as they arrived. Response headers are written in
//! the order they are held; [`Headers::append`] groups a new value with the
//! existing values of the same name, which is where the reference server puts
//! it too.

/// Header name/value pairs, in order, names compared ASCII case-insensitively.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty list with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            entries: Vec::with_capacity(n),
        }
    }

    /// Adds `name: value` at the very end, without grouping.
    pub fn push(&mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Adds `name: value` after the last value of the same name, or at the end.
    pub fn append(&mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        let name = name.into();
        match self
            .entries
            .iter()
            .rposition(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(i) => self.entries.insert(i + 1, (name, value.into())),
            None => self.entries.push((name, value.into())),
        }
    }

    /// Replaces every value of `name` by one value, kept at the place of the first.
    pub fn set(&mut self, name: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        let name = name.into();
        match self.position(&name) {
            Some(first) => {
                self.entries[first] = (name.clone(), value.into());
                let mut i = 0;
                self.entries.retain(|(n, _)| {
                    let keep = i <= first || !n.eq_ignore_ascii_case(&name);
                    i += 1;
                    keep
                });
            }
            None => self.entries.push((name, value.into())),
        }
    }

    /// Removes every value of `name`; returns how many there were.
    pub fn remove(&mut self, name: &[u8]) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        before - self.entries.len()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.position(name).map(|i| self.entries[i].1.as_slice())
    }

    /// The first value of `name` as text, if it is UTF-8.
    pub fn get_str(&self, name: &[u8]) -> Option<&str> {
        self.get(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether `name` has at least one value.
    pub fn contains(&self, name: &[u8]) -> bool {
        self.position(name).is_some()
    }

    /// How many entries there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
    }

    /// Appends every entry of `other` at the end, in order.
    pub fn extend(&mut self, other: Headers) {
        self.entries.extend(other.entries);
    }

    fn position(&self, name: &[u8]) -> Option<usize> {
        self.entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(h: &Headers) -> Vec<String> {
        h.iter()
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                )
            })
            .collect()
    }

    #[test]
    fn append_groups_and_set_replaces_in_place() {
        let mut h = Headers::new();
        h.push("A", "1");
        h.push("B", "2");
        h.push("a", "3");
        h.push("C", "4");
        h.append("A", "5");
        assert_eq!(names(&h), ["A=1", "B=2", "a=3", "A=5", "C=4"]);
        h.set("a", "x");
        assert_eq!(names(&h), ["a=x", "B=2", "C=4"]);
        assert_eq!(h.get(b"A"), Some(&b"x"[..]));
        assert_eq!(h.remove(b"b"), 1);
        assert_eq!(names(&h), ["a=x", "C=4"]);
        h.set("D", "new");
        assert_eq!(names(&h), ["a=x", "C=4", "D=new"]);
        assert_eq!(h.get_all(b"c").count(), 1);
    }
}
