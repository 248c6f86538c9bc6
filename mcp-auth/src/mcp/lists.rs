//! List answers filtered per caller: `tools/list`, `prompts/list`, `resources/list` and
//! `resources/templates/list` show only the entries whose operation the caller may use.
//!
//! The decision is [`McpAccess::shows`], made from the same table as the refusals, so an entry
//! is hidden exactly when using it would be refused. An entry whose name cannot be read is left
//! out. Only the list array changes: the rest of the result (its `nextCursor` among it) is passed
//! on as the server wrote it, so pagination goes on as the server intends (a page may come back
//! shorter, or empty, with a cursor to the next).
//!
//! JSON answers are read whole (up to [`SCAN_LIMIT`]); event streams event by event, the bytes
//! of an event held back until it is complete, every other event passed on as it came. An answer
//! too large to read is not passed on unfiltered: it becomes an error (fail closed).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures_util::StreamExt as _;
use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::access::{ListKind, McpAccess, Needs};
use super::bind::{Completed, EventSplitter, SCAN_LIMIT, media_type};
use super::jsonrpc_error_with_id;
use crate::extract::Authenticated;

/// The list requests of one request body (its JSON-RPC ids and kinds).
#[derive(Debug, Default)]
pub(crate) struct Lists {
    requests: Vec<(Value, ListKind)>,
}

/// Whether two JSON-RPC ids name one request for a server: equal strings, or numbers of equal
/// value (`1`, `1.0` and `1e0` are one id to a server that reads ids as numbers).
pub(crate) fn same_id(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        _ => a == b,
    }
}

/// Who asks: a verified token, or no one (a public request without credentials).
pub(crate) type Caller = Option<Authenticated>;

impl Lists {
    pub(crate) fn push(&mut self, id: Value, kind: ListKind) {
        self.requests.push((id, kind));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// The server's answer with every list in it filtered for `caller`.
    pub(crate) async fn filter(
        self,
        access: Arc<McpAccess>,
        caller: Caller,
        response: Response,
    ) -> Response {
        if self.is_empty() || !response.status().is_success() {
            return response;
        }
        let filter = Filter {
            lists: self,
            access,
            caller,
        };
        let media = media_type(&response);
        if media.eq_ignore_ascii_case("application/json") {
            filter.json(response).await
        } else if media.eq_ignore_ascii_case("text/event-stream") {
            filter.events(response)
        } else {
            // A list answer the layer cannot read is not passed on unread.
            tracing::debug!("a list answer of another media type than JSON or an event stream");
            let error = filter.too_large();
            jsonrpc_error_with_id(
                StatusCode::BAD_GATEWAY,
                -32603,
                UNREADABLE,
                error["id"].clone(),
            )
        }
    }
}

struct Filter {
    lists: Lists,
    access: Arc<McpAccess>,
    caller: Caller,
}

impl Filter {
    /// The JSON-RPC answer `text` (one message or a batch) with its lists filtered, or `None`
    /// when nothing is left out (or it is not an answer to a list request of ours).
    ///
    /// Read raw: only the list's entries are looked into (for the member that names each), the
    /// rest of the answer is copied as the server wrote it. An entry whose name cannot be read
    /// the one way (missing, not a string, given twice) is left out.
    fn text(&self, text: &str) -> Option<String> {
        if text.trim_start().starts_with('[') {
            let batch: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            let mut changed = false;
            let mut out: Vec<Box<RawValue>> = Vec::with_capacity(batch.len());
            for message in batch {
                match self.one(message.get()) {
                    Some(filtered) => {
                        changed = true;
                        out.push(RawValue::from_string(filtered).ok()?);
                    }
                    None => out.push(message.to_owned()),
                }
            }
            return changed.then(|| serde_json::to_string(&out).ok()).flatten();
        }
        self.one(text)
    }

    /// [`text`](Self::text) for one message.
    fn one(&self, text: &str) -> Option<String> {
        let message: BTreeMap<String, &RawValue> = serde_json::from_str(text).ok()?;
        let id: Value = serde_json::from_str(message.get("id")?.get()).ok()?;
        let &(_, kind) = self.lists.requests.iter().find(|(i, _)| same_id(i, &id))?;
        let list = kind.member();
        let result: BTreeMap<String, &RawValue> =
            serde_json::from_str(message.get("result")?.get()).ok()?;
        let entries: Vec<&RawValue> = serde_json::from_str(result.get(list)?.get()).ok()?;
        let before = entries.len();
        let permits = |needs: &Needs<'_>| {
            self.caller
                .as_ref()
                .is_some_and(|caller| caller.permits(needs))
        };
        let has: Option<&dyn Fn(&Needs<'_>) -> bool> = match self.caller {
            Some(_) => Some(&permits),
            None => None,
        };
        let mut shown = String::with_capacity(result.get(list)?.get().len());
        shown.push('[');
        let mut kept = 0;
        for entry in entries {
            let visible = EntryName::of(entry.get(), kind)
                .is_some_and(|name| self.access.shows(kind, &name, has));
            if visible {
                if kept > 0 {
                    shown.push(',');
                }
                shown.push_str(entry.get());
                kept += 1;
            }
        }
        shown.push(']');
        if kept == before {
            return None;
        }
        tracing::debug!(
            hidden = before - kept,
            list,
            "list entries hidden from the caller"
        );
        let result = object(&result, list, &shown);
        Some(object(&message, "result", &result))
    }

    /// The error that stands for a list answer too large to filter.
    fn too_large(&self) -> Value {
        let id = match self.lists.requests.as_slice() {
            [(id, _)] => id.clone(),
            _ => Value::Null,
        };
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": -32603, "message": TOO_LARGE},
        })
    }

    async fn json(self, response: Response) -> Response {
        let (mut parts, body) = response.into_parts();
        let bytes = match axum::body::to_bytes(body, SCAN_LIMIT).await {
            Ok(bytes) => bytes,
            Err(_) => {
                tracing::debug!("a list answer could not be read whole to be filtered");
                let error = self.too_large();
                return jsonrpc_error_with_id(
                    StatusCode::BAD_GATEWAY,
                    -32603,
                    TOO_LARGE,
                    error["id"].clone(),
                );
            }
        };
        let filtered = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|text| self.text(text));
        let Some(filtered) = filtered else {
            return Response::from_parts(parts, Body::from(bytes));
        };
        parts.headers.remove(http::header::CONTENT_LENGTH);
        Response::from_parts(parts, Body::from(filtered))
    }

    fn events(self, response: Response) -> Response {
        let (mut parts, body) = response.into_parts();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let state = EventFilter {
            filter: self,
            inner: body.into_data_stream(),
            events: EventSplitter::default(),
            pending: Vec::new(),
            ended: false,
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            if state.ended {
                return None;
            }
            match state.inner.next().await {
                Some(Ok(chunk)) => {
                    let out = state.feed(&chunk);
                    Some((Ok(out), state))
                }
                Some(Err(error)) => Some((Err(error), state)),
                None => {
                    // An event the server left unfinished is dropped: it could be the list,
                    // unread (clients discard an unfinished event at the end of a stream anyway).
                    state.ended = true;
                    if !state.pending.is_empty() {
                        tracing::debug!(
                            "an unfinished event at the end of a filtered stream was dropped"
                        );
                    }
                    None
                }
            }
        });
        Response::from_parts(parts, Body::from_stream(stream))
    }
}

/// The JSON object of `members` (each already JSON) with the member `name` replaced by
/// `value` (JSON). No value is parsed again: every piece was read from the server's answer, or
/// written here from such pieces.
fn object(members: &BTreeMap<String, &RawValue>, name: &str, value: &str) -> String {
    let size: usize = members
        .iter()
        .map(|(k, v)| k.len() + v.get().len() + 4)
        .sum();
    let mut out = String::with_capacity(size + value.len() + 2);
    out.push('{');
    for (i, (key, raw)) in members.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        // A key is a string: written as JSON, it cannot fail.
        out.push_str(&serde_json::to_string(key).unwrap_or_default());
        out.push(':');
        out.push_str(if key == name { value } else { raw.get() });
    }
    out.push('}');
    out
}

/// The members that name a list entry, read without building the rest of it. A member given
/// twice makes the entry unreadable (serde refuses the duplicate field).
#[derive(Deserialize)]
struct EntryName<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uri: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "uriTemplate")]
    uri_template: Option<Cow<'a, str>>,
}

impl EntryName<'_> {
    /// The name of the entry `text` of a `kind` list.
    fn of(text: &str, kind: ListKind) -> Option<Cow<'_, str>> {
        let names: EntryName<'_> = serde_json::from_str(text).ok()?;
        match kind {
            ListKind::Tools | ListKind::Prompts => names.name,
            ListKind::Resources => names.uri,
            ListKind::Templates => names.uri_template,
        }
    }
}

/// What a list answer of another media type becomes.
const UNREADABLE: &str = "The server's list answer is neither JSON nor an event stream: the authorization layer cannot filter it";

/// What a list answer too large to filter becomes.
const TOO_LARGE: &str =
    "The server's list answer is too large for the authorization layer to filter (8 MiB)";

/// The state of an event stream being filtered.
struct EventFilter {
    filter: Filter,
    inner: axum::body::BodyDataStream,
    events: EventSplitter,
    /// The bytes of the event being received.
    pending: Vec<u8>,
    ended: bool,
}

impl EventFilter {
    /// Feeds a chunk; returns the bytes to pass on: every event it completes, a list answer
    /// among them filtered.
    fn feed(&mut self, chunk: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(chunk.len());
        let mut start = 0;
        for (end, event) in self.events.feed_with_ends(chunk) {
            self.pending.extend_from_slice(&chunk[start..end]);
            start = end;
            let raw = std::mem::take(&mut self.pending);
            match event {
                Completed::Data(data) => match self.filter.text(&data) {
                    Some(filtered) => out.extend_from_slice(&rewritten(&raw, &filtered)),
                    None => out.extend_from_slice(&raw),
                },
                Completed::NoData => out.extend_from_slice(&raw),
                // An event too large to read may be the list: it is not passed on unread.
                Completed::TooLarge => {
                    tracing::debug!("an event too large to filter ended the stream");
                    self.ended = true;
                    let error = self.filter.too_large();
                    out.extend_from_slice(format!("\n\ndata: {error}\n\n").as_bytes());
                    return Bytes::from(out);
                }
            }
        }
        self.pending.extend_from_slice(&chunk[start..]);
        if self.pending.len() > SCAN_LIMIT {
            // An event this large is not passed on unread: the stream ends with an error.
            tracing::debug!("an event too large to filter ended the stream");
            self.ended = true;
            self.pending.clear();
            let error = self.filter.too_large();
            out.extend_from_slice(format!("\n\ndata: {error}\n\n").as_bytes());
        }
        Bytes::from(out)
    }
}

/// The event `raw` with its data replaced by `message`: every other field line (`id`, `event`,
/// `retry`, comments) kept as it came, then one `data` line per line of `message` (an entry the
/// server wrote over several lines keeps them) and the blank line that ends it.
fn rewritten(raw: &[u8], message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for line in lines(raw) {
        let is_data = line == b"data" || line.starts_with(b"data:");
        if !line.is_empty() && !is_data {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    for line in lines(message.as_bytes()) {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
    out
}

/// The lines of `bytes`, ended by CRLF, LF or CR.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = match rest.get(end..end + 2) {
            Some(b"\r\n") => 2,
            _ if end < rest.len() => 1,
            _ => 0,
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::Operation;
    use serde_json::json;

    fn filter(caller: Caller) -> Filter {
        let mut lists = Lists::default();
        lists.push(json!(1), ListKind::Tools);
        lists.push(json!("p"), ListKind::Prompts);
        Filter {
            lists,
            access: Arc::new(
                McpAccess::new()
                    .scopes(Operation::tool("create_note"), ["write:notes"])
                    .scopes(Operation::prompt("summarize"), ["read:notes"])
                    .public(Operation::tool("about")),
            ),
            caller,
        }
    }

    fn filtered(filter: &Filter, answer: Value) -> Option<Value> {
        filter
            .text(&answer.to_string())
            .map(|text| serde_json::from_str(&text).unwrap())
    }

    #[test]
    fn an_anonymous_caller_sees_the_public_entries_and_the_cursor_stays() {
        let answer = json!({"jsonrpc": "2.0", "id": 1, "result": {
            "tools": [{"name": "about"}, {"name": "create_note"}, {"name": "whoami"},
                      {"title": "no name"}, {"name": 7}],
            "nextCursor": "c2"
        }});
        let answer = filtered(&filter(None), answer).unwrap();
        assert_eq!(answer["result"]["tools"], json!([{"name": "about"}]));
        assert_eq!(answer["result"]["nextCursor"], "c2");
        assert_eq!(answer["jsonrpc"], "2.0");
    }

    #[test]
    fn an_entry_whose_name_is_given_twice_is_left_out() {
        let text = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"about"},{"name":"about","name":"create_note"}]}}"#;
        let answer: Value = serde_json::from_str(&filter(None).text(text).unwrap()).unwrap();
        assert_eq!(answer["result"]["tools"], json!([{"name": "about"}]));
    }

    #[test]
    fn answers_to_other_requests_are_left_alone() {
        let answer =
            json!({"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "create_note"}]}});
        assert!(filtered(&filter(None), answer).is_none());
        let batch = json!([
            {"jsonrpc": "2.0", "id": 2, "result": {"tools": [{"name": "create_note"}]}},
            {"jsonrpc": "2.0", "id": "p", "result": {"prompts": [{"name": "summarize"}]}}
        ]);
        let batch = filtered(&filter(None), batch).unwrap();
        assert_eq!(batch[0]["result"]["tools"][0]["name"], "create_note");
        assert_eq!(batch[1]["result"]["prompts"], json!([]));
    }

    #[test]
    fn an_event_is_rewritten_with_its_other_fields_kept() {
        let mut state = EventFilter {
            filter: filter(None),
            inner: Body::empty().into_data_stream(),
            events: EventSplitter::default(),
            pending: Vec::new(),
            ended: false,
        };
        let first = state
            .feed(b": ping\n\nid: 7\r\nevent: message\r\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,");
        assert_eq!(
            &first[..],
            b": ping\n\n",
            "the unfinished event is held back"
        );
        let second = state.feed(
            b"\r\ndata: \"result\":{\"tools\":[{\"name\":\"create_note\"}]}}\r\n\r\ndata: {}\n\n",
        );
        let text = std::str::from_utf8(&second).unwrap();
        assert_eq!(
            text,
            "id: 7\nevent: message\ndata: {\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{\"tools\":[]}}\n\ndata: {}\n\n"
        );
    }

    fn stream_state() -> EventFilter {
        EventFilter {
            filter: filter(None),
            inner: Body::empty().into_data_stream(),
            events: EventSplitter::default(),
            pending: Vec::new(),
            ended: false,
        }
    }

    /// An event too large to read may be the list: the stream ends with an error in its place,
    /// whether it came in one chunk or in many.
    #[test]
    fn an_event_too_large_to_filter_is_not_passed_on() {
        let entry = format!(
            "{{\"name\":\"create_note\",\"description\":\"{}\"}}",
            "x".repeat(1024)
        );
        let tools = vec![entry; SCAN_LIMIT / 1024 + 8].join(",");
        let event = format!(
            "data: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"tools\":[{tools}]}}}}\n\n"
        );
        let mut one = stream_state();
        let out = one.feed(event.as_bytes());
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("create_note"), "nothing of the list passes");
        assert!(
            text.contains("too large"),
            "{}",
            &text[..text.len().min(200)]
        );
        assert!(one.ended);
        let mut many = stream_state();
        let mut passed = Vec::new();
        for chunk in event.as_bytes().chunks(64 * 1024) {
            if many.ended {
                break;
            }
            passed.extend_from_slice(&many.feed(chunk));
        }
        assert!(!String::from_utf8_lossy(&passed).contains("create_note"));
        assert!(many.ended);
    }

    /// An answer the server spread over several `data` lines keeps its line breaks as `data`
    /// lines when rewritten: no raw line end inside a field.
    #[test]
    fn a_multi_line_answer_is_rewritten_line_by_line() {
        let mut state = stream_state();
        let out = state.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"about\",\ndata: \"description\":\"d\"},{\"name\":\"create_note\"}]}}\n\n");
        let text = std::str::from_utf8(&out).unwrap();
        let data: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .collect::<Vec<_>>()
            .join("\n");
        let answer: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(
            answer["result"]["tools"],
            json!([{"name": "about", "description": "d"}])
        );
        assert!(
            text.lines()
                .all(|l| l.is_empty() || l.starts_with("data: ")),
            "{text}"
        );
    }

    #[test]
    fn lines_end_at_crlf_lf_and_cr() {
        let all: Vec<&[u8]> = lines(b"a\r\nb\nc\rd").collect();
        assert_eq!(all, [&b"a"[..], b"b", b"c", b"d"]);
    }
}
