//! Answers that are small in the plugin's memory and huge once copied: lists whose strings all
//! point at the same 16 MiB of the guest's memory (in a plan, nested in its label lists, in an
//! error, in a design's answer and in the design kinds it registers), and a list of a million
//! empty stages. The host counts what it would copy before copying it: each is refused as a
//! failure of its own call (WASMESH-RUNTIME-1006), the host's memory stays flat, and the next
//! normal call on the same listener succeeds.

use std::time::Duration;

use wasmesh::config::PluginConfig;
use wasmesh_e2e::meshery::{ERROR, Generation, INFO, ProvisionRequest};
use wasmesh_e2e::meshery_server::RegistrationServer;
use wasmesh_e2e::{
    ALIASED_WASM, EVENT_WAIT, Events, TestCluster, client, configmap, host_log, init_log, request, run_ok, test_config,
};

const CODE: &str = "WASMESH-RUNTIME-1006";

/// A field of /proc/self/status, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Resets the process's peak resident size (VmHWM) to its current size and returns that size;
/// None where the kernel does not allow it (the peak then counts from the process's start).
fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    Some(status_kib("VmRSS:"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_that_alias_guest_memory_are_refused_before_they_are_copied() {
    init_log();
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("lift").await;
    let kc = [cluster.kubeconfig()];
    let server = RegistrationServer::start().await;
    let mut config = test_config();
    config.plugins = vec![PluginConfig::file("aliased", Some(ALIASED_WASM.into()), 0)];
    // The design kinds are lifted when the plugin's registration starts.
    config.meshery_server = Some(server.url());
    config.advertise_host = Some("wasmesh.meshery.svc".into());
    // What the host copies per call: twice max_plan_bytes (8 MiB here), at least 32 MiB.
    let limit = format!("({} MiB,", config.limits.max_result_bytes() >> 20);
    assert_eq!(limit, "(32 MiB,");

    // Every refused answer below would copy at least 64 MiB, most of them terabytes.
    let baseline = reset_peak_rss();
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ALIASED", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;

    for (i, op) in ["aliased-plan", "aliased-labels", "aliased-error", "long-list"]
        .into_iter()
        .enumerate()
    {
        let req = request(op, ns.name(), "", &kc);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{op}: {e:#?}");
        assert_eq!(e.error_code, CODE, "{op}: {e:#?}");
        assert!(
            e.summary.contains("plugin aliased: plan handed the host more"),
            "{op}: {e:#?}"
        );
        assert!(e.summary.contains(&limit), "{op}: {e:#?}");
        assert!(
            e.probable_cause.iter().any(|c| c.contains("point at the same memory")),
            "{e:#?}"
        );
        assert!(
            e.suggested_remediation
                .iter()
                .any(|r| r.contains("limits.max_plan_bytes")),
            "{e:#?}"
        );

        // The same listener still serves a normal operation.
        let name = format!("after-{i}");
        let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
        run_ok(&mut c, &events, request("custom", ns.name(), &body, &kc)).await;
        assert!(configmap(&cluster, ns.name(), &name).await.is_some(), "after {op}");
    }

    // A design whose answer aliases: refused; a normal design right after is deployed.
    let provision = |name: &str| ProvisionRequest {
        username: "e2e".into(),
        delete_op: false,
        declarations: vec![
            serde_json::json!({
                "schemaVersion": "components.meshery.io/v1beta1",
                "displayName": name,
                "component": {"version": "v1", "kind": "ConfigMap"},
                "model": {"name": "kubernetes"},
                "configuration": {"metadata": {"name": name, "namespace": ns.name()}, "data": {"k": "v"}},
            })
            .to_string(),
        ],
        kube_configs: kc.iter().map(|k| k.to_string()).collect(),
    };
    let refused = c.provision(provision("aliased")).await;
    let status = refused.expect_err("the aliased design fails");
    assert!(status.message().contains("handed the host more"), "{status:?}");
    let e = events
        .wait_for("the aliased design's ERROR", |e| {
            e.event_type == ERROR && e.summary.contains("provision handed the host more")
        })
        .await;
    assert_eq!(e.error_code, CODE, "{e:#?}");
    let message = c.provision(provision("after-design")).await.expect("a normal design");
    assert!(message.contains("applied ConfigMap \"after-design\""), "{message}");
    assert!(configmap(&cluster, ns.name(), "after-design").await.is_some());

    // The design kinds: refused, logged, nothing registered; the adapter serves all the same.
    let said = "plugin aliased: design-kinds handed the host more";
    let deadline = tokio::time::Instant::now() + EVENT_WAIT;
    while !host_log().contains(said) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {said:?} in the log:\n{}",
            host_log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let line = host_log().lines().find(|l| l.contains(said)).unwrap().to_string();
    assert!(
        line.contains("registers nothing with the Meshery server") && line.contains(&limit),
        "{line}"
    );
    assert!(server.accepted().is_empty(), "{:?}", server.accepted());
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: after-kinds\n";
    let done = run_ok(&mut c, &events, request("custom", ns.name(), body, &kc)).await;
    assert_eq!(done.event_type, INFO);

    // The host copied at most a few times the limit, not the terabytes asked for. Other tests of
    // this process may run meanwhile, hence the generous bound.
    // Where the peak cannot be reset, it counts from the process's start.
    let peak = status_kib("VmHWM:");
    let grown_mib = peak.saturating_sub(baseline.unwrap_or(0)) >> 10;
    eprintln!("peak resident size grew by {grown_mib} MiB (from {baseline:?} KiB to {peak} KiB)");
    let bound = if baseline.is_some() { 512 } else { 2048 };
    assert!(
        grown_mib < bound,
        "the host's peak resident size grew by {grown_mib} MiB"
    );
    host.shutdown().await;
}
