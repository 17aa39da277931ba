//! Istio designs through gRPC, as both Meshery generations send them: ProcessOAM (MeshService:
//! OAM Components and a Configuration with traits) and Provision (AdapterService: Meshery
//! component declarations). Each design installs the control plane with an IstioMesh component
//! and removes it again when deleted.
//!
//! The tests install a control plane (istio-system, CRDs, ClusterRoles, webhooks): they hold
//! the control-plane lock so they never run at the same time on a real cluster, and a guard removes what is left if
//! a test fails half-way.

use serde_json::{Value, json};
use wasmesh_e2e::cluster_objects::{ISTIO_NS as NS, Leftovers, dynamic_api, get, v1_resource};
use wasmesh_e2e::design_summary as summary;
use wasmesh_e2e::meshery::{Generation, ProcessOamRequest, ProvisionRequest};
use wasmesh_e2e::{TestCluster, client, namespace, oam_component, start_host};

/// Every Istio kind with a spec that uses its main fields; each must come back unchanged.
fn every_kind() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "networking.istio.io/v1",
            "VirtualService",
            json!({"hosts": ["reviews"], "http": [{"match": [{"uri": {"prefix": "/v1"}}],
                "route": [{"destination": {"host": "reviews", "subset": "v1", "port": {"number": 9080}}}],
                "timeout": "3s", "retries": {"attempts": 3, "perTryTimeout": "1s", "retryOn": "5xx"}}]}),
        ),
        (
            "networking.istio.io/v1",
            "DestinationRule",
            json!({"host": "reviews", "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}},
                "outlierDetection": {"consecutive5xxErrors": 5, "interval": "10s"}},
                "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}),
        ),
        (
            "networking.istio.io/v1",
            "Gateway",
            json!({"selector": {"istio": "ingressgateway"},
                "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}),
        ),
        (
            "networking.istio.io/v1",
            "ServiceEntry",
            json!({"hosts": ["api.example.com"], "ports": [{"number": 443, "name": "https", "protocol": "TLS"}],
                "resolution": "DNS", "location": "MESH_EXTERNAL"}),
        ),
        (
            "networking.istio.io/v1",
            "Sidecar",
            json!({"egress": [{"hosts": ["./*", "istio-system/*"]}], "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
        ),
        (
            "networking.istio.io/v1",
            "WorkloadEntry",
            json!({"address": "10.0.0.5", "labels": {"app": "legacy"}, "serviceAccount": "legacy", "ports": {"http": 8080}}),
        ),
        (
            "networking.istio.io/v1",
            "WorkloadGroup",
            json!({"metadata": {"labels": {"app": "legacy"}}, "template": {"serviceAccount": "legacy", "ports": {"http": 8080}},
                "probe": {"periodSeconds": 5, "httpGet": {"path": "/ready", "port": 8080}}}),
        ),
        (
            "networking.istio.io/v1alpha3",
            "EnvoyFilter",
            json!({"workloadSelector": {"labels": {"app": "reviews"}}, "configPatches": [{"applyTo": "HTTP_FILTER",
                "match": {"context": "SIDECAR_INBOUND"},
                "patch": {"operation": "INSERT_BEFORE", "value": {"name": "envoy.filters.http.lua",
                    "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                        "defaultSourceCode": {"inlineString": "function envoy_on_request(h) end"}}}}}]}),
        ),
        (
            "networking.istio.io/v1beta1",
            "ProxyConfig",
            json!({"selector": {"matchLabels": {"app": "reviews"}}, "concurrency": 2,
                "environmentVariables": {"ISTIO_META_X": "y"}}),
        ),
        (
            "security.istio.io/v1",
            "PeerAuthentication",
            json!({"selector": {"matchLabels": {"app": "reviews"}}, "mtls": {"mode": "STRICT"},
                "portLevelMtls": {"9080": {"mode": "PERMISSIVE"}}}),
        ),
        (
            "security.istio.io/v1",
            "AuthorizationPolicy",
            json!({"selector": {"matchLabels": {"app": "reviews"}}, "action": "ALLOW",
                "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/default/sa/productpage"]}}],
                    "to": [{"operation": {"methods": ["GET"], "paths": ["/reviews/*"]}}]}]}),
        ),
        (
            "security.istio.io/v1",
            "RequestAuthentication",
            json!({"selector": {"matchLabels": {"app": "reviews"}},
                "jwtRules": [{"issuer": "https://issuer.example.com", "jwksUri": "https://issuer.example.com/jwks.json",
                    "forwardOriginalToken": true}]}),
        ),
        (
            "telemetry.istio.io/v1",
            "Telemetry",
            json!({"accessLogging": [{"providers": [{"name": "envoy"}]}], "tracing": [{"randomSamplingPercentage": 10.5}]}),
        ),
        (
            "extensions.istio.io/v1alpha1",
            "WasmPlugin",
            json!({"selector": {"matchLabels": {"app": "reviews"}}, "url": "oci://registry.example.com/filter:1.0",
                "phase": "AUTHN", "priority": 10, "pluginConfig": {"deny": ["a", "b"], "nested": {"k": 1}}}),
        ),
    ]
}

/// An OAM Component of the design (labelled as the e2e design's).
fn oam(api_version: &str, kind: &str, name: &str, ns: &str, settings: Value) -> String {
    let mut c = oam_component(api_version, kind, name, ns, settings);
    c["metadata"]["labels"] = json!({"design": "e2e"});
    c.to_string()
}

/// A component declaration of Istio's model.
fn declaration(api_version: &str, kind: &str, name: &str, ns: &str, spec: Value) -> String {
    wasmesh_e2e::declaration("istio", api_version, kind, name, ns, spec)
}

fn label(ns: &k8s_openapi::api::core::v1::Namespace, key: &str) -> Option<String> {
    ns.metadata.labels.as_ref().and_then(|l| l.get(key).cloned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_design_over_process_oam_with_every_kind_traits_and_a_traffic_split() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    if let Some(server) = cluster.server() {
        server.set_deployments_become_available(true);
    }
    let _leftovers = Leftovers::istio(&cluster);
    let ns = cluster.namespace("istio-design").await;
    let injected = cluster.namespace("istio-design-inject").await;
    let host = start_host().await;
    let mut mesh = client(&host, "ISTIO", Generation::Mesh).await;

    let mut components = vec![oam(
        "",
        "IstioMesh",
        "istio",
        NS,
        json!({"profile": "minimal", "version": "1.27.3", "autoscale": false}),
    )];
    for (api_version, kind, spec) in every_kind() {
        components.push(oam(
            api_version,
            kind,
            &format!("e2e-{}", kind.to_lowercase()),
            &ns,
            spec,
        ));
    }
    components.push(oam(
        "split.smi-spec.io/v1alpha2",
        "TrafficSplit",
        "reviews-split",
        &ns,
        json!({"service": "reviews", "backends": [{"version": "v1", "weight": 80}, {"version": "v2", "weight": 20}]}),
    ));
    // A Linkerd kind's group on an Istio kind: this component alone is rejected.
    components.push(oam(
        "policy.linkerd.io/v1alpha1",
        "AuthorizationPolicy",
        "wrong-group",
        &ns,
        json!({}),
    ));
    let config = json!({"spec": {"components": [{"componentName": "e2e-virtualservice", "traits": [
        {"name": "mTLS", "properties": {"namespaces": [ns.name()], "policy": "strict"}},
        {"name": "automaticSidecarInjection", "properties": {"namespaces": [injected.name()]}}]}]}});
    let oam_request = |delete_op| ProcessOamRequest {
        username: "e2e".into(),
        delete_op,
        oam_comps: components.clone(),
        oam_config: config.to_string(),
        kube_configs: vec![cluster.kubeconfig().to_string()],
    };

    let message = mesh.process_oam(oam_request(false)).await.expect("design deployed");
    let first = summary(&message);
    assert!(
        first.starts_with("Design deployed (16 of 17 components, 1 rejected): "),
        "{message}"
    );
    for said in [
        "IstioMesh \"istio\" in \"istio-system\": install 1.27.3 with profile minimal",
        "TrafficSplit \"reviews-split\" in",
        "VirtualService and DestinationRule: reviews v1 80%, reviews v2 20%",
        "trait mTLS of \"e2e-virtualservice\": PeerAuthentication \"default\" STRICT",
        "trait automaticSidecarInjection of \"e2e-virtualservice\": label istio-injection=enabled",
    ] {
        assert!(first.contains(said), "{said}: {first}");
    }
    assert!(
        message.contains("component 17 \"wrong-group\" not deployed")
            && message.contains("Istio's AuthorizationPolicy is in security.istio.io/v1"),
        "{message}"
    );
    assert!(
        message.contains(&format!("applied WasmPlugin \"e2e-wasmplugin\" in namespace \"{ns}\"")),
        "{message}"
    );

    // The control plane of the minimal profile: istiod, no gateway.
    let istiod = get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod")
        .await
        .expect("istiod");
    assert_eq!(istiod["metadata"]["labels"]["app.kubernetes.io/version"], "1.27.3");
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "istio-ingressgateway")
            .await
            .is_none(),
        "the minimal profile has no gateway"
    );
    // Every kind, every field, as designed.
    for (api_version, kind, spec) in every_kind() {
        let name = format!("e2e-{}", kind.to_lowercase());
        let o = get(&cluster, api_version, kind, Some(&ns), &name)
            .await
            .unwrap_or_else(|| panic!("{kind} was not created"));
        assert_eq!(o["spec"], spec, "{kind} lost or changed fields");
        assert_eq!(o["metadata"]["labels"]["design"], "e2e", "{kind} labels");
    }
    // The traffic split.
    let vs = get(
        &cluster,
        "networking.istio.io/v1",
        "VirtualService",
        Some(&ns),
        "reviews-split",
    )
    .await
    .expect("the split's VirtualService");
    let weights: Vec<(Value, Value)> = vs["spec"]["http"][0]["route"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["destination"]["subset"].clone(), r["weight"].clone()))
        .collect();
    assert_eq!(weights, [(json!("v1"), json!(80)), (json!("v2"), json!(20))]);
    let dr = get(
        &cluster,
        "networking.istio.io/v1",
        "DestinationRule",
        Some(&ns),
        "reviews-split",
    )
    .await
    .expect("the split's DestinationRule");
    assert_eq!(
        dr["spec"]["subsets"],
        json!([{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}])
    );
    // The traits.
    let pa = get(
        &cluster,
        "security.istio.io/v1",
        "PeerAuthentication",
        Some(&ns),
        "default",
    )
    .await
    .expect("the mTLS trait's PeerAuthentication");
    assert_eq!(pa["spec"]["mtls"]["mode"], "STRICT");
    let n = namespace(&cluster, &injected).await.expect("namespace");
    assert_eq!(label(&n, "istio-injection").as_deref(), Some("enabled"));
    assert!(
        get(
            &cluster,
            "policy.linkerd.io/v1alpha1",
            "AuthorizationPolicy",
            Some(&ns),
            "wrong-group"
        )
        .await
        .is_none()
    );

    // Deleting the design removes it all, the control plane last, and undoes the traits.
    let message = mesh.process_oam(oam_request(true)).await.expect("design removed");
    assert!(
        summary(&message).starts_with("Design removed (16 of 17 components, 1 rejected): "),
        "{message}"
    );
    assert!(
        message.contains("IstioMesh \"istio\" in \"istio-system\": uninstall"),
        "{message}"
    );
    for (api_version, kind, _) in every_kind() {
        let name = format!("e2e-{}", kind.to_lowercase());
        assert!(
            get(&cluster, api_version, kind, Some(&ns), &name).await.is_none(),
            "{kind} left behind"
        );
    }
    assert!(
        get(
            &cluster,
            "networking.istio.io/v1",
            "VirtualService",
            Some(&ns),
            "reviews-split"
        )
        .await
        .is_none()
    );
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod")
            .await
            .is_none()
    );
    let n = namespace(&cluster, &injected)
        .await
        .expect("the namespace itself stays");
    assert_eq!(label(&n, "istio-injection"), None);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_design_over_provision_with_a_profile_and_100_virtual_services() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    if let Some(server) = cluster.server() {
        server.set_deployments_become_available(true);
    }
    let _leftovers = Leftovers::istio(&cluster);
    let ns = cluster.namespace("istio-design-many").await;
    let host = start_host().await;
    let mut newest = client(&host, "ISTIO", Generation::Adapter).await;

    let mut declarations = vec![
        json!({
            "schemaVersion": "components.meshery.io/v1beta1",
            "displayName": "istio",
            "component": {"kind": "IstioMesh"},
            "model": {"name": "istio"},
            "configuration": {"metadata": {"name": "istio", "namespace": NS},
                "spec": {"profile": "demo", "autoscale": false}},
        })
        .to_string(),
    ];
    for i in 0..100 {
        declarations.push(declaration(
            "networking.istio.io/v1",
            "VirtualService",
            &format!("vs-{i:03}"),
            &ns,
            json!({"hosts": [format!("svc-{i}")], "http": [{"route": [{"destination": {"host": format!("svc-{i}")}}],
                "timeout": format!("{}s", i % 7 + 1)}]}),
        ));
    }
    declarations.push(declaration(
        "split.smi-spec.io/v1alpha2",
        "TrafficSplit",
        "uneven",
        &ns,
        json!({"service": "reviews", "backends": [{"version": "v1", "weight": 60}, {"version": "v2", "weight": 30}]}),
    ));
    let provision = |delete_op| ProvisionRequest {
        username: "e2e".into(),
        delete_op,
        declarations: declarations.clone(),
        kube_configs: vec![cluster.kubeconfig().to_string()],
    };

    let message = newest.provision(provision(false)).await.expect("design deployed");
    assert!(
        summary(&message).starts_with("Design deployed (101 of 102 components, 1 rejected): IstioMesh \"istio\" in \"istio-system\": install 1.27.3 with profile demo; "),
        "{message}"
    );
    assert!(
        message.contains(
            "component 102 \"uneven\" not deployed: traffic split \"uneven\" has weights adding up to 90, not 100"
        ),
        "{message}"
    );
    // The demo profile: istiod and both gateways.
    for d in ["istiod", "istio-ingressgateway", "istio-egressgateway"] {
        assert!(
            get(&cluster, "apps/v1", "Deployment", Some(NS), d).await.is_some(),
            "{d}"
        );
    }
    let virtual_services = v1_resource("networking.istio.io", "VirtualService", "virtualservices");
    let api = dynamic_api(cluster.client().await, &virtual_services, Some(&ns));
    let listed = api.list(&Default::default()).await.expect("list VirtualServices");
    assert_eq!(listed.items.len(), 100);
    let vs = get(
        &cluster,
        "networking.istio.io/v1",
        "VirtualService",
        Some(&ns),
        "vs-042",
    )
    .await
    .unwrap();
    assert_eq!(vs["spec"]["http"][0]["timeout"], "1s");
    assert_eq!(message.matches("applied VirtualService").count(), 100, "one line each");

    let message = newest.provision(provision(true)).await.expect("design removed");
    assert!(
        summary(&message).starts_with("Design removed (101 of 102 components, 1 rejected): "),
        "{message}"
    );
    assert_eq!(message.matches("deleted VirtualService").count(), 100, "{message}");
    let left = match api.list(&Default::default()).await {
        Ok(l) => l.items.len(),
        Err(_) => 0, // the CRD went with the control plane
    };
    assert_eq!(left, 0);
    assert!(
        get(&cluster, "apps/v1", "Deployment", Some(NS), "istiod")
            .await
            .is_none()
    );
    host.shutdown().await;
}
