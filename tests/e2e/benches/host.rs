//! The host's cost, measured the way Meshery uses it. Prints each figure as median and p99 with
//! its number of runs and its target, then a JSON summary (also written to the file named by
//! WASMESH_BENCH_JSON, default `target/bench-summary.json` in the workspace). Never asserts on
//! time: this machine is shared and noisy; a missed target is reported, not failed.
//!
//!     cargo build --release -p wasmesh && cargo bench -p wasmesh-e2e --bench host
//!
//! The first command is only needed for the process figures (cold start, idle memory, memory
//! per in-flight operation of the real binary, found next to this bench's target folder);
//! without it those lines say they were skipped. kubectl figures are skipped when kubectl is
//! not installed. Against a real cluster (WASMESH_TEST_KUBECONFIG) the figures that need the
//! built-in API server's fault injection are skipped.
//!
//! WASMESH_BENCH_ONLY=clusters,installs (for example) runs only those sections (see `wanted`).
//!
//! Run counts (environment):
//! - WASMESH_BENCH_RUNS (200): single operations (host overhead); plugin calls are 5x this
//! - WASMESH_BENCH_APPLY_RUNS (20): multi-object applies per tool and size
//! - WASMESH_BENCH_DESIGN_RUNS (5): 1000-component Provision RPCs; plan-only calls are 5x this
//! - WASMESH_BENCH_CONCURRENT_OPS (640): operations of the 64-in-flight run
//! - WASMESH_BENCH_FANOUT_ROUNDS (5): rounds of the fan-out run (2 flooding operations each)
//! - WASMESH_BENCH_START_RUNS (10): process starts with a warm cache (empty cache: 2)
//! - WASMESH_BENCH_INSTALL_RUNS (5): install/uninstall cycles of each mesh's control plane
//! - WASMESH_BENCH_CLUSTER_RUNS (10): `custom` runs on one cluster and on ten, per latency
//! - WASMESH_BENCH_DRIFT_RUNS (20): changes of a watched object, each timed until its WARN;
//!   WASMESH_BENCH_DRIFT_OBJECTS (1000): objects one operation applies for the memory figures

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};
use tokio_stream::StreamExt;
use wasmesh_e2e::meshery::{Client, ERROR, EventsResponse, Generation, INFO, ProvisionRequest};
use wasmesh_e2e::process::{HostProcess, binary, workspace};
use wasmesh_e2e::{TestCluster, client, request, test_config};

/// Operations in flight at once for the concurrency and memory figures.
const IN_FLIGHT: usize = 64;
/// StreamEvents subscribers of the fan-out figure.
const SUBSCRIBERS: usize = 100;
/// Components of the large design.
const DESIGN_COMPONENTS: usize = 1000;
/// A liveness bound for one awaited event, not a performance assertion.
const WAIT: Duration = Duration::from_secs(120);

fn env_runs(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(default)
}

/// Whether a section runs: all of them, or those named in WASMESH_BENCH_ONLY (comma-separated:
/// overhead, plugin, apply, design, concurrency, fanout, installs, clusters, languages, process).
fn wanted(section: &str) -> bool {
    match std::env::var("WASMESH_BENCH_ONLY") {
        Ok(only) if !only.trim().is_empty() => only.split(',').any(|s| s.trim() == section),
        _ => true,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// Figures: printed as they are measured, collected for the JSON summary.

#[derive(Clone, Copy, Debug)]
struct Dist {
    median: f64,
    p99: f64,
    n: usize,
}

/// Median (the middle sample, the mean of the two middle ones for an even count) and p99
/// (nearest rank: with fewer than 100 runs it is the largest).
fn dist(mut xs: Vec<f64>) -> Dist {
    assert!(!xs.is_empty(), "no samples");
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    let rank = ((n as f64) * 0.99).ceil() as usize;
    Dist {
        median,
        p99: xs[rank.clamp(1, n) - 1],
        n,
    }
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "",
    }
}

#[derive(Default)]
struct Summary {
    figures: Vec<Value>,
}

impl Summary {
    /// A distribution; `target` is (text, met).
    fn dist(&mut self, id: &str, label: &str, unit: &str, d: Dist, target: Option<(&str, bool)>) {
        let t = target
            .map(|(t, met)| format!("   [target {t}: {}]", verdict(Some(met))))
            .unwrap_or_default();
        println!(
            "{label}: median {:.3} {unit}, p99 {:.3} {unit}, n={}{t}",
            d.median, d.p99, d.n
        );
        self.figures.push(json!({
            "id": id, "label": label, "unit": unit,
            "median": round(d.median), "p99": round(d.p99), "n": d.n,
            "target": target.map(|t| t.0), "met": target.map(|t| t.1),
        }));
    }

    /// One number (a ratio, a rate, a count, a start-up time measured once).
    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        id: &str,
        label: &str,
        unit: &str,
        v: f64,
        n: usize,
        target: Option<(&str, bool)>,
        extra: Value,
    ) {
        let t = target
            .map(|(t, met)| format!("   [target {t}: {}]", verdict(Some(met))))
            .unwrap_or_default();
        let sep = if unit.is_empty() { "" } else { " " };
        println!("{label}: {v:.3}{sep}{unit}, n={n}{t}");
        let mut entry = json!({
            "id": id, "label": label, "unit": unit, "value": round(v), "n": n,
            "target": target.map(|t| t.0), "met": target.map(|t| t.1),
        });
        if let (Value::Object(e), Value::Object(x)) = (&mut entry, extra) {
            e.extend(x);
        }
        self.figures.push(entry);
    }

    fn skip(&mut self, id: &str, reason: &str) {
        println!("{id}: skipped: {reason}");
        self.figures.push(json!({"id": id, "skipped": reason}));
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

// ---------------------------------------------------------------------------------------------
// Waiting for operation outcomes: one StreamEvents subscription routes each final event to the
// caller that registered its operation id (constant cost per event, however many runs).

fn is_final(e: &EventsResponse) -> bool {
    e.event_type == ERROR || e.details.starts_with("cluster \"")
}

#[derive(Clone)]
struct Outcomes {
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<EventsResponse>>>>,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Outcomes {
    async fn subscribe(client: &Client) -> Outcomes {
        let mut stream = client.clone().stream_events().await.expect("StreamEvents");
        let waiting: Arc<Mutex<HashMap<String, oneshot::Sender<EventsResponse>>>> = Arc::default();
        let w = waiting.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(e)) = stream.next().await {
                if is_final(&e)
                    && let Some(tx) = w.lock().unwrap().remove(&e.operation_id)
                {
                    let _ = tx.send(e);
                }
            }
        });
        Outcomes {
            waiting,
            _task: Arc::new(AbortOnDrop(task)),
        }
    }

    /// Register before sending the request, so the event cannot pass unseen.
    fn expect(&self, operation_id: &str) -> oneshot::Receiver<EventsResponse> {
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap().insert(operation_id.to_string(), tx);
        rx
    }
}

/// Sends ApplyOperation and waits for its final event; Err describes what went wrong.
async fn run_op(
    c: &mut Client,
    outcomes: &Outcomes,
    req: wasmesh_e2e::meshery::ApplyRuleRequest,
) -> Result<EventsResponse, String> {
    run_op_timed(c, outcomes, req).await.map(|(_, e)| e)
}

/// As run_op, with the time the ApplyOperation response took (the rest is the work and the event).
async fn run_op_timed(
    c: &mut Client,
    outcomes: &Outcomes,
    req: wasmesh_e2e::meshery::ApplyRuleRequest,
) -> Result<(Duration, EventsResponse), String> {
    let rx = outcomes.expect(&req.operation_id);
    let t = Instant::now();
    if let Err(s) = c.apply(req.clone()).await {
        outcomes.waiting.lock().unwrap().remove(&req.operation_id);
        return Err(format!("ApplyOperation: {s}"));
    }
    let rpc = t.elapsed();
    match tokio::time::timeout(WAIT, rx).await {
        Ok(Ok(e)) if e.event_type == INFO => Ok((rpc, e)),
        Ok(Ok(e)) => Err(format!("ERROR event: {} {}", e.summary, e.details)),
        Ok(Err(_)) => Err("event stream ended".into()),
        Err(_) => Err(format!("no final event within {WAIT:?}")),
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs = env_runs("WASMESH_BENCH_RUNS", 200);
    let apply_runs = env_runs("WASMESH_BENCH_APPLY_RUNS", 20);
    let design_runs = env_runs("WASMESH_BENCH_DESIGN_RUNS", 5);
    let concurrent_ops = env_runs("WASMESH_BENCH_CONCURRENT_OPS", 640);
    let fanout_rounds = env_runs("WASMESH_BENCH_FANOUT_ROUNDS", 5);
    let start_runs = env_runs("WASMESH_BENCH_START_RUNS", 10);
    let install_runs = env_runs("WASMESH_BENCH_INSTALL_RUNS", 5);
    let cluster_runs = env_runs("WASMESH_BENCH_CLUSTER_RUNS", 10);
    let drift_runs = env_runs("WASMESH_BENCH_DRIFT_RUNS", 20);
    let drift_objects = env_runs("WASMESH_BENCH_DRIFT_OBJECTS", 1000);
    let began = Instant::now();

    let cluster = TestCluster::start().await;
    let cluster_kind = if cluster.server().is_some() {
        "built-in test API server"
    } else {
        "WASMESH_TEST_KUBECONFIG"
    };
    println!("cluster: {cluster_kind}");
    let mut summary = Summary::default();

    // Start-up of the host in this process, with an empty and with a warm compile cache.
    let cache = std::env::temp_dir().join(format!("wasmesh-bench-cache-{}", std::process::id()));
    let mut config = test_config();
    config.cache_dir = Some(cache.clone());
    let t = Instant::now();
    let host = wasmesh::start(config.clone()).await.unwrap();
    let empty = ms(t.elapsed());
    host.shutdown().await;
    let t = Instant::now();
    let host = wasmesh::start(config).await.unwrap();
    let warm = ms(t.elapsed());
    summary.value(
        "in_process_start_empty_cache",
        "in-process start, empty compile cache (3 plugins)",
        "ms",
        empty,
        1,
        None,
        json!({}),
    );
    summary.value(
        "in_process_start_warm_cache",
        "in-process start, warm compile cache (3 plugins)",
        "ms",
        warm,
        1,
        None,
        json!({}),
    );

    if wanted("overhead") {
        host_overhead(&mut summary, &cluster, &host, runs).await;
    }
    if wanted("plugin") {
        plugin_call(&mut summary, &host, runs * 5).await;
    }
    if wanted("apply") {
        multi_object(&mut summary, &cluster, &host, apply_runs).await;
    }
    if wanted("design") {
        design(&mut summary, &cluster, &host, design_runs).await;
    }
    if wanted("concurrency") {
        concurrency(&mut summary, &cluster, &host, concurrent_ops).await;
    }
    if wanted("fanout") {
        fanout(&mut summary, &cluster, &host, fanout_rounds).await;
    }
    if wanted("installs") {
        installs(&mut summary, &cluster, &host, install_runs).await;
    }
    if wanted("clusters") {
        many_clusters(&mut summary, &host, cluster_runs).await;
    }
    if wanted("languages") {
        languages(&mut summary, runs).await;
    }
    host.shutdown().await;
    if wanted("drift") {
        drift(&mut summary, &cluster, drift_runs, drift_objects).await;
    }

    // The real binary: cold start to serving both listeners, idle memory, memory per operation.
    if wanted("process") {
        match binary() {
            Some(bin) => process_figures(&mut summary, &cluster, &bin, &cache, start_runs, (runs / 4).max(1)).await,
            None => {
                for id in [
                    "process_start_empty_cache",
                    "process_start_warm_cache",
                    "idle_rss",
                    "rss_per_inflight_op",
                ] {
                    summary.skip(id, "build the binary first (cargo build --release -p wasmesh)");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&cache);

    let out = json!({
        "bench": "wasmesh-e2e/benches/host.rs",
        "unix_time": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "cluster": cluster_kind,
        "runs": {
            "WASMESH_BENCH_RUNS": runs, "WASMESH_BENCH_APPLY_RUNS": apply_runs,
            "WASMESH_BENCH_DESIGN_RUNS": design_runs, "WASMESH_BENCH_CONCURRENT_OPS": concurrent_ops,
            "WASMESH_BENCH_FANOUT_ROUNDS": fanout_rounds, "WASMESH_BENCH_START_RUNS": start_runs,
            "WASMESH_BENCH_INSTALL_RUNS": install_runs, "WASMESH_BENCH_CLUSTER_RUNS": cluster_runs,
            "WASMESH_BENCH_DRIFT_RUNS": drift_runs, "WASMESH_BENCH_DRIFT_OBJECTS": drift_objects,
        },
        "total_seconds": round(began.elapsed().as_secs_f64()),
        "figures": summary.figures,
    });
    let text = serde_json::to_string_pretty(&out).unwrap();
    let path = std::env::var_os("WASMESH_BENCH_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/bench-summary.json"));
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&path, &text) {
        Ok(()) => println!("\nJSON summary (written to {}):", path.display()),
        Err(e) => println!("\nJSON summary (could not write {}: {e}):", path.display()),
    }
    println!("{text}");
}

// ---------------------------------------------------------------------------------------------
// 1. One `custom` ConfigMap through gRPC, plugin, checks and events, against the same
// server-side apply made directly with kube-rs.

async fn host_overhead(summary: &mut Summary, cluster: &TestCluster, host: &wasmesh::RunningHost, runs: usize) {
    println!("\n# 1. host overhead per ApplyOperation");
    let ns = cluster.namespace("bench").await;
    let mut c = client(host, "LINKERD", Generation::Adapter).await;
    let outcomes = Outcomes::subscribe(&c).await;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(cluster.client().await, ns.name());
    let mut through_host = Vec::with_capacity(runs);
    let mut direct = Vec::with_capacity(runs);
    let mut rpc_only = Vec::with_capacity(runs);
    let mut host_requests = 0;
    for i in 0..runs + 10 {
        let name = format!("bench-{}", i % 20);
        let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  i: \"{i}\"\n");
        let req = request("custom", ns.name(), &body, &[cluster.kubeconfig()]);
        if let Some(s) = cluster.server() {
            s.clear_requests();
        }
        let t = Instant::now();
        let (rpc, _) = run_op_timed(&mut c, &outcomes, req).await.expect("custom ConfigMap");
        let took = t.elapsed();
        if let Some(s) = cluster.server()
            && i >= 10
        {
            host_requests += s.requests().len();
        }

        let cm: ConfigMap = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns.name()}, "data": {"i": i.to_string()}
        }))
        .unwrap();
        let t = Instant::now();
        api.patch(&name, &PatchParams::apply("bench").force(), &Patch::Apply(&cm))
            .await
            .unwrap();
        let took_direct = t.elapsed();
        if i >= 10 {
            rpc_only.push(ms(rpc));
            through_host.push(ms(took));
            direct.push(ms(took_direct));
        }
    }
    if cluster.server().is_some() {
        println!(
            "API server requests per operation through wasmesh: {:.2} (the direct apply makes 1)",
            host_requests as f64 / runs as f64
        );
    }
    let paired: Vec<f64> = through_host.iter().zip(&direct).map(|(h, d)| h - d).collect();
    let h = dist(through_host);
    let d = dist(direct);
    summary.dist(
        "custom_1_configmap",
        "custom (1 ConfigMap) through wasmesh, ApplyOperation to final event",
        "ms",
        h,
        None,
    );
    summary.dist(
        "custom_1_configmap_rpc",
        "  of which the ApplyOperation response (the work is done after it; the outcome is an event)",
        "ms",
        dist(rpc_only),
        None,
    );
    summary.dist(
        "direct_ssa_1_configmap",
        "the same server-side apply made directly with kube-rs",
        "ms",
        d,
        None,
    );
    // Paired: each run's operation minus the direct apply of the same object made right after it.
    let overhead = dist(paired);
    summary.dist(
        "host_overhead",
        "host overhead per operation (each run: wasmesh minus the direct apply)",
        "ms",
        overhead,
        Some((
            "median < 2 ms, p99 < 10 ms",
            overhead.median < 2.0 && overhead.p99 < 10.0,
        )),
    );
}

// ---------------------------------------------------------------------------------------------
// 2. A plugin call: fresh Store + instantiate + plan, no cluster reads.

async fn plugin_call(summary: &mut Summary, host: &wasmesh::RunningHost, calls: usize) {
    println!("\n# 2. plugin call");
    let adapter = linkerd(host);
    let plan_req = operation_request("annotate-namespace", "bench");
    let mut xs = Vec::with_capacity(calls);
    for i in 0..calls + 50 {
        let host_calls = wasmesh::host_calls::CallHost::describe("linkerd");
        let t = Instant::now();
        let (r, _) = adapter.plugin.plan(host_calls, &plan_req).await;
        let took = t.elapsed();
        r.unwrap().unwrap();
        if i >= 50 {
            xs.push(took.as_secs_f64() * 1e6);
        }
    }
    let d = dist(xs);
    summary.dist(
        "plugin_call",
        "plugin call (fresh Store + instantiate + plan)",
        "µs",
        d,
        Some(("median < 100 µs", d.median < 100.0)),
    );
}

// ---------------------------------------------------------------------------------------------
// 10. The same contract in two languages: the Rust built-ins and the Python translator
// (plugins/python, componentize-py), each loaded by a runtime of its own with an empty compile
// cache (what a first start pays: the host compiles the component with Cranelift), then with the
// warm cache, then called: `custom` with one ConfigMap given as JSON (both parse the body and
// return one stage; no cluster read).

async fn languages(summary: &mut Summary, calls: usize) {
    use wasmesh::host_calls::CallHost;
    use wasmesh_runtime::{Runtime, RuntimeConfig};
    println!("\n# 10. translators by language");
    let builtin = |name: &str| {
        let pc = wasmesh::config::PluginConfig::builtin(name, 0);
        wasmesh::builtin::component_bytes(&pc).unwrap().into_owned()
    };
    let python = std::fs::read(wasmesh_e2e::python_wasm()).expect("read the Python translator");
    let body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bench"}, "data": {"k": "v"}}).to_string();
    for (name, lang, wasm) in [
        ("linkerd", "Rust", builtin("linkerd")),
        ("istio", "Rust", builtin("istio")),
        ("python", "Python", python),
    ] {
        let cache = std::env::temp_dir().join(format!("wasmesh-bench-lang-{name}-{}", std::process::id()));
        let config = RuntimeConfig {
            cache_dir: Some(cache.clone()),
            ..RuntimeConfig::default()
        };
        let load = |runtime: Runtime<CallHost>| {
            let wasm = wasm.clone();
            async move {
                let t = Instant::now();
                let plugin = runtime.load(name, &wasm, CallHost::describe(name)).await.unwrap();
                (ms(t.elapsed()), plugin, runtime)
            }
        };
        let (compile, plugin, runtime) = load(Runtime::new(config.clone()).unwrap()).await;
        drop((plugin, runtime));
        let (warm, plugin, _runtime) = load(Runtime::new(config).unwrap()).await;
        let mut req = operation_request("custom", "bench");
        req.custom_body = body.clone();
        let mut xs = Vec::with_capacity(calls);
        for i in 0..calls + 20 {
            let t = Instant::now();
            let (r, _) = plugin.plan(CallHost::describe(name), &req).await;
            let took = t.elapsed();
            let p = r.unwrap().unwrap();
            assert_eq!(p.stages.len(), 1, "{name}: {p:?}");
            if i >= 20 {
                xs.push(took.as_secs_f64() * 1e6);
            }
        }
        let _ = std::fs::remove_dir_all(&cache);
        let kib = wasm.len() as f64 / 1024.0;
        let extra = json!({"plugin": name, "language": lang});
        summary.value(
            &format!("size_{name}"),
            &format!("{name} ({lang}) component size"),
            "KiB",
            kib,
            1,
            None,
            extra.clone(),
        );
        summary.value(
            &format!("load_empty_cache_{name}"),
            &format!("{name} ({lang}) load with an empty cache (compile + link + describe)"),
            "ms",
            compile,
            1,
            None,
            extra.clone(),
        );
        summary.value(
            &format!("load_warm_cache_{name}"),
            &format!("{name} ({lang}) load with a warm cache"),
            "ms",
            warm,
            1,
            None,
            extra,
        );
        summary.dist(
            &format!("call_{name}"),
            &format!("{name} ({lang}) call: fresh Store + instantiate + plan `custom`"),
            "µs",
            dist(xs),
            None,
        );
    }
}

fn linkerd(host: &wasmesh::RunningHost) -> &wasmesh::adapter::Adapter {
    host.adapters
        .iter()
        .find(|a| a.name == "linkerd")
        .expect("linkerd adapter")
}

fn operation_request(key: &str, namespace: &str) -> wasmesh_runtime::types::OperationRequest {
    wasmesh_runtime::types::OperationRequest {
        key: key.into(),
        namespace: namespace.into(),
        version: String::new(),
        custom_body: String::new(),
        delete: false,
        operation_id: "bench".into(),
        username: "bench".into(),
        cluster: wasmesh_runtime::types::ClusterInfo {
            name: "bench".into(),
            server: "https://127.0.0.1".into(),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// 3. The same N objects applied through wasmesh (`custom`, one multi-document body) and through
// `kubectl apply --server-side`, alternated, each tool in a namespace of its own (so neither
// takes the other's fields); every run changes an annotation, so every apply writes.

const VS_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: virtualservices.networking.istio.io
spec:
  group: networking.istio.io
  scope: Namespaced
  names: {plural: virtualservices, singular: virtualservice, kind: VirtualService, shortNames: [vs]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

fn virtual_services(run: usize) -> String {
    (0..10)
        .map(|i| {
            format!(
                "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: vs-{i}\n  annotations: {{bench.wasmesh.io/run: \"{run}\"}}\n\
spec:\n  hosts: [svc-{i}]\n  http:\n  - route:\n    - destination: {{host: svc-{i}, port: {{number: 8080}}}}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn mixed_objects(run: usize) -> String {
    let mut docs = Vec::new();
    for i in 0..25 {
        let meta =
            |kind: &str| format!("metadata:\n  name: {kind}-{i}\n  annotations: {{bench.wasmesh.io/run: \"{run}\"}}\n");
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\n{}data:\n  run: \"{run}\"\n  index: \"{i}\"\n",
            meta("cm")
        ));
        docs.push(format!(
            "apiVersion: v1\nkind: Secret\n{}type: Opaque\ndata:\n  token: YmVuY2g=\n",
            meta("secret")
        ));
        docs.push(format!(
            "apiVersion: v1\nkind: Service\n{}spec:\n  selector: {{app: app-{i}}}\n  ports:\n  - {{name: http, port: 80, targetPort: 8080}}\n",
            meta("svc")
        ));
        docs.push(format!("apiVersion: v1\nkind: ServiceAccount\n{}", meta("sa")));
    }
    docs.join("---\n")
}

fn kubectl_available() -> bool {
    std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// One `kubectl apply --server-side` of `body` in `namespace`, with a fresh discovery cache.
async fn kubectl_apply(
    dir: &Path,
    kubeconfig: &Path,
    namespace: &str,
    body: &str,
    run: usize,
) -> Result<Duration, String> {
    let file = dir.join(format!("objects-{run}.yaml"));
    std::fs::write(&file, body).map_err(|e| e.to_string())?;
    let home = dir.join(format!("home-{run}"));
    let mut cmd = tokio::process::Command::new("kubectl");
    cmd.arg("apply")
        .arg("--server-side")
        .arg("--validate=false")
        .arg("-f")
        .arg(&file)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(home.join("cache"))
        .arg("-n")
        .arg(namespace)
        .env_remove("KUBECONFIG")
        .env("HOME", &home)
        .stdin(std::process::Stdio::null());
    let t = Instant::now();
    let out = cmd.output().await.map_err(|e| e.to_string())?;
    let took = t.elapsed();
    let _ = std::fs::remove_dir_all(&home);
    let _ = std::fs::remove_file(&file);
    if out.status.success() {
        Ok(took)
    } else {
        Err(format!(
            "kubectl failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

async fn multi_object(summary: &mut Summary, cluster: &TestCluster, host: &wasmesh::RunningHost, runs: usize) {
    println!("\n# 3. multi-object apply, wasmesh against kubectl");
    let mut c = client(host, "ISTIO", Generation::Adapter).await;
    let outcomes = Outcomes::subscribe(&c).await;

    // The VirtualService CRD, unless the cluster already serves one (a real Istio install).
    let crds: kube::Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        kube::Api::all(cluster.client().await);
    let crd_name = "virtualservices.networking.istio.io";
    let created_crd = if crds.get_opt(crd_name).await.expect("get CRD").is_none() {
        let req = request("custom", "default", VS_CRD, &[cluster.kubeconfig()]);
        run_op(&mut c, &outcomes, req)
            .await
            .expect("apply the VirtualService CRD");
        true
    } else {
        println!("{crd_name} exists on the cluster: using it");
        false
    };

    let kubectl = kubectl_available();
    if !kubectl {
        println!("kubectl not found: the kubectl figures and ratios are skipped");
    }
    let dir = std::env::temp_dir().join(format!("wasmesh-bench-kubectl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).unwrap();

    type Body = fn(usize) -> String;
    let cases: [(&str, &str, Body, usize); 2] = [
        ("apply_10_virtualservices", "10 VirtualServices", virtual_services, 10),
        (
            "apply_100_mixed",
            "100 objects (25 each ConfigMap, Secret, Service, ServiceAccount)",
            mixed_objects,
            100,
        ),
    ];
    for (id, what, body, n) in cases {
        let ns_w = cluster.namespace("bench-w").await;
        let ns_k = cluster.namespace("bench-k").await;
        let mut w = Vec::new();
        let mut k = Vec::new();
        let mut errors = Vec::new();
        // One unmeasured run of each first (discovery of the kinds, connections).
        for run in 0..runs + 1 {
            let text = body(run);
            for tool in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
                if tool == 0 {
                    let req = request("custom", ns_w.name(), &text, &[cluster.kubeconfig()]);
                    let t = Instant::now();
                    match run_op(&mut c, &outcomes, req).await {
                        Ok(e) => {
                            let took = ms(t.elapsed());
                            let applied = e.details.lines().filter(|l| l.starts_with("applied ")).count();
                            if applied != n {
                                errors.push(format!("wasmesh applied {applied} of {n}"));
                            } else if run > 0 {
                                w.push(took);
                            }
                        }
                        Err(e) => errors.push(format!("wasmesh: {e}")),
                    }
                } else if kubectl {
                    match kubectl_apply(&dir, &kubeconfig, ns_k.name(), &text, run).await {
                        Ok(took) if run > 0 => k.push(ms(took)),
                        Ok(_) => {}
                        Err(e) => errors.push(e),
                    }
                }
            }
        }
        for e in errors.iter().take(3) {
            println!("error: {e}");
        }
        if !errors.is_empty() {
            println!("{id}: {} failed runs (left out of the figures)", errors.len());
        }
        if w.is_empty() {
            summary.skip(id, "no successful wasmesh run");
            continue;
        }
        let wd = dist(w);
        summary.dist(
            &format!("{id}_wasmesh"),
            &format!("{what} through wasmesh custom"),
            "ms",
            wd,
            None,
        );
        if !kubectl || k.is_empty() {
            summary.skip(
                &format!("{id}_ratio"),
                "kubectl not available or every kubectl run failed",
            );
            continue;
        }
        let kd = dist(k);
        summary.dist(
            &format!("{id}_kubectl"),
            &format!("{what} through kubectl apply --server-side (process, fresh discovery cache)"),
            "ms",
            kd,
            None,
        );
        let ratio = wd.median / kd.median;
        summary.value(
            &format!("{id}_ratio"),
            &format!("{what}: wasmesh/kubectl (ratio of medians)"),
            "",
            ratio,
            wd.n.min(kd.n),
            Some(("<= 0.5", ratio <= 0.5)),
            json!({"wasmesh_median_ms": round(wd.median), "kubectl_median_ms": round(kd.median), "failed_runs": errors.len()}),
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    if created_crd && cluster.server().is_none() {
        // Leave a real cluster as it was.
        let _ = crds.delete(crd_name, &Default::default()).await;
    }
}

// ---------------------------------------------------------------------------------------------
// 4. A design of 1000 ConfigMap components (Meshery declarations): the plugin's provision call
// alone, and the Provision RPC end to end.

fn declarations(namespace: &str, run: usize) -> Vec<String> {
    (0..DESIGN_COMPONENTS)
        .map(|i| {
            json!({
                "schemaVersion": "components.meshery.io/v1beta1",
                "displayName": format!("design-cm-{i}"),
                "component": {"version": "v1", "kind": "ConfigMap"},
                "model": {"name": "kubernetes"},
                "configuration": {"metadata": {
                    "name": format!("design-cm-{i}"), "namespace": namespace,
                    "labels": {"app": "bench", "bench.wasmesh.io/run": run.to_string()}
                }}
            })
            .to_string()
        })
        .collect()
}

async fn design(summary: &mut Summary, cluster: &TestCluster, host: &wasmesh::RunningHost, runs: usize) {
    println!("\n# 4. a design of {DESIGN_COMPONENTS} components");
    let ns = cluster.namespace("bench-design").await;
    let adapter = linkerd(host);
    let mut plans = Vec::new();
    for run in 0..runs * 5 + 2 {
        let request = wasmesh_runtime::types::DesignRequest {
            components: declarations(ns.name(), run),
            config: None,
            delete: false,
            operation_id: "bench".into(),
            username: "bench".into(),
            cluster: wasmesh_runtime::types::ClusterInfo {
                name: "bench".into(),
                server: "https://127.0.0.1".into(),
            },
        };
        let t = Instant::now();
        let (r, _) = adapter
            .plugin
            .provision(wasmesh::host_calls::CallHost::describe("linkerd"), &request)
            .await;
        let took = t.elapsed();
        let dp = r.expect("provision call").expect("design plan");
        let steps: usize = dp.plan.stages.iter().map(|s| s.steps.len()).sum();
        assert_eq!(
            (steps, dp.rejected.len()),
            (DESIGN_COMPONENTS, 0),
            "the plan covers the design"
        );
        if run >= 2 {
            plans.push(ms(took));
        }
    }
    let d = dist(plans);
    summary.dist(
        "design_1000_plan",
        "1000-component design planned (plugin provision call alone)",
        "ms",
        d,
        Some(("median < 200 ms", d.median < 200.0)),
    );

    let mut c = client(host, "LINKERD", Generation::Adapter).await;
    let mut applies = Vec::new();
    for run in 0..runs + 1 {
        let req = ProvisionRequest {
            username: "bench".into(),
            delete_op: false,
            declarations: declarations(ns.name(), 1000 + run),
            kube_configs: vec![cluster.kubeconfig().to_string()],
        };
        let t = Instant::now();
        let message = c.provision(req).await.expect("Provision");
        let took = t.elapsed();
        let applied = message.lines().filter(|l| l.starts_with("applied ConfigMap")).count();
        if applied != DESIGN_COMPONENTS {
            println!(
                "Provision applied {applied} of {DESIGN_COMPONENTS}: {}",
                message.lines().last().unwrap_or("")
            );
            continue;
        }
        // The first run creates the objects; later runs update them.
        if run >= 1 {
            applies.push(ms(took));
        }
    }
    if applies.is_empty() {
        summary.skip("design_1000_apply", "no Provision run applied the whole design");
    } else {
        summary.dist(
            "design_1000_apply",
            "1000-component design applied (Provision RPC end to end, updates)",
            "ms",
            dist(applies),
            None,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. 64 operations in flight on one listener (one gRPC connection, as one Meshery server).

async fn concurrency(summary: &mut Summary, cluster: &TestCluster, host: &wasmesh::RunningHost, total: usize) {
    println!("\n# 5. {IN_FLIGHT} operations in flight on one listener");
    let ns = cluster.namespace("bench-conc").await;
    let c = client(host, "LINKERD", Generation::Adapter).await;
    let outcomes = Outcomes::subscribe(&c).await;
    let per_worker = total.div_ceil(IN_FLIGHT);
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let t = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|w| {
            let mut c = c.clone();
            let outcomes = outcomes.clone();
            let errors = errors.clone();
            let ns = ns.name().to_string();
            let kubeconfig = cluster.kubeconfig().to_string();
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_worker);
                for i in 0..per_worker {
                    let body =
                        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conc-{w}\ndata:\n  i: \"{i}\"\n");
                    let req = request("custom", &ns, &body, &[&kubeconfig]);
                    let t = Instant::now();
                    match run_op(&mut c, &outcomes, req).await {
                        Ok(_) => lat.push(ms(t.elapsed())),
                        Err(e) => errors.lock().unwrap().push(e),
                    }
                }
                lat
            })
        })
        .collect();
    let mut lat = Vec::new();
    for w in workers {
        lat.extend(w.await.unwrap());
    }
    let wall = t.elapsed().as_secs_f64();
    let errors = errors.lock().unwrap().clone();
    for e in errors.iter().take(3) {
        println!("error: {e}");
    }
    let ops = per_worker * IN_FLIGHT;
    summary.value(
        "concurrent_64_throughput",
        &format!("{IN_FLIGHT} in flight: throughput ({ops} operations)"),
        "ops/s",
        lat.len() as f64 / wall,
        ops,
        None,
        json!({}),
    );
    if !lat.is_empty() {
        summary.dist(
            "concurrent_64_latency",
            &format!("{IN_FLIGHT} in flight: ApplyOperation to final event"),
            "ms",
            dist(lat),
            None,
        );
    }
    summary.value(
        "concurrent_64_errors",
        &format!("{IN_FLIGHT} in flight: errors"),
        "",
        errors.len() as f64,
        ops,
        Some(("0", errors.is_empty())),
        json!({}),
    );
}

// ---------------------------------------------------------------------------------------------
// 8. A control-plane install and uninstall through gRPC, as Meshery's install button sends them:
// the plan (certificates made in the plugin for Linkerd), every object applied, the waits.
// Against the built-in server the Deployments report Available at once, so this is the host's
// and the plugin's share; a real cluster adds image pulls and start-up.

async fn installs(summary: &mut Summary, cluster: &TestCluster, host: &wasmesh::RunningHost, runs: usize) {
    println!("\n# 8. control-plane install and uninstall");
    for (adapter, mesh, body) in [
        ("LINKERD", "linkerd", "waitSeconds: 300"),
        ("ISTIO", "istio", "profile: default\nwaitSeconds: 300"),
    ] {
        let mut c = client(host, adapter, Generation::Adapter).await;
        let outcomes = Outcomes::subscribe(&c).await;
        let (mut install, mut uninstall) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            for (delete, xs) in [(false, &mut install), (true, &mut uninstall)] {
                let mut req = request(mesh, "default", if delete { "" } else { body }, &[cluster.kubeconfig()]);
                req.delete_op = delete;
                let t = Instant::now();
                match run_op(&mut c, &outcomes, req).await {
                    Ok(_) => xs.push(ms(t.elapsed())),
                    Err(e) => {
                        println!("{mesh} (delete {delete}) failed: {e}");
                        break;
                    }
                }
            }
        }
        for (id, what, xs) in [("install", "install", install), ("uninstall", "uninstall", uninstall)] {
            if xs.is_empty() {
                summary.skip(&format!("{mesh}_{id}"), "the operation failed (see above)");
                continue;
            }
            summary.dist(
                &format!("{mesh}_{id}"),
                &format!("{mesh} {what}, ApplyOperation to final event"),
                "ms",
                dist(xs),
                None,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 6. StreamEvents fan-out: 100 subscribers (each on its own connection, as 100 Meshery servers)
// on the hostile test plugin's listener, whose `flood-events` operation emits 1000 progress
// events (the per-call cap) and an ERROR. Each round runs two such operations at once and waits
// until every subscriber has both; a subscriber's queue (4096) is never the limit.

async fn fanout(summary: &mut Summary, cluster: &TestCluster, host: &wasmesh::RunningHost, rounds: usize) {
    println!("\n# 6. StreamEvents fan-out to {SUBSCRIBERS} subscribers");
    let ns = cluster.namespace("bench-fanout").await;
    let listener = host.listener("hostile").expect("hostile listener").addr;
    let mut driver = Client::connect(listener, Generation::Adapter).await;

    // How many events one flooding operation emits, seen by a single subscriber.
    let per_op = {
        let mut stream = driver.stream_events().await.expect("StreamEvents");
        let req = request("flood-events", ns.name(), "", &[cluster.kubeconfig()]);
        driver.apply(req.clone()).await.expect("flood-events");
        let mut n = 0;
        loop {
            let e = tokio::time::timeout(WAIT, stream.next())
                .await
                .expect("flood-events ends")
                .expect("stream open")
                .expect("event");
            if e.operation_id == req.operation_id {
                n += 1;
                if is_final(&e) {
                    break;
                }
            }
        }
        n
    };

    let finals = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(Notify::new());
    let ops_total = rounds * 2;
    let mut subs = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let mut c = Client::connect(listener, Generation::Adapter).await;
        let mut stream = c.stream_events().await.expect("StreamEvents");
        let finals = finals.clone();
        let progress = progress.clone();
        subs.push(tokio::spawn(async move {
            let (mut count, mut done, mut last) = (0usize, 0usize, None);
            while done < ops_total {
                let Ok(Some(Ok(e))) = tokio::time::timeout(WAIT, stream.next()).await else {
                    break;
                };
                if !e.operation_id.starts_with("fanout-") {
                    continue;
                }
                count += 1;
                last = Some(Instant::now());
                if is_final(&e) {
                    done += 1;
                    finals.fetch_add(1, Ordering::SeqCst);
                    progress.notify_waiters();
                }
            }
            (count, last)
        }));
    }

    let t = Instant::now();
    for round in 0..rounds {
        for k in 0..2 {
            let mut req = request("flood-events", ns.name(), "", &[cluster.kubeconfig()]);
            req.operation_id = format!("fanout-{round}-{k}-{}", req.operation_id);
            let mut d = driver.clone();
            tokio::spawn(async move { d.apply(req).await.expect("flood-events") });
        }
        let want = (round + 1) * 2 * SUBSCRIBERS;
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let notified = progress.notified();
            if finals.load(Ordering::SeqCst) >= want {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                println!("round {round}: not every subscriber saw its final events");
                break;
            }
        }
    }
    let mut counts = Vec::with_capacity(SUBSCRIBERS);
    let mut end = t;
    for s in subs {
        let (count, last) = s.await.unwrap();
        counts.push(count);
        if let Some(l) = last {
            end = end.max(l);
        }
    }
    let expected = per_op * ops_total;
    let delivered: usize = counts.iter().sum();
    let lost = expected * SUBSCRIBERS - delivered;
    let secs = (end - t).as_secs_f64();
    println!(
        "per subscriber: min {} max {} expected {expected} ({per_op} per operation x {ops_total})",
        counts.iter().min().unwrap(),
        counts.iter().max().unwrap()
    );
    summary.value(
        "fanout_100_events_per_second",
        &format!("StreamEvents fan-out: events delivered per second to {SUBSCRIBERS} subscribers"),
        "events/s",
        delivered as f64 / secs,
        delivered,
        None,
        json!({"subscribers": SUBSCRIBERS, "seconds": round(secs)}),
    );
    summary.value(
        "fanout_100_lost",
        "StreamEvents fan-out: events lost over all subscribers",
        "",
        lost as f64,
        expected * SUBSCRIBERS,
        Some(("0", lost == 0)),
        json!({
            "expected_per_subscriber": expected,
            "min_per_subscriber": counts.iter().min(),
            "max_per_subscriber": counts.iter().max(),
        }),
    );
}

// ---------------------------------------------------------------------------------------------
// 7. The real binary, started with a config file: both built-in plugins on free loopback ports.

async fn process_figures(
    summary: &mut Summary,
    cluster: &TestCluster,
    bin: &Path,
    cache: &Path,
    runs: usize,
    op_runs: usize,
) {
    println!("\n# 7. the host process ({})", bin.display());
    let work = cache.join("process");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();

    let mut empty = Vec::new();
    for i in 0..2 {
        let dir = work.join(format!("cache-empty-{i}"));
        let (p, took) = HostProcess::start(bin, &work, &dir, "");
        assert_eq!(p.listeners.len(), 2, "both listeners: {:?}", p.listeners);
        drop(p);
        let _ = std::fs::remove_dir_all(&dir);
        empty.push(ms(took));
    }
    summary.dist(
        "process_start_empty_cache",
        "process start to serving both listeners, empty compile cache",
        "ms",
        dist(empty),
        None,
    );
    let warm_dir = work.join("cache-warm");
    drop(HostProcess::start(bin, &work, &warm_dir, ""));
    let mut warm = Vec::new();
    for _ in 0..runs {
        let (p, took) = HostProcess::start(bin, &work, &warm_dir, "");
        drop(p);
        warm.push(ms(took));
    }
    let d = dist(warm);
    summary.dist(
        "process_start_warm_cache",
        "process start to serving both listeners, warm compile cache",
        "ms",
        d,
        Some(("median < 300 ms", d.median < 300.0)),
    );

    let (p, _) = HostProcess::start(bin, &work, &warm_dir, "");
    tokio::time::sleep(Duration::from_millis(500)).await;
    match p.rss_kib() {
        Some(kib) => {
            let mib = kib as f64 / 1024.0;
            summary.value(
                "idle_rss",
                "idle resident memory of the host process (just started)",
                "MiB",
                mib,
                1,
                Some(("< 64 MiB", mib < 64.0)),
                json!({}),
            );
        }
        None => summary.skip("idle_rss", "no /proc/<pid>/status"),
    }

    // Memory per in-flight operation: the API server answers after a delay, so the operations
    // pile up in the host; RSS at the peak against RSS after one warm-up operation.
    let Some(server) = cluster.server() else {
        summary.skip("rss_per_inflight_op", "needs the built-in API server's set_delay");
        return;
    };
    let Some(addr) = p.listeners.get("LINKERD").copied() else {
        summary.skip("rss_per_inflight_op", "the process has no LINKERD listener");
        return;
    };
    let ns = cluster.namespace("bench-mem").await;
    let c = Client::connect(addr, Generation::Adapter).await;
    let outcomes = Outcomes::subscribe(&c).await;
    let body = |i: usize| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mem-{i}\ndata:\n  i: \"{i}\"\n");
    let mut lat = Vec::new();
    for i in 0..op_runs + 3 {
        let req = request("custom", ns.name(), &body(i % IN_FLIGHT), &[cluster.kubeconfig()]);
        let t = Instant::now();
        run_op(&mut c.clone(), &outcomes, req).await.expect("custom ConfigMap");
        if i >= 3 {
            lat.push(ms(t.elapsed()));
        }
    }
    summary.dist(
        "process_custom_1_configmap",
        "custom (1 ConfigMap) through the host process, ApplyOperation to final event",
        "ms",
        dist(lat),
        None,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle = p.rss_kib().unwrap_or(0);
    let delay = Duration::from_secs(3);
    server.set_delay(delay);
    let t = Instant::now();
    let ops: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let mut c = c.clone();
            let outcomes = outcomes.clone();
            let req = request("custom", ns.name(), &body(i), &[cluster.kubeconfig()]);
            tokio::spawn(async move { run_op(&mut c, &outcomes, req).await })
        })
        .collect();
    let mut peak = idle;
    while t.elapsed() < delay - Duration::from_millis(300) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(p.rss_kib().unwrap_or(0));
    }
    server.set_delay(Duration::ZERO);
    let mut failed = 0;
    for o in ops {
        if o.await.unwrap().is_err() {
            failed += 1;
        }
    }
    let per_op = peak.saturating_sub(idle) as f64 / IN_FLIGHT as f64;
    println!(
        "RSS after warm-up {:.1} MiB, with {IN_FLIGHT} operations in flight {:.1} MiB ({failed} failed)",
        idle as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    summary.value(
        "rss_per_inflight_op",
        &format!("resident memory per in-flight operation ({IN_FLIGHT} in flight, API server delayed)"),
        "KiB",
        per_op,
        IN_FLIGHT,
        None,
        json!({"idle_kib": idle, "peak_kib": peak, "failed": failed}),
    );
}

// ---------------------------------------------------------------------------------------------
// 9. One operation on ten clusters against the same operation on one. Always ten built-in API
// servers (a real cluster is one cluster). With no latency all ten share this machine's two cores
// with the host; with 20 ms per response they stand for clusters across a network, the case the
// target is about.

async fn many_clusters(summary: &mut Summary, host: &wasmesh::RunningHost, runs: usize) {
    println!("\n# 9. one operation on ten clusters");
    let servers: Vec<wasmesh_test_apiserver::ApiServer> =
        (0..10).map(|_| wasmesh_test_apiserver::ApiServer::start()).collect();
    let kubeconfigs: Vec<&str> = servers.iter().map(|s| s.kubeconfig()).collect();
    let mut c = client(host, "ISTIO", Generation::Mesh).await;
    let events = wasmesh_e2e::Events::subscribe(&c).await;
    for latency_ms in [0u64, 20] {
        for s in &servers {
            s.set_delay(Duration::from_millis(latency_ms));
        }
        let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut errors = 0;
        for run in 0..runs {
            for (i, n) in [1usize, 10].into_iter().enumerate() {
                let body = format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: clusters-{latency_ms}-{n}-{run}\n  namespace: default\n"
                );
                let req = request("custom", "default", &body, &kubeconfigs[..n]);
                let t = Instant::now();
                if c.apply(req.clone()).await.is_err() {
                    errors += 1;
                    continue;
                }
                let last = if n == 1 {
                    events.outcome(&req.operation_id).await
                } else {
                    events
                        .wait_for("the total", |e| {
                            e.operation_id == req.operation_id && e.summary.contains(" clusters")
                        })
                        .await
                };
                if last.event_type == INFO {
                    times[i].push(ms(t.elapsed()));
                } else {
                    errors += 1;
                }
            }
        }
        let [one, ten] = times;
        let (one, ten) = (dist(one), dist(ten));
        let ratio = ten.median / one.median;
        summary.dist(
            &format!("clusters_1_latency_{latency_ms}ms"),
            &format!("`custom` on 1 cluster, {latency_ms} ms per API response"),
            "ms",
            one,
            None,
        );
        let target = (latency_ms > 0).then_some(("at most 1.5x one cluster", ratio <= 1.5));
        summary.dist(
            &format!("clusters_10_latency_{latency_ms}ms"),
            &format!("`custom` on 10 clusters (until the total), {latency_ms} ms per API response"),
            "ms",
            ten,
            None,
        );
        summary.value(
            &format!("clusters_10_vs_1_latency_{latency_ms}ms"),
            &format!("10 clusters / 1 cluster (medians), {latency_ms} ms per API response"),
            "",
            ratio,
            runs,
            target,
            json!({"errors": errors}),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Drift detection: from a change by another field manager to the WARN on the gRPC stream,
// and what watching costs per object. Istio runs without drift, Linkerd with `drift.watch`, so
// the same `custom` operation on each tells the memory the watching adds.

fn rss_self_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn drift(summary: &mut Summary, cluster: &TestCluster, runs: usize, objects: usize) {
    println!("\n# 10. drift detection");
    let mut config = test_config();
    let linkerd = config.plugins.iter_mut().find(|p| p.name == "linkerd").unwrap();
    linkerd.drift = wasmesh::config::DriftConfig {
        watch: true,
        reconcile: false,
    };
    config.limits.max_plan_bytes = 64 << 20;
    let host = wasmesh::start(config).await.unwrap();
    let drift = host
        .adapters
        .iter()
        .find(|a| a.name == "linkerd")
        .unwrap()
        .drift
        .clone()
        .unwrap();
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = wasmesh_e2e::Events::subscribe(&c).await;

    // Latency: edit a watched ConfigMap, wait for its WARN.
    let ns = cluster.namespace("bench-drift").await;
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: watched\ndata:\n  x: \"0\"\n";
    let req = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    let outcomes = Outcomes::subscribe(&c).await;
    run_op(&mut c, &outcomes, req.clone()).await.expect("custom");
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(cluster.client().await, ns.name());
    let params = PatchParams {
        field_manager: Some("bench-editor".into()),
        ..PatchParams::default()
    };
    let mut took = Vec::with_capacity(runs);
    for i in 0..runs {
        let seen = events
            .all()
            .iter()
            .filter(|e| e.error_code == wasmesh::drift::DRIFTED)
            .count();
        let t = Instant::now();
        api.patch(
            "watched",
            &params,
            &Patch::Merge(json!({"data": {"x": format!("edit-{i}")}})),
        )
        .await
        .expect("edit");
        events
            .wait_for("the drift WARN", |_| {
                events
                    .all()
                    .iter()
                    .filter(|e| e.error_code == wasmesh::drift::DRIFTED)
                    .count()
                    > seen
            })
            .await;
        took.push(ms(t.elapsed()));
        // Give the field back, so the next edit is drift again.
        run_op(
            &mut c,
            &outcomes,
            request("custom", ns.name(), body, &[cluster.kubeconfig()]),
        )
        .await
        .expect("custom again");
    }
    let d = dist(took);
    let met = d.p99 < 1000.0;
    summary.dist(
        "drift_warn_latency",
        "change by another field manager -> drift WARN on StreamEvents",
        "ms",
        d,
        Some(("p99 < 1000 ms", met)),
    );

    // Memory: the same operation of `objects` ConfigMaps without (Istio) and with (Linkerd) drift.
    let many = |prefix: &str| -> String {
        (0..objects)
            .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {prefix}-{i}\ndata:\n  a: \"1\"\n  b: \"2\"\n  c: \"3\"\n"))
            .collect::<Vec<_>>()
            .join("---\n")
    };
    let mut istio = client(&host, "ISTIO", Generation::Mesh).await;
    let istio_outcomes = Outcomes::subscribe(&istio).await;
    let plain = cluster.namespace("bench-nodrift").await;
    let watched = cluster.namespace("bench-drift-mem").await;
    // A first run of each warms the allocator and the caches.
    for (cl, out, ns) in [(&mut istio, &istio_outcomes, &plain), (&mut c, &outcomes, &watched)] {
        run_op(
            cl,
            out,
            request("custom", ns.name(), &many("warm"), &[cluster.kubeconfig()]),
        )
        .await
        .expect("warm-up");
    }
    let before = rss_self_kib();
    run_op(
        &mut istio,
        &istio_outcomes,
        request("custom", plain.name(), &many("cm"), &[cluster.kubeconfig()]),
    )
    .await
    .expect("without drift");
    let after_plain = rss_self_kib();
    let (_, objects_before) = drift.counts();
    run_op(
        &mut c,
        &outcomes,
        request("custom", watched.name(), &many("cm"), &[cluster.kubeconfig()]),
    )
    .await
    .expect("with drift");
    let after_drift = rss_self_kib();
    let (watches, watched_objects) = drift.counts();
    let added = watched_objects - objects_before;
    let per_object = drift.snapshot_bytes() as f64 / watched_objects.max(1) as f64;
    summary.value(
        "drift_snapshot_bytes_per_object",
        "drift: snapshot kept per watched ConfigMap (3 data fields)",
        "bytes",
        per_object,
        watched_objects,
        None,
        json!({"watches": watches, "max_fields": wasmesh::drift::MAX_FIELDS}),
    );
    summary.value(
        "drift_bytes_per_object",
        "drift: bytes per watched ConfigMap in the host's tables (slot, name, snapshot)",
        "bytes",
        drift.object_bytes() as f64 / watched_objects.max(1) as f64,
        watched_objects,
        None,
        json!({}),
    );
    // The process's RSS around the two operations: noisy (the test API server shares the
    // process), printed for the record only.
    println!(
        "RSS KiB before / after {added} objects without drift / after {added} with drift: {before:?} / {after_plain:?} / {after_drift:?}"
    );
    host.shutdown().await;
}
