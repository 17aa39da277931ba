//! Drift detection (`drift: {watch: true, reconcile: false}` under a plugin): after an operation
//! succeeds, the host watches the objects it applied, one watch per cluster, kind and namespace,
//! and tells every event subscriber (WARN) when someone else changes a field the plugin set or
//! deletes the object. With `reconcile`, it re-applies the operation's last plan through the same
//! grant check and cluster write path, at most [`RECONCILE_BURST`] times per
//! [`RECONCILE_WINDOW`] per operation, then pauses and says so.
//!
//! The watches run as the plugin's identity with the kubeconfig the operation came with
//! (credentials stay in the host) and only where the plugin may apply
//! ([`wasmesh_grant::Call::allows_watch`]). Undoing the operation, or a plan deleting an object,
//! stops watching it; a watch with nothing left to watch ends.

mod fields;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;
use wasmesh_cluster::{Change, Cluster, DynamicObject, ObjectRef, Plan, Step};
use wasmesh_grant::Call;

pub use fields::{MAX_FIELDS, MAX_NAMED, Snapshot};

use crate::events::{Event, EventHub};

/// A change someone else made to what a plugin applied.
pub const DRIFTED: &str = "WASMESH-DRIFT-1001";
/// An object a plugin applied was deleted by someone else.
pub const DELETED: &str = "WASMESH-DRIFT-1002";
/// Re-applying the plan was paused: the objects keep drifting back.
pub const RECONCILE_PAUSED: &str = "WASMESH-DRIFT-1003";
/// Objects not watched: a limit, or the grant.
pub const NOT_WATCHED: &str = "WASMESH-DRIFT-1004";
/// Re-applying the plan failed.
pub const RECONCILE_FAILED: &str = "WASMESH-DRIFT-1005";

/// Re-applies of one operation's plan per [`RECONCILE_WINDOW`]; one more drift in the window
/// pauses re-applying (two tools fighting over a field would otherwise write for ever).
pub const RECONCILE_BURST: usize = 3;
pub const RECONCILE_WINDOW: Duration = Duration::from_secs(300);
/// Drift reported together (a deleted set of objects) is re-applied once.
const RECONCILE_COALESCE: Duration = Duration::from_millis(200);

/// How one plugin's drift detection is set up.
pub struct Settings {
    pub plugin: String,
    /// The plugin's server-side apply field manager (`wasmesh-<plugin>`).
    pub field_manager: String,
    pub reconcile: bool,
    pub max_watches: usize,
    pub max_objects: usize,
    /// Deadline of one re-apply (the operation's time limit).
    pub operation_timeout: Duration,
}

/// One plugin's watches and what they watch.
pub struct Drift {
    settings: Settings,
    events: Arc<EventHub>,
    state: Mutex<State>,
    me: Weak<Drift>,
}

#[derive(Default)]
struct State {
    watches: HashMap<WatchKey, Watch>,
    /// Objects watched, over every watch.
    objects: usize,
    operations: HashMap<Arc<OpKey>, Operation>,
}

/// One watch: a kind in a namespace (None: cluster-scoped kinds) of one cluster.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct WatchKey {
    cluster: String,
    api_version: String,
    kind: String,
    namespace: Option<String>,
}

struct Watch {
    cluster: Arc<Cluster>,
    task: tokio::task::AbortHandle,
    /// Watched objects by name; the watch reports the others too, which are ignored.
    objects: HashMap<String, Tracked>,
}

struct Tracked {
    operation: Arc<OpKey>,
    /// What the plugin owned when last seen; None once deleted (until it comes back).
    seen: Option<Snapshot>,
}

/// An operation as Meshery names it on one cluster: undoing it is the same key and namespace.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct OpKey {
    cluster: String,
    operation: String,
    namespace: String,
}

struct Operation {
    /// The id of the run whose objects are watched; drift events carry it.
    operation_id: String,
    reconcile: Option<Reconcile>,
}

/// What re-applying needs: the last plan, the call whose grant it is checked against, the
/// cluster (with the plugin's identity), and the bounds on how often.
struct Reconcile {
    plan: Arc<Plan>,
    call: Call,
    cluster: Arc<Cluster>,
    recent: VecDeque<Instant>,
    running: bool,
    pending: bool,
    told_paused: bool,
}

/// What an operation wrote, as the executor answered each apply.
#[derive(Default)]
pub struct Written {
    pub applied: Mutex<Vec<(ObjectRef, Snapshot)>>,
}

impl Written {
    pub fn record(&self, target: &ObjectRef, object: &DynamicObject, manager: &str) {
        self.applied
            .lock()
            .unwrap()
            .push((target.clone(), Snapshot::of(object, manager)));
    }
}

/// The finding of one watch event, published once the state's lock is released.
enum Finding {
    Drifted(fields::Drifted),
    Deleted,
}

impl Drift {
    pub fn new(settings: Settings, events: Arc<EventHub>) -> Arc<Drift> {
        Arc::new_cyclic(|me| Drift {
            settings,
            events,
            state: Mutex::default(),
            me: me.clone(),
        })
    }

    /// Watches and objects watched now.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.state.lock().unwrap();
        (st.watches.len(), st.objects)
    }

    /// Bytes the watched objects' snapshots hold (names and bookkeeping not included).
    pub fn snapshot_bytes(&self) -> usize {
        let st = self.state.lock().unwrap();
        st.watches
            .values()
            .flat_map(|w| w.objects.values())
            .map(|t| t.seen.as_ref().map_or(0, Snapshot::bytes))
            .sum()
    }

    /// Bytes the watched objects hold in the host, read from the live tables: each table's
    /// slots (key, value and control byte, at its capacity), each name's buffer and each
    /// snapshot (allocator overhead not included).
    pub fn object_bytes(&self) -> usize {
        let st = self.state.lock().unwrap();
        let slot = std::mem::size_of::<(String, Tracked)>() + 1;
        st.watches
            .values()
            .map(|w| {
                w.objects.capacity() * slot
                    + w.objects
                        .iter()
                        .map(|(name, t)| name.capacity() + t.seen.as_ref().map_or(0, Snapshot::bytes))
                        .sum::<usize>()
            })
            .sum()
    }

    /// Before a plan runs: what it deletes is no longer watched (the plugin's own deletes are
    /// not drift, and an undo stops watching even when it fails part-way), nor what is in a
    /// namespace it deletes; an undo (`call`'s operation, deleting) stops watching everything
    /// the operation applied.
    pub fn before_plan(&self, cluster: &Cluster, plan: &Plan, call: &Call, undo: bool) {
        let request_namespace = call.request_namespace.as_str();
        let mut st = self.state.lock().unwrap();
        if undo {
            let op = OpKey {
                cluster: cluster.id.clone(),
                operation: call.ctx.operation.clone(),
                namespace: request_namespace.to_string(),
            };
            for w in st.watches.values_mut() {
                w.objects.retain(|_, t| *t.operation != op);
            }
        }
        for step in plan.stages.iter().flat_map(|s| s.steps.iter()) {
            let Step::Delete(t) = step else { continue };
            let ns = t.namespace.clone().unwrap_or_else(|| request_namespace.to_string());
            let whole_namespace = t.kind == "Namespace" && t.api_version == "v1";
            for (key, w) in st.watches.iter_mut() {
                if key.cluster != cluster.id {
                    continue;
                }
                if whole_namespace && key.namespace.as_deref() == Some(t.name.as_str()) {
                    w.objects.clear();
                } else if key.api_version == t.api_version
                    && key.kind == t.kind
                    && key.namespace.as_ref().is_none_or(|n| *n == ns)
                {
                    w.objects.remove(&t.name);
                }
            }
        }
        st.prune();
    }

    /// After an operation succeeded on `cluster`: an undo stops watching what the operation
    /// applied; any other operation starts watching what it applied (and keeps its plan when
    /// reconciling).
    pub async fn after_operation(
        &self,
        cluster: &Arc<Cluster>,
        call: &Call,
        delete: bool,
        plan: Plan,
        written: Written,
    ) {
        let op = Arc::new(OpKey {
            cluster: cluster.id.clone(),
            operation: call.ctx.operation.clone(),
            namespace: call.request_namespace.clone(),
        });
        if delete {
            let mut st = self.state.lock().unwrap();
            st.operations.remove(&op);
            for w in st.watches.values_mut() {
                w.objects.retain(|_, t| t.operation != op);
            }
            st.prune();
            return;
        }
        let applied = written.applied.into_inner().unwrap();
        // Per watch, the objects to add; a kind the grant does not let the host watch is refused.
        let mut groups: HashMap<WatchKey, Vec<(String, Snapshot)>> = HashMap::new();
        let mut refused: Vec<String> = Vec::new();
        let mut too_big: Vec<String> = Vec::new();
        let mut resolved = HashMap::new();
        for (target, snapshot) in applied {
            if snapshot.fields() >= MAX_FIELDS {
                too_big.push(target.to_string());
                continue;
            }
            let key = WatchKey {
                cluster: cluster.id.clone(),
                api_version: target.api_version.clone(),
                kind: target.kind.clone(),
                namespace: target.namespace.clone(),
            };
            if !resolved.contains_key(&key) {
                let r = cluster.resolve(&target.api_version, &target.kind).await.ok();
                let allowed = r.as_ref().is_some_and(|r| {
                    call.allows_watch(r.group(), r.plural(), r.namespaced, target.namespace.as_deref())
                });
                if !allowed {
                    refused.push(format!(
                        "{} in {}",
                        target.kind,
                        target
                            .namespace
                            .as_deref()
                            .map_or("the cluster".into(), |n| format!("namespace \"{n}\""))
                    ));
                }
                resolved.insert(key.clone(), r.filter(|_| allowed));
            }
            if resolved[&key].is_some() {
                groups.entry(key).or_default().push((target.name, snapshot));
            }
        }
        let (mut over_objects, mut over_watches, mut watched) = (0usize, 0usize, 0usize);
        {
            let mut st = self.state.lock().unwrap();
            for (key, objects) in groups {
                if !st.watches.contains_key(&key) {
                    if st.watches.len() >= self.settings.max_watches {
                        over_watches += objects.len();
                        continue;
                    }
                    let r = resolved[&key].clone().expect("allowed kinds only");
                    let stream = cluster.watch(&r, key.namespace.as_deref());
                    let task = tokio::spawn(watch(self.me.clone(), key.clone(), stream)).abort_handle();
                    st.watches.insert(
                        key.clone(),
                        Watch {
                            cluster: cluster.clone(),
                            task,
                            objects: HashMap::new(),
                        },
                    );
                }
                for (name, snapshot) in objects {
                    let known = st.watches[&key].objects.contains_key(&name);
                    if !known && st.objects >= self.settings.max_objects {
                        over_objects += 1;
                        continue;
                    }
                    let w = st.watches.get_mut(&key).expect("inserted above");
                    w.objects.insert(
                        name,
                        Tracked {
                            operation: op.clone(),
                            seen: Some(snapshot),
                        },
                    );
                    if !known {
                        st.objects += 1;
                    }
                    watched += 1;
                }
            }
            let reconcile = self.settings.reconcile.then(|| Reconcile {
                plan: Arc::new(plan),
                call: call.clone(),
                cluster: cluster.clone(),
                recent: VecDeque::new(),
                running: false,
                pending: false,
                told_paused: false,
            });
            st.operations.insert(
                op.clone(),
                Operation {
                    operation_id: call.ctx.operation_id.clone(),
                    reconcile,
                },
            );
            st.prune();
        }
        tracing::info!(plugin = %self.settings.plugin, operation = %op.operation, "drift: watching {watched} object(s)");
        let id = call.ctx.operation_id.as_str();
        let mut unwatched = Vec::new();
        if over_objects > 0 {
            unwatched.push(format!(
                "{over_objects} object(s): the plugin already watches its limit of {} objects (limits.drift_max_objects)",
                self.settings.max_objects
            ));
        }
        if over_watches > 0 {
            unwatched.push(format!(
                "{over_watches} object(s): the plugin already holds its limit of {} watches, one per cluster, kind and namespace (limits.drift_max_watches)",
                self.settings.max_watches
            ));
        }
        if !too_big.is_empty() {
            unwatched.push(format!("{}: more than {MAX_FIELDS} fields set", too_big.join(", ")));
        }
        if !refused.is_empty() {
            unwatched.push(format!(
                "{}: the plugin's grant does not let it patch there, so the host may not watch there",
                refused.join(", ")
            ));
        }
        if !unwatched.is_empty() {
            self.events.publish(Event::warn(
                id,
                format!(
                    "drift of operation \"{}\" is not watched for everything it applied: {}",
                    op.operation,
                    unwatched.join("; ")
                ),
                "",
                NOT_WATCHED,
                "drift detection watches a bounded number of objects per plugin, and only where its grant allows",
                "raise limits.drift_max_objects or limits.drift_max_watches, or undo operations that need no watching",
            ));
        }
    }

    /// Stops every watch (at shutdown).
    pub fn stop(&self) {
        let mut st = self.state.lock().unwrap();
        for (_, w) in st.watches.drain() {
            w.task.abort();
        }
        st.objects = 0;
        st.operations.clear();
    }

    /// One watch event about `key`'s objects; `listed` collects the names of a re-list.
    fn on_change(&self, key: &WatchKey, change: Change, listed: &mut HashSet<String>) {
        let mut found: Vec<(Arc<OpKey>, ObjectRef, Finding)> = Vec::new();
        let manager = self.settings.field_manager.as_str();
        let reference = |name: &str| ObjectRef {
            api_version: key.api_version.clone(),
            kind: key.kind.clone(),
            namespace: key.namespace.clone(),
            name: name.to_string(),
        };
        let cluster;
        {
            let mut st = self.state.lock().unwrap();
            let Some(w) = st.watches.get_mut(key) else { return };
            cluster = w.cluster.clone();
            match change {
                Change::Relisting => listed.clear(),
                Change::Listed(o) | Change::Applied(o) => {
                    let name = o.metadata.name.clone().unwrap_or_default();
                    listed.insert(name.clone());
                    if let Some(t) = w.objects.get_mut(&name) {
                        if let Some(drifted) = t.seen.as_ref().and_then(|s| fields::compare(s, &o, manager)) {
                            found.push((t.operation.clone(), reference(&name), Finding::Drifted(drifted)));
                        }
                        t.seen = Some(Snapshot::of(&o, manager));
                    }
                }
                Change::Deleted(o) => {
                    let name = o.metadata.name.clone().unwrap_or_default();
                    if let Some(t) = w.objects.get_mut(&name)
                        && t.seen.take().is_some()
                    {
                        found.push((t.operation.clone(), reference(&name), Finding::Deleted));
                    }
                }
                Change::ListDone => {
                    // Deleted while the watch was down.
                    for (name, t) in w.objects.iter_mut() {
                        if !listed.contains(name) && t.seen.take().is_some() {
                            found.push((t.operation.clone(), reference(name), Finding::Deleted));
                        }
                    }
                }
                Change::Interrupted(why) => {
                    tracing::info!(
                        plugin = %self.settings.plugin,
                        "drift: the watch of {} in {} was interrupted ({why}); resuming",
                        key.kind,
                        key.namespace.as_deref().unwrap_or("the cluster")
                    );
                }
            }
        }
        for (op, target, finding) in found {
            self.report(&cluster, &op, &target, finding);
        }
    }

    fn report(&self, cluster: &Cluster, op: &Arc<OpKey>, target: &ObjectRef, finding: Finding) {
        let (operation_id, reconciles) = {
            let st = self.state.lock().unwrap();
            match st.operations.get(op) {
                Some(o) => (o.operation_id.clone(), o.reconcile.is_some()),
                None => return,
            }
        };
        let place = format!("cluster \"{}\" ({})", cluster.context, cluster.server);
        let remedy = if reconciles {
            "nothing: drift.reconcile re-applies the operation's plan; make the change through Meshery to keep it"
                .to_string()
        } else {
            format!(
                "run operation \"{}\" again to restore it, or make the change through Meshery (drift.reconcile: true re-applies it)",
                op.operation
            )
        };
        let event = match finding {
            Finding::Drifted(d) => Event::warn(
                &operation_id,
                format!(
                    "drift: {target} was changed by {}: {} (set by operation \"{}\")",
                    d.managers.join(", "),
                    d.what(),
                    op.operation
                ),
                format!(
                    "{place}\nchanged by: {}\nfields: {}\nfield manager of the plugin: {}",
                    d.managers.join(", "),
                    d.what(),
                    self.settings.field_manager
                ),
                DRIFTED,
                format!(
                    "{} changed fields the plugin had set (kubectl, a controller or another tool)",
                    d.managers.join(", ")
                ),
                remedy,
            ),
            Finding::Deleted => Event::warn(
                &operation_id,
                format!(
                    "drift: {target} was deleted (applied by operation \"{}\")",
                    op.operation
                ),
                place,
                DELETED,
                "someone other than the plugin deleted an object the operation applied",
                remedy,
            ),
        };
        self.events.publish(event);
        self.schedule(op);
    }

    /// Re-applies the operation's plan soon, unless one is running (it runs again after) or the
    /// operation has been re-applied [`RECONCILE_BURST`] times within [`RECONCILE_WINDOW`].
    fn schedule(&self, op: &Arc<OpKey>) {
        let mut st = self.state.lock().unwrap();
        let Some(o) = st.operations.get_mut(op) else { return };
        let operation_id = o.operation_id.clone();
        let Some(r) = o.reconcile.as_mut() else { return };
        if r.running {
            r.pending = true;
            return;
        }
        if r.may_run() {
            r.running = true;
            r.recent.push_back(Instant::now());
            tokio::spawn(reconcile(self.me.clone(), op.clone()));
            return;
        }
        let tell = !r.told_paused;
        r.told_paused = true;
        drop(st);
        if tell {
            self.paused(op, &operation_id);
        }
    }

    fn paused(&self, op: &OpKey, operation_id: &str) {
        self.events.publish(Event::warn(
            operation_id,
            format!(
                "drift: operation \"{}\" was re-applied {RECONCILE_BURST} times within {} s and its objects drifted again; \
                 not re-applying it again for now",
                op.operation,
                RECONCILE_WINDOW.as_secs()
            ),
            "",
            RECONCILE_PAUSED,
            "another tool or controller keeps changing what the plugin sets (the drift WARNs name it), and the two would overwrite each other for ever",
            format!(
                "stop the other tool from managing these fields, or leave them out of the operation; re-applying resumes after {} s, or run the operation again",
                RECONCILE_WINDOW.as_secs()
            ),
        ));
    }

    /// Runs the kept plan of `op` once: the grant check, then the cluster write path.
    async fn reapply(&self, op: &OpKey, plan: &Plan, call: &Call, cluster: &Arc<Cluster>) {
        let id = call.ctx.operation_id.as_str();
        let mut plan = plan.clone();
        let deadline = Instant::now() + self.settings.operation_timeout;
        match tokio::time::timeout_at(deadline, call.check_plan(cluster, &plan)).await {
            Ok(Ok(unresolved)) => plan.unresolved = unresolved,
            Ok(Err(e)) => {
                self.events.publish(Event::error(
                    id,
                    format!("drift: operation \"{}\" was not re-applied: {e}", op.operation),
                    e.details(),
                    e.code(),
                    e.probable_cause(),
                    e.suggested_remediation(),
                ));
                return;
            }
            Err(_) => {
                self.events.publish(Event::error(
                    id,
                    format!(
                        "drift: operation \"{}\" was not re-applied: its grant check ran past the operation's time limit ({} s)",
                        op.operation,
                        self.settings.operation_timeout.as_secs()
                    ),
                    format!("cluster \"{}\" ({})", cluster.context, cluster.server),
                    RECONCILE_FAILED,
                    "the API server answered the checks' reads too slowly",
                    "check the API server's health, then run the operation again",
                ));
                return;
            }
        }
        let written = WrittenProgress {
            written: Written::default(),
            manager: &self.settings.field_manager,
        };
        let options = wasmesh_cluster::Options {
            field_manager: self.settings.field_manager.clone(),
            deadline,
            limit_seconds: self.settings.operation_timeout.as_secs(),
        };
        let execution = cluster
            .execute(&plan, &call.request_namespace, &options, &written)
            .await;
        // What was re-applied is what the plugin owns now.
        {
            let mut st = self.state.lock().unwrap();
            for (target, snapshot) in written.written.applied.into_inner().unwrap() {
                let key = WatchKey {
                    cluster: cluster.id.clone(),
                    api_version: target.api_version,
                    kind: target.kind,
                    namespace: target.namespace,
                };
                if let Some(t) = st.watches.get_mut(&key).and_then(|w| w.objects.get_mut(&target.name)) {
                    t.seen = Some(snapshot);
                }
            }
        }
        match execution.failed {
            None => self.events.publish(Event::info(
                id,
                format!(
                    "drift: re-applied operation \"{}\" to undo the drift ({} steps)",
                    op.operation,
                    execution.reports.len()
                ),
                format!(
                    "cluster \"{}\" ({})\n{}",
                    cluster.context,
                    cluster.server,
                    execution
                        .reports
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            )),
            Some((_, stage, failures)) => {
                let (target, e) = &failures[0];
                self.events.publish(Event::error(
                    id,
                    format!(
                        "drift: re-applying operation \"{}\" failed at {target} (stage \"{stage}\"): {e}",
                        op.operation
                    ),
                    format!("cluster \"{}\" ({})", cluster.context, cluster.server),
                    RECONCILE_FAILED,
                    e.probable_cause(),
                    e.suggested_remediation(),
                ));
            }
        }
    }
}

impl Reconcile {
    fn may_run(&mut self) -> bool {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= RECONCILE_WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() < RECONCILE_BURST {
            self.told_paused = false;
            true
        } else {
            false
        }
    }
}

impl State {
    /// Ends the watches with nothing left to watch, recounts the objects, and forgets
    /// operations none of whose objects are watched.
    fn prune(&mut self) {
        self.watches.retain(|_, w| {
            if w.objects.is_empty() {
                w.task.abort();
            }
            !w.objects.is_empty()
        });
        self.objects = self.watches.values().map(|w| w.objects.len()).sum();
        let live: HashSet<Arc<OpKey>> = self
            .watches
            .values()
            .flat_map(|w| w.objects.values().map(|t| t.operation.clone()))
            .collect();
        self.operations.retain(|k, _| live.contains(k));
    }
}

/// Collects what a re-apply wrote.
struct WrittenProgress<'a> {
    written: Written,
    manager: &'a str,
}

impl wasmesh_cluster::Progress for WrittenProgress<'_> {
    fn applied(&self, target: &ObjectRef, object: &DynamicObject) {
        self.written.record(target, object, self.manager);
    }
}

/// One watch's task: every change goes to [`Drift::on_change`] until the watch is stopped or
/// the plugin's drift state is gone.
async fn watch(drift: Weak<Drift>, key: WatchKey, stream: impl futures::Stream<Item = Change> + Send + 'static) {
    let mut stream = std::pin::pin!(stream);
    let mut listed = HashSet::new();
    while let Some(change) = stream.next().await {
        let Some(d) = drift.upgrade() else { return };
        d.on_change(&key, change, &mut listed);
    }
}

/// Re-applies `op`'s plan, again while more drift came in meanwhile and the bound allows.
async fn reconcile(drift: Weak<Drift>, op: Arc<OpKey>) {
    tokio::time::sleep(RECONCILE_COALESCE).await;
    loop {
        let Some(d) = drift.upgrade() else { return };
        let Some((plan, call, cluster)) = d.next_reapply(&op) else {
            return;
        };
        d.reapply(&op, &plan, &call, &cluster).await;
        if !d.again(&op) {
            return;
        }
        tokio::time::sleep(RECONCILE_COALESCE).await;
    }
}

impl Drift {
    /// What the next re-apply of `op` needs; drift reported from now on asks for another.
    fn next_reapply(&self, op: &OpKey) -> Option<(Arc<Plan>, Call, Arc<Cluster>)> {
        let mut st = self.state.lock().unwrap();
        let r = st.operations.get_mut(op)?.reconcile.as_mut()?;
        r.pending = false;
        Some((r.plan.clone(), r.call.clone(), r.cluster.clone()))
    }

    /// After a re-apply: whether to run another (drift came in meanwhile and the bound allows);
    /// says so when the bound stops it.
    fn again(&self, op: &OpKey) -> bool {
        let (operation_id, tell) = {
            let mut st = self.state.lock().unwrap();
            let Some(o) = st.operations.get_mut(op) else {
                return false;
            };
            let operation_id = o.operation_id.clone();
            let Some(r) = o.reconcile.as_mut() else { return false };
            if !r.pending {
                r.running = false;
                return false;
            }
            if r.may_run() {
                r.recent.push_back(Instant::now());
                return true;
            }
            r.running = false;
            r.pending = false;
            let tell = !r.told_paused;
            r.told_paused = true;
            (operation_id, tell)
        };
        if tell {
            self.paused(op, &operation_id);
        }
        false
    }
}
