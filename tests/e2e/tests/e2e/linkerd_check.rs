//! `linkerd-check` and `rotate-identity-issuer` through gRPC, on a control plane made by the real
//! `linkerd` install operation: a healthy install passes every check (INFO events only); each
//! fault seeded by a test comes back as its own event with its own code; a cluster without
//! Linkerd gets one clear ERROR. Rotation replaces the issuer with one that chains to a trusted
//! anchor (checked here with x509-cert, independently of the plugin), keeps the old anchor in the
//! bundle when it makes a new one, and leaves a mesh that passes the check.
//!
//! Certificates the tests seed (an expired issuer, an anchor whose key the test holds) are made
//! here on the host side with the same RustCrypto crates, not by the plugin.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kube::api::{Patch, PatchParams};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::LineEnding;
use serde_json::json;
use wasmesh_e2e::certs::signed_by;
use wasmesh_e2e::cluster_objects::{Leftovers, delete, dynamic_api, get_json};
use wasmesh_e2e::meshery::{Client, ERROR, EventsResponse, Generation, INFO, WARN};
use wasmesh_e2e::{Events, TestCluster, apply_objects, clear_log, client, request, resource_of, start_host, writes};
use x509_cert::Certificate;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{GeneralizedTime, Ia5String};
use x509_cert::der::{Decode, DecodePem, EncodePem};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// The tests install a control plane in namespace linkerd: never two at the same time.

const NS: &str = "linkerd";
const DAY: u64 = 86_400;
const ISSUER: &str = "linkerd-identity-issuer";
const ROOTS: &str = "linkerd-identity-trust-roots";

// ---------------------------------------------------------------- certificates (host side)

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn random_key() -> p256::SecretKey {
    loop {
        let mut bytes = [0u8; 32];
        bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        if let Ok(k) = p256::SecretKey::from_slice(&bytes) {
            return k;
        }
    }
}

fn time(secs: u64) -> Time {
    Time::GeneralTime(GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).unwrap())
}

/// A CA certificate named `cn` (CN and DNS SAN) for `key`, signed by `signer` (issuer name
/// `issuer`, None for self-signed).
fn ca_cert(cn: &str, key: &SigningKey, signer: &SigningKey, issuer: Option<&Name>, from: u64, to: u64) -> Certificate {
    let subject: Name = format!("CN={cn}").parse().unwrap();
    let profile = match issuer {
        None => Profile::Root,
        Some(i) => Profile::SubCA {
            issuer: i.clone(),
            path_len_constraint: Some(0),
        },
    };
    let serial = SerialNumber::new(&uuid::Uuid::new_v4().as_bytes()[..]).unwrap();
    let validity = Validity {
        not_before: time(from),
        not_after: time(to),
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap();
    let mut b = CertificateBuilder::new(profile, serial, validity, subject, spki, signer).unwrap();
    b.add_extension(&SubjectAltName(vec![GeneralName::DnsName(Ia5String::new(cn).unwrap())]))
        .unwrap();
    b.build::<DerSignature>().unwrap()
}

fn pem(cert: &Certificate) -> String {
    cert.to_pem(LineEnding::LF).unwrap()
}

/// SEC1 with the curve named, as Linkerd reads it: through sec1's trait (PKCS#8 underneath),
/// not p256's inherent `to_sec1_pem`, which leaves the curve out.
fn sec1_pem(key: &p256::SecretKey) -> String {
    sec1::EncodeEcPrivateKey::to_sec1_pem(key, LineEnding::LF)
        .unwrap()
        .to_string()
}

/// A trust anchor the test holds the key of.
struct Anchor {
    cert: Certificate,
    key: p256::SecretKey,
}

impl Anchor {
    fn new(from: u64, to: u64) -> Anchor {
        let key = random_key();
        let signing = SigningKey::from(&key);
        let cert = ca_cert("root.cluster.local", &signing, &signing, None, from, to);
        Anchor { cert, key }
    }

    /// An issuer (certificate PEM, key PEM) valid from `from` to `to`.
    fn issuer(&self, from: u64, to: u64) -> (String, String) {
        let key = random_key();
        let cert = ca_cert(
            "identity.linkerd.cluster.local",
            &SigningKey::from(&key),
            &SigningKey::from(&self.key),
            Some(&self.cert.tbs_certificate.subject),
            from,
            to,
        );
        (pem(&cert), sec1_pem(&key))
    }
}

fn certs(pem: &str) -> Vec<Certificate> {
    Certificate::load_pem_chain(pem.as_bytes()).unwrap_or_else(|e| panic!("PEM certificates: {e}\n{pem}"))
}

fn not_after(cert: &Certificate) -> u64 {
    cert.tbs_certificate.validity.not_after.to_unix_duration().as_secs()
}

/// Base64 as Kubernetes writes Secret data (through k8s-openapi's ByteString).
fn b64(bytes: &[u8]) -> String {
    let v = serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())).unwrap();
    v.as_str().unwrap().to_string()
}

fn unb64(text: &str) -> Vec<u8> {
    serde_json::from_value::<k8s_openapi::ByteString>(json!(text))
        .unwrap()
        .0
}

// ---------------------------------------------------------------- cluster helpers

/// Replaces the issuer secret's certificate and key, as an administrator would.
async fn seed_issuer(client: &kube::Client, cert_pem: &str, key_pem: &str) {
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": ISSUER, "namespace": NS},
        "data": {"crt.pem": b64(cert_pem.as_bytes()), "key.pem": b64(key_pem.as_bytes())}});
    apply_objects(client, &[secret]).await;
}

async fn seed_roots(client: &kube::Client, bundle_pem: &str) {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": ROOTS, "namespace": NS}, "data": {"ca-bundle.crt": bundle_pem}});
    apply_objects(client, &[cm]).await;
}

async fn issuer_in_cluster(client: &kube::Client) -> (Certificate, String) {
    let s = get_json(client, "v1", "Secret", Some(NS), ISSUER)
        .await
        .expect("issuer secret");
    let crt = String::from_utf8(unb64(s["data"]["crt.pem"].as_str().unwrap())).unwrap();
    let key = String::from_utf8(unb64(s["data"]["key.pem"].as_str().unwrap())).unwrap();
    (certs(&crt).remove(0), key)
}

async fn roots_in_cluster(client: &kube::Client) -> Vec<Certificate> {
    let cm = get_json(client, "v1", "ConfigMap", Some(NS), ROOTS)
        .await
        .expect("trust roots");
    certs(cm["data"]["ca-bundle.crt"].as_str().unwrap())
}

// ---------------------------------------------------------------- the mesh under test

/// A host, a Linkerd client and its events, on one cluster; uninstalls Linkerd when dropped.
struct Mesh {
    // Removes what a failed test's install left before the cluster goes (fields drop in order),
    // so one failure does not fail every Linkerd test after it on a shared cluster.
    _leftovers: Leftovers,
    cluster: TestCluster,
    host: Option<wasmesh::RunningHost>,
    client: Client,
    events: Events,
    installed: bool,
    /// The release the linkerd operation installs ("" for the default).
    release: &'static str,
}

impl Mesh {
    async fn start() -> Mesh {
        let cluster = TestCluster::start().await;
        let host = start_host().await;
        let client = client(&host, "LINKERD", Generation::Adapter).await;
        let events = Events::subscribe(&client).await;
        Mesh {
            _leftovers: Leftovers::linkerd_any_release(&cluster),
            cluster,
            host: Some(host),
            client,
            events,
            installed: false,
            release: "",
        }
    }

    /// Runs one operation; returns its events, the final one last.
    async fn run(&mut self, op: &str, namespace: &str, body: &str, delete: bool) -> Vec<EventsResponse> {
        let mut req = request(op, namespace, body, &[self.cluster.kubeconfig()]);
        req.delete_op = delete;
        if op == "linkerd" {
            req.version = self.release.into();
        }
        self.client.apply(req.clone()).await.unwrap();
        // Not Events::outcome: linkerd-check's ERROR findings come before the final event, which
        // (INFO or ERROR) is the one that names the cluster.
        let id = req.operation_id.clone();
        let done = self
            .events
            .wait_for(&format!("the end of {op}"), |e| {
                e.operation_id == id && e.details.starts_with("cluster \"")
            })
            .await;
        let mut all: Vec<EventsResponse> = self
            .events
            .for_op(&req.operation_id)
            .into_iter()
            .filter(|e| e != &done)
            .collect();
        all.push(done);
        all
    }

    /// The real install operation.
    async fn install(&mut self) {
        self.installed = true;
        let events = self.run("linkerd", "default", "", false).await;
        let done = events.last().unwrap();
        assert_eq!(done.event_type, INFO, "install: {events:#?}");
    }

    async fn check(&mut self) -> Vec<EventsResponse> {
        self.run("linkerd-check", "default", "", false).await
    }

    async fn rotate(&mut self, body: &str) -> Vec<EventsResponse> {
        self.run("rotate-identity-issuer", "default", body, false).await
    }

    async fn kube(&self) -> kube::Client {
        self.cluster.client().await
    }

    async fn finish(mut self) {
        if self.installed {
            let events = self.run("linkerd", "default", "", true).await;
            assert_eq!(events.last().unwrap().event_type, INFO, "uninstall: {events:#?}");
            self.installed = false;
        }
        if let Some(host) = self.host.take() {
            host.shutdown().await;
        }
    }
}

/// The findings (every event but the final one) with a code, as (level, code, summary).
fn coded(events: &[EventsResponse]) -> Vec<(i32, String, String)> {
    events[..events.len() - 1]
        .iter()
        .filter(|e| !e.error_code.is_empty())
        .map(|e| (e.event_type, e.error_code.clone(), e.summary.clone()))
        .collect()
}

/// The one finding with `code`; panics with every event when there is none or more.
fn finding<'a>(events: &'a [EventsResponse], code: &str) -> &'a EventsResponse {
    let found: Vec<&EventsResponse> = events[..events.len() - 1]
        .iter()
        .filter(|e| e.error_code == code)
        .collect();
    assert_eq!(found.len(), 1, "one finding {code}: {events:#?}");
    let e = found[0];
    assert!(
        !e.probable_cause.is_empty() && !e.suggested_remediation.is_empty(),
        "{e:?}"
    );
    e
}

fn summary_counts(events: &[EventsResponse]) -> (usize, usize, usize) {
    let count = |level| {
        events[..events.len() - 1]
            .iter()
            .filter(|e| e.event_type == level)
            .count()
    };
    (count(INFO), count(WARN), count(ERROR))
}

fn assert_all_pass(events: &[EventsResponse]) {
    let done = events.last().unwrap();
    assert_eq!(done.event_type, INFO, "{events:#?}");
    let (passed, warnings, failed) = summary_counts(events);
    assert_eq!((warnings, failed), (0, 0), "{events:#?}");
    assert_eq!(
        done.summary,
        format!("linkerd-check: {passed} passed, 0 warnings, 0 failed")
    );
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_install_passes_every_check_and_nothing_is_written() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.install().await;
    let meshed = mesh.cluster.namespace("l5d-check-meshed").await;
    let events = mesh.run("annotate-namespace", meshed.name(), "", false).await;
    assert_eq!(events.last().unwrap().event_type, INFO, "{events:#?}");

    clear_log(&mesh.cluster);
    let events = mesh.check().await;
    assert_all_pass(&events);
    assert!(
        writes(&mesh.cluster).is_empty(),
        "linkerd-check wrote: {:?}",
        writes(&mesh.cluster)
    );
    let summaries: Vec<&str> = events.iter().map(|e| e.summary.as_str()).collect();
    for expected in [
        "Linkerd control plane stable-",
        "Linkerd CRDs: all 7 present and established",
        "Gateway API CRDs: all 1 present and established",
        "control-plane Deployment linkerd-identity is available",
        "control-plane Deployment linkerd-destination is available",
        "control-plane Deployment linkerd-proxy-injector is available",
        "MutatingWebhookConfiguration linkerd-proxy-injector-webhook-config: caBundle matches",
        "ValidatingWebhookConfiguration linkerd-sp-validator-webhook-config: caBundle matches",
        "ValidatingWebhookConfiguration linkerd-policy-validator-webhook-config: caBundle matches",
        "trust anchors: 1 valid for more than 30 days",
        "identity issuer identity.linkerd.cluster.local is signed by trust anchor root.cluster.local",
        &format!("namespace {} is meshed", meshed.name()),
    ] {
        assert!(
            summaries.iter().any(|s| s.starts_with(expected)),
            "no event {expected:?}: {summaries:#?}"
        );
    }
    if mesh.cluster.server().is_some() {
        // Exactly those checks on the test server (a real cluster may have more meshed namespaces).
        assert_eq!(
            events.last().unwrap().summary,
            "linkerd-check: 12 passed, 0 warnings, 0 failed"
        );
    }
    drop(meshed);
    mesh.finish().await;
}

/// edge-25.4.4 installs more CRDs than stable-2.14 (ExternalWorkload, EgressNetwork,
/// HTTPLocalRateLimitPolicy, four Gateway API routes): the check looks for exactly those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_looks_for_the_crds_of_the_installed_release() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.release = "edge-25.4.4";
    mesh.install().await;
    let events = mesh.check().await;
    assert_all_pass(&events);
    for expected in [
        "Linkerd CRDs: all 10 present and established",
        "Gateway API CRDs: all 4 present and established",
    ] {
        assert!(
            events.iter().any(|e| e.summary.starts_with(expected)),
            "no event {expected:?}: {events:#?}"
        );
    }

    let client = mesh.kube().await;
    for name in [
        "egressnetworks.policy.linkerd.io",
        "tcproutes.gateway.networking.k8s.io",
    ] {
        delete(
            &client,
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            None,
            name,
        )
        .await;
    }
    let events = mesh.check().await;
    let done = events.last().unwrap();
    assert_eq!(done.error_code, "WASMESH-LINKERD-1499", "{events:#?}");
    assert!(done.summary.contains("0 warnings, 2 failed"), "{}", done.summary);
    let linkerd = finding(&events, "WASMESH-LINKERD-1401");
    assert!(
        linkerd.summary.contains("egressnetworks.policy.linkerd.io"),
        "{}",
        linkerd.summary
    );
    let gateway = finding(&events, "WASMESH-LINKERD-1422");
    assert!(
        gateway.summary.contains("tcproutes.gateway.networking.k8s.io"),
        "{}",
        gateway.summary
    );
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_linkerd_one_error_says_so() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    clear_log(&mesh.cluster);
    let events = mesh.check().await;
    let done = events.last().unwrap();
    assert_eq!(done.event_type, ERROR, "{events:#?}");
    assert_eq!(done.error_code, "WASMESH-LINKERD-1499");
    assert!(
        done.summary.contains("linkerd-check: 0 passed, 0 warnings, 1 failed"),
        "{}",
        done.summary
    );
    assert_eq!(events.len(), 2, "one finding and the summary: {events:#?}");
    let e = finding(&events, "WASMESH-LINKERD-1400");
    assert_eq!(e.event_type, ERROR);
    assert!(e.summary.contains("Linkerd is not installed"), "{}", e.summary);

    // Rotation refuses too, and writes nothing.
    let events = mesh.rotate("").await;
    let done = events.last().unwrap();
    assert_eq!(
        (done.event_type, done.error_code.as_str()),
        (ERROR, "WASMESH-LINKERD-1500"),
        "{events:#?}"
    );
    assert!(writes(&mesh.cluster).is_empty(), "{:?}", writes(&mesh.cluster));
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_plane_faults_each_have_their_own_code() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.install().await;
    let client = mesh.kube().await;

    // A CRD deleted.
    delete(
        &client,
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        None,
        "httproutes.policy.linkerd.io",
    )
    .await;
    // A webhook's caBundle replaced by another CA's.
    let stranger = Anchor::new(now() - 60, now() + 365 * DAY);
    let name = "linkerd-policy-validator-webhook-config";
    let mut hook = get_json(
        &client,
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        None,
        name,
    )
    .await
    .expect("policy validator webhook");
    hook["webhooks"][0]["clientConfig"]["caBundle"] = json!(b64(pem(&stranger.cert).as_bytes()));
    let hooks = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name}, "webhooks": hook["webhooks"]});
    apply_objects(&client, &[hooks]).await;
    // A Deployment not available: only the test server lets a test set a status.
    let unavailable = mesh.cluster.server().is_some();
    if unavailable {
        let ar = resource_of(&client, &json!({"apiVersion": "apps/v1", "kind": "Deployment"})).await;
        let api = dynamic_api(client.clone(), &ar, Some(NS));
        let status = json!({"status": {"replicas": 1, "availableReplicas": 0, "unavailableReplicas": 1,
            "conditions": [{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}]}});
        api.patch_status("linkerd-destination", &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch deployment status");
    }

    let events = mesh.check().await;
    let done = events.last().unwrap();
    assert_eq!(done.event_type, ERROR, "{events:#?}");
    assert_eq!(done.error_code, "WASMESH-LINKERD-1499");
    let failed = if unavailable { 3 } else { 2 };
    assert!(
        done.summary.contains(&format!("0 warnings, {failed} failed")),
        "{events:#?}"
    );
    let crd = finding(&events, "WASMESH-LINKERD-1401");
    assert_eq!(crd.event_type, ERROR);
    assert!(crd.summary.contains("httproutes.policy.linkerd.io"), "{}", crd.summary);
    let hook = finding(&events, "WASMESH-LINKERD-1408");
    assert!(hook.summary.contains(name), "{}", hook.summary);
    if unavailable {
        let d = finding(&events, "WASMESH-LINKERD-1404");
        assert!(
            d.summary.contains("linkerd-destination") && d.summary.contains("0/1"),
            "{}",
            d.summary
        );
    }
    assert_eq!(coded(&events).len(), failed, "{events:#?}");
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_faults_each_have_their_own_code() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.install().await;
    let client = mesh.kube().await;
    let t = now();

    // Trust roots replaced by an anchor that did not sign the issuer.
    let stranger = Anchor::new(t - 60, t + 365 * DAY);
    seed_roots(&client, &pem(&stranger.cert)).await;
    let events = mesh.check().await;
    assert_eq!(events.last().unwrap().event_type, ERROR);
    let e = finding(&events, "WASMESH-LINKERD-1417");
    assert!(e.summary.contains("not signed by any trust anchor"), "{}", e.summary);
    assert_eq!(coded(&events).len(), 1, "{events:#?}");

    // An issuer that has expired, from an anchor the test holds.
    let anchor = Anchor::new(t - 30 * DAY, t + 365 * DAY);
    seed_roots(&client, &pem(&anchor.cert)).await;
    let (crt, key) = anchor.issuer(t - 30 * DAY, t - DAY);
    seed_issuer(&client, &crt, &key).await;
    let events = mesh.check().await;
    let e = finding(&events, "WASMESH-LINKERD-1418");
    assert_eq!(e.event_type, ERROR);
    assert!(e.summary.contains("has expired"), "{}", e.summary);
    assert_eq!(coded(&events).len(), 1, "{events:#?}");

    // One that expires in ten days: a warning, and the operation succeeds.
    let (crt, key) = anchor.issuer(t - 60, t + 10 * DAY);
    seed_issuer(&client, &crt, &key).await;
    let events = mesh.check().await;
    let e = finding(&events, "WASMESH-LINKERD-1419");
    assert_eq!(e.event_type, WARN);
    let done = events.last().unwrap();
    assert_eq!(done.event_type, INFO, "{events:#?}");
    assert!(done.summary.contains("1 warning, 0 failed"), "{}", done.summary);

    // A key that is not the issuer's.
    let (_, other_key) = anchor.issuer(t - 60, t + 100 * DAY);
    seed_issuer(&client, &crt, &other_key).await;
    let events = mesh.check().await;
    let e = finding(&events, "WASMESH-LINKERD-1420");
    assert!(!e.summary.contains("PRIVATE KEY"), "{}", e.summary);
    assert!(
        events
            .iter()
            .all(|e| !e.summary.contains(&other_key[40..80]) && !e.details.contains(&other_key[40..80]))
    );

    // Back to a good pair: all pass again.
    let (crt, key) = anchor.issuer(t - 60, t + 100 * DAY);
    seed_issuer(&client, &crt, &key).await;
    assert_all_pass(&mesh.check().await);
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annotated_namespace_with_a_pod_without_the_proxy_is_flagged() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.install().await;
    let ns = mesh.cluster.namespace("l5d-check-uninjected").await;
    let client = mesh.kube().await;
    // The pod first, then the annotation: the pod stays without the proxy until restarted.
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "legacy", "namespace": ns.name()},
        "spec": {"containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]}});
    let ar = resource_of(&client, &pod).await;
    let pods = dynamic_api(client.clone(), &ar, Some(ns.name()));
    let seeded = pods
        .patch("legacy", &PatchParams::apply("e2e-admin").force(), &Patch::Apply(&pod))
        .await;
    match seeded {
        Ok(_) => {}
        // The test API server (built in, or as a process standing in for a real cluster) serves
        // pods read-only: there is no kubelet to run them. A real cluster creates the pod.
        Err(kube::Error::Api(s)) if s.code == 405 => {
            eprintln!("the API server refuses to create pods; only the namespace part is checked");
        }
        Err(e) => panic!("create pod: {e}"),
    }
    let has_pod = pods.get_opt("legacy").await.unwrap().is_some();
    let events = mesh.run("annotate-namespace", ns.name(), "", false).await;
    assert_eq!(events.last().unwrap().event_type, INFO);

    let events = mesh.check().await;
    if has_pod {
        let e = finding(&events, "WASMESH-LINKERD-1430");
        assert_eq!(e.event_type, WARN);
        assert!(
            e.summary.contains(ns.name()) && e.summary.contains("legacy"),
            "{}",
            e.summary
        );
        assert_eq!(events.last().unwrap().event_type, INFO, "warnings only: {events:#?}");
    } else {
        let meshed = events
            .iter()
            .find(|e| e.summary == format!("namespace {} is meshed", ns.name()))
            .unwrap_or_else(|| panic!("no event for the meshed namespace: {events:#?}"));
        assert_eq!(meshed.event_type, INFO);
        assert!(meshed.details.starts_with("0 pod(s)"), "{}", meshed.details);
    }
    drop(ns);
    mesh.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_without_the_anchor_key_adds_a_new_anchor_and_keeps_the_old() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.install().await;
    let client = mesh.kube().await;
    let (old_issuer, old_key) = issuer_in_cluster(&client).await;
    let old_roots = roots_in_cluster(&client).await;
    assert_eq!(old_roots.len(), 1);

    let events = mesh.rotate("").await;
    let done = events.last().unwrap();
    assert_eq!(done.event_type, INFO, "{events:#?}");
    assert!(
        done.summary.contains("new trust anchor") && done.summary.contains("restart"),
        "{}",
        done.summary
    );
    assert!(
        events
            .iter()
            .any(|e| e.event_type == WARN && e.details.contains("linkerd-identity last")),
        "next steps: {events:#?}"
    );
    for e in &events {
        let text = format!("{} {}", e.summary, e.details);
        assert!(!text.contains("PRIVATE KEY"), "a key in an event: {text}");
    }

    let (issuer, key) = issuer_in_cluster(&client).await;
    assert_ne!(issuer, old_issuer, "the issuer changed");
    assert_ne!(key, old_key);
    assert!(key.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let roots = roots_in_cluster(&client).await;
    assert_eq!(roots.len(), 2, "old anchor and new one");
    assert_eq!(roots[0], old_roots[0], "the old anchor kept");
    assert!(signed_by(&issuer, &roots[1]), "the new issuer chains to the new anchor");
    assert!(!signed_by(&issuer, &roots[0]));
    assert!(not_after(&issuer) > now() + 300 * DAY);
    assert_eq!(
        issuer.tbs_certificate.subject.to_string(),
        "CN=identity.linkerd.cluster.local"
    );
    // The issuer secret keeps what the install put on it.
    let secret = get_json(&client, "v1", "Secret", Some(NS), ISSUER).await.unwrap();
    assert_eq!(
        secret["metadata"]["labels"]["linkerd.io/control-plane-component"], "identity",
        "{secret}"
    );

    assert_all_pass(&mesh.check().await);

    // Again: the bundle grows by one, the first anchor still in it.
    let events = mesh
        .rotate(r#"{"newTrustAnchor": true, "issuerValidityDays": 90}"#)
        .await;
    assert_eq!(events.last().unwrap().event_type, INFO, "{events:#?}");
    let roots = roots_in_cluster(&client).await;
    assert_eq!(roots.len(), 3);
    assert_eq!(roots[0], old_roots[0]);
    let (issuer, _) = issuer_in_cluster(&client).await;
    assert!(signed_by(&issuer, &roots[2]));
    assert!(not_after(&issuer) < now() + 91 * DAY);
    assert_all_pass(&mesh.check().await);
    mesh.finish().await;
}

/// Rotates with `body`, which must be refused with `code` before anything is written; returns
/// the final event.
async fn rotation_refused(mesh: &mut Mesh, body: &str, code: &str) -> EventsResponse {
    clear_log(&mesh.cluster);
    let events = mesh.rotate(body).await;
    let done = events.last().unwrap().clone();
    assert_eq!(
        (done.event_type, done.error_code.as_str()),
        (ERROR, code),
        "{events:#?}"
    );
    assert!(writes(&mesh.cluster).is_empty(), "{:?}", writes(&mesh.cluster));
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_with_the_anchor_key_signs_with_that_anchor_only() {
    let _lock = wasmesh_e2e::control_plane_lock("linkerd").await;
    let mut mesh = Mesh::start().await;
    mesh.install().await;
    let client = mesh.kube().await;
    let t = now();
    // An anchor whose key the operator kept (the test holds it), with its issuer.
    let anchor = Anchor::new(t - DAY, t + 3650 * DAY);
    seed_roots(&client, &pem(&anchor.cert)).await;
    let (crt, key) = anchor.issuer(t - DAY, t + 20 * DAY);
    seed_issuer(&client, &crt, &key).await;
    let before = issuer_in_cluster(&client).await.0;
    let events = mesh.check().await;
    assert_eq!(finding(&events, "WASMESH-LINKERD-1419").event_type, WARN);

    // An anchor that is not in the trust roots is refused, and nothing is written.
    let stranger = Anchor::new(t - DAY, t + 3650 * DAY);
    let body = json!({"trustAnchorCertPEM": pem(&stranger.cert), "trustAnchorKeyPEM": sec1_pem(&stranger.key)});
    let done = rotation_refused(&mut mesh, &body.to_string(), "WASMESH-LINKERD-1508").await;
    let anchor_key_pem = sec1_pem(&anchor.key);
    assert!(!done.summary.contains(&anchor_key_pem[40..80]));

    // The right anchor, pasted as PEM blocks with an option line.
    let body = format!("issuerValidityDays: 200\n{}{anchor_key_pem}", pem(&anchor.cert));
    let events = mesh.rotate(&body).await;
    let done = events.last().unwrap();
    assert_eq!(done.event_type, INFO, "{events:#?}");
    assert!(done.summary.contains("no restart needed"), "{}", done.summary);
    for e in &events {
        assert!(!format!("{} {}", e.summary, e.details).contains(&anchor_key_pem[40..80]));
    }
    let (issuer, _) = issuer_in_cluster(&client).await;
    assert_ne!(issuer, before);
    assert!(signed_by(&issuer, &anchor.cert), "signed by the given anchor");
    let roots = roots_in_cluster(&client).await;
    assert_eq!(roots, vec![anchor.cert.clone()], "trust roots unchanged");
    let end = not_after(&issuer);
    assert!(end > t + 199 * DAY && end < t + 201 * DAY, "200 days");
    assert_all_pass(&mesh.check().await);

    // A malformed issuer secret is refused before anything is written.
    seed_issuer(&client, "not a certificate", "not a key").await;
    rotation_refused(&mut mesh, "", "WASMESH-LINKERD-1503").await;
    let roots_after = get_json(&client, "v1", "ConfigMap", Some(NS), ROOTS).await.unwrap();
    assert_eq!(certs(roots_after["data"]["ca-bundle.crt"].as_str().unwrap()).len(), 1);
    mesh.finish().await;
}

#[test]
fn host_side_certificates_chain_as_built() {
    let t = now();
    let anchor = Anchor::new(t - 60, t + DAY);
    let (crt, key) = anchor.issuer(t - 60, t + DAY);
    let issuer = Certificate::from_pem(crt.as_bytes()).unwrap();
    assert!(signed_by(&issuer, &anchor.cert));
    assert!(!signed_by(&anchor.cert, &issuer));
    assert!(key.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let der = x509_cert::der::pem::decode_vec(key.as_bytes()).unwrap().1;
    assert!(
        sec1::EcPrivateKey::from_der(&der).unwrap().parameters.is_some(),
        "curve named"
    );
    assert_eq!(unb64(&b64(b"hello")), b"hello");
}
