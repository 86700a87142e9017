//! Tags: static `key: value` labels on scenarios, groups and steps.
//!
//! A step carries its own tags merged with those of every group around it
//! and of its scenario (the innermost value of a key wins), so anything that
//! selects or scopes by tag looks at one step and nothing else. Values are
//! static text, fixed when the file loads: a tag never becomes one series
//! per user or per iteration.

/// A step's or a scenario's tags, sorted by key, each key once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tags(Vec<(String, String)>);

impl Tags {
    /// Tags from `(key, value)` pairs; a later pair replaces an earlier one
    /// with the same key.
    pub(crate) fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Tags {
        let mut tags = Tags::default();
        for (k, v) in pairs {
            tags.set(k, v);
        }
        tags
    }

    fn set(&mut self, key: String, value: String) {
        match self.0.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (key, value)),
        }
    }

    /// The value of `key`, if tagged.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .map(|i| self.0[i].1.as_str())
    }

    /// Whether `key` is tagged with exactly `value`.
    pub(crate) fn has(&self, key: &str, value: &str) -> bool {
        self.get(key) == Some(value)
    }

    /// Whether every pair of `wanted` is among these tags.
    pub(crate) fn contains_all(&self, wanted: &Tags) -> bool {
        wanted.iter().all(|(k, v)| self.has(k, v))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// These tags under `outer`'s: keys of `self` win over the same keys
    /// of `outer` (a step's own tag over its group's, a group's over its
    /// scenario's).
    pub(crate) fn inherit(&mut self, outer: &Tags) {
        for (k, v) in &outer.0 {
            if self.get(k).is_none() {
                self.set(k.clone(), v.clone());
            }
        }
    }
}

impl std::fmt::Display for Tags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Tags;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        Tags::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    #[test]
    fn inner_values_win_and_keys_stay_sorted() {
        let mut step = tags(&[("kind", "write"), ("b", "1")]);
        step.inherit(&tags(&[("kind", "read"), ("area", "shop")]));
        assert_eq!(step.to_string(), "area=shop,b=1,kind=write");
        assert!(step.has("kind", "write") && !step.has("kind", "read"));
        assert!(step.contains_all(&tags(&[("area", "shop"), ("b", "1")])));
        assert!(!step.contains_all(&tags(&[("area", "home")])));
        assert_eq!(tags(&[("a", "1"), ("a", "2")]).get("a"), Some("2"));
    }
}
