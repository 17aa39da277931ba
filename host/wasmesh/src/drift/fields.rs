//! Which fields of an object a field manager owns (`metadata.managedFields`, fieldsV1), and who
//! took them from the plugin since it wrote them.
//!
//! The API server moves a field to whoever changes it: an Update (kubectl edit, patch, scale, a
//! controller) or a forced apply takes the field from the plugin's field manager. So a field the
//! plugin set that is no longer in its set was changed (or removed) by someone else; the manager
//! that now holds it is who. Fields others add beside the plugin's, and status, are not the
//! plugin's and are not drift.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::Value;
use wasmesh_cluster::DynamicObject;

/// Most fields kept per watched object (8 bytes each): an object whose plugin-set fields are
/// more is not watched (the WARN says so).
pub const MAX_FIELDS: usize = 4096;

/// Changed fields named in one event; the rest are counted.
pub const MAX_NAMED: usize = 10;

/// What the plugin's field manager owned in an object, as the host keeps it per watched object:
/// the object's uid and a hash of each field path (not the paths: they are named from the
/// object that changed, where the new owner holds them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    uid: Box<str>,
    owned: Box<[u64]>,
    /// When the plugin's own entry was last written (the host's own writes are not drift).
    written: Box<str>,
}

impl Snapshot {
    /// The plugin's fields in `object`, at most [`MAX_FIELDS`].
    pub fn of(object: &DynamicObject, manager: &str) -> Snapshot {
        let (owned, written) = owned_by(object, manager);
        let mut hashes: Vec<u64> = owned.iter().map(|p| hash(p)).take(MAX_FIELDS).collect();
        hashes.sort_unstable();
        Snapshot {
            uid: object.metadata.uid.clone().unwrap_or_default().into(),
            owned: hashes.into(),
            written: written.into(),
        }
    }

    pub fn fields(&self) -> usize {
        self.owned.len()
    }

    /// Bytes this snapshot holds on the heap and inline.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Snapshot>() + self.uid.len() + self.written.len() + self.owned.len() * 8
    }
}

/// What someone else changed: the managers that now hold fields the plugin had set, the paths
/// they hold (at most [`MAX_NAMED`] named), and how many of the plugin's fields nobody holds any
/// more (removed).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Drifted {
    pub managers: Vec<String>,
    pub paths: Vec<String>,
    /// Changed fields beyond the named ones.
    pub more: usize,
    pub removed: usize,
}

impl Drifted {
    /// `.data.a, .data.b and 3 more`, or that fields were removed.
    pub fn what(&self) -> String {
        let mut parts = Vec::new();
        if !self.paths.is_empty() {
            let mut s = self.paths.join(", ");
            if self.more > 0 {
                s.push_str(&format!(" and {} more", self.more));
            }
            parts.push(s);
        }
        if self.removed > 0 {
            parts.push(format!(
                "removed {} field{} the plugin had set",
                self.removed,
                if self.removed == 1 { "" } else { "s" }
            ));
        }
        parts.join("; ")
    }
}

/// Compares `now` with what the plugin owned before: None when every field the plugin set is
/// still its own (a change of status, of fields others own, or by the plugin itself).
pub fn compare(before: &Snapshot, now: &DynamicObject, manager: &str) -> Option<Drifted> {
    let after = Snapshot::of(now, manager);
    let still: HashSet<u64> = after.owned.iter().copied().collect();
    let lost: HashSet<u64> = before.owned.iter().copied().filter(|h| !still.contains(h)).collect();
    if lost.is_empty() {
        return None;
    }
    let mut drifted = Drifted::default();
    let mut found = HashSet::new();
    for entry in others(now, manager) {
        let mut took = false;
        for path in paths(entry.fields_v1.as_ref().map(|f| &f.0).unwrap_or(&Value::Null)) {
            let h = hash(&path);
            if lost.contains(&h) && found.insert(h) {
                took = true;
                if drifted.paths.len() < MAX_NAMED {
                    drifted.paths.push(path);
                } else {
                    drifted.more += 1;
                }
            }
        }
        let name = entry.manager.clone().unwrap_or_else(|| "(unnamed)".into());
        if took && !drifted.managers.contains(&name) {
            drifted.managers.push(name);
        }
    }
    drifted.removed = lost.len() - found.len();
    if drifted.managers.is_empty() {
        // Nobody holds what went: the plugin dropped the fields itself (its own newer write), or
        // someone removed them (a JSON patch, kubectl edit deleting a line). Only the latter is
        // drift; its author is the manager that wrote last.
        if before.uid == after.uid && after.written != before.written {
            return None;
        }
        let latest = others(now, manager)
            .filter(|e| e.time.is_some())
            .max_by(|a, b| a.time.as_ref().map(|t| &t.0).cmp(&b.time.as_ref().map(|t| &t.0)))
            .and_then(|e| e.manager.clone());
        drifted
            .managers
            .push(latest.unwrap_or_else(|| "an unknown field manager".into()));
    }
    Some(drifted)
}

/// Entries of other managers on the object itself (status is not the plugin's).
fn others<'a>(
    object: &'a DynamicObject,
    manager: &'a str,
) -> impl Iterator<Item = &'a wasmesh_cluster::ManagedFieldsEntry> + 'a {
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(move |e| e.manager.as_deref() != Some(manager))
        .filter(|e| e.subresource.as_deref().is_none_or(|s| s != "status"))
}

/// The paths `manager` owns through server-side apply, and when it last wrote.
fn owned_by(object: &DynamicObject, manager: &str) -> (Vec<String>, String) {
    let mut out = Vec::new();
    let mut written = String::new();
    for e in object.metadata.managed_fields.iter().flatten() {
        if e.manager.as_deref() == Some(manager) && e.subresource.as_deref().unwrap_or("").is_empty() {
            out.extend(paths(e.fields_v1.as_ref().map(|f| &f.0).unwrap_or(&Value::Null)));
            if let Some(t) = &e.time {
                written = format!("{:?}{written}", t.0);
            }
        }
    }
    (out, written)
}

/// The leaf paths of a fieldsV1 set, as kube-apiserver prints them in conflicts: `.data.a`,
/// `.metadata.labels.app`, `.spec.containers[name="app"].image`.
pub fn paths(fields: &Value) -> Vec<String> {
    fn walk(v: &Value, prefix: &mut String, out: &mut Vec<String>) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.as_str() != ".").collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !prefix.is_empty() {
                out.push(prefix.clone());
            }
            return;
        }
        for (k, child) in children {
            let segment = if let Some(f) = k.strip_prefix("f:") {
                format!(".{f}")
            } else if let Some(key) = k.strip_prefix("k:") {
                match serde_json::from_str::<serde_json::Map<String, Value>>(key) {
                    Ok(m) => format!(
                        "[{}]",
                        m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
                    ),
                    Err(_) => format!("[{key}]"),
                }
            } else if let Some(value) = k.strip_prefix("v:") {
                format!("[={value}]")
            } else if let Some(index) = k.strip_prefix("i:") {
                format!("[{index}]")
            } else {
                continue;
            };
            let at = prefix.len();
            prefix.push_str(&segment);
            walk(child, prefix, out);
            prefix.truncate(at);
        }
    }
    let mut out = Vec::new();
    walk(fields, &mut String::new(), &mut out);
    out
}

fn hash(path: &str) -> u64 {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(uid: &str, entries: Value) -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "shop", "uid": uid, "managedFields": entries},
        }))
        .unwrap()
    }

    fn entry(manager: &str, operation: &str, time: &str, fields: Value) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1", "time": time,
               "fieldsType": "FieldsV1", "fieldsV1": fields})
    }

    const ME: &str = "wasmesh-linkerd";

    #[test]
    fn paths_read_as_the_api_server_prints_them() {
        let f = json!({"f:data": {".": {}, "f:a": {}}, "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:image": {}}}}});
        let mut p = paths(&f);
        p.sort();
        assert_eq!(p, [".data.a", ".spec.containers[name=\"app\"].image"]);
    }

    #[test]
    fn a_field_taken_by_another_manager_is_drift_naming_it_and_the_manager() {
        let before = object(
            "u1",
            json!([entry(
                ME,
                "Apply",
                "2026-12-03T10:00:00Z",
                json!({"f:data": {"f:a": {}, "f:b": {}}})
            )]),
        );
        let snap = Snapshot::of(&before, ME);
        assert_eq!(snap.fields(), 2);
        let after = object(
            "u1",
            json!([
                entry(ME, "Apply", "2026-12-03T10:00:00Z", json!({"f:data": {"f:b": {}}})),
                entry(
                    "kubectl-edit",
                    "Update",
                    "2026-12-03T10:05:00Z",
                    json!({"f:data": {"f:a": {}}})
                ),
            ]),
        );
        let d = compare(&snap, &after, ME).expect("drift");
        assert_eq!(d.managers, ["kubectl-edit"]);
        assert_eq!(d.paths, [".data.a"]);
        assert_eq!(d.what(), ".data.a");
    }

    #[test]
    fn the_plugins_own_writes_other_fields_and_status_are_not_drift() {
        let before = object(
            "u1",
            json!([entry(
                ME,
                "Apply",
                "2026-12-03T10:00:00Z",
                json!({"f:data": {"f:a": {}}})
            )]),
        );
        let snap = Snapshot::of(&before, ME);
        // Someone adds a label the plugin never set; a controller writes status.
        let mut status = entry(
            "kube-controller-manager",
            "Update",
            "2026-12-03T10:06:00Z",
            json!({"f:status": {"f:x": {}}}),
        );
        status["subresource"] = json!("status");
        let after = object(
            "u1",
            json!([
                entry(ME, "Apply", "2026-12-03T10:00:00Z", json!({"f:data": {"f:a": {}}})),
                entry(
                    "kubectl-label",
                    "Update",
                    "2026-12-03T10:05:00Z",
                    json!({"f:metadata": {"f:labels": {"f:team": {}}}})
                ),
                status,
            ]),
        );
        assert_eq!(compare(&snap, &after, ME), None);
        // The plugin's own newer apply drops a field: not drift.
        let own = object(
            "u1",
            json!([entry(ME, "Apply", "2026-12-03T10:09:00Z", json!({"f:data": {}}))]),
        );
        assert_eq!(compare(&snap, &own, ME), None);
    }

    #[test]
    fn a_removed_field_is_drift_by_the_last_writer() {
        let before = object(
            "u1",
            json!([entry(
                ME,
                "Apply",
                "2026-12-03T10:00:00Z",
                json!({"f:data": {"f:a": {}, "f:b": {}}})
            )]),
        );
        let snap = Snapshot::of(&before, ME);
        let after = object(
            "u1",
            json!([
                entry(ME, "Apply", "2026-12-03T10:00:00Z", json!({"f:data": {"f:b": {}}})),
                entry(
                    "old-tool",
                    "Update",
                    "2026-12-03T09:00:00Z",
                    json!({"f:metadata": {"f:labels": {"f:x": {}}}})
                ),
                entry(
                    "kubectl-patch",
                    "Update",
                    "2026-12-03T10:07:00Z",
                    json!({"f:metadata": {"f:labels": {"f:y": {}}}})
                ),
            ]),
        );
        let d = compare(&snap, &after, ME).expect("drift");
        assert_eq!(d.managers, ["kubectl-patch"]);
        assert_eq!(d.removed, 1);
        assert_eq!(d.what(), "removed 1 field the plugin had set");
    }

    #[test]
    fn named_paths_are_bounded_and_the_rest_counted() {
        let many: serde_json::Map<String, Value> = (0..30).map(|i| (format!("f:k{i}"), json!({}))).collect();
        let before = object(
            "u1",
            json!([entry(
                ME,
                "Apply",
                "2026-12-03T10:00:00Z",
                json!({"f:data": many.clone()})
            )]),
        );
        let snap = Snapshot::of(&before, ME);
        let after = object(
            "u1",
            json!([entry("other", "Apply", "2026-12-03T10:01:00Z", json!({"f:data": many}))]),
        );
        let d = compare(&snap, &after, ME).expect("drift");
        assert_eq!((d.paths.len(), d.more), (MAX_NAMED, 20));
        assert!(d.what().ends_with(" and 20 more"), "{}", d.what());
    }
}
