//! A namespace that is being deleted, as a real cluster keeps it for a while (Terminating,
//! refusing new objects): an operation that creates it again waits for it to go, saying so, and
//! a removal of a namespace reports it deleted only once it is gone. Runs on both servers; a
//! finalizer the test holds keeps the namespace Terminating for as long as the test needs.

use kube::api::Api;
use serde_json::json;
use wasmesh_e2e::meshery::{Generation, INFO};
use wasmesh_e2e::{Finalizers, TestCluster, apply_objects, configmap, connect, namespace, request, run};

fn namespace_and_configmap(ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: fresh, namespace: {ns}}}\ndata: {{k: v}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_being_deleted_is_waited_for_then_created_again_and_removals_end_when_it_is_gone() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("terminating").await;
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;
    let held = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "namespace": ns.name(), "finalizers": ["wasmesh.io/test-hold"]}});
    apply_objects(&cluster.client().await, &[held]).await;
    let release = Finalizers::new(&cluster, ns.name(), "held");
    Api::<k8s_openapi::api::core::v1::Namespace>::all(cluster.client().await)
        .delete(ns.name(), &Default::default())
        .await
        .unwrap();

    // The operation waits for the Terminating namespace and says so; once the finalizer is
    // released the namespace goes, and the operation creates it anew with its object.
    let req = request(
        "custom",
        ns.name(),
        &namespace_and_configmap(ns.name()),
        &[cluster.kubeconfig()],
    );
    c.apply(req.clone()).await.unwrap();
    let waiting = events
        .wait_for("the waiting event", |e| {
            e.operation_id == req.operation_id && e.summary.contains("is still being deleted; waiting up to")
        })
        .await;
    assert_eq!(waiting.event_type, INFO, "{waiting:#?}");
    assert!(waiting.summary.contains(ns.name()), "{}", waiting.summary);
    drop(release);
    let done = events.outcome(&req.operation_id).await;
    assert_eq!(done.event_type, INFO, "{done:#?}");
    assert!(
        done.details.contains(&format!(
            "waiting for the earlier deletion of Namespace \"{}\" to finish, applied Namespace",
            ns.name()
        )),
        "{}",
        done.details
    );
    let recreated = namespace(&cluster, ns.name()).await.expect("created again");
    assert!(recreated.metadata.deletion_timestamp.is_none());
    assert!(configmap(&cluster, ns.name(), "fresh").await.is_some());
    assert!(
        configmap(&cluster, ns.name(), "held").await.is_none(),
        "a new namespace"
    );

    // Removing it reports done only when it is gone.
    let undo = request(
        "custom",
        ns.name(),
        &namespace_and_configmap(ns.name()),
        &[cluster.kubeconfig()],
    )
    .deleting(true);
    let done = run(&mut c, &events, undo).await;
    assert_eq!(done.event_type, INFO, "{done:#?}");
    assert!(done.summary.contains("removed"), "{}", done.summary);
    assert!(
        namespace(&cluster, ns.name()).await.is_none(),
        "gone when reported removed"
    );
    host.shutdown().await;
}
