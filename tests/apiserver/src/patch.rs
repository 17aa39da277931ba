//! The PATCH flavours: JSON merge patch, JSON patch, an approximation of strategic merge patch,
//! and server-side apply with per-manager field ownership (metadata.managedFields).

use crate::errors::ApiError;
use crate::storage::now_rfc3339;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// RFC 7386 merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

/// RFC 6902 JSON patch.
pub fn json_patch(target: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| ApiError::bad_request(format!("couldn't get patch object: {e}")))?;
    json_patch::patch(target, &ops).map_err(|e| {
        ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })
}

/// The key a list of objects is merged by, when every element has one: `name` (containers, env,
/// volumes, ...) or, for ports without names, the port number.
fn merge_key(items: &[Value]) -> Option<&'static str> {
    ["name", "containerPort", "port"]
        .into_iter()
        .find(|key| !items.is_empty() && items.iter().all(|i| i.get(key).is_some_and(|v| !v.is_null())))
}

/// Strategic merge patch, approximated: maps merge like a merge patch (null deletes), lists of
/// objects with a merge key merge item by item (`$patch: delete` removes an item), other lists are replaced.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (k, pv) in patch_map {
        if pv.is_null() {
            target_map.remove(k);
            continue;
        }
        match (target_map.get_mut(k), pv) {
            (Some(tv @ Value::Object(_)), Value::Object(_)) => strategic_merge(tv, pv),
            (Some(Value::Array(titems)), Value::Array(pitems)) => {
                let key = merge_key(pitems).filter(|key| titems.iter().all(|i| i.get(*key).is_some()));
                match key {
                    Some(key) => merge_keyed_list(titems, pitems, key),
                    None => target_map.insert(k.clone(), pv.clone()).map(drop).unwrap_or(()),
                }
            }
            _ => {
                let mut fresh = Value::Null;
                strategic_merge_fresh(&mut fresh, pv);
                target_map.insert(k.clone(), fresh);
            }
        }
    }
}

/// A patch value for an absent field: copied without `null`s (they delete nothing).
fn strategic_merge_fresh(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(_) => {
            *target = Value::Object(Map::new());
            strategic_merge(target, patch);
        }
        other => *target = other.clone(),
    }
}

fn merge_keyed_list(target: &mut Vec<Value>, patch: &[Value], key: &str) {
    for item in patch {
        let id = &item[key];
        let pos = target.iter().position(|t| &t[key] == id);
        if item.get("$patch").and_then(Value::as_str) == Some("delete") {
            if let Some(pos) = pos {
                target.remove(pos);
            }
            continue;
        }
        match pos {
            Some(pos) => strategic_merge(&mut target[pos], item),
            None => target.push(item.clone()),
        }
    }
}

/// One step of a field path: a map field, or an element of a list keyed by `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Field(String),
    Key(String),
}

type FieldPath = Vec<Step>;

/// `.spec.containers[name="app"].image`, the way kube-apiserver prints paths in conflicts.
fn path_string(path: &FieldPath) -> String {
    path.iter()
        .map(|s| match s {
            Step::Field(f) => format!(".{f}"),
            Step::Key(k) => format!("[name=\"{k}\"]"),
        })
        .collect()
}

fn keyed_by_name(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.get("name").is_some_and(Value::is_string))
}

/// Leaf field paths set in an applied configuration (identity fields excluded: they are not owned).
fn leaf_paths(obj: &Value) -> BTreeSet<FieldPath> {
    let mut out = BTreeSet::new();
    if let Value::Object(map) = obj {
        for (k, v) in map {
            match k.as_str() {
                "apiVersion" | "kind" => {}
                "metadata" => {
                    if let Value::Object(meta) = v {
                        for (mk, mv) in meta {
                            if matches!(mk.as_str(), "labels" | "annotations" | "finalizers" | "ownerReferences") {
                                collect(
                                    mv,
                                    vec![Step::Field("metadata".into()), Step::Field(mk.clone())],
                                    &mut out,
                                );
                            }
                        }
                    }
                }
                _ => collect(v, vec![Step::Field(k.clone())], &mut out),
            }
        }
    }
    out
}

fn collect(v: &Value, path: FieldPath, out: &mut BTreeSet<FieldPath>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let mut p = path.clone();
                p.push(Step::Field(k.clone()));
                collect(child, p, out);
            }
        }
        Value::Array(items) if keyed_by_name(items) => {
            for item in items {
                let mut p = path.clone();
                p.push(Step::Key(item["name"].as_str().unwrap_or_default().to_string()));
                collect(item, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

fn value_at<'a>(obj: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    let mut cur = obj;
    for step in path {
        cur = match step {
            Step::Field(f) => cur.get(f)?,
            Step::Key(k) => cur
                .as_array()?
                .iter()
                .find(|i| i.get("name").and_then(Value::as_str) == Some(k))?,
        };
    }
    Some(cur)
}

/// Removes the field at `path`; removing the `name` of a keyed list item removes the whole item.
fn remove_at(obj: &mut Value, path: &FieldPath) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let (target, leaf) = match (last, parent_path.last()) {
        (Step::Field(f), Some(Step::Key(_))) if f == "name" => (
            &parent_path[..parent_path.len() - 1],
            parent_path.last().expect("checked"),
        ),
        _ => (parent_path, last),
    };
    let mut cur = obj;
    for step in target {
        let next = match step {
            Step::Field(f) => cur.get_mut(f),
            Step::Key(k) => cur
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|i| i.get("name").and_then(Value::as_str) == Some(k))),
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    match leaf {
        Step::Field(f) => {
            if let Some(m) = cur.as_object_mut() {
                m.remove(f);
            }
        }
        Step::Key(k) => {
            if let Some(a) = cur.as_array_mut() {
                a.retain(|i| i.get("name").and_then(Value::as_str) != Some(k));
            }
        }
    }
}

/// Merges an applied configuration into the live object: maps recursively, name-keyed lists
/// item by item, everything else replaced.
fn apply_merge(live: &mut Value, applied: &Value) {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            for (k, av) in a {
                match l.get_mut(k) {
                    Some(lv) => apply_merge(lv, av),
                    None => {
                        l.insert(k.clone(), av.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(a)) if keyed_by_name(a) && l.iter().all(|i| i.get("name").is_some()) => {
            for item in a {
                match l.iter_mut().find(|i| i.get("name") == item.get("name")) {
                    Some(existing) => apply_merge(existing, item),
                    None => l.push(item.clone()),
                }
            }
        }
        (l, a) => *l = a.clone(),
    }
}

fn to_fields_v1(paths: &BTreeSet<FieldPath>) -> Value {
    let mut root = Value::Object(Map::new());
    for path in paths {
        let mut cur = &mut root;
        for step in path {
            let key = match step {
                Step::Field(f) => format!("f:{f}"),
                Step::Key(k) => format!("k:{}", json!({ "name": k })),
            };
            let is_key = matches!(step, Step::Key(_));
            cur = cur
                .as_object_mut()
                .expect("fieldsV1 nodes are objects")
                .entry(key)
                .or_insert_with(|| json!({}));
            if is_key {
                cur.as_object_mut()
                    .expect("object")
                    .entry(".")
                    .or_insert_with(|| json!({}));
            }
        }
    }
    root
}

fn from_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, path: FieldPath, out: &mut BTreeSet<FieldPath>) {
        let children: Vec<(&String, &Value)> = v
            .as_object()
            .map(|m| m.iter().filter(|(k, _)| k.as_str() != ".").collect())
            .unwrap_or_default();
        if children.is_empty() {
            if !path.is_empty() {
                out.insert(path);
            }
            return;
        }
        for (k, child) in children {
            let step = if let Some(f) = k.strip_prefix("f:") {
                Step::Field(f.to_string())
            } else if let Some(key) = k.strip_prefix("k:") {
                let name = serde_json::from_str::<Value>(key)
                    .ok()
                    .and_then(|v| v.get("name").and_then(Value::as_str).map(String::from));
                match name {
                    Some(n) => Step::Key(n),
                    None => continue,
                }
            } else {
                continue;
            };
            let mut p = path.clone();
            p.push(step);
            walk(child, p, out);
        }
    }
    let mut out = BTreeSet::new();
    walk(v, Vec::new(), &mut out);
    out
}

struct Manager {
    entry: Value,
    fields: BTreeSet<FieldPath>,
}

/// What kube-apiserver records for a write that is not an apply (an Update: a PUT or a patch):
/// the fields whose value it changed move to `manager`'s Update entry (taken from every other
/// manager), and fields it removed belong to nobody. Status is the status subresource's.
pub fn record_update(old: &Value, new: &mut Value, manager: &str, api_version: &str, subresource: Option<&str>) {
    let in_scope = |p: &FieldPath| {
        let status = matches!(p.first(), Some(Step::Field(f)) if f == "status");
        status == (subresource == Some("status"))
    };
    let before: BTreeSet<FieldPath> = leaf_paths(old).into_iter().filter(in_scope).collect();
    let after: BTreeSet<FieldPath> = leaf_paths(new).into_iter().filter(in_scope).collect();
    let changed: BTreeSet<FieldPath> = after
        .iter()
        .filter(|p| value_at(old, p) != value_at(new, p))
        .cloned()
        .collect();
    let removed: BTreeSet<FieldPath> = before.difference(&after).cloned().collect();
    let entries: Vec<Value> = old
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if changed.is_empty() && removed.is_empty() {
        new["metadata"]["managedFields"] = Value::Array(entries);
        return;
    }
    let sub = subresource.unwrap_or("");
    let is_mine = |e: &Value| {
        e.get("manager").and_then(Value::as_str) == Some(manager)
            && e.get("operation").and_then(Value::as_str) == Some("Update")
            && e.get("subresource").and_then(Value::as_str).unwrap_or("") == sub
    };
    let fields_of = |e: &Value| from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null));
    let mut mine = entries.iter().find(|e| is_mine(e)).map(fields_of).unwrap_or_default();
    let mut out = Vec::new();
    for mut e in entries.into_iter().filter(|e| !is_mine(e)) {
        let mut fields = fields_of(&e);
        let had = fields.len();
        fields.retain(|p| !changed.contains(p) && !removed.contains(p));
        if fields.len() != had {
            if fields.is_empty() {
                continue;
            }
            e["fieldsV1"] = to_fields_v1(&fields);
        }
        out.push(e);
    }
    mine.retain(|p| !removed.contains(p));
    mine.extend(changed);
    if !mine.is_empty() {
        let mut e = json!({
            "manager": manager,
            "operation": "Update",
            "apiVersion": api_version,
            "time": now_rfc3339(),
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(&mine),
        });
        if let Some(s) = subresource {
            e["subresource"] = json!(s);
        }
        out.push(e);
    }
    new["metadata"]["managedFields"] = Value::Array(out);
}

/// Server-side apply of `applied` by `manager` onto `live` (None when the object does not exist yet).
/// Returns the merged object with updated metadata.managedFields; other server-set metadata is the
/// caller's business. Conflicts with other managers' differing values fail with the real 409 unless `force`.
pub fn server_side_apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
) -> Result<Value, ApiError> {
    let mut result = live.cloned().unwrap_or_else(|| json!({}));
    let mut managers: Vec<Manager> = result
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| Manager {
                    fields: from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
                    entry: e.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let is_me = |m: &Manager| {
        m.entry.get("manager").and_then(Value::as_str) == Some(manager)
            && m.entry.get("operation").and_then(Value::as_str) == Some("Apply")
    };
    let new_fields = leaf_paths(applied);

    // Conflicts: another manager owns a field this apply sets to a different value.
    let mut conflicts: Vec<(String, FieldPath)> = Vec::new();
    for m in managers.iter_mut().filter(|m| !is_me(m)) {
        let owned_conflicts: Vec<FieldPath> = m
            .fields
            .iter()
            .filter(|p| new_fields.contains(*p) && value_at(&result, p) != value_at(applied, p))
            .cloned()
            .collect();
        if force {
            // Forced applies take the fields over.
            for p in &owned_conflicts {
                m.fields.remove(p);
            }
        } else {
            conflicts.extend(owned_conflicts.into_iter().map(|p| (print_manager(&m.entry), p)));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflict_error(conflicts));
    }

    // Fields this manager applied before and dropped now are removed, unless someone else owns them.
    let old_fields = managers
        .iter()
        .find(|m| is_me(m))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    for p in old_fields.difference(&new_fields) {
        let owned_elsewhere = managers.iter().filter(|m| !is_me(m)).any(|m| m.fields.contains(p));
        if !owned_elsewhere {
            remove_at(&mut result, p);
        }
    }
    apply_merge(&mut result, applied);

    managers.retain(|m| !is_me(m) && !m.fields.is_empty());
    let mut entries: Vec<Value> = managers
        .into_iter()
        .map(|m| {
            let mut e = m.entry;
            e["fieldsV1"] = to_fields_v1(&m.fields);
            e
        })
        .collect();
    entries.push(json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": now_rfc3339(),
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(&new_fields),
    }));
    result["metadata"]["managedFields"] = Value::Array(entries);
    Ok(result)
}

/// `"name"`, with `using v1` for Update managers, like kube-apiserver's printManager.
fn print_manager(entry: &Value) -> String {
    let name = entry.get("manager").and_then(Value::as_str).unwrap_or_default();
    let mut s = format!("{name:?}");
    if let Some(sub) = entry
        .get("subresource")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        s = format!("{s} with subresource {sub:?}");
    }
    if entry.get("operation").and_then(Value::as_str) == Some("Update") {
        s = format!(
            "{s} using {}",
            entry.get("apiVersion").and_then(Value::as_str).unwrap_or_default()
        );
    }
    s
}

fn conflict_error(conflicts: Vec<(String, FieldPath)>) -> ApiError {
    let message = if let [(manager, path)] = conflicts.as_slice() {
        format!(
            "Apply failed with 1 conflict: conflict with {manager}: {}",
            path_string(path)
        )
    } else {
        let mut by_manager: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
        for (m, p) in &conflicts {
            by_manager.entry(m.as_str()).or_default().push(path_string(p));
        }
        let mut lines = Vec::new();
        for (m, paths) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.into_iter().map(|p| format!("- {p}")));
        }
        format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
    };
    let causes = conflicts.iter().map(|(m, p)| (m.clone(), path_string(p))).collect();
    ApiError::apply_conflict(message, causes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut live = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}]}});
        strategic_merge(
            &mut live,
            &json!({"spec": {"containers": [{"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}}),
        );
        assert_eq!(
            live,
            json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}]}})
        );
    }

    #[test]
    fn fields_v1_round_trips() {
        let obj = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "x", "image": "i"}]}});
        let paths = leaf_paths(&obj);
        assert_eq!(from_fields_v1(&to_fields_v1(&paths)), paths);
        assert!(
            to_fields_v1(&paths)["f:spec"]["f:containers"]
                .get("k:{\"name\":\"x\"}")
                .is_some()
        );
    }

    #[test]
    fn apply_removes_fields_dropped_by_the_same_manager() {
        let first = server_side_apply(None, &json!({"data": {"a": "1", "b": "2"}}), "m", false, "v1").unwrap();
        let second = server_side_apply(Some(&first), &json!({"data": {"a": "1"}}), "m", false, "v1").unwrap();
        assert_eq!(second["data"], json!({"a": "1"}));
    }
}
