//! Every RPC of both service generations answers as the contract says, seen by a client built
//! from the contract's field numbers, not from the host's .proto.

use wasmesh_e2e::meshery::{Generation, ProcessOamRequest, ProvisionRequest};
use wasmesh_e2e::{TestCluster, client, configmap, start_host};

const CONFIGURE: i32 = 2;
const CUSTOM: i32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_generations_answer_every_rpc() {
    let host = start_host().await;
    for generation in [Generation::Mesh, Generation::Adapter] {
        for (adapter, configure_op, version) in [
            ("LINKERD", "annotate-namespace", "stable-2.14.10"),
            ("ISTIO", "label-namespace", "1.27.3"),
        ] {
            let mut c = client(&host, adapter, generation).await;
            assert_eq!(c.name().await.unwrap(), adapter, "{generation:?}");
            let versions = c.versions().await.unwrap();
            assert!(
                versions.contains(&version.to_string()),
                "{generation:?} {adapter}: {versions:?}"
            );

            let ops = c.supported_operations().await.unwrap();
            assert!(ops.error.is_empty());
            let op = |key: &str| {
                ops.ops
                    .iter()
                    .find(|o| o.key == key)
                    .unwrap_or_else(|| panic!("{adapter} lacks {key}: {:?}", ops.ops))
            };
            assert_eq!(op("custom").category, CUSTOM);
            assert_eq!(op(configure_op).category, CONFIGURE);
            assert!(!op(configure_op).value.is_empty(), "operations carry a description");

            let info = c.component_info().await.unwrap();
            assert_eq!(info.r#type, "adapter");
            assert_eq!(info.name, adapter);
            assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
            assert!(!info.git_sha.is_empty());
            assert_eq!(
                info.properties.get("wit").map(String::as_str),
                Some("wasmesh:adapter@0.1.0")
            );

            // The stream opens; events are tested elsewhere.
            c.stream_events().await.unwrap();
        }
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_service_has_no_process_oam() {
    let host = start_host().await;
    let addr = host.listener("LINKERD").unwrap().addr;
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec: tonic_prost::ProstCodec<ProcessOamRequest, wasmesh_e2e::meshery::MessageResponse> = Default::default();
    let path = http::uri::PathAndQuery::from_static("/meshes.AdapterService/ProcessOAM");
    let err = grpc
        .unary(tonic::Request::new(ProcessOamRequest::default()), path, codec)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unimplemented);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn designs_deploy_through_process_oam_and_provision() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("design").await;
    let host = start_host().await;
    let kubeconfig = vec![cluster.kubeconfig().to_string()];

    // Older servers: an OAM Component, apiVersion and kind in annotations, object in settings.
    let oam = serde_json::json!({
        "kind": "Component",
        "metadata": {"name": "oam-cm", "namespace": ns.name(), "labels": {"app": "demo"},
            "annotations": {"design.meshmodel.io.k8s.APIVersion": "v1", "design.meshmodel.io.k8s.Kind": "ConfigMap"}},
        "spec": {"type": "ConfigMap", "settings": {}}
    });
    let mut mesh = client(&host, "LINKERD", Generation::Mesh).await;
    let events = wasmesh_e2e::Events::subscribe(&mesh).await;
    let traits = serde_json::json!({"spec": {"components": [{"componentName": "oam-cm", "traits": [
        {"name": "mTLS", "properties": {"namespaces": [ns.name()], "policy": "strict"}}]}]}});
    let message = mesh
        .process_oam(ProcessOamRequest {
            username: "u".into(),
            oam_comps: vec![oam.to_string(), "{\"nonsense\": true}".into()],
            oam_config: traits.to_string(),
            kube_configs: kubeconfig.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        message.contains(&format!("applied ConfigMap \"oam-cm\" in namespace \"{}\"", ns.name())),
        "{message}"
    );
    assert!(
        message.contains("component 2 \"\" not deployed"),
        "a bad entry fails alone: {message}"
    );
    assert!(configmap(&cluster, ns.name(), "oam-cm").await.is_some());
    // A trait this translator does not apply is said, not ignored.
    let warn = events
        .wait_for("the trait warning", |e| {
            e.summary.contains("trait mTLS of component \"oam-cm\"")
        })
        .await;
    assert_eq!(warn.event_type, wasmesh_e2e::meshery::WARN);
    assert_eq!(warn.error_code, "WASMESH-SDK-2003");

    // Newer servers: a Meshery component declaration.
    let declaration = serde_json::json!({
        "schemaVersion": "components.meshery.io/v1beta1",
        "displayName": "decl-cm",
        "component": {"version": "v1", "kind": "ConfigMap"},
        "model": {"name": "kubernetes"},
        "configuration": {"metadata": {"name": "decl-cm", "namespace": ns.name()}, "data": {"color": "blue"}}
    });
    let mut newest = client(&host, "ISTIO", Generation::Adapter).await;
    let provision = |delete_op| ProvisionRequest {
        username: "u".into(),
        delete_op,
        declarations: vec![declaration.to_string()],
        kube_configs: kubeconfig.clone(),
    };
    let message = newest.provision(provision(false)).await.unwrap();
    assert!(message.contains("applied ConfigMap \"decl-cm\""), "{message}");
    let data = configmap(&cluster, ns.name(), "decl-cm").await.expect("deployed");
    assert_eq!(data["color"], "blue", "the configuration's data is kept");

    let message = newest.provision(provision(true)).await.unwrap();
    assert!(message.contains("deleted ConfigMap \"decl-cm\""), "{message}");
    assert!(configmap(&cluster, ns.name(), "decl-cm").await.is_none());
    host.shutdown().await;
}

/// A design that fails part-way says, per object, what was applied and what was not.
#[tokio::test(flavor = "multi_thread")]
async fn a_design_that_fails_part_way_lists_what_was_and_was_not_applied() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("partial").await;
    let host = start_host().await;
    let missing = format!("{}-missing", ns.name());
    let declaration = |name: &str, namespace: &str| {
        serde_json::json!({
            "schemaVersion": "components.meshery.io/v1beta1",
            "displayName": name,
            "component": {"version": "v1", "kind": "ConfigMap"},
            "model": {"name": "kubernetes"},
            "configuration": {"metadata": {"name": name, "namespace": namespace}, "data": {"k": "v"}}
        })
        .to_string()
    };
    let mut newest = client(&host, "ISTIO", Generation::Adapter).await;
    let result = newest
        .provision(ProvisionRequest {
            username: "u".into(),
            delete_op: false,
            declarations: vec![declaration("good", ns.name()), declaration("bad", &missing)],
            kube_configs: vec![cluster.kubeconfig().to_string()],
        })
        .await;
    let status = result.expect_err("a design that failed part-way is an error, as upstream answers it");
    assert_eq!(status.code(), tonic::Code::FailedPrecondition);
    let message = status.message();
    assert!(message.contains("failed:"), "{message}");
    assert!(
        message.contains(&format!("applied ConfigMap \"good\" in namespace \"{}\"", ns.name())),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "not applied (failed): ConfigMap \"bad\" in namespace \"{missing}\""
        )),
        "{message}"
    );
    assert!(configmap(&cluster, ns.name(), "good").await.is_some());
    host.shutdown().await;
}
