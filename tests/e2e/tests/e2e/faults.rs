//! Faults of the API server in the middle of real installs and designs, through gRPC as Meshery
//! sends them: on every step kind (apply, delete, namespace metadata, wait) and on the plugins'
//! reads. A fault that passes is retried and noted; one that lasts fails the operation with a
//! final event (or Provision answer) listing what was done, what failed (with the API server's
//! reason) and what was not attempted; running the operation again once the fault has cleared
//! ends in the same objects as a run without faults.
//!
//! The faults are aimed at single requests of the built-in API server, so these tests always use
//! it (`TestCluster::built_in`), whatever WASMESH_TEST_KUBECONFIG says.

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};
use wasmesh_e2e::meshery::{ERROR, EventsResponse, Generation, INFO, ProvisionRequest, WARN};
use wasmesh_e2e::{Events, TestCluster, client, connect, op, request, run, run_ok, start_host, undo};
use wasmesh_test_apiserver::Fault;

const ISTIOD: &str = "/apis/apps/v1/namespaces/istio-system/deployments/istiod";
const CRDS: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const LINKERD_IDENTITY: &str = "/apis/apps/v1/namespaces/linkerd/deployments/linkerd-identity";

fn server(cluster: &TestCluster) -> &wasmesh_test_apiserver::ApiServer {
    cluster.server().expect("the built-in API server")
}

/// The retry events of an operation (one per retried request, as it is decided).
fn retry_events(events: &Events, operation_id: &str) -> Vec<EventsResponse> {
    events
        .for_op(operation_id)
        .into_iter()
        .filter(|e| e.summary.contains(", retry "))
        .collect()
}

/// Every object a wasmesh plugin manages on the cluster, keyed by kind, namespace and name,
/// without what the API server sets itself (resourceVersion, uid, timestamps, managedFields,
/// status) and with generated keys and certificates masked (Linkerd makes new ones per install).
async fn managed_objects(cluster: &TestCluster) -> BTreeMap<String, Value> {
    let client = cluster.client().await;
    let discovery = kube::discovery::Discovery::new(client.clone())
        .run()
        .await
        .expect("discovery");
    let mut out = BTreeMap::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if !caps.supports_operation(kube::discovery::verbs::LIST) {
                continue;
            }
            let list = Api::<DynamicObject>::all_with(client.clone(), &ar)
                .list(&ListParams::default())
                .await
                .unwrap_or_else(|e| panic!("list {}: {e}", ar.plural));
            for o in list.items {
                let managed = o
                    .metadata
                    .managed_fields
                    .iter()
                    .flatten()
                    .any(|m| m.manager.as_deref().is_some_and(|m| m.starts_with("wasmesh-")));
                if !managed {
                    continue;
                }
                let key = format!(
                    "{} {} {}/{}",
                    ar.api_version,
                    ar.kind,
                    o.metadata.namespace.as_deref().unwrap_or(""),
                    o.metadata.name.as_deref().unwrap_or("")
                );
                let mut v = serde_json::to_value(&o).unwrap();
                let meta = v["metadata"].as_object_mut().unwrap();
                for volatile in [
                    "resourceVersion",
                    "uid",
                    "creationTimestamp",
                    "managedFields",
                    "generation",
                ] {
                    meta.remove(volatile);
                }
                v.as_object_mut().unwrap().remove("status");
                mask_generated(&mut v);
                out.insert(key, v);
            }
        }
    }
    out
}

/// Certificates, keys and values derived from them are new in every fresh install.
fn mask_generated(v: &mut Value) {
    match v {
        // PEM, or base64 of a text holding PEM ("-----BEGIN" at any of the three alignments).
        Value::String(s)
            if ["-----BEGIN", "LS0tLS1CRUdJ", "tLS0tQkVHSU", "LS0tLUJFR0lO"]
                .iter()
                .any(|p| s.contains(p)) =>
        {
            *s = "<generated>".into();
        }
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                // Webhook CA bundles (base64 PEM), checksums of generated material.
                if k == "caBundle" || k.contains("checksum") || k.contains("sha256") || k.ends_with("config-hash") {
                    *x = json!("<generated>");
                } else {
                    mask_generated(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask_generated),
        _ => {}
    }
}

/// Fails with the first difference between two clusters' managed objects.
fn assert_same_objects(faulted: &BTreeMap<String, Value>, clean: &BTreeMap<String, Value>) {
    let only = |a: &BTreeMap<String, Value>, b: &BTreeMap<String, Value>| -> Vec<String> {
        a.keys().filter(|k| !b.contains_key(*k)).cloned().collect()
    };
    assert_eq!(
        (only(faulted, clean), only(clean, faulted)),
        (vec![], vec![]),
        "objects only after the faulted run, only after the clean run"
    );
    for (k, v) in faulted {
        assert_eq!(v, &clean[k], "{k} differs");
    }
    assert!(!faulted.is_empty(), "nothing was compared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_faults_on_every_step_kind_are_retried_and_noted() {
    let cluster = TestCluster::built_in();
    let api = server(&cluster);
    let (host, mut c, events) = connect("ISTIO", Generation::Adapter).await;

    // Install: a plugin read, applies, a CRD wait and a workload wait each meet one fault.
    let faults = [
        (
            "read",
            api.inject(Fault::on("GET", "/apis/apiregistration.k8s.io/v1/apiservices/*").status(503)),
        ),
        ("apply 429", api.inject(Fault::on("PATCH", ISTIOD).throttle(1))),
        (
            "apply drop",
            api.inject(Fault::on("PATCH", "/api/v1/namespaces/istio-system/configmaps/istio").drop_connection()),
        ),
        // The apply of a CRD reads it first (is it being deleted?); the wait reads it second.
        (
            "CRD wait",
            api.inject(
                Fault::on("GET", &format!("{CRDS}/virtualservices.networking.istio.io"))
                    .nth(2)
                    .status_retry_after(504, 1),
            ),
        ),
        ("workload wait", api.inject(Fault::on("GET", ISTIOD).status(503))),
    ];
    let install = op("istio", "default", &cluster);
    let done = run_ok(&mut c, &events, install.clone()).await;
    for (what, id) in faults {
        assert_eq!(api.hits(id), 1, "{what}: the fault was not met");
    }
    let retried: Vec<&str> = done.details.lines().filter(|l| l.contains("[retried:")).collect();
    assert!(
        retried.iter().any(|l| l.starts_with("applied Deployment \"istiod\"")
            && l.contains("apply: 429 TooManyRequests, retry 1 of 4 after 1.0 s as the server asked")),
        "{retried:#?}"
    );
    assert!(
        retried
            .iter()
            .any(|l| l.starts_with("applied ConfigMap \"istio\"") && l.contains("apply: no answer")),
        "{retried:#?}"
    );
    assert!(
        retried
            .iter()
            .any(|l| l.starts_with("CustomResourceDefinition \"virtualservices.networking.istio.io\" is ready [retried: get: 504 Timeout, retry 1 of 4 after 1.0 s as the server asked]")),
        "the CRD wait: {retried:#?}"
    );
    assert!(
        retried.iter().any(
            |l| l.starts_with("Deployment \"istiod\" in namespace \"istio-system\" is ready")
                && l.contains("get: 503 ServiceUnavailable")
        ),
        "the workload wait: {retried:#?}"
    );
    // Each retry was told as it happened, the read's too.
    let told = retry_events(&events, &install.operation_id);
    assert!(told.iter().all(|e| e.event_type == INFO), "{told:#?}");
    assert!(
        told.iter()
            .any(|e| e.summary.starts_with("reading the cluster: get APIService") && e.summary.contains("503")),
        "{told:#?}"
    );
    assert_eq!(told.len(), 5, "{told:#?}");

    // Namespace metadata: the label patch meets a 503 once.
    let user = cluster.namespace("faults-label").await;
    let patch = api.inject(Fault::on("PATCH", &format!("/api/v1/namespaces/{user}")).status(503));
    let label = request("label-namespace", &user, "", &[cluster.kubeconfig()]);
    let done = run_ok(&mut c, &events, label).await;
    assert_eq!(api.hits(patch), 1);
    assert!(
        done.details.contains("patch: 503 ServiceUnavailable, retry 1 of 4"),
        "{done:#?}"
    );
    let labels = wasmesh_e2e::namespace(&cluster, &user)
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap();
    assert_eq!(labels["istio-injection"], "enabled");

    // Delete: the uninstall's delete of istiod loses its connection once.
    let delete = api.inject(Fault::on("DELETE", ISTIOD).drop_connection());
    let done = run_ok(&mut c, &events, undo("istio", "default", &cluster)).await;
    assert_eq!(api.hits(delete), 1);
    assert!(
        done.details
            .lines()
            .any(|l| l.contains("Deployment \"istiod\"") && l.contains("delete: no answer")),
        "{done:#?}"
    );
    assert!(
        wasmesh_e2e::cluster_objects::get(&cluster, "apps/v1", "Deployment", Some("istio-system"), "istiod")
            .await
            .is_none()
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_fault_fails_the_install_saying_what_was_done_and_a_rerun_converges() {
    let cluster = TestCluster::built_in();
    let api = server(&cluster);
    let (host, mut c, events) = connect("ISTIO", Generation::Adapter).await;
    let lasting = api.inject(Fault::on("PATCH", ISTIOD).status(503).always());
    let install = op("istio", "default", &cluster);
    let failed = run(&mut c, &events, install.clone()).await;
    assert_eq!(failed.event_type, ERROR, "{failed:#?}");
    assert_eq!(api.hits(lasting), 5, "the policy's five tries");
    assert_eq!(failed.error_code, "WASMESH-CLUSTER-1007");
    assert!(
        failed.summary.contains(" failed (") && failed.summary.contains("503 ServiceUnavailable"),
        "{failed:#?}"
    );
    assert!(failed.summary.contains("tried 5 times"), "{failed:#?}");
    assert!(
        failed
            .probable_cause
            .iter()
            .any(|c| c.contains("lasted through every retry")),
        "{failed:#?}"
    );
    let details = &failed.details;
    for heading in ["done (", "failed (1):", "not attempted ("] {
        assert!(details.contains(heading), "{heading}: {details}");
    }
    assert!(
        details.contains("not applied (failed): Deployment \"istiod\" in namespace \"istio-system\""),
        "{details}"
    );
    assert!(details.contains("applied CustomResourceDefinition"), "{details}");
    // Nothing after the failure reads as done, and no success follows.
    let after = details.split("not attempted (").nth(1).unwrap();
    assert!(after.lines().skip(1).all(|l| l.starts_with("not ")), "{after}");
    assert!(
        events
            .for_op(&install.operation_id)
            .iter()
            .all(|e| !e.details.starts_with("cluster \"") || e.event_type == ERROR),
        "a success event after the failure"
    );

    // The fault clears: the same operation finishes, and ends where a run without faults ends.
    api.clear_faults();
    run_ok(&mut c, &events, op("istio", "default", &cluster)).await;
    let clean = TestCluster::built_in();
    run_ok(&mut c, &events, op("istio", "default", &clean)).await;
    assert_same_objects(&managed_objects(&cluster).await, &managed_objects(&clean).await);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_install_faults_conflicts_are_not_retried_and_a_lost_wait_converges() {
    let cluster = TestCluster::built_in();
    let api = server(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Mesh).await;
    let linkerd = |cluster: &TestCluster| op("linkerd", "default", cluster);

    // A conflict with another plugin's fields is reported at once: not retried, not forced.
    let conflict = api.inject(
        Fault::on("PATCH", "/api/v1/namespaces/linkerd/configmaps/linkerd-config")
            .conflict("wasmesh-istio")
            .always(),
    );
    let failed = run(&mut c, &events, linkerd(&cluster)).await;
    assert_eq!(failed.event_type, ERROR, "{failed:#?}");
    assert_eq!(failed.error_code, "WASMESH-CLUSTER-1006");
    assert_eq!(api.hits(conflict), 1, "a conflict is never sent again");
    assert!(failed.summary.contains("wasmesh-istio"), "{failed:#?}");
    api.clear_faults();

    // A conflict with kubectl's fields is taken over, with a WARN naming kubectl.
    let kubectl =
        api.inject(Fault::on("PATCH", "/api/v1/namespaces/linkerd/configmaps/linkerd-config").conflict("kubectl"));
    let again = linkerd(&cluster);
    run_ok(&mut c, &events, again.clone()).await;
    assert_eq!(api.hits(kubectl), 1);
    assert!(
        events
            .for_op(&again.operation_id)
            .iter()
            .any(|e| e.event_type == WARN && e.summary.contains("taking over fields set by kubectl")),
        "{:#?}",
        events.for_op(&again.operation_id)
    );

    // A wait whose reads keep losing their connection fails the install after five tries.
    let _ = run_ok(&mut c, &events, linkerd(&cluster).deleting(true)).await;
    let lost = api.inject(Fault::on("GET", LINKERD_IDENTITY).drop_connection().always());
    let failed = run(&mut c, &events, linkerd(&cluster)).await;
    assert_eq!(failed.event_type, ERROR, "{failed:#?}");
    assert_eq!(api.hits(lost), 5);
    assert_eq!(failed.error_code, "WASMESH-CLUSTER-1002", "{failed:#?}");
    assert!(failed.details.contains("failed (1):"), "{}", failed.details);
    assert!(
        failed
            .details
            .contains("Deployment \"linkerd-identity\" in namespace \"linkerd\""),
        "{}",
        failed.details
    );
    api.clear_faults();
    run_ok(&mut c, &events, linkerd(&cluster)).await;
    let clean = TestCluster::built_in();
    run_ok(&mut c, &events, linkerd(&clean)).await;
    assert_same_objects(&managed_objects(&cluster).await, &managed_objects(&clean).await);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_design_under_faults_answers_what_was_done_and_converges_when_deployed_again() {
    let cluster = TestCluster::built_in();
    let api = server(&cluster);
    let host = start_host().await;
    let mut newest = client(&host, "LINKERD", Generation::Adapter).await;
    let ns = cluster.namespace("faults-design").await;
    let design = |cluster: &TestCluster| {
        ProvisionRequest {
        username: "e2e".into(),
        delete_op: false,
        declarations: vec![
            json!({
                "schemaVersion": "components.meshery.io/v1beta1",
                "displayName": "linkerd",
                "component": {"kind": "LinkerdMesh"},
                "model": {"name": "linkerd"},
                "configuration": {"metadata": {"name": "linkerd", "namespace": "linkerd"}, "spec": {"version": "stable-2.14.10"}},
            })
            .to_string(),
            json!({
                "schemaVersion": "components.meshery.io/v1beta1",
                "displayName": "settings",
                "component": {"version": "v1", "kind": "ConfigMap"},
                "model": {"name": "kubernetes"},
                "configuration": {"metadata": {"name": "settings", "namespace": ns.name()}, "data": {"k": "v"}},
            })
            .to_string(),
        ],
        kube_configs: vec![cluster.kubeconfig().to_string()],
    }
    };

    // A 429 in the APF filter's plain-text form, then a 503: retried, and the answer says so.
    let throttled = api.inject(Fault::on("PATCH", LINKERD_IDENTITY).throttle(1));
    let busy = api.inject(Fault::on("PATCH", "/api/v1/namespaces/*/configmaps/settings").status(503));
    let message = newest
        .provision(design(&cluster))
        .await
        .expect("deployed after retries");
    assert_eq!((api.hits(throttled), api.hits(busy)), (1, 1));
    assert!(
        message
            .lines()
            .any(|l| l.starts_with("applied Deployment \"linkerd-identity\"")
                && l.contains("429 TooManyRequests, retry 1 of 4 after 1.0 s as the server asked")),
        "{message}"
    );
    assert!(
        message.contains("apply: 503 ServiceUnavailable, retry 1 of 4"),
        "{message}"
    );

    // The ConfigMap's apply keeps failing: the answer is an error listing what was done.
    let lasting = api.inject(
        Fault::on("PATCH", "/api/v1/namespaces/*/configmaps/settings")
            .status_retry_after(503, 1)
            .always(),
    );
    let status = newest
        .provision(design(&cluster))
        .await
        .expect_err("a design that failed is an error");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    assert_eq!(api.hits(lasting), 5);
    let message = status.message();
    for heading in ["done (", "failed (1):"] {
        assert!(message.contains(heading), "{heading}: {message}");
    }
    assert!(
        message.contains(&format!(
            "not applied (failed): ConfigMap \"settings\" in namespace \"{ns}\": apply ConfigMap \"settings\" in namespace \"{ns}\" was refused by the API server: injected failure (503) (503 ServiceUnavailable) (tried 5 times)"
        )),
        "{message}"
    );

    api.clear_faults();
    newest
        .provision(design(&cluster))
        .await
        .expect("deployed once the fault cleared");
    let clean = TestCluster::built_in();
    // The same namespace name on the clean cluster, so the objects compare.
    kube::Api::<k8s_openapi::api::core::v1::Namespace>::all(clean.client().await)
        .create(
            &Default::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns.name()}})).unwrap(),
        )
        .await
        .unwrap();
    newest.provision(design(&clean)).await.expect("clean deploy");
    assert_same_objects(&managed_objects(&cluster).await, &managed_objects(&clean).await);
    host.shutdown().await;
}
