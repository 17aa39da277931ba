//! Test support: start the host as a Meshery server would find it (gRPC on real sockets), talk
//! to it with an independent client, and watch its events.

pub mod certs;
pub mod cluster_objects;
pub mod meshery;
pub mod meshery_server;
pub mod process;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meshery::{ApplyRuleRequest, Client, EventsResponse, Generation};
use tokio::sync::Notify;
use tokio_stream::StreamExt;
use wasmesh::config::{Config, Limits, PluginConfig};

pub use wasmesh_test_apiserver::{TestCluster, TestNamespace};

/// The hostile test plugin's component file.
pub const HOSTILE_WASM: &str = env!("WASMESH_TEST_HOSTILE");
/// A plugin whose describe traps.
pub const BROKEN_DESCRIBE_WASM: &str = env!("WASMESH_TEST_BROKEN_DESCRIBE");
/// A plugin whose answers alias its own memory (lift.rs).
pub const ALIASED_WASM: &str = env!("WASMESH_TEST_ALIASED");

/// The Python translator's component (plugins/python), built by this crate's build script with
/// componentize-py. Panics with the build's error (the install command when the toolchain is
/// missing): its tests fail rather than skip.
pub fn python_wasm() -> PathBuf {
    let wasm = PathBuf::from(env!("WASMESH_TEST_PYTHON"));
    if !wasm.exists() {
        let error = std::fs::read_to_string(wasm.with_extension("error.txt"))
            .unwrap_or_else(|e| format!("{} is missing and so is its build's error ({e})", wasm.display()));
        panic!("the Python translator was not built:\n{error}");
    }
    wasm
}

/// How long a test waits for an event before it gives up and shows what it saw. A liveness
/// bound, not a performance assertion: generous for a loaded 2-core machine.
pub const EVENT_WAIT: Duration = Duration::from_secs(60);

pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("WASMESH_TEST_CACHE"))
}

/// Built-in Istio and Linkerd plus the hostile plugin, each on a free loopback port, with the
/// product's call timeout: a Linkerd install reads the cluster and makes keys inside the call,
/// which takes seconds on a busy machine against a real API server. Tests of runaway plugins
/// shorten it on their own host ([`RUNAWAY_CALL_TIMEOUT_MS`]).
/// The call timeout of hosts that run plugins meant to be stopped.
pub const RUNAWAY_CALL_TIMEOUT_MS: u64 = 2_000;

pub fn test_config() -> Config {
    let mut config = serving(&["istio", "linkerd"]);
    config.plugins.push(plugin("hostile", None, Some(HOSTILE_WASM)));
    config
}

/// A plugin on a free loopback port, built in (`builtin`) or from a file (`path`).
pub fn plugin(name: &str, builtin: Option<&str>, path: Option<&str>) -> PluginConfig {
    PluginConfig {
        builtin: builtin.map(Into::into),
        ..PluginConfig::file(name, path.map(PathBuf::from), 0)
    }
}

/// The test configuration serving these built-in plugins only, each named as it is built in:
/// a test of one mesh's translator starts a host of its own with `serving(&["kuma"])`.
pub fn serving(builtins: &[&str]) -> Config {
    Config {
        listen: "127.0.0.1".into(),
        cache_dir: Some(cache_dir()),
        limits: Limits {
            max_plan_bytes: 8 << 20,
            ..Limits::default()
        },
        plugins: builtins.iter().map(|b| plugin(b, Some(b), None)).collect(),
        ..Config::default()
    }
}

/// Everything the hosts of this test process logged at WARN and above, as the `wasmesh` binary
/// writes it (through [`wasmesh::logging::OneLine`]).
static HOST_LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct HostLog;

impl std::io::Write for HostLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        HOST_LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The host log so far (see [`HOST_LOG`]); tests look for forged lines in it.
pub fn host_log() -> String {
    String::from_utf8_lossy(&HOST_LOG.lock().unwrap()).into_owned()
}

/// The test process's log: RUST_LOG=wasmesh=debug shows the host's log in a failing test, and
/// WARN and above is kept for [`host_log`].
pub fn init_log() {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let shown = tracing_subscriber::fmt::layer()
        .with_writer(wasmesh::logging::OneLine(tracing_subscriber::fmt::TestWriter::default()))
        .with_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()));
    let kept = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(wasmesh::logging::OneLine(|| HostLog))
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    let _ = tracing_subscriber::registry().with(shown).with(kept).try_init();
}

pub async fn start_host() -> wasmesh::RunningHost {
    init_log();
    wasmesh::start(test_config()).await.expect("host starts")
}

/// A host with the built-in plugins, a client of one of its adapters and that client's event
/// subscription: how every test of one mesh's operations starts.
pub async fn connect(adapter: &str, generation: Generation) -> (wasmesh::RunningHost, Client, Events) {
    let host = start_host().await;
    let c = client(&host, adapter, generation).await;
    let events = Events::subscribe(&c).await;
    (host, c, events)
}

pub async fn client(host: &wasmesh::RunningHost, adapter: &str, generation: Generation) -> Client {
    let listener = host
        .listener(adapter)
        .unwrap_or_else(|| panic!("no listener for {adapter}"));
    Client::connect(listener.addr, generation).await
}

/// An ApplyOperation request the way the Meshery server builds one.
pub fn request(op: &str, namespace: &str, body: &str, kubeconfigs: &[&str]) -> ApplyRuleRequest {
    ApplyRuleRequest {
        op_name: op.into(),
        namespace: namespace.into(),
        username: "test-user".into(),
        custom_body: body.into(),
        delete_op: false,
        operation_id: uuid::Uuid::new_v4().to_string(),
        kube_configs: kubeconfigs.iter().map(|s| s.to_string()).collect(),
        version: String::new(),
    }
}

/// An ApplyOperation without a body on the test's cluster: most mesh operations take none.
pub fn op(key: &str, namespace: &str, cluster: &TestCluster) -> ApplyRuleRequest {
    request(key, namespace, "", &[cluster.kubeconfig()])
}

/// The same operation, undone: Meshery sends the request again with delete_op set.
pub fn undo(key: &str, namespace: &str, cluster: &TestCluster) -> ApplyRuleRequest {
    op(key, namespace, cluster).deleting(true)
}

impl ApplyRuleRequest {
    /// The request with delete_op set as given (Meshery's "undo" of the operation).
    pub fn deleting(mut self, delete: bool) -> Self {
        self.delete_op = delete;
        self
    }

    /// The request for a given release of the mesh (Meshery's version field).
    pub fn with_version(mut self, version: &str) -> Self {
        self.version = version.into();
        self
    }
}

/// Sends the request and returns its final event (see [`Events::outcome`]): what nearly every
/// operation test does, once per step.
pub async fn run(client: &mut Client, events: &Events, req: ApplyRuleRequest) -> EventsResponse {
    client.apply(req.clone()).await.expect("ApplyOperation");
    events.outcome(&req.operation_id).await
}

/// [`run`] for a step that must succeed: its final event is an INFO (shown in full when not).
pub async fn run_ok(client: &mut Client, events: &Events, req: ApplyRuleRequest) -> EventsResponse {
    let done = run(client, events, req).await;
    assert_eq!(done.event_type, meshery::INFO, "{done:#?}");
    done
}

/// Everything one StreamEvents subscription has received.
pub struct Events {
    seen: Arc<Mutex<Vec<EventsResponse>>>,
    notify: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Events {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Events {
    pub async fn subscribe(client: &Client) -> Events {
        let mut stream = client.clone().stream_events().await.expect("StreamEvents");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let notify = Arc::new(Notify::new());
        let task = {
            let seen = seen.clone();
            let notify = notify.clone();
            tokio::spawn(async move {
                while let Some(Ok(e)) = stream.next().await {
                    seen.lock().unwrap().push(e);
                    notify.notify_waiters();
                }
            })
        };
        Events { seen, notify, task }
    }

    pub fn all(&self) -> Vec<EventsResponse> {
        self.seen.lock().unwrap().clone()
    }

    pub fn for_op(&self, operation_id: &str) -> Vec<EventsResponse> {
        self.all()
            .into_iter()
            .filter(|e| e.operation_id == operation_id)
            .collect()
    }

    /// The first event matching `pred`, waiting for it if needed.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&EventsResponse) -> bool) -> EventsResponse {
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        loop {
            let notified = self.notify.notified();
            if let Some(e) = self.all().into_iter().find(|e| pred(e)) {
                return e;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("no event {what} within {EVENT_WAIT:?}; saw: {:#?}", self.all());
            }
        }
    }

    /// The final event of an operation on one cluster: an INFO with the plan's summary, or an ERROR.
    pub async fn outcome(&self, operation_id: &str) -> EventsResponse {
        self.wait_for(&format!("ending operation {operation_id}"), |e| {
            e.operation_id == operation_id && (e.event_type == meshery::ERROR || e.details.starts_with("cluster \""))
        })
        .await
    }
}

/// One Meshery component declaration (a Provision design's element) of a `model` object: how
/// the design tests and the capability test describe a component, in one place so they all send
/// what Meshery sends.
pub fn declaration(
    model: &str,
    api_version: &str,
    kind: &str,
    name: &str,
    ns: &str,
    spec: serde_json::Value,
) -> String {
    serde_json::json!({
        "schemaVersion": "components.meshery.io/v1beta1",
        "displayName": name,
        "component": {"version": api_version, "kind": kind},
        "model": {"name": model},
        "configuration": {"metadata": {"name": name, "namespace": ns}, "spec": spec},
    })
    .to_string()
}

/// One OAM Component (a ProcessOAM design's element) of an object, as Meshery writes it: the
/// kind in `spec.type`, the object's fields in `spec.settings`.
pub fn oam_component(
    api_version: &str,
    kind: &str,
    name: &str,
    ns: &str,
    settings: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "kind": "Component",
        "metadata": {"name": name, "namespace": ns,
            "annotations": {"design.meshmodel.io.k8s.APIVersion": api_version, "design.meshmodel.io.k8s.Kind": kind}},
        "spec": {"type": kind, "settings": settings},
    })
}

/// The plan's summary line of a design's response (rejected components are listed before it).
pub fn design_summary(message: &str) -> &str {
    message
        .lines()
        .find(|l| l.starts_with("Design "))
        .unwrap_or_else(|| panic!("no summary line: {message}"))
}

/// Requests that changed something on the built-in API server since the log was cleared.
pub fn writes(cluster: &TestCluster) -> Vec<String> {
    match cluster.server() {
        Some(s) => s
            .requests()
            .into_iter()
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect(),
        None => Vec::new(),
    }
}

pub fn clear_log(cluster: &TestCluster) {
    if let Some(s) = cluster.server() {
        s.clear_requests();
    }
}

/// A ConfigMap's data, or None when absent.
pub async fn configmap(cluster: &TestCluster, namespace: &str, name: &str) -> Option<serde_json::Value> {
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(cluster.client().await, namespace);
    api.get_opt(name)
        .await
        .expect("get configmap")
        .map(|cm| serde_json::to_value(cm.data.unwrap_or_default()).unwrap())
}

pub async fn namespace(cluster: &TestCluster, name: &str) -> Option<k8s_openapi::api::core::v1::Namespace> {
    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(cluster.client().await);
    api.get_opt(name).await.expect("get namespace")
}

/// The namespace is gone, or going: a real cluster takes a while to finalize a namespace, so an
/// uninstall can only be expected to have started its deletion.
pub async fn namespace_gone(cluster: &TestCluster, name: &str) -> bool {
    namespace(cluster, name)
        .await
        .is_none_or(|ns| ns.metadata.deletion_timestamp.is_some())
}

/// The API resource of an object's apiVersion and kind, from discovery.
pub async fn resource_of(client: &kube::Client, obj: &serde_json::Value) -> kube::api::ApiResource {
    let api_version = obj["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = kube::core::GroupVersionKind::gvk(group, version, obj["kind"].as_str().expect("kind"));
    kube::discovery::pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("discover {gvk:?}: {e}"))
        .0
}

/// Server-side apply of every object, in the given order, as an administrator would.
pub async fn apply_objects(client: &kube::Client, objects: &[serde_json::Value]) {
    use kube::api::{Api, DynamicObject, Patch, PatchParams};
    let params = PatchParams::apply("e2e-admin").force();
    for obj in objects {
        let ar = resource_of(client, obj).await;
        let name = obj["metadata"]["name"].as_str().expect("name");
        let api: Api<DynamicObject> = match obj["metadata"]["namespace"].as_str() {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        api.patch(name, &params, &Patch::Apply(obj))
            .await
            .unwrap_or_else(|e| panic!("apply {} {name}: {e}", obj["kind"]));
    }
}

/// Cluster-scoped objects a test made (or might have made); deleted when dropped, also when the
/// test fails.
pub struct ClusterScoped {
    kubeconfig: String,
    pub objects: Vec<(kube::api::ApiResource, String)>,
}

impl ClusterScoped {
    pub fn new(cluster: &TestCluster) -> Self {
        Self {
            kubeconfig: cluster.kubeconfig().to_string(),
            objects: Vec::new(),
        }
    }

    /// Records the cluster-scoped objects among `objects` (Namespaces are left to their guards).
    pub async fn track(&mut self, client: &kube::Client, objects: &[serde_json::Value]) {
        for o in objects
            .iter()
            .filter(|o| o["metadata"]["namespace"].is_null() && o["kind"] != "Namespace")
        {
            let ar = resource_of(client, o).await;
            self.objects
                .push((ar, o["metadata"]["name"].as_str().expect("name").to_string()));
        }
    }
}

impl Drop for ClusterScoped {
    fn drop(&mut self) {
        use kube::api::{Api, DeleteParams, DynamicObject};
        let objects = std::mem::take(&mut self.objects);
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), move |client| async move {
            for (ar, name) in &objects {
                match Api::<DynamicObject>::all_with(client.clone(), ar)
                    .delete(name, &DeleteParams::background())
                    .await
                {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => eprintln!("warning: could not delete {} {name}: {e}", ar.kind),
                }
            }
            // CRDs go only once the cluster has removed their objects: wait, so the next test
            // does not apply a CRD that then disappears.
            for (ar, name) in &objects {
                await_gone(&Api::<DynamicObject>::all_with(client.clone(), ar), name).await;
            }
        });
    }
}

/// A ConfigMap a test holds with finalizers (to keep its namespace Terminating); dropping the
/// guard removes them, also when the test fails, so the namespace can go.
pub struct Finalizers {
    kubeconfig: String,
    namespace: String,
    name: String,
}

impl Finalizers {
    pub fn new(cluster: &TestCluster, namespace: &str, name: &str) -> Self {
        Self {
            kubeconfig: cluster.kubeconfig().to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl Drop for Finalizers {
    fn drop(&mut self) {
        use kube::api::{Api, Patch, PatchParams};
        let (ns, name) = (self.namespace.clone(), self.name.clone());
        wasmesh_test_apiserver::cleanup(self.kubeconfig.clone(), move |client| async move {
            let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, &ns);
            let patch = serde_json::json!({"metadata": {"finalizers": null}});
            match api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => eprintln!("warning: could not release the finalizers of {ns}/{name}: {e}"),
            }
        });
    }
}

/// Waits (at most two minutes, then warns) until the object is gone: a real cluster finalizes
/// namespaces and CRDs for a while after their deletion.
pub async fn await_gone<K>(api: &kube::Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(120) {
        match api.get_opt(name).await {
            Ok(None) => return,
            Ok(Some(_)) => tokio::time::sleep(Duration::from_millis(250)).await,
            Err(e) => {
                eprintln!("warning: could not read {name}: {e}");
                return;
            }
        }
    }
    eprintln!("warning: {name} is still being deleted after 120 s");
}

/// One lock per mesh, made the first time a test asks for it.
type Locks = Mutex<std::collections::BTreeMap<String, Arc<tokio::sync::Mutex<()>>>>;
static CONTROL_PLANES: Locks = Mutex::new(std::collections::BTreeMap::new());

/// Taken by every test that installs (or needs to own) a mesh's control plane, whatever file it
/// is in. On a real cluster (WASMESH_TEST_KUBECONFIG) such tests share cluster-scoped names
/// (the control-plane namespace, CRDs, ClusterRoles, webhooks), so they take turns. Against the
/// built-in API server each test has a cluster of its own: no lock, they run in parallel.
/// Any mesh has one: a new translator's tests need no change here.
pub async fn control_plane_lock(mesh: &str) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    std::env::var_os(wasmesh_test_apiserver::KUBECONFIG_ENV)?;
    let lock = CONTROL_PLANES
        .lock()
        .unwrap()
        .entry(mesh.to_string())
        .or_default()
        .clone();
    Some(lock.lock_owned().await)
}
