//! One adapter: a plugin behind one listener. Turns Meshery requests into plugin calls, checks
//! the plans against the plugin's grant, carries them out on every cluster and reports events.

use std::sync::Arc;

use futures::future::join_all;
use tokio::time::Instant;
use wasmesh_cluster::{Cluster, ClusterPool, Impersonation, ObjectRef, Plan, Step, StepOutcome, StepReport};
use wasmesh_grant::{AuditLog, CAP_DENIED, Call, Context, DESIGN_OPERATION, Grant};
use wasmesh_runtime::{Plugin, types};

use crate::config::Limits;
use crate::convert;
use crate::drift::{self, Drift, Written};
use crate::events::{Event, EventHub};
use crate::host_calls::CallHost;
use crate::metrics::PluginMetrics;
use crate::shutdown::InFlight;

/// The code of a plan the host cannot use.
const INVALID_PLAN: &str = "WASMESH-HOST-1002";

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
    /// Operations and designs in flight; more are refused as busy.
    pub in_flight: Arc<tokio::sync::Semaphore>,
    /// Design deploys run one at a time, so two deploys of one design cannot interleave.
    provision_lock: tokio::sync::Mutex<()>,
    pub metrics: PluginMetrics,
    /// Every operation of the host that is running (shutdown waits for them).
    pub running: Arc<InFlight>,
    /// Registration with the Meshery server: its counters (all zero when not configured).
    pub registration: Arc<crate::registration::RegistrationStats>,
    /// Drift detection of what operations applied, when `drift.watch` is on.
    pub drift: Option<Arc<Drift>>,
}

/// How one plugin is served, from the configuration.
pub struct AdapterSettings {
    pub name: String,
    pub grant: Grant,
    pub limits: Limits,
    pub identity: Option<Impersonation>,
    pub metrics: PluginMetrics,
    pub running: Arc<InFlight>,
    pub drift: crate::config::DriftConfig,
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
            E::ResultTooLarge { .. } => (
                "WASMESH-RUNTIME-1006",
                "the plugin's answer would make the host copy more than it allows per call: lists whose \
                 strings all point at the same memory, or an answer far larger than any plan",
                "report the bug to the plugin's author with the operation; for a legitimate answer this \
                 large raise limits.max_plan_bytes (the host copies up to twice it, at least 32 MiB)",
            ),
            E::Busy { .. } => (
                "WASMESH-RUNTIME-1005",
                "the plugin is overloaded: its share of the host's instance slots is in use",
                "retry in a moment; if it persists, send fewer operations at once to this adapter",
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

/// What a plan that stopped at stage number `failed_stage` did: the steps done, the steps that
/// failed (the failed stage's other steps ran), and the changes of the later stages that were
/// never attempted (waits are not changes, so not listed).
struct Tally {
    done: Vec<String>,
    failed: Vec<String>,
    not_attempted: Vec<String>,
}

impl Tally {
    fn new(
        plan: &Plan,
        failed_stage: usize,
        failures: &[(ObjectRef, wasmesh_cluster::Error)],
        reports: &[StepReport],
    ) -> Tally {
        let done: Vec<String> = reports.iter().map(ToString::to_string).collect();
        let lines = progress_lines(plan, failed_stage, failures, &done);
        let (mut done, mut failed, mut not_attempted) = (Vec::new(), Vec::new(), Vec::new());
        for (i, line) in lines.into_iter().enumerate() {
            if i < reports.len() {
                done.push(line);
            } else if i < reports.len() + failures.len() {
                failed.push(line);
            } else {
                not_attempted.push(line);
            }
        }
        Tally {
            done,
            failed,
            not_attempted,
        }
    }

    /// "3 done, 1 failed, 12 not attempted".
    fn counts(&self) -> String {
        format!(
            "{} done, {} failed, {} not attempted",
            self.done.len(),
            self.failed.len(),
            self.not_attempted.len()
        )
    }

    /// The three lists under their headings (an empty one is left out).
    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (heading, lines) in [
            ("done", &self.done),
            ("failed", &self.failed),
            ("not attempted", &self.not_attempted),
        ] {
            if !lines.is_empty() {
                out.push(format!("{heading} ({}):", lines.len()));
                out.extend(lines.iter().cloned());
            }
        }
        out
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
    /// With drift detection: the plan and what its applies wrote, to watch.
    written: Option<(Plan, Written)>,
}

impl Adapter {
    pub fn new(
        settings: AdapterSettings,
        plugin: Plugin<CallHost>,
        clusters: Arc<ClusterPool>,
        audit: Arc<AuditLog>,
    ) -> Self {
        let events = Arc::new(EventHub::with_metrics(
            plugin.info().name.clone(),
            settings.metrics.clone(),
        ));
        let drift = settings.drift.watch.then(|| {
            Drift::new(
                drift::Settings {
                    plugin: settings.name.clone(),
                    field_manager: wasmesh_cluster::field_manager(&settings.name),
                    reconcile: settings.drift.reconcile,
                    max_watches: settings.limits.drift_max_watches,
                    max_objects: settings.limits.drift_max_objects,
                    operation_timeout: settings.limits.operation_timeout(),
                },
                events.clone(),
            )
        });
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
            provision_lock: tokio::sync::Mutex::new(()),
            metrics: settings.metrics,
            running: settings.running,
            registration: Arc::default(),
            drift,
        }
    }

    /// A cluster error as an event; a refusal (403) names the identity that was refused.
    fn cluster_failure(&self, e: &wasmesh_cluster::Error, summary: String) -> Failure {
        self.metrics.cluster_error(e);
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

    /// The host side of one plugin call about `cluster`, for `operation` (`design` for designs).
    fn call_host(&self, cluster: &Arc<Cluster>, call: Ids, namespace: &str) -> CallHost {
        CallHost {
            cluster: Some(cluster.clone()),
            call: Call {
                grant: self.grant.clone(),
                audit: self.audit.clone(),
                ctx: Context {
                    plugin: self.name.clone(),
                    user: call.user.to_string(),
                    operation_id: call.operation_id.to_string(),
                    operation: call.operation.to_string(),
                    cluster: cluster.context.clone(),
                    server: cluster.server.clone(),
                },
                request_namespace: namespace.to_string(),
            },
            events: self.events.clone(),
            metrics: self.metrics.clone(),
            denied: Vec::new(),
            reads_until: Instant::now() + self.limits.call_timeout() / 2,
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
                    self.metrics.cluster_error(&e);
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
        let deadline = Instant::now() + self.limits.operation_timeout();
        let runs = clusters.iter().map(|cluster| {
            let mut request = request.clone();
            request.cluster = cluster_info(cluster);
            async move {
                let (plan, host) = self.plan_on(cluster, &request).await;
                // The final event's details say what was done, what failed and what was not
                // attempted (Interrupted::failure carries them).
                let mut outcome = match plan {
                    Ok(plan) => self
                        .carry_out(cluster, plan, &host.call, deadline, request.delete)
                        .await
                        .map_err(|i| i.failure),
                    Err(f) => Err(f),
                };
                // Watched before the final event, so "done" means "watched" to the caller.
                if let (Some(drift), Ok(o)) = (&self.drift, &mut outcome)
                    && let Some((plan, written)) = o.written.take()
                {
                    drift
                        .after_operation(cluster, &host.call, request.delete, plan, written)
                        .await;
                }
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
        let op = request.operation_id.as_str();
        // The design that holds the lock is bounded by its own deadline, so waiting longer than
        // one deadline means something is wrong: refuse rather than queue for ever.
        let Ok(_one_at_a_time) =
            tokio::time::timeout(self.limits.operation_timeout(), self.provision_lock.lock()).await
        else {
            let f = Failure {
                summary: format!(
                    "another design deploy held the {} adapter for {} s; this one was not started",
                    self.info().name,
                    self.limits.operation_timeout_seconds
                ),
                details: String::new(),
                code: "WASMESH-HOST-1012".into(),
                cause: "design deploys run one at a time, and the one before did not finish within limits.operation_timeout_seconds".into(),
                remediation: "retry once the other deploy has ended (its events say when)".into(),
            };
            self.events.publish(f.event(op));
            return (vec![format!("failed: {}", f.summary)], true);
        };
        let multi = clusters.len() > 1;
        let deadline = Instant::now() + self.limits.operation_timeout();
        let runs = clusters.iter().map(|cluster| {
            let mut request = request.clone();
            request.cluster = cluster_info(cluster);
            async move {
                let (result, host) = self.provision_on(cluster, &request).await;
                let (outcome, rejected) = match result {
                    Err(f) => (Err(f.into()), Vec::new()),
                    Ok(dp) => (
                        self.carry_out(cluster, dp.plan, &host.call, deadline, request.delete)
                            .await,
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

    /// The plugin's plan for `request` on `cluster`, every read it makes checked against the
    /// grant of the request's operation: how real operations and dry runs both begin.
    pub(crate) async fn plan_on(
        &self,
        cluster: &Arc<Cluster>,
        request: &types::OperationRequest,
    ) -> (Result<types::Plan, Failure>, CallHost) {
        let ids = Ids {
            operation_id: &request.operation_id,
            operation: &request.key,
            user: &request.username,
        };
        let host = self.call_host(cluster, ids, &request.namespace);
        let called = std::time::Instant::now();
        let (result, host) = self.plugin.plan(host, request).await;
        self.metrics.plugin_call("plan", called.elapsed());
        let plan = match result {
            Err(e) => Err(Failure::from_runtime(e)),
            Ok(Err(e)) => Err(self.plugin_failure(e, &host, &request.key)),
            Ok(Ok(plan)) => Ok(plan),
        };
        (plan, host)
    }

    /// The plugin's design plan for `request` on `cluster`, its reads checked against the
    /// grant for designs.
    pub(crate) async fn provision_on(
        &self,
        cluster: &Arc<Cluster>,
        request: &types::DesignRequest,
    ) -> (Result<types::DesignPlan, Failure>, CallHost) {
        let ids = Ids {
            operation_id: &request.operation_id,
            operation: DESIGN_OPERATION,
            user: &request.username,
        };
        let host = self.call_host(cluster, ids, DESIGN_NAMESPACE);
        let called = std::time::Instant::now();
        let (result, host) = self.plugin.provision(host, request).await;
        self.metrics.plugin_call("provision", called.elapsed());
        let plan = match result {
            Err(e) => Err(Failure::from_runtime(e)),
            Ok(Err(e)) => Err(self.plugin_failure(e, &host, "design")),
            Ok(Ok(dp)) => Ok(dp),
        };
        (plan, host)
    }

    /// The plugin's plan as the executor's, bounded by the limits.
    pub(crate) fn usable_plan(&self, plan: types::Plan) -> Result<Plan, Failure> {
        convert::plan(plan, &self.limits).map_err(|e| {
            self.metrics.plan_refused(INVALID_PLAN);
            Failure {
                summary: format!("{} returned a plan the host cannot use: {e}", self.info().name),
                details: String::new(),
                code: INVALID_PLAN.into(),
                cause: "the plugin produced an invalid or oversized plan".into(),
                remediation: "report the bug to the plugin's author with the operation's input".into(),
            }
        })
    }

    /// Operation `key` not granted to this plugin by the configuration.
    pub(crate) fn not_granted(&self, key: &str) -> Failure {
        let what = if key == DESIGN_OPERATION {
            "deploying designs".to_string()
        } else {
            format!("operation \"{key}\"")
        };
        Failure {
            summary: format!("{what} is not granted to the {} adapter", self.info().name),
            details: match self.grant.operations.as_deref().unwrap_or_default() {
                [] => "granted operations: none".to_string(),
                ops => format!("granted operations: {}", ops.join(", ")),
            },
            code: "WASMESH-HOST-1011".into(),
            cause: "the host's configuration grants this plugin only some of its operations".into(),
            remediation: format!(
                "add \"{key}\" to grant.operations of plugin \"{}\" in the host configuration, or use a granted operation",
                self.name
            ),
        }
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
        call: &Call,
        deadline: Instant,
        undo: bool,
    ) -> Result<Outcome, Interrupted> {
        let mut plan = self.usable_plan(plan)?;
        let limit_seconds = self.limits.operation_timeout_seconds;
        let checked = tokio::time::timeout_at(deadline, call.check_plan(cluster, &plan))
            .await
            .unwrap_or(Err(wasmesh_grant::Error::Cluster(wasmesh_cluster::Error::Deadline {
                seconds: limit_seconds,
            })));
        plan.unresolved = checked.map_err(|e| self.refused(&plan, e))?;
        if let Some(drift) = &self.drift {
            drift.before_plan(cluster, &plan, call, undo);
        }
        let field_manager = wasmesh_cluster::field_manager(&self.name);
        let progress = StepEvents {
            events: &self.events,
            operation_id: &call.ctx.operation_id,
            written: self
                .drift
                .as_ref()
                .map(|_| (Written::default(), field_manager.as_str())),
        };
        let options = wasmesh_cluster::Options {
            field_manager: field_manager.clone(),
            deadline,
            limit_seconds,
        };
        let execution = cluster
            .execute(&plan, &call.request_namespace, &options, &progress)
            .await;
        if let Some((stage_index, stage, failures)) = execution.failed {
            let (target, first) = &failures[0];
            let tally = Tally::new(&plan, stage_index, &failures, &execution.reports);
            // Never worded as the success it was meant to be: it failed, and says how far it got.
            let mut f = self.cluster_failure(
                first,
                format!("{} failed ({}): {first}", plan.summary_failed(), tally.counts()),
            );
            let lines = tally.lines();
            f.details = format!("stage \"{stage}\" failed at {target}\n{}", lines.join("\n"));
            return Err(Interrupted { failure: f, lines });
        }
        let written = progress.written.map(|(w, _)| w);
        Ok(Outcome {
            summary: plan.summary.clone(),
            reports: execution.reports,
            written: written.map(|w| (plan, w)),
        })
    }

    /// A plan the grant check refused (or could not check): nothing was written.
    pub(crate) fn refused(&self, plan: &Plan, e: wasmesh_grant::Error) -> Failure {
        self.metrics.plan_refused(e.code());
        for rule in e.denial_rules() {
            self.metrics.capability_denied(rule);
        }
        match e {
            wasmesh_grant::Error::Cluster(c) => self.cluster_failure(&c, format!("{}: {c}", plan.summary_failed())),
            e => Failure {
                summary: format!("{} refused: {e}", plan.summary_failed()),
                details: e.details(),
                code: e.code().into(),
                cause: e.probable_cause(),
                remediation: e.suggested_remediation(),
            },
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
        // Contexts of different kubeconfigs often share a name ("default"): the server tells them apart.
        let named = |ok: bool| -> Vec<String> {
            clusters
                .iter()
                .zip(results)
                .filter(|(_, r)| r.is_ok() == ok)
                .map(|(c, _)| format!("\"{}\" ({})", c.context, c.server))
                .collect()
        };
        let (ok, failed) = (named(true), named(false));
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

/// Which call a plugin call is: the request's operation id, the operation key whose rules
/// apply, and the user.
#[derive(Clone, Copy)]
struct Ids<'a> {
    operation_id: &'a str,
    operation: &'a str,
    user: &'a str,
}

pub(crate) fn cluster_info(c: &Cluster) -> types::ClusterInfo {
    types::ClusterInfo {
        name: c.context.clone(),
        server: c.server.clone(),
    }
}

/// Step results that deserve their own event while the plan runs.
struct StepEvents<'a> {
    events: &'a EventHub,
    operation_id: &'a str,
    /// With drift detection: what each apply wrote, as the field manager owns it.
    written: Option<(Written, &'a str)>,
}

impl wasmesh_cluster::Progress for StepEvents<'_> {
    fn applied(&self, target: &ObjectRef, object: &wasmesh_cluster::DynamicObject) {
        if let Some((written, manager)) = &self.written {
            written.record(target, object, manager);
        }
    }

    fn step_waiting(&self, _target: &ObjectRef, why: &str) {
        self.events.publish(Event::info(self.operation_id, why, ""));
    }

    fn step_retrying(&self, target: &ObjectRef, note: &str) {
        self.events
            .publish(Event::info(self.operation_id, format!("{target}: {note}"), ""));
    }

    fn step_finished(&self, result: &Result<StepReport, (ObjectRef, wasmesh_cluster::Error)>) {
        if let Ok(report) = result {
            if let StepOutcome::AppliedOver { managers } = &report.outcome {
                self.events.publish(Event::warn(
                    self.operation_id,
                    report.to_string(),
                    "",
                    wasmesh_cluster::FIELDS_TAKEN_OVER_CODE,
                    format!(
                        "{} had set fields the plugin sets too (kubectl, a controller or another tool)",
                        managers.join(", ")
                    ),
                    format!(
                        "nothing, if the plugin should own these fields; otherwise change the object only with {} \
                         and leave it out of the operation",
                        managers.join(", ")
                    ),
                ));
            }
            if let StepOutcome::NotReady { .. } = report.outcome {
                let t = &report.target;
                let namespace = t.namespace.as_ref().map(|ns| format!(" -n {ns}")).unwrap_or_default();
                self.events.publish(Event::warn(
                    self.operation_id,
                    report.to_string(),
                    "",
                    wasmesh_cluster::NOT_READY_CODE,
                    "the workload or resource is still starting, or is failing",
                    format!(
                        "look at its status, events and pods (kubectl describe {} {}{namespace}) and fix what keeps it \
                         from becoming ready",
                        t.kind.to_ascii_lowercase(),
                        t.name
                    ),
                ));
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
    fn a_tally_lists_done_failed_and_not_attempted_under_their_headings() {
        let plan = Plan {
            stages: vec![
                Stage {
                    name: "objects".into(),
                    steps: vec![cm("a"), cm("b")],
                },
                Stage {
                    name: "more".into(),
                    steps: vec![cm("c")],
                },
            ],
            ..Plan::default()
        };
        let a = StepReport {
            target: cm("a").target(),
            outcome: StepOutcome::Applied,
            waited_for_termination: None,
            retries: vec!["apply: 503 ServiceUnavailable, retry 1 of 4 after 0.2 s".into()],
        };
        let failed = [(
            cm("b").target(),
            wasmesh_cluster::Error::InvalidObject {
                reason: "refused".into(),
            },
        )];
        let tally = Tally::new(&plan, 0, &failed, &[a]);
        assert_eq!(tally.counts(), "1 done, 1 failed, 1 not attempted");
        let lines = tally.lines();
        assert_eq!(lines[0], "done (1):");
        assert!(lines[1].ends_with("[retried: apply: 503 ServiceUnavailable, retry 1 of 4 after 0.2 s]"));
        assert_eq!(lines[2], "failed (1):");
        assert!(
            lines[3].starts_with("not applied (failed): ConfigMap \"b\""),
            "{lines:?}"
        );
        assert_eq!(lines[4..], ["not attempted (1):", "not applied: ConfigMap \"c\""]);
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
