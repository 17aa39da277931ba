//! The rules every check shares, on Kubernetes objects as JSON: image versions, host names,
//! port names, selectors, which workload a pod belongs to and whether it should be in the mesh.
//! Pure functions, unit-tested natively.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// The DNS domain Kubernetes Services live under (Istio's default `--domain`).
pub const CLUSTER_DOMAIN: &str = "cluster.local";
/// The name of the sidecar container Istio injects.
pub const PROXY_CONTAINER: &str = "istio-proxy";

/// Namespaces that belong to the platform: workload checks leave them alone.
pub const SYSTEM_NAMESPACES: &[&str] = &[
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "istio-system",
    "istio-operator",
    "local-path-storage",
];

pub fn is_system_namespace(ns: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&ns)
}

pub fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

pub fn name(v: &Value) -> &str {
    text(v, "/metadata/name").unwrap_or_default()
}

pub fn namespace(v: &Value) -> &str {
    text(v, "/metadata/namespace").unwrap_or_default()
}

pub fn label<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

pub fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/annotations")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

/// The array at `pointer`, empty when absent.
pub fn items<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

pub fn strings<'a>(v: &'a Value, pointer: &str) -> Vec<&'a str> {
    items(v, pointer).iter().filter_map(Value::as_str).collect()
}

/// The version an image reference carries in its tag: `docker.io/istio/proxyv2:1.27.3`,
/// `registry:5000/istio/pilot:1.27.3-distroless@sha256:...` give "1.27.3"; a reference by digest
/// only, or without a tag, gives None.
pub fn image_version(image: &str) -> Option<String> {
    let without_digest = image.split('@').next().unwrap_or_default();
    let last = without_digest.rsplit('/').next().unwrap_or_default();
    let (_, tag) = last.split_once(':')?;
    let tag = ["-distroless", "-debug"]
        .iter()
        .fold(tag, |t, variant| t.strip_suffix(variant).unwrap_or(t));
    let tag = tag.trim();
    (!tag.is_empty()).then(|| tag.to_string())
}

/// The istio-proxy container of a pod: a regular container, or a native sidecar (an init
/// container with restartPolicy Always, as Istio injects it when native sidecars are on).
pub fn proxy_container(pod: &Value) -> Option<&Value> {
    items(pod, "/spec/containers")
        .iter()
        .chain(items(pod, "/spec/initContainers"))
        .find(|c| c["name"] == PROXY_CONTAINER)
}

/// The FQDN of a Service.
pub fn service_fqdn(name: &str, namespace: &str) -> String {
    format!("{name}.{namespace}.svc.{CLUSTER_DOMAIN}")
}

/// The fully qualified name a host means when written in `namespace`, the way Istio and the
/// cluster DNS read it: `reviews` and `reviews.bookinfo` (when bookinfo is a namespace) and
/// `reviews.bookinfo.svc` all mean `reviews.bookinfo.svc.cluster.local`; anything else
/// (external names, wildcards) is taken as written, lower-cased.
pub fn canonical_host(host: &str, namespace: &str, is_namespace: &dyn Fn(&str) -> bool) -> String {
    let host = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.starts_with('*') {
        return host;
    }
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] => service_fqdn(name, namespace),
        [name, ns] if is_namespace(ns) => service_fqdn(name, ns),
        [_, _, "svc"] => format!("{host}.{CLUSTER_DOMAIN}"),
        _ => host,
    }
}

/// Whether a ServiceEntry (or VirtualService) host pattern covers `host`: equal, or a wildcard
/// `*.example.com` covering any name under example.com, or `*` covering everything.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some("") => true,
        Some(suffix) => host.ends_with(suffix) && host.len() > suffix.len(),
        None => pattern == host,
    }
}

/// A gateway reference of a VirtualService as `namespace/name`, or "mesh".
pub fn canonical_gateway(gateway: &str, namespace: &str) -> String {
    let gateway = gateway.trim();
    if gateway == "mesh" {
        return "mesh".into();
    }
    if gateway.contains('/') {
        return gateway.to_string();
    }
    // The old FQDN form: name.namespace.svc[.cluster.local].
    let parts: Vec<&str> = gateway.split('.').collect();
    if parts.len() >= 3 && parts[2] == "svc" {
        return format!("{}/{}", parts[1], parts[0]);
    }
    format!("{namespace}/{gateway}")
}

/// The protocols Istio recognises as the first `-`-separated part of a port name (compared
/// without regard to case): `http`, `http-web`, `grpc-api`, `tcp-db`...
pub const PORT_PROTOCOLS: &[&str] = &[
    "http",
    "http2",
    "https",
    "http_proxy",
    "grpc",
    "grpc-web",
    "tcp",
    "tls",
    "udp",
    "mongo",
    "mysql",
    "redis",
];

/// The protocol a port name declares, if any.
pub fn protocol_of_port_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let prefix = lower.split('-').next().unwrap_or_default();
    PORT_PROTOCOLS.iter().copied().find(|p| *p == prefix || *p == lower)
}

/// Whether a Service port tells Istio its protocol: through `appProtocol`, or a name with a
/// protocol prefix. UDP and SCTP ports are not proxied, so they need neither.
pub fn port_declares_protocol(port: &Value) -> bool {
    let transport = port["protocol"].as_str().unwrap_or("TCP");
    if !transport.eq_ignore_ascii_case("TCP") {
        return true;
    }
    if port["appProtocol"].as_str().is_some_and(|p| !p.trim().is_empty()) {
        return true;
    }
    port["name"].as_str().and_then(protocol_of_port_name).is_some()
}

/// Whether a Service selector selects these labels (a Service without a selector selects no pods).
pub fn selector_matches(selector: Option<&Map<String, Value>>, labels: Option<&Map<String, Value>>) -> bool {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return false;
    };
    selector
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)).is_some_and(|have| have == v))
}

/// The workload a pod belongs to, as a person would name it: a Deployment (a ReplicaSet owner
/// with the pod-template-hash suffix removed), another owner, or the pod itself.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Workload {
    pub namespace: String,
    pub kind: String,
    pub name: String,
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} \"{}\" in namespace \"{}\"", self.kind, self.name, self.namespace)
    }
}

pub fn workload_of(pod: &Value) -> Workload {
    let namespace = namespace(pod).to_string();
    let owner = items(pod, "/metadata/ownerReferences")
        .iter()
        .find(|o| o["controller"].as_bool() == Some(true))
        .or_else(|| items(pod, "/metadata/ownerReferences").first());
    let Some(owner) = owner else {
        return Workload {
            namespace,
            kind: "Pod".into(),
            name: name(pod).into(),
        };
    };
    let kind = owner["kind"].as_str().unwrap_or("Pod");
    let owner_name = owner["name"].as_str().unwrap_or_default();
    if kind == "ReplicaSet"
        && let Some(hash) = label(pod, "pod-template-hash")
        && let Some(deployment) = owner_name.strip_suffix(&format!("-{hash}"))
    {
        return Workload {
            namespace,
            kind: "Deployment".into(),
            name: deployment.into(),
        };
    }
    Workload {
        namespace,
        kind: kind.into(),
        name: owner_name.into(),
    }
}

/// Groups pods by workload, keeping the order of first appearance stable (sorted).
pub fn by_workload<'a>(pods: impl IntoIterator<Item = &'a Value>) -> Vec<(Workload, Vec<&'a Value>)> {
    let mut groups: std::collections::BTreeMap<Workload, Vec<&Value>> = Default::default();
    for p in pods {
        groups.entry(workload_of(p)).or_default().push(p);
    }
    groups.into_iter().collect()
}

/// "pod \"a\"" or "3 pods: a, b, c" (at most 5 names).
pub fn pod_list(pods: &[&Value]) -> String {
    let names: Vec<&str> = pods.iter().map(|p| name(p)).collect();
    if names.len() == 1 {
        return format!("pod \"{}\"", names[0]);
    }
    let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    let more = if names.len() > 5 {
        format!(" and {} more", names.len() - 5)
    } else {
        String::new()
    };
    format!("{} pods: {shown}{more}", names.len())
}

/// How a namespace asks for injection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Injection {
    /// `istio-injection=enabled`: the default revision injects.
    Enabled,
    /// `istio.io/rev=<revision>` (without istio-injection).
    Revision(String),
    /// `istio-injection=disabled`: nothing is injected, whatever the pods say.
    Disabled,
    /// No label: only pods that ask (sidecar.istio.io/inject=true, istio.io/rev) are injected.
    Unset,
}

pub fn injection(namespace: Option<&Value>) -> Injection {
    let label = |k: &str| namespace.and_then(|n| label(n, k));
    match label("istio-injection") {
        Some("enabled") => Injection::Enabled,
        Some("disabled") => Injection::Disabled,
        _ => match label("istio.io/rev") {
            Some(rev) if !rev.is_empty() => Injection::Revision(rev.into()),
            _ => Injection::Unset,
        },
    }
}

/// Whether the namespace is enrolled in ambient mode.
pub fn ambient_namespace(namespace: Option<&Value>) -> bool {
    namespace.and_then(|n| label(n, "istio.io/dataplane-mode")) == Some("ambient")
}

/// Where a pod stands with respect to the mesh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dataplane {
    /// It runs an istio-proxy sidecar.
    Sidecar,
    /// It is captured by ztunnel (ambient mode): no sidecar needed.
    Ambient,
    /// Its namespace (or the pod itself) asks for injection, yet it has no sidecar.
    MissingSidecar,
    /// Not in the mesh, and not asked to be (or finished, or on the host network).
    Outside,
}

pub fn dataplane(pod: &Value, namespace: Option<&Value>) -> Dataplane {
    if proxy_container(pod).is_some() {
        return Dataplane::Sidecar;
    }
    if matches!(text(pod, "/status/phase"), Some("Succeeded" | "Failed")) || pod["spec"]["hostNetwork"] == true {
        return Dataplane::Outside;
    }
    let mode = label(pod, "istio.io/dataplane-mode");
    if mode == Some("ambient") || ambient_namespace(namespace) && mode != Some("none") {
        return Dataplane::Ambient;
    }
    let asked = label(pod, "sidecar.istio.io/inject").or_else(|| annotation(pod, "sidecar.istio.io/inject"));
    // Outside an injection-enabled namespace only the pod *label* reaches the injector (the
    // webhooks' objectSelector sees labels): the annotation can opt a pod out, never in.
    let asked_by_label = label(pod, "sidecar.istio.io/inject");
    let expects = match injection(namespace) {
        Injection::Disabled => false,
        Injection::Enabled | Injection::Revision(_) => asked != Some("false"),
        Injection::Unset => {
            asked_by_label == Some("true") || label(pod, "istio.io/rev").is_some() && asked != Some("false")
        }
    };
    if expects {
        Dataplane::MissingSidecar
    } else {
        Dataplane::Outside
    }
}

/// The control plane revision a pod's proxy talks to: its istio.io/rev label, or the revision
/// recorded in the injection status annotation.
pub fn proxy_revision(pod: &Value) -> Option<String> {
    if let Some(rev) = label(pod, "istio.io/rev") {
        return Some(rev.to_string());
    }
    let status: Value = serde_json::from_str(annotation(pod, "sidecar.istio.io/status")?).ok()?;
    status["revision"].as_str().map(str::to_string)
}

/// Joins names for a message: "a, b and c".
pub fn join(names: &BTreeSet<String>) -> String {
    let v: Vec<&str> = names.iter().map(String::as_str).collect();
    match v.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_from_image_references() {
        let cases: &[(&str, Option<&str>)] = &[
            ("docker.io/istio/proxyv2:1.27.3", Some("1.27.3")),
            ("docker.io/istio/pilot:1.26.0", Some("1.26.0")),
            ("istio/proxyv2:1.27.3-distroless", Some("1.27.3")),
            ("gcr.io/istio-release/proxyv2:1.27.3-debug", Some("1.27.3")),
            ("localhost:5000/istio/proxyv2:1.27.3", Some("1.27.3")),
            ("localhost:5000/istio/proxyv2", None),
            (
                "registry.example.com:443/mirror/istio/pilot:1.28.0-beta.1",
                Some("1.28.0-beta.1"),
            ),
            ("docker.io/istio/proxyv2@sha256:0123456789abcdef", None),
            ("localhost:5000/istio/proxyv2@sha256:0123456789abcdef", None),
            ("docker.io/istio/proxyv2:1.27.3@sha256:0123456789abcdef", Some("1.27.3")),
            ("proxyv2:1.25.2", Some("1.25.2")),
            ("proxyv2", None),
            ("proxyv2:", None),
            ("", None),
        ];
        for (image, want) in cases {
            assert_eq!(image_version(image).as_deref(), *want, "{image}");
        }
    }

    #[test]
    fn hosts_resolve_like_istio_and_cluster_dns() {
        let namespaces = |n: &str| ["bookinfo", "default"].contains(&n);
        let cases: &[(&str, &str, &str)] = &[
            ("reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
            ("Reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
            ("reviews.default", "bookinfo", "reviews.default.svc.cluster.local"),
            ("reviews.default.svc", "bookinfo", "reviews.default.svc.cluster.local"),
            (
                "reviews.default.svc.cluster.local",
                "x",
                "reviews.default.svc.cluster.local",
            ),
            (
                "reviews.default.svc.cluster.local.",
                "x",
                "reviews.default.svc.cluster.local",
            ),
            // Not a namespace: an external two-label name.
            ("example.com", "bookinfo", "example.com"),
            ("api.example.com", "bookinfo", "api.example.com"),
            ("*.example.com", "bookinfo", "*.example.com"),
            ("*", "bookinfo", "*"),
        ];
        for (host, ns, want) in cases {
            assert_eq!(canonical_host(host, ns, &namespaces), *want, "{host} from {ns}");
        }
    }

    #[test]
    fn host_patterns() {
        let cases: &[(&str, &str, bool)] = &[
            ("api.example.com", "api.example.com", true),
            ("api.example.com", "www.example.com", false),
            ("*.example.com", "api.example.com", true),
            ("*.example.com", "a.b.example.com", true),
            ("*.example.com", "example.com", false),
            ("*.example.com", ".example.com", false),
            ("*", "anything.at.all", true),
            ("*.example.com", "api.example.org", false),
        ];
        for (pattern, host, want) in cases {
            assert_eq!(host_matches(pattern, host), *want, "{pattern} vs {host}");
        }
    }

    #[test]
    fn gateway_references() {
        let cases: &[(&str, &str, &str)] = &[
            ("mesh", "a", "mesh"),
            ("bookinfo-gateway", "bookinfo", "bookinfo/bookinfo-gateway"),
            ("istio-system/ingress", "bookinfo", "istio-system/ingress"),
            (
                "ingress.istio-system.svc.cluster.local",
                "bookinfo",
                "istio-system/ingress",
            ),
            ("ingress.istio-system.svc", "bookinfo", "istio-system/ingress"),
            ("edge.v2", "shop", "shop/edge.v2"),
        ];
        for (gw, ns, want) in cases {
            assert_eq!(canonical_gateway(gw, ns), *want, "{gw}");
        }
    }

    #[test]
    fn port_names_and_app_protocol() {
        let cases: &[(Value, bool)] = &[
            (json!({"port": 80, "name": "http"}), true),
            (json!({"port": 80, "name": "http-web"}), true),
            (json!({"port": 80, "name": "HTTP-web"}), true),
            (json!({"port": 80, "name": "http2"}), true),
            (json!({"port": 443, "name": "https"}), true),
            (json!({"port": 9090, "name": "grpc-api"}), true),
            (json!({"port": 9090, "name": "grpc-web"}), true),
            (json!({"port": 5432, "name": "tcp-postgres"}), true),
            (json!({"port": 443, "name": "tls-passthrough"}), true),
            (json!({"port": 27017, "name": "mongo"}), true),
            (json!({"port": 6379, "name": "redis-main"}), true),
            (json!({"port": 80, "name": "web"}), false),
            (json!({"port": 80, "name": "httpweb"}), false),
            (json!({"port": 80, "name": "web-http"}), false),
            (json!({"port": 80}), false),
            (json!({"port": 80, "name": ""}), false),
            (json!({"port": 80, "name": "web", "appProtocol": "http"}), true),
            (json!({"port": 80, "appProtocol": "kubernetes.io/h2c"}), true),
            (json!({"port": 80, "name": "web", "appProtocol": " "}), false),
            (json!({"port": 80, "name": "web", "protocol": "TCP"}), false),
            (json!({"port": 53, "name": "dns", "protocol": "UDP"}), true),
            (json!({"port": 9, "name": "x", "protocol": "SCTP"}), true),
        ];
        for (port, want) in cases {
            assert_eq!(port_declares_protocol(port), *want, "{port}");
        }
    }

    #[test]
    fn selectors() {
        let labels = json!({"app": "reviews", "version": "v1"});
        let labels = labels.as_object();
        let sel = |v: Value| v.as_object().cloned();
        assert!(selector_matches(sel(json!({"app": "reviews"})).as_ref(), labels));
        assert!(selector_matches(
            sel(json!({"app": "reviews", "version": "v1"})).as_ref(),
            labels
        ));
        assert!(!selector_matches(
            sel(json!({"app": "reviews", "version": "v2"})).as_ref(),
            labels
        ));
        assert!(!selector_matches(sel(json!({"app": "ratings"})).as_ref(), labels));
        assert!(!selector_matches(sel(json!({})).as_ref(), labels));
        assert!(!selector_matches(None, labels));
        assert!(!selector_matches(sel(json!({"app": "reviews"})).as_ref(), None));
    }

    #[test]
    fn workloads_of_pods() {
        let rs = json!({"metadata": {"name": "reviews-v1-7f9c-abcde", "namespace": "b",
            "labels": {"pod-template-hash": "7f9c"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "reviews-v1-7f9c", "controller": true}]}});
        assert_eq!(
            workload_of(&rs).to_string(),
            "Deployment \"reviews-v1\" in namespace \"b\""
        );
        let sts = json!({"metadata": {"name": "db-0", "namespace": "b",
            "ownerReferences": [{"kind": "StatefulSet", "name": "db", "controller": true}]}});
        assert_eq!(workload_of(&sts).to_string(), "StatefulSet \"db\" in namespace \"b\"");
        let bare = json!({"metadata": {"name": "solo", "namespace": "b"}});
        assert_eq!(workload_of(&bare).to_string(), "Pod \"solo\" in namespace \"b\"");
        let rs_no_hash = json!({"metadata": {"name": "x-1", "namespace": "b",
            "ownerReferences": [{"kind": "ReplicaSet", "name": "x", "controller": true}]}});
        assert_eq!(workload_of(&rs_no_hash).kind, "ReplicaSet");
    }

    fn ns(labels: Value) -> Value {
        json!({"metadata": {"name": "n", "labels": labels}})
    }

    fn pod(labels: Value, sidecar: bool) -> Value {
        let mut containers = vec![json!({"name": "app", "image": "app:1"})];
        if sidecar {
            containers.push(json!({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.27.3"}));
        }
        json!({"metadata": {"name": "p", "namespace": "n", "labels": labels},
               "spec": {"containers": containers}, "status": {"phase": "Running"}})
    }

    #[test]
    fn who_should_have_a_sidecar() {
        use Dataplane::*;
        let injected = ns(json!({"istio-injection": "enabled"}));
        let revision = ns(json!({"istio.io/rev": "canary"}));
        let disabled = ns(json!({"istio-injection": "disabled"}));
        let ambient = ns(json!({"istio.io/dataplane-mode": "ambient"}));
        let plain = ns(json!({}));
        let cases: Vec<(&str, Value, Option<&Value>, Dataplane)> = vec![
            ("sidecar present", pod(json!({}), true), Some(&injected), Sidecar),
            (
                "injected ns, no sidecar",
                pod(json!({}), false),
                Some(&injected),
                MissingSidecar,
            ),
            (
                "revision ns, no sidecar",
                pod(json!({}), false),
                Some(&revision),
                MissingSidecar,
            ),
            (
                "pod opts out",
                pod(json!({"sidecar.istio.io/inject": "false"}), false),
                Some(&injected),
                Outside,
            ),
            (
                "disabled ns",
                pod(json!({"sidecar.istio.io/inject": "true"}), false),
                Some(&disabled),
                Outside,
            ),
            ("plain ns", pod(json!({}), false), Some(&plain), Outside),
            (
                "plain ns, pod asks",
                pod(json!({"sidecar.istio.io/inject": "true"}), false),
                Some(&plain),
                MissingSidecar,
            ),
            (
                // The webhooks select pods by label: the annotation alone injects nothing there.
                "plain ns, pod annotation asks",
                {
                    let mut p = pod(json!({}), false);
                    p["metadata"]["annotations"] = json!({"sidecar.istio.io/inject": "true"});
                    p
                },
                Some(&plain),
                Outside,
            ),
            (
                "plain ns, pod revision",
                pod(json!({"istio.io/rev": "default"}), false),
                Some(&plain),
                MissingSidecar,
            ),
            ("ambient ns", pod(json!({}), false), Some(&ambient), Ambient),
            (
                "ambient ns, pod opts out",
                pod(json!({"istio.io/dataplane-mode": "none"}), false),
                Some(&ambient),
                Outside,
            ),
            (
                "ambient pod",
                pod(json!({"istio.io/dataplane-mode": "ambient"}), false),
                Some(&plain),
                Ambient,
            ),
            ("unknown namespace", pod(json!({}), false), None, Outside),
        ];
        for (what, p, n, want) in cases {
            assert_eq!(dataplane(&p, n), want, "{what}");
        }
        let mut finished = pod(json!({}), false);
        finished["status"]["phase"] = json!("Succeeded");
        assert_eq!(dataplane(&finished, Some(&injected)), Outside);
        let mut host = pod(json!({}), false);
        host["spec"]["hostNetwork"] = json!(true);
        assert_eq!(dataplane(&host, Some(&injected)), Outside);
        // A native sidecar (init container) counts.
        let mut native = pod(json!({}), false);
        native["spec"]["initContainers"] =
            json!([{"name": "istio-proxy", "image": "proxyv2:1.27.3", "restartPolicy": "Always"}]);
        assert_eq!(dataplane(&native, Some(&injected)), Sidecar);
    }

    #[test]
    fn proxy_revisions() {
        let labelled = json!({"metadata": {"labels": {"istio.io/rev": "canary"}}});
        assert_eq!(proxy_revision(&labelled).as_deref(), Some("canary"));
        let annotated = json!({"metadata": {"annotations": {
            "sidecar.istio.io/status": "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"],\"revision\":\"default\"}"}}});
        assert_eq!(proxy_revision(&annotated).as_deref(), Some("default"));
        assert_eq!(proxy_revision(&json!({"metadata": {}})), None);
    }

    #[test]
    fn lists_read_well() {
        let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(join(&set(&["a"])), "a");
        assert_eq!(join(&set(&["a", "b", "c"])), "a, b and c");
        let pods: Vec<Value> = (0..7).map(|i| json!({"metadata": {"name": format!("p{i}")}})).collect();
        let refs: Vec<&Value> = pods.iter().collect();
        assert_eq!(pod_list(&refs[..1]), "pod \"p0\"");
        assert_eq!(pod_list(&refs), "7 pods: p0, p1, p2, p3, p4 and 2 more");
    }
}
