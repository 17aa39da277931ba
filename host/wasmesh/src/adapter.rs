//! One adapter: a plugin behind one listener. Turns Meshery requests into plugin calls, checks
//! the plans against the plugin's grant, carries them out on every cluster and reports events.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::future::join_all;
use serde_json::Value;
use wasmesh_cluster::{Cluster, ClusterPool, Impersonation, ObjectRef, Plan, Resolved, Step, StepOutcome, StepReport};
use wasmesh_runtime::{Plugin, types};

use crate::audit::{self, AuditLog};
use crate::caps::{Action, Grant, how_to_grant};
use crate::config::Limits;
use crate::convert;
use crate::events::{Event, EventHub, Level};
use crate::host_calls::{CAP_DENIED, CallHost};

/// Namespace for design objects that name none (designs have no request namespace).
const DESIGN_NAMESPACE: &str = "default";

pub struct Adapter {
    /// The plugin's name in the configuration.
    pub name: String,
    pub plugin: Plugin<CallHost>,
    pub events: Arc<EventHub>,
    pub grant: Arc<Grant>,
    pub clusters: Arc<ClusterPool>,
    pub limits: Limits,
    pub audit: Arc<AuditLog>,
    /// Whose identity the plugin's cluster calls use; None: the kubeconfig's own.
    pub identity: Option<Impersonation>,
    /// Test builds only: skip the host's capability check, to show the API server's RBAC
    /// catches what the host would have.
    pub unchecked: bool,
    /// Operations and designs in flight; more are refused as busy.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Design deploys run one at a time, so two deploys of one design cannot interleave.
    provision_lock: tokio::sync::Mutex<()>,
}

/// How one plugin is served, from the configuration.
pub struct AdapterSettings {
    pub name: String,
    pub grant: Grant,
    pub limits: Limits,
    pub identity: Option<Impersonation>,
    pub unchecked: bool,
}

/// A failure on one cluster, ready to become an ERROR event.
#[derive(Debug, Clone)]
pub struct Failure {
    pub summary: String,
    pub details: String,
    pub code: String,
    pub cause: String,
    pub remediation: String,
}

impl Failure {
    fn event(&self, operation_id: &str) -> Event {
        Event::error(
            operation_id,
            &self.summary,
            &self.details,
            &self.code,
            &self.cause,
            &self.remediation,
        )
    }

    fn from_plugin(e: types::Error, what: &str) -> Self {
        Failure {
            summary: format!("{what} failed: {}", e.message),
            details: String::new(),
            code: e.code,
            cause: e.probable_cause,
            remediation: e.suggested_remediation,
        }
    }

    fn from_runtime(e: wasmesh_runtime::Error) -> Self {
        use wasmesh_runtime::Error as E;
        let (code, cause, remediation) = match &e {
            E::Timeout { .. } => (
                "WASMESH-RUNTIME-1001",
                "the plugin ran past its time limit (an endless loop, or a very slow cluster read)",
                "report the bug to the plugin's author; raise limits.call_timeout_ms only if the work is legitimate",
            ),
            E::OutOfMemory { .. } => (
                "WASMESH-RUNTIME-1002",
                "the plugin tried to use more memory than its limit",
                "report the bug to the plugin's author; raise limits.memory_mib only if the work is legitimate",
            ),
            E::Trap { .. } => (
                "WASMESH-RUNTIME-1003",
                "the plugin crashed (a panic, a stack overflow or an invalid operation)",
                "report the bug to the plugin's author with the operation and the host log",
            ),
            E::Busy { .. } => (
                "WASMESH-RUNTIME-1005",
                "the adapter is overloaded: every plugin instance slot is in use",
                "retry in a moment; if it persists, send fewer operations at once or lower limits.max_in_flight",
            ),
            _ => (
                "WASMESH-RUNTIME-1004",
                "the plugin could not be started for this call (a broken component, or the host ran short of memory)",
                "retry; if it persists, check the host log and the plugin file",
            ),
        };
        Failure {
            summary: e.to_string(),
            details: String::new(),
            code: code.into(),
            cause: cause.into(),
            remediation: remediation.into(),
        }
    }

    fn from_cluster(e: &wasmesh_cluster::Error, summary: String) -> Self {
        Failure {
            summary,
            details: e.to_string(),
            code: e.code().into(),
            cause: e.probable_cause(),
            remediation: e.suggested_remediation(),
        }
    }
}

/// A plan that could not be carried out: the failure, and for a plan that stopped part-way, one
/// line per step done, failed and not done (empty when nothing ran).
pub struct Interrupted {
    pub failure: Failure,
    pub lines: Vec<String>,
}

impl From<Failure> for Interrupted {
    fn from(failure: Failure) -> Self {
        Interrupted {
            failure,
            lines: Vec::new(),
        }
    }
}

/// The lines of a plan that stopped at stage number `failed_stage`: done steps, failed steps (the
/// failed stage's other steps ran), and the changes of the later stages that were never made (waits
/// are not changes, so not listed).
fn progress_lines(
    plan: &Plan,
    failed_stage: usize,
    failures: &[(ObjectRef, wasmesh_cluster::Error)],
    done: &[String],
) -> Vec<String> {
    let not_done = |step: &Step| match step {
        Step::Apply(_) => Some("not applied"),
        Step::Delete(_) => Some("not deleted"),
        Step::NamespaceMetadata(_) => Some("not configured"),
        Step::Wait(_) => None,
    };
    let mut lines: Vec<String> = done.to_vec();
    // A failed step is named as what it was meant to do (a design's delete fails deleting).
    let failed_steps = plan
        .stages
        .get(failed_stage)
        .map(|s| s.steps.as_slice())
        .unwrap_or_default();
    lines.extend(failures.iter().map(|(t, e)| {
        let what = failed_steps
            .iter()
            .find(|s| s.target() == *t)
            .and_then(not_done)
            .unwrap_or("not done");
        format!("{what} (failed): {t}: {e}")
    }));
    let later = plan.stages.iter().skip(failed_stage + 1).flat_map(|s| s.steps.iter());
    for step in later {
        if let Some(what) = not_done(step) {
            lines.push(format!("{what}: {}", step.target()));
        }
    }
    lines
}

/// What one plan did on one cluster.
pub struct Outcome {
    pub summary: String,
    pub reports: Vec<StepReport>,
}

impl Adapter {
    pub fn new(
        settings: AdapterSettings,
        plugin: Plugin<CallHost>,
        clusters: Arc<ClusterPool>,
        audit: Arc<AuditLog>,
    ) -> Self {
        let events = Arc::new(EventHub::new(plugin.info().name.clone()));
        Self {
            name: settings.name,
            plugin,
            events,
            grant: Arc::new(settings.grant),
            clusters,
            in_flight: Arc::new(tokio::sync::Semaphore::new(settings.limits.max_in_flight)),
            limits: settings.limits,
            audit,
            identity: settings.identity,
            unchecked: settings.unchecked,
            provision_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// A cluster error as an event; a refusal (403) names the identity that was refused.
    fn cluster_failure(&self, e: &wasmesh_cluster::Error, summary: String) -> Failure {
        let mut f = Failure::from_cluster(e, summary);
        if matches!(e, wasmesh_cluster::Error::Api { code: 403, .. }) {
            f.remediation = match &self.identity {
                Some(who) => format!(
                    "grant the permission to {} (the identity plugin {} acts as; `wasmesh rbac` prints its RBAC), or narrow the operation to its grant",
                    who.user, self.name
                ),
                None => "grant the permission to the user of the kubeconfig Meshery sent (the adapter acts with those credentials), then retry".into(),
            };
        }
        f
    }

    /// The host side of one plugin call about `cluster`.
    fn call_host(&self, cluster: &Arc<Cluster>, operation_id: &str, user: &str, namespace: &str) -> CallHost {
        CallHost {
            cluster: Some(cluster.clone()),
            grant: self.grant.clone(),
            events: self.events.clone(),
            audit: self.audit.clone(),
            ctx: self.audit_context(cluster, operation_id, user),
            request_namespace: namespace.to_string(),
            unchecked: self.unchecked,
            denied: Vec::new(),
        }
    }

    fn audit_context(&self, cluster: &Cluster, operation_id: &str, user: &str) -> audit::Context {
        audit::Context {
            plugin: self.name.clone(),
            user: user.to_string(),
            operation_id: operation_id.to_string(),
            cluster: cluster.context.clone(),
            server: cluster.server.clone(),
        }
    }

    pub fn info(&self) -> &types::Info {
        self.plugin.info()
    }

    /// Clients for every kubeconfig; the first unusable one fails the request before any work.
    pub async fn clusters_for(&self, kubeconfigs: &[String]) -> Result<Vec<Arc<Cluster>>, Failure> {
        if kubeconfigs.is_empty() {
            return Err(Failure {
                summary: "the request names no Kubernetes cluster".into(),
                details: String::new(),
                code: "WASMESH-HOST-1003".into(),
                cause: "no kubeconfig was sent with the request".into(),
                remediation: "select at least one Kubernetes context in Meshery and retry".into(),
            });
        }
        if kubeconfigs.len() > self.limits.max_clusters {
            return Err(Failure {
                summary: format!(
                    "the request names {} clusters, over the limit of {}",
                    kubeconfigs.len(),
                    self.limits.max_clusters
                ),
                details: String::new(),
                code: "WASMESH-HOST-1010".into(),
                cause: "more Kubernetes contexts were selected than one request may carry".into(),
                remediation: "select fewer contexts per operation, or raise limits.max_clusters".into(),
            });
        }
        let mut clusters = Vec::with_capacity(kubeconfigs.len());
        for (i, kc) in kubeconfigs.iter().enumerate() {
            match self.clusters.get(kc, self.identity.as_ref()).await {
                Ok(c) => clusters.push(c),
                Err(e) => {
                    return Err(Failure::from_cluster(
                        &e,
                        format!("kubeconfig {} of {} is not usable: {e}", i + 1, kubeconfigs.len()),
                    ));
                }
            }
        }
        Ok(clusters)
    }

    /// Runs an operation on every cluster in parallel and reports events; returns per-cluster
    /// outcomes.
    pub async fn run_operation(
        &self,
        clusters: Vec<Arc<Cluster>>,
        request: types::OperationRequest,
    ) -> Vec<Result<Outcome, Failure>> {
        let op = request.operation_id.as_str();
        let multi = clusters.len() > 1;
        let runs = clusters.iter().map(|cluster| {
            let mut request = request.clone();
            request.cluster = cluster_info(cluster);
            async move {
                let host = self.call_host(cluster, op, &request.username, &request.namespace);
                let (result, host) = self.plugin.plan(host, &request).await;
                let plan = match result {
                    Err(e) => Err(Failure::from_runtime(e)),
                    Ok(Err(e)) => Err(self.plugin_failure(e, &host, &request.key)),
                    Ok(Ok(plan)) => Ok(plan),
                };
                let outcome = match plan {
                    Ok(plan) => self
                        .carry_out(cluster, plan, &request.namespace, &host.ctx)
                        .await
                        .map_err(|i| i.failure),
                    Err(f) => Err(f),
                };
                self.report(op, cluster, multi, &outcome);
                outcome
            }
        });
        let results = join_all(runs).await;
        if multi {
            self.report_total(op, &clusters, &results, &request.key);
        }
        results
    }

    /// Deploys (or removes) a design on every cluster; returns one line per thing done.
    /// Returns the lines and whether any cluster failed as a whole.
    pub async fn run_design(&self, clusters: Vec<Arc<Cluster>>, request: types::DesignRequest) -> (Vec<String>, bool) {
        let _one_at_a_time = self.provision_lock.lock().await;
        let op = request.operation_id.as_str();
        let multi = clusters.len() > 1;
        let runs = clusters.iter().map(|cluster| {
            let mut request = request.clone();
            request.cluster = cluster_info(cluster);
            async move {
                let host = self.call_host(cluster, op, &request.username, DESIGN_NAMESPACE);
                let (result, host) = self.plugin.provision(host, &request).await;
                let (outcome, rejected) = match result {
                    Err(e) => (Err(Failure::from_runtime(e).into()), Vec::new()),
                    Ok(Err(e)) => (Err(self.plugin_failure(e, &host, "design").into()), Vec::new()),
                    Ok(Ok(dp)) => (
                        self.carry_out(cluster, dp.plan, DESIGN_NAMESPACE, &host.ctx).await,
                        dp.rejected,
                    ),
                };
                let outcome: Result<Outcome, Interrupted> = outcome;
                let (outcome, progress) = match outcome {
                    Ok(o) => (Ok(o), Vec::new()),
                    Err(i) => (Err(i.failure), i.lines),
                };
                self.report(op, cluster, multi, &outcome);
                let prefix = if multi {
                    format!("[{}] ", cluster.context)
                } else {
                    String::new()
                };
                let mut lines = Vec::new();
                for r in &rejected {
                    let e = &r.error;
                    self.events.publish(Event::error(
                        op,
                        format!(
                            "design component {} \"{}\" was not deployed: {}",
                            r.index + 1,
                            r.name,
                            e.message
                        ),
                        "",
                        &e.code,
                        &e.probable_cause,
                        &e.suggested_remediation,
                    ));
                    lines.push(format!(
                        "{prefix}component {} \"{}\" not deployed: {}",
                        r.index + 1,
                        r.name,
                        e.message
                    ));
                }
                let failed = outcome.is_err();
                match outcome {
                    Ok(o) => {
                        lines.push(format!("{prefix}{}", o.summary));
                        lines.extend(o.reports.iter().map(|r| format!("{prefix}{r}")));
                    }
                    Err(f) => {
                        // A design that stopped part-way: what was done, what failed, what was not done.
                        lines.push(format!("{prefix}failed: {}", f.summary));
                        lines.extend(progress.iter().map(|l| format!("{prefix}{l}")));
                    }
                }
                (lines, failed)
            }
        });
        let mut all = Vec::new();
        let mut any_failed = false;
        for (lines, failed) in join_all(runs).await {
            all.extend(lines);
            any_failed |= failed;
        }
        (all, any_failed)
    }

    fn plugin_failure(&self, e: types::Error, host: &CallHost, what: &str) -> Failure {
        let mut f = Failure::from_plugin(e, &format!("{} {what}", self.info().name));
        if f.code == CAP_DENIED && !host.denied.is_empty() {
            f.details = format!("refused: {}", host.denied.join("; "));
        }
        f
    }

    /// Checks every step against the grant, then executes; nothing is written when a check fails.
    async fn carry_out(
        &self,
        cluster: &Arc<Cluster>,
        plan: types::Plan,
        namespace: &str,
        ctx: &audit::Context,
    ) -> Result<Outcome, Interrupted> {
        let plan =
            convert::plan(plan, self.limits.max_plan_bytes, self.limits.max_wait_seconds).map_err(|e| Failure {
                summary: format!("{} returned a plan the host cannot use: {e}", self.info().name),
                details: String::new(),
                code: "WASMESH-HOST-1002".into(),
                cause: "the plugin produced an invalid or oversized plan".into(),
                remediation: "report the bug to the plugin's author with the operation's input".into(),
            })?;
        let mut plan = plan;
        plan.unresolved = self.check_plan(cluster, &plan, namespace, ctx).await?;
        let progress = StepEvents {
            events: &self.events,
            operation_id: &ctx.operation_id,
        };
        let execution = cluster.execute(&plan, namespace, &progress).await;
        if let Some((stage_index, stage, failures)) = execution.failed {
            let (target, first) = &failures[0];
            let mut f = self.cluster_failure(first, format!("{}: {first}", plan.summary_failed()));
            let done: Vec<String> = execution.reports.iter().map(ToString::to_string).collect();
            f.details = format!(
                "stage \"{stage}\" failed at {target}{}{}",
                failures
                    .iter()
                    .skip(1)
                    .map(|(t, e)| format!("\nalso failed: {t}: {e}"))
                    .collect::<String>(),
                if done.is_empty() {
                    String::new()
                } else {
                    format!("\ndone before the failure:\n{}", done.join("\n"))
                }
            );
            let lines = progress_lines(&plan, stage_index, &failures, &done);
            return Err(Interrupted { failure: f, lines });
        }
        Ok(Outcome {
            summary: plan.summary,
            reports: execution.reports,
        })
    }

    /// Every step of the plan must be within the grant; kinds the plan's own CRDs define are
    /// resolved from those CRDs, since the cluster does not serve them yet.
    async fn check_plan(
        &self,
        cluster: &Cluster,
        plan: &Plan,
        namespace: &str,
        ctx: &audit::Context,
    ) -> Result<HashSet<(String, String)>, Failure> {
        let defined = crds_in_plan(plan)?;
        let mut refused = Vec::new();
        let mut unresolved = HashSet::new();
        for stage in &plan.stages {
            for (index, step) in stage.steps.iter().enumerate() {
                let at = StepAt {
                    stage: &stage.name,
                    index,
                    ctx,
                };
                let (resolved, target) = match cluster.locate(step, namespace).await {
                    Ok(x) => x,
                    // A kind the cluster does not serve yet: the plan's own CRDs may define it.
                    Err(e @ wasmesh_cluster::Error::UnknownKind { .. }) => {
                        let t = step.target();
                        let Some((group, plural, namespaced)) = defined.get(&(t.api_version.clone(), t.kind.clone()))
                        else {
                            if matches!(step, Step::Apply(_)) {
                                return Err(self.cluster_failure(&e, format!("{}: {e}", plan.summary_failed())));
                            }
                            // Nothing of an unknown kind can exist; the executor will not look.
                            unresolved.insert((t.api_version, t.kind));
                            continue;
                        };
                        let ns = namespaced.then(|| t.namespace.clone().unwrap_or_else(|| namespace.to_string()));
                        let r = ResolvedRef {
                            group: group.clone(),
                            plural: plural.clone(),
                            namespaced: *namespaced,
                        };
                        self.check_step(step, &r, ns.as_deref(), &t, namespace, &at, &mut refused);
                        continue;
                    }
                    Err(e) => {
                        return Err(self.cluster_failure(&e, format!("{}: {e}", plan.summary_failed())));
                    }
                };
                let r = ResolvedRef::from(&resolved);
                self.check_step(
                    step,
                    &r,
                    target.namespace.as_deref(),
                    &target,
                    namespace,
                    &at,
                    &mut refused,
                );
            }
        }
        if refused.is_empty() || self.unchecked {
            return Ok(unresolved);
        }
        let (first, remediation) = &refused[0];
        Err(Failure {
            summary: format!(
                "{} refused: the plan needs {} action(s) outside the plugin's grant; nothing was changed",
                plan.summary_failed(),
                refused.len()
            ),
            details: refused.iter().map(|(m, _)| m.as_str()).collect::<Vec<_>>().join("\n"),
            code: CAP_DENIED.into(),
            cause: format!("plugin {}'s effective grant does not allow it: {first}", self.name),
            remediation: remediation.clone(),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn check_step(
        &self,
        step: &Step,
        r: &ResolvedRef,
        ns: Option<&str>,
        target: &ObjectRef,
        request_namespace: &str,
        at: &StepAt,
        refused: &mut Vec<(String, String)>,
    ) {
        let verbs: &[&str] = match step {
            // Server-side apply patches, and creates when the object is new.
            Step::Apply(_) => &["patch", "create"],
            Step::Delete(_) => &["delete"],
            Step::NamespaceMetadata(c) if c.create => &["get", "patch", "create"],
            Step::NamespaceMetadata(_) => &["get", "patch"],
            Step::Wait(_) => &["get"],
        };
        for verb in verbs {
            let action = Action {
                verb,
                group: &r.group,
                resource: &r.plural,
                namespaced: r.namespaced,
                namespace: ns,
            };
            let allowed = self.grant.allows(&action, request_namespace);
            self.audit.record(at.ctx, "plan", &action, &target.name, allowed);
            if !allowed {
                refused.push((
                    format!(
                        "stage \"{}\" step {}: {verb} {target}: plugin {} may not {action}",
                        at.stage,
                        at.index + 1,
                        self.name
                    ),
                    how_to_grant(&action),
                ));
            }
        }
    }

    fn report(&self, op: &str, cluster: &Cluster, multi: bool, outcome: &Result<Outcome, Failure>) {
        let on = |s: &str| {
            if multi {
                format!("{s} on cluster \"{}\"", cluster.context)
            } else {
                s.to_string()
            }
        };
        let place = format!("cluster \"{}\" ({})", cluster.context, cluster.server);
        match outcome {
            Ok(o) => {
                let lines: Vec<String> = o.reports.iter().map(ToString::to_string).collect();
                self.events.publish(Event::info(
                    op,
                    on(&o.summary),
                    format!("{place}\n{}", lines.join("\n")),
                ));
            }
            Err(f) => {
                let mut f = f.clone();
                f.summary = on(&f.summary);
                f.details = if f.details.is_empty() {
                    place
                } else {
                    format!("{place}\n{}", f.details)
                };
                self.events.publish(f.event(op));
            }
        }
    }

    fn report_total(&self, op: &str, clusters: &[Arc<Cluster>], results: &[Result<Outcome, Failure>], key: &str) {
        let ok: Vec<&str> = clusters
            .iter()
            .zip(results)
            .filter(|(_, r)| r.is_ok())
            .map(|(c, _)| c.context.as_str())
            .collect();
        let failed: Vec<&str> = clusters
            .iter()
            .zip(results)
            .filter(|(_, r)| r.is_err())
            .map(|(c, _)| c.context.as_str())
            .collect();
        let details = format!("succeeded: {}\nfailed: {}", ok.join(", "), failed.join(", "));
        if failed.is_empty() {
            self.events.publish(Event::info(
                op,
                format!("{key} succeeded on all {} clusters", clusters.len()),
                details,
            ));
        } else {
            self.events.publish(Event::error(
                op,
                format!("{key} failed on {} of {} clusters", failed.len(), clusters.len()),
                details,
                "WASMESH-HOST-1004",
                "see the error event of each failed cluster",
                "fix the failed clusters as their events say, then run the operation again",
            ));
        }
    }
}

/// The failing summary a plan's description implies.
trait SummaryFailed {
    fn summary_failed(&self) -> String;
}

impl SummaryFailed for Plan {
    fn summary_failed(&self) -> String {
        if self.summary.is_empty() {
            "operation".into()
        } else {
            format!("\"{}\"", self.summary)
        }
    }
}

/// Where a step stands in its plan, and whose call it is, for denials and the audit.
struct StepAt<'a> {
    stage: &'a str,
    index: usize,
    ctx: &'a audit::Context,
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
/// Kinds the plan's own CRDs define.
type DefinedKinds = HashMap<(String, String), (String, String, bool)>;

/// (apiVersion, kind) → (group, plural, namespaced) for every CRD the plan applies. Two CRDs
/// defining the same kind differently would make the check and the execution disagree: refused.
fn crds_in_plan(plan: &Plan) -> Result<DefinedKinds, Failure> {
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
                return Err(Failure {
                    summary: format!("the plan defines {} in {} twice, differently", key.1, key.0),
                    details: String::new(),
                    code: "WASMESH-HOST-1008".into(),
                    cause: "two CustomResourceDefinitions in one plan define the same kind".into(),
                    remediation: "keep one definition of each kind in the YAML or design".into(),
                });
            }
            out.insert(key, value);
        }
    }
    Ok(out)
}

fn cluster_info(c: &Cluster) -> types::ClusterInfo {
    types::ClusterInfo {
        name: c.context.clone(),
        server: c.server.clone(),
    }
}

/// Step results that deserve their own event while the plan runs.
struct StepEvents<'a> {
    events: &'a EventHub,
    operation_id: &'a str,
}

impl wasmesh_cluster::Progress for StepEvents<'_> {
    fn step_waiting(&self, _target: &ObjectRef, why: &str) {
        self.events.publish(Event::info(self.operation_id, why, ""));
    }

    fn step_finished(&self, result: &Result<StepReport, (ObjectRef, wasmesh_cluster::Error)>) {
        if let Ok(report) = result {
            if let StepOutcome::NotReady { .. } = report.outcome {
                let mut e = Event::info(self.operation_id, report.to_string(), "");
                e.level = Level::Warn;
                e.error_code = "WASMESH-CLUSTER-1009".into();
                e.probable_cause = "the workload or resource is still starting, or is failing".into();
                e.suggested_remediation = "inspect the object's events and pods (kubectl describe)".into();
                self.events.publish(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmesh_cluster::{Stage, WaitFor};

    fn cm(name: &str) -> Step {
        Step::Apply(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}))
    }

    #[test]
    fn a_stopped_plan_lists_done_and_never_made_changes_but_not_waits() {
        let target = cm("x").target();
        let plan = Plan {
            stages: vec![
                Stage {
                    name: "objects".into(),
                    steps: vec![cm("a"), cm("b")],
                },
                Stage {
                    name: "objects".into(),
                    steps: vec![
                        Step::Wait(WaitFor {
                            target: target.clone(),
                            condition: wasmesh_cluster::Condition::Exists,
                            timeout_seconds: 1,
                            required: false,
                        }),
                        cm("c"),
                        Step::Delete(target),
                    ],
                },
            ],
            ..Plan::default()
        };
        // The first of two stages with the same name failed: only the second one's changes are
        // listed as never made.
        let lines = progress_lines(&plan, 0, &[], &["applied ConfigMap \"a\"".into()]);
        assert_eq!(
            lines,
            [
                "applied ConfigMap \"a\"",
                "not applied: ConfigMap \"c\"",
                "not deleted: ConfigMap \"x\""
            ]
        );
        assert_eq!(progress_lines(&plan, 1, &[], &[]), Vec::<String>::new());
    }

    #[test]
    fn a_failed_step_is_named_as_what_it_was_meant_to_do() {
        let (a, x) = (cm("a").target(), cm("x").target());
        let plan = Plan {
            stages: vec![Stage {
                name: "objects".into(),
                steps: vec![cm("a"), Step::Delete(x.clone())],
            }],
            ..Plan::default()
        };
        let failed = |t: &ObjectRef| {
            (
                t.clone(),
                wasmesh_cluster::Error::InvalidObject {
                    reason: "refused".into(),
                },
            )
        };
        let lines = progress_lines(&plan, 0, &[failed(&a), failed(&x)], &[]);
        assert!(
            lines[0].starts_with("not applied (failed): ConfigMap \"a\""),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("not deleted (failed): ConfigMap \"x\""),
            "{lines:?}"
        );
    }
}
