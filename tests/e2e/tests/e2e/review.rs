//! Ways around the grant found by an outside review of 78d4ca4: each one tried on the real gRPC
//! path, by a hostile plugin or by a Meshery user's `custom` body.

use serde_json::json;
use wasmesh_e2e::cluster_objects::{self, Created, v1_resource};
use wasmesh_e2e::meshery::{ERROR, Generation};
use wasmesh_e2e::{ClusterScoped, Events, TestCluster, clear_log, client, request, run, writes};

const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";

/// A Role that holds more than the hostile plugin, and more than the built-in `custom`
/// (whose verbs are listed, never `*`), made by an administrator.
fn powerful_role(kind: &str, name: &str, namespace: Option<&str>) -> serde_json::Value {
    let mut role = json!({"apiVersion": RBAC_V1, "kind": kind, "metadata": {"name": name},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}]});
    if let Some(ns) = namespace {
        role["metadata"]["namespace"] = ns.into();
    }
    role
}

/// The plan binds an existing Role, and applies a harmless Role of that name in a stage that
/// never runs. The host judged the binding by the plan's Role, not by the one that is bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binding_is_not_judged_by_a_role_the_plan_writes_later() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("latebind").await;
    let admin = cluster.client().await;
    let mut created = Created::new(&cluster);
    created
        .apply(&admin, &[powerful_role("Role", "review-powerful", Some(ns.name()))])
        .await;
    let host = wasmesh_e2e::start_host().await;
    let mut c = client(&host, "HOSTILE", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    clear_log(&cluster);
    let e = run(
        &mut c,
        &events,
        request("bind-late-role", ns.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    let binding = cluster_objects::get(&cluster, RBAC_V1, "RoleBinding", Some(ns.name()), "hostile-late").await;
    assert!(
        binding.is_none(),
        "the plugin bound a Role whose rules (get/list secrets) it does not hold: {binding:#?}\nevent: {e:#?}"
    );
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{e:#?}");
    assert_eq!(writes(&cluster), Vec::<String>::new());
    host.shutdown().await;
}

/// A `custom` body (any Meshery user) defines a CRD whose group starts with
/// "rbac.authorization.k8s.io" and whose kind is ClusterRole, applies a harmless object of that
/// kind named like a powerful ClusterRole, and binds the real ClusterRole cluster-wide. The host
/// took the look-alike for the role being bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_look_alike_role_from_the_plans_own_crd_does_not_hide_what_a_binding_grants() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("spoofrole").await;
    let admin = cluster.client().await;
    let role_name = format!("review-powerful-{}", ns.name());
    let binding_name = format!("review-spoof-{}", ns.name());
    let group = "rbac.authorization.k8s.io.review";
    let mut cleanup = ClusterScoped::new(&cluster);
    cleanup.objects.push((
        v1_resource("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings"),
        binding_name.clone(),
    ));
    cleanup.objects.push((
        v1_resource(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        ),
        format!("clusterroles.{group}"),
    ));
    let mut created = Created::new(&cluster);
    created
        .apply(&admin, &[powerful_role("ClusterRole", &role_name, None)])
        .await;
    let body = format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: clusterroles.{group}
spec:
  group: {group}
  scope: Cluster
  names: {{kind: ClusterRole, plural: clusterroles, singular: clusterrole, listKind: ClusterRoleList}}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: {group}/v1
kind: ClusterRole
metadata:
  name: {role_name}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {binding_name}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role_name}}}
subjects:
- {{kind: ServiceAccount, name: default, namespace: {ns}}}
"#,
        ns = ns.name()
    );
    let host = wasmesh_e2e::start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let e = run(
        &mut c,
        &events,
        request("custom", ns.name(), &body, &[cluster.kubeconfig()]),
    )
    .await;
    let binding = cluster_objects::get(&cluster, RBAC_V1, "ClusterRoleBinding", None, &binding_name).await;
    assert!(
        binding.is_none(),
        "custom bound ClusterRole {role_name} (get/list secrets everywhere) without holding it: {binding:#?}\nevent: {e:#?}"
    );
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CAP-DENIED", "{e:#?}");
    host.shutdown().await;
}

/// Issue 11 point 3: namespace label changes are limited to keys the manifest declares. A
/// `custom` body relabels its namespace `pod-security.kubernetes.io/enforce: privileged`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_cannot_lift_pod_security_of_a_namespace() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("podsec").await;
    let body = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n  labels:\n    pod-security.kubernetes.io/enforce: privileged\n",
        ns.name()
    );
    let host = wasmesh_e2e::start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let e = run(
        &mut c,
        &events,
        request("custom", ns.name(), &body, &[cluster.kubeconfig()]),
    )
    .await;
    let labels = wasmesh_e2e::namespace(&cluster, ns.name())
        .await
        .and_then(|n| n.metadata.labels)
        .unwrap_or_default();
    assert_eq!(
        labels.get("pod-security.kubernetes.io/enforce"),
        None,
        "custom lifted the namespace's pod security: {e:#?}"
    );
    host.shutdown().await;
}

/// Issue 11 point 4 for namespace labels: a label step is a merge patch, which never conflicts,
/// so Istio's `label-namespace` silently overwrites a label another plugin's apply owns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_step_does_not_take_a_label_another_plugin_owns() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("labelowner").await;
    let host = wasmesh_e2e::start_host().await;
    let mut linkerd = client(&host, "LINKERD", Generation::Mesh).await;
    let linkerd_events = Events::subscribe(&linkerd).await;
    let body = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n  labels:\n    istio-injection: disabled\n",
        ns.name()
    );
    wasmesh_e2e::run_ok(
        &mut linkerd,
        &linkerd_events,
        request("custom", ns.name(), &body, &[cluster.kubeconfig()]),
    )
    .await;
    let mut istio = client(&host, "ISTIO", Generation::Mesh).await;
    let istio_events = Events::subscribe(&istio).await;
    let e = run(
        &mut istio,
        &istio_events,
        request("label-namespace", ns.name(), "", &[cluster.kubeconfig()]),
    )
    .await;
    let labels = wasmesh_e2e::namespace(&cluster, ns.name())
        .await
        .and_then(|n| n.metadata.labels)
        .unwrap_or_default();
    assert_eq!(
        labels.get("istio-injection").map(String::as_str),
        Some("disabled"),
        "istio took the label wasmesh-linkerd owns: {e:#?}"
    );
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    host.shutdown().await;
}

/// Server-side apply merges: a plan's ClusterRole with no `rules` leaves the existing rules in
/// place, yet the host judges both the role write and the binding by the rules the plan's object
/// names (none). A `custom` body "applies" a powerful ClusterRole with only a label, and binds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_apply_of_a_role_does_not_hide_its_rules_from_the_bind_check() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("partialrole").await;
    let admin = cluster.client().await;
    let role_name = format!("review-powerful-{}", ns.name());
    let binding_name = format!("review-partial-{}", ns.name());
    let mut cleanup = ClusterScoped::new(&cluster);
    cleanup.objects.push((
        v1_resource("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings"),
        binding_name.clone(),
    ));
    let mut created = Created::new(&cluster);
    created
        .apply(&admin, &[powerful_role("ClusterRole", &role_name, None)])
        .await;
    let body = format!(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {role_name}
  labels: {{review: partial}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {binding_name}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role_name}}}
subjects:
- {{kind: ServiceAccount, name: default, namespace: {ns}}}
"#,
        ns = ns.name()
    );
    let host = wasmesh_e2e::start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let e = run(
        &mut c,
        &events,
        request("custom", ns.name(), &body, &[cluster.kubeconfig()]),
    )
    .await;
    let binding = cluster_objects::get(&cluster, RBAC_V1, "ClusterRoleBinding", None, &binding_name).await;
    let role = cluster_objects::get(&cluster, RBAC_V1, "ClusterRole", None, &role_name).await;
    assert!(
        binding.is_none(),
        "custom bound {role_name}, whose rules stayed {:?}: {e:#?}",
        role.map(|r| r["rules"].clone())
    );
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    host.shutdown().await;
}
