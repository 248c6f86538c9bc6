//! Sessions and tasks bound to the user who created them, checked before dispatch and recorded
//! from the server's answers.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::response::Response;
use futures_util::StreamExt as _;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use super::{SESSION_HEADER, jsonrpc_error_with_id};
use crate::auth_info::AuthInfo;
use crate::binding::{BindingKey, BindingKind, BindingOptions, Outage, Owner, StoreError};
use crate::protection::Protection;

/// The largest JSON answer to a `tools/call` read to find a task it creates (8 MiB). A larger
/// answer is passed on unread; a task it created is then unbound, and refused to everyone.
pub(crate) const SCAN_LIMIT: usize = 8 * 1024 * 1024;

/// The bindings of one authenticated request: its user and the resource's store.
#[derive(Clone)]
pub(crate) struct Binder {
    protection: Arc<Protection>,
    info: AuthInfo,
    /// The user's digest, made on first use (most requests bind nothing).
    owner: std::sync::OnceLock<Owner>,
}

/// Why a binding could not be made or checked.
enum Failure {
    Store(StoreError),
    /// The id is bound to another user already (the server reused one).
    Taken,
}

impl Binder {
    pub(crate) fn new(protection: &Arc<Protection>, info: &AuthInfo) -> Self {
        Self {
            protection: Arc::clone(protection),
            info: info.clone(),
            owner: std::sync::OnceLock::new(),
        }
    }

    fn owner(&self) -> Owner {
        *self.owner.get_or_init(|| Owner::of(&self.info))
    }

    fn options(&self) -> &BindingOptions {
        &self.protection.bindings
    }

    fn key(&self, kind: BindingKind, id: &[u8]) -> BindingKey {
        BindingKey::new(&self.protection.id, kind, id)
    }

    /// `503` with `Retry-After`: the store did not answer, so nothing is served unchecked. The
    /// JSON-RPC error answers request `id`, so that the client's pending call ends.
    fn unavailable(&self, error: &StoreError, id: &Value) -> Response {
        tracing::debug!("binding store unavailable");
        self.protection
            .notices
            .store_unavailable(&self.protection.id, &error.to_string());
        self.retry_later(
            crate::binding::UNAVAILABLE_DESCRIPTION,
            id,
            error.retry_after(),
        )
    }

    /// `503` with `Retry-After` (the store's estimate if it has one, never below the floor)
    /// and a JSON-RPC error answering request `id`.
    fn retry_later(
        &self,
        message: &str,
        id: &Value,
        estimate: Option<std::time::Duration>,
    ) -> Response {
        let retry =
            crate::binding::retry_after_secs(estimate, self.protection.challenge.retry_floor);
        let mut response =
            jsonrpc_error_with_id(StatusCode::SERVICE_UNAVAILABLE, -32603, message, id.clone());
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(retry));
        response
    }

    /// Refuses an `Mcp-Session-Id` that is not bound to this user: `404` (session not found)
    /// for one bound to someone else or to no one, `400` for one sent twice. Returns the id.
    pub(crate) async fn check_session(
        &self,
        headers: &HeaderMap,
        id: &Value,
    ) -> Result<Option<HeaderValue>, Response> {
        let Ok(session) = crate::framing::sole(headers, &SESSION_HEADER) else {
            return Err(jsonrpc_error_with_id(
                StatusCode::BAD_REQUEST,
                -32600,
                "Invalid Request: Mcp-Session-Id appears more than once; send it once",
                id.clone(),
            ));
        };
        let Some(session) = session else {
            return Ok(None);
        };
        let key = self.key(BindingKind::Session, session.as_bytes());
        match self.options().store.owner(&key).await {
            Ok(Some(owner)) if owner == self.owner() => Ok(Some(session.clone())),
            Ok(found) => {
                if found.is_some() {
                    self.protection
                        .notices
                        .foreign_binding(&self.protection.id, "session");
                }
                tracing::debug!(bound = found.is_some(), "session refused");
                Err(jsonrpc_error_with_id(
                    StatusCode::NOT_FOUND,
                    -32001,
                    "Session not found",
                    id.clone(),
                ))
            }
            Err(error) => Err(self.unavailable(&error, id)),
        }
    }

    /// Refuses `tasks/*` requests whose task is not bound to this user: `404` with a JSON-RPC
    /// error (task not found), before the server sees them.
    pub(crate) async fn check_tasks(&self, tasks: &[String], id: &Value) -> Result<(), Response> {
        for task in tasks {
            let bound = if task.is_empty() {
                None
            } else {
                let key = self.key(BindingKind::Task, task.as_bytes());
                match self.options().store.owner(&key).await {
                    Ok(owner) => owner,
                    Err(error) => return Err(self.unavailable(&error, id)),
                }
            };
            if bound != Some(self.owner()) {
                if bound.is_some() {
                    self.protection
                        .notices
                        .foreign_binding(&self.protection.id, "task");
                }
                tracing::debug!(bound = bound.is_some(), "task refused");
                let message = if task.is_empty() {
                    "Task not found: tasks/* requests must name their task (params.taskId); listing tasks is not available behind this layer, which cannot filter out other users' tasks"
                } else {
                    "Task not found"
                };
                return Err(jsonrpc_error_with_id(
                    StatusCode::NOT_FOUND,
                    -32602,
                    message,
                    id.clone(),
                ));
            }
        }
        Ok(())
    }

    async fn claim(
        &self,
        kind: BindingKind,
        id: &[u8],
        ttl: std::time::Duration,
    ) -> Result<(), Failure> {
        let key = self.key(kind, id);
        let mine = self.owner();
        match self.options().store.claim(&key, &mine, ttl).await {
            Ok(owner) if owner == mine => Ok(()),
            Ok(_) => Err(Failure::Taken),
            Err(error) => Err(Failure::Store(error)),
        }
    }

    fn failed(&self, failure: Failure, id: &Value) -> Response {
        match failure {
            Failure::Store(error) => self.unavailable(&error, id),
            Failure::Taken => {
                self.protection.notices.id_collision(&self.protection.id);
                self.retry_later(
                    "The server issued an id that is already in use; retry",
                    id,
                    None,
                )
            }
        }
    }

    /// Records what the server's answer created: the session it issued, the tasks a
    /// `tools/call` answer created; forgets a session its owner deleted. The answer reaches the
    /// client only once its bindings are stored.
    ///
    /// If the server's code met a binding store that could not take or check a state handle
    /// (`outage`), the answer is `503` with `Retry-After` instead, whatever the code answered; an
    /// answer already streaming as server-sent events ends with an error event instead.
    pub(crate) async fn after(
        &self,
        method: &Method,
        session: Option<&HeaderValue>,
        calls_tool: bool,
        id: &Value,
        outage: Option<Arc<Outage>>,
        response: Response,
    ) -> Response {
        if let Some(report) = outage.as_deref().and_then(Outage::report) {
            tracing::debug!(source = ?report.source, "the request's code met an outage; answered 503");
            report.notify(&self.protection.notices, &self.protection.id);
            return self.retry_later(report.source.description(), id, report.retry_after);
        }
        if let Some(issued) = response.headers().get(&SESSION_HEADER)
            && session != Some(issued)
        {
            let ttl = self.options().session_ttl;
            if let Err(failure) = self
                .claim(BindingKind::Session, issued.as_bytes(), ttl)
                .await
            {
                return self.failed(failure, id);
            }
        }
        if method == Method::DELETE
            && response.status().is_success()
            && let Some(session) = session
        {
            let key = self.key(BindingKind::Session, session.as_bytes());
            if self.options().store.release(&key).await.is_err() {
                // The binding stays until its TTL; only its owner could use it anyway.
                tracing::debug!("a deleted session's binding could not be released");
            }
        }
        if !response.status().is_success() || (!calls_tool && outage.is_none()) {
            return response;
        }
        let content_type = media_type(&response);
        if content_type.eq_ignore_ascii_case("application/json") && calls_tool {
            self.scan_json(response, id).await
        } else if content_type.eq_ignore_ascii_case("text/event-stream") {
            let tasks = calls_tool.then(|| self.clone());
            watch_events(response, &self.protection, tasks, outage, id.clone())
        } else {
            response
        }
    }

    async fn bind_tasks(&self, message: &Value) -> Result<(), Failure> {
        for (task, ttl_ms) in created_tasks(message) {
            let ttl = self.options().task_ttl(ttl_ms);
            self.claim(BindingKind::Task, task.as_bytes(), ttl).await?;
        }
        Ok(())
    }

    /// A JSON answer: read (up to [`SCAN_LIMIT`]), bind the tasks it creates, pass it on.
    async fn scan_json(&self, response: Response, id: &Value) -> Response {
        let (parts, body) = response.into_parts();
        let mut stream = body.into_data_stream();
        let mut buffer = Answer::default();
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(chunk) => {
                    buffer.push(chunk);
                    if buffer.len() > SCAN_LIMIT {
                        tracing::debug!("tools/call answer too large to scan for tasks");
                        let head =
                            futures_util::stream::once(std::future::ready(Ok::<_, axum::Error>(
                                buffer.into_bytes(),
                            )));
                        return Response::from_parts(parts, Body::from_stream(head.chain(stream)));
                    }
                }
                Err(_) => {
                    // The server's answer broke off: pass on what came (the client sees it
                    // truncated, as it would without the layer).
                    return Response::from_parts(parts, Body::from(buffer.into_bytes()));
                }
            }
        }
        let buffer = buffer.into_bytes();
        if let Some(message) = super::strict::peek_answer(&buffer)
            && let Err(failure) = self.bind_tasks(&message).await
        {
            return self.failed(failure, id);
        }
        Response::from_parts(parts, Body::from(buffer))
    }
}

/// An event stream the layer watches as it passes: each event is scanned as it completes, and
/// the chunk that completes an event creating a task is passed on only once the task is bound
/// (`tasks`: the binder of a request that calls a tool). If a binding fails, or the server's code
/// met a binding store that could not take or check a state handle (`outage`), the stream ends
/// with an error event answering request `id` in place of the chunk that came then (or, if the
/// server's stream ended first, after it).
pub(crate) fn watch_events(
    response: Response,
    protection: &Arc<Protection>,
    tasks: Option<Binder>,
    outage: Option<Arc<Outage>>,
    id: Value,
) -> Response {
    let (parts, body) = response.into_parts();
    let state = EventScan {
        protection: Arc::clone(protection),
        tasks,
        inner: body.into_data_stream(),
        events: EventSplitter::default(),
        outage,
        id,
        ended: false,
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        if state.ended {
            return None;
        }
        let next = state.inner.next().await;
        if let Some(report) = state.outage.as_deref().and_then(Outage::report) {
            // Whatever came (a chunk, the end), the answer is withheld: the call ends with an
            // error naming the binding store instead.
            tracing::debug!(source = ?report.source, "the request's code met an outage; stream ended");
            report.notify(&state.protection.notices, &state.protection.id);
            state.ended = true;
            return Some((Ok(unavailable_event(&state.id, report.source)), state));
        }
        let chunk = match next {
            Some(Ok(chunk)) => chunk,
            Some(Err(error)) => return Some((Err(error), state)),
            None => return None,
        };
        let Some(binder) = &state.tasks else {
            return Some((Ok(chunk), state));
        };
        for event in state.events.feed(&chunk) {
            if let Some(message) = super::strict::peek_answer(event.as_bytes())
                && binder.bind_tasks(&message).await.is_err()
            {
                // The event is withheld; the client's call ends with an error instead, and the
                // stream with it.
                tracing::debug!("a task in an event stream could not be bound; stream ended");
                state.ended = true;
                let id = message.get("id").cloned().unwrap_or(Value::Null);
                return Some((
                    Ok(unavailable_event(
                        &id,
                        crate::binding::OutageSource::BindingStore,
                    )),
                    state,
                ));
            }
        }
        Some((Ok(chunk), state))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The event that ends a stream in place of an answer whose binding could not be made: a
/// JSON-RPC error answering `id` that names the binding store (after a blank line, which ends
/// any event the withheld chunk left open).
fn unavailable_event(id: &Value, source: crate::binding::OutageSource) -> Bytes {
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32603, "message": source.description()},
    });
    Bytes::from(format!("\n\ndata: {error}\n\n"))
}

/// A JSON answer read so far: its one chunk as it came (most answers are one), or the chunks
/// joined once a second one came.
#[derive(Default)]
struct Answer {
    first: Bytes,
    joined: Option<Vec<u8>>,
}

impl Answer {
    fn push(&mut self, chunk: Bytes) {
        match &mut self.joined {
            Some(joined) => joined.extend_from_slice(&chunk),
            None if self.first.is_empty() => self.first = chunk,
            None => {
                let mut joined = Vec::with_capacity(self.first.len() + chunk.len());
                joined.extend_from_slice(&self.first);
                joined.extend_from_slice(&chunk);
                self.joined = Some(joined);
            }
        }
    }

    fn len(&self) -> usize {
        self.joined.as_ref().map_or(self.first.len(), Vec::len)
    }

    fn into_bytes(self) -> Bytes {
        self.joined.map_or(self.first, Bytes::from)
    }
}

/// The media type of `response` (its `Content-Type` without parameters), or `""`.
pub(crate) fn media_type(response: &Response) -> &str {
    response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .unwrap_or_default()
}

/// The state of [`watch_events`].
struct EventScan {
    protection: Arc<Protection>,
    /// The binder of the tasks the answer's events create, when the request calls a tool.
    tasks: Option<Binder>,
    inner: axum::body::BodyDataStream,
    events: EventSplitter,
    outage: Option<Arc<Outage>>,
    /// The request's JSON-RPC id, which the error event of an outage answers.
    id: Value,
    /// Set once a binding failed: the stream ends after the error event.
    ended: bool,
}

/// Cuts an event stream into events, by the line rules of the `text/event-stream` format (HTML
/// Living Standard, server-sent events): a line ends at CRLF, LF or a bare CR (a CRLF split
/// between two chunks is one line end), an empty line ends an event, and an event's data is its
/// `data` fields joined by LF. An event larger than [`SCAN_LIMIT`] is passed on unread, as a
/// JSON answer that large is.
#[derive(Default)]
pub(crate) struct EventSplitter {
    /// The line being received (while the event is within [`SCAN_LIMIT`]).
    line: Vec<u8>,
    /// The bytes of the line being received.
    line_size: usize,
    /// The bytes of the event being received, line ends left out.
    size: usize,
    /// The data of the event being received, if it has a `data` field yet.
    data: Option<String>,
    /// Whether the last byte was a CR, so that an LF right after it ends nothing more.
    after_cr: bool,
}

impl EventSplitter {
    /// Feeds `chunk`, returns the data of the events it completes.
    fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        self.feed_with_ends(chunk)
            .into_iter()
            .filter_map(|(_, event)| match event {
                Completed::Data(data) => Some(data),
                Completed::NoData | Completed::TooLarge => None,
            })
            .collect()
    }

    /// Feeds `chunk`, returns each event it completes: where in `chunk` it ends (after the line
    /// end of the empty line that ends it) and what it holds.
    pub(crate) fn feed_with_ends(&mut self, chunk: &[u8]) -> Vec<(usize, Completed)> {
        let mut events = Vec::new();
        for (at, &byte) in chunk.iter().enumerate() {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match byte {
                b'\n' if after_cr => {
                    // The LF of a CRLF whose CR ended an event: the event ends after it.
                    if let Some((end, _)) = events.last_mut()
                        && *end == at
                    {
                        *end = at + 1;
                    }
                }
                b'\r' | b'\n' => {
                    if let Some(data) = self.end_line() {
                        events.push((at + 1, data));
                    }
                }
                _ => {
                    self.line_size += 1;
                    self.size = self.size.saturating_add(1);
                    if self.size <= SCAN_LIMIT {
                        self.line.push(byte);
                    }
                }
            }
        }
        events
    }

    /// Ends the line received: an empty one ends the event (`Some`: its data, none, or too
    /// large to read); a `data` field adds to the event's data (`data: x`,
    /// `data:x`, or a bare `data`, an empty value; `datum: x` is another field); any other
    /// line is another field or a comment.
    fn end_line(&mut self) -> Option<Completed> {
        if std::mem::take(&mut self.line_size) == 0 {
            let data = self.data.take();
            if std::mem::take(&mut self.size) > SCAN_LIMIT {
                tracing::debug!("event too large to scan");
                return Some(Completed::TooLarge);
            }
            return Some(data.map_or(Completed::NoData, Completed::Data));
        }
        if self.size <= SCAN_LIMIT {
            let value = match self.line.strip_prefix(b"data") {
                Some([]) => Some(&[][..]),
                Some([b':', b' ', value @ ..]) | Some([b':', value @ ..]) => Some(value),
                _ => None,
            };
            if let Some(value) = value {
                let value = String::from_utf8_lossy(value);
                match &mut self.data {
                    Some(existing) => {
                        existing.push('\n');
                        existing.push_str(&value);
                    }
                    None => self.data = Some(value.into_owned()),
                }
            }
        }
        self.line.clear();
        None
    }
}

/// An event the splitter completed.
pub(crate) enum Completed {
    /// Its `data` fields, joined by LF.
    Data(String),
    /// No `data` field (a comment, a keep-alive, an `id` or `retry` alone).
    NoData,
    /// Larger than [`SCAN_LIMIT`]: not read.
    TooLarge,
}

/// The tasks a JSON-RPC answer (one message or a batch) creates, with their `ttlMs`: results with
/// `resultType: "task"` and a `taskId` (the 2026-07-28 Tasks extension), or with a `task` object
/// holding the `taskId` (the 2025-11-25 shape).
fn created_tasks(message: &Value) -> Vec<(String, Option<u64>)> {
    let mut out = Vec::new();
    for m in super::messages(message) {
        let Some(result) = m.get("result") else {
            continue;
        };
        let task = if result.get("resultType").and_then(Value::as_str) == Some("task") {
            Some(result)
        } else {
            result.get("task").filter(|t| t.is_object())
        };
        if let Some(task) = task
            && let Some(id) = task.get("taskId").and_then(Value::as_str)
        {
            out.push((id.to_owned(), task.get("ttlMs").and_then(Value::as_u64)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rs57_created_tasks_are_found_in_both_shapes() {
        let new = json!({"jsonrpc": "2.0", "id": 1,
            "result": {"resultType": "task", "taskId": "t1", "status": "working", "ttlMs": 5000}});
        assert_eq!(created_tasks(&new), [("t1".to_owned(), Some(5000))]);
        let old =
            json!({"jsonrpc": "2.0", "id": 1, "result": {"task": {"taskId": "t2", "ttlMs": null}}});
        assert_eq!(created_tasks(&old), [("t2".to_owned(), None)]);
        let done = json!({"jsonrpc": "2.0", "id": 1, "result": {"resultType": "complete", "taskId": "t3"}});
        assert!(created_tasks(&done).is_empty());
        assert!(created_tasks(&json!({"result": {"content": []}})).is_empty());
    }

    #[test]
    fn sse_events_are_cut_at_blank_lines_and_their_data_joined() {
        let mut scan = EventSplitter::default();
        assert!(scan.feed(b"id: 1\ndata: {\"a\":").is_empty());
        assert_eq!(
            scan.feed(b"\ndata: 1}\n\nevent: x\r\ndata:2\r\n\r\n"),
            ["{\"a\":\n1}".to_owned(), "2".to_owned()]
        );
        assert!(scan.feed(b": keep-alive\n\n").is_empty());
        assert!(scan.feed(b"datum: x\n\n").is_empty());
        assert_eq!(scan.feed(b"data\n\n"), [String::new()]);
    }

    /// An event larger than the scan limit is passed over, whatever its lines; the next one is
    /// read.
    #[test]
    fn an_event_over_the_scan_limit_is_not_read() {
        let mut scan = EventSplitter::default();
        let half = vec![b'x'; SCAN_LIMIT / 2];
        for _ in 0..3 {
            assert!(scan.feed(b"data: ").is_empty());
            assert!(scan.feed(&half).is_empty());
            assert!(scan.feed(b"\n").is_empty());
        }
        assert!(
            scan.feed(b"\n").is_empty(),
            "the oversized event ends unread"
        );
        assert_eq!(scan.feed(b"data: {}\n\n"), ["{}"]);
    }

    /// A bare CR ends a line as LF and CRLF do; a CRLF cut between two chunks is one line end,
    /// not an empty line.
    #[test]
    fn sse_lines_end_at_a_bare_cr_too() {
        let mut scan = EventSplitter::default();
        assert_eq!(scan.feed(b"data: a\r\rdata: b\r\r"), ["a", "b"]);
        assert!(scan.feed(b"data: c\r").is_empty());
        assert!(
            scan.feed(b"\ndata: d\r").is_empty(),
            "the LF completes the CRLF"
        );
        assert_eq!(scan.feed(b"\n\r\n"), ["c\nd"]);
        let mut scan = EventSplitter::default();
        assert_eq!(
            scan.feed(b"data: {\"result\":{\"resultType\":\"task\",\"taskId\":\"t\"}}\r\r"),
            ["{\"result\":{\"resultType\":\"task\",\"taskId\":\"t\"}}"]
        );
    }
}
