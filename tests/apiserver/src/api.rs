//! REST semantics of resource requests: routing /api/v1/... and /apis/{g}/{v}/... to create, get,
//! list, watch, replace, patch, apply and delete, plus the simulated controllers (CRD
//! establishment, workload availability) and the access review endpoints.

use crate::discovery::{ResourceType, type_from_crd};
use crate::errors::ApiError;
use crate::patch;
use crate::rbac::{self, Attributes, UserInfo};
use crate::storage::{FieldSelector, Key, LabelSelector, State, now_rfc3339};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the HTTP layer should send back.
pub enum Reply {
    Json(u16, Value),
    /// A watch: newline-delimited JSON events until the sender closes.
    Watch(mpsc::Receiver<Bytes>),
}

/// A resource request, already authenticated.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a HashMap<String, String>,
    pub content_type: &'a str,
    pub accept: &'a str,
    pub body: &'a [u8],
    pub user: &'a UserInfo,
}

/// Server-wide switches the handlers consult.
pub struct Options {
    pub deployments_become_available: bool,
}

/// The parsed URL of a resource request.
#[derive(Debug, Clone)]
pub struct Target {
    pub group: String,
    pub version: String,
    pub namespace: Option<String>,
    pub plural: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// Parses `/api/v1/...` and `/apis/{group}/{version}/...` below the group/version root.
/// Returns None for discovery paths and anything that is not a resource URL.
pub fn parse_target(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] if !rest.is_empty() => ("", *v, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, rest),
        _ => return None,
    };
    // `namespaces/{ns}/{resource}...` is namespaced; `namespaces/{name}[/status]` is the namespace itself.
    let (namespace, rest) = match rest {
        ["namespaces", ns, r, tail @ ..] if !matches!(*r, "status" | "finalize") => (Some(ns.to_string()), {
            let mut v = vec![*r];
            v.extend_from_slice(tail);
            v
        }),
        _ => (None, rest.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(n.to_string()), None),
        [p, n, s] => (*p, Some(n.to_string()), Some(s.to_string())),
        _ => return None,
    };
    if plural.is_empty() || name.as_deref() == Some("") {
        return None;
    }
    Some(Target {
        group: group.into(),
        version: version.into(),
        namespace,
        plural: plural.into(),
        name,
        subresource: sub,
    })
}

/// The RBAC verb of a request.
pub fn verb_of(method: &str, target: &Target, query: &HashMap<String, String>) -> &'static str {
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method, target.name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

fn dry_run(query: &HashMap<String, String>, body: Option<&Value>) -> bool {
    query.get("dryRun").is_some_and(|v| v == "All")
        || body
            .and_then(|b| b.get("dryRun"))
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"))
}

pub fn handle(state: &Arc<Mutex<State>>, opts: &Options, req: &Request) -> Result<Reply, ApiError> {
    let target = parse_target(req.path).ok_or_else(ApiError::unknown_resource)?;
    let mut st = state.lock().expect("state lock");
    let rt = st
        .registry
        .lookup(&target.group, &target.version, &target.plural)
        .cloned()
        .ok_or_else(ApiError::unknown_resource)?;
    let verb = verb_of(req.method, &target, req.query);
    let sub = target.subresource.clone().unwrap_or_default();
    if !(sub.is_empty() || sub == "status" && rt.status_subresource) {
        return Err(ApiError::unknown_resource());
    }
    if rt.namespaced != target.namespace.is_some()
        && !(rt.namespaced && matches!(verb, "list" | "watch" | "deletecollection"))
    {
        return Err(ApiError::unknown_resource());
    }
    if sub.is_empty() && !rt.verbs.iter().any(|v| v == verb)
        || !sub.is_empty() && !matches!(verb, "get" | "update" | "patch")
    {
        return Err(ApiError::method_not_allowed());
    }
    let name = target.name.clone().unwrap_or_default();
    let attrs = Attributes {
        verb: verb.into(),
        group: rt.group.clone(),
        resource: rt.plural.clone(),
        subresource: sub.clone(),
        name: name.clone(),
        namespace: target.namespace.clone(),
    };
    if !rbac::allowed(&st, req.user, &attrs) {
        return Err(ApiError::forbidden(
            &rt.group,
            &attrs.resource_path(),
            &name,
            attrs.deny_reason(&req.user.name),
        ));
    }
    let ns = target.namespace.clone().unwrap_or_default();
    let key = Key {
        group: rt.group.clone(),
        plural: rt.plural.clone(),
        namespace: if rt.namespaced { ns.clone() } else { String::new() },
        name,
    };
    let ctx = Ctx {
        rt: &rt,
        target: &target,
        req,
        opts,
        status: sub == "status",
    };
    match verb {
        "get" => {
            let obj = st
                .objects
                .get(&key)
                .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, &key.name))?;
            let obj = ctx.outgoing(obj.clone());
            Ok(Reply::Json(
                200,
                if wants_table(req.accept) {
                    table(&[obj], st.current_rv())
                } else {
                    obj
                },
            ))
        }
        "list" => {
            let items = ctx.select(&st)?;
            if wants_table(req.accept) {
                return Ok(Reply::Json(200, table(&items, st.current_rv())));
            }
            Ok(Reply::Json(
                200,
                json!({
                    "kind": format!("{}List", rt.kind),
                    "apiVersion": rt.api_version(&target.version),
                    "metadata": {"resourceVersion": st.current_rv().to_string()},
                    "items": items,
                }),
            ))
        }
        "watch" => ctx.watch(&st),
        "create" if rt.group == "authorization.k8s.io" => ctx.access_review(&st),
        "create" => {
            let body = ctx.body_json()?;
            ctx.create(&mut st, body)
        }
        "update" => ctx.update(&mut st, &key),
        "patch" => ctx.patch(&mut st, &key),
        "delete" => ctx.delete(&mut st, &key),
        "deletecollection" => {
            let items = ctx.select(&st)?;
            let dry = dry_run(req.query, None);
            for item in &items {
                let k = Key {
                    namespace: item
                        .pointer("/metadata/namespace")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    name: item
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    ..key.clone()
                };
                if !dry {
                    delete_object(&mut st, &k);
                }
            }
            Ok(Reply::Json(
                200,
                json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(&target.version), "metadata": {}, "items": items}),
            ))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn wants_table(accept: &str) -> bool {
    accept.contains("as=Table")
}

/// The server-side printing format kubectl asks for: a Name and a Created At column.
fn table(items: &[Value], rv: u64) -> Value {
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut meta = o["metadata"].clone();
            if let Some(m) = meta.as_object_mut() {
                m.remove("managedFields");
            }
            json!({
                "cells": [o["metadata"]["name"], o["metadata"]["creationTimestamp"]],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta},
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a namespace.", "priority": 0},
            {"name": "Created At", "type": "date", "format": "", "description": "CreationTimestamp is a timestamp representing the server time when this object was created.", "priority": 0},
        ],
        "rows": rows,
    })
}

fn is_namespace(key: &Key) -> bool {
    key.group.is_empty() && key.plural == "namespaces"
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().map(String::from))
        .collect()
}

fn being_deleted(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

/// A DELETE, as a real API server carries it out: an object with finalizers (and every
/// namespace, which the namespace controller must empty first) only gets a deletionTimestamp
/// and stays until its finalizers are gone; anything else goes at once. Returns the object as
/// the response shows it.
fn delete_object(st: &mut State, key: &Key) -> Option<Value> {
    let old = st.objects.get(key)?.clone();
    let namespace = is_namespace(key);
    if !namespace && finalizers(&old).is_empty() {
        return remove_with_dependents(st, key);
    }
    if being_deleted(&old) {
        return Some(old);
    }
    let mut obj = old;
    obj["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
    if namespace {
        obj["status"]["phase"] = json!("Terminating");
        st.namespace_deletions
            .insert(key.name.clone(), std::time::Instant::now());
    } else {
        obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
    }
    Some(st.put(key.clone(), obj, "MODIFIED"))
}

/// What the namespace controller does for each namespace deleted at least `delay` ago: deletes
/// everything in it (objects with finalizers stay, marked for deletion, until those are
/// removed), says in its conditions what remains, and removes the namespace once it is empty.
pub fn finalize_namespaces(st: &mut State, delay: Duration) {
    let due: Vec<String> = st
        .namespace_deletions
        .iter()
        .filter(|(_, since)| since.elapsed() >= delay)
        .map(|(name, _)| name.clone())
        .collect();
    for name in due {
        let ns_key = Key {
            group: String::new(),
            plural: "namespaces".into(),
            namespace: String::new(),
            name: name.clone(),
        };
        if !st.objects.contains_key(&ns_key) {
            st.namespace_deletions.remove(&name);
            continue;
        }
        let contents: Vec<Key> = st.objects.keys().filter(|k| k.namespace == name).cloned().collect();
        for k in &contents {
            delete_object(st, k);
        }
        let remaining: Vec<(String, Vec<String>)> = st
            .objects
            .iter()
            .filter(|(k, _)| k.namespace == name)
            .map(|(k, o)| (k.plural.clone(), finalizers(o)))
            .collect();
        if remaining.is_empty() {
            st.remove(&ns_key);
            st.namespace_deletions.remove(&name);
            continue;
        }
        let mut kinds: Vec<&str> = remaining.iter().map(|(p, _)| p.as_str()).collect();
        kinds.dedup();
        let mut held: Vec<&str> = remaining
            .iter()
            .flat_map(|(_, f)| f.iter().map(String::as_str))
            .collect();
        held.sort();
        held.dedup();
        let now = now_rfc3339();
        let conditions = json!([
            {"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain", "lastTransitionTime": now,
             "message": format!("Some resources are remaining: {} has {} resource instances", kinds.join(", "), remaining.len())},
            {"type": "NamespaceFinalizersRemaining", "status": "True", "reason": "SomeFinalizersRemain", "lastTransitionTime": now,
             "message": format!("Some content in the namespace has finalizers remaining: {} in {} resource instances", held.join(", "), remaining.len())},
        ]);
        let mut ns = st.objects[&ns_key].clone();
        let messages = |v: &Value| {
            v.as_array()
                .map(|cs| cs.iter().map(|c| c["message"].clone()).collect::<Vec<_>>())
        };
        if messages(&ns["status"]["conditions"]) != messages(&conditions) {
            ns["status"]["conditions"] = conditions;
            st.put(ns_key, ns, "MODIFIED");
        }
    }
}

/// Removes an object and whatever goes with it: a CRD's objects and type.
fn remove_with_dependents(st: &mut State, key: &Key) -> Option<Value> {
    let removed = st.remove(key)?;
    if key.group == "apiextensions.k8s.io"
        && key.plural == "customresourcedefinitions"
        && let Some(t) = type_from_crd(&removed)
    {
        st.registry.remove(&t.group, &t.plural);
        let objects: Vec<Key> = st
            .objects
            .keys()
            .filter(|k| k.group == t.group && k.plural == t.plural)
            .cloned()
            .collect();
        for k in objects {
            st.remove(&k);
        }
    }
    Some(removed)
}

struct Ctx<'a> {
    rt: &'a ResourceType,
    target: &'a Target,
    req: &'a Request<'a>,
    opts: &'a Options,
    /// The request is for the status subresource.
    status: bool,
}

impl Ctx<'_> {
    fn body_json(&self) -> Result<Value, ApiError> {
        // kubectl sends protobuf for built-in types; a 415 makes client-go retry with JSON.
        if self.req.content_type.contains("protobuf") || self.req.content_type.contains("cbor") {
            return Err(ApiError::unsupported_media_type(self.req.content_type));
        }
        serde_json::from_slice(self.req.body)
            .map_err(|e| ApiError::bad_request(format!("the object provided is unrecognized or malformed: {e}")))
    }

    /// An object as this URL's version presents it.
    fn outgoing(&self, mut obj: Value) -> Value {
        obj["apiVersion"] = json!(self.rt.api_version(&self.target.version));
        obj
    }

    fn select(&self, st: &State) -> Result<Vec<Value>, ApiError> {
        let labels = LabelSelector::parse(self.req.query.get("labelSelector").map(String::as_str).unwrap_or(""))?;
        let fields = FieldSelector::parse(self.req.query.get("fieldSelector").map(String::as_str).unwrap_or(""))?;
        Ok(st
            .list(&self.rt.group, &self.rt.plural, self.target.namespace.as_deref())
            .filter(|(_, o)| labels.matches(o) && fields.matches(o))
            .map(|(_, o)| self.outgoing(o.clone()))
            .collect())
    }

    fn watch(&self, st: &State) -> Result<Reply, ApiError> {
        let labels = LabelSelector::parse(self.req.query.get("labelSelector").map(String::as_str).unwrap_or(""))?;
        let fields = FieldSelector::parse(self.req.query.get("fieldSelector").map(String::as_str).unwrap_or(""))?;
        let rv: u64 = self
            .req
            .query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let (tx, out) = mpsc::channel::<Bytes>(64);
        if rv != 0 && rv < st.compacted {
            // As kube-apiserver: 200, then one ERROR event with a 410 Status, then the end.
            let status = json!({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("too old resource version: {rv} ({})", st.compacted),
                "reason": "Expired", "code": 410}});
            let mut line = serde_json::to_vec(&status).expect("json");
            line.push(b'\n');
            tx.try_send(Bytes::from(line)).expect("an empty channel takes one line");
            return Ok(Reply::Watch(out));
        }
        let mut cut = st.watch_cut();
        // Without a resourceVersion (or "0") a watch starts with ADDED for everything that exists.
        let (initial, mut rx): (Vec<(&'static str, Value)>, _) = if rv == 0 {
            let items = st
                .list(&self.rt.group, &self.rt.plural, self.target.namespace.as_deref())
                .map(|(_, o)| ("ADDED", o.clone()))
                .collect();
            (items, st.subscribe())
        } else {
            let (events, rx) = st.watch_from(rv);
            (
                events
                    .iter()
                    .filter(|e| e.key.group == self.rt.group && e.key.plural == self.rt.plural)
                    .map(|e| (e.kind, e.object.clone()))
                    .collect(),
                rx,
            )
        };
        let (group, plural, ns) = (
            self.rt.group.clone(),
            self.rt.plural.clone(),
            self.target.namespace.clone(),
        );
        let api_version = self.rt.api_version(&self.target.version);
        let timeout = self
            .req
            .query
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(1800));
        let matches = move |o: &Value| {
            ns.as_deref()
                .is_none_or(|ns| o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(ns))
                && labels.matches(o)
                && fields.matches(o)
        };
        let line = move |kind: &str, mut o: Value| {
            o["apiVersion"] = json!(api_version);
            let mut s = serde_json::to_vec(&json!({"type": kind, "object": o})).expect("json");
            s.push(b'\n');
            Bytes::from(s)
        };
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            for (kind, o) in initial {
                if matches(&o) && tx.send(line(kind, o)).await.is_err() {
                    return;
                }
            }
            cut.borrow_and_update();
            loop {
                let event = tokio::select! {
                    e = tokio::time::timeout_at(deadline, rx.recv()) => match e {
                        Ok(Ok(e)) => e,
                        // Lagged, closed or timed out: end the watch; clients re-list and re-watch.
                        _ => return,
                    },
                    // expire_watches: the connection ends as if the server restarted.
                    _ = cut.changed() => return,
                };
                if event.key.group != group || event.key.plural != plural || !matches(&event.object) {
                    continue;
                }
                if tx.send(line(event.kind, event.object.clone())).await.is_err() {
                    return;
                }
            }
        });
        Ok(Reply::Watch(out))
    }

    /// Body checks shared by create, update and apply: kind/apiVersion match the URL, the
    /// namespace matches, the name is valid.
    fn validate_body(&self, body: &mut Value) -> Result<(), ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the object provided is unrecognized or malformed",
            ));
        }
        let name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let expected_av = self.rt.api_version(&self.target.version);
        let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        if kind != self.rt.kind {
            return Err(ApiError::invalid(
                &self.rt.group,
                &self.rt.kind,
                &name,
                "kind",
                "FieldValueInvalid",
                &format!("Invalid value: {kind:?}: must be {}", self.rt.kind),
            ));
        }
        let av = body
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if av != expected_av {
            return Err(ApiError::invalid(
                &self.rt.group,
                &self.rt.kind,
                &name,
                "apiVersion",
                "FieldValueInvalid",
                &format!("Invalid value: {av:?}: must be {expected_av}"),
            ));
        }
        if let Some(url_ns) = &self.target.namespace {
            match body.pointer("/metadata/namespace").and_then(Value::as_str) {
                Some(ns) if ns != url_ns => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => body["metadata"]["namespace"] = json!(url_ns),
            }
        } else if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("namespace");
        }
        if let Some(url_name) = &self.target.name
            && !name.is_empty()
            && name != *url_name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({name}) does not match the name on the URL ({url_name})"
            )));
        }
        Ok(())
    }

    fn validate_name(&self, name: &str) -> Result<(), ApiError> {
        if name.is_empty() {
            return Err(ApiError::invalid(
                &self.rt.group,
                &self.rt.kind,
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            ));
        }
        let problem = if self.rt.group == "rbac.authorization.k8s.io" {
            // RBAC names are path segments (system:controller:x is valid).
            (name == "." || name == ".." || name.contains('/') || name.contains('%'))
                .then(|| format!("Invalid value: {name:?}: may not contain '/' or '%'"))
        } else if self.rt.plural == "namespaces" {
            (!is_dns_label(name)).then(|| format!("Invalid value: {name:?}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"))
        } else {
            (!is_dns_subdomain(name)).then(|| format!("Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
        };
        match problem {
            Some(detail) => Err(ApiError::invalid(
                &self.rt.group,
                &self.rt.kind,
                name,
                "metadata.name",
                "FieldValueInvalid",
                &detail,
            )),
            None => Ok(()),
        }
    }

    /// The namespace a new object goes to exists and is not being deleted.
    fn require_namespace(&self, st: &State, name: &str) -> Result<(), ApiError> {
        if let Some(ns) = &self.target.namespace {
            let key = Key {
                group: String::new(),
                plural: "namespaces".into(),
                namespace: String::new(),
                name: ns.clone(),
            };
            match st.objects.get(&key) {
                None => return Err(ApiError::not_found("", "namespaces", ns)),
                Some(n) if being_deleted(n) => {
                    return Err(ApiError::namespace_terminating(
                        &self.rt.group,
                        &self.rt.plural,
                        name,
                        ns,
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn create(&self, st: &mut State, mut body: Value) -> Result<Reply, ApiError> {
        self.validate_body(&mut body)?;
        let mut name = body
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty()
            && let Some(prefix) = body.pointer("/metadata/generateName").and_then(Value::as_str)
        {
            name = format!("{prefix}{}", &uuid::Uuid::new_v4().simple().to_string()[..5]);
            body["metadata"]["name"] = json!(name);
        }
        self.validate_name(&name)?;
        self.require_namespace(st, &name)?;
        let key = self.key_for(&name);
        match st.objects.get(&key) {
            Some(o) if being_deleted(o) => {
                return Err(ApiError::being_deleted(&self.rt.group, &self.rt.plural, &name));
            }
            Some(_) => return Err(ApiError::already_exists(&self.rt.group, &self.rt.plural, &name)),
            None => {}
        }
        let obj = self.prepare_new(body);
        self.store(st, key, obj, None, 201)
    }

    fn key_for(&self, name: &str) -> Key {
        Key {
            group: self.rt.group.clone(),
            plural: self.rt.plural.clone(),
            namespace: self.target.namespace.clone().unwrap_or_default(),
            name: name.to_string(),
        }
    }

    /// Server-set metadata of a new object.
    fn prepare_new(&self, mut obj: Value) -> Value {
        let meta = obj["metadata"].as_object_mut().expect("validated object");
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        meta.insert("generation".into(), json!(1));
        meta.remove("resourceVersion");
        meta.remove("deletionTimestamp");
        obj
    }

    /// Final touches (server-owned fields, simulated controllers) and the write itself.
    fn store(
        &self,
        st: &mut State,
        key: Key,
        mut obj: Value,
        old: Option<&Value>,
        code: u16,
    ) -> Result<Reply, ApiError> {
        if self.rt.group == "apiextensions.k8s.io" && self.rt.plural == "customresourcedefinitions" && !self.status {
            validate_crd(&obj)?;
        }
        if let Some(old) = old {
            // Identity and a deletion in progress are immutable; status belongs to the status
            // subresource (and vice versa).
            for f in [
                "uid",
                "creationTimestamp",
                "name",
                "namespace",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
            ] {
                match old["metadata"].get(f) {
                    Some(v) => obj["metadata"][f] = v.clone(),
                    None => {
                        if let Some(m) = obj["metadata"].as_object_mut() {
                            m.remove(f);
                        }
                    }
                }
            }
            if self.status {
                let status = obj.get("status").cloned();
                obj = old.clone();
                match status {
                    Some(s) => obj["status"] = s,
                    None => drop(obj.as_object_mut().map(|m| m.remove("status"))),
                }
            } else if self.rt.status_subresource {
                match old.get("status") {
                    Some(s) => obj["status"] = s.clone(),
                    None => drop(obj.as_object_mut().map(|m| m.remove("status"))),
                }
            }
            if obj["metadata"].get("managedFields").is_none()
                && let Some(mf) = old["metadata"].get("managedFields")
            {
                obj["metadata"]["managedFields"] = mf.clone();
            }
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
            obj["metadata"]["generation"] = json!(if spec_of(&obj) != spec_of(old) {
                generation + 1
            } else {
                generation
            });
            if obj == *old {
                // No-op writes keep the resourceVersion and send no event, like the real server.
                return Ok(Reply::Json(200, self.outgoing(obj)));
            }
            if being_deleted(old) && !is_namespace(&key) {
                let before = finalizers(old);
                let added: Vec<String> = finalizers(&obj).into_iter().filter(|f| !before.contains(f)).collect();
                if !added.is_empty() {
                    let detail = format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    );
                    let name = key.name.clone();
                    return Err(ApiError::invalid(
                        &self.rt.group,
                        &self.rt.kind,
                        &name,
                        "metadata.finalizers",
                        "FieldValueForbidden",
                        &detail,
                    ));
                }
                // The last finalizer removed: the deletion completes.
                if finalizers(&obj).is_empty() && !dry_run(self.req.query, None) {
                    st.put(key.clone(), obj, "MODIFIED");
                    let gone = remove_with_dependents(st, &key).expect("just stored");
                    return Ok(Reply::Json(200, self.outgoing(gone)));
                }
            }
        }
        if !self.status {
            self.simulate_controllers(&mut obj);
        }
        let dry = dry_run(self.req.query, None);
        let obj = if dry {
            obj["metadata"]["resourceVersion"] = json!(st.peek_rv().to_string());
            obj
        } else {
            if self.rt.group == "apiextensions.k8s.io"
                && self.rt.plural == "customresourcedefinitions"
                && let Some(t) = type_from_crd(&obj)
            {
                st.registry.insert(t);
            }
            st.put(key, obj, if old.is_some() { "MODIFIED" } else { "ADDED" })
        };
        Ok(Reply::Json(code, self.outgoing(obj)))
    }

    /// What controllers would quickly do on a real cluster: establish CRDs, activate namespaces,
    /// report workloads ready (unless switched off).
    fn simulate_controllers(&self, obj: &mut Value) {
        let generation = obj["metadata"]["generation"].clone();
        let replicas = obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
        let now = now_rfc3339();
        let condition = |t: &str, reason: &str| json!({"type": t, "status": "True", "lastTransitionTime": now, "reason": reason, "message": ""});
        match (self.rt.group.as_str(), self.rt.plural.as_str()) {
            ("", "namespaces") => {
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = obj["metadata"]["name"].clone();
                obj["spec"]["finalizers"] = json!(["kubernetes"]);
                if !being_deleted(obj) {
                    obj["status"] = json!({"phase": "Active"});
                }
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                let stored: Vec<Value> = obj
                    .pointer("/spec/versions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                    .map(|v| v["name"].clone())
                    .collect();
                obj["status"] = json!({
                    "acceptedNames": obj.pointer("/spec/names").cloned().unwrap_or(json!({})),
                    "conditions": [condition("NamesAccepted", "NoConflicts"), condition("Established", "InitialNamesAccepted")],
                    "storedVersions": stored,
                });
            }
            ("apps", "deployments") if self.opts.deployments_become_available => {
                obj["status"] = json!({
                    "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                    "availableReplicas": replicas, "updatedReplicas": replicas,
                    "conditions": [condition("Available", "MinimumReplicasAvailable"), condition("Progressing", "NewReplicaSetAvailable")],
                });
            }
            ("apps", "statefulsets") if self.opts.deployments_become_available => {
                obj["status"] = json!({
                    "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
                    "availableReplicas": replicas, "updatedReplicas": replicas,
                });
            }
            ("apps", "daemonsets") if self.opts.deployments_become_available => {
                obj["status"] = json!({
                    "observedGeneration": generation, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                    "numberReady": 1, "numberAvailable": 1, "updatedNumberScheduled": 1, "numberMisscheduled": 0,
                });
            }
            _ => {}
        }
    }

    fn existing(&self, st: &State, key: &Key) -> Result<Value, ApiError> {
        st.objects
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&self.rt.group, &self.rt.plural, &key.name))
    }

    fn check_precondition(&self, body: &Value, current: &Value, key: &Key) -> Result<(), ApiError> {
        match body.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
            Some(rv)
                if !rv.is_empty()
                    && Some(rv) != current.pointer("/metadata/resourceVersion").and_then(Value::as_str) =>
            {
                Err(ApiError::conflict(&self.rt.group, &self.rt.plural, &key.name))
            }
            _ => Ok(()),
        }
    }

    fn update(&self, st: &mut State, key: &Key) -> Result<Reply, ApiError> {
        let mut body = self.body_json()?;
        self.validate_body(&mut body)?;
        let old = self.existing(st, key)?;
        self.check_precondition(&body, &old, key)?;
        body["metadata"]["name"] = json!(key.name);
        self.record_update(&old, &mut body);
        self.store(st, key.clone(), body, Some(&old), 200)
    }

    /// managedFields after a write that is not an apply, as kube-apiserver keeps them: the
    /// fields it changed belong to its field manager (`fieldManager`, else "unknown").
    fn record_update(&self, old: &Value, new: &mut Value) {
        let manager = self
            .req
            .query
            .get("fieldManager")
            .filter(|m| !m.is_empty())
            .map_or("unknown", String::as_str);
        let api_version = self.rt.api_version(&self.target.version);
        patch::record_update(old, new, manager, &api_version, self.status.then_some("status"));
    }

    fn patch(&self, st: &mut State, key: &Key) -> Result<Reply, ApiError> {
        let content_type = self.req.content_type.split(';').next().unwrap_or_default().trim();
        if content_type == "application/apply-patch+yaml" {
            return self.apply(st, key);
        }
        let patch_body = self.body_json()?;
        let old = self.existing(st, key)?;
        let mut obj = old.clone();
        match content_type {
            "application/merge-patch+json" => patch::merge_patch(&mut obj, &patch_body),
            "application/strategic-merge-patch+json" => patch::strategic_merge(&mut obj, &patch_body),
            "application/json-patch+json" => patch::json_patch(&mut obj, &patch_body)?,
            other => return Err(ApiError::unsupported_media_type(other)),
        }
        // A resourceVersion in a patch is a precondition, like in a PUT.
        if patch_body.pointer("/metadata/resourceVersion").is_some() {
            self.check_precondition(&obj, &old, key)?;
        }
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        self.validate_body(&mut obj)?;
        self.record_update(&old, &mut obj);
        self.store(st, key.clone(), obj, Some(&old), 200)
    }

    fn apply(&self, st: &mut State, key: &Key) -> Result<Reply, ApiError> {
        let manager = self
            .req
            .query
            .get("fieldManager")
            .filter(|m| !m.is_empty())
            .ok_or_else(|| ApiError::bad_request("fieldManager is required for apply requests"))?;
        let force = self.req.query.get("force").is_some_and(|f| f == "true");
        let text = std::str::from_utf8(self.req.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
        let mut applied: Value =
            serde_yaml::from_str(text).map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        self.check_declared_fields(&applied)?;
        self.validate_body(&mut applied)?;
        let name = applied
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if name.is_empty() {
            return Err(ApiError::invalid(
                &self.rt.group,
                &self.rt.kind,
                "",
                "metadata.name",
                "FieldValueRequired",
                "Required value: name is required",
            ));
        }
        let old = st.objects.get(key).cloned();
        if let Some(old) = &old {
            self.check_precondition(&applied, old, key)?;
        }
        if let Some(m) = applied["metadata"].as_object_mut() {
            m.remove("resourceVersion");
            m.remove("managedFields");
        }
        let api_version = self.rt.api_version(&self.target.version);
        let mut obj = patch::server_side_apply(old.as_ref(), &applied, manager, force, &api_version)?;
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(self.rt.kind);
        match &old {
            Some(old) => {
                obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
                self.store(st, key.clone(), obj, Some(old), 200)
            }
            None => {
                self.validate_name(&name)?;
                self.require_namespace(st, &name)?;
                obj["metadata"]["name"] = json!(name);
                let obj = self.prepare_new(obj);
                self.store(st, key.clone(), obj, None, 201)
            }
        }
    }

    /// A server-side apply builds a typed object from the schema of a built-in kind and refuses
    /// a field the schema does not declare (a create or update drops it instead). Checked for
    /// the core kinds whose top-level fields are few and fixed, and through the whole object for
    /// the kinds `wasmesh deploy` writes (their schema is k8s-openapi's type).
    fn check_declared_fields(&self, applied: &Value) -> Result<(), ApiError> {
        const COMMON: &[&str] = &["apiVersion", "kind", "metadata"];
        let top_level = |declared: &[&str]| {
            applied
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
                .find(|k| !COMMON.contains(&k.as_str()) && !declared.contains(&k.as_str()))
                .map(|k| format!(".{k}"))
        };
        use k8s_openapi::api::{apps, core, networking, policy};
        let unknown = match (self.rt.group.as_str(), self.rt.plural.as_str()) {
            ("", "configmaps") => top_level(&["data", "binaryData", "immutable"]),
            ("", "secrets") => top_level(&["data", "stringData", "type", "immutable"]),
            ("", "serviceaccounts") => top_level(&["secrets", "imagePullSecrets", "automountServiceAccountToken"]),
            ("", "services") => undeclared::<core::v1::Service>(applied),
            ("apps", "deployments") => undeclared::<apps::v1::Deployment>(applied),
            ("policy", "poddisruptionbudgets") => undeclared::<policy::v1::PodDisruptionBudget>(applied),
            ("networking.k8s.io", "networkpolicies") => undeclared::<networking::v1::NetworkPolicy>(applied),
            _ => None,
        };
        let Some(unknown) = unknown else {
            return Ok(());
        };
        let s = |p: &str| applied.pointer(p).and_then(Value::as_str).unwrap_or_default();
        // The real server writes the core group as the empty string before the slash.
        let gv = match self.rt.group.as_str() {
            "" => format!("/{}", self.target.version),
            g => format!("{g}/{}", self.target.version),
        };
        Err(ApiError::new(
            500,
            "",
            format!(
                "failed to create typed patch object ({}/{}; {gv}, Kind={}): {unknown}: field not declared in schema",
                s("/metadata/namespace"),
                s("/metadata/name"),
                self.rt.kind
            ),
        ))
    }

    fn delete(&self, st: &mut State, key: &Key) -> Result<Reply, ApiError> {
        let body: Option<Value> = serde_json::from_slice(self.req.body).ok();
        let old = self.existing(st, key)?;
        if !dry_run(self.req.query, body.as_ref()) {
            let stays = is_namespace(key) || !finalizers(&old).is_empty();
            let shown = delete_object(st, key).expect("exists");
            // The real server answers with the object when it stays (marked for deletion), with
            // a Status when it is gone.
            if stays {
                return Ok(Reply::Json(200, self.outgoing(shown)));
            }
        }
        Ok(Reply::Json(
            200,
            json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": key.name, "group": self.rt.group, "kind": self.rt.plural, "uid": old["metadata"]["uid"]},
            }),
        ))
    }

    /// SelfSubjectAccessReview (for the caller) and SubjectAccessReview (for spec.user/groups).
    fn access_review(&self, st: &State) -> Result<Reply, ApiError> {
        let mut body = if self.req.content_type.contains("protobuf") {
            crate::proto::decode_access_review(self.req.body)
                .ok_or_else(|| ApiError::bad_request("the object provided is unrecognized or malformed"))?
        } else {
            self.body_json()?
        };
        let spec = body.get("spec").cloned().unwrap_or(json!({}));
        let user = if self.rt.plural == "subjectaccessreviews" {
            let mut groups: Vec<String> = spec
                .get("groups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|g| g.as_str().map(String::from))
                .collect();
            let name = spec.get("user").and_then(Value::as_str).unwrap_or_default().to_string();
            if let Some(rest) = name.strip_prefix("system:serviceaccount:")
                && let Some((ns, sa)) = rest.split_once(':')
                && groups.is_empty()
            {
                groups = UserInfo::service_account(ns, sa).groups;
            }
            UserInfo { name, groups }
        } else {
            self.req.user.clone()
        };
        let allowed = match spec.get("resourceAttributes") {
            Some(ra) => {
                let s = |f: &str| ra.get(f).and_then(Value::as_str).unwrap_or_default().to_string();
                let attrs = Attributes {
                    verb: s("verb"),
                    group: s("group"),
                    resource: s("resource"),
                    subresource: s("subresource"),
                    name: s("name"),
                    namespace: Some(s("namespace")).filter(|n| !n.is_empty()),
                };
                rbac::allowed(st, &user, &attrs)
            }
            // Non-resource URLs (/healthz, /version, ...) are open to every authenticated user here.
            None => true,
        };
        body["status"] = if allowed {
            json!({"allowed": true, "reason": "allowed by RBAC"})
        } else {
            json!({"allowed": false})
        };
        body["metadata"] = json!({"creationTimestamp": null});
        Ok(Reply::Json(201, body))
    }
}

/// Everything but metadata and status: what `generation` tracks.
/// The first field of `applied` that type `T` does not declare, written as the real server
/// writes it (`.spec.containers[name="x"].foo`). None when all are declared, or when the object
/// does not even decode (the real server's other checks answer that).
fn undeclared<T: serde::de::DeserializeOwned + serde::Serialize>(applied: &Value) -> Option<String> {
    let typed: T = serde_json::from_value(applied.clone()).ok()?;
    let typed = serde_json::to_value(typed).ok()?;
    first_missing(applied, &typed, String::new())
}

fn first_missing(applied: &Value, typed: &Value, path: String) -> Option<String> {
    match (applied, typed) {
        (Value::Object(a), Value::Object(t)) => a.iter().find_map(|(k, v)| match t.get(k) {
            // `creationTimestamp: null` and the like: an unset field, declared or not.
            _ if v.is_null() => None,
            None => Some(format!("{path}.{k}")),
            Some(tv) => first_missing(v, tv, format!("{path}.{k}")),
        }),
        (Value::Array(a), Value::Array(t)) => a.iter().zip(t).enumerate().find_map(|(i, (v, tv))| {
            let at = match v.get("name").and_then(Value::as_str) {
                Some(name) => format!("{path}[name={name:?}]"),
                None => format!("{path}[{i}]"),
            };
            first_missing(v, tv, at)
        }),
        _ => None,
    }
}

fn spec_of(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    o
}

fn is_dns_label(s: &str) -> bool {
    s.len() <= 63
        && !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// The checks a real API server makes of a CustomResourceDefinition that translators are most
/// likely to get wrong: exactly one storage version, and the approval annotation that groups
/// under k8s.io and kubernetes.io (e.g. the Gateway API's) must carry.
fn validate_crd(crd: &Value) -> Result<(), ApiError> {
    let name = crd
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let invalid = |field: &str, reason: &str, detail: String| {
        ApiError::invalid(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            name,
            field,
            reason,
            &detail,
        )
    };
    let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
    let protected = ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|g| group == *g || group.ends_with(&format!(".{g}")));
    if protected
        && crd
            .pointer("/metadata/annotations/api-approved.kubernetes.io")
            .is_none()
    {
        return Err(invalid(
            "metadata.annotations[api-approved.kubernetes.io]",
            "FieldValueRequired",
            "Required value: protected groups must have approval annotation \"api-approved.kubernetes.io\", see https://github.com/kubernetes/enhancements/pull/1111".into(),
        ));
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let storage = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if storage != 1 {
        return Err(invalid(
            "spec.versions",
            "FieldValueInvalid",
            format!("Invalid value: {storage}: must have exactly one version marked as storage version"),
        ));
    }
    Ok(())
}
