//! The host's cost, measured the way Meshery uses it. Prints each figure with its number of
//! runs; never asserts on time (this machine is shared and noisy).
//!
//!     cargo build --release -p wasmesh && cargo bench -p wasmesh-e2e --bench host
//!
//! The first command is only needed for the process figures (cold start and idle memory of the
//! real binary); without it those lines say they were skipped.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use wasmesh_e2e::meshery::{Generation, INFO};
use wasmesh_e2e::{Events, TestCluster, client, request, test_config};

fn stats(name: &str, mut xs: Vec<Duration>) -> (Duration, Duration) {
    xs.sort();
    let median = xs[xs.len() / 2];
    let p99 = xs[(xs.len() * 99 / 100).min(xs.len() - 1)];
    println!(
        "{name}: median {:.3} ms, p99 {:.3} ms, n={}",
        ms(median),
        ms(p99),
        xs.len()
    );
    (median, p99)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("WASMESH_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("bench").await;

    // Start-up of the host in this process, with an empty and with a warm compile cache.
    let cache = std::env::temp_dir().join(format!("wasmesh-bench-cache-{}", std::process::id()));
    let mut config = test_config();
    config.cache_dir = Some(cache.clone());
    let t = Instant::now();
    let host = wasmesh::start(config.clone()).await.unwrap();
    println!(
        "in-process start, empty compile cache (3 plugins): {:.1} ms",
        ms(t.elapsed())
    );
    host.shutdown().await;
    let t = Instant::now();
    let host = wasmesh::start(config).await.unwrap();
    println!(
        "in-process start, warm compile cache (3 plugins): {:.1} ms",
        ms(t.elapsed())
    );

    // 1. One `custom` ConfigMap through gRPC, plugin, checks and events, against the same
    // requests made directly with kube-rs.
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let api: kube::Api<ConfigMap> = kube::Api::namespaced(cluster.client().await, ns.name());
    let mut through_host = Vec::with_capacity(runs);
    let mut direct = Vec::with_capacity(runs);
    for i in 0..runs + 10 {
        let name = format!("bench-{}", i % 20);
        let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  i: \"{i}\"\n");
        let req = request("custom", ns.name(), &body, &[cluster.kubeconfig()]);
        let t = Instant::now();
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        let took = t.elapsed();
        assert_eq!(e.event_type, INFO, "{e:?}");

        let cm: ConfigMap = serde_json::from_value(serde_json::json!({
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
            through_host.push(took);
            direct.push(took_direct);
        }
    }
    let (host_median, host_p99) = stats(
        "custom (1 ConfigMap) through wasmesh, ApplyOperation to final event",
        through_host,
    );
    let (direct_median, direct_p99) = stats("the same server-side apply made directly with kube-rs", direct);
    println!(
        "host overhead per operation: median {:.3} ms, p99 {:.3} ms (target: median < 2 ms, p99 < 10 ms)",
        ms(host_median.saturating_sub(direct_median)),
        ms(host_p99.saturating_sub(direct_p99))
    );

    // 2. A plugin call: fresh Store + instantiate + plan, no cluster reads.
    let adapter = host.adapters.iter().find(|a| a.name == "linkerd").unwrap();
    let plan_req = wasmesh_runtime_request(ns.name());
    let mut calls = Vec::with_capacity(runs * 5);
    for i in 0..runs * 5 + 50 {
        let host_calls = wasmesh::host_calls::CallHost::describe("linkerd");
        let t = Instant::now();
        let (r, _) = adapter.plugin.plan(host_calls, &plan_req).await;
        let took = t.elapsed();
        r.unwrap().unwrap();
        if i >= 50 {
            calls.push(took);
        }
    }
    let (m, _) = stats("plugin call (fresh Store + instantiate + plan)", calls);
    println!("plugin call: median {:.1} µs (target < 100 µs)", m.as_secs_f64() * 1e6);
    host.shutdown().await;

    // 3. The real binary: cold start to serving both listeners, and idle memory.
    match binary() {
        Some(bin) => process_figures(&bin, &cache),
        None => println!("process figures skipped: build the binary first (cargo build --release -p wasmesh)"),
    }
    let _ = std::fs::remove_dir_all(cache);
}

fn wasmesh_runtime_request(namespace: &str) -> wasmesh_runtime::types::OperationRequest {
    wasmesh_runtime::types::OperationRequest {
        key: "annotate-namespace".into(),
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

/// target/release/wasmesh, next to this bench's own folder (target/release/deps).
fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("wasmesh");
    bin.is_file().then_some(bin)
}

fn process_figures(bin: &std::path::Path, cache: &std::path::Path) {
    use std::io::{BufRead, BufReader};
    let start = |cache_arg: &[&str]| {
        let t = Instant::now();
        let mut child = std::process::Command::new(bin)
            .args(["--listen", "127.0.0.1"])
            .args(cache_arg)
            .env("RUST_LOG", "warn")
            .env("XDG_STATE_HOME", cache)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start wasmesh");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("wasmesh exited before it was ready (are ports 10000/10001 free?)");
            }
            if line.starts_with("ready in") {
                break;
            }
        }
        (child, t.elapsed())
    };
    let cache_dir = cache.join("process-cache");
    let _ = std::fs::remove_dir_all(&cache_dir);
    let dir = cache_dir.to_str().unwrap();
    let (mut cold, t_cold) = start(&["--cache-dir", dir]);
    let _ = cold.kill();
    let _ = cold.wait();
    let (mut warm, t_warm) = start(&["--cache-dir", dir]);
    println!(
        "process cold start to serving both listeners, empty compile cache: {:.1} ms",
        ms(t_cold)
    );
    println!(
        "process cold start to serving both listeners, warm compile cache: {:.1} ms (target < 300 ms)",
        ms(t_warm)
    );
    std::thread::sleep(Duration::from_millis(500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", warm.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .unwrap_or("VmRSS: unknown")
        .to_string();
    println!(
        "idle resident memory of the host process: {} (target < 64 MiB)",
        rss.trim_start_matches("VmRSS:").trim()
    );
    let _ = warm.kill();
    let _ = warm.wait();
}
