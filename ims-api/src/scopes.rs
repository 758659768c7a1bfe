//! OAuth scopes, as IMS writes them: a comma-separated list.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A set of scopes, in the order given, without duplicates.
///
/// IMS joins scopes with commas (`AdobeID,openid`) where OAuth2 libraries use
/// spaces; parsing accepts both, and [`Display`](fmt::Display) writes commas.
///
/// ```
/// use ims_api::Scopes;
///
/// let scopes = Scopes::parse("openid, AdobeID openid");
/// assert_eq!(scopes.to_string(), "openid,AdobeID");
/// assert!(scopes.contains("AdobeID"));
/// assert_eq!(Scopes::admin_default().to_string(), "AdobeID,openid,email,profile,org.read");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// The scopes Magento asks for on admin sign-in.
    pub fn admin_default() -> Self {
        Scopes::parse("AdobeID,openid,email,profile,org.read")
    }

    /// Splits on commas and white space; empty items and duplicates are
    /// dropped.
    pub fn parse(value: &str) -> Self {
        value
            .split(|c: char| c == ',' || c.is_whitespace())
            .collect()
    }

    /// Whether the scope is present (case-sensitive, as IMS compares).
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// Whether every scope here is also in `other`.
    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// Adds a scope unless present.
    pub fn push(&mut self, scope: &str) {
        let scope = scope.trim();
        if !scope.is_empty() && !self.contains(scope) {
            self.0.push(scope.to_owned());
        }
    }

    /// The scopes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<S: AsRef<str>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut scopes = Scopes::default();
        for scope in iter {
            scopes.push(scope.as_ref());
        }
        scopes
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

impl Serialize for Scopes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Scopes {
    /// Accepts a comma/space-separated string or an array of strings.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScopesVisitor;

        impl<'de> Visitor<'de> for ScopesVisitor {
            type Value = Scopes;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a comma-separated string or an array of scopes")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Scopes, E> {
                Ok(Scopes::parse(value))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scopes, A::Error> {
                let mut scopes = Scopes::default();
                while let Some(item) = seq.next_element::<String>()? {
                    scopes.push(&item);
                }
                Ok(scopes)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Scopes, E> {
                Ok(Scopes::default())
            }
        }

        deserializer.deserialize_any(ScopesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strings_and_arrays() {
        let a: Scopes = serde_json::from_str("\"a,b c\"").unwrap();
        let b: Scopes = serde_json::from_str("[\"a\",\"b\",\"c\",\"a\"]").unwrap();
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"a,b,c\"");
        let none: Scopes = serde_json::from_str("null").unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn subset() {
        assert!(Scopes::parse("a").is_subset_of(&Scopes::parse("a,b")));
        assert!(!Scopes::parse("a,c").is_subset_of(&Scopes::parse("a,b")));
        assert!(Scopes::default().is_subset_of(&Scopes::default()));
    }
}
