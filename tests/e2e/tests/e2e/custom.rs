//! `custom`, `annotate-namespace` and `label-namespace` really change an API server reached
//! over HTTPS, on one cluster or several at once.

use wasmesh_e2e::meshery::{Generation, INFO};
use wasmesh_e2e::{Events, TestCluster, client, configmap, namespace, request, start_host};

fn two_configmaps(explicit_ns: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\ndata:\n  greeting: hello\n---\n# a comment-only document is skipped\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: second\n  namespace: {explicit_ns}\ndata:\n  n: \"2\"\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_applies_then_deletes() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("custom").await;
    let host = start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;

    let req = request("custom", ns.name(), &two_configmaps(ns.name()), &[cluster.kubeconfig()]);
    let resp = c.apply(req.clone()).await.unwrap();
    assert_eq!(resp.operation_id, req.operation_id);
    let done = events.outcome(&req.operation_id).await;
    assert_eq!(done.event_type, INFO, "{done:?}");
    assert_eq!(done.summary, "Custom YAML applied (2 objects)");
    assert_eq!(done.component, "adapter");
    assert_eq!(done.component_name, "LINKERD");
    assert!(
        done.details
            .contains(&format!("applied ConfigMap \"first\" in namespace \"{}\"", ns.name())),
        "{}",
        done.details
    );
    let first = configmap(&cluster, ns.name(), "first").await.expect("first exists");
    assert_eq!(first["greeting"], "hello");
    assert!(configmap(&cluster, ns.name(), "second").await.is_some());

    // The objects carry wasmesh's field manager: written with server-side apply.
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(cluster.client().await, ns.name());
    let cm = api.get("first").await.unwrap();
    let managers: Vec<_> = cm
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(managers.contains(&"wasmesh-linkerd".to_string()), "{managers:?}");

    let mut del = request("custom", ns.name(), &two_configmaps(ns.name()), &[cluster.kubeconfig()]);
    del.delete_op = true;
    c.apply(del.clone()).await.unwrap();
    let done = events.outcome(&del.operation_id).await;
    assert_eq!(done.event_type, INFO, "{done:?}");
    assert_eq!(done.summary, "Custom YAML removed (2 objects)");
    assert!(configmap(&cluster, ns.name(), "first").await.is_none());
    assert!(configmap(&cluster, ns.name(), "second").await.is_none());

    // Deleting again tolerates absence.
    let mut again = del.clone();
    again.operation_id = uuid::Uuid::new_v4().to_string();
    c.apply(again.clone()).await.unwrap();
    let done = events.outcome(&again.operation_id).await;
    assert_eq!(done.event_type, INFO, "{done:?}");
    assert!(done.details.contains("was already absent"), "{}", done.details);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_on_two_clusters_at_once() {
    let (a, b) = (TestCluster::start().await, TestCluster::start().await);
    let host = start_host().await;
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    // The body creates its own namespace, so it exists on both clusters.
    let ns = format!("wasmesh-e2e-two-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let body = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: both\n  namespace: {ns}\ndata:\n  k: v\n"
    );

    let req = request("custom", &ns, &body, &[a.kubeconfig(), b.kubeconfig()]);
    c.apply(req.clone()).await.unwrap();
    let total = events
        .wait_for("the total over both clusters", |e| {
            e.operation_id == req.operation_id && e.summary.contains("clusters")
        })
        .await;
    assert_eq!(total.event_type, INFO, "{total:?}");
    assert_eq!(total.summary, "custom succeeded on all 2 clusters");
    let per_cluster: Vec<_> = events
        .for_op(&req.operation_id)
        .into_iter()
        .filter(|e| e.details.starts_with("cluster \""))
        .collect();
    assert_eq!(per_cluster.len(), 2, "one event per cluster: {per_cluster:#?}");
    for cluster in [&a, &b] {
        assert!(configmap(cluster, &ns, "both").await.is_some());
    }

    let mut del = request("custom", &ns, &body, &[a.kubeconfig(), b.kubeconfig()]);
    del.delete_op = true;
    c.apply(del.clone()).await.unwrap();
    let total = events
        .wait_for("the removal", |e| {
            e.operation_id == del.operation_id && e.summary.contains("clusters")
        })
        .await;
    assert_eq!(total.event_type, INFO, "{total:?}");
    for cluster in [&a, &b] {
        assert!(namespace(cluster, &ns).await.is_none(), "namespace removed last");
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_injection_operations_create_set_and_undo() {
    let cluster = TestCluster::start().await;
    let host = start_host().await;
    let mut linkerd = client(&host, "LINKERD", Generation::Adapter).await;
    let mut istio = client(&host, "ISTIO", Generation::Mesh).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    let istio_events = Events::subscribe(&istio).await;
    // A namespace that does not exist yet: the operation creates it.
    let guard = cluster.namespace("inject").await;
    let ns = format!("{}-new", guard.name());

    let req = request("annotate-namespace", &ns, "", &[cluster.kubeconfig()]);
    linkerd.apply(req.clone()).await.unwrap();
    assert_eq!(linkerd_events.outcome(&req.operation_id).await.event_type, INFO);
    let n = namespace(&cluster, &ns).await.expect("namespace created");
    assert_eq!(
        n.metadata
            .annotations
            .unwrap_or_default()
            .get("linkerd.io/inject")
            .map(String::as_str),
        Some("enabled")
    );

    let req = request("label-namespace", &ns, "", &[cluster.kubeconfig()]);
    istio.apply(req.clone()).await.unwrap();
    assert_eq!(istio_events.outcome(&req.operation_id).await.event_type, INFO);
    let n = namespace(&cluster, &ns).await.unwrap();
    assert_eq!(
        n.metadata
            .labels
            .clone()
            .unwrap_or_default()
            .get("istio-injection")
            .map(String::as_str),
        Some("enabled")
    );
    assert_eq!(
        n.metadata
            .annotations
            .unwrap_or_default()
            .get("linkerd.io/inject")
            .map(String::as_str),
        Some("enabled"),
        "labelling keeps the other adapter's annotation"
    );

    let mut undo = request("annotate-namespace", &ns, "", &[cluster.kubeconfig()]);
    undo.delete_op = true;
    linkerd.apply(undo.clone()).await.unwrap();
    assert_eq!(linkerd_events.outcome(&undo.operation_id).await.event_type, INFO);
    let mut undo = request("label-namespace", &ns, "", &[cluster.kubeconfig()]);
    undo.delete_op = true;
    istio.apply(undo.clone()).await.unwrap();
    assert_eq!(istio_events.outcome(&undo.operation_id).await.event_type, INFO);
    let n = namespace(&cluster, &ns).await.expect("the namespace itself stays");
    assert!(
        !n.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("linkerd.io/inject")
    );
    assert!(!n.metadata.labels.unwrap_or_default().contains_key("istio-injection"));

    let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(cluster.client().await);
    api.delete(&ns, &Default::default()).await.unwrap();
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_applies_a_crd_waits_for_it_then_applies_its_objects() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("crd").await;
    let host = start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    // A group of its own, so parallel runs on a shared cluster do not meet.
    let group = format!("e2e{}.wasmesh.io", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let body = format!(
        "apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n---\n\
apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{group}\nspec:\n  group: {group}\n  scope: Namespaced\n  names: {{plural: widgets, singular: widget, kind: Widget}}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
    );
    let req = request("custom", ns.name(), &body, &[cluster.kubeconfig()]);
    c.apply(req.clone()).await.unwrap();
    let e = events.outcome(&req.operation_id).await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    // The CRD first, then the wait, then the object, whatever the order in the body.
    let lines: Vec<&str> = e.details.lines().collect();
    let crd = lines
        .iter()
        .position(|l| l.starts_with("applied CustomResourceDefinition"))
        .expect("CRD applied");
    let ready = lines
        .iter()
        .position(|l| l.contains("is ready"))
        .expect("CRD waited for");
    let widget = lines
        .iter()
        .position(|l| l.starts_with("applied Widget \"w1\""))
        .expect("widget applied");
    assert!(crd < ready && ready < widget, "{lines:#?}");

    let gvk = kube::core::GroupVersionKind::gvk(&group, "v1", "Widget");
    let (ar, _) = kube::discovery::pinned_kind(&cluster.client().await, &gvk)
        .await
        .unwrap();
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(cluster.client().await, ns.name(), &ar);
    assert_eq!(api.get("w1").await.unwrap().data["spec"]["size"], 3);

    let mut del = request("custom", ns.name(), &body, &[cluster.kubeconfig()]);
    del.delete_op = true;
    c.apply(del.clone()).await.unwrap();
    let e = events.outcome(&del.operation_id).await;
    assert_eq!(e.event_type, INFO, "{e:#?}");
    host.shutdown().await;
}
