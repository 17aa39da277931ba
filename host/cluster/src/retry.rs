//! The one retry policy of the requests the host sends an API server.
//!
//! Only requests that are safe to send again are made through it: server-side applies and merge
//! patches that set fixed values (the same request leaves the same object), deletes (a second one
//! finds the object gone) and reads. Only failures that may pass are retried: 429 (after the
//! Retry-After the server asked for, capped), 500, 502, 503, 504, and a connection that failed or
//! timed out. Anything else (a refusal, an invalid object, a conflict with another field manager)
//! is the answer, and is reported at once.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::errors::is_api_status;

/// How long the retries of a read with no deadline of its own may go on.
const READ_WINDOW: Duration = Duration::from_secs(5);

/// How often and how long to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The pause before the first retry; it doubles at each retry, with jitter.
    pub base: Duration,
    /// The longest pause the doubling reaches.
    pub cap: Duration,
    /// The longest Retry-After honoured: a server asking for more is retried after this.
    pub retry_after_cap: Duration,
}

/// The policy of every retried request.
pub const RETRY_POLICY: RetryPolicy = RetryPolicy {
    attempts: 5,
    base: Duration::from_millis(200),
    cap: Duration::from_secs(3),
    retry_after_cap: Duration::from_secs(10),
};

impl RetryPolicy {
    /// The pause before retry number `retry` (1-based): what the server asked for (capped), else
    /// the doubled base with jitter (between half and all of it), so clients that failed together
    /// do not come back together.
    fn pause(&self, retry: u32, asked: Option<Duration>) -> Duration {
        if let Some(asked) = asked {
            return asked.min(self.retry_after_cap);
        }
        let full = self.base.saturating_mul(1 << (retry - 1).min(16)).min(self.cap);
        full / 2 + full.mul_f64(fastrand::f64() / 2.0)
    }
}

/// Why a failed request may succeed when sent again, and the wait the server asked for; None when
/// sending it again is no use.
fn transient(e: &kube::Error) -> Option<(String, Option<Duration>)> {
    // The same answer again would be as large.
    if crate::bound::too_large(e).is_some() {
        return None;
    }
    match e {
        kube::Error::Api(s) if matches!(s.code, 429 | 500 | 502 | 503 | 504) => {
            let asked = s
                .details
                .as_ref()
                .map(|d| d.retry_after_seconds)
                .filter(|&s| s > 0)
                .map(|s| Duration::from_secs(s.into()));
            // A body that is no Status (a proxy's page) is not shown, as everywhere else.
            let why = if is_api_status(s) {
                format!("{} {}", s.code, s.reason)
            } else {
                format!("HTTP {}", s.code)
            };
            Some((why, asked))
        }
        // A refused or lost connection, or a timeout: the request got no answer.
        kube::Error::HyperError(e) => Some((format!("no answer ({e})"), None)),
        kube::Error::Service(e) => Some((format!("no answer ({e})"), None)),
        _ => None,
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The retries of one step or one read: until when they may go on, what they were, and who is
/// told about each as it happens.
pub struct Retries<'a> {
    policy: RetryPolicy,
    deadline: Instant,
    notes: Mutex<Vec<String>>,
    gave_up: Mutex<Option<u32>>,
    observer: Option<&'a (dyn Fn(&str) + Send + Sync)>,
    /// What the requests are about (a step's object), for the host log.
    about: String,
}

impl<'a> Retries<'a> {
    /// Retries that stop before `deadline`: no pause runs past it.
    pub fn until(deadline: Instant) -> Self {
        Retries {
            policy: RETRY_POLICY,
            deadline,
            notes: Mutex::default(),
            gave_up: Mutex::default(),
            observer: None,
            about: String::new(),
        }
    }

    /// Retries of a read made outside a step (a grant check's, a plugin's when no deadline is
    /// given): a few seconds at most.
    pub fn reads() -> Self {
        Retries::until(Instant::now() + READ_WINDOW)
    }

    /// Retries that tell `observer` about each retry as it is decided.
    pub fn observed(deadline: Instant, observer: &'a (dyn Fn(&str) + Send + Sync)) -> Self {
        Retries {
            observer: Some(observer),
            ..Retries::until(deadline)
        }
    }

    /// Names what the requests are about in the host's log lines.
    pub fn about(mut self, what: String) -> Self {
        self.about = what;
        self
    }

    /// One sentence per retry and per give-up, in order.
    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap().clone()
    }

    /// The attempts made by the last request, when it failed for good on a failure that may
    /// pass (so the error it returned is the last of several).
    pub fn gave_up(&self) -> Option<u32> {
        *self.gave_up.lock().unwrap()
    }

    /// `e`, said to be the last of several tries when the request that failed was given up.
    pub fn explain(&self, e: crate::Error) -> crate::Error {
        match self.gave_up() {
            Some(attempts) if !matches!(e, crate::Error::Deadline { .. }) => crate::Error::Retried {
                attempts,
                last: Box::new(e),
            },
            _ => e,
        }
    }

    fn note(&self, text: String) {
        if self.about.is_empty() {
            tracing::warn!("{text}");
        } else {
            tracing::warn!("{}: {text}", self.about);
        }
        if let Some(o) = self.observer {
            o(&text);
        }
        self.notes.lock().unwrap().push(text);
    }

    /// Sends the request `send` makes, again while it fails in a way that may pass, as the policy
    /// says; `what` names it in the notes ("patch ConfigMap \"x\" in namespace \"y\"").
    pub(crate) async fn run<T, F, Fut>(&self, what: &str, mut send: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let policy = self.policy;
        *self.gave_up.lock().unwrap() = None;
        let mut attempt = 1;
        loop {
            let e = match send().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let Some((why, asked)) = transient(&e) else {
                return Err(e);
            };
            if attempt >= policy.attempts {
                self.note(format!("{what}: {why}, gave up after {attempt} attempts"));
                *self.gave_up.lock().unwrap() = Some(attempt);
                return Err(e);
            }
            let pause = policy.pause(attempt, asked);
            let left = self.deadline.saturating_duration_since(Instant::now());
            if pause >= left {
                self.note(format!(
                    "{what}: {why}, not retried: the operation's deadline is {} away",
                    seconds(left)
                ));
                *self.gave_up.lock().unwrap() = Some(attempt);
                return Err(e);
            }
            let wait = match asked {
                Some(a) if a > policy.retry_after_cap => {
                    format!("{} (the server asked for {} s)", seconds(pause), a.as_secs())
                }
                Some(_) => format!("{} as the server asked", seconds(pause)),
                None => seconds(pause),
            };
            self.note(format!(
                "{what}: {why}, retry {attempt} of {} after {wait}",
                policy.attempts - 1
            ));
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_with_jitter_up_to_the_cap_and_honour_retry_after_capped() {
        let p = RETRY_POLICY;
        for _ in 0..50 {
            let first = p.pause(1, None);
            assert!(first >= p.base / 2 && first <= p.base, "{first:?}");
            let third = p.pause(3, None);
            assert!(third >= p.base * 2 && third <= p.base * 4, "{third:?}");
            assert!(p.pause(30, None) <= p.cap);
        }
        assert_eq!(p.pause(1, Some(Duration::from_secs(2))), Duration::from_secs(2));
        assert_eq!(p.pause(1, Some(Duration::from_secs(3600))), p.retry_after_cap);
    }

    fn status(code: u16, reason: &str, retry_after: u32) -> kube::Error {
        kube::Error::Api(
            serde_json::from_value::<kube::core::Status>(serde_json::json!({
                "status": "Failure", "code": code, "reason": reason, "message": "m",
                "details": {"retryAfterSeconds": retry_after},
            }))
            .unwrap()
            .boxed(),
        )
    }

    #[test]
    fn only_failures_that_may_pass_are_transient() {
        for code in [429, 500, 502, 503, 504] {
            assert!(transient(&status(code, "X", 0)).is_some(), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 410, 422] {
            assert!(transient(&status(code, "X", 0)).is_none(), "{code}");
        }
        let (why, asked) = transient(&status(429, "TooManyRequests", 2)).unwrap();
        assert_eq!(why, "429 TooManyRequests");
        assert_eq!(asked, Some(Duration::from_secs(2)));
    }

    /// The policy with short pauses, so a test does not sleep.
    fn quick(deadline: Duration) -> Retries<'static> {
        Retries {
            policy: RetryPolicy {
                base: Duration::from_millis(1),
                cap: Duration::from_millis(4),
                ..RETRY_POLICY
            },
            ..Retries::until(Instant::now() + deadline)
        }
    }

    #[tokio::test]
    async fn a_persistent_failure_is_tried_the_policys_attempts_then_returned() {
        let retries = quick(Duration::from_secs(600));
        let mut sent = 0;
        let r: Result<(), _> = retries
            .run("get x", || {
                sent += 1;
                async { Err(status(503, "ServiceUnavailable", 0)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(sent, RETRY_POLICY.attempts);
        assert_eq!(retries.gave_up(), Some(RETRY_POLICY.attempts));
        let notes = retries.notes();
        assert_eq!(notes.len(), RETRY_POLICY.attempts as usize);
        assert!(
            notes[0].starts_with("get x: 503 ServiceUnavailable, retry 1 of 4 after "),
            "{notes:?}"
        );
        assert!(notes.last().unwrap().ends_with("gave up after 5 attempts"), "{notes:?}");
    }

    #[tokio::test]
    async fn no_retry_pauses_past_the_deadline_nor_repeats_a_refusal() {
        let retries = quick(Duration::from_secs(1));
        let mut sent = 0;
        let r: Result<(), _> = retries
            .run("get x", || {
                sent += 1;
                async { Err(status(429, "TooManyRequests", 5)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!(sent, 1, "the server's 5 s do not fit in the 1 s left");
        assert!(retries.notes()[0].contains("not retried: the operation's deadline"));

        let retries = quick(Duration::from_secs(600));
        let mut sent = 0;
        let r: Result<(), _> = retries
            .run("patch x", || {
                sent += 1;
                async { Err(status(409, "Conflict", 0)) }
            })
            .await;
        assert!(r.is_err());
        assert_eq!((sent, retries.gave_up()), (1, None));
        assert!(retries.notes().is_empty());
    }
}
