//! The operator's configuration: which plugins to serve on which ports, and the limits of a call.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use wasmesh_runtime::types::{KubeRule, NamespaceScope};

use crate::errors::{Error, Result};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address every listener binds to.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where compiled plugins are cached; none compiles at every start.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default = "default_plugins")]
    pub plugins: Vec<PluginConfig>,
    /// Refuse a plugin whose declared capabilities are not all granted.
    #[serde(default)]
    pub strict: bool,
    /// Append-only JSON-lines log of every capability decision.
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// API servers a kubeconfig may send the host to: networks (`10.0.0.0/8`), addresses or
    /// host names. Absent: any https server.
    #[serde(default, deserialize_with = "present_list")]
    pub allowed_api_servers: Option<Vec<String>>,
    /// Let kubeconfigs name plain `http://` API servers (off: credentials would cross the
    /// network in clear).
    #[serde(default)]
    pub allow_http_api_servers: bool,
    /// Serve gRPC over TLS (off by default: Meshery dials adapters in plain gRPC today).
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// A file holding the bearer token every caller must send (`authorization: Bearer ...`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Where Prometheus metrics are served over HTTP (`/metrics`); none: not served.
    #[serde(default)]
    pub metrics_addr: Option<String>,
    /// How long a shutdown (SIGTERM, SIGINT) waits for operations in flight before it stops them.
    #[serde(default = "default_shutdown_grace_seconds")]
    pub shutdown_grace_seconds: u64,
    /// The log's format: `text` for people, `json` (one object per line) for collectors.
    #[serde(default)]
    pub log_format: LogFormat,
    /// The Meshery server each plugin registers its design kinds with (`http://meshery:9081`);
    /// none registers nothing. Env MESHERY_SERVER.
    #[serde(default)]
    pub meshery_server: Option<String>,
    /// The host name the Meshery server reaches the adapters on, sent with the registration.
    /// Env WASMESH_ADVERTISE_HOST, or SERVICE_ADDR as the upstream adapters name it; default
    /// `localhost`.
    #[serde(default)]
    pub advertise_host: Option<String>,
    /// Seconds between registration rounds (default a day).
    #[serde(default = "default_registration_interval_seconds")]
    pub registration_interval_seconds: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The listeners' TLS: PEM files read at start.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The server certificate (chain), PEM.
    pub cert: PathBuf,
    /// Its private key, PEM.
    pub key: PathBuf,
    /// When set, mutual TLS: callers must present a certificate signed by this CA (PEM).
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory one plugin call may use.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: usize,
    /// Wall-clock time one plugin call may take.
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Largest custom_body accepted.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Largest plan (sum of its objects' JSON) accepted from a plugin.
    #[serde(default = "default_max_plan_bytes")]
    pub max_plan_bytes: usize,
    /// Longest wait a plan step may ask for; longer ones are cut to this.
    #[serde(default = "default_max_wait_seconds")]
    pub max_wait_seconds: u32,
    /// Operations (and designs) in flight at once per adapter; more are refused as busy.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Kubeconfigs (clusters) one request may name.
    #[serde(default = "default_max_clusters")]
    pub max_clusters: usize,
    /// Longest one operation or design may take on a cluster, plugin call, checks and every
    /// wait included; a design waits at most this long for another one to finish.
    #[serde(default = "default_operation_timeout_seconds")]
    pub operation_timeout_seconds: u64,
    /// Most steps (applies, deletes, namespace changes, waits) one plan may have.
    #[serde(default = "default_max_plan_steps")]
    pub max_plan_steps: usize,
    /// Most wait steps one plan may have.
    #[serde(default = "default_max_plan_waits")]
    pub max_plan_waits: usize,
    /// Drift detection: most watches (one per cluster, kind and namespace) one plugin holds.
    #[serde(default = "default_drift_max_watches")]
    pub drift_max_watches: usize,
    /// Drift detection: most objects one plugin watches, over every cluster.
    #[serde(default = "default_drift_max_objects")]
    pub drift_max_objects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            call_timeout_ms: default_call_timeout_ms(),
            max_body_bytes: default_max_body_bytes(),
            max_plan_bytes: default_max_plan_bytes(),
            max_wait_seconds: default_max_wait_seconds(),
            max_in_flight: default_max_in_flight(),
            max_clusters: default_max_clusters(),
            operation_timeout_seconds: default_operation_timeout_seconds(),
            max_plan_steps: default_max_plan_steps(),
            max_plan_waits: default_max_plan_waits(),
            drift_max_watches: default_drift_max_watches(),
            drift_max_objects: default_drift_max_objects(),
        }
    }
}

impl Limits {
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }

    pub fn operation_timeout(&self) -> Duration {
        Duration::from_secs(self.operation_timeout_seconds)
    }

    /// The most the host copies out of one plugin call (its result, or a call it makes to the
    /// host): twice the plan limit, since a plan is more than its objects' JSON, and never less
    /// than the runtime's default, which the built-in plugins' largest results fit many times.
    pub fn max_result_bytes(&self) -> usize {
        self.max_plan_bytes
            .saturating_mul(2)
            .max(wasmesh_runtime::DEFAULT_MAX_RESULT_BYTES)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Name used in logs and errors.
    pub name: String,
    /// A built-in translator ("linkerd", "istio", "kuma") ...
    #[serde(default)]
    pub builtin: Option<String>,
    /// ... or a component file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The port Meshery reaches this adapter on (0 picks a free one).
    pub port: u16,
    /// Expected sha256 of the component; a different file is refused.
    #[serde(default)]
    pub sha256: Option<String>,
    /// What the operator grants; the plugin gets what it declares and this allows. Absent:
    /// everything it declares.
    #[serde(default)]
    pub grant: Option<GrantConfig>,
    /// Send this plugin's cluster calls as its own ServiceAccount (Impersonate-User), so the API
    /// server's RBAC enforces its grant a second time.
    #[serde(default)]
    pub identity: Option<IdentityConfig>,
    /// Drift detection for what this plugin's operations applied (off by default).
    #[serde(default)]
    pub drift: DriftConfig,
    /// A folder the plugin may read (only if its manifest declares `assets`), preopened
    /// read-only at `/assets` in its calls: e.g. a mesh release's rendered manifests, one
    /// subfolder per version. Absent: the plugin sees no file at all.
    #[serde(default)]
    pub assets: Option<PathBuf>,
}

/// `drift: {watch: true, reconcile: false}` under a plugin.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DriftConfig {
    /// After an operation succeeds, watch the objects it applied and report (WARN) every change
    /// someone else makes to the fields it set, and every deletion. Grants the plugin `list` and
    /// `watch` where it may `patch`.
    #[serde(default)]
    pub watch: bool,
    /// Also re-apply the operation's plan when its objects drift (needs `watch`).
    #[serde(default)]
    pub reconcile: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GrantConfig {
    /// Kubernetes rules the plugin may use (absent: all it declares). Written but empty (`kube:`
    /// with every rule commented out) is an error, not "all".
    #[serde(default, deserialize_with = "present")]
    pub kube: Option<Vec<RuleConfig>>,
    /// Operation keys the plugin may run (`design` for designs); absent: all. The plugin then
    /// gets only the rules its manifest declares for these operations. Written but empty is an
    /// error, not "all".
    #[serde(default, deserialize_with = "present")]
    pub operations: Option<Vec<String>>,
    /// The operator accepts that this grant is cluster-admin equivalent (`wasmesh plugins` says
    /// why); without it, strict mode refuses such a plugin.
    #[serde(default)]
    pub cluster_admin: bool,
}

/// `allowed_api_servers:` written with nothing after it is a mistake, not "any server".
fn present_list<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<String>>, D::Error> {
    match Option::<Vec<String>>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "allowed_api_servers is written with no value; write [] to allow no server, or leave it out to allow any https server",
        )),
    }
}

/// A grant field that is written must hold a list: YAML reads `kube:` with nothing after it (every
/// entry commented out) as null, which would otherwise mean "absent", i.e. everything.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "a grant field is written with no value; write [] to grant none, or leave the field out to grant \
             everything the plugin declares",
        )),
    }
}

/// A Kubernetes rule as the operator writes it (RBAC spelling).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RuleConfig {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    /// "cluster", "request", "all", or a list of namespaces.
    pub namespaces: ScopeConfig,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ScopeConfig {
    Named(String),
    Listed(Vec<String>),
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IdentityConfig {
    pub service_account: String,
    pub namespace: String,
}

impl IdentityConfig {
    pub fn user(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.service_account)
    }
}

impl RuleConfig {
    pub fn to_rule(&self) -> Result<KubeRule> {
        let namespaces = match &self.namespaces {
            ScopeConfig::Named(n) => match n.as_str() {
                "cluster" => NamespaceScope::Cluster,
                "request" => NamespaceScope::Request,
                "all" => NamespaceScope::All,
                other => {
                    return Err(Error::Config(format!(
                        "namespaces: \"{other}\" is not one of cluster, request, all, or a list of namespaces"
                    )));
                }
            },
            ScopeConfig::Listed(l) => NamespaceScope::Listed(l.clone()),
        };
        Ok(KubeRule {
            api_groups: self.api_groups.clone(),
            resources: self.resources.clone(),
            verbs: self.verbs.clone(),
            namespaces,
        })
    }
}

fn default_shutdown_grace_seconds() -> u64 {
    30
}
fn default_registration_interval_seconds() -> u64 {
    crate::registration::DEFAULT_INTERVAL.as_secs()
}

fn default_listen() -> String {
    "0.0.0.0".into()
}
fn default_memory_mib() -> usize {
    64
}
fn default_call_timeout_ms() -> u64 {
    10_000
}
fn default_max_body_bytes() -> usize {
    4 << 20
}
fn default_max_plan_bytes() -> usize {
    16 << 20
}
fn default_max_wait_seconds() -> u32 {
    600
}
fn default_max_in_flight() -> usize {
    256
}
fn default_max_clusters() -> usize {
    16
}

fn default_operation_timeout_seconds() -> u64 {
    1800
}

fn default_max_plan_steps() -> usize {
    20_000
}

fn default_max_plan_waits() -> usize {
    1_000
}

fn default_drift_max_watches() -> usize {
    256
}

fn default_drift_max_objects() -> usize {
    10_000
}

/// Istio on 10000, Linkerd on 10001 and Kuma on 10007: the ports a Meshery server expects.
fn default_plugins() -> Vec<PluginConfig> {
    vec![
        PluginConfig::builtin("istio", 10000),
        PluginConfig::builtin("linkerd", 10001),
        PluginConfig::builtin("kuma", 10007),
    ]
}

impl PluginConfig {
    /// A built-in translator served on `port`, with its declared grant and nothing else set.
    pub fn builtin(name: &str, port: u16) -> Self {
        Self {
            builtin: Some(name.into()),
            ..Self::file(name, None, port)
        }
    }

    /// A translator from a component file (or none yet), with nothing else set.
    pub fn file(name: &str, path: Option<PathBuf>, port: u16) -> Self {
        Self {
            name: name.into(),
            builtin: None,
            path,
            port,
            sha256: None,
            grant: None,
            identity: None,
            drift: DriftConfig::default(),
            assets: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            cache_dir: None,
            limits: Limits::default(),
            plugins: default_plugins(),
            strict: false,
            audit_log: None,
            allowed_api_servers: None,
            allow_http_api_servers: false,
            tls: None,
            token_file: None,
            metrics_addr: None,
            shutdown_grace_seconds: default_shutdown_grace_seconds(),
            log_format: LogFormat::default(),
            meshery_server: None,
            advertise_host: None,
            registration_interval_seconds: default_registration_interval_seconds(),
        }
    }
}

impl Config {
    pub fn from_yaml(text: &str) -> Result<Config> {
        let config: Config = serde_yaml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }

    /// Where kubeconfigs may send the host.
    pub fn server_policy(&self) -> Result<wasmesh_cluster::ServerPolicy> {
        let allowed = match &self.allowed_api_servers {
            None => None,
            Some(list) => Some(
                list.iter()
                    .map(|e| wasmesh_cluster::AllowedServer::parse(e))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| Error::Config(format!("allowed_api_servers: {e}")))?,
            ),
        };
        Ok(wasmesh_cluster::ServerPolicy {
            allow_http: self.allow_http_api_servers,
            allowed,
        })
    }

    /// What registration with the Meshery server needs; None when `meshery_server` is unset.
    pub fn registration(&self) -> Result<Option<crate::registration::Settings>> {
        let Some(server) = self.meshery_server.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let url = crate::registration::register_url(server)?;
        let local = |h: &str| {
            let h = h.trim_start_matches('[').trim_end_matches(']');
            let name = h.to_ascii_lowercase();
            // 0.0.0.0 and :: dial the dialler's own machine too; ::ffff:127.0.0.1 is loopback
            // once canonical; *.localhost names resolve to loopback.
            name == "localhost"
                || name.ends_with(".localhost")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.to_canonical().is_loopback() || ip.is_unspecified())
        };
        // A Meshery server elsewhere would dial "localhost", its own machine, for Provision.
        if self.advertise_host.is_none() && !url.host().is_some_and(local) {
            return Err(Error::Config(format!(
                "meshery_server {server} is not on this machine, so advertise_host must say how it reaches \
                 this host (e.g. wasmesh.meshery.svc; env WASMESH_ADVERTISE_HOST or SERVICE_ADDR)"
            )));
        }
        let host = self
            .advertise_host
            .as_deref()
            .map(str::trim)
            .unwrap_or(crate::registration::DEFAULT_ADVERTISE_HOST);
        // A DNS name or an IP address, nothing more: the server appends the port itself.
        let ip = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
            .parse::<std::net::IpAddr>()
            .ok();
        if ip.is_none() && !wasmesh_cluster::is_dns_subdomain(&host.to_ascii_lowercase()) {
            return Err(Error::Config(format!(
                "advertise_host \"{}\" is not a host name; write the name or address the Meshery server \
                 reaches this host on (e.g. wasmesh.meshery.svc), without scheme or port",
                host.escape_debug()
            )));
        }
        // A server elsewhere would dial its own machine, and whatever listens there would get
        // Provision's kubeconfigs.
        if !url.host().is_some_and(local) && local(host) {
            return Err(Error::Config(format!(
                "advertise_host \"{host}\" is this machine's own loopback name, but meshery_server {server} is \
                 not on this machine: it would dial itself; write the name or address it reaches this host on \
                 (e.g. wasmesh.meshery.svc; env WASMESH_ADVERTISE_HOST or SERVICE_ADDR)"
            )));
        }
        if self.registration_interval_seconds == 0 {
            return Err(Error::Config(
                "registration_interval_seconds must be above 0 (default 86400, a day)".into(),
            ));
        }
        Ok(Some(crate::registration::Settings {
            url,
            advertise_host: host.to_string(),
            interval: Duration::from_secs(self.registration_interval_seconds),
            backoff: crate::registration::Backoff::default(),
        }))
    }

    /// The upstream adapters' environment names, over the file's: MESHERY_SERVER and
    /// SERVICE_ADDR (WASMESH_MESHERY_SERVER and WASMESH_ADVERTISE_HOST, in the settings table,
    /// come after). Empty values are ignored.
    pub fn apply_registration_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = var("MESHERY_SERVER") {
            self.meshery_server = Some(v);
        }
        if let Some(v) = var("SERVICE_ADDR") {
            self.advertise_host = Some(v);
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.server_policy()?;
        self.registration()?;
        let mut ports = std::collections::HashSet::new();
        for p in &self.plugins {
            match (&p.builtin, &p.path) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(Error::Config(format!(
                        "plugin \"{}\" must name exactly one of builtin or path",
                        p.name
                    )));
                }
            }
            if let Some(g) = &p.grant {
                // Before, `grant: {}` granted nothing; now absent fields mean "everything declared".
                // A grant that narrows nothing is a mistake either way.
                if g.kube.is_none() && g.operations.is_none() && !g.cluster_admin {
                    return Err(Error::Config(format!(
                        "plugin \"{}\": grant names neither kube nor operations, so it would narrow nothing; \
                         leave grant out to give the plugin everything it declares, or write kube: [] to grant no rule",
                        p.name
                    )));
                }
                for r in g.kube.iter().flatten() {
                    r.to_rule()
                        .map_err(|e| Error::Config(format!("plugin \"{}\": grant: {e}", p.name)))?;
                }
            }
            if let Some(sha) = &p.sha256 {
                if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(Error::Config(format!(
                        "plugin \"{}\": sha256 must be 64 hex digits",
                        p.name
                    )));
                }
            }
            if p.drift.reconcile && !p.drift.watch {
                return Err(Error::Config(format!(
                    "plugin \"{}\": drift.reconcile needs drift.watch: true (drift is found by watching)",
                    p.name
                )));
            }
            if p.port != 0 && !ports.insert(p.port) {
                return Err(Error::Config(format!(
                    "port {} is given to more than one plugin",
                    p.port
                )));
            }
        }
        if let Some(addr) = &self.metrics_addr
            && addr.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(Error::Config(format!(
                "metrics_addr: \"{addr}\" is not an address and port such as 127.0.0.1:9464"
            )));
        }
        if self.limits.memory_mib == 0 || self.limits.call_timeout_ms == 0 {
            return Err(Error::Config(
                "limits.memory_mib and limits.call_timeout_ms must be above 0".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_config_parses() {
        let c = Config::from_yaml(
            r#"
listen: 127.0.0.1
strict: true
audit_log: /tmp/audit.jsonl
allowed_api_servers: [10.0.0.0/8, 192.168.1.10, api.example.com]
tls: {cert: /etc/wasmesh/tls.crt, key: /etc/wasmesh/tls.key, client_ca: /etc/wasmesh/meshery-ca.crt}
token_file: /etc/wasmesh/token
plugins:
  - name: linkerd
    builtin: linkerd
    port: 10001
    sha256: 0000000000000000000000000000000000000000000000000000000000000000
    identity: {serviceAccount: wasmesh-linkerd, namespace: wasmesh}
    grant:
      kube:
        - {apiGroups: [""], resources: [configmaps], verbs: [get], namespaces: request}
        - {apiGroups: [apps], resources: [deployments], verbs: [get], namespaces: [linkerd]}
"#,
        )
        .unwrap();
        let p = &c.plugins[0];
        assert!(c.strict);
        let policy = c.server_policy().unwrap();
        assert!(!policy.allow_http);
        assert_eq!(policy.allowed.unwrap().len(), 3);
        assert!(c.tls.as_ref().unwrap().client_ca.is_some());
        assert_eq!(
            p.identity.as_ref().unwrap().user(),
            "system:serviceaccount:wasmesh:wasmesh-linkerd"
        );
        let rules: Vec<_> = p
            .grant
            .as_ref()
            .unwrap()
            .kube
            .iter()
            .flatten()
            .map(|r| r.to_rule().unwrap())
            .collect();
        assert_eq!(rules[0].namespaces, NamespaceScope::Request);
        assert_eq!(rules[1].namespaces, NamespaceScope::Listed(vec!["linkerd".into()]));
    }

    #[test]
    fn a_remote_meshery_server_needs_an_advertised_host() {
        let e = Config::from_yaml("meshery_server: http://meshery.meshery.svc:9081\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("advertise_host must say"), "{e}");
        for local in ["http://localhost:9081", "http://127.0.0.1:9081", "http://[::1]:9081"] {
            let c = Config::from_yaml(&format!("meshery_server: {local}\n")).unwrap();
            assert_eq!(
                c.registration().unwrap().unwrap().advertise_host,
                "localhost",
                "{local}"
            );
        }
    }

    #[test]
    fn registration_comes_from_the_file_and_the_environment_over_it() {
        let mut c = Config::from_yaml("meshery_server: http://meshery:9081\nadvertise_host: a.example\n").unwrap();
        let r = c.registration().unwrap().unwrap();
        assert_eq!(
            (
                r.url.to_string().as_str(),
                r.advertise_host.as_str(),
                r.interval.as_secs()
            ),
            (
                "http://meshery:9081/api/meshmodel/components/register",
                "a.example",
                86_400
            )
        );
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        c.apply_registration_env(env(&[("SERVICE_ADDR", "b.example"), ("MESHERY_SERVER", "https://m")]));
        let r = c.registration().unwrap().unwrap();
        assert_eq!(
            (r.url.to_string().as_str(), r.advertise_host.as_str()),
            ("https://m/api/meshmodel/components/register", "b.example")
        );
        assert!(Config::default().registration().unwrap().is_none());
    }

    #[test]
    fn an_empty_list_grants_nothing_and_an_absent_field_everything() {
        let grant = |yaml: &str| {
            Config::from_yaml(&format!(
                "plugins: [{{name: a, builtin: istio, port: 1, grant: {yaml}}}]"
            ))
            .unwrap()
            .plugins[0]
                .grant
                .clone()
                .unwrap()
        };
        let g = grant("{kube: []}");
        assert_eq!((g.kube, g.operations), (Some(vec![]), None));
        let g = grant("{operations: []}");
        assert_eq!((g.kube, g.operations), (None, Some(vec![])));
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let cases = [
            ("plugins: [{name: a, port: 1}]", "exactly one of builtin or path"),
            (
                "plugins: [{name: a, builtin: istio, port: 1}, {name: b, builtin: linkerd, port: 1}]",
                "port 1 is given to more than one plugin",
            ),
            (
                "plugins: [{name: a, builtin: istio, port: 1, sha256: abc}]",
                "64 hex digits",
            ),
            (
                "plugins: [{name: a, builtin: istio, port: 1, grant: {kube: [{apiGroups: [''], resources: [x], verbs: [get], namespaces: everywhere}]}}]",
                "\"everywhere\" is not one of",
            ),
            ("listen: 1\nfrobnicate: true", "unknown field `frobnicate`"),
            (
                "allowed_api_servers: [10.0.0.0/33]",
                "allowed_api_servers: \"10.0.0.0/33\" is neither",
            ),
            ("allowed_api_servers: ['https://x']", "is neither a network"),
            ("allowed_api_servers:\n# - 10.0.0.0/8\n", "write [] to allow no server"),
            ("tls: {cert: /a}", "missing field `key`"),
            (
                "plugins: [{name: a, builtin: istio, port: 1, grant: {operations: custom}}]",
                "grant",
            ),
            (
                "plugins: [{name: a, builtin: istio, port: 1, grant: {}}]",
                "grant names neither kube nor operations",
            ),
            (
                "plugins:\n- name: a\n  builtin: istio\n  port: 1\n  grant:\n    kube:\n    # - {apiGroups: ['']}\n",
                "write [] to grant none",
            ),
            (
                "plugins: [{name: a, builtin: istio, port: 1, grant: {operations: ~}}]",
                "write [] to grant none",
            ),
            ("meshery_server: ftp://meshery", "is neither http:// nor https://"),
            ("meshery_server: meshery:9081", "has no scheme"),
            (
                "meshery_server: http://meshery:9081\nadvertise_host: http://wasmesh",
                "advertise_host \"http://wasmesh\" is not a host name",
            ),
            (
                "meshery_server: http://meshery:9081\nadvertise_host: wasmesh:10000",
                "advertise_host \"wasmesh:10000\" is not a host name",
            ),
            (
                "meshery_server: http://meshery:9081\nadvertise_host: \"a\\tb\"",
                "is not a host name",
            ),
            (
                "meshery_server: http://meshery:9081\nadvertise_host: 127.0.0.1",
                "is this machine's own loopback name",
            ),
            (
                "meshery_server: http://meshery:9081\nadvertise_host: LocalHost",
                "is this machine's own loopback name",
            ),
            (
                "meshery_server: http://meshery:9081\nadvertise_host: a.example\nregistration_interval_seconds: 0",
                "must be above 0",
            ),
        ];
        for (yaml, says) in cases {
            let e = Config::from_yaml(yaml).unwrap_err().to_string();
            assert!(e.contains(says), "{yaml}: {e}");
        }
    }
}
