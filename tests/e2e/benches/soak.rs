//! Soak: the host process under a bounded, mixed load with faults, as Meshery and its users would
//! keep it busy for a long time. Reports throughput, latency percentiles, the host's resident
//! memory and open file descriptors over the run, events published (the host's own counter, read
//! from /metrics) against events delivered to every subscriber, and every operation's outcome.
//! Prints PASS or FAIL against each stated bound; never asserts (a missed bound is reported).
//!
//!     cargo build --release -p wasmesh && cargo bench -p wasmesh-e2e --bench soak
//!
//! The load, for the whole run:
//! - 64 operations in flight (WASMESH_SOAK_IN_FLIGHT workers, each sending one after another) on
//!   both built-in plugins, half each, over both generations of Meshery's interface:
//!   - 4 workers per mesh each own an API server and cycle its control plane: install, the
//!     health check (`linkerd-check`, `istio-vet`), an add-on (`viz-addon`, `prometheus-addon`),
//!     the add-on's removal, uninstall;
//!   - the others share one API server, each in a namespace of its own, and cycle: `custom`
//!     (a ConfigMap, a Secret and a Service), the namespace operation (`annotate-namespace`,
//!     `label-namespace`), a design of three components (Provision), `custom` again (an
//!     update), the namespace operation undone, the design deleted, `custom` deleted.
//! - 100 StreamEvents subscribers (WASMESH_SOAK_SUBSCRIBERS), each on its own connection, half
//!   on each adapter, alternating `meshes.MeshService` and `meshes.AdapterService`.
//! - About one API server request in 200 (WASMESH_SOAK_FAULT_EVERY) meets a fault: each server
//!   always has one armed, for the 200th request after it was armed, and the kinds take turns:
//!   503 and 429 with Retry-After, 500, 504, a dropped connection, a 500 ms delay, or a
//!   server-side apply conflict with another field manager (which fails its operation, as it
//!   should).
//!
//! The API servers are always the built-in ones (the faults need them), whatever
//! WASMESH_TEST_KUBECONFIG says. Needs `target/release/wasmesh` next to this bench's folder
//! (`target/debug/wasmesh` for a dev-profile build of the bench).
//!
//! Environment:
//! - WASMESH_SOAK_SECONDS (180): how long operations are started; the run then drains
//! - WASMESH_SOAK_WARMUP_SECONDS (a sixth of the run, at most 30): memory and descriptors grow
//!   to their working level here; growth is measured from its end
//! - WASMESH_SOAK_IN_FLIGHT (64), WASMESH_SOAK_SUBSCRIBERS (100), WASMESH_SOAK_FAULT_EVERY
//!   (200 requests; 0 turns the faults off)
//! - WASMESH_SOAK_RSS_GROWTH_MIB (16): the bound on resident memory growth after the warm-up
//! - WASMESH_SOAK_FD_GROWTH (32): the bound on open descriptors' growth after the warm-up
//! - WASMESH_SOAK_JSON: where the JSON summary goes (default `target/soak-summary.json`)

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};
use tokio_stream::StreamExt;
use wasmesh_e2e::meshery::{ApplyRuleRequest, Client, EventsResponse, Generation, INFO, ProvisionRequest};
use wasmesh_e2e::process::{HostProcess, binary, metric_by, metric_sum, open_fds, rss_kib, workspace};
use wasmesh_e2e::request;
use wasmesh_test_apiserver::{ApiServer, Fault};

/// Workers per mesh that cycle a control plane, each on an API server of its own.
const LANES_PER_MESH: usize = 4;
/// How long one operation may take before it counts as stuck (no final event).
const OP_WAIT: Duration = Duration::from_secs(120);
/// How long the end of the run waits for the host to go idle and the subscribers to catch up.
const DRAIN_WAIT: Duration = Duration::from_secs(60);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

fn pass(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Mesh {
    Linkerd,
    Istio,
}

impl Mesh {
    fn of(i: usize) -> Mesh {
        if i.is_multiple_of(2) {
            Mesh::Linkerd
        } else {
            Mesh::Istio
        }
    }
    fn plugin(self) -> &'static str {
        match self {
            Mesh::Linkerd => "linkerd",
            Mesh::Istio => "istio",
        }
    }
    fn adapter(self) -> &'static str {
        match self {
            Mesh::Linkerd => "LINKERD",
            Mesh::Istio => "ISTIO",
        }
    }
    fn install_body(self) -> &'static str {
        match self {
            Mesh::Linkerd => "waitSeconds: 300",
            Mesh::Istio => "profile: default\nwaitSeconds: 300",
        }
    }
    fn check(self) -> &'static str {
        match self {
            Mesh::Linkerd => "linkerd-check",
            Mesh::Istio => "istio-vet",
        }
    }
    fn addon(self) -> &'static str {
        match self {
            Mesh::Linkerd => "viz-addon",
            Mesh::Istio => "prometheus-addon",
        }
    }
    fn namespace_op(self) -> &'static str {
        match self {
            Mesh::Linkerd => "annotate-namespace",
            Mesh::Istio => "label-namespace",
        }
    }
}

/// Meshery's two interfaces, in turn by pairs of workers (so both meshes see both).
fn generation(i: usize) -> Generation {
    if (i / 2).is_multiple_of(2) {
        Generation::Adapter
    } else {
        Generation::Mesh
    }
}

// ---------------------------------------------------------------------------------------------
// Outcomes: one StreamEvents subscription per adapter routes each operation's final event to the
// worker that sent it, and notes final events nobody waited for (late, or a second one).

/// The event that ends an operation on its (one) cluster, INFO or ERROR, names the cluster first;
/// ERROR events before it are findings (linkerd-check, istio-vet). A refusal has no such event,
/// but it is the RPC's answer.
fn is_final(e: &EventsResponse) -> bool {
    e.details.starts_with("cluster \"")
}

#[derive(Default)]
struct RouterState {
    waiting: HashMap<String, oneshot::Sender<EventsResponse>>,
    /// Operations that had their final event: what it said.
    finished: HashMap<String, String>,
    /// Operations given up on (refused, or no final event in time).
    forgotten: HashSet<String>,
    /// Final events of operations already finished (a second final event), a few in full.
    repeated: u64,
    repeated_examples: Vec<String>,
    /// Final events of operations given up on.
    late: u64,
    /// Final events of operations this client did not send: designs, whose ids the host makes.
    unclaimed: u64,
}

#[derive(Clone)]
struct Router {
    state: Arc<Mutex<RouterState>>,
    events: Arc<AtomicU64>,
}

impl Router {
    async fn subscribe(client: &Client) -> Router {
        let mut stream = client.clone().stream_events().await.expect("StreamEvents");
        let router = Router {
            state: Arc::default(),
            events: Arc::default(),
        };
        let r = router.clone();
        tokio::spawn(async move {
            while let Some(Ok(e)) = stream.next().await {
                r.events.fetch_add(1, Ordering::Relaxed);
                if !is_final(&e) {
                    continue;
                }
                let mut s = r.state.lock().unwrap();
                let said = |e: &EventsResponse| format!("[{}] {} | {}", e.event_type, e.summary, e.details);
                if let Some(tx) = s.waiting.remove(&e.operation_id) {
                    s.finished.insert(e.operation_id.clone(), said(&e));
                    let _ = tx.send(e);
                } else if let Some(first) = s.finished.get(&e.operation_id) {
                    let example = format!("operation {}: first {first}; then {}", e.operation_id, said(&e));
                    s.repeated += 1;
                    if s.repeated_examples.len() < 5 {
                        s.repeated_examples.push(example);
                    }
                } else if s.forgotten.contains(&e.operation_id) {
                    s.late += 1;
                } else {
                    s.unclaimed += 1;
                }
            }
        });
        router
    }

    /// Registered before the request is sent, so its final event cannot pass unseen.
    fn expect(&self, operation_id: &str) -> oneshot::Receiver<EventsResponse> {
        let (tx, rx) = oneshot::channel();
        self.state.lock().unwrap().waiting.insert(operation_id.to_string(), tx);
        rx
    }

    fn forget(&self, operation_id: &str) {
        let mut s = self.state.lock().unwrap();
        if s.waiting.remove(operation_id).is_some() {
            s.forgotten.insert(operation_id.to_string());
        }
    }
}

/// How one operation ended, as the client saw it.
#[derive(Clone, Debug)]
enum Outcome {
    /// A final INFO event (or a Provision answer).
    Succeeded,
    /// A final ERROR event (or a failed Provision): its error code and what it said.
    Failed(String, String),
    /// The RPC itself was refused: its gRPC status code and message.
    Refused(String, String),
    /// No final event (or answer) within OP_WAIT.
    Stuck,
}

impl Outcome {
    fn label(&self) -> String {
        match self {
            Outcome::Succeeded => "succeeded".into(),
            Outcome::Failed(code, _) => format!("failed {code}"),
            Outcome::Refused(code, _) => format!("refused (gRPC {code})"),
            Outcome::Stuck => "NO FINAL EVENT".into(),
        }
    }
    /// The host's `outcome` label of wasmesh_operations_total for this outcome.
    fn host_label(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "success",
            Outcome::Failed(..) => "failure",
            Outcome::Refused(..) => "refused",
            Outcome::Stuck => "none",
        }
    }
}

async fn apply_op(c: &mut Client, router: &Router, req: ApplyRuleRequest) -> Outcome {
    let rx = router.expect(&req.operation_id);
    match tokio::time::timeout(OP_WAIT, c.apply(req.clone())).await {
        Ok(Ok(_)) => {}
        Ok(Err(s)) => {
            router.forget(&req.operation_id);
            return Outcome::Refused(format!("{:?}", s.code()), s.message().to_string());
        }
        Err(_) => {
            router.forget(&req.operation_id);
            return Outcome::Stuck;
        }
    }
    match tokio::time::timeout(OP_WAIT, rx).await {
        Ok(Ok(e)) if e.event_type == INFO => Outcome::Succeeded,
        Ok(Ok(e)) => Outcome::Failed(
            if e.error_code.is_empty() {
                "(no code)".into()
            } else {
                e.error_code
            },
            format!("{} | {}", e.summary, e.details.lines().last().unwrap_or("")),
        ),
        Ok(Err(_)) | Err(_) => {
            router.forget(&req.operation_id);
            Outcome::Stuck
        }
    }
}

/// The first `WASMESH-...-NNNN` code in a text.
fn first_code(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| w.starts_with("WASMESH-") && w.rsplit('-').next().is_some_and(|n| n.parse::<u32>().is_ok()))
        .map(str::to_string)
}

async fn design_op(c: &mut Client, req: ProvisionRequest) -> Outcome {
    match tokio::time::timeout(OP_WAIT, c.provision(req)).await {
        Ok(Ok(_)) => Outcome::Succeeded,
        // A design that failed part-way: the status carries its lines.
        Ok(Err(s)) if s.code() == tonic::Code::FailedPrecondition => Outcome::Failed(
            first_code(s.message()).unwrap_or_else(|| "(no code)".into()),
            s.message().lines().rev().take(3).collect::<Vec<_>>().join(" | "),
        ),
        Ok(Err(s)) => Outcome::Refused(format!("{:?}", s.code()), s.message().to_string()),
        Err(_) => Outcome::Stuck,
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger: every operation sent and how it ended, with its latency, by plugin and kind.

struct Kind {
    sent: u64,
    outcomes: BTreeMap<String, u64>,
    latency_us: Histogram<u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

#[derive(Default)]
struct Ledger {
    kinds: BTreeMap<(&'static str, &'static str), Kind>,
    /// By plugin and the host's outcome label, to compare with wasmesh_operations_total.
    by_host_outcome: BTreeMap<(&'static str, &'static str), u64>,
    /// A few failures in full, to show what failed.
    examples: BTreeMap<String, String>,
}

impl Ledger {
    fn sent(&mut self, plugin: &'static str, kind: &'static str) {
        self.kinds
            .entry((plugin, kind))
            .or_insert_with(|| Kind {
                sent: 0,
                outcomes: BTreeMap::new(),
                latency_us: histogram(),
            })
            .sent += 1;
    }

    fn ended(&mut self, plugin: &'static str, kind: &'static str, outcome: &Outcome, took: Duration, what: &str) {
        let k = self.kinds.get_mut(&(plugin, kind)).expect("sent first");
        *k.outcomes.entry(outcome.label()).or_default() += 1;
        k.latency_us
            .saturating_record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1));
        *self.by_host_outcome.entry((plugin, outcome.host_label())).or_default() += 1;
        let said = match outcome {
            Outcome::Succeeded => return,
            Outcome::Failed(_, said) | Outcome::Refused(_, said) => said.as_str(),
            _ => "",
        };
        self.examples
            .entry(format!("{plugin} {kind}: {}", outcome.label()))
            .or_insert_with(|| format!("{what}: {said}"));
    }
}

// ---------------------------------------------------------------------------------------------
// Workers.

struct Shared {
    ledger: Mutex<Ledger>,
    deadline: Instant,
}

/// One operation, recorded before it is sent and when it ends.
async fn record<F>(shared: &Shared, plugin: &'static str, kind: &'static str, what: String, op: F)
where
    F: std::future::Future<Output = Outcome>,
{
    shared.ledger.lock().unwrap().sent(plugin, kind);
    let t = Instant::now();
    let outcome = op.await;
    let took = t.elapsed();
    shared.ledger.lock().unwrap().ended(plugin, kind, &outcome, took, &what);
}

/// Cycles one mesh's control plane on its own API server until the deadline.
async fn lane_worker(shared: Arc<Shared>, mesh: Mesh, mut c: Client, router: Router, kubeconfig: String) {
    let plugin = mesh.plugin();
    let steps: [(&'static str, &str, bool, &str); 5] = [
        ("install", plugin, false, mesh.install_body()),
        ("check", mesh.check(), false, ""),
        ("add-on", mesh.addon(), false, ""),
        ("add-on removed", mesh.addon(), true, ""),
        ("uninstall", plugin, true, ""),
    ];
    'run: loop {
        for (kind, key, delete, body) in steps {
            if Instant::now() >= shared.deadline {
                break 'run;
            }
            let req = request(key, "default", body, &[&kubeconfig]).deleting(delete);
            let what = format!("{key} (delete {delete}) operation {}", req.operation_id);
            record(&shared, plugin, kind, what, apply_op(&mut c, &router, req)).await;
        }
    }
}

fn custom_body(ns: &str, i: u64) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: soak-cm, namespace: {ns}}}\ndata: {{i: \"{i}\"}}\n\
---\napiVersion: v1\nkind: Secret\nmetadata: {{name: soak-secret, namespace: {ns}}}\ntype: Opaque\ndata: {{token: c29haw==}}\n\
---\napiVersion: v1\nkind: Service\nmetadata: {{name: soak-svc, namespace: {ns}}}\n\
spec: {{selector: {{app: soak}}, ports: [{{name: http, port: 80, targetPort: 8080}}]}}\n"
    )
}

fn design(ns: &str, i: u64, delete: bool) -> ProvisionRequest {
    let component = |kind: &str, name: &str, extra: Value| {
        let mut configuration = json!({"metadata": {
            "name": name, "namespace": ns, "labels": {"app": "soak", "soak.wasmesh.io/run": i.to_string()}
        }});
        if let (Value::Object(c), Value::Object(x)) = (&mut configuration, extra) {
            c.extend(x);
        }
        json!({
            "schemaVersion": "components.meshery.io/v1beta1",
            "displayName": name,
            "component": {"version": "v1", "kind": kind},
            "model": {"name": "kubernetes"},
            "configuration": configuration,
        })
        .to_string()
    };
    ProvisionRequest {
        username: "soak".into(),
        delete_op: delete,
        declarations: vec![
            component("ConfigMap", "soak-design-cm", json!({"data": {"i": i.to_string()}})),
            component(
                "Service",
                "soak-design-svc",
                json!({"spec": {"selector": {"app": "soak"}, "ports": [{"port": 80}]}}),
            ),
            component("ServiceAccount", "soak-design-sa", json!({})),
        ],
        kube_configs: Vec::new(),
    }
}

/// Cycles custom bodies, the namespace operation and a design in its own namespace until the
/// deadline.
async fn namespace_worker(
    shared: Arc<Shared>,
    mesh: Mesh,
    mut c: Client,
    router: Router,
    kubeconfig: String,
    ns: String,
) {
    let plugin = mesh.plugin();
    let mut i = 0u64;
    'run: loop {
        for step in 0..7 {
            if Instant::now() >= shared.deadline {
                break 'run;
            }
            i += 1;
            let op = |key: &str, body: &str, delete: bool| request(key, &ns, body, &[&kubeconfig]).deleting(delete);
            let (kind, req) = match step {
                0 | 3 => ("custom", op("custom", &custom_body(&ns, i), false)),
                1 => ("namespace", op(mesh.namespace_op(), "", false)),
                4 => ("namespace undone", op(mesh.namespace_op(), "", true)),
                6 => ("custom deleted", op("custom", &custom_body(&ns, i), true)),
                _ => {
                    let mut d = design(&ns, i, step == 5);
                    d.kube_configs = vec![kubeconfig.clone()];
                    let kind = if step == 5 { "design deleted" } else { "design" };
                    let what = format!("{kind} in {ns}");
                    record(&shared, plugin, kind, what, design_op(&mut c, d)).await;
                    continue;
                }
            };
            let what = format!("{} in {ns}, operation {}", req.op_name, req.operation_id);
            record(&shared, plugin, kind, what, apply_op(&mut c, &router, req)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Faults: one at a time per API server, the next armed once the last has hit.

#[derive(Default)]
struct FaultTally {
    /// By kind: armed, hit.
    kinds: BTreeMap<&'static str, (u64, u64)>,
    /// Requests the servers answered (read from their logs, which are emptied as they go).
    requests: u64,
}

fn fault_kinds() -> Vec<(&'static str, Fault)> {
    let any = || Fault::on("*", "/**");
    vec![
        ("503 with Retry-After 1 s", any().status_retry_after(503, 1)),
        ("429 with Retry-After 1 s (APF)", any().throttle(1)),
        ("500", any().status(500)),
        ("dropped connection", any().drop_connection()),
        ("504", any().status(504)),
        ("delayed 500 ms", any().delay(Duration::from_millis(500))),
        (
            "apply conflict (another field manager)",
            Fault::on("PATCH", "/**").conflict("kubectl"),
        ),
    ]
}

/// Keeps one fault armed on every API server, each hitting the `every`th request after it was
/// armed: about one request in `every` meets a fault, however fast the host goes.
async fn inject_faults(servers: Arc<Vec<ApiServer>>, every: u32, tally: Arc<Mutex<FaultTally>>, stop: Arc<Notify>) {
    let kinds = fault_kinds();
    let mut armed: Vec<Option<(wasmesh_test_apiserver::FaultId, &'static str)>> = vec![None; servers.len()];
    let mut next_kind = 0usize;
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = stop.notified() => stopping = true,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        let mut t = tally.lock().unwrap();
        for (s, a) in servers.iter().zip(armed.iter_mut()) {
            // The logs are emptied as they are read, so they stay small over a long run.
            t.requests += s.requests().len() as u64;
            s.clear_requests();
            let ready = match *a {
                None => true,
                Some((id, kind)) if s.hits(id) > 0 => {
                    t.kinds.entry(kind).or_default().1 += 1;
                    true
                }
                Some(_) => false,
            };
            if stopping {
                s.clear_faults();
            } else if every > 0 && ready {
                s.clear_faults();
                let (kind, fault) = kinds[next_kind % kinds.len()].clone();
                next_kind += 1;
                *a = Some((s.inject(fault.nth(every)), kind));
                t.kinds.entry(kind).or_default().0 += 1;
            }
        }
        if stopping {
            break;
        }
    }
}

async fn scrape(host: &HostProcess) -> String {
    host.scrape()
        .await
        .expect("the host serves /metrics (metrics_addr is set)")
}

/// One sample of the host process.
#[derive(Clone, Copy, Debug)]
struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: usize,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let seconds = env_num("WASMESH_SOAK_SECONDS", 180).max(1);
    let warmup = env_num("WASMESH_SOAK_WARMUP_SECONDS", (seconds / 6).min(30));
    let in_flight = env_num("WASMESH_SOAK_IN_FLIGHT", 64).max(2 * LANES_PER_MESH as u64 + 2) as usize;
    let subscribers = env_num("WASMESH_SOAK_SUBSCRIBERS", 100) as usize;
    let fault_every = u32::try_from(env_num("WASMESH_SOAK_FAULT_EVERY", 200)).unwrap_or(u32::MAX);
    let rss_bound_mib = env_num("WASMESH_SOAK_RSS_GROWTH_MIB", 16);
    let fd_bound = env_num("WASMESH_SOAK_FD_GROWTH", 32) as usize;

    let Some(bin) = binary() else {
        println!("soak: skipped: build the binary first (cargo build --release -p wasmesh)");
        return;
    };
    println!(
        "soak: {seconds} s (warm-up {warmup} s), {in_flight} operations in flight, {subscribers} subscribers, \
         a fault in every {fault_every} API server requests; host {}",
        bin.display()
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());

    // The API servers: one shared by the namespace workers, one per control-plane lane.
    let lanes = 2 * LANES_PER_MESH;
    let servers: Arc<Vec<ApiServer>> = Arc::new((0..=lanes).map(|_| ApiServer::start()).collect());
    let shared_server = &servers[0];

    let work = std::env::temp_dir().join(format!("wasmesh-soak-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let (host, started) = HostProcess::start(&bin, &work, &work.join("cache"), "metrics_addr: 127.0.0.1:0\n");
    println!("host started in {started:?} (pid {})", host.pid());

    // Subscribers first, so every event of the run is theirs to count.
    let mut sub_counts: Vec<(Mesh, Arc<AtomicU64>)> = Vec::new();
    let ended_streams = Arc::new(AtomicUsize::new(0));
    let mut sub_tasks = Vec::new();
    for i in 0..subscribers {
        let mesh = Mesh::of(i);
        let g = generation(i);
        let mut c = Client::connect(host.listeners[mesh.adapter()], g).await;
        let mut stream = c.stream_events().await.expect("StreamEvents");
        let count = Arc::new(AtomicU64::new(0));
        sub_counts.push((mesh, count.clone()));
        let ended = ended_streams.clone();
        sub_tasks.push(tokio::spawn(async move {
            while let Some(Ok(_)) = stream.next().await {
                count.fetch_add(1, Ordering::Relaxed);
            }
            ended.fetch_add(1, Ordering::Relaxed);
        }));
    }
    // Meshery's own connection per adapter and generation, carrying the operations.
    let mut clients: HashMap<(Mesh, bool), Client> = HashMap::new();
    let mut routers: HashMap<Mesh, Router> = HashMap::new();
    for mesh in [Mesh::Linkerd, Mesh::Istio] {
        for g in [Generation::Adapter, Generation::Mesh] {
            clients.insert(
                (mesh, g == Generation::Adapter),
                Client::connect(host.listeners[mesh.adapter()], g).await,
            );
        }
        routers.insert(mesh, Router::subscribe(&clients[&(mesh, true)]).await);
    }

    // The namespace workers' namespaces.
    let workers = in_flight - lanes;
    let namespaces: Vec<String> = (0..workers).map(|w| format!("soak-{w}")).collect();
    {
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(shared_server.client().await);
        for ns in &namespaces {
            let obj = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
            api.create(&Default::default(), &obj).await.expect("create namespace");
        }
    }

    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = scrape(&host).await;
    let published_before: HashMap<Mesh, f64> = [Mesh::Linkerd, Mesh::Istio]
        .into_iter()
        .map(|m| {
            (
                m,
                metric_sum(&before, "wasmesh_events_published_total", &[("plugin", m.plugin())]),
            )
        })
        .collect();
    let first = Sample {
        at: Duration::ZERO,
        rss_kib: host.rss_kib().unwrap_or(0),
        fds: host.open_fds().unwrap_or(0),
    };
    println!(
        "start (idle, {subscribers} subscribers connected): RSS {:.1} MiB, {} open descriptors",
        mib(first.rss_kib),
        first.fds
    );

    // The run.
    let began = Instant::now();
    let shared = Arc::new(Shared {
        ledger: Mutex::default(),
        deadline: began + Duration::from_secs(seconds),
    });
    let tally = Arc::new(Mutex::new(FaultTally::default()));
    let stop_faults = Arc::new(Notify::new());
    let faults = tokio::spawn(inject_faults(
        servers.clone(),
        fault_every,
        tally.clone(),
        stop_faults.clone(),
    ));
    let samples = Arc::new(Mutex::new(vec![first]));
    let sampling = Arc::new(Notify::new());
    let sampler = {
        let samples = samples.clone();
        let stop = sampling.clone();
        let pid = host.pid();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.notified() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                let (rss_kib, fds) = (rss_kib(pid).unwrap_or(0), open_fds(pid).unwrap_or(0));
                samples.lock().unwrap().push(Sample {
                    at: began.elapsed(),
                    rss_kib,
                    fds,
                });
            }
        })
    };
    let mut tasks = Vec::new();
    for lane in 0..lanes {
        let mesh = Mesh::of(lane);
        let g = generation(lane);
        tasks.push(tokio::spawn(lane_worker(
            shared.clone(),
            mesh,
            clients[&(mesh, g == Generation::Adapter)].clone(),
            routers[&mesh].clone(),
            servers[lane + 1].kubeconfig().to_string(),
        )));
    }
    for (w, ns) in namespaces.iter().enumerate() {
        let mesh = Mesh::of(w);
        let g = generation(w);
        tasks.push(tokio::spawn(namespace_worker(
            shared.clone(),
            mesh,
            clients[&(mesh, g == Generation::Adapter)].clone(),
            routers[&mesh].clone(),
            shared_server.kubeconfig().to_string(),
            ns.clone(),
        )));
    }
    let mut panicked = 0;
    for t in tasks {
        if t.await.is_err() {
            panicked += 1;
        }
    }
    let load_time = began.elapsed();
    stop_faults.notify_one();
    let _ = faults.await;

    // Drain: the host idle (no operation in flight), then every subscriber caught up.
    let drain = Instant::now();
    let mut after = scrape(&host).await;
    while metric_sum(&after, "wasmesh_operations_in_flight", &[]) > 0.0 && drain.elapsed() < DRAIN_WAIT {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = scrape(&host).await;
    }
    let in_flight_left = metric_sum(&after, "wasmesh_operations_in_flight", &[]);
    let published: HashMap<Mesh, u64> = [Mesh::Linkerd, Mesh::Istio]
        .into_iter()
        .map(|m| {
            let now = metric_sum(&after, "wasmesh_events_published_total", &[("plugin", m.plugin())]);
            (m, (now - published_before[&m]) as u64)
        })
        .collect();
    let caught_up = || {
        sub_counts
            .iter()
            .all(|(m, n)| n.load(Ordering::Relaxed) >= published[m])
    };
    while !caught_up() && drain.elapsed() < DRAIN_WAIT {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sampling.notify_one();
    let _ = sampler.await;
    let end = Sample {
        at: began.elapsed(),
        rss_kib: host.rss_kib().unwrap_or(0),
        fds: host.open_fds().unwrap_or(0),
    };
    let samples = samples.lock().unwrap().clone();

    // ----- the report -----
    let ledger = shared.ledger.lock().unwrap();
    let load_end = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n# soak results ({:.1} s of load, then {:.1} s of drain)",
        load_time.as_secs_f64(),
        drain.elapsed().as_secs_f64()
    );
    println!("load average at end: {}", load_end.trim());

    // Operations and latency.
    let mut overall = histogram();
    let (mut sent, mut ended, mut succeeded, mut stuck) = (0u64, 0u64, 0u64, 0u64);
    let mut by_outcome: BTreeMap<String, u64> = BTreeMap::new();
    let mut kinds_json = Vec::new();
    println!(
        "\n{:<10} {:<17} {:>7} {:>9} {:>9} {:>9} {:>9}  outcomes",
        "plugin", "operation", "sent", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for ((plugin, kind), k) in &ledger.kinds {
        overall.add(&k.latency_us).expect("same bounds");
        let q = |p: f64| k.latency_us.value_at_quantile(p) as f64 / 1000.0;
        let outcomes: Vec<String> = k.outcomes.iter().map(|(o, n)| format!("{n} {o}")).collect();
        println!(
            "{plugin:<10} {kind:<17} {:>7} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {}",
            k.sent,
            q(0.5),
            q(0.9),
            q(0.99),
            k.latency_us.max() as f64 / 1000.0,
            outcomes.join(", ")
        );
        sent += k.sent;
        for (o, n) in &k.outcomes {
            ended += n;
            *by_outcome.entry(o.clone()).or_default() += n;
            if o == "succeeded" {
                succeeded += n;
            }
            if o == "NO FINAL EVENT" {
                stuck += n;
            }
        }
        kinds_json.push(json!({
            "plugin": plugin, "operation": kind, "sent": k.sent, "outcomes": k.outcomes,
            "p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": k.latency_us.max() as f64 / 1000.0,
        }));
    }
    let q = |p: f64| overall.value_at_quantile(p) as f64 / 1000.0;
    let throughput = ended as f64 / load_time.as_secs_f64();
    println!(
        "\nthroughput: {throughput:.1} operations/s ({ended} ended in {:.1} s, {succeeded} succeeded)",
        load_time.as_secs_f64()
    );
    println!(
        "latency (request to final event or Provision answer), all operations: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms, mean {:.2} ms",
        q(0.5),
        q(0.9),
        q(0.99),
        q(0.999),
        overall.max() as f64 / 1000.0,
        overall.mean() / 1000.0
    );
    for (o, n) in &by_outcome {
        println!("  {n:>7} {o}");
    }
    let missing = sent - ended;
    let accounted = missing == 0 && stuck == 0 && panicked == 0;
    println!(
        "{}: every operation accounted for: {sent} sent = {ended} ended ({missing} missing, {stuck} without a final event, {panicked} workers panicked)",
        pass(accounted)
    );
    if !ledger.examples.is_empty() {
        println!("one example of each kind of failure:");
        for (k, v) in &ledger.examples {
            println!("  {k}: {v}");
        }
    }

    // The host's own count of operations, by plugin and outcome.
    let mut host_agrees = true;
    for mesh in [Mesh::Linkerd, Mesh::Istio] {
        let p = mesh.plugin();
        let host_counts = metric_by(&after, "wasmesh_operations_total", "outcome", &[("plugin", p)]);
        let host_total: f64 = host_counts.iter().map(|(_, n)| n).sum();
        let ours: Vec<(&str, u64)> = ledger
            .by_host_outcome
            .iter()
            .filter(|((plugin, _), _)| *plugin == p)
            .map(|((_, o), n)| (*o, *n))
            .collect();
        let our_total: u64 = ours.iter().map(|(_, n)| n).sum();
        let same = ours.iter().all(|(o, n)| {
            metric_sum(&after, "wasmesh_operations_total", &[("plugin", p), ("outcome", o)]) as u64 == *n
        }) && host_total as u64 == our_total;
        host_agrees &= same;
        println!(
            "{}: {p}: host counted {host_counts:?} (wasmesh_operations_total); the client saw {ours:?}",
            pass(same)
        );
    }
    // Each operation's final event came once; the rest are the designs' (one each).
    let mut finals_ok = true;
    let mut finals_json = Vec::new();
    for mesh in [Mesh::Linkerd, Mesh::Istio] {
        let p = mesh.plugin();
        let designs: u64 = ledger
            .kinds
            .iter()
            .filter(|((plugin, kind), _)| *plugin == p && kind.starts_with("design"))
            .flat_map(|(_, k)| k.outcomes.iter())
            .filter(|(o, _)| *o != &Outcome::Stuck.label())
            .map(|(_, n)| n)
            .sum();
        let s = routers[&mesh].state.lock().unwrap();
        let ok = s.repeated == 0 && s.waiting.is_empty() && s.unclaimed == designs;
        finals_ok &= ok;
        println!(
            "{}: {p}: final events: {} repeated (a second final event of one operation), {} still awaited, \
             {} of designs (ids the host makes) for {designs} designs answered, {} after the client gave up",
            pass(ok),
            s.repeated,
            s.waiting.len(),
            s.unclaimed,
            s.late
        );
        for e in &s.repeated_examples {
            println!("  repeated: {e}");
        }
        finals_json.push(json!({"plugin": p, "repeated": s.repeated, "repeated_examples": s.repeated_examples,
            "still_awaited": s.waiting.len(), "design_finals": s.unclaimed, "designs_answered": designs, "late": s.late}));
    }
    println!("operations still in flight in the host after the drain: {in_flight_left}");

    // Events.
    let dropped = metric_by(&after, "wasmesh_events_dropped_total", "reason", &[]);
    let mut events_ok = ended_streams.load(Ordering::Relaxed) == 0;
    let mut events_json = Vec::new();
    for mesh in [Mesh::Linkerd, Mesh::Istio] {
        let want = published[&mesh];
        let counts: Vec<u64> = sub_counts
            .iter()
            .filter(|(m, _)| *m == mesh)
            .map(|(_, n)| n.load(Ordering::Relaxed))
            .collect();
        let lost: u64 = counts.iter().map(|&n| want.saturating_sub(n)).sum();
        let extra: u64 = counts.iter().map(|&n| n.saturating_sub(want)).sum();
        let router_count = routers[&mesh].events.load(Ordering::Relaxed);
        let ok = lost == 0 && extra == 0 && router_count == want;
        events_ok &= ok;
        let levels = metric_by(
            &after,
            "wasmesh_events_published_total",
            "level",
            &[("plugin", mesh.plugin())],
        );
        println!(
            "{}: {}: {want} events published (host counter; {levels:?}), delivered to each of {} subscribers: min {} max {}; lost {lost}, extra {extra}; the outcome router got {router_count}",
            pass(ok),
            mesh.plugin(),
            counts.len(),
            counts.iter().min().copied().unwrap_or(0),
            counts.iter().max().copied().unwrap_or(0),
        );
        events_json.push(json!({
            "plugin": mesh.plugin(), "published": want, "subscribers": counts.len(),
            "min_delivered": counts.iter().min(), "max_delivered": counts.iter().max(),
            "lost": lost, "extra": extra,
        }));
    }
    println!(
        "events dropped by the host (wasmesh_events_dropped_total): {dropped:?}; subscriber streams that ended early: {}",
        ended_streams.load(Ordering::Relaxed)
    );
    events_ok &= dropped.iter().all(|(_, n)| *n == 0.0);

    // Memory and descriptors.
    let warm = samples
        .iter()
        .find(|s| s.at >= Duration::from_secs(warmup))
        .copied()
        .unwrap_or(end);
    let peak_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0).max(end.rss_kib);
    let peak_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0).max(end.fds);
    let quarter = |f: f64| {
        samples
            .iter()
            .find(|s| s.at.as_secs_f64() >= f * load_time.as_secs_f64())
            .copied()
            .unwrap_or(end)
    };
    println!("\nhost process, sampled every second:");
    for (name, s) in [
        ("start", first),
        ("end of warm-up", warm),
        ("25 %", quarter(0.25)),
        ("50 %", quarter(0.5)),
        ("75 %", quarter(0.75)),
        ("end (drained)", end),
    ] {
        println!(
            "  {name:<15} at {:>6.1} s: RSS {:>6.1} MiB, {:>4} open descriptors",
            s.at.as_secs_f64(),
            mib(s.rss_kib),
            s.fds
        );
    }
    println!("  peak: RSS {:.1} MiB, {peak_fds} open descriptors", mib(peak_rss));
    let rss_growth = end.rss_kib as i64 - warm.rss_kib as i64;
    let rss_ok = rss_growth <= (rss_bound_mib * 1024) as i64;
    println!(
        "{}: RSS growth after the warm-up {:+.1} MiB (bound {rss_bound_mib} MiB; since the start {:+.1} MiB)",
        pass(rss_ok),
        rss_growth as f64 / 1024.0,
        (end.rss_kib as i64 - first.rss_kib as i64) as f64 / 1024.0
    );
    let fd_growth = end.fds as i64 - warm.fds as i64;
    let fd_ok = fd_growth <= fd_bound as i64;
    println!(
        "{}: open descriptors' growth after the warm-up {fd_growth:+} (bound {fd_bound}; since the start {:+})",
        pass(fd_ok),
        end.fds as i64 - first.fds as i64
    );

    // Faults.
    let t = tally.lock().unwrap();
    let armed: u64 = t.kinds.values().map(|k| k.0).sum();
    let hit: u64 = t.kinds.values().map(|k| k.1).sum();
    println!(
        "\nfaults: {armed} armed, {hit} hit, over about {} API server requests ({:.3} % of requests)",
        t.requests,
        100.0 * hit as f64 / t.requests.max(1) as f64
    );
    for (k, (a, h)) in &t.kinds {
        println!("  {k}: {a} armed, {h} hit");
    }

    let all = accounted && host_agrees && finals_ok && events_ok && rss_ok && fd_ok;
    println!("\nsoak overall: {}", pass(all));

    let out = json!({
        "bench": "wasmesh-e2e/benches/soak.rs",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "settings": {"seconds": seconds, "warmup_seconds": warmup, "in_flight": in_flight, "subscribers": subscribers,
            "fault_every_requests": fault_every, "rss_growth_bound_mib": rss_bound_mib, "fd_growth_bound": fd_bound},
        "load_average": {"start": load.trim(), "end": load_end.trim()},
        "load_seconds": load_time.as_secs_f64(),
        "operations": {"sent": sent, "ended": ended, "succeeded": succeeded, "without_final_event": stuck,
            "by_outcome": by_outcome, "throughput_per_second": throughput, "kinds": kinds_json,
            "host_counts_agree": host_agrees, "final_events": finals_json},
        "latency_ms": {"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p99_9": q(0.999), "max": overall.max() as f64 / 1000.0},
        "events": {"per_plugin": events_json, "dropped": dropped.iter().map(|(r, n)| json!({"reason": r, "count": n})).collect::<Vec<_>>()},
        "rss_kib": {"start": first.rss_kib, "after_warmup": warm.rss_kib, "peak": peak_rss, "end": end.rss_kib, "pass": rss_ok},
        "open_fds": {"start": first.fds, "after_warmup": warm.fds, "peak": peak_fds, "end": end.fds, "pass": fd_ok},
        "faults": {"armed": armed, "hit": hit, "requests": t.requests,
            "kinds": t.kinds.iter().map(|(k, (a, h))| json!({"kind": k, "armed": a, "hit": h})).collect::<Vec<_>>()},
        "samples": samples.iter().map(|s| json!([s.at.as_secs_f64(), s.rss_kib, s.fds])).collect::<Vec<_>>(),
        "pass": all,
    });
    let path = std::env::var_os("WASMESH_SOAK_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/soak-summary.json"));
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()) {
        Ok(()) => println!("JSON summary written to {}", path.display()),
        Err(e) => println!("could not write the JSON summary to {}: {e}", path.display()),
    }
    drop(t);
    drop(ledger);
    for s in sub_tasks {
        s.abort();
    }
    drop(host);
    let _ = std::fs::remove_dir_all(&work);
}
