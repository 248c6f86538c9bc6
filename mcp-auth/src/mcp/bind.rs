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
const SCAN_LIMIT: usize = 8 * 1024 * 1024;

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
            tracing::debug!("a state handle could not be bound or checked; answered 503");
            self.protection
                .notices
                .store_unavailable(&self.protection.id, &report.reason);
            return self.retry_later(
                crate::binding::UNAVAILABLE_DESCRIPTION,
                id,
                report.retry_after,
            );
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
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim())
            .unwrap_or_default();
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
            tracing::debug!("a state handle could not be bound or checked; stream ended");
            let protection = &state.protection;
            protection
                .notices
                .store_unavailable(&protection.id, &report.reason);
            state.ended = true;
            return Some((Ok(unavailable_event(&state.id)), state));
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
                return Some((Ok(unavailable_event(&id)), state));
            }
        }
        Some((Ok(chunk), state))
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// The event that ends a stream in place of an answer whose binding could not be made: a
/// JSON-RPC error answering `id` that names the binding store (after a blank line, which ends
/// any event the withheld chunk left open).
fn unavailable_event(id: &Value) -> Bytes {
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": -32603, "message": crate::binding::UNAVAILABLE_DESCRIPTION},
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

/// The state of [`Binder::scan_events`].
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

/// Cuts an event stream into events.
#[derive(Default)]
struct EventSplitter {
    /// The bytes of the event being received (up to [`SCAN_LIMIT`]).
    pending: Vec<u8>,
}

impl EventSplitter {
    /// Feeds `chunk`, returns the data of the events it completes.
    fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.pending.len() < SCAN_LIMIT {
                self.pending.push(byte);
            }
            if byte == b'\n'
                && (self.pending.ends_with(b"\n\n") || self.pending.ends_with(b"\n\r\n"))
            {
                let event = std::mem::take(&mut self.pending);
                if let Some(data) = event_data(&event) {
                    events.push(data);
                }
            }
        }
        events
    }
}

/// The `data` of one SSE event (its `data:` lines joined by `\n`), if it has any.
fn event_data(event: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(event).ok()?;
    let mut data: Option<String> = None;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // `data: x`, `data:x`, or a bare `data` (an empty value); `datum: x` is another field.
        let value = match line.strip_prefix("data") {
            Some("") => "",
            Some(rest) => match rest.strip_prefix(':') {
                Some(value) => value.strip_prefix(' ').unwrap_or(value),
                None => continue,
            },
            None => continue,
        };
        match &mut data {
            Some(existing) => {
                existing.push('\n');
                existing.push_str(value);
            }
            None => data = Some(value.to_owned()),
        }
    }
    data
}

/// The tasks a JSON-RPC answer (one message or a batch) creates, with their `ttlMs`: results with
/// `resultType: "task"` and a `taskId` (the 2026-07-28 Tasks extension), or with a `task` object
/// holding the `taskId` (the 2025-11-25 shape).
fn created_tasks(message: &Value) -> Vec<(String, Option<u64>)> {
    let messages: Vec<&Value> = match message {
        Value::Array(batch) => batch.iter().collect(),
        one => vec![one],
    };
    let mut out = Vec::new();
    for m in messages {
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
        assert_eq!(event_data(b": keep-alive\n\n"), None);
        assert_eq!(event_data(b"datum: x\n\n"), None);
    }
}
