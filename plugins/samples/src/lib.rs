//! The sample applications Meshery offers with every mesh, as Kubernetes objects, embedded so
//! they deploy in an air-gapped cluster. Mesh-specific parts (injection, gateways) are the
//! translators' business: [`App::objects`] gives plain objects without a namespace, and
//! [`App::entry`] says which Service fronts the app and which URL paths reach it, so a
//! translator can build its own ingress (an Istio Gateway and VirtualService, for instance).
//!
//! Facts (images, ports, labels, environment) follow the upstream samples: Istio's
//! `samples/bookinfo` and `samples/httpbin`, Linkerd's emojivoto (BuoyantIO/emojivoto, images on
//! docker.l5d.io) and Layer5's image-hub (the web and api services Meshery's adapters deploy).

use serde_json::{Map, Value, json};

/// One sample application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    Bookinfo,
    Httpbin,
    Imagehub,
    Emojivoto,
}

/// How an URL path is matched on the way into an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathMatch {
    /// The path is exactly this.
    Exact(&'static str),
    /// The path starts with this.
    Prefix(&'static str),
}

/// The front door of an application: the Service a user reaches first, its port, and the URL
/// paths that should be routed to it from outside the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Name of the Service (one of the app's objects).
    pub service: &'static str,
    /// The Service port that serves HTTP.
    pub port: u16,
    /// Paths to route to the service; `Prefix("/")` means everything.
    pub paths: &'static [PathMatch],
}

const BOOKINFO_TAG: &str = "1.20.1";
const EMOJIVOTO_TAG: &str = "v11";
const HTTPBIN_IMAGE: &str = "docker.io/mccutchen/go-httpbin:v2.15.0";
const IMAGEHUB_WEB_IMAGE: &str = "docker.io/layer5/image-hub-web:latest";
const IMAGEHUB_API_IMAGE: &str = "docker.io/layer5/image-hub-api:latest";

impl App {
    pub const ALL: [App; 4] = [App::Bookinfo, App::Httpbin, App::Imagehub, App::Emojivoto];

    /// Each app's operation as a translator offers it: (key, description), in [`App::ALL`]'s
    /// order (`wasmesh_sdk::translator::Op::samples` makes the operations of them).
    pub const OPERATIONS: [(&'static str, &'static str); 4] = [
        ("bookinfo", "Bookinfo application"),
        ("httpbin", "Httpbin application"),
        ("imagehub", "Imagehub application"),
        ("emojivoto", "Emojivoto application"),
    ];

    /// The operation key Meshery uses for it.
    pub fn key(self) -> &'static str {
        match self {
            App::Bookinfo => "bookinfo",
            App::Httpbin => "httpbin",
            App::Imagehub => "imagehub",
            App::Emojivoto => "emojivoto",
        }
    }

    pub fn from_key(key: &str) -> Option<App> {
        App::ALL.into_iter().find(|a| a.key() == key)
    }

    /// The name a person reads, e.g. in an event summary ("Bookinfo").
    pub fn title(self) -> &'static str {
        match self {
            App::Bookinfo => "Bookinfo",
            App::Httpbin => "Httpbin",
            App::Imagehub => "Imagehub",
            App::Emojivoto => "Emojivoto",
        }
    }

    /// The Service that fronts the application and the paths that reach it from outside.
    pub fn entry(self) -> Entry {
        use PathMatch::*;
        match self {
            App::Bookinfo => Entry {
                service: "productpage",
                port: 9080,
                paths: &[
                    Exact("/productpage"),
                    Prefix("/static"),
                    Exact("/login"),
                    Exact("/logout"),
                    Prefix("/api/v1/products"),
                ],
            },
            App::Httpbin => Entry {
                service: "httpbin",
                port: 8000,
                paths: &[Prefix("/")],
            },
            App::Imagehub => Entry {
                service: "web",
                port: 8080,
                paths: &[Prefix("/")],
            },
            App::Emojivoto => Entry {
                service: "web-svc",
                port: 80,
                paths: &[Prefix("/")],
            },
        }
    }

    /// The application's objects, without a namespace (they go to the request's namespace).
    /// Order: ServiceAccounts, Services, then Deployments.
    pub fn objects(self) -> Vec<Value> {
        match self {
            App::Bookinfo => bookinfo(),
            App::Httpbin => httpbin(),
            App::Imagehub => imagehub(),
            App::Emojivoto => emojivoto(),
        }
    }

    /// Names of the application's Deployments (to wait for them, for instance).
    pub fn deployments(self) -> Vec<String> {
        self.objects()
            .iter()
            .filter(|o| o["kind"] == "Deployment")
            .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
            .collect()
    }
}

/// Labels as a JSON object, from pairs.
fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect::<Map<_, _>>(),
    )
}

fn service_account(name: &str, meta_labels: &[(&str, &str)]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "labels": labels(meta_labels)},
    })
}

/// A ClusterIP Service; `ports` are (name, port, target port).
fn service(name: &str, meta_labels: &[(&str, &str)], selector: &[(&str, &str)], ports: &[(&str, u16, u16)]) -> Value {
    let ports: Vec<Value> = ports
        .iter()
        .map(|(port_name, port, target)| json!({"name": port_name, "port": port, "targetPort": target, "protocol": "TCP"}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": labels(meta_labels)},
        "spec": {"type": "ClusterIP", "selector": labels(selector), "ports": ports},
    })
}

/// A one-replica Deployment whose pods carry `pod_labels` (also its selector).
fn deployment(
    name: &str,
    meta_labels: &[(&str, &str)],
    pod_labels: &[(&str, &str)],
    service_account: Option<&str>,
    container: Value,
    volumes: Value,
) -> Value {
    let mut spec = json!({"containers": [container]});
    if let Some(sa) = service_account {
        spec["serviceAccountName"] = json!(sa);
    }
    if volumes.as_array().is_some_and(|v| !v.is_empty()) {
        spec["volumes"] = volumes;
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels(meta_labels)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels(pod_labels)},
            "template": {"metadata": {"labels": labels(pod_labels)}, "spec": spec},
        },
    })
}

fn bookinfo() -> Vec<Value> {
    let mut accounts = Vec::new();
    let mut services = Vec::new();
    let mut deployments = Vec::new();
    for svc in ["details", "ratings", "reviews", "productpage"] {
        let account = format!("bookinfo-{svc}");
        accounts.push(service_account(&account, &[("account", svc)]));
        services.push(service(
            svc,
            &[("app", svc), ("service", svc)],
            &[("app", svc)],
            &[("http", 9080, 9080)],
        ));
        let versions: &[&str] = if svc == "reviews" { &["v1", "v2", "v3"] } else { &["v1"] };
        for version in versions {
            let image = format!("docker.io/istio/examples-bookinfo-{svc}-{version}:{BOOKINFO_TAG}");
            let mut container = json!({
                "name": svc,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 9080}],
            });
            let mut volumes = json!([]);
            match svc {
                "reviews" => {
                    container["env"] = json!([{"name": "LOG_DIR", "value": "/tmp/logs"}]);
                    container["volumeMounts"] = json!([
                        {"name": "tmp", "mountPath": "/tmp"},
                        {"name": "wlp-output", "mountPath": "/opt/ibm/wlp/output"},
                    ]);
                    volumes = json!([{"name": "wlp-output", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]);
                }
                "productpage" => {
                    container["volumeMounts"] = json!([{"name": "tmp", "mountPath": "/tmp"}]);
                    volumes = json!([{"name": "tmp", "emptyDir": {}}]);
                }
                _ => {}
            }
            let pod = [("app", svc), ("version", *version)];
            deployments.push(deployment(
                &format!("{svc}-{version}"),
                &pod,
                &pod,
                Some(&account),
                container,
                volumes,
            ));
        }
    }
    accounts.into_iter().chain(services).chain(deployments).collect()
}

fn httpbin() -> Vec<Value> {
    let pod = [("app", "httpbin"), ("version", "v1")];
    vec![
        service_account("httpbin", &[("account", "httpbin")]),
        service(
            "httpbin",
            &[("app", "httpbin"), ("service", "httpbin")],
            &[("app", "httpbin")],
            &[("http", 8000, 8080)],
        ),
        deployment(
            "httpbin",
            &pod,
            &pod,
            Some("httpbin"),
            json!({
                "name": "httpbin",
                "image": HTTPBIN_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 8080}],
            }),
            json!([]),
        ),
    ]
}

fn imagehub() -> Vec<Value> {
    let api_pod = [("app", "api"), ("version", "v1")];
    let web_pod = [("app", "web"), ("version", "v1")];
    vec![
        service_account("imagehub-api", &[("account", "api")]),
        service_account("imagehub-web", &[("account", "web")]),
        service(
            "api",
            &[("app", "api"), ("service", "api")],
            &[("app", "api")],
            &[("http", 9091, 9091)],
        ),
        service(
            "web",
            &[("app", "web"), ("service", "web")],
            &[("app", "web")],
            &[("http", 8080, 8080)],
        ),
        deployment(
            "api-v1",
            &api_pod,
            &api_pod,
            Some("imagehub-api"),
            json!({
                "name": "api",
                "image": IMAGEHUB_API_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "env": [
                    {"name": "LISTEN_ADDR", "value": "0.0.0.0:9091"},
                    {"name": "NAME", "value": "api-v1"},
                    {"name": "MESSAGE", "value": "Response from API v1"},
                ],
                "ports": [{"containerPort": 9091}],
            }),
            json!([]),
        ),
        deployment(
            "web-v1",
            &web_pod,
            &web_pod,
            Some("imagehub-web"),
            json!({
                "name": "web",
                "image": IMAGEHUB_WEB_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "env": [
                    {"name": "LISTEN_ADDR", "value": "0.0.0.0:8080"},
                    {"name": "UPSTREAM_URIS", "value": "http://api:9091"},
                    {"name": "NAME", "value": "web"},
                ],
                "ports": [{"containerPort": 8080}],
            }),
            json!([]),
        ),
    ]
}

fn emojivoto() -> Vec<Value> {
    let image = |name: &str| format!("docker.l5d.io/buoyantio/emojivoto-{name}:{EMOJIVOTO_TAG}");
    let meta = |name: &'static str| {
        [
            ("app.kubernetes.io/name", name),
            ("app.kubernetes.io/part-of", "emojivoto"),
            ("app.kubernetes.io/version", EMOJIVOTO_TAG),
        ]
    };
    let resources = |cpu: &str| json!({"requests": {"cpu": cpu}});
    let mut objects = vec![
        service_account("emoji", &meta("emoji")),
        service_account("voting", &meta("voting")),
        service_account("web", &meta("web")),
        service(
            "emoji-svc",
            &meta("emoji"),
            &[("app", "emoji-svc")],
            &[("grpc", 8080, 8080), ("prom", 8801, 8801)],
        ),
        service(
            "voting-svc",
            &meta("voting"),
            &[("app", "voting-svc")],
            &[("grpc", 8080, 8080), ("prom", 8801, 8801)],
        ),
        service("web-svc", &meta("web"), &[("app", "web-svc")], &[("http", 80, 8080)]),
    ];
    for (name, svc) in [("emoji", "emoji-svc"), ("voting", "voting-svc")] {
        objects.push(deployment(
            name,
            &meta(name),
            &[("app", svc), ("version", EMOJIVOTO_TAG)],
            Some(name),
            json!({
                "name": svc,
                "image": image(svc),
                "env": [{"name": "GRPC_PORT", "value": "8080"}, {"name": "PROM_PORT", "value": "8801"}],
                "ports": [{"name": "grpc", "containerPort": 8080}, {"name": "prom", "containerPort": 8801}],
                "resources": resources("100m"),
            }),
            json!([]),
        ));
    }
    // Upstream names the other services with the emojivoto namespace; short names keep the app
    // working in whichever namespace the request names.
    objects.push(deployment(
        "web",
        &meta("web"),
        &[("app", "web-svc"), ("version", EMOJIVOTO_TAG)],
        Some("web"),
        json!({
            "name": "web-svc",
            "image": image("web"),
            "env": [
                {"name": "WEB_PORT", "value": "8080"},
                {"name": "EMOJISVC_HOST", "value": "emoji-svc:8080"},
                {"name": "VOTINGSVC_HOST", "value": "voting-svc:8080"},
                {"name": "INDEX_BUNDLE", "value": "dist/index_bundle.js"},
            ],
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": resources("100m"),
        }),
        json!([]),
    ));
    objects.push(deployment(
        "vote-bot",
        &meta("vote-bot"),
        &[("app", "vote-bot"), ("version", EMOJIVOTO_TAG)],
        None,
        json!({
            "name": "vote-bot",
            "image": image("web"),
            "command": ["emojivoto-vote-bot"],
            "env": [{"name": "WEB_HOST", "value": "web-svc:80"}],
            "resources": resources("10m"),
        }),
        json!([]),
    ));
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operations_are_the_apps_keys_in_order() {
        let keys: Vec<&str> = App::OPERATIONS.iter().map(|(k, _)| *k).collect();
        let apps: Vec<&str> = App::ALL.iter().map(|a| a.key()).collect();
        assert_eq!(keys, apps);
    }

    fn kind(o: &Value) -> &str {
        o["kind"].as_str().unwrap()
    }

    fn name(o: &Value) -> &str {
        o["metadata"]["name"].as_str().unwrap()
    }

    fn of_kind<'a>(objects: &'a [Value], k: &str) -> Vec<&'a Value> {
        objects.iter().filter(|o| kind(o) == k).collect()
    }

    /// Whether every label of the selector is on the pod.
    fn selects(selector: &Value, pod_labels: &Value) -> bool {
        selector
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| pod_labels.get(k) == Some(v))
    }

    /// Container ports of a pod template, by number and by name.
    fn container_ports(deployment: &Value) -> Vec<(u64, Option<String>)> {
        deployment["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .map(|p| {
                (
                    p["containerPort"].as_u64().unwrap(),
                    p["name"].as_str().map(str::to_string),
                )
            })
            .collect()
    }

    #[test]
    fn keys_round_trip() {
        for app in App::ALL {
            assert_eq!(App::from_key(app.key()), Some(app));
        }
        assert_eq!(App::from_key("bookinfo2"), None);
        assert_eq!(App::from_key(""), None);
    }

    #[test]
    fn every_object_is_complete_and_has_no_namespace() {
        for app in App::ALL {
            let objects = app.objects();
            assert!(!objects.is_empty(), "{app:?}");
            let mut seen = std::collections::HashSet::new();
            for o in &objects {
                for field in ["/apiVersion", "/kind", "/metadata/name"] {
                    let v = o.pointer(field).and_then(Value::as_str).unwrap_or_default();
                    assert!(!v.is_empty(), "{app:?}: {field} missing in {o}");
                }
                assert!(o.pointer("/metadata/namespace").is_none(), "{app:?}: {o}");
                assert!(
                    seen.insert((kind(o).to_string(), name(o).to_string())),
                    "{app:?}: duplicate {o}"
                );
            }
        }
    }

    #[test]
    fn deployments_select_their_own_pods_and_name_known_accounts() {
        for app in App::ALL {
            let objects = app.objects();
            let accounts: Vec<&str> = of_kind(&objects, "ServiceAccount").into_iter().map(name).collect();
            for d in of_kind(&objects, "Deployment") {
                let selector = &d["spec"]["selector"]["matchLabels"];
                let pod_labels = &d["spec"]["template"]["metadata"]["labels"];
                assert!(selects(selector, pod_labels), "{app:?}/{}", name(d));
                if let Some(sa) = d["spec"]["template"]["spec"]["serviceAccountName"].as_str() {
                    assert!(accounts.contains(&sa), "{app:?}/{}: unknown account {sa}", name(d));
                }
                let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
                assert!(!containers.is_empty());
                for c in containers {
                    assert!(
                        c["image"].as_str().is_some_and(|i| i.contains(':')),
                        "{app:?}: untagged image"
                    );
                    let mounts = c["volumeMounts"].as_array().cloned().unwrap_or_default();
                    let volumes = d["spec"]["template"]["spec"]["volumes"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    for m in mounts {
                        assert!(
                            volumes.iter().any(|v| v["name"] == m["name"]),
                            "{app:?}: mount {m} has no volume"
                        );
                    }
                }
            }
            // No two Deployments select each other's pods (a selector overlap breaks rollouts).
            let deployments = of_kind(&objects, "Deployment");
            for a in &deployments {
                for b in &deployments {
                    if name(a) != name(b) {
                        assert!(
                            !selects(
                                &a["spec"]["selector"]["matchLabels"],
                                &b["spec"]["template"]["metadata"]["labels"]
                            ),
                            "{app:?}: {} selects the pods of {}",
                            name(a),
                            name(b)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn services_select_deployment_pods_on_ports_they_expose() {
        for app in App::ALL {
            let objects = app.objects();
            let deployments = of_kind(&objects, "Deployment");
            for s in of_kind(&objects, "Service") {
                let selector = &s["spec"]["selector"];
                let backing: Vec<&&Value> = deployments
                    .iter()
                    .filter(|d| selects(selector, &d["spec"]["template"]["metadata"]["labels"]))
                    .collect();
                assert!(
                    !backing.is_empty(),
                    "{app:?}: service {} selects no deployment",
                    name(s)
                );
                for port in s["spec"]["ports"].as_array().unwrap() {
                    assert!(port["name"].as_str().is_some_and(|n| !n.is_empty()));
                    let target = &port["targetPort"];
                    for d in &backing {
                        let ports = container_ports(d);
                        let ok = match target {
                            Value::Number(n) => ports.iter().any(|(p, _)| Some(*p) == n.as_u64()),
                            Value::String(s) => ports.iter().any(|(_, n)| n.as_deref() == Some(s)),
                            _ => false,
                        };
                        assert!(ok, "{app:?}: {} port {port} is not a port of {}", name(s), name(d));
                    }
                }
            }
        }
    }

    #[test]
    fn the_entry_is_a_service_port_of_the_app() {
        for app in App::ALL {
            let entry = app.entry();
            let objects = app.objects();
            let service = objects
                .iter()
                .find(|o| kind(o) == "Service" && name(o) == entry.service)
                .unwrap_or_else(|| panic!("{app:?}: no service {}", entry.service));
            let ports = service["spec"]["ports"].as_array().unwrap();
            assert!(ports.iter().any(|p| p["port"] == entry.port), "{app:?}");
            assert!(!entry.paths.is_empty());
            for path in entry.paths {
                let (PathMatch::Exact(p) | PathMatch::Prefix(p)) = path;
                assert!(p.starts_with('/'), "{app:?}: {p}");
            }
        }
    }

    #[test]
    fn upstream_facts() {
        let bookinfo = App::Bookinfo.deployments();
        assert_eq!(
            bookinfo,
            [
                "details-v1",
                "ratings-v1",
                "reviews-v1",
                "reviews-v2",
                "reviews-v3",
                "productpage-v1"
            ]
        );
        let emojivoto = App::Emojivoto.objects();
        let images: Vec<&str> = of_kind(&emojivoto, "Deployment")
            .iter()
            .map(|d| {
                d["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert!(
            images
                .iter()
                .all(|i| i.starts_with("docker.l5d.io/buoyantio/emojivoto-"))
        );
        let httpbin = App::Httpbin.objects();
        let svc = of_kind(&httpbin, "Service")[0];
        assert_eq!(svc["spec"]["ports"][0]["port"], 8000);
    }
}
