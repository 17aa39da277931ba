//! Events to Meshery: any number of StreamEvents subscribers, none of which can slow the others
//! or an operation, and a bounded backlog for events emitted while nobody listens.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::Stream;
use tokio::sync::mpsc;
use wasmesh_proto::meshes::{EventType, EventsResponse};

use crate::metrics::PluginMetrics;

/// Events kept while no subscriber is connected; the oldest go first.
pub const BACKLOG: usize = 1000;
/// Bytes of events kept while no subscriber is connected; the oldest go first.
pub const BACKLOG_BYTES: usize = 8 << 20;
/// Events queued per subscriber; a subscriber that falls this far behind misses events.
pub const SUBSCRIBER_QUEUE: usize = 4096;
/// Bytes queued per subscriber: one that stops reading holds at most this much of the host's
/// memory, and misses events beyond it.
pub const SUBSCRIBER_BYTES: usize = 16 << 20;
/// Subscribers at once per adapter; a new one beyond this is refused (an old one, Meshery's own
/// subscription, is never pushed out).
pub const MAX_SUBSCRIBERS: usize = 256;
/// Longest summary or details sent; Meshery's client refuses messages over 4 MiB.
pub const MAX_TEXT: usize = 64 * 1024;
/// Longest probable cause or suggested remediation sent.
pub const MAX_HINT: usize = 4 * 1024;
/// Longest error code or operation id sent.
pub const MAX_CODE: usize = 256;

pub struct EventHub {
    component_name: String,
    inner: Mutex<Inner>,
    metrics: PluginMetrics,
}

#[derive(Default)]
struct Inner {
    subscribers: Vec<Subscriber>,
    backlog: VecDeque<EventsResponse>,
    /// Sum of [`size`] over the backlog.
    backlog_bytes: usize,
    /// After shutdown: new subscribers get a stream that ends at once.
    closed: bool,
}

struct Subscriber {
    tx: mpsc::Sender<EventsResponse>,
    /// Bytes sent to this subscriber and not yet taken by its stream.
    queued: Arc<AtomicUsize>,
}

impl Subscriber {
    fn send(&self, message: EventsResponse) -> bool {
        let n = size(&message);
        if self.queued.load(Ordering::Acquire) + n > SUBSCRIBER_BYTES {
            return false;
        }
        self.queued.fetch_add(n, Ordering::AcqRel);
        if self.tx.try_send(message).is_err() {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        true
    }
}

/// Refused: the adapter already has [`MAX_SUBSCRIBERS`] event subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManySubscribers;

/// One StreamEvents subscription: the events in order, ending when the hub closes.
pub struct Subscription {
    rx: mpsc::Receiver<EventsResponse>,
    queued: Arc<AtomicUsize>,
}

impl Subscription {
    fn took(&self, e: &EventsResponse) {
        self.queued.fetch_sub(size(e), Ordering::AcqRel);
    }

    /// The next event if one is queued (for tests and polling callers).
    pub fn try_recv(&mut self) -> Result<EventsResponse, mpsc::error::TryRecvError> {
        let e = self.rx.try_recv()?;
        self.took(&e);
        Ok(e)
    }
}

impl Stream for Subscription {
    type Item = EventsResponse;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<EventsResponse>> {
        let polled = self.rx.poll_recv(cx);
        if let Poll::Ready(Some(e)) = &polled {
            self.took(e);
        }
        polled
    }
}

/// What an event costs in memory while it waits: its texts plus a little for the rest.
fn size(e: &EventsResponse) -> usize {
    64 + e.summary.len()
        + e.details.len()
        + e.operation_id.len()
        + e.probable_cause.len()
        + e.suggested_remediation.len()
        + e.error_code.len()
        + e.component_name.len()
}

/// Cuts `s` to at most `max` bytes (on a character boundary), saying so.
pub fn clip(mut s: String, max: usize) -> String {
    const MARK: &str = " [truncated]";
    if s.len() > max {
        let mut end = max.saturating_sub(MARK.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str(MARK);
    }
    s
}

/// `summary`, then what to do about it (when that is not said already).
pub fn with_action(summary: String, remediation: &str) -> String {
    let action = remediation.trim();
    if action.is_empty() || summary.contains(action) {
        summary
    } else {
        format!("{}; what to do: {action}", summary.trim_end_matches(['.', ' ']))
    }
}

/// One event, before it is addressed to Meshery.
#[derive(Clone, Debug, Default)]
pub struct Event {
    pub level: Level,
    pub summary: String,
    pub details: String,
    pub operation_id: String,
    pub error_code: String,
    pub probable_cause: String,
    pub suggested_remediation: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Level {
    #[default]
    Info,
    Warn,
    Error,
}

impl Event {
    pub fn info(operation_id: &str, summary: impl Into<String>, details: impl Into<String>) -> Self {
        Self {
            level: Level::Info,
            summary: summary.into(),
            details: details.into(),
            operation_id: operation_id.to_string(),
            ..Default::default()
        }
    }

    /// A WARN as the Meshery server keeps it: it stores only the summary of anything that is not
    /// an ERROR, so the summary also says what the user should do (the remediation, unless it
    /// says so already). Code, cause and remediation stay in their fields for newer UIs.
    pub fn warn(
        operation_id: &str,
        summary: impl Into<String>,
        details: impl Into<String>,
        code: impl Into<String>,
        cause: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        let failure = Self::error(operation_id, summary, details, code, cause, remediation);
        Self {
            level: Level::Warn,
            summary: with_action(failure.summary.clone(), &failure.suggested_remediation),
            ..failure
        }
    }

    pub fn error(
        operation_id: &str,
        summary: impl Into<String>,
        details: impl Into<String>,
        code: impl Into<String>,
        cause: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        Self {
            level: Level::Error,
            summary: summary.into(),
            details: details.into(),
            operation_id: operation_id.to_string(),
            error_code: code.into(),
            probable_cause: cause.into(),
            suggested_remediation: remediation.into(),
        }
    }
}

impl EventHub {
    pub fn new(component_name: impl Into<String>) -> Self {
        let component_name = component_name.into();
        let metrics = PluginMetrics::detached(&component_name);
        Self::with_metrics(component_name, metrics)
    }

    /// A hub counting what it publishes, drops and serves in `metrics`.
    pub fn with_metrics(component_name: impl Into<String>, metrics: PluginMetrics) -> Self {
        Self {
            component_name: component_name.into(),
            inner: Mutex::default(),
            metrics,
        }
    }

    pub fn publish(&self, event: Event) {
        let (level, label) = match event.level {
            Level::Info => (EventType::Info, "info"),
            Level::Warn => (EventType::Warn, "warn"),
            Level::Error => (EventType::Error, "error"),
        };
        self.metrics.event_published(label);
        let message = EventsResponse {
            event_type: level as i32,
            // Plugins and requests write these texts: every one is bounded here, where all
            // events pass.
            summary: clip(event.summary, MAX_TEXT),
            details: clip(event.details, MAX_TEXT),
            operation_id: clip(event.operation_id, MAX_CODE),
            probable_cause: clip(event.probable_cause, MAX_HINT),
            suggested_remediation: clip(event.suggested_remediation, MAX_HINT),
            error_code: clip(event.error_code, MAX_CODE),
            component: "adapter".into(),
            component_name: self.component_name.clone(),
        };
        // The log gets the bounded texts too, shorter still (the event has the rest).
        let logged = clip(message.summary.clone(), MAX_HINT);
        match event.level {
            Level::Error => {
                tracing::warn!(op = %message.operation_id, code = %message.error_code, "{logged}")
            }
            _ => tracing::info!(op = %message.operation_id, "{logged}"),
        }
        let mut inner = self.inner.lock().unwrap();
        inner.subscribers.retain(|s| !s.tx.is_closed());
        self.metrics.subscribers(inner.subscribers.len());
        if inner.subscribers.is_empty() {
            let n = size(&message);
            while inner.backlog.len() >= BACKLOG
                || (inner.backlog_bytes + n > BACKLOG_BYTES && !inner.backlog.is_empty())
            {
                if let Some(old) = inner.backlog.pop_front() {
                    inner.backlog_bytes -= size(&old);
                    self.metrics.event_dropped("backlog_full");
                }
            }
            inner.backlog_bytes += n;
            inner.backlog.push_back(message);
            return;
        }
        for s in &inner.subscribers {
            if !s.send(message.clone()) {
                self.metrics.event_dropped("subscriber_behind");
                tracing::warn!(
                    "an event subscriber is {SUBSCRIBER_QUEUE} events or {SUBSCRIBER_BYTES} bytes behind; it misses this event"
                );
            }
        }
    }

    /// Ends every subscriber's stream (at shutdown: an open stream would hold the server).
    pub fn close(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        inner.subscribers.clear();
        self.metrics.subscribers(0);
    }

    /// Events waiting for a first subscriber.
    pub fn pending(&self) -> usize {
        self.inner.lock().unwrap().backlog.len()
    }

    /// A new subscriber; it first receives the backlog. At [`MAX_SUBSCRIBERS`] the new one is
    /// refused: evicting the oldest would let anyone who reaches the port cut Meshery off.
    pub fn subscribe(&self) -> Result<Subscription, TooManySubscribers> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        let subscriber = Subscriber {
            tx,
            queued: Arc::default(),
        };
        let subscription = Subscription {
            rx,
            queued: subscriber.queued.clone(),
        };
        let mut inner = self.inner.lock().unwrap();
        if inner.closed {
            return Ok(subscription);
        }
        inner.subscribers.retain(|s| !s.tx.is_closed());
        if inner.subscribers.len() >= MAX_SUBSCRIBERS {
            tracing::warn!("{MAX_SUBSCRIBERS} event subscribers: refusing a new one");
            return Err(TooManySubscribers);
        }
        inner.backlog_bytes = 0;
        for e in inner.backlog.drain(..) {
            // The backlog is smaller than the queue, in count and in bytes: this cannot fail.
            subscriber.send(e);
        }
        inner.subscribers.push(subscriber);
        self.metrics.subscribers(inner.subscribers.len());
        Ok(subscription)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_goes_to_first_subscriber_then_everyone_gets_new_events() {
        let hub = EventHub::new("TEST");
        hub.publish(Event::info("op1", "before", ""));
        let mut a = hub.subscribe().unwrap();
        let mut b = hub.subscribe().unwrap();
        hub.publish(Event::info("op2", "after", ""));
        assert_eq!(a.try_recv().unwrap().summary, "before");
        assert_eq!(a.try_recv().unwrap().summary, "after");
        assert_eq!(b.try_recv().unwrap().summary, "after");
        assert!(b.try_recv().is_err());
    }

    #[test]
    fn backlog_is_bounded_and_keeps_the_newest() {
        let hub = EventHub::new("TEST");
        for i in 0..BACKLOG + 5 {
            hub.publish(Event::info(&format!("op{i}"), "x", ""));
        }
        let mut rx = hub.subscribe().unwrap();
        assert_eq!(rx.try_recv().unwrap().operation_id, "op5");
        let mut n = 1;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, BACKLOG);
    }

    #[test]
    fn closed_hub_ends_new_streams_and_long_texts_are_clipped() {
        let hub = EventHub::new("TEST");
        let mut first = hub.subscribe().unwrap();
        hub.publish(Event::info("op", "x".repeat(MAX_TEXT * 2), ""));
        let e = first.try_recv().unwrap();
        assert!(e.summary.len() <= MAX_TEXT && e.summary.ends_with("[truncated]"));
        hub.close();
        let mut late = hub.subscribe().unwrap();
        assert!(matches!(
            late.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn subscribers_are_capped_and_the_first_keeps_its_place() {
        let hub = EventHub::new("TEST");
        let mut all: Vec<_> = (0..MAX_SUBSCRIBERS).map(|_| hub.subscribe().unwrap()).collect();
        assert_eq!(hub.subscribe().err(), Some(TooManySubscribers));
        hub.publish(Event::info("op", "x", ""));
        assert!(all[0].try_recv().is_ok(), "the first subscriber still receives");
        // A subscriber that leaves frees its place.
        all.pop();
        assert!(hub.subscribe().is_ok());
    }

    #[test]
    fn every_text_is_bounded_and_the_backlog_is_bounded_in_bytes() {
        let hub = EventHub::new("TEST");
        let big = |n| "y".repeat(n);
        // 200 events of ~140 KiB: under the count bound, over the byte bound.
        for i in 0..200 {
            hub.publish(Event::error(
                &format!("op{i}{}", big(MAX_CODE)),
                big(MAX_TEXT * 2),
                big(MAX_TEXT * 2),
                big(MAX_TEXT),
                big(MAX_TEXT),
                big(MAX_TEXT),
            ));
        }
        let mut rx = hub.subscribe().unwrap();
        let mut bytes = 0;
        let mut n = 0;
        while let Ok(e) = rx.try_recv() {
            assert!(e.summary.len() <= MAX_TEXT && e.details.len() <= MAX_TEXT);
            assert!(e.probable_cause.len() <= MAX_HINT && e.suggested_remediation.len() <= MAX_HINT);
            assert!(e.error_code.len() <= MAX_CODE && e.operation_id.len() <= MAX_CODE);
            bytes += size(&e);
            n += 1;
        }
        assert!(bytes <= BACKLOG_BYTES, "{bytes} bytes kept");
        assert!(n < 200, "the byte bound, not the count, limited the backlog: {n}");
    }

    #[test]
    fn a_subscriber_that_stops_reading_holds_a_bounded_amount() {
        let hub = EventHub::new("TEST");
        let mut stalled = hub.subscribe().unwrap();
        // 300 events of 128 KiB: under the count bound, over the byte bound.
        for i in 0..300 {
            hub.publish(Event::info(
                &format!("op{i}"),
                "z".repeat(MAX_TEXT),
                "z".repeat(MAX_TEXT),
            ));
        }
        let mut bytes = 0;
        while let Ok(e) = stalled.try_recv() {
            bytes += size(&e);
        }
        assert!(bytes <= SUBSCRIBER_BYTES, "{bytes} bytes queued");
        // Once read, it receives again.
        hub.publish(Event::info("after", "x", ""));
        assert_eq!(stalled.try_recv().unwrap().operation_id, "after");
    }

    #[test]
    fn a_full_subscriber_does_not_block_others() {
        let hub = EventHub::new("TEST");
        let _stalled = hub.subscribe().unwrap();
        let mut live = hub.subscribe().unwrap();
        for i in 0..SUBSCRIBER_QUEUE + 10 {
            hub.publish(Event::info(&format!("op{i}"), "x", ""));
            // The live one keeps up.
            assert_eq!(live.try_recv().unwrap().operation_id, format!("op{i}"));
        }
    }
}
