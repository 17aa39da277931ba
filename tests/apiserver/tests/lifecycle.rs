//! Deletion as a real API server carries it out: namespaces go Terminating and refuse new
//! objects until the namespace controller has emptied them, and objects with finalizers stay,
//! marked for deletion, until their finalizers are removed. Each test runs against the built-in
//! server and, with WASMESH_TEST_KUBECONFIG, against a real cluster, and must pass on both.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use wasmesh_test_apiserver::{TestCluster, cleanup};

/// Liveness bound for the cluster's controllers (a real namespace controller takes seconds).
const CONTROLLER_WAIT: Duration = Duration::from_secs(120);

const HOLD: &str = "wasmesh.io/test-hold";

/// Removes the test's finalizer from a ConfigMap when dropped (also when the test fails), so the
/// object and its namespace can go.
struct Release {
    kubeconfig: String,
    namespace: String,
    name: String,
}

impl Drop for Release {
    fn drop(&mut self) {
        let (ns, name) = (self.namespace.clone(), self.name.clone());
        cleanup(self.kubeconfig.clone(), move |client| async move {
            let api: Api<ConfigMap> = Api::namespaced(client, &ns);
            let _ = api
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
                )
                .await;
        });
    }
}

fn configmap(name: &str, finalizers: &[&str]) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "finalizers": finalizers}, "data": {"k": "v"}}))
        .expect("configmap")
}

fn status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other}"),
    }
}

/// Polls `done` until it holds, or panics after CONTROLLER_WAIT naming `what`.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < CONTROLLER_WAIT,
            "{what}: not within {CONTROLLER_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_namespace_terminates_refuses_new_objects_and_waits_for_finalizers() {
    let cluster = TestCluster::start().await;
    let client = cluster.client().await;
    let ns = cluster.namespace("lifecycle").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let pp = PostParams::default();
    cms.create(&pp, &configmap("held", &[HOLD])).await.unwrap();
    let _release = Release {
        kubeconfig: cluster.kubeconfig().to_string(),
        namespace: ns.to_string(),
        name: "held".into(),
    };
    cms.create(&pp, &configmap("plain", &[])).await.unwrap();

    // The DELETE answers with the namespace, now Terminating.
    let deleted = namespaces.delete(&ns, &DeleteParams::background()).await.unwrap();
    let deleted = deleted.left().expect("a namespace delete answers with the namespace");
    assert!(deleted.metadata.deletion_timestamp.is_some());
    assert_eq!(deleted.status.and_then(|s| s.phase).as_deref(), Some("Terminating"));

    // New objects are refused, by create and by server-side apply, with the NamespaceLifecycle
    // message and cause.
    let refused = status(cms.create(&pp, &configmap("new", &[])).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (403, "Forbidden"));
    let message = format!(
        "configmaps \"new\" is forbidden: unable to create new content in namespace {ns} because it is being terminated"
    );
    assert_eq!(refused.message, message);
    let causes = refused.details.expect("details").causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(
        (causes[0].reason.as_str(), causes[0].field.as_str()),
        ("NamespaceTerminating", "metadata.namespace")
    );
    let applied = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "new2"}});
    let refused = status(
        cms.patch(
            "new2",
            &PatchParams::apply("lifecycle-test").force(),
            &Patch::Apply(&applied),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(refused.code, 403);
    assert!(
        refused.message.contains("because it is being terminated"),
        "{}",
        refused.message
    );

    // Creating the namespace again is refused while it is being deleted; applying to it is an
    // update of the Terminating namespace and leaves it Terminating.
    let again: Namespace = serde_json::from_value(json!({"metadata": {"name": ns.name()}})).unwrap();
    let refused = status(namespaces.create(&pp, &again).await.unwrap_err());
    assert_eq!((refused.code, refused.reason.as_str()), (409, "AlreadyExists"));
    assert!(
        refused.message.starts_with("object is being deleted: "),
        "{}",
        refused.message
    );
    let labelled =
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name(), "labels": {"x": "y"}}});
    let still = namespaces
        .patch(
            &ns,
            &PatchParams::apply("lifecycle-test").force(),
            &Patch::Apply(&labelled),
        )
        .await
        .unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    assert_eq!(still.status.and_then(|s| s.phase).as_deref(), Some("Terminating"));

    // Existing objects can still be changed.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": {"k": "w"}})),
    )
    .await
    .unwrap();

    // The namespace controller deletes what it holds; the object with a finalizer stays, marked
    // for deletion, and keeps the namespace.
    eventually("the object without finalizers deleted", || async {
        cms.get_opt("plain").await.unwrap().is_none()
    })
    .await;
    eventually("the held object marked for deletion", || async {
        cms.get("held").await.unwrap().metadata.deletion_timestamp.is_some()
    })
    .await;
    eventually("the namespace saying what remains", || async {
        let n = namespaces.get(&ns).await.unwrap();
        n.status.and_then(|s| s.conditions).unwrap_or_default().iter().any(|c| {
            c.type_ == "NamespaceFinalizersRemaining"
                && c.status == "True"
                && c.message.as_deref().unwrap_or("").contains(HOLD)
        })
    })
    .await;
    assert!(
        namespaces.get_opt(&ns).await.unwrap().is_some(),
        "held by the finalizer"
    );

    // No finalizer may be added to an object being deleted.
    let refused = status(
        cms.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"finalizers": [HOLD, "wasmesh.io/another"]}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));

    // Its last finalizer removed, the object goes, and then the namespace.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    eventually("the held object gone", || async {
        cms.get_opt("held").await.unwrap().is_none()
    })
    .await;
    eventually("the namespace gone", || async {
        namespaces.get_opt(&ns).await.unwrap().is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_with_finalizers_stays_marked_until_they_are_removed() {
    let cluster = TestCluster::start().await;
    let client = cluster.client().await;
    let ns = cluster.namespace("finalizers").await;
    let cms: Api<ConfigMap> = Api::namespaced(client, &ns);
    cms.create(&PostParams::default(), &configmap("held", &[HOLD]))
        .await
        .unwrap();
    let _release = Release {
        kubeconfig: cluster.kubeconfig().to_string(),
        namespace: ns.to_string(),
        name: "held".into(),
    };
    cms.create(&PostParams::default(), &configmap("plain", &[]))
        .await
        .unwrap();

    // Without finalizers a DELETE removes at once and answers with a Status.
    let gone = cms.delete("plain", &DeleteParams::background()).await.unwrap();
    assert!(gone.is_right(), "a Status: {gone:?}");
    assert!(cms.get_opt("plain").await.unwrap().is_none());

    // With one it answers with the object, marked for deletion, which stays readable.
    let marked = cms.delete("held", &DeleteParams::background()).await.unwrap();
    let marked = marked.left().expect("the object, marked for deletion");
    assert!(marked.metadata.deletion_timestamp.is_some());
    assert_eq!(marked.metadata.deletion_grace_period_seconds, Some(0));
    let read = cms.get("held").await.unwrap();
    assert_eq!(read.metadata.deletion_timestamp, marked.metadata.deletion_timestamp);
    // A second DELETE changes nothing.
    let again = cms.delete("held", &DeleteParams::background()).await.unwrap();
    let again = again.left().expect("the object again");
    assert_eq!(again.metadata.deletion_timestamp, marked.metadata.deletion_timestamp);

    // Removing the finalizer completes the deletion.
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"finalizers": []}})),
    )
    .await
    .unwrap();
    eventually("the object gone", || async {
        cms.get_opt("held").await.unwrap().is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_refuses_a_field_a_built_in_kind_does_not_declare() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("typed").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client().await, &ns);
    let with_spec = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "typed", "namespace": ns.name()}, "spec": {"a": 1}});
    let refused = status(
        cms.patch(
            "typed",
            &PatchParams::apply("lifecycle-test").force(),
            &Patch::Apply(&with_spec),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(refused.code, 500);
    assert_eq!(
        refused.message,
        format!(
            "failed to create typed patch object ({ns}/typed; /v1, Kind=ConfigMap): .spec: field not declared in schema"
        )
    );
    assert!(cms.get_opt("typed").await.unwrap().is_none(), "nothing written");
    let declared = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "typed", "namespace": ns.name()}, "data": {"a": "1"}});
    cms.patch(
        "typed",
        &PatchParams::apply("lifecycle-test").force(),
        &Patch::Apply(&declared),
    )
    .await
    .unwrap();
}

/// What `wasmesh deploy`'s objects meet on a dry run (`kubectl apply --server-side
/// --dry-run=server`): a valid object is accepted and nothing is written, an object in a missing
/// namespace is refused as on a real apply, and a field the kind does not declare, however deep,
/// is refused with the path the real server names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_apply_writes_nothing_and_refuses_what_a_real_apply_refuses() {
    use kube::api::{ApiResource, DynamicObject};
    use kube::core::GroupVersionKind;
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("dryrun").await;
    let client = cluster.client().await;
    let labels = json!({"app": "dry"});
    // (kind, plural, valid object, where an undeclared field goes, how the server names it)
    let cases = [
        (
            GroupVersionKind::gvk("apps", "v1", "Deployment"),
            "deployments",
            json!({"spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels, "creationTimestamp": null},
                "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"readOnlyRootFilesystem": true}}]}}}}),
            "/spec/template/spec/containers/0/securityContext",
            ".spec.template.spec.containers[name=\"c\"].securityContext.readOnlyRootFS",
        ),
        (
            GroupVersionKind::gvk("", "v1", "Service"),
            "services",
            json!({"spec": {"selector": labels, "ports": [{"name": "grpc", "port": 10000}], "sessionAffinity": "ClientIP",
                "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}}),
            "/spec/sessionAffinityConfig/clientIP",
            ".spec.sessionAffinityConfig.clientIP.readOnlyRootFS",
        ),
        (
            GroupVersionKind::gvk("policy", "v1", "PodDisruptionBudget"),
            "poddisruptionbudgets",
            json!({"spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}}),
            "/spec/selector",
            ".spec.selector.readOnlyRootFS",
        ),
        (
            GroupVersionKind::gvk("networking.k8s.io", "v1", "NetworkPolicy"),
            "networkpolicies",
            json!({"spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress"]}}),
            "/spec/podSelector",
            ".spec.podSelector.readOnlyRootFS",
        ),
    ];
    let dry = PatchParams::apply("lifecycle-test").force().dry_run();
    for (gvk, plural, body, at, path) in cases {
        let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        let mut obj = body.clone();
        obj["apiVersion"] = json!(ar.api_version);
        obj["kind"] = json!(ar.kind);
        obj["metadata"] = json!({"name": "dry", "namespace": ns.name()});
        let accepted = api.patch("dry", &dry, &Patch::Apply(&obj)).await;
        assert!(accepted.is_ok(), "{plural}: {accepted:?}");
        assert!(
            api.get_opt("dry").await.unwrap().is_none(),
            "{plural}: a dry run wrote it"
        );

        let mut bad = obj.clone();
        bad.pointer_mut(at).unwrap()["readOnlyRootFS"] = json!(true);
        let refused = status(api.patch("dry", &dry, &Patch::Apply(&bad)).await.unwrap_err());
        let gv = match gvk.group.as_str() {
            "" => "/v1".to_string(),
            g => format!("{g}/v1"),
        };
        assert_eq!(
            (refused.code, refused.message),
            (
                500,
                format!(
                    "failed to create typed patch object ({ns}/dry; {gv}, Kind={}): {path}: field not declared in schema",
                    gvk.kind
                )
            ),
            "{plural}"
        );

        let gone = format!("{ns}-missing");
        let elsewhere: Api<DynamicObject> = Api::namespaced_with(client.clone(), &gone, &ar);
        obj["metadata"]["namespace"] = json!(gone);
        let refused = status(elsewhere.patch("dry", &dry, &Patch::Apply(&obj)).await.unwrap_err());
        assert_eq!(
            (refused.code, refused.message),
            (404, format!("namespaces \"{gone}\" not found")),
            "{plural}"
        );
    }
}
