//! `istio-vet` through gRPC: every check's fault, seeded directly in a test namespace, comes back
//! as its own event with its code and the object's name; a correct mesh gives INFO events only;
//! a cluster without Istio gets one clear ERROR. Nothing is written by the operation.
//!
//! The control plane is what a real Istio install has: an istiod Deployment in istio-system
//! (app=istiod, istio.io/rev=default, image docker.io/istio/pilot:<version>), the
//! istio-sidecar-injector MutatingWebhookConfiguration and the istio-validator-istio-system
//! ValidatingWebhookConfiguration (both fail open and match nothing the tests create). On a real
//! cluster that already runs istiod, that istiod is used as it is (and its version).

use std::time::Duration;

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use wasmesh_e2e::cluster_objects::{Created, ISTIO_NS, dynamic_api, get_json};
use wasmesh_e2e::meshery::{Client, ERROR, EventsResponse, Generation, INFO, WARN};
use wasmesh_e2e::{
    EVENT_WAIT, Events, TestCluster, apply_objects, clear_log, client, request, resource_of, start_host, writes,
};

/// The tests install (or rely on) one control plane per cluster: never at the same time.

const VERSION: &str = "1.27.3";
const OLD_VERSION: &str = "1.26.1";

// ---------------------------------------------------------------- objects

fn pod(ns: &str, name: &str, labels: Value, proxy: Option<&str>) -> Value {
    let mut containers = vec![json!({"name": "app", "image": "registry.k8s.io/pause:3.10"})];
    if let Some(v) = proxy {
        containers.push(json!({"name": "istio-proxy", "image": format!("docker.io/istio/proxyv2:{v}")}));
    }
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": labels},
           "spec": {"containers": containers}})
}

fn service(ns: &str, name: &str, selector: Value, ports: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
           "spec": {"selector": selector, "ports": ports}})
}

fn virtual_service(ns: &str, name: &str, hosts: Value, gateways: Value, destination: &str) -> Value {
    json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"hosts": hosts, "gateways": gateways,
                    "http": [{"route": [{"destination": {"host": destination}}]}]}})
}

fn service_entry(ns: &str, name: &str, hosts: Value) -> Value {
    json!({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
           "metadata": {"name": name, "namespace": ns},
           "spec": {"hosts": hosts, "location": "MESH_EXTERNAL", "resolution": "DNS",
                    "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}]}})
}

/// A structural CRD of an Istio networking kind, served as v1 (storage) and v1beta1.
fn istio_crd(kind: &str, plural: &str, short: &str) -> Value {
    let version = |name: &str, storage: bool| {
        json!({"name": name, "served": true, "storage": storage,
               "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                   "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                   "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
               "subresources": {"status": {}}})
    };
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": format!("{plural}.networking.istio.io"),
                        "labels": {"app": "istio-pilot", "chart": "istio"}},
           "spec": {"group": "networking.istio.io", "scope": "Namespaced",
                    "names": {"kind": kind, "plural": plural, "singular": kind.to_ascii_lowercase(),
                              "listKind": format!("{kind}List"), "shortNames": [short], "categories": ["istio-io", "networking-istio-io"]},
                    "versions": [version("v1", true), version("v1beta1", false)]}})
}

fn istiod(version: &str) -> Value {
    let labels = json!({"app": "istiod", "istio.io/rev": "default", "istio": "pilot"});
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "istiod", "namespace": ISTIO_NS, "labels": labels},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"istio": "pilot"}},
                    "template": {"metadata": {"labels": labels, "annotations": {"sidecar.istio.io/inject": "false"}},
                                 "spec": {"serviceAccountName": "istiod", "containers": [{
                                     "name": "discovery", "image": format!("docker.io/istio/pilot:{version}"),
                                     "args": ["discovery", "--monitoringAddr=:15014", "--domain", "cluster.local"],
                                     "ports": [{"containerPort": 8080}, {"containerPort": 15010}, {"containerPort": 15017}]}]}}}})
}

/// The injector webhook as Istio names it; it fails open and selects no namespace the tests make.
fn injector_webhook() -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
           "metadata": {"name": "istio-sidecar-injector",
                        "labels": {"app": "sidecar-injector", "istio.io/rev": "default"}},
           "webhooks": [{"name": "namespace.sidecar-injector.istio.io",
                         "clientConfig": {"service": {"name": "istiod", "namespace": ISTIO_NS, "path": "/inject", "port": 443}},
                         "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
                         "namespaceSelector": {"matchLabels": {"wasmesh.io/vet-test-never": "true"}},
                         "failurePolicy": "Ignore", "sideEffects": "None", "timeoutSeconds": 1,
                         "admissionReviewVersions": ["v1"]}]})
}

fn validator_webhook() -> Value {
    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
           "metadata": {"name": format!("istio-validator-{ISTIO_NS}"),
                        "labels": {"app": "istiod", "istio": "istiod", "istio.io/rev": "default"}},
           "webhooks": [{"name": "rev.validation.istio.io",
                         "clientConfig": {"service": {"name": "istiod", "namespace": ISTIO_NS, "path": "/validate", "port": 443}},
                         "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["networking.istio.io"],
                                    "apiVersions": ["*"], "resources": ["*"]}],
                         "objectSelector": {"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": ["wasmesh-vet-test-never"]}]},
                         "failurePolicy": "Ignore", "sideEffects": "None", "timeoutSeconds": 1,
                         "admissionReviewVersions": ["v1"]}]})
}

// ---------------------------------------------------------------- set-up and clean-up

/// The version of an istiod already running in the cluster (a real cluster with Istio).
async fn running_istiod(client: &kube::Client) -> Option<String> {
    let d = get_json(client, "apps/v1", "Deployment", Some(ISTIO_NS), "istiod").await?;
    let image = d.pointer("/spec/template/spec/containers/0/image")?.as_str()?;
    Some(image.rsplit(':').next()?.trim_end_matches("-distroless").to_string())
}

/// The control plane the tests vet against.
struct Istio {
    /// The version the proxies have to match.
    version: String,
    /// Seeded by the test on a real cluster: that istiod never becomes ready there.
    seeded_on_real_cluster: bool,
    _created: Created,
}

async fn install_istio(cluster: &TestCluster) -> Istio {
    let client = cluster.client().await;
    let mut created = Created::new(cluster);
    if let Some(version) = running_istiod(&client).await {
        return Istio {
            version,
            seeded_on_real_cluster: false,
            _created: created,
        };
    }
    if get_json(&client, "v1", "Namespace", None, ISTIO_NS).await.is_none() {
        created
            .apply(
                &client,
                &[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO_NS}})],
            )
            .await;
    }
    created
        .apply(&client, &[istiod(VERSION), injector_webhook(), validator_webhook()])
        .await;
    Istio {
        version: VERSION.into(),
        seeded_on_real_cluster: cluster.server().is_none(),
        _created: created,
    }
}

/// VirtualService and ServiceEntry CRDs, unless the cluster has them already.
async fn istio_crds(cluster: &TestCluster) -> Created {
    let client = cluster.client().await;
    let mut created = Created::new(cluster);
    for (kind, plural, short) in [
        ("VirtualService", "virtualservices", "vs"),
        ("ServiceEntry", "serviceentries", "se"),
    ] {
        let name = format!("{plural}.networking.istio.io");
        let crd = "apiextensions.k8s.io/v1";
        if get_json(&client, crd, "CustomResourceDefinition", None, &name)
            .await
            .is_none()
        {
            created.apply(&client, &[istio_crd(kind, plural, short)]).await;
        }
        // Served once discovery lists it (immediately on the test server).
        let gvk = kube::core::GroupVersionKind::gvk("networking.istio.io", "v1", kind);
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        while kube::discovery::pinned_kind(&client, &gvk).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "{kind} never served");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    created
}

/// Server-side apply of the objects, as an administrator would. Pods are stored as given (no
/// scheduler or kubelet on the test server; on a real cluster they are scheduled as usual).
async fn seed(cluster: &TestCluster, objects: &[Value]) {
    let client = cluster.client().await;
    let params = PatchParams::apply("e2e-admin").force();
    for o in objects {
        if o["kind"] != "Pod" {
            apply_objects(&client, std::slice::from_ref(o)).await;
            continue;
        }
        let ar = resource_of(&client, o).await;
        let (ns, name) = (
            o["metadata"]["namespace"].as_str().unwrap(),
            o["metadata"]["name"].as_str().unwrap(),
        );
        let api = dynamic_api(client.clone(), &ar, Some(ns));
        match api.patch(name, &params, &Patch::Apply(o)).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 405 && cluster.server().is_some() => panic!(
                "the built-in test API server refuses to store Pod {name} (405): it serves pods read-only \
                 (tests/apiserver/src/discovery.rs, read_only(builtin(\"\", \"pods\", ...))); istio-vet's \
                 pod checks need it to store Pods as given"
            ),
            Err(e) => panic!("apply Pod {name}: {e}"),
        }
    }
}

async fn label_namespace(cluster: &TestCluster, ns: &str, labels: Value) {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client().await);
    api.patch(
        ns,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": labels}})),
    )
    .await
    .unwrap_or_else(|e| panic!("label namespace {ns}: {e}"));
}

// ---------------------------------------------------------------- running the operation

struct Vet {
    _host: wasmesh::RunningHost,
    client: Client,
    events: Events,
}

impl Vet {
    async fn start() -> Vet {
        let host = start_host().await;
        let client = client(&host, "ISTIO", Generation::Mesh).await;
        let events = Events::subscribe(&client).await;
        Vet {
            _host: host,
            client,
            events,
        }
    }

    /// Runs istio-vet; returns the final event and every event of the operation.
    async fn run(&mut self, cluster: &TestCluster, namespace: &str) -> (EventsResponse, Vec<EventsResponse>) {
        self.op(cluster, "istio-vet", namespace, "", false).await
    }

    /// Runs an operation of the Istio adapter; returns the final event and every event of it.
    async fn op(
        &mut self,
        cluster: &TestCluster,
        key: &str,
        namespace: &str,
        body: &str,
        delete: bool,
    ) -> (EventsResponse, Vec<EventsResponse>) {
        let mut req = request(key, namespace, body, &[cluster.kubeconfig()]);
        req.delete_op = delete;
        self.client.apply(req.clone()).await.expect("ApplyOperation");
        // The per-cluster final event, or a failure of the operation itself (not a finding).
        let done = self
            .events
            .wait_for("the end of istio-vet", |e| {
                e.operation_id == req.operation_id
                    && (e.details.starts_with("cluster \"")
                        || e.event_type == ERROR && !e.error_code.starts_with("WASMESH-ISTIO-15"))
            })
            .await;
        (done, self.events.for_op(&req.operation_id))
    }
}

/// The vet only reads: nothing was written since the log was cleared.
fn assert_nothing_written(cluster: &TestCluster) {
    let written = writes(cluster);
    assert!(written.is_empty(), "vet writes nothing: {written:?}");
}

/// The final summary of a vet of namespace `n` against the test's istiod. Its counts only hold
/// on the test server: a real cluster may have more in it.
fn assert_summary_on_test_server(cluster: &TestCluster, done: &EventsResponse, counts: &str, n: &str) {
    if cluster.server().is_some() {
        assert_eq!(
            done.summary,
            format!("istio-vet: {counts} in namespace \"{n}\"; control plane: istiod {VERSION}")
        );
    }
}

fn show(events: &[EventsResponse]) -> String {
    events
        .iter()
        .map(|e| format!("[{}] {} {} | {}", e.event_type, e.error_code, e.summary, e.details))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The finding with this code whose message names every one of `names`.
fn finding<'a>(events: &'a [EventsResponse], code: u16, names: &[&str]) -> &'a EventsResponse {
    let code = format!("WASMESH-ISTIO-{code}");
    let e = events
        .iter()
        .find(|e| e.error_code == code && names.iter().all(|n| e.summary.contains(n)))
        .unwrap_or_else(|| panic!("no {code} finding naming {names:?}; events:\n{}", show(events)));
    assert!(
        !e.probable_cause.concat().is_empty() && !e.suggested_remediation.concat().is_empty(),
        "{e:?}"
    );
    e
}

/// No finding (WARN or ERROR) mentions `name`.
fn no_finding_about(events: &[EventsResponse], name: &str) {
    let quoted = format!("\"{name}\"");
    let hits: Vec<&EventsResponse> = events
        .iter()
        .filter(|e| e.event_type != INFO && e.summary.contains(&quoted))
        .collect();
    assert!(hits.is_empty(), "unexpected findings about {name}:\n{}", show(events));
}

fn findings(events: &[EventsResponse]) -> Vec<&EventsResponse> {
    events
        .iter()
        .filter(|e| e.event_type != INFO && e.error_code.starts_with("WASMESH-ISTIO-15"))
        .collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_without_istio_says_it_is_not_installed() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    if running_istiod(&cluster.client().await).await.is_some() {
        eprintln!("skipped: this cluster runs Istio");
        return;
    }
    let ns = cluster.namespace("vet-none").await;
    let mut vet = Vet::start().await;
    clear_log(&cluster);
    let (done, events) = vet.run(&cluster, ns.name()).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    assert_eq!(
        done.summary,
        format!(
            "istio-vet: Istio is not installed: 1 finding (1 error, 0 warnings) in namespace \"{}\"",
            ns.name()
        )
    );
    let e = finding(&events, 1500, &["Istio is not installed", "istiod", ISTIO_NS]);
    assert_eq!(e.event_type, ERROR);
    assert!(e.suggested_remediation.concat().contains("install Istio"), "{e:?}");
    assert_eq!(findings(&events).len(), 1, "{}", show(&events));
    assert_nothing_written(&cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_of_a_correct_mesh_is_info_only() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let istio = install_istio(&cluster).await;
    let _crds = istio_crds(&cluster).await;
    let ns = cluster.namespace("vet-clean").await;
    let n = ns.name();
    let v = istio.version.as_str();
    let app = |name: &str, version: &str| json!({"app": name, "version": version});
    seed(
        &cluster,
        &[
            pod(n, "web-v1", app("web", "v1"), Some(v)),
            pod(n, "web-v2", app("web", "v2"), Some(v)),
            pod(
                n,
                "db-0",
                json!({"app.kubernetes.io/name": "db", "app.kubernetes.io/version": "14"}),
                Some(v),
            ),
            pod(n, "batch", json!({"sidecar.istio.io/inject": "false"}), None),
            service(
                n,
                "web",
                json!({"app": "web"}),
                json!([{"port": 80, "name": "http-web"}, {"port": 9090, "name": "grpc"}]),
            ),
            service(
                n,
                "db",
                json!({"app.kubernetes.io/name": "db"}),
                json!([{"port": 5432, "name": "postgres", "appProtocol": "tcp"}]),
            ),
            virtual_service(n, "web", json!(["web"]), json!([]), "web"),
            virtual_service(
                n,
                "db",
                json!([format!("db.{n}.svc.cluster.local")]),
                json!(["mesh"]),
                &format!("db.{n}"),
            ),
            virtual_service(n, "payments", json!(["pay.example.com"]), json!([]), "pay.example.com"),
            service_entry(n, "payments", json!(["pay.example.com"])),
        ],
    )
    .await;
    // Labelled after the pods exist, as a namespace is on a live cluster.
    label_namespace(&cluster, n, json!({"istio-injection": "enabled"})).await;

    let mut vet = Vet::start().await;
    clear_log(&cluster);
    let (done, events) = vet.run(&cluster, n).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    let tolerated = |e: &&EventsResponse| !(istio.seeded_on_real_cluster && e.error_code == "WASMESH-ISTIO-1502");
    let problems: Vec<_> = findings(&events).into_iter().filter(tolerated).collect();
    assert!(
        problems.is_empty(),
        "a correct mesh has no findings:\n{}",
        show(&events)
    );
    for check in [
        "sidecar injection",
        "proxy versions",
        "app and version labels",
        "service port names",
        "service association",
        "VirtualService destinations",
        "VirtualService hosts",
    ] {
        let summary = format!("istio-vet: {check}: no problems found");
        assert!(
            events.iter().any(|e| e.event_type == INFO && e.summary == summary),
            "no \"{summary}\":\n{}",
            show(&events)
        );
    }
    if cluster.server().is_some() {
        let cp = events
            .iter()
            .find(|e| e.summary == "istio-vet: control plane: no problems found")
            .unwrap_or_else(|| panic!("{}", show(&events)));
        assert!(cp.details.contains(&format!(
            "istiod {VERSION} (revision default) available: 1/1 replicas ready"
        )));
        assert!(
            cp.details.contains("sidecar injector webhook istio-sidecar-injector"),
            "{}",
            cp.details
        );
        assert!(
            cp.details.contains("validation webhook istio-validator-istio-system"),
            "{}",
            cp.details
        );
        assert_eq!(
            done.summary,
            format!(
                "istio-vet: 0 findings (0 errors, 0 warnings) in namespace \"{n}\"; control plane: istiod {VERSION}"
            )
        );
        let sidecars = events.iter().find(|e| e.summary.contains("sidecar injection")).unwrap();
        assert!(
            sidecars.details.contains("4 pods in 1 namespaces: 3 with a sidecar"),
            "{}",
            sidecars.details
        );
    }
    assert_nothing_written(&cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_finds_each_workload_fault() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let istio = install_istio(&cluster).await;
    let ns = cluster.namespace("vet-workloads").await;
    let n = ns.name();
    let v = istio.version.as_str();
    let app = |name: &str| json!({"app": name, "version": "v1"});
    seed(
        &cluster,
        &[
            // Correct.
            pod(n, "good", app("good"), Some(v)),
            pod(
                n,
                "opted-out",
                json!({"app": "good", "sidecar.istio.io/inject": "false"}),
                None,
            ),
            service(
                n,
                "good",
                json!({"app": "good"}),
                json!([{"port": 80, "name": "http-web"}]),
            ),
            service(
                n,
                "app-protocol",
                json!({"app": "good"}),
                json!([{"port": 80, "name": "web", "appProtocol": "http"}]),
            ),
            // Faults.
            pod(n, "no-sidecar", app("good"), None),
            pod(n, "old-proxy", app("good"), Some(OLD_VERSION)),
            pod(n, "no-labels", json!({"tier": "back"}), Some(v)),
            pod(n, "orphan", app("orphan"), Some(v)),
            service(
                n,
                "badly-named",
                json!({"app": "good"}),
                json!([{"port": 8080, "name": "web"}]),
            ),
            service(n, "unnamed", json!({"app": "good"}), json!([{"port": 9090}])),
        ],
    )
    .await;
    label_namespace(&cluster, n, json!({"istio-injection": "enabled"})).await;

    let mut vet = Vet::start().await;
    clear_log(&cluster);
    let (done, events) = vet.run(&cluster, n).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    let ns_q = format!("namespace \"{n}\"");

    // Pods in mesh without sidecar.
    let e = finding(&events, 1510, &["Pod \"no-sidecar\"", &ns_q, "istio-injection=enabled"]);
    assert_eq!(e.event_type, WARN);
    assert!(e.suggested_remediation.concat().contains("no-sidecar"), "{e:?}");
    // Proxy version against istiod's.
    let e = finding(
        &events,
        1520,
        &["Pod \"old-proxy\"", &ns_q, OLD_VERSION, &format!("istiod {v}")],
    );
    assert_eq!(e.event_type, WARN);
    // Missing app and version labels.
    finding(&events, 1530, &["Pod \"no-labels\"", &ns_q, "app label"]);
    finding(&events, 1531, &["Pod \"no-labels\"", &ns_q, "version label"]);
    // Service ports without protocol.
    let e = finding(
        &events,
        1540,
        &["Service \"badly-named\"", &ns_q, "port 8080 (named \"web\")"],
    );
    assert!(e.suggested_remediation.concat().contains("http-"), "{e:?}");
    finding(&events, 1540, &["Service \"unnamed\"", &ns_q, "port 9090 (unnamed)"]);
    // Pods no Service selects.
    finding(&events, 1550, &["Pod \"orphan\"", &ns_q, "matches no Service"]);
    finding(&events, 1550, &["Pod \"no-labels\"", &ns_q]);

    for fine in ["good", "opted-out", "app-protocol"] {
        no_finding_about(&events, fine);
    }
    let mut codes: Vec<&str> = findings(&events)
        .iter()
        .map(|e| e.error_code.as_str())
        .filter(|c| !(istio.seeded_on_real_cluster && *c == "WASMESH-ISTIO-1502"))
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "WASMESH-ISTIO-1510",
            "WASMESH-ISTIO-1520",
            "WASMESH-ISTIO-1530",
            "WASMESH-ISTIO-1531",
            "WASMESH-ISTIO-1540",
            "WASMESH-ISTIO-1540",
            "WASMESH-ISTIO-1550",
            "WASMESH-ISTIO-1550"
        ],
        "{}",
        show(&events)
    );
    assert_summary_on_test_server(&cluster, &done, "8 findings (0 errors, 8 warnings)", n);
    assert_nothing_written(&cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_finds_routes_to_missing_hosts_and_conflicting_hosts() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let _istio = install_istio(&cluster).await;
    let _crds = istio_crds(&cluster).await;
    let ns = cluster.namespace("vet-routes").await;
    let n = ns.name();
    let (dotted, fqdn) = (format!("reviews.{n}"), format!("reviews.{n}.svc.cluster.local"));
    // VirtualService name, hosts, gateways, destination host.
    let routes: Vec<(&str, Value, Value, &str)> = vec![
        // Routes to hosts that exist: short name, name.namespace, FQDN, ServiceEntry host.
        ("to-short", json!(["a.example.com"]), json!([]), "reviews"),
        ("to-dotted", json!(["b.example.com"]), json!([]), &dotted),
        ("to-fqdn", json!(["c.example.com"]), json!([]), &fqdn),
        ("to-external", json!(["api.example.com"]), json!([]), "api.example.com"),
        // Routes to hosts that do not.
        ("to-nowhere", json!(["d.example.com"]), json!([]), "ratings"),
        (
            "to-unknown-site",
            json!(["e.example.com"]),
            json!([]),
            "api.example.org",
        ),
        // Two VirtualServices for the same host in the mesh, and two on the same gateway.
        ("reviews-main", json!(["reviews"]), json!([]), "reviews"),
        (
            "reviews-canary",
            json!([format!("reviews.{n}.svc.cluster.local")]),
            json!(["mesh"]),
            "reviews",
        ),
        ("edge-a", json!(["shop.example.com"]), json!(["edge"]), "reviews"),
        (
            "edge-b",
            json!(["shop.example.com"]),
            json!([format!("{n}/edge")]),
            "reviews",
        ),
        // The same host on another gateway does not conflict.
        (
            "edge-other",
            json!(["shop.example.com"]),
            json!(["other/edge"]),
            "reviews",
        ),
    ];
    let mut objects = vec![
        service(
            n,
            "reviews",
            json!({"app": "reviews"}),
            json!([{"port": 9080, "name": "http"}]),
        ),
        service_entry(n, "external", json!(["api.example.com"])),
    ];
    objects.extend(
        routes
            .into_iter()
            .map(|(name, hosts, gateways, to)| virtual_service(n, name, hosts, gateways, to)),
    );
    seed(&cluster, &objects).await;

    let mut vet = Vet::start().await;
    clear_log(&cluster);
    let (done, events) = vet.run(&cluster, n).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    let ns_q = format!("namespace \"{n}\"");
    let e = finding(
        &events,
        1560,
        &["VirtualService \"to-nowhere\"", &ns_q, "host \"ratings\""],
    );
    assert_eq!(e.event_type, ERROR);
    assert!(
        e.suggested_remediation
            .concat()
            .contains(&format!("ratings.{n}.svc.cluster.local")),
        "{e:?}"
    );
    finding(
        &events,
        1560,
        &["VirtualService \"to-unknown-site\"", &ns_q, "host \"api.example.org\""],
    );
    let e = finding(
        &events,
        1570,
        &[
            "\"reviews-main\"",
            "\"reviews-canary\"",
            &format!("host \"reviews.{n}.svc.cluster.local\" for the mesh"),
        ],
    );
    assert_eq!(e.event_type, ERROR);
    let e = finding(
        &events,
        1571,
        &[
            "\"edge-a\"",
            "\"edge-b\"",
            "host \"shop.example.com\"",
            &format!("gateway {n}/edge"),
        ],
    );
    assert_eq!(e.event_type, WARN);
    assert!(!e.summary.contains("edge-other"), "{e:?}");
    for fine in ["to-short", "to-dotted", "to-fqdn", "to-external", "edge-other"] {
        no_finding_about(&events, fine);
    }
    let routes: Vec<_> = findings(&events)
        .into_iter()
        .filter(|e| e.error_code.as_str() >= "WASMESH-ISTIO-1560")
        .collect();
    assert_eq!(routes.len(), 4, "{}", show(&events));
    assert_summary_on_test_server(&cluster, &done, "4 findings (3 errors, 1 warning)", n);
    assert_nothing_written(&cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_reports_an_unhealthy_control_plane() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    // An istiod that never becomes ready, and no webhooks: needs the test server's controls.
    let Some(server) = cluster.server() else {
        eprintln!("skipped: needs the test API server");
        return;
    };
    server.set_deployments_become_available(false);
    let client = cluster.client().await;
    let mut created = Created::new(&cluster);
    created
        .apply(
            &client,
            &[
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO_NS}}),
                istiod(VERSION),
            ],
        )
        .await;
    let ns = cluster.namespace("vet-cp").await;
    let mut vet = Vet::start().await;
    let (done, events) = vet.run(&cluster, ns.name()).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    let e = finding(
        &events,
        1502,
        &[
            "istiod Deployment \"istiod\"",
            "namespace \"istio-system\"",
            "not available",
        ],
    );
    assert_eq!(e.event_type, ERROR);
    assert_eq!(finding(&events, 1503, &["istio-sidecar-injector"]).event_type, ERROR);
    assert_eq!(
        finding(&events, 1504, &["istio-validator-istio-system"]).event_type,
        WARN
    );
    // The health summary is said even with findings.
    let health = events
        .iter()
        .find(|e| e.event_type == INFO && e.summary.starts_with("istio-vet: control plane: istiod"))
        .unwrap_or_else(|| panic!("{}", show(&events)));
    assert!(
        health.summary.contains("NOT available: 0/1 replicas ready"),
        "{}",
        health.summary
    );
    assert!(
        done.summary.starts_with("istio-vet: 3 findings (2 errors, 1 warning)"),
        "{}",
        done.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_all_namespaces_skips_system_namespaces() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let istio = install_istio(&cluster).await;
    let (a, b) = (
        cluster.namespace("vet-all-a").await,
        cluster.namespace("vet-all-b").await,
    );
    let mut objects = vec![
        pod(a.name(), "lonely-a", json!({"app": "x", "version": "v1"}), None),
        pod(b.name(), "lonely-b", json!({"app": "x", "version": "v1"}), None),
        service(
            a.name(),
            "x",
            json!({"app": "x"}),
            json!([{"port": 80, "name": "http"}]),
        ),
        service(
            b.name(),
            "x",
            json!({"app": "x"}),
            json!([{"port": 80, "name": "http"}]),
        ),
    ];
    let on_test_server = cluster.server().is_some();
    if on_test_server {
        // A pod asking for injection in a system namespace is none of vet's business.
        objects.push(pod(
            "kube-system",
            "system-pod",
            json!({"sidecar.istio.io/inject": "true"}),
            None,
        ));
    }
    seed(&cluster, &objects).await;
    label_namespace(&cluster, a.name(), json!({"istio-injection": "enabled"})).await;
    label_namespace(&cluster, b.name(), json!({"istio.io/rev": "default"})).await;

    let mut vet = Vet::start().await;
    let (done, events) = vet.run(&cluster, "all").await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    finding(
        &events,
        1510,
        &["Pod \"lonely-a\"", &format!("namespace \"{}\"", a.name())],
    );
    finding(
        &events,
        1510,
        &[
            "Pod \"lonely-b\"",
            &format!("namespace \"{}\"", b.name()),
            "istio.io/rev=default",
        ],
    );
    no_finding_about(&events, "system-pod");
    if on_test_server {
        assert_eq!(
            done.summary,
            format!(
                "istio-vet: 2 findings (0 errors, 2 warnings) in namespaces default, {}, {}; control plane: istiod {VERSION}",
                a.name(),
                b.name()
            )
        );
        let sidecars = events.iter().find(|e| e.summary.contains("sidecar injection"));
        assert!(sidecars.is_none(), "findings replace the INFO: {}", show(&events));
    }
    drop(istio);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_of_a_missing_namespace_is_an_error() {
    let cluster = TestCluster::start().await;
    let mut vet = Vet::start().await;
    let missing = format!("vet-missing-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    clear_log(&cluster);
    let (done, events) = vet.run(&cluster, &missing).await;
    assert_eq!(done.event_type, ERROR, "{}", show(&events));
    assert_eq!(done.error_code, "WASMESH-ISTIO-1590");
    assert!(
        done.summary
            .contains(&format!("namespace \"{missing}\" does not exist")),
        "{}",
        done.summary
    );
    assert!(writes(&cluster).is_empty());
}

/// Hundreds of objects are read with one list per kind, well within the plugin's call timeout
/// (the product's default): the operation succeeds and finds the one fault among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_reads_hundreds_of_objects_within_the_call_timeout() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    let istio = install_istio(&cluster).await;
    let _crds = istio_crds(&cluster).await;
    let ns = cluster.namespace("vet-many").await;
    let n = ns.name();
    let mut objects = Vec::new();
    for i in 0..100 {
        let app = format!("app-{i}");
        objects.push(service(
            n,
            &app,
            json!({"app": app}),
            json!([{"port": 80, "name": "http"}]),
        ));
        objects.push(virtual_service(n, &app, json!([app]), json!([]), &app));
        for j in 0..3 {
            objects.push(pod(
                n,
                &format!("{app}-{j}"),
                json!({"app": app, "version": "v1"}),
                Some(&istio.version),
            ));
        }
    }
    objects.push(virtual_service(
        n,
        "dangling",
        json!(["z.example.com"]),
        json!([]),
        "app-404",
    ));
    seed(&cluster, &objects).await;
    label_namespace(&cluster, n, json!({"istio-injection": "enabled"})).await;

    let mut vet = Vet::start().await;
    let (done, events) = vet.run(&cluster, n).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    finding(&events, 1560, &["VirtualService \"dangling\"", "host \"app-404\""]);
    let sidecars = events
        .iter()
        .find(|e| e.summary == "istio-vet: sidecar injection: no problems found")
        .unwrap_or_else(|| panic!("{}", show(&events)));
    assert!(
        sidecars
            .details
            .starts_with("300 pods in 1 namespaces: 300 with a sidecar"),
        "{}",
        sidecars.details
    );
    let routes = events
        .iter()
        .find(|e| e.summary == "istio-vet: VirtualService hosts: no problems found")
        .unwrap_or_else(|| panic!("{}", show(&events)));
    assert!(routes.details.contains("VirtualServices"), "{}", routes.details);
    if cluster.server().is_some() {
        assert!(
            done.summary.starts_with("istio-vet: 1 finding (1 error, 0 warnings)"),
            "{}",
            done.summary
        );
    }
}

/// The control plane our own `istio` operation installs (profile minimal) is recognised as
/// healthy, a correct workload next to it is clean, and after the uninstall Istio is reported
/// as not installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vet_after_the_istio_install_operation() {
    let _lock = wasmesh_e2e::control_plane_lock("istio").await;
    let cluster = TestCluster::start().await;
    if running_istiod(&cluster.client().await).await.is_some() {
        eprintln!("skipped: this cluster runs Istio already");
        return;
    }
    let mut vet = Vet::start().await;
    let body = "profile: minimal\nwaitSeconds: 120\nautoscale: false";
    let (done, events) = vet.op(&cluster, "istio", "default", body, false).await;
    assert_eq!(done.event_type, INFO, "install: {}", show(&events));
    let version = running_istiod(&cluster.client().await).await.expect("istiod installed");

    let ns = cluster.namespace("vet-installed").await;
    let n = ns.name();
    seed(
        &cluster,
        &[
            pod(n, "shop-1", json!({"app": "shop", "version": "v1"}), Some(&version)),
            service(n, "shop", json!({"app": "shop"}), json!([{"port": 80, "name": "http"}])),
            virtual_service(n, "shop", json!(["shop"]), json!([]), "shop"),
        ],
    )
    .await;
    label_namespace(&cluster, n, json!({"istio-injection": "enabled"})).await;
    let (done, events) = vet.run(&cluster, n).await;
    assert_eq!(done.event_type, INFO, "{}", show(&events));
    let on_test_server = cluster.server().is_some();
    // On a real cluster istiod may still be starting: only that is tolerated.
    let problems: Vec<_> = findings(&events)
        .into_iter()
        .filter(|e| on_test_server || e.error_code != "WASMESH-ISTIO-1502")
        .collect();
    assert!(problems.is_empty(), "{}", show(&events));
    let cp = events
        .iter()
        .find(|e| e.event_type == INFO && e.summary.starts_with("istio-vet: control plane"))
        .unwrap_or_else(|| panic!("{}", show(&events)));
    for part in [
        format!("istiod {version} (revision default)"),
        "sidecar injector webhook istio-sidecar-injector".into(),
        "validation webhook istio-validator-istio-system".into(),
        "installed profile minimal".into(),
    ] {
        assert!(
            cp.details.contains(&part) || cp.summary.contains(&part),
            "{part}: {cp:?}"
        );
    }
    if on_test_server {
        assert_eq!(
            done.summary,
            format!(
                "istio-vet: 0 findings (0 errors, 0 warnings) in namespace \"{n}\"; control plane: istiod {version}"
            )
        );
    }

    let (done, events) = vet.op(&cluster, "istio", "default", body, true).await;
    assert_eq!(done.event_type, INFO, "uninstall: {}", show(&events));
    let (done, events) = vet.run(&cluster, n).await;
    assert!(
        done.summary.starts_with("istio-vet: Istio is not installed"),
        "{}",
        show(&events)
    );
    finding(&events, 1500, &["Istio is not installed"]);
}
