//! The control plane objects of the linkerd-control-plane chart: identity, destination (with
//! the sp-validator and the policy controller) and proxy injector, each pre-injected with its
//! linkerd-proxy and linkerd-init containers as upstream renders them, plus their RBAC, Services,
//! ConfigMaps, Secrets and admission webhooks. Written from the chart's facts (names, labels,
//! ports, args, env, probes, webhook rules), not copied from it.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::certs::WebhookTls;
use super::options::Options;
use super::versions::{Generation, Release};
use super::{NAMESPACE, created_by};

pub const COMPONENT_LABEL: &str = "linkerd.io/control-plane-component";
pub const NS_LABEL: &str = "linkerd.io/control-plane-ns";
const CLUSTER_DOMAIN: &str = "cluster.local";
const CLUSTER_NETWORKS: &str = "10.0.0.0/8,100.64.0.0/10,172.16.0.0/12,192.168.0.0/16,fd00::/8";
const OPAQUE_PORTS: &str = "25,587,3306,4444,5432,6379,9300,11211";
const CONTROLLER_UID: u32 = 2103;
const PROXY_UID: u32 = 2102;
const KUBE_API_PORTS: &str = "443,6443";

/// The Deployments of the control plane, in the order a health check names them.
pub const DEPLOYMENTS: &[&str] = &["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

/// Identity secrets and trust roots, fresh or read back from the cluster.
pub struct Identity {
    pub trust_anchors_pem: String,
    pub issuer_crt_b64: String,
    pub issuer_key_b64: String,
}

pub struct Webhooks {
    pub proxy_injector: WebhookTls,
    pub sp_validator: WebhookTls,
    pub policy_validator: WebhookTls,
}

pub struct Context<'a> {
    pub release: &'static Release,
    pub options: &'a Options,
    pub identity: Identity,
    pub webhooks: Webhooks,
}

impl Context<'_> {
    fn v218(&self) -> bool {
        self.release.generation >= Generation::V2_18
    }
    fn image(&self, name: &str, tag: &str) -> String {
        format!("{}/{name}:{tag}", self.options.registry)
    }
    fn controller_image(&self) -> String {
        self.image("controller", self.release.name)
    }
    fn trust_domain(&self) -> &str {
        &self.options.trust_domain
    }
    fn created_by(&self) -> String {
        created_by(self.release)
    }
}

fn meta(ctx: &Context, name: &str, component: Option<&str>, namespaced: bool, annotate: bool) -> Value {
    let mut m = json!({"name": name, "labels": {NS_LABEL: NAMESPACE}});
    if let Some(c) = component {
        m["labels"][COMPONENT_LABEL] = json!(c);
    }
    if namespaced {
        m["namespace"] = json!(NAMESPACE);
    }
    if annotate {
        m["annotations"] = json!({"linkerd.io/created-by": ctx.created_by()});
    }
    m
}

fn obj(api_version: &str, kind: &str, metadata: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata})
}

pub fn namespace(ctx: &Context) -> Value {
    let mut ns = obj("v1", "Namespace", meta(ctx, NAMESPACE, None, false, true));
    let labels = &mut ns["metadata"]["labels"];
    labels["linkerd.io/is-control-plane"] = json!("true");
    labels["config.linkerd.io/admission-webhooks"] = json!("disabled");
    // linkerd-init needs NET_ADMIN and NET_RAW (no CNI plugin here).
    labels["pod-security.kubernetes.io/enforce"] = json!("privileged");
    ns["metadata"]["annotations"]["linkerd.io/inject"] = json!("disabled");
    ns
}

/// Everything but the namespace and CRDs, in apply order groups: (configuration and RBAC,
/// workloads and webhooks).
pub fn objects(ctx: &Context) -> (Vec<Value>, Vec<Value>) {
    let mut config = Vec::new();
    config.extend(identity_rbac(ctx));
    config.extend(destination_rbac(ctx));
    config.extend(proxy_injector_rbac(ctx));
    config.push(linkerd_config(ctx));
    config.push(config_reader_role(ctx));
    config.push(config_overrides(ctx));
    config.extend(identity_config(ctx));
    config.extend(webhook_secrets(ctx));
    config.extend(services(ctx));
    let workloads = vec![
        identity_deployment(ctx),
        destination_deployment(ctx),
        proxy_injector_deployment(ctx),
        proxy_injector_webhook(ctx),
        sp_validator_webhook(ctx),
        policy_validator_webhook(ctx),
    ];
    (config, workloads)
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn cluster_role(ctx: &Context, name: &str, component: &str, rules: Vec<Value>) -> Value {
    let mut o = obj(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        meta(ctx, name, Some(component), false, false),
    );
    o["rules"] = json!(rules);
    o
}

fn sa_subject(sa: &str) -> Value {
    json!([{"kind": "ServiceAccount", "name": sa, "namespace": NAMESPACE}])
}

fn binding(ctx: &Context, kind: &str, name: &str, component: &str, role_kind: &str, role: &str, sa: &str) -> Value {
    let namespaced = kind == "RoleBinding";
    let mut o = obj(
        "rbac.authorization.k8s.io/v1",
        kind,
        meta(ctx, name, Some(component), namespaced, false),
    );
    o["roleRef"] = json!({"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role});
    o["subjects"] = sa_subject(sa);
    o
}

fn service_account(ctx: &Context, name: &str, component: &str) -> Value {
    obj("v1", "ServiceAccount", meta(ctx, name, Some(component), true, false))
}

fn identity_rbac(ctx: &Context) -> Vec<Value> {
    let name = format!("linkerd-{NAMESPACE}-identity");
    vec![
        cluster_role(
            ctx,
            &name,
            "identity",
            vec![
                rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
                rule(&[""], &["events"], &["create", "patch"]),
            ],
        ),
        binding(
            ctx,
            "ClusterRoleBinding",
            &name,
            "identity",
            "ClusterRole",
            &name,
            "linkerd-identity",
        ),
        service_account(ctx, "linkerd-identity", "identity"),
    ]
}

fn policy_resources(ctx: &Context) -> Vec<&'static str> {
    let mut r = vec![
        "authorizationpolicies",
        "httproutes",
        "meshtlsauthentications",
        "networkauthentications",
        "servers",
        "serverauthorizations",
    ];
    if ctx.v218() {
        r.extend(["httplocalratelimitpolicies", "egressnetworks"]);
    }
    r
}

fn gateway_resources(ctx: &Context) -> Vec<&'static str> {
    if ctx.v218() {
        vec!["httproutes", "grpcroutes", "tlsroutes", "tcproutes"]
    } else {
        vec!["httproutes"]
    }
}

fn destination_rbac(ctx: &Context) -> Vec<Value> {
    let name = format!("linkerd-{NAMESPACE}-destination");
    let mut rules = vec![
        rule(&["apps"], &["replicasets"], &["list", "get", "watch"]),
        rule(&["batch"], &["jobs"], &["list", "get", "watch"]),
        rule(
            &[""],
            &["pods", "endpoints", "services", "nodes"],
            &["list", "get", "watch"],
        ),
        rule(&["linkerd.io"], &["serviceprofiles"], &["list", "get", "watch"]),
    ];
    if ctx.v218() {
        rules.push(rule(
            &["workload.linkerd.io"],
            &["externalworkloads"],
            &["list", "get", "watch"],
        ));
        rules.push(rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["create", "get", "update", "patch"],
        ));
    }
    rules.push(rule(
        &["discovery.k8s.io"],
        &["endpointslices"],
        &["list", "get", "watch", "create", "update", "patch", "delete"],
    ));
    let policy = policy_resources(ctx);
    let gateway = gateway_resources(ctx);
    let status = |rs: &[&str]| rs.iter().map(|r| format!("{r}/status")).collect::<Vec<_>>();
    let mut policy_rules = vec![
        rule(&[""], &["pods"], &["get", "list", "watch"]),
        rule(&["apps"], &["deployments"], &["get"]),
        rule(&["policy.linkerd.io"], &policy, &["get", "list", "watch"]),
        rule(&["gateway.networking.k8s.io"], &gateway, &["get", "list", "watch"]),
        json!({"apiGroups": ["policy.linkerd.io"], "resources": status(if ctx.v218() {
            &["httproutes", "httplocalratelimitpolicies", "egressnetworks"][..] } else { &["httproutes"][..] }), "verbs": ["patch"]}),
        json!({"apiGroups": ["gateway.networking.k8s.io"], "resources": status(&gateway), "verbs": ["patch"]}),
    ];
    if ctx.v218() {
        policy_rules.push(rule(
            &["workload.linkerd.io"],
            &["externalworkloads"],
            &["get", "list", "watch"],
        ));
    }
    policy_rules.push(rule(&["coordination.k8s.io"], &["leases"], &["create", "get", "patch"]));
    let mut policy_role = cluster_role(ctx, "linkerd-policy", "destination", policy_rules);
    policy_role["metadata"]["labels"]["app.kubernetes.io/part-of"] = json!("Linkerd");
    let mut policy_binding = binding(
        ctx,
        "ClusterRoleBinding",
        "linkerd-destination-policy",
        "destination",
        "ClusterRole",
        "linkerd-policy",
        "linkerd-destination",
    );
    policy_binding["metadata"]["labels"]["app.kubernetes.io/part-of"] = json!("Linkerd");
    let mut remote = obj(
        "rbac.authorization.k8s.io/v1",
        "Role",
        meta(ctx, "remote-discovery", Some("destination"), true, false),
    );
    remote["metadata"]["labels"]["app.kubernetes.io/part-of"] = json!("Linkerd");
    remote["rules"] = json!([rule(&[""], &["secrets"], &["get", "list", "watch"])]);
    let mut remote_binding = binding(
        ctx,
        "RoleBinding",
        "linkerd-destination-remote-discovery",
        "destination",
        "Role",
        "remote-discovery",
        "linkerd-destination",
    );
    remote_binding["metadata"]["labels"]["app.kubernetes.io/part-of"] = json!("Linkerd");
    vec![
        cluster_role(ctx, &name, "destination", rules),
        binding(
            ctx,
            "ClusterRoleBinding",
            &name,
            "destination",
            "ClusterRole",
            &name,
            "linkerd-destination",
        ),
        service_account(ctx, "linkerd-destination", "destination"),
        policy_role,
        policy_binding,
        remote,
        remote_binding,
    ]
}

fn proxy_injector_rbac(ctx: &Context) -> Vec<Value> {
    let name = format!("linkerd-{NAMESPACE}-proxy-injector");
    vec![
        cluster_role(
            ctx,
            &name,
            "proxy-injector",
            vec![
                rule(&[""], &["events"], &["create", "patch"]),
                rule(
                    &[""],
                    &["namespaces", "replicationcontrollers"],
                    &["list", "get", "watch"],
                ),
                rule(&[""], &["pods"], &["list", "watch"]),
                rule(
                    &["extensions", "apps"],
                    &["deployments", "replicasets", "daemonsets", "statefulsets"],
                    &["list", "get", "watch"],
                ),
                rule(
                    &["extensions", "batch"],
                    &["cronjobs", "jobs"],
                    &["list", "get", "watch"],
                ),
            ],
        ),
        binding(
            ctx,
            "ClusterRoleBinding",
            &name,
            "proxy-injector",
            "ClusterRole",
            &name,
            "linkerd-proxy-injector",
        ),
        service_account(ctx, "linkerd-proxy-injector", "proxy-injector"),
    ]
}

/// The chart values the proxy injector reads from linkerd-config (mounted at
/// /var/run/linkerd/config/values) to inject workloads: as JSON, which is YAML, with no keys.
pub fn values(ctx: &Context) -> Value {
    let r = ctx.release;
    let empty_resources = json!({"cpu": {"limit": "", "request": ""}, "memory": {"limit": "", "request": ""},
        "ephemeral-storage": {"limit": "", "request": ""}});
    let mut v = json!({
        "clusterDomain": CLUSTER_DOMAIN,
        "clusterNetworks": CLUSTER_NETWORKS,
        "imagePullPolicy": "IfNotPresent",
        "revisionHistoryLimit": 10,
        "controllerLogLevel": "info",
        "controllerLogFormat": "plain",
        "controlPlaneTracing": false,
        "controlPlaneTracingNamespace": "linkerd-jaeger",
        "linkerdVersion": r.name,
        "enableEndpointSlices": true,
        "enablePodAntiAffinity": false,
        "enablePodDisruptionBudget": false,
        "enableH2Upgrade": true,
        "enablePSP": false,
        "cniEnabled": false,
        "identityTrustAnchorsPEM": ctx.identity.trust_anchors_pem,
        "identityTrustDomain": ctx.trust_domain(),
        "podAnnotations": {},
        "podLabels": {},
        "priorityClassName": "",
        "webhookFailurePolicy": "Ignore",
        "controllerImage": format!("{}/controller", ctx.options.registry),
        "controllerReplicas": 1,
        "controllerUID": CONTROLLER_UID,
        "disableHeartBeat": true,
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "imagePullSecrets": [],
        "identity": {
            "externalCA": false,
            "serviceAccountTokenProjection": true,
            "issuer": {
                "scheme": "linkerd.io/tls",
                "clockSkewAllowance": "20s",
                "issuanceLifetime": "24h0m0s",
                "tls": {"crtPEM": ""},
            },
        },
    });
    v["policyController"] = json!({
        "image": {"name": format!("{}/policy-controller", ctx.options.registry), "pullPolicy": "", "version": ""},
        "logLevel": "info",
        "defaultAllowPolicy": "all-unauthenticated",
        "probeNetworks": probe_networks(ctx),
        "resources": empty_resources.clone(),
    });
    v["proxy"] = json!({
        "enableExternalProfiles": false,
        "outboundConnectTimeout": "1000ms",
        "inboundConnectTimeout": "100ms",
        "image": {"name": format!("{}/proxy", ctx.options.registry), "pullPolicy": "", "version": r.name},
        "logLevel": r.proxy_log_level,
        "logFormat": "plain",
        "logHTTPHeaders": "off",
        "ports": {"admin": 4191, "control": 4190, "inbound": 4143, "outbound": 4140},
        "cores": 0,
        "resources": empty_resources,
        "uid": PROXY_UID,
        "waitBeforeExitSeconds": 0,
        "await": true,
        "requireIdentityOnInboundPorts": "",
        "opaquePorts": OPAQUE_PORTS,
        "defaultInboundPolicy": "all-unauthenticated",
        "enableShutdownEndpoint": false,
        "nativeSidecar": false,
        "livenessProbe": {"initialDelaySeconds": 10, "timeoutSeconds": 1},
        "readinessProbe": {"initialDelaySeconds": 2, "timeoutSeconds": 1},
        "shutdownGracePeriod": "",
        "outboundDiscoveryCacheUnusedTimeout": "5s",
        "inboundDiscoveryCacheUnusedTimeout": "90s",
        "disableOutboundProtocolDetectTimeout": false,
        "disableInboundProtocolDetectTimeout": false,
    });
    v["proxyInit"] = json!({
        "iptablesMode": "legacy",
        "ignoreInboundPorts": "4567,4568",
        "ignoreOutboundPorts": "4567,4568",
        "kubeAPIServerPorts": KUBE_API_PORTS,
        "skipSubnets": "",
        "logLevel": "",
        "logFormat": "",
        "image": {"name": format!("{}/proxy-init", ctx.options.registry), "pullPolicy": "", "version": r.proxy_init_tag},
        "closeWaitTimeoutSecs": 0,
        "privileged": false,
        "runAsRoot": false,
        "runAsUser": 65534,
        "runAsGroup": 65534,
        "xtMountPath": {"mountPath": "/run", "name": "linkerd-proxy-init-xtables-lock"},
    });
    v["debugContainer"] =
        json!({"image": {"name": format!("{}/debug", ctx.options.registry), "pullPolicy": "", "version": r.name}});
    v["profileValidator"] = json!({"externalSecret": false, "namespaceSelector": webhook_namespace_selector(false)});
    v["policyValidator"] = json!({"externalSecret": false, "namespaceSelector": webhook_namespace_selector(false)});
    v["proxyInjector"] = json!({"externalSecret": false, "namespaceSelector": webhook_namespace_selector(true),
        "objectSelector": injector_object_selector(), "timeoutSeconds": 10});
    if ctx.v218() {
        v["disableIPv6"] = json!(true);
        v["controllerGID"] = json!(-1);
        v["proxy"]["gid"] = json!(-1);
        v["proxy"]["control"] = json!({"streams": {"initialTimeout": "3s", "idleTimeout": "5m", "lifetime": "1h"}});
        v["egress"] = json!({"globalEgressNetworkNamespace": "linkerd-egress"});
        v["identity"]["kubeAPI"] = json!({"clientQPS": 100, "clientBurst": 200});
    }
    v
}

fn probe_networks(ctx: &Context) -> Value {
    if ctx.v218() {
        json!(["0.0.0.0/0", "::/0"])
    } else {
        json!(["0.0.0.0/0"])
    }
}

fn linkerd_config(ctx: &Context) -> Value {
    let mut cm = obj(
        "v1",
        "ConfigMap",
        meta(ctx, "linkerd-config", Some("controller"), true, true),
    );
    let values = serde_json::to_string_pretty(&values(ctx)).unwrap_or_default();
    cm["data"] = json!({"values": values});
    cm
}

/// The Role through which the extensions' namespace-metadata jobs read linkerd-config (each
/// extension binds its own account to it). The chart renders it without labels; it carries the
/// control-plane label here like everything this install makes, so it is found by it.
fn config_reader_role(ctx: &Context) -> Value {
    let m = meta(ctx, "ext-namespace-metadata-linkerd-config", None, true, true);
    let mut role = obj("rbac.authorization.k8s.io/v1", "Role", m);
    role["rules"] = json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"],
        "resourceNames": ["linkerd-config"]}]);
    role
}

/// What `linkerd install` stores for `linkerd upgrade`: the chart values this install sets
/// differently from the chart's defaults (the identity it made, the trust domain and registry
/// when given, and the heartbeat turned off, which this adapter leaves out for air-gapped
/// clusters), so an upstream upgrade keeps them. JSON, which the CLI reads as YAML.
pub fn overrides(ctx: &Context) -> Value {
    let pem = |b64: &str| {
        crate::identity::base64_decode(b64)
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default()
    };
    let mut v = json!({
        "identityTrustAnchorsPEM": ctx.identity.trust_anchors_pem,
        "identity": {"issuer": {"tls": {
            "crtPEM": pem(&ctx.identity.issuer_crt_b64),
            "keyPEM": pem(&ctx.identity.issuer_key_b64),
        }}},
        "disableHeartBeat": true,
    });
    if ctx.options.trust_domain != super::options::DEFAULT_TRUST_DOMAIN {
        v["identityTrustDomain"] = json!(ctx.trust_domain());
    }
    if ctx.options.registry != super::options::DEFAULT_REGISTRY {
        let r = &ctx.options.registry;
        v["controllerImage"] = json!(format!("{r}/controller"));
        v["policyController"] = json!({"image": {"name": format!("{r}/policy-controller")}});
        v["proxy"] = json!({"image": {"name": format!("{r}/proxy")}});
        v["proxyInit"] = json!({"image": {"name": format!("{r}/proxy-init")}});
        v["debugContainer"] = json!({"image": {"name": format!("{r}/debug")}});
    }
    v
}

fn config_overrides(ctx: &Context) -> Value {
    let text = serde_json::to_string_pretty(&overrides(ctx)).unwrap_or_default();
    let mut secret = obj("v1", "Secret", meta(ctx, "linkerd-config-overrides", None, true, false));
    secret["data"] = json!({"linkerd-config-overrides": crate::identity::base64_encode(text.as_bytes())});
    secret
}

fn identity_config(ctx: &Context) -> Vec<Value> {
    let mut issuer = obj(
        "v1",
        "Secret",
        meta(ctx, "linkerd-identity-issuer", Some("identity"), true, true),
    );
    issuer["data"] = json!({"crt.pem": ctx.identity.issuer_crt_b64, "key.pem": ctx.identity.issuer_key_b64});
    let mut roots = obj(
        "v1",
        "ConfigMap",
        meta(ctx, "linkerd-identity-trust-roots", Some("identity"), true, true),
    );
    roots["data"] = json!({"ca-bundle.crt": ctx.identity.trust_anchors_pem.trim()});
    vec![issuer, roots]
}

fn tls_secret(ctx: &Context, name: &str, component: &str, tls: &WebhookTls) -> Value {
    let mut s = obj("v1", "Secret", meta(ctx, name, Some(component), true, true));
    s["type"] = json!("kubernetes.io/tls");
    s["data"] = json!({"tls.crt": tls.tls_crt_b64, "tls.key": tls.tls_key_b64});
    s
}

/// Names of the webhook TLS secrets, with their webhook configuration kind and name.
pub const WEBHOOK_SECRETS: &[(&str, &str, &str)] = &[
    (
        "linkerd-proxy-injector-k8s-tls",
        "MutatingWebhookConfiguration",
        "linkerd-proxy-injector-webhook-config",
    ),
    (
        "linkerd-sp-validator-k8s-tls",
        "ValidatingWebhookConfiguration",
        "linkerd-sp-validator-webhook-config",
    ),
    (
        "linkerd-policy-validator-k8s-tls",
        "ValidatingWebhookConfiguration",
        "linkerd-policy-validator-webhook-config",
    ),
];

fn webhook_secrets(ctx: &Context) -> Vec<Value> {
    let w = &ctx.webhooks;
    vec![
        tls_secret(ctx, WEBHOOK_SECRETS[0].0, "proxy-injector", &w.proxy_injector),
        tls_secret(ctx, WEBHOOK_SECRETS[1].0, "destination", &w.sp_validator),
        tls_secret(ctx, WEBHOOK_SECRETS[2].0, "destination", &w.policy_validator),
    ]
}

fn service(ctx: &Context, name: &str, component: &str, headless: bool, ports: Value) -> Value {
    let mut s = obj("v1", "Service", meta(ctx, name, Some(component), true, true));
    s["spec"] = json!({"selector": {COMPONENT_LABEL: component}, "ports": ports});
    if headless {
        s["spec"]["clusterIP"] = json!("None");
    } else {
        s["spec"]["type"] = json!("ClusterIP");
    }
    s
}

fn services(ctx: &Context) -> Vec<Value> {
    let grpc = |p: u16| json!([{"name": "grpc", "port": p, "targetPort": p}]);
    let mut injector = service(
        ctx,
        "linkerd-proxy-injector",
        "proxy-injector",
        false,
        json!([{"name": "proxy-injector", "port": 443, "targetPort": "proxy-injector"}]),
    );
    injector["metadata"]["annotations"]["config.linkerd.io/opaque-ports"] = json!("443");
    vec![
        service(ctx, "linkerd-identity", "identity", false, grpc(8080)),
        service(ctx, "linkerd-identity-headless", "identity", true, grpc(8080)),
        service(ctx, "linkerd-dst", "destination", false, grpc(8086)),
        service(ctx, "linkerd-dst-headless", "destination", true, grpc(8086)),
        service(
            ctx,
            "linkerd-sp-validator",
            "destination",
            false,
            json!([{"name": "sp-validator", "port": 443, "targetPort": "sp-validator"}]),
        ),
        service(ctx, "linkerd-policy", "destination", true, grpc(8090)),
        service(
            ctx,
            "linkerd-policy-validator",
            "destination",
            false,
            json!([{"name": "policy-https", "port": 443, "targetPort": "policy-https"}]),
        ),
        injector,
    ]
}

fn env(name: &str, value: impl Into<Value>) -> Value {
    json!({"name": name, "value": value.into()})
}

fn field_env(name: &str, path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
}

/// How a control plane component's own proxy differs from the defaults.
struct ProxyConfig<'a> {
    /// e.g. linkerd-destination (the proxy talks to localhost for its own component).
    component: &'a str,
    inbound_ports: &'a str,
    await_ready: bool,
    require_tls: Option<&'a str>,
}

fn proxy_container(ctx: &Context, p: &ProxyConfig) -> Value {
    let ns = NAMESPACE;
    let td = ctx.trust_domain().to_string();
    let local = |own: &str, port: u16, svc: &str| {
        if p.component == own {
            format!("localhost.:{port}")
        } else {
            format!("{svc}.{ns}.svc.{CLUSTER_DOMAIN}.:{port}")
        }
    };
    let mut e = vec![
        field_env("_pod_name", "metadata.name"),
        field_env("_pod_ns", "metadata.namespace"),
        field_env("_pod_uid", "metadata.uid"),
        field_env("_pod_nodeName", "spec.nodeName"),
        env("_pod_containerName", "linkerd-proxy"),
    ];
    if let Some(ports) = p.require_tls {
        e.push(env("LINKERD2_PROXY_INBOUND_PORTS_REQUIRE_TLS", ports));
    }
    e.extend([
        env("LINKERD2_PROXY_SHUTDOWN_ENDPOINT_ENABLED", "false"),
        env("LINKERD2_PROXY_LOG", proxy_log(ctx)),
        env("LINKERD2_PROXY_LOG_FORMAT", "plain"),
        env(
            "LINKERD2_PROXY_DESTINATION_SVC_ADDR",
            local("linkerd-destination", 8086, "linkerd-dst-headless"),
        ),
        env("LINKERD2_PROXY_DESTINATION_PROFILE_NETWORKS", CLUSTER_NETWORKS),
        env(
            "LINKERD2_PROXY_POLICY_SVC_ADDR",
            local("linkerd-destination", 8090, "linkerd-policy"),
        ),
        env("LINKERD2_PROXY_POLICY_WORKLOAD", policy_workload(ctx)),
        env("LINKERD2_PROXY_INBOUND_DEFAULT_POLICY", "all-unauthenticated"),
        env("LINKERD2_PROXY_POLICY_CLUSTER_NETWORKS", CLUSTER_NETWORKS),
    ]);
    if ctx.v218() {
        e.extend([
            env("LINKERD2_PROXY_CONTROL_STREAM_INITIAL_TIMEOUT", "3s"),
            env("LINKERD2_PROXY_CONTROL_STREAM_IDLE_TIMEOUT", "5m"),
            env("LINKERD2_PROXY_CONTROL_STREAM_LIFETIME", "1h"),
        ]);
    }
    e.extend([
        env("LINKERD2_PROXY_INBOUND_CONNECT_TIMEOUT", "100ms"),
        env("LINKERD2_PROXY_OUTBOUND_CONNECT_TIMEOUT", "1000ms"),
        env("LINKERD2_PROXY_OUTBOUND_DISCOVERY_IDLE_TIMEOUT", "5s"),
        env("LINKERD2_PROXY_INBOUND_DISCOVERY_IDLE_TIMEOUT", "90s"),
        env("LINKERD2_PROXY_CONTROL_LISTEN_ADDR", "0.0.0.0:4190"),
        env("LINKERD2_PROXY_ADMIN_LISTEN_ADDR", "0.0.0.0:4191"),
        env("LINKERD2_PROXY_OUTBOUND_LISTEN_ADDR", "127.0.0.1:4140"),
    ]);
    if ctx.v218() {
        e.push(env("LINKERD2_PROXY_OUTBOUND_LISTEN_ADDRS", "127.0.0.1:4140"));
    }
    e.extend([
        env("LINKERD2_PROXY_INBOUND_LISTEN_ADDR", "0.0.0.0:4143"),
        field_env("LINKERD2_PROXY_INBOUND_IPS", "status.podIPs"),
        env("LINKERD2_PROXY_INBOUND_PORTS", p.inbound_ports),
        env(
            "LINKERD2_PROXY_DESTINATION_PROFILE_SUFFIXES",
            format!("svc.{CLUSTER_DOMAIN}."),
        ),
        env("LINKERD2_PROXY_INBOUND_ACCEPT_KEEPALIVE", "10000ms"),
        env("LINKERD2_PROXY_OUTBOUND_CONNECT_KEEPALIVE", "10000ms"),
    ]);
    if ctx.v218() {
        e.extend([
            env("LINKERD2_PROXY_INBOUND_ACCEPT_USER_TIMEOUT", "30s"),
            env("LINKERD2_PROXY_OUTBOUND_CONNECT_USER_TIMEOUT", "30s"),
            env("LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL", "10s"),
            env("LINKERD2_PROXY_INBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT", "3s"),
            env("LINKERD2_PROXY_OUTBOUND_SERVER_HTTP2_KEEP_ALIVE_INTERVAL", "10s"),
            env("LINKERD2_PROXY_OUTBOUND_SERVER_HTTP2_KEEP_ALIVE_TIMEOUT", "3s"),
        ]);
    }
    e.extend([
        env("LINKERD2_PROXY_INBOUND_PORTS_DISABLE_PROTOCOL_DETECTION", OPAQUE_PORTS),
        env(
            "LINKERD2_PROXY_DESTINATION_CONTEXT",
            "{\"ns\":\"$(_pod_ns)\", \"nodeName\":\"$(_pod_nodeName)\", \"pod\":\"$(_pod_name)\"}\n",
        ),
        field_env("_pod_sa", "spec.serviceAccountName"),
        env("_l5d_ns", ns),
        env("_l5d_trustdomain", td.as_str()),
        env("LINKERD2_PROXY_IDENTITY_DIR", "/var/run/linkerd/identity/end-entity"),
        json!({"name": "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS",
            "valueFrom": {"configMapKeyRef": {"name": "linkerd-identity-trust-roots", "key": "ca-bundle.crt"}}}),
        env(
            "LINKERD2_PROXY_IDENTITY_TOKEN_FILE",
            "/var/run/secrets/tokens/linkerd-identity-token",
        ),
        env(
            "LINKERD2_PROXY_IDENTITY_SVC_ADDR",
            local("linkerd-identity", 8080, "linkerd-identity-headless"),
        ),
        env(
            "LINKERD2_PROXY_IDENTITY_LOCAL_NAME",
            format!("$(_pod_sa).$(_pod_ns).serviceaccount.identity.{ns}.{td}"),
        ),
        env(
            "LINKERD2_PROXY_IDENTITY_SVC_NAME",
            format!("linkerd-identity.{ns}.serviceaccount.identity.{ns}.{td}"),
        ),
        env(
            "LINKERD2_PROXY_DESTINATION_SVC_NAME",
            format!("linkerd-destination.{ns}.serviceaccount.identity.{ns}.{td}"),
        ),
        env(
            "LINKERD2_PROXY_POLICY_SVC_NAME",
            format!("linkerd-destination.{ns}.serviceaccount.identity.{ns}.{td}"),
        ),
    ]);
    let mut c = json!({
        "name": "linkerd-proxy",
        "image": ctx.image("proxy", ctx.release.name),
        "imagePullPolicy": "IfNotPresent",
        "env": e,
        "livenessProbe": {"httpGet": {"path": "/live", "port": 4191}, "initialDelaySeconds": 10, "timeoutSeconds": 1},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 4191}, "initialDelaySeconds": 2, "timeoutSeconds": 1},
        "ports": [{"containerPort": 4143, "name": "linkerd-proxy"}, {"containerPort": 4191, "name": "linkerd-admin"}],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": PROXY_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [
            {"mountPath": "/var/run/linkerd/identity/end-entity", "name": "linkerd-identity-end-entity"},
            {"mountPath": "/var/run/secrets/tokens", "name": "linkerd-identity-token"},
        ],
    });
    if p.await_ready {
        c["lifecycle"] = json!({"postStart": {"exec": {"command": [
            "/usr/lib/linkerd/linkerd-await", "--timeout=2m", "--port=4191"]}}});
    }
    c
}

/// The proxy's log filter: 2.14 renders the level alone; later releases add the filters that
/// keep HTTP headers and requests out of the logs (`proxy.logHTTPHeaders: off`).
fn proxy_log(ctx: &Context) -> String {
    if ctx.v218() {
        format!("{},[{{headers}}]=off,[{{request}}]=off", ctx.release.proxy_log_level)
    } else {
        ctx.release.proxy_log_level.to_string()
    }
}

/// How the proxy names its workload to the policy controller: the 2.14 policy controller splits
/// `<namespace>:<pod>` and refuses anything else (a JSON workload is read from 2.15 on).
fn policy_workload(ctx: &Context) -> &'static str {
    if ctx.v218() {
        "{\"ns\":\"$(_pod_ns)\", \"pod\":\"$(_pod_name)\"}\n"
    } else {
        "$(_pod_ns):$(_pod_name)"
    }
}

/// linkerd-init: iptables redirection, skipping the Kubernetes API ports so the controllers
/// reach it before their proxy is ready.
fn proxy_init(ctx: &Context) -> Value {
    json!({
        "name": "linkerd-init",
        "image": ctx.image("proxy-init", ctx.release.proxy_init_tag),
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "--incoming-proxy-port", "4143",
            "--outgoing-proxy-port", "4140",
            "--proxy-uid", PROXY_UID.to_string(),
            "--inbound-ports-to-ignore", "4190,4191,4567,4568",
            "--outbound-ports-to-ignore", KUBE_API_PORTS,
        ],
        "securityContext": {
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]},
            "privileged": false,
            "runAsNonRoot": true,
            "runAsUser": 65534,
            "runAsGroup": 65534,
            "readOnlyRootFilesystem": true,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "volumeMounts": [{"mountPath": "/run", "name": "linkerd-proxy-init-xtables-lock"}],
    })
}

fn controller_security() -> Value {
    json!({
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "runAsUser": CONTROLLER_UID,
        "allowPrivilegeEscalation": false,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

fn probes(c: &mut Value, admin_port: Value, live: &str) {
    c["livenessProbe"] =
        json!({"httpGet": {"path": live, "port": admin_port}, "initialDelaySeconds": 10, "timeoutSeconds": 1});
    c["readinessProbe"] =
        json!({"httpGet": {"path": "/ready", "port": admin_port}, "failureThreshold": 7, "timeoutSeconds": 1});
}

const KUBE_API_MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

fn kube_api_mount() -> Value {
    json!({"mountPath": KUBE_API_MOUNT, "name": "kube-api-access", "readOnly": true})
}

/// Volumes every control plane pod has (service account token mounted by hand, xtables lock,
/// identity token, identity end-entity).
fn common_volumes() -> Vec<Value> {
    vec![
        json!({"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
        ]}}),
        json!({"name": "linkerd-proxy-init-xtables-lock", "emptyDir": {}}),
        json!({"name": "linkerd-identity-token", "projected": {"sources": [{"serviceAccountToken": {
            "path": "linkerd-identity-token", "expirationSeconds": 86400, "audience": "identity.l5d.io"}}]}}),
        json!({"name": "linkerd-identity-end-entity", "emptyDir": {"medium": "Memory"}}),
    ]
}

pub(crate) fn trust_root_sha256(pem: &str) -> String {
    Sha256::digest(pem.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct Workload<'a> {
    name: &'a str,
    component: &'a str,
    /// The proxy label in the selector (upstream leaves it out of the injector's).
    proxy_label_in_selector: bool,
    containers: Vec<Value>,
    volumes: Vec<Value>,
    extra_pod_annotations: &'a [(&'a str, &'a str)],
}

fn deployment(ctx: &Context, w: Workload) -> Value {
    let r = ctx.release;
    let mut metadata = meta(ctx, w.name, Some(w.component), true, true);
    let labels = &mut metadata["labels"];
    labels["app.kubernetes.io/name"] = json!(w.component);
    labels["app.kubernetes.io/part-of"] = json!("Linkerd");
    labels["app.kubernetes.io/version"] = json!(r.name);
    let mut selector = json!({COMPONENT_LABEL: w.component});
    if w.proxy_label_in_selector {
        selector[NS_LABEL] = json!(NAMESPACE);
        selector["linkerd.io/proxy-deployment"] = json!(w.name);
    }
    let mut pod_annotations = json!({
        "linkerd.io/created-by": ctx.created_by(),
        "linkerd.io/proxy-version": r.name,
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "true",
        "linkerd.io/trust-root-sha256": trust_root_sha256(&ctx.identity.trust_anchors_pem),
        "config.linkerd.io/default-inbound-policy": "all-unauthenticated",
    });
    for (k, v) in w.extra_pod_annotations {
        pod_annotations[*k] = json!(v);
    }
    let mut volumes = w.volumes;
    volumes.extend(common_volumes());
    let mut d = obj("apps/v1", "Deployment", metadata);
    d["spec"] = json!({
        "replicas": 1,
        "revisionHistoryLimit": 10,
        "selector": {"matchLabels": selector},
        "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {
            "metadata": {
                "annotations": pod_annotations,
                "labels": {
                    COMPONENT_LABEL: w.component,
                    NS_LABEL: NAMESPACE,
                    "linkerd.io/workload-ns": NAMESPACE,
                    "linkerd.io/proxy-deployment": w.name,
                },
            },
            "spec": {
                "nodeSelector": {"kubernetes.io/os": "linux"},
                "automountServiceAccountToken": false,
                "containers": w.containers,
                "initContainers": [proxy_init(ctx)],
                "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                "serviceAccountName": w.name,
                "volumes": volumes,
            },
        },
    });
    d
}

fn identity_deployment(ctx: &Context) -> Value {
    let td = ctx.trust_domain();
    let mut args = vec![
        "identity".to_string(),
        "-log-level=info".into(),
        "-log-format=plain".into(),
        format!("-controller-namespace={NAMESPACE}"),
        format!("-identity-trust-domain={td}"),
        "-identity-issuance-lifetime=24h0m0s".into(),
        "-identity-clock-skew-allowance=20s".into(),
        "-identity-scheme=linkerd.io/tls".into(),
        "-enable-pprof=false".into(),
    ];
    if ctx.v218() {
        args.extend(["-kube-apiclient-qps=100".into(), "-kube-apiclient-burst=200".into()]);
    }
    let mut identity = json!({
        "name": "identity",
        "image": ctx.controller_image(),
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [env("LINKERD_DISABLED", "linkerd-await cannot block the identity controller")],
        "ports": [{"containerPort": 8080, "name": "grpc"}, {"containerPort": 9990, "name": "admin-http"}],
        "securityContext": controller_security(),
        "volumeMounts": [
            {"mountPath": "/var/run/linkerd/identity/issuer", "name": "identity-issuer"},
            {"mountPath": "/var/run/linkerd/identity/trust-roots/", "name": "trust-roots"},
            kube_api_mount(),
        ],
    });
    probes(&mut identity, json!(9990), "/ping");
    let proxy = proxy_container(
        ctx,
        &ProxyConfig {
            component: "linkerd-identity",
            inbound_ports: "8080,9990",
            await_ready: false,
            require_tls: Some("8080"),
        },
    );
    deployment(
        ctx,
        Workload {
            name: "linkerd-identity",
            component: "identity",
            proxy_label_in_selector: true,
            containers: vec![identity, proxy],
            volumes: vec![
                json!({"name": "identity-issuer", "secret": {"secretName": "linkerd-identity-issuer"}}),
                json!({"name": "trust-roots", "configMap": {"name": "linkerd-identity-trust-roots"}}),
            ],
            extra_pod_annotations: &[],
        },
    )
}

fn destination_deployment(ctx: &Context) -> Value {
    let td = ctx.trust_domain();
    let mut dst_args = vec![
        "destination".to_string(),
        "-addr=:8086".into(),
        format!("-controller-namespace={NAMESPACE}"),
        "-enable-h2-upgrade=true".into(),
        "-log-level=info".into(),
        "-log-format=plain".into(),
        "-enable-endpoint-slices=true".into(),
        format!("-cluster-domain={CLUSTER_DOMAIN}"),
        format!("-identity-trust-domain={td}"),
        format!("-default-opaque-ports={OPAQUE_PORTS}"),
    ];
    if ctx.v218() {
        dst_args.push("-enable-ipv6=false".into());
    }
    dst_args.push("-enable-pprof=false".into());
    if ctx.v218() {
        dst_args.push(
            "--meshed-http2-client-params={\"keep_alive\":{\"interval\":{\"seconds\":10},\"timeout\":{\"seconds\":3},\"while_idle\":true}}"
                .into(),
        );
    }
    let mut destination = json!({
        "name": "destination",
        "image": ctx.controller_image(),
        "imagePullPolicy": "IfNotPresent",
        "args": dst_args,
        "ports": [{"containerPort": 8086, "name": "grpc"}, {"containerPort": 9996, "name": "admin-http"}],
        "securityContext": controller_security(),
        "volumeMounts": [kube_api_mount()],
    });
    probes(&mut destination, json!(9996), "/ping");
    let mut sp_validator = json!({
        "name": "sp-validator",
        "image": ctx.controller_image(),
        "imagePullPolicy": "IfNotPresent",
        "args": ["sp-validator", "-log-level=info", "-log-format=plain", "-enable-pprof=false"],
        "ports": [{"containerPort": 8443, "name": "sp-validator"}, {"containerPort": 9997, "name": "admin-http"}],
        "securityContext": controller_security(),
        "volumeMounts": [{"mountPath": "/var/run/linkerd/tls", "name": "sp-tls", "readOnly": true}, kube_api_mount()],
    });
    probes(&mut sp_validator, json!(9997), "/ping");
    let mut policy_args = vec![
        "--admin-addr=0.0.0.0:9990".to_string(),
        format!("--control-plane-namespace={NAMESPACE}"),
        "--grpc-addr=0.0.0.0:8090".into(),
        "--server-addr=0.0.0.0:9443".into(),
        "--server-tls-key=/var/run/linkerd/tls/tls.key".into(),
        "--server-tls-certs=/var/run/linkerd/tls/tls.crt".into(),
        format!("--cluster-networks={CLUSTER_NETWORKS}"),
        format!("--identity-domain={td}"),
        format!("--cluster-domain={CLUSTER_DOMAIN}"),
        "--default-policy=all-unauthenticated".into(),
        "--log-level=info".into(),
        "--log-format=plain".into(),
        format!("--default-opaque-ports={OPAQUE_PORTS}"),
    ];
    if ctx.v218() {
        policy_args.push("--global-egress-network-namespace=linkerd-egress".into());
        policy_args.push("--probe-networks=0.0.0.0/0,::/0".into());
    } else {
        policy_args.push("--probe-networks=0.0.0.0/0".into());
    }
    let mut policy = json!({
        "name": "policy",
        "image": ctx.image("policy-controller", ctx.release.name),
        "imagePullPolicy": "IfNotPresent",
        "args": policy_args,
        "ports": [
            {"containerPort": 8090, "name": "grpc"},
            {"containerPort": 9990, "name": "admin-http"},
            {"containerPort": 9443, "name": "policy-https"},
        ],
        "securityContext": controller_security(),
        "volumeMounts": [{"mountPath": "/var/run/linkerd/tls", "name": "policy-tls", "readOnly": true}, kube_api_mount()],
    });
    probes(&mut policy, json!("admin-http"), "/live");
    let proxy = proxy_container(
        ctx,
        &ProxyConfig {
            component: "linkerd-destination",
            inbound_ports: "8086,8090,8443,9443,9990,9996,9997",
            await_ready: true,
            require_tls: None,
        },
    );
    deployment(
        ctx,
        Workload {
            name: "linkerd-destination",
            component: "destination",
            proxy_label_in_selector: true,
            containers: vec![proxy, destination, sp_validator, policy],
            volumes: vec![
                json!({"name": "sp-tls", "secret": {"secretName": "linkerd-sp-validator-k8s-tls"}}),
                json!({"name": "policy-tls", "secret": {"secretName": "linkerd-policy-validator-k8s-tls"}}),
            ],
            extra_pod_annotations: &[],
        },
    )
}

fn proxy_injector_deployment(ctx: &Context) -> Value {
    let mut injector = json!({
        "name": "proxy-injector",
        "image": ctx.controller_image(),
        "imagePullPolicy": "IfNotPresent",
        "args": ["proxy-injector", "-log-level=info", "-log-format=plain",
            format!("-linkerd-namespace={NAMESPACE}"), "-enable-pprof=false"],
        "ports": [{"containerPort": 8443, "name": "proxy-injector"}, {"containerPort": 9995, "name": "admin-http"}],
        "securityContext": controller_security(),
        "volumeMounts": [
            {"mountPath": "/var/run/linkerd/config", "name": "config"},
            {"mountPath": "/var/run/linkerd/identity/trust-roots", "name": "trust-roots"},
            {"mountPath": "/var/run/linkerd/tls", "name": "tls", "readOnly": true},
            kube_api_mount(),
        ],
    });
    probes(&mut injector, json!(9995), "/ping");
    let proxy = proxy_container(
        ctx,
        &ProxyConfig {
            component: "linkerd-proxy-injector",
            inbound_ports: "8443,9995",
            await_ready: true,
            require_tls: None,
        },
    );
    deployment(
        ctx,
        Workload {
            name: "linkerd-proxy-injector",
            component: "proxy-injector",
            proxy_label_in_selector: false,
            containers: vec![proxy, injector],
            volumes: vec![
                json!({"name": "config", "configMap": {"name": "linkerd-config"}}),
                json!({"name": "trust-roots", "configMap": {"name": "linkerd-identity-trust-roots"}}),
                json!({"name": "tls", "secret": {"secretName": "linkerd-proxy-injector-k8s-tls"}}),
            ],
            extra_pod_annotations: &[("config.linkerd.io/opaque-ports", "8443")],
        },
    )
}

fn webhook_namespace_selector(injector: bool) -> Value {
    let mut exprs =
        vec![json!({"key": "config.linkerd.io/admission-webhooks", "operator": "NotIn", "values": ["disabled"]})];
    if injector {
        exprs.push(json!({"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "cert-manager"]}));
    }
    json!({"matchExpressions": exprs})
}

fn injector_object_selector() -> Value {
    json!({"matchExpressions": [
        {"key": "linkerd.io/control-plane-component", "operator": "DoesNotExist"},
        {"key": "linkerd.io/cni-resource", "operator": "DoesNotExist"},
    ]})
}

fn webhook_config(ctx: &Context, kind: &str, name: &str, component: &str, webhook: Value) -> Value {
    let mut o = obj(
        "admissionregistration.k8s.io/v1",
        kind,
        meta(ctx, name, Some(component), false, false),
    );
    o["webhooks"] = json!([webhook]);
    o
}

fn client_config(service: &str, tls: &WebhookTls) -> Value {
    json!({"service": {"name": service, "namespace": NAMESPACE, "path": "/"}, "caBundle": tls.ca_bundle_b64})
}

fn proxy_injector_webhook(ctx: &Context) -> Value {
    webhook_config(
        ctx,
        "MutatingWebhookConfiguration",
        "linkerd-proxy-injector-webhook-config",
        "proxy-injector",
        json!({
            "name": "linkerd-proxy-injector.linkerd.io",
            "namespaceSelector": webhook_namespace_selector(true),
            "objectSelector": injector_object_selector(),
            "clientConfig": client_config("linkerd-proxy-injector", &ctx.webhooks.proxy_injector),
            "failurePolicy": "Ignore",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                "resources": ["pods", "services"], "scope": "Namespaced"}],
            "sideEffects": "None",
            "timeoutSeconds": 10,
        }),
    )
}

fn sp_validator_webhook(ctx: &Context) -> Value {
    webhook_config(
        ctx,
        "ValidatingWebhookConfiguration",
        "linkerd-sp-validator-webhook-config",
        "destination",
        json!({
            "name": "linkerd-sp-validator.linkerd.io",
            "namespaceSelector": webhook_namespace_selector(false),
            "clientConfig": client_config("linkerd-sp-validator", &ctx.webhooks.sp_validator),
            "failurePolicy": "Ignore",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": ["linkerd.io"],
                "apiVersions": ["v1alpha1", "v1alpha2"], "resources": ["serviceprofiles"]}],
            "sideEffects": "None",
        }),
    )
}

fn policy_validator_webhook(ctx: &Context) -> Value {
    webhook_config(
        ctx,
        "ValidatingWebhookConfiguration",
        "linkerd-policy-validator-webhook-config",
        "destination",
        json!({
            "name": "linkerd-policy-validator.linkerd.io",
            "namespaceSelector": webhook_namespace_selector(false),
            "clientConfig": client_config("linkerd-policy-validator", &ctx.webhooks.policy_validator),
            "failurePolicy": "Ignore",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "rules": [
                {"operations": ["CREATE", "UPDATE"], "apiGroups": ["policy.linkerd.io"], "apiVersions": ["*"],
                    "resources": policy_resources(ctx)},
                {"operations": ["CREATE", "UPDATE"], "apiGroups": ["gateway.networking.k8s.io"], "apiVersions": ["*"],
                    "resources": gateway_resources(ctx)},
            ],
            "sideEffects": "None",
        }),
    )
}
