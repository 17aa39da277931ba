//! Graceful shutdown: on SIGTERM or SIGINT the listeners say NOT_SERVING and stop accepting,
//! operations in flight get the configured grace period to finish, and the ones still running
//! then are stopped and reported to the subscribers as ERROR events before the streams end.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

use crate::events::{Event, EventHub};
use crate::metrics::{Outcome, PluginMetrics};

/// The code of an operation stopped at shutdown.
pub const CUT_OFF_CODE: &str = "WASMESH-HOST-1030";

/// Operations running on any listener of the host.
#[derive(Default)]
pub struct InFlight {
    running: Mutex<HashMap<u64, Running>>,
    next: AtomicU64,
    /// How many are running; shutdown waits for 0.
    count: watch::Sender<usize>,
    /// Set when shutdown stops what is left: an operation admitted before that but handed over
    /// after it (its clusters were still being resolved) is stopped and reported at once.
    closed: std::sync::atomic::AtomicBool,
}

/// An operation handed over after shutdown stopped the rest: it never runs, and its caller must
/// be told so in its answer (the event streams may already have ended).
#[derive(Debug)]
pub struct NotStarted;

struct Running {
    operation_id: String,
    key: String,
    events: Arc<EventHub>,
    metrics: PluginMetrics,
    abort: AbortHandle,
    started: tokio::time::Instant,
}

/// What a tracked operation is, for its metrics and for the event if it is cut off.
pub struct Tracked<'a> {
    pub operation_id: &'a str,
    /// An operation key the plugin offers, or `design`.
    pub key: &'a str,
    pub events: &'a Arc<EventHub>,
    pub metrics: &'a PluginMetrics,
}

impl InFlight {
    /// Runs `work` as its own task, counted until it ends; `succeeded` reads its outcome. After
    /// shutdown stopped the rest, `work` is dropped unrun: an ERROR event goes to whoever still
    /// subscribes, and the caller gets [`NotStarted`] to answer with.
    pub fn spawn<T, F>(
        self: &Arc<Self>,
        op: Tracked<'_>,
        work: F,
        succeeded: fn(&T) -> bool,
    ) -> Result<JoinHandle<T>, NotStarted>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let metrics = op.metrics.clone();
        let key = op.key.to_string();
        let this = self.clone();
        // Held across spawn and insert: the task's own removal cannot come before its insert.
        let mut running = self.running.lock().unwrap();
        if self.closed.load(Ordering::SeqCst) {
            drop(running);
            drop(work);
            metrics.operation(&key, Outcome::CutOff);
            tracing::warn!(operation_id = %crate::logging::id_field(op.operation_id), "not started: the adapter is shutting down");
            // The streams may have ended already: this event can be lost, the caller's answer not.
            op.events.publish(cut_off_event(op.operation_id, op.key, None));
            return Err(NotStarted);
        }
        metrics.operation_started();
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(async move {
            let out = work.await;
            // Not found: shutdown already counted it as cut off.
            if this.finished(id) {
                let outcome = if succeeded(&out) {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                metrics.operation_ended(&key, started.elapsed(), outcome);
            }
            out
        });
        running.insert(
            id,
            Running {
                operation_id: op.operation_id.to_string(),
                key: op.key.to_string(),
                events: op.events.clone(),
                metrics: op.metrics.clone(),
                abort: task.abort_handle(),
                started,
            },
        );
        self.count.send_replace(running.len());
        Ok(task)
    }

    fn finished(&self, id: u64) -> bool {
        let mut running = self.running.lock().unwrap();
        let found = running.remove(&id).is_some();
        self.count.send_replace(running.len());
        found
    }

    pub fn len(&self) -> usize {
        *self.count.borrow()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits up to `grace` for every operation to end, then stops the rest, each with an ERROR
    /// event to its subscribers. Returns how many were cut off.
    pub async fn drain(&self, grace: Duration) -> usize {
        let mut count = self.count.subscribe();
        let _ = tokio::time::timeout(grace, count.wait_for(|n| *n == 0)).await;
        let cut: Vec<Running> = {
            let mut running = self.running.lock().unwrap();
            self.closed.store(true, Ordering::SeqCst);
            running.drain().map(|(_, r)| r).collect()
        };
        self.count.send_replace(0);
        for r in &cut {
            r.abort.abort();
            r.metrics.operation_ended(&r.key, r.started.elapsed(), Outcome::CutOff);
            tracing::warn!(operation_id = %crate::logging::id_field(&r.operation_id), "cut off at shutdown after {} s", grace.as_secs());
            r.events.publish(cut_off_event(&r.operation_id, &r.key, Some(grace)));
        }
        cut.len()
    }
}

/// The ERROR an operation gets when shutdown stops it: after the grace period (`Some`), or
/// before it started (`None`).
fn cut_off_event(operation_id: &str, key: &str, grace: Option<Duration>) -> Event {
    let summary = match grace {
        Some(g) => format!(
            "\"{key}\" was stopped: the adapter shut down before it finished (grace period {} s)",
            g.as_secs()
        ),
        None => format!("\"{key}\" was not started: the adapter is shutting down"),
    };
    Event::error(
        operation_id,
        summary,
        "",
        CUT_OFF_CODE,
        "the host was told to stop (SIGTERM or SIGINT: a rollout, a scale-down or an operator) while the \
         operation ran, and it did not end within shutdown_grace_seconds",
        "the operation may have stopped part-way: look at the cluster, then run it again once the adapter \
         is back; raise shutdown_grace_seconds (and the pod's terminationGracePeriodSeconds) if operations \
         need longer",
    )
}

/// Resolves when the process is told to stop (SIGTERM, or SIGINT / Ctrl-C).
pub async fn signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("no SIGTERM handler ({e}); stopping on SIGINT only");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
