//! A JSON object that keeps its properties in their original order, as Graph
//! writes them (serde_json's map sorts them unless a crate-wide feature is on,
//! which would leak into the rest of the workspace).

use std::fmt;

use bytes::Bytes;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::graph_format;

/// A JSON object with its properties in their original order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fields, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Fields, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = m.next_entry::<String, Value>()? {
                    v.push(entry);
                }
                Ok(Fields(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl Fields {
    /// The object as compact JSON text.
    pub(crate) fn render(&self) -> Bytes {
        let mut out = String::with_capacity(512);
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&graph_format::json_str(k));
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        Bytes::from(out)
    }

    /// Keeps `@odata.context` and the named properties (matched without
    /// regard to case, as Graph does), in their original order; `Err` names
    /// a property the object does not have.
    pub(crate) fn select(&self, names: &[String]) -> Result<Fields, String> {
        for n in names {
            if !self.0.iter().any(|(k, _)| k.eq_ignore_ascii_case(n)) {
                return Err(n.clone());
            }
        }
        Ok(Fields(
            self.0
                .iter()
                .filter(|(k, _)| {
                    k == "@odata.context" || names.iter().any(|n| k.eq_ignore_ascii_case(n))
                })
                .cloned()
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_selects_without_case() {
        let f: Fields =
            serde_json::from_str(r#"{"z": 1, "@odata.context": "c", "a": [true], "m": null}"#)
                .unwrap();
        assert_eq!(
            &f.render()[..],
            br#"{"z":1,"@odata.context":"c","a":[true],"m":null}"#
        );
        let names = vec!["M".to_owned(), "z".to_owned()];
        assert_eq!(
            &f.select(&names).unwrap().render()[..],
            br#"{"z":1,"@odata.context":"c","m":null}"#
        );
        assert_eq!(f.select(&["q".to_owned()]).unwrap_err(), "q");
    }
}
