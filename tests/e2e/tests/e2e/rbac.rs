//! `wasmesh rbac` on an API server that enforces RBAC: the generated objects let the host act as
//! a plugin's ServiceAccount (by impersonation) within the plugin's grant, and nothing more.
//! Needs token minting, so it runs on the built-in API server only.

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use serde_json::json;
use wasmesh::grant::rbac::{NamespaceScope, PluginRbac, RbacOptions, objects};
use wasmesh::grant::rule;
use wasmesh_e2e::{ClusterScoped, TestCluster, apply_objects};

fn short_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}

/// A client authenticated with `token` that sends `Impersonate-User: {user}` when given one.
async fn client_as(cluster: &TestCluster, token: &str, impersonate: Option<&str>) -> kube::Client {
    let server = cluster.server().expect("built-in server");
    let mut kc = kube::config::Kubeconfig::from_yaml(&server.kubeconfig_for_token(token)).expect("kubeconfig");
    if let Some(user) = impersonate {
        kc.auth_infos[0].auth_info.as_mut().expect("auth info").impersonate = Some(user.to_string());
    }
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kube config");
    kube::Client::try_from(config).expect("kube client")
}

fn configmap(name: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"from": "wasmesh"},
    }))
    .expect("configmap")
}

fn configmaps() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "ConfigMap"), "configmaps")
}

fn namespaces() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Namespace"), "namespaces")
}

fn cluster_roles() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "ClusterRole"),
        "clusterroles",
    )
}

/// Asserts a 403 Forbidden and returns its message.
#[track_caller]
fn forbidden<T: std::fmt::Debug>(what: &str, result: kube::Result<T>) -> String {
    match result {
        Err(kube::Error::Api(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"), "{what}: {s:?}");
            s.message
        }
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_rbac_confines_the_host_to_the_plugin_grant() {
    let cluster = TestCluster::start().await;
    let Some(server) = cluster.server() else {
        println!("skipped: needs the built-in API server to mint ServiceAccount tokens");
        return;
    };
    let accounts_ns = cluster.namespace("wasmesh-sa").await;
    let request_ns = cluster.namespace("rbac").await;
    let other_ns = cluster.namespace("rbac-other").await;
    let listed_ns = cluster.namespace("rbac-listed").await;
    let id = short_id();
    let plugin = format!("linkerd-{id}");
    let plugin_sa = format!("wasmesh-linkerd-{id}");
    let host_sa = "wasmesh-host";

    // The built-in Linkerd plugin's rules, narrowed to the request's namespace, plus a read-only
    // rule for one listed namespace.
    let rules = vec![
        rule(
            &[""],
            &["namespaces"],
            &["get", "create", "patch"],
            NamespaceScope::Cluster,
        ),
        rule(
            &["*"],
            &["*"],
            &["get", "list", "create", "patch", "delete"],
            NamespaceScope::Request,
        ),
        rule(
            &[""],
            &["configmaps"],
            &["get", "list"],
            NamespaceScope::Listed(vec![listed_ns.to_string()]),
        ),
    ];
    let request_namespaces = vec![request_ns.to_string()];
    let options = RbacOptions {
        namespace: accounts_ns.name(),
        host_service_account: host_sa,
        request_namespaces: &request_namespaces,
    };
    let plugins = [PluginRbac {
        plugin: &plugin,
        service_account: &plugin_sa,
        rules: &rules,
    }];
    let objs = objects(&options, &plugins);
    assert!(wasmesh::grant::rbac::problems(&options, &plugins).is_empty());

    let admin = cluster.client().await;
    let mut cleanup = ClusterScoped::new(&cluster);
    cleanup.track(&admin, &objs).await;
    let forbidden_role = format!("wasmesh-rbac-test-{id}");
    cleanup.objects.push((cluster_roles(), forbidden_role.clone()));
    assert_eq!(
        cleanup
            .objects
            .iter()
            .map(|(ar, n)| format!("{} {n}", ar.kind))
            .collect::<Vec<_>>(),
        vec![
            format!("ClusterRole wasmesh-{plugin}-cluster"),
            format!("ClusterRoleBinding wasmesh-{plugin}-cluster"),
            format!("ClusterRole {forbidden_role}"),
        ],
        "only the cluster-scope rule makes cluster-scoped objects"
    );

    apply_objects(&admin, &objs).await;
    // Applying again changes nothing and fails nothing.
    apply_objects(&admin, &objs).await;

    let host_token = server.token_for_service_account(accounts_ns.name(), host_sa);
    let as_plugin_user = format!("system:serviceaccount:{}:{plugin_sa}", accounts_ns.name());
    let as_plugin = client_as(&cluster, &host_token, Some(&as_plugin_user)).await;
    let host = client_as(&cluster, &host_token, None).await;

    // (1) As the plugin: a ConfigMap in the request namespace, a patch of a namespace.
    let cms =
        |client: &kube::Client, ns: &str| Api::<DynamicObject>::namespaced_with(client.clone(), ns, &configmaps());
    cms(&as_plugin, request_ns.name())
        .create(&PostParams::default(), &configmap("made-by-plugin"))
        .await
        .expect("the plugin may create a ConfigMap in the request namespace");
    let made = cms(&admin, request_ns.name()).get("made-by-plugin").await.unwrap();
    assert_eq!(made.data["data"]["from"], "wasmesh");
    let patch = json!({"metadata": {"annotations": {"linkerd.io/inject": "enabled"}}});
    Api::<DynamicObject>::all_with(as_plugin.clone(), &namespaces())
        .patch(request_ns.name(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("the plugin may patch a namespace (cluster-scope rule)");
    let ns = Api::<DynamicObject>::all_with(admin.clone(), &namespaces())
        .get(request_ns.name())
        .await
        .unwrap();
    assert_eq!(
        ns.metadata
            .annotations
            .unwrap_or_default()
            .get("linkerd.io/inject")
            .map(String::as_str),
        Some("enabled")
    );
    // The listed namespace is readable, not writable.
    cms(&as_plugin, listed_ns.name())
        .list(&Default::default())
        .await
        .expect("the plugin may list ConfigMaps in its listed namespace");
    forbidden(
        "create in the listed (read-only) namespace",
        cms(&as_plugin, listed_ns.name())
            .create(&PostParams::default(), &configmap("nope"))
            .await,
    );

    // (2) As the plugin, outside its grant: another namespace, a cluster-scoped kind.
    let message = forbidden(
        "plugin creates a ConfigMap in another namespace",
        cms(&as_plugin, other_ns.name())
            .create(&PostParams::default(), &configmap("nope"))
            .await,
    );
    assert!(
        message.contains(&as_plugin_user),
        "denied as the plugin's account: {message}"
    );
    let cluster_role: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": forbidden_role},
        "rules": [],
    }))
    .unwrap();
    forbidden(
        "plugin creates a ClusterRole",
        Api::<DynamicObject>::all_with(as_plugin.clone(), &cluster_roles())
            .create(&PostParams::default(), &cluster_role)
            .await,
    );

    // (3) The host's own account may do nothing itself.
    let host_user = format!("system:serviceaccount:{}:{host_sa}", accounts_ns.name());
    let message = forbidden(
        "host creates a ConfigMap without impersonation",
        cms(&host, request_ns.name())
            .create(&PostParams::default(), &configmap("by-host"))
            .await,
    );
    assert!(message.contains(&host_user), "{message}");
    forbidden(
        "host patches a namespace without impersonation",
        Api::<DynamicObject>::all_with(host.clone(), &namespaces())
            .patch(request_ns.name(), &PatchParams::default(), &Patch::Merge(&patch))
            .await,
    );

    // (4) The host may impersonate only the plugin accounts: not another SA in the same
    // namespace, not an SA of the same name elsewhere, not a user.
    for target in [
        format!("system:serviceaccount:{}:default", accounts_ns.name()),
        format!("system:serviceaccount:{}:{plugin_sa}", request_ns.name()),
        format!("system:serviceaccount:{}:{host_sa}", accounts_ns.name()),
        "admin".to_string(),
    ] {
        let client = client_as(&cluster, &host_token, Some(&target)).await;
        let message = forbidden(
            &format!("host impersonates {target}"),
            cms(&client, request_ns.name()).list(&Default::default()).await,
        );
        assert!(message.contains("cannot impersonate"), "{target}: {message}");
    }

    // Nothing of the refused writes arrived.
    assert!(cms(&admin, other_ns.name()).get_opt("nope").await.unwrap().is_none());
    assert!(
        cms(&admin, request_ns.name())
            .get_opt("by-host")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        Api::<DynamicObject>::all_with(admin.clone(), &cluster_roles())
            .get_opt(&forbidden_role)
            .await
            .unwrap()
            .is_none()
    );
    let made: Vec<(ApiResource, String)> = cleanup.objects.clone();
    drop(cleanup);
    for (ar, name) in made {
        let gone = Api::<DynamicObject>::all_with(admin.clone(), &ar)
            .get_opt(&name)
            .await
            .unwrap();
        assert!(gone.is_none(), "{} {name} cleaned up", ar.kind);
    }
}

/// Without request namespaces, the request-scope rules make an unbound ClusterRole: until an
/// operator binds it, the plugin's account may do nothing in any namespace; bound by a
/// RoleBinding in one namespace, it may act there and only there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbound_request_role_works_once_bound_per_namespace() {
    let cluster = TestCluster::start().await;
    let Some(server) = cluster.server() else {
        println!("skipped: needs the built-in API server to mint ServiceAccount tokens");
        return;
    };
    let accounts_ns = cluster.namespace("wasmesh-sa").await;
    let team = cluster.namespace("rbac").await;
    let id = short_id();
    let plugin = format!("istio-{id}");
    let plugin_sa = format!("wasmesh-istio-{id}");
    let rules = vec![rule(
        &["*"],
        &["*"],
        &["get", "list", "create", "patch", "delete"],
        NamespaceScope::Request,
    )];
    let options = RbacOptions {
        namespace: accounts_ns.name(),
        host_service_account: "wasmesh-host",
        request_namespaces: &[],
    };
    let plugins = [PluginRbac {
        plugin: &plugin,
        service_account: &plugin_sa,
        rules: &rules,
    }];
    let objs = objects(&options, &plugins);
    let admin = cluster.client().await;
    let role_name = format!("wasmesh-{plugin}-request");
    let mut _cleanup = ClusterScoped::new(&cluster);
    _cleanup.objects.push((cluster_roles(), role_name.clone()));
    apply_objects(&admin, &objs).await;

    let host_token = server.token_for_service_account(accounts_ns.name(), "wasmesh-host");
    let as_plugin_user = format!("system:serviceaccount:{}:{plugin_sa}", accounts_ns.name());
    let as_plugin = client_as(&cluster, &host_token, Some(&as_plugin_user)).await;
    let cms = Api::<DynamicObject>::namespaced_with(as_plugin.clone(), team.name(), &configmaps());
    forbidden(
        "not bound yet",
        cms.create(&PostParams::default(), &configmap("first")).await,
    );

    // What the comment in render()'s output tells the operator to do.
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": role_name, "namespace": team.name()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": plugin_sa, "namespace": accounts_ns.name()}],
    });
    apply_objects(&admin, &[binding]).await;
    cms.create(&PostParams::default(), &configmap("first"))
        .await
        .expect("bound in this namespace");
    forbidden(
        "bound in one namespace only",
        Api::<DynamicObject>::namespaced_with(as_plugin.clone(), accounts_ns.name(), &configmaps())
            .create(&PostParams::default(), &configmap("first"))
            .await,
    );
}
