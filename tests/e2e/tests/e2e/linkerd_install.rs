//! `linkerd` (install and uninstall the control plane, two releases), through gRPC as Meshery
//! sends it, against an API server over HTTPS.
//!
//! The tests install a control plane (namespace linkerd, CRDs, ClusterRoles, webhooks): they hold
//! the control-plane lock so they never run at the same time on a real cluster, and uninstall at the end (a guard
//! removes what is left if a test fails half-way).

use k8s_openapi::api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use serde_json::json;
use wasmesh_e2e::certs::{cert, extension, signed_by};
use wasmesh_e2e::cluster_objects::{
    LINKERD_CRDS_2_14 as CRDS_2_14, LINKERD_CRDS_2_18_EXTRA as CRDS_2_18_EXTRA, LINKERD_NS as NS,
    LINKERD_WEBHOOKS as WEBHOOKS, Leftovers, assert_no_cluster_rbac_labelled, get,
};
use wasmesh_e2e::meshery::{ApplyRuleRequest, ERROR, Generation, INFO, WARN};
use wasmesh_e2e::{
    TestCluster, apply_objects, clear_log, connect, namespace, namespace_gone, request, run, run_ok, writes,
};
use x509_cert::Certificate;
use x509_cert::der::oid::db::rfc5280::ID_KP_SERVER_AUTH;
use x509_cert::der::oid::db::rfc5912::ECDSA_WITH_SHA_256;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};

const DEFAULT_VERSION: &str = "stable-2.14.10";
const SECOND_VERSION: &str = "edge-25.4.4";
const DEPLOYMENTS: &[&str] = &["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

/// Everything cluster-wide an install of either release may leave when a test fails half-way;
/// removed on drop.
fn leftovers(cluster: &TestCluster) -> Leftovers {
    Leftovers::linkerd_any_release(cluster)
}

fn linkerd(cluster: &TestCluster, version: &str, body: &str) -> ApplyRuleRequest {
    request("linkerd", "default", body, &[cluster.kubeconfig()]).with_version(version)
}

fn uninstall(cluster: &TestCluster) -> ApplyRuleRequest {
    linkerd(cluster, "", "").deleting(true)
}

fn secret_data(s: &Secret, key: &str) -> Vec<u8> {
    s.data
        .as_ref()
        .and_then(|d| d.get(key))
        .unwrap_or_else(|| panic!("secret key {key}"))
        .0
        .clone()
}

/// The trust anchor PEM and the issuer certificate PEM in the cluster.
async fn identity(cluster: &TestCluster) -> (String, Vec<u8>) {
    let client = cluster.client().await;
    let roots = Api::<ConfigMap>::namespaced(client.clone(), NS)
        .get("linkerd-identity-trust-roots")
        .await
        .unwrap();
    let anchors = roots.data.unwrap()["ca-bundle.crt"].clone();
    let issuer = Api::<Secret>::namespaced(client, NS)
        .get("linkerd-identity-issuer")
        .await
        .unwrap();
    (anchors, secret_data(&issuer, "crt.pem"))
}

/// Objects, labels, images, CRDs, webhook TLS and the identity chain of an installed release.
async fn check_installed(cluster: &TestCluster, version: &str, proxy_init: &str, crds: &[&str]) {
    let client = cluster.client().await;
    let ns = namespace(cluster, NS).await.expect("namespace linkerd");
    let labels = ns.metadata.labels.unwrap_or_default();
    assert_eq!(
        labels.get("linkerd.io/is-control-plane").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        labels.get("config.linkerd.io/admission-webhooks").map(String::as_str),
        Some("disabled")
    );

    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in crds {
        let crd = crd_api.get(name).await.unwrap_or_else(|e| panic!("CRD {name}: {e}"));
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} established");
    }

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    for name in DEPLOYMENTS {
        let d = deployments.get(name).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let l = d.metadata.labels.unwrap_or_default();
        assert_eq!(
            l.get("app.kubernetes.io/version").map(String::as_str),
            Some(version),
            "{name}"
        );
        assert_eq!(l.get("app.kubernetes.io/part-of").map(String::as_str), Some("Linkerd"));
        assert_eq!(l.get("linkerd.io/control-plane-ns").map(String::as_str), Some(NS));
        assert_eq!(
            l.get("linkerd.io/control-plane-component").map(String::as_str),
            Some(name.trim_start_matches("linkerd-"))
        );
        let pod = d.spec.unwrap().template.spec.unwrap();
        let images: Vec<String> = pod
            .containers
            .iter()
            .chain(pod.init_containers.iter().flatten())
            .filter_map(|c| c.image.clone())
            .collect();
        assert!(
            images.contains(&format!("cr.l5d.io/linkerd/controller:{version}")),
            "{images:?}"
        );
        assert!(
            images.contains(&format!("cr.l5d.io/linkerd/proxy:{version}")),
            "{images:?}"
        );
        assert!(
            images.contains(&format!("cr.l5d.io/linkerd/proxy-init:{proxy_init}")),
            "{images:?}"
        );
        if *name == "linkerd-destination" {
            assert!(
                images.contains(&format!("cr.l5d.io/linkerd/policy-controller:{version}")),
                "{images:?}"
            );
            let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["linkerd-proxy", "destination", "sp-validator", "policy"]);
        }
    }

    let config = Api::<ConfigMap>::namespaced(client.clone(), NS)
        .get("linkerd-config")
        .await
        .unwrap();
    let created_by = config.metadata.annotations.unwrap_or_default()["linkerd.io/created-by"].clone();
    assert!(
        created_by.starts_with("wasmesh") && created_by.ends_with(version),
        "{created_by}"
    );

    // Each webhook's caBundle is the CA that signed the serving certificate its server mounts.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    for (secret, mutating, config) in WEBHOOKS {
        let s = secrets.get(secret).await.unwrap();
        assert_eq!(s.type_.as_deref(), Some("kubernetes.io/tls"));
        let serving = cert(&secret_data(&s, "tls.crt"));
        let ca_bundle = if *mutating {
            let w = Api::<MutatingWebhookConfiguration>::all(client.clone())
                .get(config)
                .await
                .unwrap();
            w.webhooks.unwrap()[0].client_config.ca_bundle.clone().unwrap().0
        } else {
            let w = Api::<ValidatingWebhookConfiguration>::all(client.clone())
                .get(config)
                .await
                .unwrap();
            w.webhooks.unwrap()[0].client_config.ca_bundle.clone().unwrap().0
        };
        let ca = cert(&ca_bundle);
        assert!(signed_by(&serving, &ca), "{secret} signed by the caBundle of {config}");
        let service = secret.trim_end_matches("-k8s-tls");
        assert_eq!(
            serving.tbs_certificate.subject.to_string(),
            format!("CN={service}.{NS}.svc")
        );
    }

    // The issuer chains to the trust roots.
    let (anchors, issuer) = identity(cluster).await;
    let (anchor, issuer) = (cert(anchors.as_bytes()), cert(&issuer));
    assert!(signed_by(&issuer, &anchor), "issuer signed by the trust anchor");
    assert!(signed_by(&anchor, &anchor), "trust anchor self-signed");
    assert_eq!(
        issuer.tbs_certificate.subject.to_string(),
        "CN=identity.linkerd.cluster.local"
    );
    // What Linkerd's identity service and the proxies need of them, read as stored.
    for (name, c, path_len) in [("trust anchor", &anchor, None), ("issuer", &issuer, Some(0))] {
        let (bc, critical) = extension::<BasicConstraints>(c).unwrap_or_else(|| panic!("{name}: no basicConstraints"));
        assert!(bc.ca && critical, "{name} is a CA, critically");
        if path_len.is_some() {
            assert_eq!(bc.path_len_constraint, path_len, "{name} may not sign CAs");
        }
        let (ku, critical) = extension::<KeyUsage>(c).unwrap_or_else(|| panic!("{name}: no keyUsage"));
        assert!(critical, "{name}: keyUsage is critical");
        assert_eq!(
            ku.0,
            KeyUsages::KeyCertSign | KeyUsages::CRLSign,
            "{name}: signs certificates and CRLs only"
        );
        assert_eq!(
            c.signature_algorithm.oid, ECDSA_WITH_SHA_256,
            "{name} is signed with ECDSA P-256 / SHA-256"
        );
    }
    let not_after = |c: &Certificate| c.tbs_certificate.validity.not_after.to_unix_duration();
    assert!(
        not_after(&issuer) <= not_after(&anchor),
        "the issuer does not outlive its anchor"
    );
    assert_ne!(
        anchor.tbs_certificate.subject_public_key_info, issuer.tbs_certificate.subject_public_key_info,
        "separate keys"
    );
    for (secret, _, _) in WEBHOOKS {
        let s = secrets.get(secret).await.unwrap();
        let serving = cert(&secret_data(&s, "tls.crt"));
        let service = secret.trim_end_matches("-k8s-tls");
        let (san, _) = extension::<SubjectAltName>(&serving).expect("subjectAltName");
        let dns = format!("{service}.{NS}.svc");
        assert!(
            san.0
                .iter()
                .any(|n| matches!(n, GeneralName::DnsName(d) if d.as_str() == dns)),
            "{secret} names {dns}"
        );
        let (eku, _) = extension::<ExtendedKeyUsage>(&serving).expect("extendedKeyUsage");
        assert!(eku.0.contains(&ID_KP_SERVER_AUTH), "{secret} is for TLS servers");
    }
}

/// Nothing of the control plane is left after an uninstall.
async fn assert_nothing_left(cluster: &TestCluster) {
    let client = cluster.client().await;
    assert!(namespace_gone(cluster, NS).await, "{NS} is still there");
    let crd_api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in CRDS_2_14.iter().chain(CRDS_2_18_EXTRA) {
        assert!(crd_api.get_opt(name).await.unwrap().is_none(), "CRD {name} left");
    }
    assert_no_cluster_rbac_labelled(&client, "linkerd.io/control-plane-ns=linkerd", "Linkerd").await;
    for (_, mutating, name) in WEBHOOKS {
        let kind = if *mutating {
            "MutatingWebhookConfiguration"
        } else {
            "ValidatingWebhookConfiguration"
        };
        let left = get(cluster, "admissionregistration.k8s.io/v1", kind, None, name).await;
        assert!(left.is_none(), "{name} left");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_default_reinstall_keeps_identity_uninstall_removes_everything() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let user = cluster.namespace("l5d-user").await;
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;

    let done = run_ok(&mut c, &events, linkerd(&cluster, "", "")).await;
    assert!(done.summary.contains(DEFAULT_VERSION), "{}", done.summary);
    check_installed(&cluster, DEFAULT_VERSION, "v2.2.3", CRDS_2_14).await;
    let first = identity(&cluster).await;

    // A re-install keeps the trust anchor and the issuer, so running proxies keep working.
    let done = run_ok(&mut c, &events, linkerd(&cluster, DEFAULT_VERSION, "waitSeconds: 60")).await;
    assert!(done.summary.contains("kept"), "{}", done.summary);
    assert_eq!(identity(&cluster).await, first, "same trust anchor and issuer");
    check_installed(&cluster, DEFAULT_VERSION, "v2.2.3", CRDS_2_14).await;

    run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_nothing_left(&cluster).await;
    assert!(
        namespace(&cluster, user.name()).await.is_some(),
        "user namespace survives"
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_version_installs_its_own_tags_and_crds() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Mesh).await;

    let done = run(
        &mut c,
        &events,
        linkerd(&cluster, SECOND_VERSION, "{\"trustDomain\": \"cluster.local\"}"),
    )
    .await;
    assert_eq!(done.event_type, INFO, "{done:#?}");
    let crds: Vec<&str> = CRDS_2_14.iter().chain(CRDS_2_18_EXTRA).copied().collect();
    check_installed(&cluster, SECOND_VERSION, "v2.4.2", &crds).await;
    let d = Api::<Deployment>::namespaced(cluster.client().await, NS)
        .get("linkerd-identity")
        .await
        .unwrap();
    let images = serde_json::to_string(&d.spec).unwrap();
    assert!(!images.contains(DEFAULT_VERSION), "no image of the default release");

    run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_nothing_left(&cluster).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_version_and_bad_options_are_refused_before_anything_is_written() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;
    clear_log(&cluster);

    let e = run(&mut c, &events, linkerd(&cluster, "stable-9.9.9", "")).await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-LINKERD-1101");
    let text = format!("{} {}", e.summary, e.details);
    assert!(
        text.contains(DEFAULT_VERSION) && text.contains(SECOND_VERSION),
        "{text}"
    );

    for (body, code) in [
        ("waitSeconds: soon\n", "WASMESH-LINKERD-1104"),
        ("colour: blue\n", "WASMESH-LINKERD-1103"),
        ("registry: [unclosed\n", "WASMESH-LINKERD-1102"),
        ("trustDomain: Not_A_Domain\n", "WASMESH-LINKERD-1104"),
    ] {
        let e = run(&mut c, &events, linkerd(&cluster, "", body)).await;
        assert_eq!(e.event_type, ERROR, "{body:?}: {e:#?}");
        assert_eq!(e.error_code, code, "{body:?}");
        assert!(!e.suggested_remediation.is_empty());
    }
    assert_eq!(writes(&cluster), Vec::<String>::new(), "nothing written");
    assert!(namespace(&cluster, NS).await.is_none());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployments_not_becoming_available_give_a_warning_naming_them() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let Some(server) = cluster.server() else {
        println!("skipped: needs the built-in server to hold Deployments unavailable");
        return;
    };
    let _leftovers = leftovers(&cluster);
    server.set_deployments_become_available(false);
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;

    let req = linkerd(&cluster, "", "waitSeconds: 1");
    let done = run(&mut c, &events, req.clone()).await;
    assert_eq!(done.event_type, INFO, "the waits are not required: {done:#?}");
    let warnings: Vec<String> = events
        .for_op(&req.operation_id)
        .into_iter()
        .filter(|e| e.event_type == WARN)
        .map(|e| format!("{} {}", e.summary, e.details))
        .collect();
    for d in DEPLOYMENTS {
        assert!(
            warnings.iter().any(|w| w.contains(d)),
            "a WARN naming {d}: {warnings:#?}"
        );
    }

    server.set_deployments_become_available(true);
    run_ok(&mut c, &events, uninstall(&cluster)).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uninstall_is_refused_while_an_extension_is_installed() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let cluster = TestCluster::start().await;
    let _leftovers = leftovers(&cluster);
    let viz = cluster.namespace("l5d-viz").await;
    apply_objects(
        &cluster.client().await,
        &[json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": viz.name(), "labels": {"linkerd.io/extension": "viz"}}})],
    )
    .await;
    let (host, mut c, events) = connect("LINKERD", Generation::Adapter).await;

    run_ok(&mut c, &events, linkerd(&cluster, "", "")).await;
    clear_log(&cluster);
    let e = run(&mut c, &events, uninstall(&cluster)).await;
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-LINKERD-1105");
    let text = format!("{} {} {:?}", e.summary, e.details, e.suggested_remediation);
    assert!(text.contains(viz.name()) && text.contains("uninstall"), "{text}");
    assert_eq!(writes(&cluster), Vec::<String>::new(), "nothing removed");
    assert!(namespace(&cluster, NS).await.is_some());

    // Once the extension's namespace is being deleted, the uninstall goes ahead at once: a
    // Terminating namespace is an extension going away. A finalizer keeps it Terminating on
    // both servers while the uninstall runs.
    let held = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "held", "namespace": viz.name(), "finalizers": ["wasmesh.io/test-hold"]}});
    apply_objects(&cluster.client().await, &[held]).await;
    let _release = wasmesh_e2e::Finalizers::new(&cluster, viz.name(), "held");
    Api::<k8s_openapi::api::core::v1::Namespace>::all(cluster.client().await)
        .delete(viz.name(), &Default::default())
        .await
        .unwrap();
    let terminating = namespace(&cluster, viz.name()).await.expect("still there");
    assert!(terminating.metadata.deletion_timestamp.is_some(), "{terminating:?}");
    run_ok(&mut c, &events, uninstall(&cluster)).await;
    assert_nothing_left(&cluster).await;
    host.shutdown().await;
}
