//! Linkerd designs through gRPC, as both Meshery generations send them: Provision
//! (AdapterService: Meshery component declarations) installs the control plane with a
//! LinkerdMesh component; ProcessOAM (MeshService: OAM Components and a Configuration with
//! traits) deploys Linkerd's policy and routing kinds on it; deleting each design undoes it.
//!
//! The test installs a control plane (namespace linkerd, CRDs, ClusterRoles, webhooks): it holds
//! the control-plane lock so it never runs at the same time as another test of this file on a real cluster, and a
//! guard removes what is left if it fails half-way.

use serde_json::{Value, json};
use wasmesh_e2e::cluster_objects::{LINKERD_CRDS_2_14, LINKERD_NS as NS, Leftovers, get};
use wasmesh_e2e::design_summary as summary;
use wasmesh_e2e::meshery::{Generation, ProcessOamRequest, ProvisionRequest};
use wasmesh_e2e::{TestCluster, client, namespace, oam_component, start_host};

const VERSION: &str = "stable-2.14.10";

/// An OAM Component of the design.
fn oam(api_version: &str, kind: &str, name: &str, ns: &str, settings: Value) -> String {
    oam_component(api_version, kind, name, ns, settings).to_string()
}

/// A component declaration of Linkerd's model.
fn declaration(api_version: &str, kind: &str, name: &str, ns: &str, spec: Value) -> String {
    wasmesh_e2e::declaration("linkerd", api_version, kind, name, ns, spec)
}

fn server_spec() -> Value {
    json!({"podSelector": {"matchLabels": {"app": "web"}}, "port": "http", "proxyProtocol": "HTTP/1"})
}

/// Retries, a retry budget and per-route timeouts: all must arrive as designed.
fn service_profile_spec() -> Value {
    json!({
        "routes": [
            {"name": "GET /api/list", "condition": {"method": "GET", "pathRegex": "/api/list"},
             "isRetryable": true, "timeout": "250ms"},
            {"name": "POST /api/vote", "condition": {"method": "POST", "pathRegex": "/api/vote"},
             "timeout": "2s", "responseClasses": [{"condition": {"status": {"min": 500, "max": 599}}, "isFailure": true}]},
        ],
        "retryBudget": {"retryRatio": 0.2, "minRetriesPerSecond": 10, "ttl": "10s"},
    })
}

fn annotation(ns: &k8s_openapi::api::core::v1::Namespace, key: &str) -> Option<String> {
    ns.metadata.annotations.as_ref().and_then(|a| a.get(key).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_design_installs_deploys_policies_with_traits_and_removes_them() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    if let Some(server) = cluster.server() {
        server.set_deployments_become_available(true);
    }
    let _leftovers = Leftovers::linkerd(&cluster, LINKERD_CRDS_2_14);
    let ns = cluster.namespace("linkerd-design").await;
    let host = start_host().await;
    let mut newest = client(&host, "LINKERD", Generation::Adapter).await;
    let mut oldest = client(&host, "LINKERD", Generation::Mesh).await;
    let kube_configs = vec![cluster.kubeconfig().to_string()];

    // Provision: the control plane and an HTTPRoute, as Meshery component declarations.
    let route_spec = json!({"parentRefs": [{"name": "web", "kind": "Server", "group": "policy.linkerd.io"}],
        "rules": [{"matches": [{"path": {"value": "/api", "type": "PathPrefix"}}]}]});
    let install = vec![
        json!({
            "schemaVersion": "components.meshery.io/v1beta1",
            "displayName": "linkerd",
            "component": {"kind": "LinkerdMesh"},
            "model": {"name": "linkerd"},
            "configuration": {"metadata": {"name": "linkerd", "namespace": NS}, "spec": {"version": VERSION}},
        })
        .to_string(),
        declaration("policy.linkerd.io/v1beta3", "HTTPRoute", "api", &ns, route_spec.clone()),
    ];
    let provision = |delete_op, declarations: &Vec<String>| ProvisionRequest {
        username: "e2e".into(),
        delete_op,
        declarations: declarations.clone(),
        kube_configs: kube_configs.clone(),
    };
    let message = newest
        .provision(provision(false, &install))
        .await
        .expect("control plane installed");
    assert!(
        summary(&message).starts_with(&format!(
            "Design deployed (2 components): LinkerdMesh \"linkerd\" in \"linkerd\": install {VERSION}; HTTPRoute \"api\" in \"{ns}\": apply"
        )),
        "{message}"
    );
    for d in ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"] {
        assert!(
            get(&cluster, "apps/v1", "Deployment", Some(NS), d).await.is_some(),
            "{d}"
        );
    }
    let route = get(&cluster, "policy.linkerd.io/v1beta3", "HTTPRoute", Some(&ns), "api")
        .await
        .expect("HTTPRoute");
    assert_eq!(route["spec"], route_spec);

    // ProcessOAM: Linkerd kinds on the installed control plane, one with a wrong group, and the
    // injection trait in Linkerd's spelling.
    let sp_name = format!("web.{ns}.svc.cluster.local");
    let components = vec![
        oam("policy.linkerd.io/v1beta1", "Server", "web", &ns, server_spec()),
        oam(
            "linkerd.io/v1alpha2",
            "ServiceProfile",
            &sp_name,
            &ns,
            service_profile_spec(),
        ),
        oam("policy.istio.io/v1beta1", "Server", "wrong-group", &ns, json!({})),
        oam(
            "policy.linkerd.io/v1alpha1",
            "MeshTLSAuthentication",
            "web-clients",
            &ns,
            json!({"identities": ["*.linkerd.cluster.local"]}),
        ),
    ];
    let config = json!({"spec": {"components": [{"componentName": "web", "traits": [
        {"name": "automaticSidecarInjection.Linkerd", "properties": {"namespaces": [ns.name()]}}]}]}});
    let oam_request = |delete_op| ProcessOamRequest {
        username: "e2e".into(),
        delete_op,
        oam_comps: components.clone(),
        oam_config: config.to_string(),
        kube_configs: kube_configs.clone(),
    };
    let message = oldest.process_oam(oam_request(false)).await.expect("design deployed");
    let first = summary(&message);
    assert!(
        first.starts_with("Design deployed (3 of 4 components, 1 rejected): "),
        "{message}"
    );
    for said in [
        format!("Server \"web\" in \"{ns}\": apply"),
        format!("ServiceProfile \"{sp_name}\" in \"{ns}\": apply"),
        format!(
            "trait automaticSidecarInjection.Linkerd of \"web\": annotation linkerd.io/inject=enabled on namespaces {ns}"
        ),
    ] {
        assert!(first.contains(&said), "{said}: {first}");
    }
    assert!(
        message.contains("component 3 \"wrong-group\" not deployed")
            && message.contains("Linkerd's Server is in policy.linkerd.io/v1beta1"),
        "{message}"
    );
    let server = get(&cluster, "policy.linkerd.io/v1beta1", "Server", Some(&ns), "web")
        .await
        .expect("Server");
    assert_eq!(server["spec"], server_spec());
    let sp = get(&cluster, "linkerd.io/v1alpha2", "ServiceProfile", Some(&ns), &sp_name)
        .await
        .expect("ServiceProfile");
    assert_eq!(sp["spec"], service_profile_spec(), "retries, budget and timeouts kept");
    assert!(
        get(
            &cluster,
            "policy.linkerd.io/v1alpha1",
            "MeshTLSAuthentication",
            Some(&ns),
            "web-clients"
        )
        .await
        .is_some()
    );
    let n = namespace(&cluster, &ns).await.expect("namespace");
    assert_eq!(annotation(&n, "linkerd.io/inject").as_deref(), Some("enabled"));

    // Deleting the OAM design removes its objects and the annotation; the control plane stays.
    let message = oldest.process_oam(oam_request(true)).await.expect("design removed");
    assert!(
        summary(&message).starts_with("Design removed (3 of 4 components, 1 rejected): "),
        "{message}"
    );
    assert!(message.contains("deleted Server \"web\""), "{message}");
    assert!(
        get(&cluster, "policy.linkerd.io/v1beta1", "Server", Some(&ns), "web")
            .await
            .is_none()
    );
    assert!(
        get(&cluster, "linkerd.io/v1alpha2", "ServiceProfile", Some(&ns), &sp_name)
            .await
            .is_none()
    );
    let n = namespace(&cluster, &ns).await.expect("the namespace stays");
    assert_eq!(annotation(&n, "linkerd.io/inject"), None);
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "linkerd-destination")
            .await
            .is_some()
    );

    // Deleting the Provision design uninstalls the control plane.
    let message = newest
        .provision(provision(true, &install))
        .await
        .expect("control plane removed");
    assert!(
        summary(&message)
            .starts_with("Design removed (2 components): LinkerdMesh \"linkerd\" in \"linkerd\": uninstall"),
        "{message}"
    );
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "linkerd-destination")
            .await
            .is_none()
    );
    assert!(
        get(&cluster, "policy.linkerd.io/v1beta3", "HTTPRoute", Some(&ns), "api")
            .await
            .is_none()
    );

    // Without Linkerd, a Linkerd kind is rejected alone with the reason, and nothing is written.
    // (On a real cluster the CRDs may still be terminating: checked on the built-in server.)
    if cluster.server().is_some() {
        let alone = vec![
            declaration(
                "linkerd.io/v1alpha2",
                "ServiceProfile",
                &sp_name,
                &ns,
                service_profile_spec(),
            ),
            declaration("v1", "ConfigMap", "plain", &ns, Value::Null),
        ];
        let message = newest
            .provision(provision(false, &alone))
            .await
            .expect("the rest deployed");
        assert!(
            message.contains("component 1") && message.contains("the cluster does not serve linkerd.io ServiceProfile"),
            "{message}"
        );
        assert!(message.contains("applied ConfigMap \"plain\""), "{message}");
    }
    host.shutdown().await;
}
