//! The plugin's WIT plan → the executor's plan, with every object parsed and size-checked.

use serde_json::Value;
use wasmesh_cluster as cluster;
use wasmesh_runtime::types;

use crate::config::Limits;

/// Why a plugin's plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Stages are named by number too: a plugin may give several stages one name.
    #[error("step {step} of stage {number} (\"{stage}\") is not a usable object: {reason}")]
    BadObject {
        number: usize,
        stage: String,
        step: usize,
        reason: String,
    },
    #[error("the plan is {bytes} bytes, over the limit of {limit} bytes")]
    TooLarge { bytes: usize, limit: usize },
    #[error("the plan has {count} {what}, over the limit of {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
}

/// The most JSON values (objects, arrays, members, scalars) all of a plan's applied objects may
/// hold: the built-in translators' largest plans hold a few thousand; parsed, this many cost the
/// host some tens of MiB at most.
pub const MAX_PLAN_JSON_VALUES: usize = 250_000;

/// The limits bound a whole plan: its bytes, its steps and waits, and each wait (cut to
/// `max_wait_seconds`), so a plugin cannot make the host work or wait for ever.
pub fn plan(p: types::Plan, limits: &Limits) -> Result<cluster::Plan, PlanError> {
    let (max_bytes, max_wait_seconds) = (limits.max_plan_bytes, limits.max_wait_seconds);
    let steps = p.stages.iter().map(|s| s.steps.len()).sum::<usize>();
    let waits = p
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| matches!(s, types::Step::Wait(_)))
        .count();
    for (what, count, limit) in [
        ("steps", steps, limits.max_plan_steps),
        ("waits", waits, limits.max_plan_waits),
    ] {
        if count > limit {
            return Err(PlanError::TooMany { what, count, limit });
        }
    }
    // Every string the plan carries counts, not only the applied objects.
    let strs = |xs: &[(String, String)]| xs.iter().map(|(k, v)| k.len() + v.len() + 8).sum::<usize>();
    let list = |xs: &[String]| xs.iter().map(|x| x.len() + 8).sum::<usize>();
    let reference = |r: &types::ObjectRef| {
        r.api_version.len() + r.kind.len() + r.name.len() + r.namespace.as_deref().map_or(0, str::len) + 32
    };
    let bytes: usize = p
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .map(|s| match s {
            types::Step::Apply(json) => json.len(),
            types::Step::Delete(r) => reference(r),
            types::Step::Wait(w) => reference(&w.target) + 32,
            types::Step::NamespaceMetadata(c) => {
                c.namespace.len()
                    + strs(&c.set_labels)
                    + strs(&c.set_annotations)
                    + list(&c.remove_labels)
                    + list(&c.remove_annotations)
            }
        })
        .sum::<usize>()
        + p.stages.iter().map(|s| s.name.len() + 32).sum::<usize>()
        + p.summary.len();
    if bytes > max_bytes {
        return Err(PlanError::TooLarge {
            bytes,
            limit: max_bytes,
        });
    }
    // Parsed, a JSON value costs the host tens of bytes however few it took in the plan
    // (`[0,0,...]`): bound their number before anything is parsed. Each value but the first
    // follows one of these bytes, so their count bounds the values (strings holding them only
    // make it count more).
    let values: usize = p
        .stages
        .iter()
        .flat_map(|s| &s.steps)
        .filter_map(|s| match s {
            types::Step::Apply(json) => {
                Some(json.bytes().filter(|b| matches!(b, b',' | b'[' | b'{' | b':')).count() + 1)
            }
            // Each pair becomes a member of the namespace patch's JSON: a label costs the host as
            // much as an object's member, however short its strings.
            types::Step::NamespaceMetadata(c) => Some(
                2 * (c.set_labels.len() + c.set_annotations.len()) + c.remove_labels.len() + c.remove_annotations.len(),
            ),
            _ => None,
        })
        .sum();
    if values > MAX_PLAN_JSON_VALUES {
        return Err(PlanError::TooMany {
            what: "JSON values in its objects and namespace changes",
            count: values,
            limit: MAX_PLAN_JSON_VALUES,
        });
    }
    let mut stages = Vec::with_capacity(p.stages.len());
    for (number, s) in p.stages.into_iter().enumerate() {
        let mut steps = Vec::with_capacity(s.steps.len());
        for (i, step) in s.steps.into_iter().enumerate() {
            let bad = |reason: String| PlanError::BadObject {
                number: number + 1,
                stage: s.name.clone(),
                step: i + 1,
                reason,
            };
            steps.push(match step {
                types::Step::Apply(json) => {
                    let v: Value = serde_json::from_str(&json).map_err(|e| bad(format!("not JSON: {e}")))?;
                    for (field, ptr) in [
                        ("apiVersion", "/apiVersion"),
                        ("kind", "/kind"),
                        ("metadata.name", "/metadata/name"),
                    ] {
                        if v.pointer(ptr).and_then(Value::as_str).is_none_or(str::is_empty) {
                            return Err(bad(format!("{field} is missing")));
                        }
                    }
                    cluster::Step::Apply(v)
                }
                types::Step::Delete(r) => cluster::Step::Delete(object_ref(r)),
                types::Step::NamespaceMetadata(c) => cluster::Step::NamespaceMetadata(cluster::NamespaceChange {
                    namespace: c.namespace,
                    set_labels: c.set_labels,
                    remove_labels: c.remove_labels,
                    set_annotations: c.set_annotations,
                    remove_annotations: c.remove_annotations,
                    create: c.create,
                }),
                types::Step::Wait(w) => cluster::Step::Wait(cluster::WaitFor {
                    target: object_ref(w.target),
                    condition: match w.condition {
                        types::Condition::Exists => cluster::Condition::Exists,
                        types::Condition::Deleted => cluster::Condition::Deleted,
                        types::Condition::ConditionTrue(c) => cluster::Condition::ConditionTrue(c),
                    },
                    timeout_seconds: w.timeout_seconds.min(max_wait_seconds),
                    required: w.required,
                }),
            });
        }
        stages.push(cluster::Stage { name: s.name, steps });
    }
    Ok(cluster::Plan {
        stages,
        unresolved: Default::default(),
        summary: p.summary,
    })
}

fn object_ref(r: types::ObjectRef) -> cluster::ObjectRef {
    cluster::ObjectRef {
        api_version: r.api_version,
        kind: r.kind,
        namespace: r.namespace.filter(|n| !n.is_empty()),
        name: r.name,
    }
}

#[cfg(test)]
mod props;
