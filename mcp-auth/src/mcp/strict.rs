//! The layer's JSON-RPC peek: one pass over the body that checks all of it and keeps only the
//! members the layer decides from.
//!
//! A request body is checked strictly at every depth (a member name twice in one object makes a
//! message ambiguous), but only `id`, `method` and
//! `params.{name, uri, ref.{type, name, uri}, taskId, _meta[version]}`
//! become a [`Value`]: the tool arguments, capabilities and everything else are walked without
//! being built (object member names are borrowed from the body when they have no escapes). The
//! kept members have the shape they have in the body, so code reading the peeked message reads
//! it as it would read the whole one.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use memchr::memmem::Finder;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::headers::META_VERSION;

/// Why [`peek_request`] refused a body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StrictError {
    /// Not JSON.
    Syntax,
    /// Some object has a member name twice.
    Duplicate,
}

/// Which members of an object a peek keeps, with what it keeps of their values.
struct Shape(&'static [(&'static str, Keep)]);

/// What a peek keeps of a value.
#[derive(Clone, Copy)]
enum Keep {
    /// The whole value.
    All,
    /// An object's listed members (a value that is not an object is kept whole).
    Members(&'static Shape),
    /// Nothing: the value is only checked.
    Nothing,
}

const META: Shape = Shape(&[(META_VERSION, Keep::All)]);
const REFERENCE: Shape = Shape(&[("type", Keep::All), ("name", Keep::All), ("uri", Keep::All)]);
const PARAMS: Shape = Shape(&[
    ("name", Keep::All),
    ("uri", Keep::All),
    ("ref", Keep::Members(&REFERENCE)),
    ("taskId", Keep::All),
    ("_meta", Keep::Members(&META)),
]);
const REQUEST: Shape = Shape(&[
    ("id", Keep::All),
    ("method", Keep::All),
    ("params", Keep::Members(&PARAMS)),
]);
const TASK: Shape = Shape(&[("taskId", Keep::All), ("ttlMs", Keep::All)]);
const RESULT: Shape = Shape(&[
    ("resultType", Keep::All),
    ("taskId", Keep::All),
    ("ttlMs", Keep::All),
    ("task", Keep::Members(&TASK)),
]);
const ANSWER: Shape = Shape(&[("id", Keep::All), ("result", Keep::Members(&RESULT))]);

/// Parses a JSON-RPC request body (one message or a batch) strictly — an object with a member
/// name twice, at any depth, is refused (names compared after unescaping) — and keeps what the
/// layer reads: `id`, `method` and
/// `params.{name, uri, ref.{type, name, uri}, taskId, _meta[protocolVersion]}`.
pub(crate) fn peek_request(bytes: &[u8]) -> Result<Value, StrictError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let peeked = Peek::root(&REQUEST, true)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match peeked {
        Ok(value) => Ok(value.unwrap_or(Value::Null)),
        Err(e) if e.is_data() => Err(StrictError::Duplicate),
        Err(_) => Err(StrictError::Syntax),
    }
}

/// Reads a JSON-RPC answer (one message or a batch) for the tasks it creates: keeps `id` (for
/// an error in its place) and `result.{resultType, taskId, ttlMs, task.{taskId, ttlMs}}`. Not
/// strict (the answer is the server's own); `None` for a body that is not JSON or cannot create
/// a task.
pub(crate) fn peek_answer(bytes: &[u8]) -> Option<Value> {
    // Every member that creates a task (`resultType: "task"`, `task`, `taskId`) has `"task` in
    // its text, unless it is written with escapes: an answer with neither is not parsed.
    static TASK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"task"));
    static ESCAPE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\\u"));
    if TASK.find(bytes).is_none() && ESCAPE.find(bytes).is_none() {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Peek::root(&ANSWER, false)
        .deserialize(&mut deserializer)
        .ok()?;
    deserializer.end().ok()?;
    value
}

/// The seed (and visitor) of one value: what to keep of it, and whether duplicate member names
/// are refused.
#[derive(Clone, Copy)]
struct Peek {
    keep: Keep,
    /// The body's top level: an array there is a batch, each message peeked with `keep`.
    root: bool,
    strict: bool,
}

impl Peek {
    fn root(shape: &'static Shape, strict: bool) -> Self {
        Self {
            keep: Keep::Members(shape),
            root: true,
            strict,
        }
    }

    fn child(self, keep: Keep) -> Self {
        Self {
            keep,
            root: false,
            strict: self.strict,
        }
    }

    /// `value`, unless nothing is kept.
    fn leaf<E>(self, value: impl FnOnce() -> Value) -> Result<Option<Value>, E> {
        Ok(match self.keep {
            Keep::Nothing => None,
            Keep::All | Keep::Members(_) => Some(value()),
        })
    }
}

impl<'de> DeserializeSeed<'de> for Peek {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Peek {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        self.leaf(|| Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        self.leaf(|| Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        self.leaf(|| Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        self.leaf(|| Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        self.leaf(|| Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        self.leaf(|| Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        self.leaf(|| Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        self.leaf(|| Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let element = match self.keep {
            // A batch: each message has the shape of one.
            Keep::Members(_) if self.root => self.child(self.keep),
            Keep::Nothing => self.child(Keep::Nothing),
            Keep::All | Keep::Members(_) => self.child(Keep::All),
        };
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(element)? {
            items.extend(item);
        }
        self.leaf(|| Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut names = Names::default();
        let mut object = Map::new();
        while let Some(Name(name)) = map.next_key()? {
            if self.strict && !names.insert(name.clone()) {
                return Err(serde::de::Error::custom("duplicate member name"));
            }
            let keep = match self.keep {
                Keep::All => Keep::All,
                Keep::Nothing => Keep::Nothing,
                Keep::Members(Shape(members)) => members
                    .iter()
                    .find(|(member, _)| *member == name)
                    .map_or(Keep::Nothing, |&(_, keep)| keep),
            };
            if let Some(value) = map.next_value_seed(self.child(keep))? {
                object.insert(name.into_owned(), value);
            }
        }
        self.leaf(|| Value::Object(object))
    }
}

/// An object member name, borrowed from the body unless it has escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl<'de> Visitor<'de> for NameVisitor {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a member name")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Name(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(NameVisitor)
    }
}

/// The member names of one object seen so far: a short list on the stack, compared one by one,
/// and a hash set once an object has many members (so that a hostile body of 100,000 members
/// costs linear time, not quadratic).
struct Names<'a> {
    few: [Cow<'a, str>; FEW],
    len: usize,
    many: Option<HashSet<Cow<'a, str>>>,
}

/// Above this many members, an object's names go into a hash set.
const FEW: usize = 16;

impl Default for Names<'_> {
    fn default() -> Self {
        Self {
            few: std::array::from_fn(|_| Cow::Borrowed("")),
            len: 0,
            many: None,
        }
    }
}

impl<'a> Names<'a> {
    /// Adds `name`; `false` if it was there.
    fn insert(&mut self, name: Cow<'a, str>) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(name);
        }
        let few = &mut self.few[..self.len];
        if few.contains(&name) {
            return false;
        }
        if self.len < FEW {
            self.few[self.len] = name;
            self.len += 1;
        } else {
            let mut many: HashSet<Cow<'a, str>> = few.iter_mut().map(std::mem::take).collect();
            many.insert(name);
            self.many = Some(many);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn duplicate_names_are_refused_at_any_depth() {
        assert!(peek_request(br#"{"a":1,"b":[{"c":2}]}"#).is_ok());
        for dup in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"params":{"name":"x","name":"y"}}"#,
            br#"[{"id":1},{"id":1,"id":2}]"#,
            br#"{"a":{"b":[{"c":1,"c":1}]}}"#,
            br#"{"name":"x","name":"y"}"#,
            br#"{"params":{"arguments":{"deep":[{"x":{"y":1,"y":2}}]}}}"#,
            // Compared after unescaping.
            br#"{"method":"a","m\u0065thod":"b"}"#,
        ] {
            assert_eq!(peek_request(dup), Err(StrictError::Duplicate), "{dup:?}");
        }
        assert_eq!(peek_request(b"{"), Err(StrictError::Syntax));
        assert_eq!(peek_request(b"nope"), Err(StrictError::Syntax));
        assert_eq!(peek_request(b"[1,]"), Err(StrictError::Syntax));
        assert_eq!(peek_request(b"{} {}"), Err(StrictError::Syntax));
    }

    #[test]
    fn many_members_are_checked_in_linear_time_and_still_strictly() {
        let members: Vec<String> = (0..50_000).map(|i| format!("\"m{i}\":{i}")).collect();
        let body = format!("{{\"params\":{{\"arguments\":{{{}}}}}}}", members.join(","));
        assert!(peek_request(body.as_bytes()).is_ok());
        let body = format!(
            "{{\"params\":{{\"arguments\":{{{},\"m7\":0}}}}}}",
            members.join(",")
        );
        assert_eq!(peek_request(body.as_bytes()), Err(StrictError::Duplicate));
    }

    #[test]
    fn the_peek_keeps_what_the_layer_reads_in_its_place() {
        let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"write","arguments":{"text":"x","n":[1,2]},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","other":{}}}}"#;
        assert_eq!(
            peek_request(body).unwrap(),
            json!({"id": 7, "method": "tools/call", "params": {"name": "write",
                "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}})
        );
        // A batch: each message peeked; values that are not objects are kept whole.
        let batch = br#"[{"id":"a","method":"tasks/get","params":{"taskId":"t1"}},{"id":{"x":[1]},"method":"m","params":[1,{"y":2}]},3]"#;
        assert_eq!(
            peek_request(batch).unwrap(),
            json!([{"id": "a", "method": "tasks/get", "params": {"taskId": "t1"}},
                   {"id": {"x": [1]}, "method": "m", "params": [1, {"y": 2}]}, 3])
        );
        assert_eq!(peek_request(b"\"x\"").unwrap(), json!("x"));
    }

    #[test]
    fn answers_keep_the_tasks_they_create() {
        let answer = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"ok"}],"resultType":"task","taskId":"t","ttlMs":5,"task":{"taskId":"u","status":"working"}}}"#;
        assert_eq!(
            peek_answer(answer).unwrap(),
            json!({"id": 1, "result": {"resultType": "task", "taskId": "t", "ttlMs": 5,
                "task": {"taskId": "u"}}})
        );
        // Not strict: the server's answer is not refused for a repeated name.
        assert!(peek_answer(br#"{"result":{"taskId":"t","a":1,"a":2}}"#).is_some());
        assert!(peek_answer(b"{\"task").is_none());
        // No task member: not parsed; an escaped one: parsed.
        assert!(peek_answer(br#"{"result":{"content":[]}}"#).is_none());
        assert_eq!(
            peek_answer(br#"{"result":{"t\u0061skId":"t"}}"#).unwrap(),
            json!({"result": {"taskId": "t"}})
        );
    }
}
