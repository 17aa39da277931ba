//! Faults aimed at particular requests: by method, path pattern, the nth matching request and how
//! many, so a test can break one step in the middle of a real install.

use crate::errors::ApiError;
use std::time::Duration;

/// What a fault does to a request it hits.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// A Kubernetes Status with this code (and the reason kube-apiserver gives it); with
    /// `retry_after`, `details.retryAfterSeconds` and the Retry-After header, as kube-apiserver
    /// sends both for its 429, 503 and 504.
    Status { code: u16, retry_after: Option<u32> },
    /// 429 as the API Priority and Fairness filter sends it: a plain-text body (no Status) and a
    /// Retry-After header.
    Throttle { retry_after: u32 },
    /// The connection closes without an answer; the request is not carried out.
    Drop,
    /// The answer comes after this long (the request is then carried out as usual).
    Delay(Duration),
    /// A server-side apply conflict with the named field manager over `.data`.
    Conflict { manager: String },
}

/// A fault for the requests matching `method` and `path`.
///
/// `path` is matched against the request path: `*` stands for any characters but `/` (one path
/// segment or part of one), `**` for any characters at all.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    method: Option<String>,
    path: String,
    skip: u32,
    times: u32,
    action: FaultAction,
}

impl Fault {
    /// A fault for requests with `method` ("*" for any) whose path matches `path`; by default it
    /// hits the first matching request once with a 500.
    pub fn on(method: &str, path: &str) -> Fault {
        Fault {
            method: (method != "*").then(|| method.to_ascii_uppercase()),
            path: path.to_string(),
            skip: 0,
            times: 1,
            action: FaultAction::Status {
                code: 500,
                retry_after: None,
            },
        }
    }

    /// The first request hit is the `n`th matching one (1-based); the ones before pass.
    pub fn nth(mut self, n: u32) -> Fault {
        self.skip = n.saturating_sub(1);
        self
    }

    /// Hits `n` matching requests in a row, then lets them pass again.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = n;
        self
    }

    /// Hits every matching request (from the nth) until the faults are cleared.
    pub fn always(self) -> Fault {
        self.times(u32::MAX)
    }

    pub fn status(mut self, code: u16) -> Fault {
        self.action = FaultAction::Status {
            code,
            retry_after: None,
        };
        self
    }

    /// A Status with `code` that asks the client to come back after `seconds`.
    pub fn status_retry_after(mut self, code: u16, seconds: u32) -> Fault {
        self.action = FaultAction::Status {
            code,
            retry_after: Some(seconds),
        };
        self
    }

    pub fn throttle(mut self, retry_after: u32) -> Fault {
        self.action = FaultAction::Throttle { retry_after };
        self
    }

    pub fn drop_connection(mut self) -> Fault {
        self.action = FaultAction::Drop;
        self
    }

    pub fn delay(mut self, by: Duration) -> Fault {
        self.action = FaultAction::Delay(by);
        self
    }

    pub fn conflict(mut self, manager: &str) -> Fault {
        self.action = FaultAction::Conflict {
            manager: manager.to_string(),
        };
        self
    }

    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m == method) && glob(self.path.as_bytes(), path.as_bytes())
    }
}

/// One injected fault and how often it matched and hit.
#[derive(Debug)]
pub(crate) struct Armed {
    pub fault: Fault,
    pub matched: u32,
    pub hit: u32,
}

impl Armed {
    /// Counts the request if it matches; the action when this request is to be hit.
    pub fn take(&mut self, method: &str, path: &str) -> Option<FaultAction> {
        if !self.fault.matches(method, path) {
            return None;
        }
        self.matched += 1;
        if self.matched <= self.fault.skip || self.hit >= self.fault.times {
            return None;
        }
        self.hit += 1;
        Some(self.fault.action.clone())
    }
}

/// The Status kube-apiserver answers with for `code`, asking to retry after `retry_after` seconds.
pub(crate) fn status_error(code: u16, retry_after: Option<u32>) -> ApiError {
    let mut e = ApiError::from_code(code);
    if let Some(s) = retry_after {
        e.details = Some(serde_json::json!({ "retryAfterSeconds": s }));
    }
    e
}

/// The conflict a server-side apply meets when `manager` owns a field it sets.
pub(crate) fn conflict_error(manager: &str) -> ApiError {
    ApiError::apply_conflict(
        format!("Apply failed with 1 conflict: conflict with \"{manager}\" using v1: .data"),
        vec![(format!("\"{manager}\""), ".data".into())],
    )
}

/// `*` matches within one segment, `**` across segments.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=text.len()).any(|i| glob(rest, &text[i..])),
        [b'*', rest @ ..] => {
            let segment = text.iter().position(|&b| b == b'/').unwrap_or(text.len());
            (0..=segment).any(|i| glob(rest, &text[i..]))
        }
        [p, rest @ ..] => text.first() == Some(p) && glob(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_by_segment_or_across() {
        let f = Fault::on("PATCH", "/api/v1/namespaces/*/configmaps/*");
        assert!(f.matches("PATCH", "/api/v1/namespaces/shop/configmaps/a"));
        assert!(!f.matches("GET", "/api/v1/namespaces/shop/configmaps/a"));
        assert!(!f.matches("PATCH", "/api/v1/namespaces/shop/configmaps/a/b"));
        assert!(!f.matches("PATCH", "/api/v1/namespaces/shop/secrets/a"));
        let any = Fault::on("*", "/apis/**");
        assert!(any.matches("DELETE", "/apis/apps/v1/namespaces/x/deployments/y"));
        assert!(!any.matches("DELETE", "/api/v1/namespaces/x"));
        assert!(Fault::on("GET", "/api/v1/namespaces/linkerd*").matches("GET", "/api/v1/namespaces/linkerd-viz"));
    }

    #[test]
    fn the_nth_matching_request_is_hit_the_given_number_of_times() {
        let mut a = Armed {
            fault: Fault::on("GET", "/x/*").nth(2).times(2).status(503),
            matched: 0,
            hit: 0,
        };
        let hits: Vec<bool> = (0..5).map(|_| a.take("GET", "/x/y").is_some()).collect();
        assert_eq!(hits, [false, true, true, false, false]);
        assert!(a.take("GET", "/z").is_none());
        assert_eq!((a.matched, a.hit), (5, 2));
    }
}
