//! Clients made from kubeconfigs that arrive with a request. They stay in memory: nothing is
//! written to disk, and a kubeconfig that would make the host run a command or read a file is
//! refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;

use kube::config::{KubeConfigOptions, Kubeconfig};
use sha2::{Digest, Sha256};

use crate::errors::{Error, Result};
use crate::resolve::Resolver;

/// Largest kubeconfig accepted; real ones are a few KiB.
pub const MAX_KUBECONFIG_BYTES: usize = 1 << 20;
/// Clients kept at once; the least recently used goes first.
const POOL_CAPACITY: usize = 64;

/// Where a kubeconfig may send the host. A kubeconfig's server is an outbound request the host
/// makes with whatever credentials the kubeconfig carries, so anyone who can reach a gRPC port
/// could otherwise use the host to probe addresses only it can reach.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerPolicy {
    /// Plain `http://` servers are refused unless this is set (credentials would cross the
    /// network in clear, and anything on the path could answer).
    pub allow_http: bool,
    /// When set, the only servers allowed: a host name written here, or any address inside one
    /// of these networks. A server given by name that is not listed as a name is resolved, and
    /// every address it resolves to must be inside a listed network.
    pub allowed: Option<Vec<AllowedServer>>,
}

/// One entry of `allowed_api_servers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedServer {
    /// A host name, matched as written (case-insensitive), without resolving it.
    Host(String),
    /// A network (`10.0.0.0/8`) or one address (`10.1.2.3`, `::1`).
    Net(IpNet),
}

impl AllowedServer {
    pub fn parse(entry: &str) -> std::result::Result<AllowedServer, String> {
        let e = entry.trim();
        if let Ok(net) = e.parse::<IpNet>() {
            return Ok(AllowedServer::Net(net));
        }
        if let Ok(ip) = e.parse::<IpAddr>() {
            return Ok(AllowedServer::Net(IpNet::from(ip)));
        }
        let is_name = !e.is_empty()
            && e.len() <= 253
            && e.split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if is_name {
            Ok(AllowedServer::Host(e.to_ascii_lowercase()))
        } else {
            Err(format!(
                "\"{entry}\" is neither a network (10.0.0.0/8), an address nor a host name (api.example.com)"
            ))
        }
    }
}

impl ServerPolicy {
    /// A proxy named by the kubeconfig would be one more outbound destination, chosen by the
    /// caller: refused whatever kube's features would do with it.
    fn check_proxies(kc: &Kubeconfig) -> Result<()> {
        for c in &kc.clusters {
            if c.cluster.as_ref().is_some_and(|c| c.proxy_url.is_some()) {
                return Err(Error::ServerNotAllowed {
                    server: c.cluster.as_ref().and_then(|c| c.server.clone()).unwrap_or_default(),
                    reason: format!(
                        "cluster \"{}\" sends the host's requests through a proxy (proxy-url), which the adapter does not use",
                        c.name
                    ),
                });
            }
        }
        Ok(())
    }

    /// Refuses a server the policy does not allow, before any connection to it. A name that was
    /// allowed because of the addresses it resolved to comes back with the address checked, so
    /// that the connection goes there and not wherever the name resolves to next (a name whose
    /// DNS answer changes after the check would otherwise lead the host anywhere).
    async fn check(&self, config: &kube::Config) -> Result<Option<IpAddr>> {
        let url = &config.cluster_url;
        // A user name or password in the URL would reach every event that names the server.
        if let Some(authority) = url.authority().map(|a| a.as_str()).filter(|a| a.contains('@')) {
            return Err(Error::ServerNotAllowed {
                server: format!(
                    "{}://{}",
                    url.scheme_str().unwrap_or_default(),
                    authority.rsplit('@').next().unwrap_or_default()
                ),
                reason: "its URL carries a user name or password; give credentials in the kubeconfig's user entry"
                    .into(),
            });
        }
        let server = url.to_string().trim_end_matches('/').to_string();
        let refuse = |reason: String| {
            Err(Error::ServerNotAllowed {
                server: server.clone(),
                reason,
            })
        };
        match url.scheme_str() {
            Some("https") => {}
            Some("http") if self.allow_http => {}
            Some("http") => {
                return refuse(
                    "it is plain http://; the host only talks https to an API server unless allow_http_api_servers is set"
                        .into(),
                );
            }
            Some(other) => {
                return refuse(format!("its scheme \"{}\" is not https", other.escape_debug()));
            }
            None => return refuse("it names no scheme; write it as https://host:port".into()),
        }
        let Some(allowed) = &self.allowed else {
            return Ok(None);
        };
        let host = url.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        // `::ffff:10.0.0.1` is where 10.0.0.1 is: it is checked as the IPv4 address it reaches,
        // so a broad IPv6 entry cannot open the IPv4 networks.
        let in_nets = |ip: IpAddr| {
            let ip = ip.to_canonical();
            allowed
                .iter()
                .any(|a| matches!(a, AllowedServer::Net(n) if n.contains(&ip)))
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            if in_nets(ip) {
                return Ok(None);
            }
            return refuse(format!("{ip} is not inside allowed_api_servers"));
        }
        let name = host.to_ascii_lowercase();
        if allowed
            .iter()
            .any(|a| matches!(a, AllowedServer::Host(h) if *h == name))
        {
            return Ok(None);
        }
        let port = url.port_u16().unwrap_or(443);
        let addrs: Vec<IpAddr> =
            match tokio::time::timeout(Duration::from_secs(10), tokio::net::lookup_host((name.as_str(), port))).await {
                Ok(Ok(addrs)) => addrs.map(|a| a.ip()).collect(),
                Ok(Err(e)) => {
                    return refuse(format!(
                        "{name} is not listed in allowed_api_servers and does not resolve: {e}"
                    ));
                }
                Err(_) => {
                    return refuse(format!(
                        "{name} is not listed in allowed_api_servers and did not resolve in time"
                    ));
                }
            };
        match addrs.iter().find(|ip| !in_nets(**ip)) {
            None if !addrs.is_empty() => Ok(Some(addrs[0])),
            None => refuse(format!("{name} resolves to no address")),
            Some(ip) => refuse(format!(
                "{name} resolves to {ip}, which is not inside allowed_api_servers"
            )),
        }
    }
}

/// Sends `config`'s requests to `ip`, still verifying the server's certificate against the name
/// the kubeconfig gave (unless it names a tls-server-name of its own).
fn pin(config: &mut kube::Config, ip: IpAddr) -> Result<()> {
    let url = &config.cluster_url;
    let name = url.host().unwrap_or_default().to_string();
    let host = match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let authority = match url.port_u16() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    let mut parts = url.clone().into_parts();
    parts.authority = Some(authority.parse().map_err(|e| Error::InvalidKubeconfig {
        reason: format!("cannot address {name} by {ip}: {e}"),
    })?);
    config.cluster_url = http::Uri::from_parts(parts).map_err(|e| Error::InvalidKubeconfig {
        reason: format!("cannot address {name} by {ip}: {e}"),
    })?;
    config.tls_server_name.get_or_insert(name);
    Ok(())
}

/// Whose identity requests are sent with (Impersonate-User / Impersonate-Group).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Impersonation {
    pub user: String,
    pub groups: Vec<String>,
}

/// One cluster a request named.
pub struct Cluster {
    /// Short, stable id derived from the kubeconfig's hash (never the credentials themselves).
    pub id: String,
    /// The kubeconfig's current context.
    pub context: String,
    /// API server URL.
    pub server: String,
    pub(crate) client: kube::Client,
    pub(crate) resolver: Resolver,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("id", &self.id)
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

impl Cluster {
    /// A client for a self-contained kubeconfig (inline credentials, as Meshery sends them), to
    /// an https server.
    pub async fn from_kubeconfig(yaml: &str, impersonate: Option<&Impersonation>) -> Result<Cluster> {
        Self::from_kubeconfig_with(yaml, impersonate, &ServerPolicy::default()).await
    }

    /// A client for a self-contained kubeconfig whose server `policy` allows.
    pub async fn from_kubeconfig_with(
        yaml: &str,
        impersonate: Option<&Impersonation>,
        policy: &ServerPolicy,
    ) -> Result<Cluster> {
        let invalid = |reason: String| Error::InvalidKubeconfig { reason };
        if yaml.trim().is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if yaml.len() > MAX_KUBECONFIG_BYTES {
            return Err(invalid(format!(
                "it is {} bytes, over the limit of {MAX_KUBECONFIG_BYTES}",
                yaml.len()
            )));
        }
        let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| invalid(unparsable(&e)))?;
        check_self_contained(&kubeconfig)?;
        ServerPolicy::check_proxies(&kubeconfig)?;
        let context = kubeconfig
            .current_context
            .clone()
            .or_else(|| kubeconfig.contexts.first().map(|c| c.name.clone()))
            .ok_or_else(|| invalid("it has no context".into()))?;
        let options = KubeConfigOptions {
            context: Some(context.clone()),
            ..Default::default()
        };
        let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|e| invalid(format!("{e}")))?;
        // The server as the kubeconfig names it, for events and logs, whatever address is used.
        let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
        if let Some(ip) = policy.check(&config).await? {
            pin(&mut config, ip)?;
        }
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        if let Some(who) = impersonate {
            // The configured identity replaces whatever the kubeconfig asks to act as: its own
            // as-groups, as-uid or as-user-extra would lift the plugin's account (to
            // system:masters, say).
            let auth = &mut config.auth_info;
            auth.impersonate = Some(who.user.clone());
            auth.impersonate_groups = (!who.groups.is_empty()).then(|| who.groups.clone());
            auth.impersonate_uid = None;
            auth.impersonate_user_extra = None;
        }
        // Retries are the host's own (crate::retry), within the operation's deadline and told in
        // its events; kube's would retry unseen, for up to 1000 s.
        config.default_retry = false;
        let client = kube::client::ClientBuilder::try_from(config)
            .map_err(|e| invalid(format!("cannot build a client: {e}")))?
            .with_layer(&crate::bound::BoundAnswers {
                limit: crate::bound::MAX_ANSWER_BYTES,
            })
            .with_layer(&tower::util::MapResponseLayer::new(keep_retry_after))
            .build();
        Ok(Cluster {
            id: short_hash(yaml),
            context,
            server,
            client,
            resolver: Resolver::default(),
        })
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }
}

type Answer = http::Response<Box<kube::client::DynBody>>;

/// kube-rs keeps only the body of a failed answer, so the Retry-After header of an answer whose
/// body is no Status (the API Priority and Fairness filter sends its 429 as plain text) would be
/// lost. Such an answer becomes a Status that carries the wait as `details.retryAfterSeconds`
/// (where kube-apiserver puts it in its own Statuses), and not the body, which is never shown
/// (see `Error::from_kube`).
fn keep_retry_after(answer: Answer) -> Answer {
    use http::header::{CONTENT_TYPE, RETRY_AFTER};
    use http_body_util::BodyExt;
    let code = answer.status();
    if !(code.is_client_error() || code.is_server_error()) {
        return answer;
    }
    let header = |name| {
        answer
            .headers()
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
    };
    let Some(seconds) = header(RETRY_AFTER).and_then(|v| v.trim().parse::<u32>().ok()) else {
        return answer;
    };
    if header(CONTENT_TYPE).is_some_and(|c| c.starts_with("application/json")) {
        return answer;
    }
    let reason = match code.as_u16() {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "NotAStatus",
    };
    let status = serde_json::json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code.as_u16(), "reason": reason,
        "message": format!("the server answered HTTP {} with a body that is not a Kubernetes Status (not shown) and asked to retry after {seconds} s", code.as_u16()),
        "details": {"retryAfterSeconds": seconds},
    });
    let (mut parts, _) = answer.into_parts();
    parts
        .headers
        .insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    parts.headers.remove(http::header::CONTENT_LENGTH);
    let body = http_body_util::Full::new(bytes::Bytes::from(status.to_string()))
        .map_err(|never: std::convert::Infallible| -> tower::BoxError { match never {} });
    http::Response::from_parts(parts, Box::new(body))
}

/// Why a kubeconfig does not parse, without quoting it: serde-saphyr's message shows the lines
/// around the error, which hold the credentials, and the message reaches every event subscriber.
fn unparsable(e: &kube::config::KubeconfigError) -> String {
    match e {
        kube::config::KubeconfigError::Parse(p) => format!("it is not valid YAML: {}", p.without_snippet()),
        other => other.to_string(),
    }
}

/// Refuses what would make the host act outside the API call itself.
fn check_self_contained(kc: &Kubeconfig) -> Result<()> {
    let invalid = |reason: String| Err(Error::InvalidKubeconfig { reason });
    for user in &kc.auth_infos {
        let Some(auth) = &user.auth_info else {
            continue;
        };
        if auth.exec.is_some() {
            return invalid(format!(
                "user \"{}\" authenticates with an exec plugin, which the adapter will not run; use a token or client certificate",
                user.name
            ));
        }
        if auth.auth_provider.is_some() {
            return invalid(format!(
                "user \"{}\" uses an auth-provider; use a token or client certificate",
                user.name
            ));
        }
        if auth.token_file.is_some() || auth.client_certificate.is_some() || auth.client_key.is_some() {
            return invalid(format!(
                "user \"{}\" refers to files on disk; send a self-contained kubeconfig with inline credentials (kubectl config view --flatten --minify)",
                user.name
            ));
        }
    }
    for cluster in &kc.clusters {
        if let Some(c) = &cluster.cluster {
            if c.certificate_authority.is_some() {
                return invalid(format!(
                    "cluster \"{}\" refers to a CA file on disk; inline it as certificate-authority-data",
                    cluster.name
                ));
            }
        }
    }
    Ok(())
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..6])
}

/// Clients cached by the sha256 of the kubeconfig's content (and the impersonated identity), so a
/// cluster's connections and discovery are reused across requests.
#[derive(Default)]
pub struct ClusterPool {
    inner: Mutex<PoolInner>,
    policy: ServerPolicy,
}

#[derive(Default)]
struct PoolInner {
    clusters: HashMap<[u8; 32], (Arc<Cluster>, u64)>,
    clock: u64,
}

impl ClusterPool {
    /// A pool whose clusters' servers `policy` allows.
    pub fn new(policy: ServerPolicy) -> Self {
        Self {
            inner: Mutex::default(),
            policy,
        }
    }

    pub async fn get(&self, kubeconfig: &str, impersonate: Option<&Impersonation>) -> Result<Arc<Cluster>> {
        let mut h = Sha256::new();
        h.update(kubeconfig.as_bytes());
        if let Some(who) = impersonate {
            h.update([0]);
            h.update(who.user.as_bytes());
            for g in &who.groups {
                h.update([0]);
                h.update(g.as_bytes());
            }
        }
        let key: [u8; 32] = h.finalize().into();
        {
            let mut inner = self.inner.lock().unwrap();
            inner.clock += 1;
            let now = inner.clock;
            if let Some((c, used)) = inner.clusters.get_mut(&key) {
                *used = now;
                return Ok(c.clone());
            }
        }
        let cluster = Arc::new(Cluster::from_kubeconfig_with(kubeconfig, impersonate, &self.policy).await?);
        let mut inner = self.inner.lock().unwrap();
        if inner.clusters.len() >= POOL_CAPACITY {
            if let Some(oldest) = inner
                .clusters
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| *k)
            {
                inner.clusters.remove(&oldest);
            }
        }
        let now = inner.clock;
        inner.clusters.insert(key, (cluster.clone(), now));
        Ok(cluster)
    }
}

#[cfg(test)]
mod pin_tests {
    use super::*;

    fn config(url: &str) -> kube::Config {
        kube::Config::new(url.parse().unwrap())
    }

    #[test]
    fn a_pinned_server_is_addressed_by_the_checked_address_and_verified_by_its_name() {
        let mut c = config("https://api.example.com:6443/");
        pin(&mut c, "10.1.2.3".parse().unwrap()).unwrap();
        assert_eq!(c.cluster_url.to_string(), "https://10.1.2.3:6443/");
        assert_eq!(c.tls_server_name.as_deref(), Some("api.example.com"));

        let mut c = config("https://api.example.com");
        pin(&mut c, "fd00::1".parse().unwrap()).unwrap();
        assert_eq!(c.cluster_url.host(), Some("[fd00::1]"));
        assert_eq!(c.cluster_url.port_u16(), None);

        // The kubeconfig's own tls-server-name is what the certificate must match.
        let mut c = config("https://api.example.com:443");
        c.tls_server_name = Some("kubernetes.default".into());
        pin(&mut c, "10.1.2.3".parse().unwrap()).unwrap();
        assert_eq!(c.tls_server_name.as_deref(), Some("kubernetes.default"));
    }

    fn policy(entries: &[&str]) -> ServerPolicy {
        ServerPolicy {
            allow_http: false,
            allowed: Some(entries.iter().map(|e| AllowedServer::parse(e).unwrap()).collect()),
        }
    }

    #[tokio::test]
    async fn an_ipv4_mapped_address_is_checked_as_the_ipv4_address_it_reaches() {
        // A broad IPv6 entry does not open IPv4 networks through ::ffff:a.b.c.d.
        let v6_only = policy(&["::/0"]);
        let err = v6_only
            .check(&config("https://[::ffff:10.0.0.1]:6443"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not inside allowed_api_servers"), "{err}");
        assert!(v6_only.check(&config("https://[fd00::1]:6443")).await.is_ok());

        // And an IPv4 entry admits the mapped form of its own addresses.
        let v4 = policy(&["10.0.0.0/8"]);
        assert!(v4.check(&config("https://[::ffff:10.0.0.1]:6443")).await.is_ok());
        assert!(v4.check(&config("https://[::ffff:192.168.0.1]:6443")).await.is_err());
    }
}
