//! Events to Meshery: any number of StreamEvents subscribers, none of which can slow the others
//! or an operation, and a bounded backlog for events emitted while nobody listens.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::mpsc;
use wasmesh_proto::meshes::{EventType, EventsResponse};

/// Events kept while no subscriber is connected; the oldest go first.
pub const BACKLOG: usize = 1000;
/// Events queued per subscriber; a subscriber that falls this far behind misses events.
pub const SUBSCRIBER_QUEUE: usize = 4096;
/// Subscribers at once per adapter; the oldest is dropped for a new one beyond this.
pub const MAX_SUBSCRIBERS: usize = 256;
/// Longest summary or details sent; Meshery's client refuses messages over 4 MiB.
pub const MAX_TEXT: usize = 64 * 1024;

pub struct EventHub {
    component_name: String,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    subscribers: Vec<mpsc::Sender<EventsResponse>>,
    backlog: VecDeque<EventsResponse>,
    /// After shutdown: new subscribers get a stream that ends at once.
    closed: bool,
}

fn clip(mut s: String) -> String {
    if s.len() > MAX_TEXT {
        let mut end = MAX_TEXT;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("\n[truncated]");
    }
    s
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
        Self {
            component_name: component_name.into(),
            inner: Mutex::default(),
        }
    }

    pub fn publish(&self, event: Event) {
        let level = match event.level {
            Level::Info => EventType::Info,
            Level::Warn => EventType::Warn,
            Level::Error => EventType::Error,
        };
        match event.level {
            Level::Error => {
                tracing::warn!(op = %event.operation_id, code = %event.error_code, "{}", event.summary)
            }
            _ => tracing::info!(op = %event.operation_id, "{}", event.summary),
        }
        let message = EventsResponse {
            event_type: level as i32,
            summary: clip(event.summary),
            details: clip(event.details),
            operation_id: event.operation_id,
            probable_cause: event.probable_cause,
            suggested_remediation: event.suggested_remediation,
            error_code: event.error_code,
            component: "adapter".into(),
            component_name: self.component_name.clone(),
        };
        let mut inner = self.inner.lock().unwrap();
        inner.subscribers.retain(|s| !s.is_closed());
        if inner.subscribers.is_empty() {
            if inner.backlog.len() == BACKLOG {
                inner.backlog.pop_front();
            }
            inner.backlog.push_back(message);
            return;
        }
        for s in &inner.subscribers {
            if s.try_send(message.clone()).is_err() {
                tracing::warn!("an event subscriber is {SUBSCRIBER_QUEUE} events behind; it misses this event");
            }
        }
    }

    /// Ends every subscriber's stream (at shutdown: an open stream would hold the server).
    pub fn close(&self) {
        let mut inner = self.inner.lock().unwrap();
        inner.closed = true;
        inner.subscribers.clear();
    }

    /// Events waiting for a first subscriber.
    pub fn pending(&self) -> usize {
        self.inner.lock().unwrap().backlog.len()
    }

    /// A new subscriber; it first receives the backlog.
    pub fn subscribe(&self) -> mpsc::Receiver<EventsResponse> {
        let (tx, rx) = mpsc::channel(SUBSCRIBER_QUEUE);
        let mut inner = self.inner.lock().unwrap();
        if inner.closed {
            return rx;
        }
        inner.subscribers.retain(|s| !s.is_closed());
        if inner.subscribers.len() >= MAX_SUBSCRIBERS {
            tracing::warn!("{MAX_SUBSCRIBERS} event subscribers: dropping the oldest for a new one");
            inner.subscribers.remove(0);
        }
        for e in inner.backlog.drain(..) {
            // The backlog is smaller than the queue: this cannot fail.
            let _ = tx.try_send(e);
        }
        inner.subscribers.push(tx);
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_goes_to_first_subscriber_then_everyone_gets_new_events() {
        let hub = EventHub::new("TEST");
        hub.publish(Event::info("op1", "before", ""));
        let mut a = hub.subscribe();
        let mut b = hub.subscribe();
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
        let mut rx = hub.subscribe();
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
        let mut first = hub.subscribe();
        hub.publish(Event::info("op", "x".repeat(MAX_TEXT * 2), ""));
        let e = first.try_recv().unwrap();
        assert!(e.summary.len() <= MAX_TEXT + 16 && e.summary.ends_with("[truncated]"));
        hub.close();
        let mut late = hub.subscribe();
        assert!(matches!(
            late.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
    }

    #[test]
    fn subscribers_are_capped() {
        let hub = EventHub::new("TEST");
        let mut all: Vec<_> = (0..MAX_SUBSCRIBERS + 1).map(|_| hub.subscribe()).collect();
        hub.publish(Event::info("op", "x", ""));
        assert!(all[0].try_recv().is_err(), "the oldest was dropped");
        assert!(all.last_mut().unwrap().try_recv().is_ok());
    }

    #[test]
    fn a_full_subscriber_does_not_block_others() {
        let hub = EventHub::new("TEST");
        let _stalled = hub.subscribe();
        let mut live = hub.subscribe();
        for i in 0..SUBSCRIBER_QUEUE + 10 {
            hub.publish(Event::info(&format!("op{i}"), "x", ""));
            // The live one keeps up.
            assert_eq!(live.try_recv().unwrap().operation_id, format!("op{i}"));
        }
    }
}
