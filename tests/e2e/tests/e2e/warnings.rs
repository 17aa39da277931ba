//! WARN events as the Meshery server keeps them: it stores only the summary of anything that is
//! not an ERROR (CONTRACT.md, "How the server reads events"), so each WARN's summary must name
//! the object and say what the user should do; code, cause and remediation stay for newer UIs.

use kube::api::{Api, Patch, PatchParams};
use wasmesh_e2e::meshery::{EventsResponse, Generation, WARN};
use wasmesh_e2e::{Events, TestCluster, client, request, run, run_ok};

fn warnings(events: &Events, operation_id: &str) -> Vec<EventsResponse> {
    events
        .for_op(operation_id)
        .into_iter()
        .filter(|e| e.event_type == WARN)
        .collect()
}

/// The one WARN of an operation whose summary names `object`.
fn warning_about(events: &Events, operation_id: &str, object: &str) -> EventsResponse {
    let all = warnings(events, operation_id);
    all.iter()
        .find(|e| e.summary.contains(object))
        .cloned()
        .unwrap_or_else(|| panic!("no WARN naming {object}: {:#?}", events.for_op(operation_id)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warn_summaries_name_the_object_and_what_to_do() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("warns").await;
    let kc = [cluster.kubeconfig()];
    wasmesh_e2e::init_log();
    let mut config = wasmesh_e2e::test_config();
    config.limits.max_wait_seconds = 1;
    let host = wasmesh::start(config).await.unwrap();
    let mut linkerd = client(&host, "LINKERD", Generation::Adapter).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    let mut hostile = client(&host, "HOSTILE", Generation::Adapter).await;
    let hostile_events = Events::subscribe(&hostile).await;

    // Fields a person set with kubectl, taken back by an operation.
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(cluster.client().await, ns.name());
    let by_hand = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "taken"},
        "data": {"owner": "kubectl"}});
    api.patch("taken", &PatchParams::apply("kubectl").force(), &Patch::Apply(&by_hand))
        .await
        .unwrap();
    let req = request(
        "custom",
        ns.name(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: taken}\ndata: {owner: linkerd}\n",
        &kc,
    );
    run_ok(&mut linkerd, &linkerd_events, req.clone()).await;
    let w = warning_about(&linkerd_events, &req.operation_id, "ConfigMap \"taken\"");
    assert!(w.summary.contains("taking over fields set by kubectl"), "{w:#?}");
    assert!(
        w.summary.contains(
            "what to do: nothing, if the plugin should own these fields; otherwise change the object only with kubectl"
        ),
        "{w:#?}"
    );
    assert_eq!(w.error_code, "WASMESH-CLUSTER-1016", "the code stays: {w:#?}");

    // A wait that ran out.
    let req = request("long-wait", ns.name(), "", &kc);
    run(&mut hostile, &hostile_events, req.clone()).await;
    let w = warning_about(&hostile_events, &req.operation_id, "ConfigMap \"never-there\"");
    assert!(w.summary.contains("is not ready"), "{w:#?}");
    assert!(
        w.summary.contains(&format!(
            "what to do: look at its status, events and pods (kubectl describe configmap never-there -n {})",
            ns.name()
        )),
        "{w:#?}"
    );
    assert!(
        !w.suggested_remediation.is_empty() && !w.probable_cause.is_empty(),
        "{w:#?}"
    );

    // A plugin's finding (report-error at WARN): a sample app with no control plane to mesh it.
    let req = request("httpbin", ns.name(), "", &kc);
    run_ok(&mut linkerd, &linkerd_events, req.clone()).await;
    let w = warning_about(&linkerd_events, &req.operation_id, "Httpbin");
    assert!(w.summary.contains("without Linkerd proxies"), "{w:#?}");
    assert!(
        w.summary
            .contains("what to do: install Linkerd (operation \"linkerd\"), then restart"),
        "{w:#?}"
    );
    assert_eq!(w.error_code, "WASMESH-LINKERD-1302", "{w:#?}");
    let undo = request("httpbin", ns.name(), "", &kc).deleting(true);
    run_ok(&mut linkerd, &linkerd_events, undo).await;
    host.shutdown().await;
}
