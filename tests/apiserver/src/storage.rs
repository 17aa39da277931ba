//! Generic object storage keyed by group/resource/namespace/name, the global resourceVersion
//! counter, the event history that watches replay from, and label/field selectors.

use crate::discovery::Registry;
use crate::errors::ApiError;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Storage identity of one object. All served versions of a group/resource share it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub group: String,
    pub plural: String,
    /// "" for cluster-scoped objects.
    pub namespace: String,
    pub name: String,
}

/// One change, as a watch reports it.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub key: Key,
    /// ADDED, MODIFIED or DELETED
    pub kind: &'static str,
    pub object: Value,
}

pub struct State {
    pub registry: Registry,
    pub objects: BTreeMap<Key, Value>,
    rv: u64,
    /// Every change since start, so a watch from an older resourceVersion can be replayed
    /// without gaps (the test server lives for one test, so this stays small).
    history: Vec<Arc<Event>>,
    tx: broadcast::Sender<Arc<Event>>,
    /// Namespaces being deleted, with when their deletion began (for the namespace controller).
    pub namespace_deletions: BTreeMap<String, std::time::Instant>,
    /// Watches from a resourceVersion below this are answered 410 Gone, as a real server
    /// answers versions its storage has compacted away (see [`State::expire_watches`]).
    pub compacted: u64,
    /// Told to end every open watch.
    cut: tokio::sync::watch::Sender<u64>,
}

impl State {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(4096);
        let mut state = State {
            registry: Registry::with_builtins(),
            objects: BTreeMap::new(),
            rv: 0,
            history: Vec::new(),
            tx,
            namespace_deletions: BTreeMap::new(),
            compacted: 0,
            cut: tokio::sync::watch::channel(0).0,
        };
        for ns in ["default", "kube-system", "kube-public"] {
            let obj = serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": now_rfc3339(),
                             "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"},
            });
            state.put(
                Key {
                    group: String::new(),
                    plural: "namespaces".into(),
                    namespace: String::new(),
                    name: ns.into(),
                },
                obj,
                "ADDED",
            );
        }
        // A real API server registers a local APIService per built-in group version; clients
        // read them to learn what the cluster serves (e.g. whether autoscaling/v2 exists).
        for (group, version) in state.registry.group_versions() {
            let name = format!("{version}.{group}");
            let obj = serde_json::json!({
                "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": name, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": now_rfc3339(),
                             "labels": {"kube-aggregator.kubernetes.io/automanaged": "onstart"}},
                "spec": {"group": group, "version": version, "groupPriorityMinimum": 18000, "versionPriority": 15},
                "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Local",
                                           "message": "Local APIServices are always available"}]},
            });
            state.put(
                Key {
                    group: "apiregistration.k8s.io".into(),
                    plural: "apiservices".into(),
                    namespace: String::new(),
                    name,
                },
                obj,
                "ADDED",
            );
        }
        state
    }

    pub fn current_rv(&self) -> u64 {
        self.rv
    }

    /// The next resourceVersion, as a dry run would report it (nothing is consumed).
    pub fn peek_rv(&self) -> u64 {
        self.rv + 1
    }

    /// Stores `obj` under a fresh resourceVersion and publishes the event. Returns the stored object.
    pub fn put(&mut self, key: Key, mut obj: Value, kind: &'static str) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        self.objects.insert(key.clone(), obj.clone());
        self.publish(key, kind, obj.clone());
        obj
    }

    pub fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = Value::String(self.rv.to_string());
        self.publish(key.clone(), "DELETED", obj.clone());
        Some(obj)
    }

    fn publish(&mut self, key: Key, kind: &'static str, object: Value) {
        let event = Arc::new(Event {
            rv: self.rv,
            key,
            kind,
            object,
        });
        self.history.push(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(event);
    }

    /// Events after `rv` plus a live subscription, taken atomically so nothing is lost in between.
    pub fn watch_from(&self, rv: u64) -> (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>) {
        let start = self.history.partition_point(|e| e.rv <= rv);
        (self.history[start..].to_vec(), self.tx.subscribe())
    }

    /// What a real API server's restart after a compaction does to watchers: every open watch
    /// ends, and every resourceVersion seen so far is too old to watch from (410 Gone), so
    /// clients must list again.
    pub fn expire_watches(&mut self) {
        self.rv += 1;
        self.compacted = self.rv;
        self.cut.send_modify(|n| *n += 1);
    }

    /// Changes when [`State::expire_watches`] ends the open watches.
    pub fn watch_cut(&self) -> tokio::sync::watch::Receiver<u64> {
        self.cut.subscribe()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Objects of one type, optionally restricted to one namespace.
    pub fn list<'a>(
        &'a self,
        group: &'a str,
        plural: &'a str,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a Key, &'a Value)> + 'a {
        self.objects.iter().filter(move |(k, _)| {
            k.group == group && k.plural == plural && namespace.is_none_or(|ns| k.namespace == ns)
        })
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 3339 UTC timestamp with second precision, as metav1.Time serializes.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed labelSelector (`a=b,c!=d,e in (f,g),h notin (i),j,!k`).
#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<Requirement>);

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let bad = || ApiError::bad_request(format!("unable to parse requirement: {part:?}"));
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Eq(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), parse_set(rest).ok_or_else(bad)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().into(), parse_set(rest).ok_or_else(bad)?)
            } else if part.contains(' ') || part.contains('(') {
                return Err(bad());
            } else {
                Requirement::Exists(part.to_string())
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
            Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
            Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::NotExists(k) => get(k).is_none(),
        })
    }
}

fn parse_set(rest: &str) -> Option<Vec<String>> {
    let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(
        inner
            .split(',')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect(),
    )
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A parsed fieldSelector: `path=value`/`path==value`/`path!=value` on dotted paths
/// (metadata.name, metadata.namespace, status.phase, ...).
#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut reqs = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (path, eq, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            reqs.push((path.trim().to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(path, eq, value)| {
            let pointer = format!("/{}", path.replace('.', "/"));
            let actual = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            (actual == *value) == *eq
        })
    }
}
