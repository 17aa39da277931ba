//! The one place a plugin's reads and plans meet its grant. Every decision is audited; a plan
//! with one refused step is refused whole, before anything is written.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use wasmesh_cluster::{Cluster, ObjectRef, Plan, Resolved, Step};

use crate::audit::{AuditLog, Context};
use crate::errors::{Error, Refusal, Result};
use crate::escalation;
use crate::rules::{Action, Grant, MetadataKind, how_to_grant};

/// The capability side of one plugin call: whose call it is, for which operation, under which
/// grant. Reads during the call and the plan it returns are checked here.
#[derive(Clone)]
pub struct Call {
    pub grant: Arc<Grant>,
    pub audit: Arc<AuditLog>,
    /// Who asks and for which operation (`ctx.operation`: the key whose rules apply).
    pub ctx: Context,
    pub request_namespace: String,
}

/// (apiVersion, kind) pairs a plan names that the cluster did not serve when it was checked.
pub type Unresolved = HashSet<(String, String)>;

/// What the check found about one step of a plan.
#[derive(Debug, Clone)]
pub struct StepCheck {
    /// The step's stage (its index in the plan) and its index in that stage.
    pub stage: usize,
    pub step: usize,
    /// The object, with the namespace the step will really use.
    pub target: ObjectRef,
    /// The actions the step needs, as [`Action`] displays them ("patch configmaps (core) in
    /// namespace shop").
    pub needs: Vec<String>,
    /// Why the grant refuses the step; empty when it is allowed.
    pub refused: Vec<Refusal>,
    /// A delete or wait of a kind the cluster does not serve: it never reaches the cluster, so
    /// it needs nothing.
    pub unserved: bool,
}

/// Every step's verdict, and the kinds the plan names that the cluster does not serve.
#[derive(Debug, Clone)]
pub struct Review {
    pub steps: Vec<StepCheck>,
    pub unresolved: Unresolved,
}

impl Review {
    /// The check's decision: the plan is refused whole when one step is refused.
    pub fn verdict(self, plugin: &str) -> Result<Unresolved> {
        let refused: Vec<Refusal> = self.steps.into_iter().flat_map(|s| s.refused).collect();
        if refused.is_empty() {
            return Ok(self.unresolved);
        }
        Err(Error::PlanDenied {
            plugin: plugin.to_string(),
            refused,
        })
    }
}

impl Call {
    /// A call that may do nothing (describe).
    pub fn nothing(plugin: &str) -> Self {
        Self {
            grant: Arc::new(Grant::default()),
            audit: Arc::new(AuditLog::default()),
            ctx: Context {
                plugin: plugin.to_string(),
                ..Default::default()
            },
            request_namespace: String::new(),
        }
    }

    /// Whether the grant allows `action` for this call's operation; audited.
    pub fn allows(&self, via: &str, action: &Action, name: &str) -> bool {
        let allowed = self.grant.allows(&self.ctx.operation, action, &self.request_namespace);
        self.audit.record(&self.ctx, via, action, name, allowed);
        allowed
    }

    /// Whether drift detection may list and watch `resource` in `namespace` (None: at cluster
    /// scope) for this call: exactly where the call may apply (patch), since it watches only what
    /// the plan wrote. The operator's `drift.watch` is what grants the list and watch;
    /// [`crate::rbac::with_drift`] renders the same for the API server. Audited as `watch`.
    pub fn allows_watch(&self, group: &str, resource: &str, namespaced: bool, namespace: Option<&str>) -> bool {
        let patch = Action {
            verb: "patch",
            group,
            resource,
            namespaced,
            namespace,
        };
        let allowed = self.grant.allows(&self.ctx.operation, &patch, &self.request_namespace);
        let watch = Action { verb: "watch", ..patch };
        self.audit.record(&self.ctx, "drift", &watch, "", allowed);
        allowed
    }

    /// A read through the `cluster` import.
    pub fn check_read(&self, action: &Action, name: &str) -> Result<()> {
        if self.allows("read", action, name) {
            return Ok(());
        }
        tracing::warn!(op = %self.ctx.operation_id, "denied: {action}");
        Err(Error::ReadDenied {
            plugin: self.ctx.plugin.clone(),
            action: action.to_string(),
            remedy: how_to_grant(action),
        })
    }

    /// Every step of the plan must be within the grant; kinds the plan's own CRDs define are
    /// resolved from those CRDs, since the cluster does not serve them yet. Returns the kinds the
    /// cluster does not serve, whose deletes and waits the executor must not send.
    pub async fn check_plan(&self, cluster: &Cluster, plan: &Plan) -> Result<Unresolved> {
        self.review_plan(cluster, plan).await?.verdict(&self.ctx.plugin)
    }

    /// The check of [`Call::check_plan`], step by step: what each step needs and what of it the
    /// grant refuses. Reads the cluster (discovery, live roles) and writes nothing; a dry run
    /// shows it, a real operation goes on only when no step is refused.
    pub async fn review_plan(&self, cluster: &Cluster, plan: &Plan) -> Result<Review> {
        let namespace = self.request_namespace.as_str();
        let defined = crds_in_plan(plan)?;
        let mut steps = Vec::new();
        let mut unresolved = HashSet::new();
        for (stage_index, stage) in plan.stages.iter().enumerate() {
            for (index, step) in stage.steps.iter().enumerate() {
                let at = StepAt {
                    stage: &stage.name,
                    index,
                };
                let mut checked = StepCheck {
                    stage: stage_index,
                    step: index,
                    target: step.target(),
                    needs: Vec::new(),
                    refused: Vec::new(),
                    unserved: false,
                };
                let (r, target) = match cluster.locate(step, namespace).await {
                    Ok((resolved, target)) => (ResolvedRef::from(&resolved), target),
                    // A kind the cluster does not serve yet: the plan's own CRDs may define it.
                    Err(e @ wasmesh_cluster::Error::UnknownKind { .. }) => {
                        let t = step.target();
                        let Some((group, plural, namespaced)) = defined.get(&(t.api_version.clone(), t.kind.clone()))
                        else {
                            if matches!(step, Step::Apply(_)) {
                                return Err(e.into());
                            }
                            // Nothing of an unknown kind can exist; the executor will not look.
                            unresolved.insert((t.api_version, t.kind));
                            checked.unserved = true;
                            steps.push(checked);
                            continue;
                        };
                        let mut t = t;
                        t.namespace = namespaced.then(|| t.namespace.clone().unwrap_or_else(|| namespace.to_string()));
                        let r = ResolvedRef {
                            group: group.clone(),
                            plural: plural.clone(),
                            namespaced: *namespaced,
                        };
                        (r, t)
                    }
                    Err(e) => return Err(e.into()),
                };
                checked.needs = self.check_step(step, &r, &target, &at, &mut checked.refused);
                self.check_namespace_keys(step, &r, &target, &at, &mut checked.refused);
                if let Some(more) = escalation::check_step(self, cluster, plan, step, &r.group, &target).await? {
                    checked
                        .refused
                        .extend(more.into_iter().map(|(message, remedy)| Refusal {
                            message: format!("{at}: {} {target}: {message}", verb_of(step)),
                            remedy,
                            rule: crate::errors::RULE_RBAC_ESCALATION,
                        }));
                }
                checked.target = target;
                steps.push(checked);
            }
        }
        Ok(Review { steps, unresolved })
    }

    /// The actions the step needs (as [`Action`] displays them); each one the grant does not
    /// allow is added to `refused`.
    fn check_step(
        &self,
        step: &Step,
        r: &ResolvedRef,
        target: &ObjectRef,
        at: &StepAt,
        refused: &mut Vec<Refusal>,
    ) -> Vec<String> {
        let verbs: &[&str] = match step {
            // Server-side apply patches, and creates when the object is new.
            Step::Apply(_) => &["patch", "create"],
            Step::Delete(_) => &["delete"],
            Step::NamespaceMetadata(c) if c.create => &["get", "patch", "create"],
            Step::NamespaceMetadata(_) => &["get", "patch"],
            Step::Wait(_) => &["get"],
        };
        let mut needs = Vec::with_capacity(verbs.len());
        for verb in verbs {
            let action = Action {
                verb,
                group: &r.group,
                resource: &r.plural,
                namespaced: r.namespaced,
                namespace: target.namespace.as_deref(),
            };
            needs.push(action.to_string());
            if !self.allows("plan", &action, &target.name) {
                refused.push(Refusal {
                    message: format!("{at}: {verb} {target}: plugin {} may not {action}", self.ctx.plugin),
                    remedy: how_to_grant(&action),
                    rule: crate::errors::RULE_KUBE,
                });
            }
        }
        needs
    }
}

impl Call {
    /// Namespace labels and annotations a step sets or removes must be keys the manifest
    /// declares for this operation: a pod-security label, say, means more than its patch verb.
    fn check_namespace_keys(
        &self,
        step: &Step,
        r: &ResolvedRef,
        target: &ObjectRef,
        at: &StepAt,
        refused: &mut Vec<Refusal>,
    ) {
        let mut keys: Vec<(MetadataKind, &str)> = Vec::new();
        match step {
            Step::NamespaceMetadata(c) => {
                keys.extend(c.set_labels.iter().map(|(k, _)| (MetadataKind::Label, k.as_str())));
                keys.extend(c.remove_labels.iter().map(|k| (MetadataKind::Label, k.as_str())));
                keys.extend(
                    c.set_annotations
                        .iter()
                        .map(|(k, _)| (MetadataKind::Annotation, k.as_str())),
                );
                keys.extend(
                    c.remove_annotations
                        .iter()
                        .map(|k| (MetadataKind::Annotation, k.as_str())),
                );
            }
            Step::Apply(o) if r.group.is_empty() && r.plural == "namespaces" => {
                for (kind, field) in [
                    (MetadataKind::Label, "labels"),
                    (MetadataKind::Annotation, "annotations"),
                ] {
                    let map = o.pointer(&format!("/metadata/{field}")).and_then(Value::as_object);
                    keys.extend(map.into_iter().flatten().map(|(k, _)| (kind, k.as_str())));
                }
            }
            _ => return,
        }
        for (kind, key) in keys {
            if !self.grant.allows_namespace_key(&self.ctx.operation, kind, key) {
                refused.push(Refusal {
                    message: format!(
                        "{at}: {kind} \"{key}\" on {target}: plugin {} does not declare that namespace {kind} for operation {}",
                        self.ctx.plugin, self.ctx.operation
                    ),
                    remedy: format!(
                        "the plugin's manifest must list \"{key}\" under namespaceMetadata for this operation; ask its author, or leave the {kind} out"
                    ),
                    rule: crate::errors::RULE_NAMESPACE_METADATA,
                });
            }
        }
    }
}

fn verb_of(step: &Step) -> &'static str {
    match step {
        Step::Apply(_) => "apply",
        Step::Delete(_) => "delete",
        Step::NamespaceMetadata(_) => "configure",
        Step::Wait(_) => "wait for",
    }
}

/// Where a step stands in its plan, for refusals.
struct StepAt<'a> {
    stage: &'a str,
    index: usize,
}

impl std::fmt::Display for StepAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stage \"{}\" step {}", self.stage, self.index + 1)
    }
}

struct ResolvedRef {
    group: String,
    plural: String,
    namespaced: bool,
}

impl From<&Resolved> for ResolvedRef {
    fn from(r: &Resolved) -> Self {
        Self {
            group: r.group().to_string(),
            plural: r.plural().to_string(),
            namespaced: r.namespaced,
        }
    }
}

/// (apiVersion, kind) → (group, plural, namespaced) for every CRD the plan applies.
type DefinedKinds = HashMap<(String, String), (String, String, bool)>;

/// Kinds the plan's own CRDs define. Two CRDs defining the same kind differently would make the
/// check and the execution disagree: refused.
fn crds_in_plan(plan: &Plan) -> Result<DefinedKinds> {
    let mut out: DefinedKinds = HashMap::new();
    for step in plan.stages.iter().flat_map(|s| &s.steps) {
        let Step::Apply(o) = step else { continue };
        let api_version = o.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        if o.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition")
            || !api_version.starts_with("apiextensions.k8s.io/")
        {
            continue;
        }
        let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
        let (group, kind, plural) = (s("/spec/group"), s("/spec/names/kind"), s("/spec/names/plural"));
        let namespaced = s("/spec/scope") != "Cluster";
        for v in o
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            let key = (format!("{group}/{name}"), kind.clone());
            let value = (group.clone(), plural.clone(), namespaced);
            if out.get(&key).is_some_and(|existing| *existing != value) {
                return Err(Error::DuplicateKind {
                    api_version: key.0,
                    kind: key.1,
                });
            }
            out.insert(key, value);
        }
    }
    Ok(out)
}
