//! `wasmesh plan`: a dry run of an operation or a design. The plugin plans as it would for
//! Meshery (its cluster reads go through the same checked host calls), the host checks the plan
//! against the grant as it would before writing (the grant crate's own check, step by step),
//! and the plan is shown instead of carried out: nothing is written to the cluster, and nothing
//! to the audit log.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use wasmesh_cluster::{Cluster, ClusterPool, Condition, Plan, Step};
use wasmesh_grant::{AuditLog, CAP_DENIED, Call, DESIGN_OPERATION, Review};
use wasmesh_runtime::{Runtime, types};

use crate::adapter::{Adapter, Failure};
use crate::config::Config;
use crate::errors::{Error, Result};
use crate::host_calls::CallHost;

/// What a dry run found: the plan with each step's verdict, or why there is none.
#[derive(Debug, Serialize)]
pub struct DryRun {
    pub plugin: String,
    /// The operation key, or `design`.
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub delete: bool,
    pub cluster: ClusterOut,
    /// The identity the plugin's calls impersonate, when the configuration gives it one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    pub verdict: Verdict,
    /// The plan's own description.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Why the plan is refused or could not be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorOut>,
    /// Cluster reads the grant refused while the plugin planned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused_reads: Vec<String>,
    /// Design components the plugin turned down.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
    /// The events the plugin reported while it planned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventOut>,
    pub stages: Vec<StageOut>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The grant allows every step: a real run would carry the plan out.
    Allowed,
    /// The grant refuses a step, a read or the operation: a real run would write nothing.
    Refused,
    /// No plan to check: the plugin failed, or the plan is unusable.
    Failed,
}

#[derive(Debug, Serialize)]
pub struct ClusterOut {
    pub context: String,
    pub server: String,
}

#[derive(Debug, Serialize)]
pub struct ErrorOut {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
    pub probable_cause: String,
    pub suggested_remediation: String,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub component: u32,
    pub name: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct EventOut {
    pub level: &'static str,
    pub summary: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub details: String,
}

#[derive(Debug, Serialize)]
pub struct StageOut {
    pub name: String,
    pub steps: Vec<StepOut>,
}

#[derive(Debug, Serialize)]
pub struct StepOut {
    /// apply, delete, namespace-metadata or wait.
    pub action: &'static str,
    /// The object, with the namespace the step will really use.
    pub target: String,
    /// For an apply the whole object; for the others what the step asks.
    pub object: Value,
    /// The actions (verb, resource, scope) the step needs from the grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Whether the grant allows the step; absent when the check could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<RefusalOut>,
    /// A delete or wait of a kind the cluster does not serve: skipped, it cannot exist.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_served: bool,
}

#[derive(Debug, Serialize)]
pub struct RefusalOut {
    pub message: String,
    pub remedy: String,
}

impl DryRun {
    /// Whether a real run would go ahead.
    pub fn allowed(&self) -> bool {
        self.verdict == Verdict::Allowed
    }

    /// The plan as YAML.
    pub fn yaml(&self) -> String {
        serde_yaml::to_string(self).expect("a dry run is plain data")
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a dry run is plain data")
    }

    fn fail(&mut self, f: Failure) {
        self.verdict = if f.code == CAP_DENIED || f.code == NOT_GRANTED {
            Verdict::Refused
        } else {
            Verdict::Failed
        };
        self.error = Some(ErrorOut {
            code: f.code,
            message: f.summary,
            details: f.details,
            probable_cause: f.cause,
            suggested_remediation: f.remediation,
        });
    }
}

/// The code of an operation the configuration does not grant (Adapter::not_granted).
const NOT_GRANTED: &str = "WASMESH-HOST-1011";

/// A dry run's operation id: shaped as a real one (a fresh UUID), so a plugin cannot tell a
/// preview from the real run by it and plan something else there.
fn dry_run_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// One plugin of the configuration, set up as the host serves it (its grant, limits and
/// identity) but with no listener and no audit log. The runtime must outlive the adapter.
pub async fn adapter(config: &Config, plugin: &str) -> Result<(Arc<Runtime<CallHost>>, Adapter)> {
    let names: Vec<&str> = config.plugins.iter().map(|p| p.name.as_str()).collect();
    let Some(pc) = config.plugins.iter().find(|p| p.name == plugin) else {
        return Err(Error::Config(format!(
            "no plugin {plugin}; the configuration has: {}",
            names.join(", ")
        )));
    };
    // Only this plugin is loaded: compiling the others would only take time.
    let one = Config {
        plugins: vec![pc.clone()],
        ..config.clone()
    };
    let (runtime, loaded, skipped) = crate::load_plugins(&one).await?;
    let Some((pc, plugin, grant)) = loaded.into_iter().next() else {
        let reason = skipped.first().map_or("", |s| s.reason.as_str());
        return Err(Error::Config(format!("plugin {plugin} is not loaded: {reason}")));
    };
    let metrics = Arc::new(crate::metrics::Metrics::new());
    let settings = crate::adapter_settings(&one, &pc, grant, &metrics, Arc::default());
    let pool = Arc::new(ClusterPool::new(one.server_policy()?));
    let adapter = Adapter::new(settings, plugin, pool, Arc::new(AuditLog::default()));
    Ok((runtime, adapter))
}

/// The cluster of the kubeconfig file, reached as the plugin's operations reach it (server
/// policy, identity).
pub async fn cluster(adapter: &Adapter, kubeconfig: &Path) -> Result<Arc<Cluster>> {
    let text = std::fs::read_to_string(kubeconfig)
        .map_err(|e| Error::Config(format!("cannot read the kubeconfig {}: {e}", kubeconfig.display())))?;
    let mut clusters = adapter
        .clusters_for(&[text])
        .await
        .map_err(|f| Error::Config(format!("{} ({}): {}; {}", f.summary, f.code, f.details, f.remediation)))?;
    Ok(clusters.remove(0))
}

/// A dry run of the operation `request.key`.
pub async fn operation(
    adapter: &Adapter,
    cluster: &Arc<Cluster>,
    mut request: types::OperationRequest,
) -> Result<DryRun> {
    let info = adapter.info();
    if !info.operations.iter().any(|o| o.key == request.key) {
        let keys: Vec<&str> = info.operations.iter().map(|o| o.key.as_str()).collect();
        return Err(Error::Config(format!(
            "plugin {} has no operation \"{}\"; it offers: {}",
            adapter.name,
            request.key,
            keys.join(", ")
        )));
    }
    request.operation_id = dry_run_id();
    request.cluster = crate::adapter::cluster_info(cluster);
    let mut out = start(
        adapter,
        cluster,
        &request.key,
        Some(request.namespace.clone()),
        request.delete,
    );
    if !adapter.grant.allows_operation(&request.key) {
        out.fail(adapter.not_granted(&request.key));
        return Ok(out);
    }
    let deadline = Instant::now() + adapter.limits.operation_timeout();
    let (plan, host) = adapter.plan_on(cluster, &request).await;
    match plan {
        Ok(plan) => review(&mut out, adapter, cluster, plan, &host.call, deadline).await,
        Err(f) => out.fail(f),
    }
    finish(&mut out, adapter, host);
    Ok(out)
}

/// A dry run of a design.
pub async fn design(adapter: &Adapter, cluster: &Arc<Cluster>, mut request: types::DesignRequest) -> DryRun {
    request.operation_id = dry_run_id();
    request.cluster = crate::adapter::cluster_info(cluster);
    let mut out = start(adapter, cluster, DESIGN_OPERATION, None, request.delete);
    if !adapter.grant.allows_operation(DESIGN_OPERATION) {
        out.fail(adapter.not_granted(DESIGN_OPERATION));
        return out;
    }
    let deadline = Instant::now() + adapter.limits.operation_timeout();
    let (plan, host) = adapter.provision_on(cluster, &request).await;
    match plan {
        Ok(dp) => {
            out.rejected = dp
                .rejected
                .iter()
                .map(|r| Rejected {
                    component: r.index + 1,
                    name: r.name.clone(),
                    code: r.error.code.clone(),
                    message: r.error.message.clone(),
                })
                .collect();
            review(&mut out, adapter, cluster, dp.plan, &host.call, deadline).await;
        }
        Err(f) => out.fail(f),
    }
    finish(&mut out, adapter, host);
    out
}

/// The components of a design file: a list of components, or a mapping with `components` (a
/// Meshery design) and, for OAM designs, `config`. Each component goes to the plugin as JSON,
/// as Provision and ProcessOAM send them.
pub fn design_request(text: &str, delete: bool) -> Result<types::DesignRequest> {
    let bad = |why: String| Error::Config(format!("the design file {why}"));
    let doc: Value = serde_yaml::from_str(text).map_err(|e| bad(format!("is not YAML or JSON: {e}")))?;
    let (components, config) = match doc {
        Value::Array(items) => (items, None),
        Value::Object(mut map) => match map.remove("components") {
            Some(Value::Array(items)) => (items, map.remove("config")),
            _ => return Err(bad("has no `components` list".into())),
        },
        _ => {
            return Err(bad(
                "is neither a list of components nor a design with `components`".into()
            ));
        }
    };
    if components.is_empty() {
        return Err(bad("has no components".into()));
    }
    Ok(types::DesignRequest {
        components: components.iter().map(Value::to_string).collect(),
        config: config.filter(|c| !c.is_null()).map(|c| c.to_string()),
        delete,
        operation_id: dry_run_id(),
        username: String::new(),
        cluster: types::ClusterInfo {
            name: String::new(),
            server: String::new(),
        },
    })
}

fn start(adapter: &Adapter, cluster: &Cluster, operation: &str, namespace: Option<String>, delete: bool) -> DryRun {
    DryRun {
        plugin: adapter.name.clone(),
        operation: operation.to_string(),
        namespace,
        delete,
        cluster: ClusterOut {
            context: cluster.context.clone(),
            server: cluster.server.clone(),
        },
        identity: adapter.identity.as_ref().map(|i| i.user.clone()),
        verdict: Verdict::Allowed,
        summary: String::new(),
        error: None,
        refused_reads: Vec::new(),
        rejected: Vec::new(),
        events: Vec::new(),
        stages: Vec::new(),
    }
}

/// The host's check of a real run (the plan made usable, then the grant's review and verdict),
/// shown step by step; nothing is carried out.
async fn review(
    out: &mut DryRun,
    adapter: &Adapter,
    cluster: &Cluster,
    plan: types::Plan,
    call: &Call,
    deadline: Instant,
) {
    let plan = match adapter.usable_plan(plan) {
        Ok(p) => p,
        Err(f) => return out.fail(f),
    };
    out.summary = plan.summary.clone();
    let seconds = adapter.limits.operation_timeout_seconds;
    let checked = tokio::time::timeout_at(deadline, call.review_plan(cluster, &plan))
        .await
        .unwrap_or(Err(wasmesh_grant::Error::Cluster(wasmesh_cluster::Error::Deadline {
            seconds,
        })));
    match checked {
        Ok(review) => {
            out.stages = stages(&plan, Some(&review));
            if let Err(e) = review.verdict(&call.ctx.plugin) {
                out.fail(adapter.refused(&plan, e));
            }
        }
        Err(e) => {
            out.stages = stages(&plan, None);
            out.fail(adapter.refused(&plan, e));
        }
    }
}

/// What the call left behind: the reads the grant refused and the events the plugin reported.
fn finish(out: &mut DryRun, adapter: &Adapter, host: CallHost) {
    out.refused_reads = host.denied;
    // A plugin may carry on after a refused read; what it planned then is not what it meant to
    // plan with the read, so the preview is not a pass.
    if out.verdict == Verdict::Allowed && !out.refused_reads.is_empty() {
        out.verdict = Verdict::Refused;
        out.error.get_or_insert(ErrorOut {
            code: CAP_DENIED.into(),
            message: format!(
                "the plugin planned after {} of its reads were refused",
                out.refused_reads.len()
            ),
            details: out.refused_reads.join("\n"),
            probable_cause: "the grant does not allow a read the plugin makes for this operation".into(),
            suggested_remediation: "grant the read (see refused_reads), or check that the plugin does not need it"
                .into(),
        });
    }
    if let Ok(mut events) = adapter.events.subscribe() {
        while let Ok(e) = events.try_recv() {
            let level = match e.event_type {
                x if x == wasmesh_proto::meshes::EventType::Error as i32 => "error",
                x if x == wasmesh_proto::meshes::EventType::Warn as i32 => "warn",
                _ => "info",
            };
            out.events.push(EventOut {
                level,
                summary: e.summary,
                details: e.details,
            });
        }
    }
}

fn stages(plan: &Plan, review: Option<&Review>) -> Vec<StageOut> {
    plan.stages
        .iter()
        .enumerate()
        .map(|(si, stage)| StageOut {
            name: stage.name.clone(),
            steps: stage
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| {
                    let checked = review.and_then(|r| r.steps.iter().find(|c| c.stage == si && c.step == i));
                    let target = checked.map_or_else(|| step.target(), |c| c.target.clone());
                    StepOut {
                        action: action(step),
                        target: target.to_string(),
                        object: object(step),
                        needs: checked.map(|c| c.needs.clone()).unwrap_or_default(),
                        allowed: checked.map(|c| c.refused.is_empty()),
                        refused: checked
                            .map(|c| {
                                c.refused
                                    .iter()
                                    .map(|r| RefusalOut {
                                        message: r.message.clone(),
                                        remedy: r.remedy.clone(),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        not_served: checked.is_some_and(|c| c.unserved),
                    }
                })
                .collect(),
        })
        .collect()
}

fn action(step: &Step) -> &'static str {
    match step {
        Step::Apply(_) => "apply",
        Step::Delete(_) => "delete",
        Step::NamespaceMetadata(_) => "namespace-metadata",
        Step::Wait(_) => "wait",
    }
}

fn object(step: &Step) -> Value {
    let reference = |r: &wasmesh_cluster::ObjectRef| json!({"apiVersion": r.api_version, "kind": r.kind, "namespace": r.namespace, "name": r.name});
    match step {
        Step::Apply(o) => o.clone(),
        Step::Delete(r) => reference(r),
        Step::NamespaceMetadata(c) => json!({
            "namespace": c.namespace,
            "create": c.create,
            "setLabels": map(&c.set_labels),
            "removeLabels": c.remove_labels,
            "setAnnotations": map(&c.set_annotations),
            "removeAnnotations": c.remove_annotations,
        }),
        Step::Wait(w) => json!({
            "target": reference(&w.target),
            "until": match &w.condition {
                Condition::Exists => "exists".to_string(),
                Condition::Deleted => "deleted".to_string(),
                Condition::ConditionTrue(c) => format!("condition {c} is True"),
            },
            "timeoutSeconds": w.timeout_seconds,
            "required": w.required,
        }),
    }
}

fn map(pairs: &[(String, String)]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect()
}
