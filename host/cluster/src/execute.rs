//! Running a plan on one cluster: stages in order, the steps of a stage in parallel.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::FIELD_MANAGER_PREFIX;
use crate::client::Cluster;
use crate::errors::{Error, Result};
use crate::names::{check_name, check_namespace};
use crate::plan::{Condition, NamespaceChange, ObjectRef, Plan, Step, WaitFor};
use crate::resolve::Resolved;
use crate::retry::Retries;

/// The field manager of what the API server writes itself (bootstrap RBAC, default objects).
const API_SERVER_MANAGER: &str = "kube-apiserver";

/// Steps of one stage in flight at once on one cluster.
const STAGE_PARALLELISM: usize = 16;

/// How long a step waits for an object that is being finalized (a Terminating namespace, a
/// deleted CRD) to be gone: before it creates it again (Kubernetes refuses every new object in a
/// Terminating namespace) and after it deletes it (so a removal reports done only when the
/// object is gone). A healthy cluster finalizes them in seconds.
pub const DELETION_WAIT: Duration = Duration::from_secs(120);

#[derive(Clone, Debug, PartialEq)]
pub enum StepOutcome {
    Applied,
    /// Applied after taking fields over from managers that are not wasmesh plugins (kubectl, a
    /// controller): the object now says what the plugin wants, and the event says whose fields
    /// went.
    AppliedOver {
        managers: Vec<String>,
    },
    Deleted,
    /// An object being finalized (a namespace, a CRD) was deleted, but the cluster had not
    /// finished removing it when the wait ended.
    StillTerminating {
        waited_seconds: u32,
    },
    /// A delete or label removal found nothing to act on.
    Absent,
    NamespaceUpdated {
        created: bool,
    },
    Ready,
    /// A wait that is not required ran out of time; the plan went on.
    NotReady {
        waited_seconds: u32,
        condition: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// The object, with the namespace it really went to.
    pub target: ObjectRef,
    pub outcome: StepOutcome,
    /// Seconds a namespace step waited for an earlier deletion of the namespace to finish before
    /// it could create the namespace again.
    pub waited_for_termination: Option<u32>,
    /// The requests of the step that were sent again, one sentence each (see [`Retries`]).
    pub retries: Vec<String>,
}

impl StepReport {
    fn new(target: ObjectRef, outcome: StepOutcome) -> Self {
        StepReport {
            target,
            outcome,
            waited_for_termination: None,
            retries: Vec::new(),
        }
    }
}

impl std::fmt::Display for StepReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = &self.target;
        if let Some(seconds) = self.waited_for_termination {
            write!(
                f,
                "after {seconds} s waiting for the earlier deletion of {t} to finish, "
            )?;
        }
        match &self.outcome {
            StepOutcome::Applied => write!(f, "applied {t}"),
            StepOutcome::AppliedOver { managers } => {
                write!(f, "applied {t}, taking over fields set by {}", managers.join(", "))
            }
            StepOutcome::Deleted => write!(f, "deleted {t}"),
            StepOutcome::StillTerminating { waited_seconds } => write!(
                f,
                "deleted {t}; it is still terminating after {waited_seconds} s (the cluster is removing what it holds)"
            ),
            StepOutcome::Absent => write!(f, "{t} was already absent"),
            StepOutcome::NamespaceUpdated { created: true } => {
                write!(f, "created and configured namespace \"{}\"", t.name)
            }
            StepOutcome::NamespaceUpdated { created: false } => {
                write!(f, "configured namespace \"{}\"", t.name)
            }
            StepOutcome::Ready => write!(f, "{t} is ready"),
            StepOutcome::NotReady {
                waited_seconds,
                condition,
            } => {
                write!(f, "{t} is not ready: still not {condition} after {waited_seconds} s")
            }
        }?;
        if !self.retries.is_empty() {
            write!(f, " [retried: {}]", self.retries.join("; "))?;
        }
        Ok(())
    }
}

/// Told about each stage and step as they finish, so events reach Meshery while a plan runs.
pub trait Progress: Send + Sync {
    fn stage_started(&self, _stage: &str) {}
    fn step_finished(&self, _result: &std::result::Result<StepReport, (ObjectRef, Error)>) {}
    /// A step waits for the cluster before it can go on; `why` says for what, in a sentence.
    fn step_waiting(&self, _target: &ObjectRef, _why: &str) {}
    /// A request of the step failed in a way that may pass and is sent again, or is given up;
    /// `note` says which request, why and when.
    fn step_retrying(&self, _target: &ObjectRef, _note: &str) {}
    /// An apply step's object as the API server answered it (managedFields included): what the
    /// plan wrote, for drift detection to compare later changes with.
    fn applied(&self, _target: &ObjectRef, _object: &DynamicObject) {}
}

impl Progress for () {}

/// How a plan is carried out.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server-side apply field manager (`wasmesh-<plugin>`, see [`crate::field_manager`]).
    pub field_manager: String,
    /// When the whole operation must be done; steps still running then fail, later stages do
    /// not start.
    pub deadline: tokio::time::Instant,
    /// The operation's time limit, for the error that says it ran out.
    pub limit_seconds: u64,
}

/// What a plan's execution did on one cluster.
#[derive(Debug, Default)]
pub struct Execution {
    pub reports: Vec<StepReport>,
    /// The stage that failed (its index and name) and its failed steps; later stages did not run.
    pub failed: Option<(usize, String, Vec<(ObjectRef, Error)>)>,
}

impl Cluster {
    /// Runs `plan`; a stage with a failed step finishes its other steps, then execution stops.
    pub async fn execute(
        &self,
        plan: &Plan,
        default_namespace: &str,
        options: &Options,
        progress: &dyn Progress,
    ) -> Execution {
        let mut execution = Execution::default();
        for (index, stage) in plan.stages.iter().enumerate() {
            progress.stage_started(&stage.name);
            // Futures built in a loop, not a closure: a closure over borrowed steps trips the
            // compiler's higher-ranked lifetime inference once spawned.
            let mut pending = Vec::with_capacity(stage.steps.len());
            for step in &stage.steps {
                pending.push(self.step_reporting(step, plan, default_namespace, options, progress));
            }
            let results: Vec<_> = futures::stream::iter(pending)
                .buffered(STAGE_PARALLELISM)
                .collect()
                .await;
            let mut failures = Vec::new();
            for r in results {
                match r {
                    Ok(report) => execution.reports.push(report),
                    Err(f) => failures.push(f),
                }
            }
            if !failures.is_empty() {
                execution.failed = Some((index, stage.name.clone(), failures));
                break;
            }
        }
        execution
    }

    async fn step_reporting(
        &self,
        step: &Step,
        plan: &Plan,
        default_namespace: &str,
        options: &Options,
        progress: &dyn Progress,
    ) -> std::result::Result<StepReport, (ObjectRef, Error)> {
        let placed = self.placed(step, default_namespace);
        let tell = |note: &str| progress.step_retrying(&placed, note);
        let retries = Retries::observed(options.deadline, &tell).about(placed.to_string());
        // Discovery, reads and waits included: nothing of a step outlives the deadline.
        let r = match tokio::time::timeout_at(
            options.deadline,
            self.run_step(step, plan, default_namespace, options, progress, &retries),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Error::Deadline {
                seconds: options.limit_seconds,
            }),
        };
        let r = match r {
            Ok(mut report) => {
                report.retries = retries.notes();
                Ok(report)
            }
            // The error is the last of several tries: say so.
            Err(e) => Err((placed.clone(), retries.explain(e))),
        };
        progress.step_finished(&r);
        r
    }

    /// The step's target with the namespace it would use, without asking the cluster.
    fn placed(&self, step: &Step, default_namespace: &str) -> ObjectRef {
        let mut t = step.target();
        if t.namespace.is_none() && !matches!(step, Step::NamespaceMetadata(_)) {
            t.namespace = Some(default_namespace.to_string());
        }
        t
    }

    /// Resolves the step's target: the REST resource and the namespace it really uses (the
    /// default namespace for a namespaced object that names none, none for cluster-scoped ones).
    pub async fn locate(&self, step: &Step, default_namespace: &str) -> Result<(Resolved, ObjectRef)> {
        self.locate_with(step, default_namespace, &Retries::reads()).await
    }

    /// [`Cluster::locate`], its discovery retried as `retries` allow.
    pub async fn locate_with(
        &self,
        step: &Step,
        default_namespace: &str,
        retries: &Retries<'_>,
    ) -> Result<(Resolved, ObjectRef)> {
        let mut target = step.target();
        if target.name.is_empty() {
            return Err(Error::InvalidObject {
                reason: format!("{} has no metadata.name", target.kind),
            });
        }
        // Checked before anything else: these strings become the URL path.
        if matches!(step, Step::NamespaceMetadata(_)) {
            check_namespace(&target.name)?;
        } else {
            check_name(&target.name)?;
        }
        if let Some(ns) = target.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            check_namespace(ns)?;
        }
        check_namespace(default_namespace)?;
        let resolved = self.resolve_with(&target.api_version, &target.kind, retries).await?;
        if resolved.namespaced {
            if target.namespace.as_deref().unwrap_or("").is_empty() {
                target.namespace = Some(default_namespace.to_string());
            }
        } else {
            target.namespace = None;
        }
        Ok((resolved, target))
    }

    fn api(&self, resolved: &Resolved, target: &ObjectRef) -> Api<DynamicObject> {
        match &target.namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resolved.resource),
            None => Api::all_with(self.client.clone(), &resolved.resource),
        }
    }

    async fn run_step(
        &self,
        step: &Step,
        plan: &Plan,
        default_namespace: &str,
        options: &Options,
        progress: &dyn Progress,
        retries: &Retries<'_>,
    ) -> Result<StepReport> {
        let target = step.target();
        if plan
            .unresolved
            .contains(&(target.api_version.clone(), target.kind.clone()))
        {
            let target = self.placed(step, default_namespace);
            return match step {
                Step::Delete(_) => Ok(StepReport::new(target, StepOutcome::Absent)),
                Step::Wait(w) if w.condition == Condition::Deleted => Ok(StepReport::new(target, StepOutcome::Ready)),
                Step::Wait(w) if !w.required => Ok(StepReport::new(
                    target,
                    StepOutcome::NotReady {
                        waited_seconds: 0,
                        condition: w.condition.to_string(),
                    },
                )),
                _ => Err(Error::UnknownKind {
                    server: self.server.clone(),
                    api_version: target.api_version,
                    kind: target.kind,
                }),
            };
        }
        match step {
            Step::Apply(object) => {
                self.apply(
                    object,
                    step,
                    default_namespace,
                    &options.field_manager,
                    progress,
                    retries,
                )
                .await
            }
            Step::Delete(_) => self.delete(step, default_namespace, progress, retries).await,
            Step::NamespaceMetadata(change) => {
                self.namespace_metadata(change, &options.field_manager, progress, retries)
                    .await
            }
            Step::Wait(wait) => self.wait(wait, step, default_namespace, retries).await,
        }
    }

    async fn apply(
        &self,
        object: &Value,
        step: &Step,
        default_namespace: &str,
        manager: &str,
        progress: &dyn Progress,
        retries: &Retries<'_>,
    ) -> Result<StepReport> {
        let (resolved, target) = self.locate_with(step, default_namespace, retries).await?;
        let mut object = object.clone();
        let metadata = object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
            .ok_or_else(|| Error::InvalidObject {
                reason: format!("{target} has no metadata"),
            })?;
        match &target.namespace {
            Some(ns) => {
                metadata.insert("namespace".into(), ns.clone().into());
            }
            None => {
                metadata.remove("namespace");
            }
        }
        // Applied to a namespace that is being deleted, the apply would succeed and every object
        // a later stage puts into it would be refused: wait for it to go, then create it anew.
        let api = self.api(&resolved, &target);
        let waited = if is_namespace(&target) || is_crd(&target) {
            self.await_gone(&api, &target, progress, retries).await?
        } else {
            None
        };
        let apply = |force: bool| {
            let mut params = PatchParams::apply(manager);
            params.force = force;
            let api = api.clone();
            let (name, object) = (target.name.clone(), object.clone());
            async move { api.patch(&name, &params, &Patch::Apply(&object)).await }
        };
        // Server-side apply is idempotent: the same request, sent again, leaves the same object.
        let outcome = match retries.run("apply", || apply(false)).await {
            Ok(answer) => {
                progress.applied(&target, &answer);
                StepOutcome::Applied
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                let managers = conflicting_managers(&s.message);
                // Another plugin's fields are its own, and the API server's own (its bootstrap
                // roles, cluster-admin among them) are nobody's to take: never forced.
                if managers.is_empty()
                    || managers
                        .iter()
                        .any(|m| m.starts_with(FIELD_MANAGER_PREFIX) || m == API_SERVER_MANAGER)
                {
                    return Err(self.write_error("apply", &target, kube::Error::Api(s)));
                }
                let answer = retries
                    .run("apply (taking over)", || apply(true))
                    .await
                    .map_err(|e| self.write_error("apply", &target, e))?;
                progress.applied(&target, &answer);
                StepOutcome::AppliedOver { managers }
            }
            Err(e) => return Err(self.write_error("apply", &target, e)),
        };
        Ok(StepReport {
            waited_for_termination: waited,
            ..StepReport::new(target, outcome)
        })
    }

    /// The error of a refused write, naming a Terminating namespace as the cause when it was.
    fn write_error(&self, verb: &'static str, target: &ObjectRef, e: kube::Error) -> Error {
        match (&e, &target.namespace) {
            (kube::Error::Api(s), Some(ns)) if namespace_terminating(s) => Error::NamespaceTerminating {
                what: target.to_string(),
                namespace: ns.clone(),
            },
            _ => Error::from_kube(verb, target.to_string(), &self.server, e),
        }
    }

    /// When the object is being deleted (a Terminating namespace, a CRD whose objects the cluster
    /// is removing), waits (bounded, saying so) until it is gone, so that what is applied next is
    /// a new object and not one about to disappear. Returns the seconds waited, None when it was
    /// not being deleted.
    async fn await_gone(
        &self,
        api: &Api<DynamicObject>,
        target: &ObjectRef,
        progress: &dyn Progress,
        retries: &Retries<'_>,
    ) -> Result<Option<u32>> {
        let found = retries
            .run("get", || api.get_opt(&target.name))
            .await
            .map_err(|e| Error::from_kube("get", target.to_string(), &self.server, e))?;
        if !found.is_some_and(|o| o.metadata.deletion_timestamp.is_some()) {
            return Ok(None);
        }
        progress.step_waiting(
            target,
            &format!(
                "{target} is still being deleted; waiting up to {} s for it to go before creating it again",
                DELETION_WAIT.as_secs()
            ),
        );
        match self.gone_within(api, target, DELETION_WAIT, retries).await? {
            Some(seconds) => Ok(Some(seconds)),
            None => Err(Error::StillBeingDeleted {
                what: target.to_string(),
                seconds: DELETION_WAIT.as_secs() as u32,
            }),
        }
    }

    /// Polls until the object is gone; the whole seconds it took, or None when `limit` passed.
    async fn gone_within(
        &self,
        api: &Api<DynamicObject>,
        target: &ObjectRef,
        limit: Duration,
        retries: &Retries<'_>,
    ) -> Result<Option<u32>> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            let found = retries
                .run("get", || api.get_opt(&target.name))
                .await
                .map_err(|e| Error::from_kube("get", target.to_string(), &self.server, e))?;
            if found.is_none() {
                return Ok(Some(started.elapsed().as_secs() as u32));
            }
            if started.elapsed() >= limit {
                return Ok(None);
            }
            tokio::time::sleep(pause.min(limit.saturating_sub(started.elapsed()))).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }

    async fn namespaces(&self, retries: &Retries<'_>) -> Result<Api<DynamicObject>> {
        let resolved = self.resolve_with("v1", "Namespace", retries).await?;
        Ok(Api::all_with(self.client.clone(), &resolved.resource))
    }

    async fn delete(
        &self,
        step: &Step,
        default_namespace: &str,
        progress: &dyn Progress,
        retries: &Retries<'_>,
    ) -> Result<StepReport> {
        let (resolved, target) = match self.locate_with(step, default_namespace, retries).await {
            Ok(x) => x,
            // A kind the cluster does not serve has no objects left to delete.
            Err(Error::UnknownKind { .. }) => {
                return Ok(StepReport::new(
                    self.placed(step, default_namespace),
                    StepOutcome::Absent,
                ));
            }
            Err(e) => return Err(e),
        };
        let api = self.api(&resolved, &target);
        // A delete sent again finds the object gone (404) or going: the same end.
        let params = DeleteParams::background();
        let stays = match retries.run("delete", || api.delete(&target.name, &params)).await {
            // The object answered back is still there, being finalized: a namespace the
            // namespace controller is emptying, a CRD whose objects are being removed.
            Ok(answer) => answer.left().is_some_and(|o| o.metadata.deletion_timestamp.is_some()),
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Ok(StepReport::new(target, StepOutcome::Absent));
            }
            Err(e) => {
                return Err(Error::from_kube("delete", target.to_string(), &self.server, e));
            }
        };
        // Until it is gone, such an object blocks what comes next (nothing can be created in a
        // Terminating namespace; a CRD applied again would vanish with the old one), so "deleted"
        // is reported when it is gone, or it is said to be still terminating.
        if !stays
            || self
                .gone_within(&api, &target, Duration::ZERO, retries)
                .await?
                .is_some()
        {
            return Ok(StepReport::new(target, StepOutcome::Deleted));
        }
        progress.step_waiting(
            &target,
            &format!(
                "{target} is being finalized: waiting up to {} s for the cluster to remove it and what it holds",
                DELETION_WAIT.as_secs()
            ),
        );
        let outcome = match self.gone_within(&api, &target, DELETION_WAIT, retries).await? {
            Some(_) => StepOutcome::Deleted,
            None => StepOutcome::StillTerminating {
                waited_seconds: DELETION_WAIT.as_secs() as u32,
            },
        };
        Ok(StepReport::new(target, outcome))
    }

    async fn namespace_metadata(
        &self,
        change: &NamespaceChange,
        manager: &str,
        progress: &dyn Progress,
        retries: &Retries<'_>,
    ) -> Result<StepReport> {
        check_namespace(&change.namespace)?;
        let target = namespace_ref(&change.namespace);
        let api = self.namespaces(retries).await?;
        let what = || target.to_string();
        let mut existing = retries
            .run("get", || api.get_opt(&change.namespace))
            .await
            .map_err(|e| Error::from_kube("get", what(), &self.server, e))?;
        // Labels put on a namespace that is going would go with it, and nothing could be created
        // in it: a step that may create the namespace waits for it to go and creates it anew.
        let mut waited = None;
        if change.create
            && existing
                .as_ref()
                .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some())
        {
            waited = self.await_gone(&api, &target, progress, retries).await?;
            existing = None;
        }
        let pairs = |xs: &[(String, String)]| -> Map<String, Value> {
            xs.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect()
        };
        if existing.is_none() {
            if !change.create {
                return Ok(StepReport::new(target, StepOutcome::Absent));
            }
            let object = json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": change.namespace,
                    "labels": pairs(&change.set_labels),
                    "annotations": pairs(&change.set_annotations),
                },
            });
            let (params, object) = (PatchParams::apply(manager), Patch::Apply(&object));
            retries
                .run("create", || api.patch(&change.namespace, &params, &object))
                .await
                .map_err(|e| Error::from_kube("create", what(), &self.server, e))?;
            return Ok(StepReport {
                waited_for_termination: waited,
                ..StepReport::new(target, StepOutcome::NamespaceUpdated { created: true })
            });
        }
        // A merge patch never conflicts: look first whether another plugin set one of the keys.
        if let Some(ns) = &existing {
            let keys = change
                .set_labels
                .iter()
                .map(|(k, _)| ("labels", k))
                .chain(change.remove_labels.iter().map(|k| ("labels", k)))
                .chain(change.set_annotations.iter().map(|(k, _)| ("annotations", k)))
                .chain(change.remove_annotations.iter().map(|k| ("annotations", k)));
            for (field, key) in keys {
                if let Some(owner) = other_plugin_owning(ns, manager, field, key) {
                    return Err(Error::Api {
                        verb: "patch",
                        what: what(),
                        code: 409,
                        reason: "Conflict".into(),
                        message: format!(
                            "{} \"{key}\" was set by {owner}, another wasmesh plugin; a plugin never changes what another one set",
                            if field == "labels" { "label" } else { "annotation" }
                        ),
                    });
                }
            }
        }
        // A merge patch touches only the keys named: other labels and annotations stay.
        let with_removals = |set: &[(String, String)], remove: &[String]| {
            let mut m = pairs(set);
            for k in remove {
                m.insert(k.clone(), Value::Null);
            }
            m
        };
        let patch = json!({
            "metadata": {
                "labels": with_removals(&change.set_labels, &change.remove_labels),
                "annotations": with_removals(&change.set_annotations, &change.remove_annotations),
            }
        });
        let params = PatchParams {
            field_manager: Some(manager.to_string()),
            ..PatchParams::default()
        };
        // Sets fixed values and removes fixed keys: sent again, it leaves the same namespace.
        let patch = Patch::Merge(&patch);
        retries
            .run("patch", || api.patch(&change.namespace, &params, &patch))
            .await
            .map_err(|e| Error::from_kube("patch", what(), &self.server, e))?;
        Ok(StepReport::new(
            target,
            StepOutcome::NamespaceUpdated { created: false },
        ))
    }

    async fn wait(
        &self,
        wait: &WaitFor,
        step: &Step,
        default_namespace: &str,
        retries: &Retries<'_>,
    ) -> Result<StepReport> {
        let started = Instant::now();
        let limit = Duration::from_secs(wait.timeout_seconds.into());
        let mut pause = Duration::from_millis(50);
        loop {
            let state = match self.locate_with(step, default_namespace, retries).await {
                Ok((resolved, target)) => {
                    let api = self.api(&resolved, &target);
                    let found = retries
                        .run("get", || api.get_opt(&target.name))
                        .await
                        .map_err(|e| Error::from_kube("get", target.to_string(), &self.server, e))?;
                    Some((target, found))
                }
                // The kind may not be served yet (its CRD is being established) or any more.
                Err(Error::UnknownKind { .. }) => None,
                Err(e) => return Err(e),
            };
            let satisfied = match (&wait.condition, &state) {
                (Condition::Deleted, None) | (Condition::Deleted, Some((_, None))) => true,
                (Condition::Deleted, Some((_, Some(_)))) => false,
                (Condition::Exists, Some((_, Some(_)))) => true,
                (Condition::ConditionTrue(c), Some((t, Some(obj)))) => {
                    condition_true(&obj.data, c)
                        || (c == "Available" && rolled_out(&t.kind, obj.metadata.generation, &obj.data))
                }
                _ => false,
            };
            let target = state
                .map(|(t, _)| t)
                .unwrap_or_else(|| self.placed(step, default_namespace));
            if satisfied {
                return Ok(StepReport::new(target, StepOutcome::Ready));
            }
            if started.elapsed() >= limit {
                if wait.required {
                    return Err(Error::WaitTimeout {
                        what: target.to_string(),
                        condition: wait.condition.to_string(),
                        seconds: wait.timeout_seconds,
                    });
                }
                return Ok(StepReport::new(
                    target,
                    StepOutcome::NotReady {
                        waited_seconds: wait.timeout_seconds,
                        condition: wait.condition.to_string(),
                    },
                ));
            }
            tokio::time::sleep(pause.min(limit.saturating_sub(started.elapsed()))).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// The field managers a server-side apply conflict names (`conflict with "kubectl" using v1:
/// .data.x`, or `conflicts with "a" ...`).
fn conflicting_managers(message: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in message.match_indices("with \"") {
        let rest = &message[i + 6..];
        if let Some(end) = rest.find('"') {
            let m = rest[..end].to_string();
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// The wasmesh plugin's field manager, other than `manager`, that owns `metadata.<field>.<key>`.
fn other_plugin_owning(object: &DynamicObject, manager: &str, field: &str, key: &str) -> Option<String> {
    let path = format!("f:{key}");
    object
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.manager
                .as_deref()
                .is_some_and(|n| n != manager && n.starts_with(FIELD_MANAGER_PREFIX))
        })
        .find(|m| {
            m.fields_v1
                .as_ref()
                .and_then(|f| f.0.pointer(&format!("/f:metadata/f:{field}")))
                .and_then(Value::as_object)
                .is_some_and(|o| o.contains_key(&path))
        })
        .and_then(|m| m.manager.clone())
}

fn is_namespace(target: &ObjectRef) -> bool {
    target.api_version == "v1" && target.kind == "Namespace"
}

fn is_crd(target: &ObjectRef) -> bool {
    target.api_version.starts_with("apiextensions.k8s.io/") && target.kind == "CustomResourceDefinition"
}

fn namespace_ref(name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: name.to_string(),
    }
}

/// The API server's refusal of new objects in a namespace that is being deleted (403 with the
/// cause NamespaceTerminating: "unable to create new content in namespace X because it is being
/// terminated").
fn namespace_terminating(s: &kube::core::Status) -> bool {
    s.code == 403
        && (s
            .details
            .as_ref()
            .is_some_and(|d| d.causes.iter().any(|c| c.reason == "NamespaceTerminating"))
            || s.message.contains("because it is being terminated"))
}

/// Whether `status.conditions` holds `{type: kind, status: "True"}`.
fn condition_true(data: &Value, kind: &str) -> bool {
    data.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(kind)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

/// "Available" for the workloads whose status has no such condition, as `kubectl rollout status`
/// judges them: the controller saw the current spec and every wanted pod is updated and available.
fn rolled_out(kind: &str, generation: Option<i64>, data: &Value) -> bool {
    let n = |field: &str| {
        data.pointer(&format!("/status/{field}"))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let observed = generation.is_none_or(|g| n("observedGeneration") >= g);
    match kind {
        "DaemonSet" => {
            let wanted = n("desiredNumberScheduled");
            observed && n("updatedNumberScheduled") >= wanted && n("numberAvailable") >= wanted
        }
        "StatefulSet" => {
            let wanted = data.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
            observed && n("updatedReplicas") >= wanted && n("availableReplicas") >= wanted
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemonsets_and_statefulsets_are_available_once_rolled_out() {
        let ds = |observed: i64, updated: i64, available: i64| {
            json!({"status": {"observedGeneration": observed, "desiredNumberScheduled": 3,
                "updatedNumberScheduled": updated, "numberAvailable": available}})
        };
        assert!(rolled_out("DaemonSet", Some(2), &ds(2, 3, 3)));
        assert!(!rolled_out("DaemonSet", Some(2), &ds(1, 3, 3)), "old generation");
        assert!(!rolled_out("DaemonSet", Some(2), &ds(2, 3, 2)), "one pod not available");
        assert!(!rolled_out("DaemonSet", Some(2), &ds(2, 2, 3)), "one pod not updated");
        assert!(!rolled_out("DaemonSet", Some(1), &json!({})), "no status yet");
        let sts = json!({"spec": {"replicas": 2}, "status": {"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 1}});
        assert!(!rolled_out("StatefulSet", Some(1), &sts));
        let sts = json!({"spec": {"replicas": 2}, "status": {"observedGeneration": 1, "updatedReplicas": 2, "availableReplicas": 2}});
        assert!(rolled_out("StatefulSet", Some(1), &sts));
        assert!(
            !rolled_out("Deployment", Some(1), &sts),
            "Deployments report the condition themselves"
        );
    }

    #[test]
    fn conflicting_managers_are_read_from_the_servers_message() {
        let one = "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.a";
        assert_eq!(conflicting_managers(one), ["kubectl-client-side-apply"]);
        let two = "Apply failed with 2 conflicts: conflicts with \"wasmesh-istio\" using v1:\n- .data.a\nconflict with \"kubectl\" using v1: .data.b";
        assert_eq!(conflicting_managers(two), ["wasmesh-istio", "kubectl"]);
        assert!(conflicting_managers("the object has been modified").is_empty());
    }

    #[test]
    fn the_namespace_terminating_refusal_is_recognised_by_its_cause_or_message() {
        let refusal = |code: u16, message: &str, cause: Option<&str>| {
            let mut s = json!({"status": "Failure", "code": code, "reason": "Forbidden", "message": message});
            if let Some(c) = cause {
                s["details"] = json!({"name": "x", "kind": "configmaps", "causes": [{"reason": c, "message": "", "field": "metadata.namespace"}]});
            }
            serde_json::from_value::<kube::core::Status>(s).unwrap()
        };
        let real = "configmaps \"x\" is forbidden: unable to create new content in namespace shop because it is being terminated";
        assert!(namespace_terminating(&refusal(403, real, Some("NamespaceTerminating"))));
        assert!(
            namespace_terminating(&refusal(403, real, None)),
            "older servers send no cause"
        );
        assert!(namespace_terminating(&refusal(
            403,
            "denied",
            Some("NamespaceTerminating")
        )));
        let rbac = "configmaps \"x\" is forbidden: User \"u\" cannot create resource \"configmaps\"";
        assert!(
            !namespace_terminating(&refusal(403, rbac, None)),
            "an RBAC refusal is not it"
        );
        assert!(!namespace_terminating(&refusal(409, real, None)));
    }

    #[test]
    fn reports_read_as_sentences() {
        let t = ObjectRef {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("linkerd".into()),
            name: "linkerd-identity".into(),
        };
        let not_ready = StepReport::new(
            t.clone(),
            StepOutcome::NotReady {
                waited_seconds: 300,
                condition: Condition::ConditionTrue("Available".into()).to_string(),
            },
        );
        assert_eq!(
            not_ready.to_string(),
            "Deployment \"linkerd-identity\" in namespace \"linkerd\" is not ready: still not Available after 300 s"
        );
        assert_eq!(Condition::Deleted.to_string(), "deleted");
        assert_eq!(Condition::Exists.to_string(), "created");
        let ns = namespace_ref("linkerd");
        let still = StepReport::new(ns.clone(), StepOutcome::StillTerminating { waited_seconds: 120 });
        assert!(
            still
                .to_string()
                .starts_with("deleted Namespace \"linkerd\"; it is still terminating after 120 s")
        );
        let recreated = StepReport {
            waited_for_termination: Some(4),
            retries: vec!["apply: 503 ServiceUnavailable, retry 1 of 4 after 0.2 s".into()],
            ..StepReport::new(ns, StepOutcome::Applied)
        };
        assert_eq!(
            recreated.to_string(),
            "after 4 s waiting for the earlier deletion of Namespace \"linkerd\" to finish, applied Namespace \"linkerd\" \
             [retried: apply: 503 ServiceUnavailable, retry 1 of 4 after 0.2 s]"
        );
    }

    #[test]
    fn condition_true_needs_status_true() {
        let obj = json!({"status": {"conditions": [
            {"type": "Established", "status": "True"},
            {"type": "NamesAccepted", "status": "False"},
        ]}});
        assert!(condition_true(&obj, "Established"));
        assert!(!condition_true(&obj, "NamesAccepted"));
        assert!(!condition_true(&obj, "Available"));
        assert!(!condition_true(&json!({}), "Established"));
    }
}
