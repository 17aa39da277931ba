//! `wasmesh deploy`: Kubernetes manifests that run the host as a Deployment of N replicas.
//!
//! Replicas share nothing but the clusters they write to: each has its own event subscribers,
//! backlog and in-flight operations. So the Service keeps a client on one replica (ClientIP
//! session affinity): Meshery's StreamEvents subscription and its ApplyOperation calls then reach
//! the same replica, and an operation's events reach the subscriber that asked for it.
//!
//! The pod runs from a read-only root filesystem as a non-root user; the compile cache lives in
//! an emptyDir (a folder the host creates in it, since the cache refuses a folder others may
//! write and an emptyDir's own mount is world-writable).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Config;
use crate::errors::{Error, Result};

/// Where the ConfigMap's config is mounted in the pod.
pub const CONFIG_DIR: &str = "/etc/wasmesh";
/// The emptyDir holding the compile cache folder.
pub const CACHE_MOUNT: &str = "/var/cache/wasmesh";
/// The compile cache itself: made by the host, mode 0700, inside the emptyDir.
pub const CACHE_DIR: &str = "/var/cache/wasmesh/plugins";
/// The emptyDir for host state (the default audit log, when the config names none).
pub const STATE_MOUNT: &str = "/var/lib/wasmesh";
/// The user the image runs as (distroless `nonroot`).
pub const UID: i64 = 65532;
const NAME_LABEL: &str = "app.kubernetes.io/name";
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// What `wasmesh deploy` was asked for.
pub struct DeployOptions<'a> {
    /// Namespace of every namespaced object (the RBAC's too).
    pub namespace: &'a str,
    /// The host's ServiceAccount (from the RBAC); the pod runs as it.
    pub host_service_account: &'a str,
    pub replicas: u32,
    pub image: &'a str,
    /// Passed to the host as MESHERY_SERVER (registration); none: no registration.
    pub meshery_server: Option<&'a str>,
    /// The metrics HTTP port (WASMESH_METRICS_ADDR), in the Service and the NetworkPolicy.
    pub metrics_port: u16,
    /// Labels of the Meshery server's pods: the only callers the NetworkPolicy admits.
    pub meshery_selector: &'a BTreeMap<String, String>,
    /// The Meshery server's namespace (none: the deployment's own).
    pub meshery_namespace: Option<&'a str>,
    /// Labels of the namespaces allowed to scrape the metrics port.
    pub metrics_namespace_selector: &'a BTreeMap<String, String>,
}

/// The config file put in the ConfigMap when none is given: the built-in plugins on the ports
/// Meshery expects, each acting as its own ServiceAccount in `namespace` (the host's own may
/// only impersonate them), strict, the audit trail in the pod's log. Their grants are
/// cluster-admin equivalent (a mesh install writes webhooks, CRDs and ClusterRoles), which
/// strict mode refuses unless `accept_cluster_admin` writes `grant.clusterAdmin: true`.
pub fn default_config_text(namespace: &str, accept_cluster_admin: bool) -> String {
    let config = Config::default();
    let mut out = String::from(
        "# The host's configuration, written by `wasmesh deploy` (give your own with --config).\n\
         listen: 0.0.0.0\n\
         strict: true\n\
         # Every capability decision as one JSON line, in the pod's log (`kubectl logs`).\n\
         audit_log: /dev/stdout\n\
         plugins:\n",
    );
    for p in &config.plugins {
        let grant = if accept_cluster_admin {
            ", grant: {clusterAdmin: true}"
        } else {
            ""
        };
        out.push_str(&format!(
            "  - {{name: {name}, builtin: {}, port: {}, identity: {{serviceAccount: wasmesh-{name}, namespace: {namespace}}}{grant}}}\n",
            p.builtin.as_deref().unwrap_or_default(),
            p.port,
            name = p.name,
        ));
    }
    out
}

/// Parses `key=value[,key=value...]` into labels, refusing what Kubernetes would refuse.
pub fn parse_selector(flag: &str, text: &str) -> Result<BTreeMap<String, String>> {
    let bad = |why: String| {
        Error::Deploy(format!(
            "{flag} {text:?}: {why}; write labels as key=value[,key=value], e.g. {NAME_LABEL}=meshery"
        ))
    };
    let mut labels = BTreeMap::new();
    for pair in text.split(',') {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(bad(format!("{pair:?} has no '='")));
        };
        let (k, v) = (k.trim(), v.trim());
        if !is_label_key(k) {
            return Err(bad(format!("{k:?} is not a valid label key")));
        }
        if !is_label_value(v) {
            return Err(bad(format!("{v:?} is not a valid label value")));
        }
        labels.insert(k.to_string(), v.to_string());
    }
    Ok(labels)
}

/// `[prefix/]name`: prefix a DNS subdomain, name a label value that is not empty.
fn is_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(wasmesh_cluster::is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// At most 63 of `[A-Za-z0-9_.-]`, starting and ending alphanumeric; empty is allowed.
fn is_label_value(v: &str) -> bool {
    let b = v.as_bytes();
    v.is_empty()
        || (v.len() <= 63
            && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(c))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// What in the options or the host config would give a pod that cannot run; empty when fine.
pub fn problems(options: &DeployOptions, config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    // Checked first: the default configuration is written with it.
    if !wasmesh_cluster::is_dns_label(options.namespace) {
        out.push(format!(
            "--namespace {:?} is not a valid namespace name (lower-case letters, digits and '-', at most 63)",
            options.namespace
        ));
    }
    if options.replicas == 0 {
        out.push("--replicas must be at least 1 (the Service would have no backend)".to_string());
    }
    if options.image.is_empty() || options.image.chars().any(char::is_whitespace) {
        out.push(format!("--image {:?} is not an image reference", options.image));
    }
    if options.metrics_port == 0 {
        out.push("--metrics-port must be a port number (1-65535)".to_string());
    }
    if let Some(url) = options.meshery_server
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        out.push(format!(
            "--meshery-server {url:?} is not an http(s) URL (e.g. http://meshery.meshery.svc:9081)"
        ));
    }
    if let Some(ns) = options.meshery_namespace
        && !wasmesh_cluster::is_dns_label(ns)
    {
        out.push(format!("--meshery-namespace {ns:?} is not a valid namespace name"));
    }
    if !matches!(config.listen.as_str(), "0.0.0.0" | "::" | "[::]") {
        out.push(format!(
            "the config listens on {:?}: in a pod the host must listen on 0.0.0.0 (or ::) for the Service and the probes to reach it",
            config.listen
        ));
    }
    for p in &config.plugins {
        match &p.identity {
            Some(id) if id.namespace == options.namespace => {}
            _ => out.push(format!(
                "plugin {:?} has no identity in namespace {}: in the pod the host runs as {}, which may only \
                 impersonate the plugins' ServiceAccounts; give it identity: {{serviceAccount: wasmesh-{}, namespace: {}}}",
                p.name, options.namespace, options.host_service_account, p.name, options.namespace
            )),
        }
        if p.port == 0 {
            out.push(format!(
                "plugin {:?} has port 0 (a free one at start): the Service needs fixed ports",
                p.name
            ));
        }
        if p.port == options.metrics_port {
            out.push(format!(
                "plugin {:?} and --metrics-port both use port {}",
                p.name, p.port
            ));
        }
        if p.path.is_some() {
            out.push(format!(
                "plugin {:?} is loaded from a file ({}), which the image does not hold: build an image that \
                 adds it, or serve built-in plugins only",
                p.name,
                p.path.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
            ));
        }
        if p.name == "metrics" {
            out.push("a plugin named \"metrics\" would share the Service port name of the metrics port".into());
        }
    }
    if config.tls.is_some() || config.token_file.is_some() {
        out.push(
            "the config names tls or token_file: `wasmesh deploy` does not mount Secrets for them yet, and \
             Kubernetes' gRPC probes speak plain gRPC only; deploy without them (limit callers with the \
             NetworkPolicy) or edit the manifests to mount the Secret and probe with tcpSocket"
                .into(),
        );
    }
    if let Some(log) = &config.audit_log {
        let ok = log.starts_with(STATE_MOUNT) || log.as_os_str() == "/dev/stdout" || log.as_os_str() == "/dev/stderr";
        if !ok {
            out.push(format!(
                "audit_log {} is on the pod's read-only root filesystem: use /dev/stdout (the pod's log) or a \
                 path under {STATE_MOUNT} (an emptyDir)",
                log.display()
            ));
        }
    }
    out
}

fn labels(component: &str) -> Value {
    json!({NAME_LABEL: "wasmesh", MANAGED_BY: "wasmesh", "app.kubernetes.io/component": component})
}

fn selector() -> Value {
    json!({NAME_LABEL: "wasmesh"})
}

/// The workload objects, in apply order: ConfigMap, Service, Deployment, PodDisruptionBudget
/// (with more than one replica), NetworkPolicy. The RBAC comes from `grant::rbac`.
pub fn objects(options: &DeployOptions, config: &Config, config_text: &str) -> Vec<Value> {
    let ns = options.namespace;
    let ports: Vec<(&str, u16)> = config.plugins.iter().map(|p| (p.name.as_str(), p.port)).collect();
    let probe_port = ports.first().map(|p| p.1).unwrap_or(10000);
    let config_sha = hex::encode(Sha256::digest(config_text.as_bytes()));

    let configmap = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "wasmesh-config", "namespace": ns, "labels": labels("host")},
        "data": {"config.yaml": config_text},
    });

    let mut service_ports: Vec<Value> = ports
        .iter()
        .map(|(name, port)| {
            json!({"name": name, "port": port, "targetPort": port, "protocol": "TCP", "appProtocol": "kubernetes.io/h2c"})
        })
        .collect();
    service_ports.push(json!({
        "name": "metrics", "port": options.metrics_port, "targetPort": options.metrics_port, "protocol": "TCP", "appProtocol": "http",
    }));
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "wasmesh", "namespace": ns, "labels": labels("host")},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(),
            "ports": service_ports,
            // Replicas share no events: a client stays on the replica that runs its operations.
            "sessionAffinity": "ClientIP",
            "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
        },
    });

    let mut env = vec![
        json!({"name": "WASMESH_METRICS_ADDR", "value": format!("0.0.0.0:{}", options.metrics_port)}),
        // The default audit log path ($XDG_STATE_HOME/wasmesh/audit.jsonl) lands in an emptyDir.
        json!({"name": "XDG_STATE_HOME", "value": STATE_MOUNT}),
    ];
    if let Some(url) = options.meshery_server {
        env.push(json!({"name": "MESHERY_SERVER", "value": url}));
        // Meshery reaches the adapters through the Service, whichever replica registers.
        env.push(json!({"name": "WASMESH_ADVERTISE_HOST", "value": format!("wasmesh.{ns}.svc")}));
    }
    env.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let mut args = vec![
        "--config".to_string(),
        format!("{CONFIG_DIR}/config.yaml"),
        "--cache-dir".to_string(),
        CACHE_DIR.to_string(),
    ];
    // Always strict: a plugin whose grant is cluster-admin equivalent runs only when the
    // configuration says so (grant.clusterAdmin).
    {
        args.push("--strict".into());
    }
    args.push("serve".into());
    let mut container_ports: Vec<Value> = ports
        .iter()
        .map(|(_, port)| json!({"containerPort": port, "protocol": "TCP"}))
        .collect();
    container_ports.push(json!({"name": "metrics", "containerPort": options.metrics_port, "protocol": "TCP"}));
    let probe = |period: u32, failures: u32| json!({"grpc": {"port": probe_port}, "periodSeconds": period, "failureThreshold": failures, "timeoutSeconds": 2});
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "wasmesh", "namespace": ns, "labels": labels("host")},
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": selector()},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": labels("host"),
                    // A changed config rolls the pods on apply.
                    "annotations": {"wasmesh.io/config-sha256": config_sha},
                },
                "spec": {
                    "serviceAccountName": options.host_service_account,
                    // Kubeconfigs arrive with each request: the host never uses the pod's token.
                    "automountServiceAccountToken": false,
                    // Above the host's shutdown_grace_seconds, so in-flight operations can finish.
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "topologySpreadConstraints": [{
                        "maxSkew": 1,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway",
                        "labelSelector": {"matchLabels": selector()},
                    }],
                    "containers": [{
                        "name": "wasmesh",
                        "image": options.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "env": env,
                        "ports": container_ports,
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "runAsNonRoot": true,
                            "capabilities": {"drop": ["ALL"]},
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        // Compiling the plugins at the first start takes seconds.
                        "startupProbe": probe(2, 60),
                        "readinessProbe": probe(5, 2),
                        "livenessProbe": probe(10, 3),
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"memory": "1Gi"},
                        },
                        "volumeMounts": [
                            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": true},
                            {"name": "cache", "mountPath": CACHE_MOUNT},
                            {"name": "state", "mountPath": STATE_MOUNT},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }],
                    "volumes": [
                        {"name": "config", "configMap": {"name": "wasmesh-config"}},
                        {"name": "cache", "emptyDir": {"sizeLimit": "512Mi"}},
                        {"name": "state", "emptyDir": {"sizeLimit": "256Mi"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    });

    let mut out = vec![configmap, service, deployment];
    if options.replicas > 1 {
        out.push(json!({
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "wasmesh", "namespace": ns, "labels": labels("host")},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector()}},
        }));
    }

    let mut meshery = json!({"podSelector": {"matchLabels": options.meshery_selector}});
    if let Some(mns) = options.meshery_namespace.filter(|m| *m != ns) {
        meshery["namespaceSelector"] = json!({"matchLabels": {"kubernetes.io/metadata.name": mns}});
    }
    let grpc_ports: Vec<Value> = ports
        .iter()
        .map(|(_, port)| json!({"protocol": "TCP", "port": port}))
        .collect();
    out.push(json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "wasmesh", "namespace": ns, "labels": labels("host")},
        "spec": {
            "podSelector": {"matchLabels": selector()},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [meshery], "ports": grpc_ports},
                {
                    "from": [{"namespaceSelector": {"matchLabels": options.metrics_namespace_selector}}],
                    "ports": [{"protocol": "TCP", "port": options.metrics_port}],
                },
            ],
        },
    }));
    out
}

/// The whole output: a header, the RBAC as `wasmesh rbac` writes it (namespace first), then the
/// workload objects.
pub fn render(rbac_yaml: &str, objects: &[Value]) -> String {
    let mut out = String::from(
        "# wasmesh on Kubernetes, generated by `wasmesh deploy`.\n\
         # Apply with: kubectl apply --server-side -f FILE\n\
         # Check first with: kubectl apply --server-side --dry-run=server -f FILE\n",
    );
    out.push_str(rbac_yaml);
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(o).expect("JSON values serialize as YAML"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_checked_as_kubernetes_checks_labels() {
        let ok = parse_selector("--x", "app.kubernetes.io/name=meshery,tier=").unwrap();
        assert_eq!(ok["app.kubernetes.io/name"], "meshery");
        assert_eq!(ok["tier"], "");
        for bad in [
            "meshery",
            "=x",
            "a=-x",
            "a b=c",
            "UPPER_/x=y",
            "k=v/w",
            &format!("k={}", "a".repeat(64)),
        ] {
            let e = parse_selector("--x", bad).unwrap_err().to_string();
            assert!(e.contains("--x") && e.contains("key=value"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_default_config_is_one_the_host_accepts_and_deploy_can_run() {
        let text = default_config_text("wasmesh", true);
        let config = Config::from_yaml(&text).unwrap();
        assert!(config.strict);
        let names = |c: &Config| c.plugins.iter().map(|p| (p.name.clone(), p.port)).collect::<Vec<_>>();
        assert_eq!(names(&config), names(&Config::default()));
        assert!(
            config
                .plugins
                .iter()
                .all(|p| p.identity.is_some() && p.grant.as_ref().is_some_and(|g| g.cluster_admin))
        );
        let none = BTreeMap::new();
        let options = DeployOptions {
            namespace: "wasmesh",
            host_service_account: "wasmesh-host",
            replicas: 2,
            image: "wasmesh:1",
            meshery_server: None,
            metrics_port: 9464,
            meshery_selector: &none,
            meshery_namespace: None,
            metrics_namespace_selector: &none,
        };
        assert_eq!(problems(&options, &config), Vec::<String>::new());
    }
}
