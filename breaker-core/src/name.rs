//! [`BreakerName`]: a breaker's name, cheap to hand out with every rejection.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

/// The name of a circuit breaker (typically the provider or model it guards), as it appears
/// in [`CircuitOpen`](crate::CircuitOpen), transition events and metrics.
///
/// A `&'static str` name is copied with every rejection at no cost; a name built at run time
/// (a `String`) is shared behind an `Arc`, so a rejection clones a reference count.
///
/// ```
/// use breaker::BreakerName;
///
/// let fixed = BreakerName::from("gpt-4o");
/// let built = BreakerName::from(format!("{}-{}", "claude", "sonnet"));
/// assert_eq!(fixed, "gpt-4o");
/// assert_eq!(built.as_str(), "claude-sonnet");
/// ```
#[derive(Clone)]
pub struct BreakerName(Repr);

// Two words: a shared name is boxed behind its `Arc` (a thin pointer), so that it fits
// beside the static one's length and the niche of its pointer tells them apart. A name is
// carried by every rejection, which returns through memory.
#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<Box<str>>),
}

impl BreakerName {
    /// A name from a string literal, usable in a `const`.
    pub const fn from_static(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// The name as a string slice.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(name) => name,
            Repr::Shared(name) => name.as_ref(),
        }
    }
}

impl From<&'static str> for BreakerName {
    fn from(name: &'static str) -> Self {
        Self::from_static(name)
    }
}

impl From<String> for BreakerName {
    fn from(name: String) -> Self {
        Self(Repr::Shared(Arc::new(name.into_boxed_str())))
    }
}

impl From<Arc<str>> for BreakerName {
    fn from(name: Arc<str>) -> Self {
        Self(Repr::Shared(Arc::new(Box::from(&*name))))
    }
}

impl Deref for BreakerName {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for BreakerName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for BreakerName {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for BreakerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for BreakerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq for BreakerName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for BreakerName {}

impl PartialEq<str> for BreakerName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for BreakerName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Hash for BreakerName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl serde::Serialize for BreakerName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn static_and_shared_names_compare_by_text() {
        let a = BreakerName::from("m");
        let b = BreakerName::from(String::from("m"));
        assert_eq!(a, b);
        let set: HashSet<BreakerName> = [a, b].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert!(set.contains("m"));
    }

    #[test]
    fn a_name_is_two_words() {
        assert_eq!(std::mem::size_of::<BreakerName>(), 16);
        let shared = BreakerName::from(Arc::<str>::from("claude"));
        assert_eq!(shared, "claude");
    }

    #[test]
    fn displays_and_serializes_as_the_bare_text() {
        let name = BreakerName::from_static("gpt-4o");
        assert_eq!(name.to_string(), "gpt-4o");
        assert_eq!(format!("{name:?}"), "\"gpt-4o\"");
        assert_eq!(serde_json::to_string(&name).unwrap(), "\"gpt-4o\"");
        assert_eq!(name.len(), 6);
    }
}
