//! A strict JSON parse: a member name twice in one object makes a message ambiguous.

use serde_json::Value;

/// Why [`strict_json`] refused a body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StrictError {
    /// Not JSON.
    Syntax,
    /// Some object has a member name twice.
    Duplicate,
}

/// Parses JSON like `serde_json::from_slice::<Value>`, but refuses an object with a member name
/// twice, at any depth (names are compared after unescaping).
pub(crate) fn strict_json(bytes: &[u8]) -> Result<Value, StrictError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(value)) => Ok(value),
        Err(e) if e.is_data() => Err(StrictError::Duplicate),
        Err(_) => Err(StrictError::Syntax),
    }
}

/// A [`Value`] whose objects have unique member names.
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if object.contains_key(&name) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json_refuses_duplicate_names_at_any_depth() {
        assert!(strict_json(br#"{"a":1,"b":[{"c":2}]}"#).is_ok());
        for dup in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"params":{"name":"x","name":"y"}}"#,
            br#"[{"id":1},{"id":1,"id":2}]"#,
            br#"{"a":{"b":[{"c":1,"c":1}]}}"#,
            br#"{"name":"x","name":"y"}"#,
        ] {
            assert_eq!(strict_json(dup), Err(StrictError::Duplicate));
        }
        assert_eq!(strict_json(b"{"), Err(StrictError::Syntax));
        assert_eq!(strict_json(b"nope"), Err(StrictError::Syntax));
        assert_eq!(strict_json(b"[1,]"), Err(StrictError::Syntax));
    }
}
