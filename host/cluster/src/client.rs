//! Clients made from kubeconfigs that arrive with a request. They stay in memory: nothing is
//! written to disk, and a kubeconfig that would make the host run a command or read a file is
//! refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use sha2::{Digest, Sha256};

use crate::errors::{Error, Result};
use crate::resolve::Resolver;

/// Largest kubeconfig accepted; real ones are a few KiB.
pub const MAX_KUBECONFIG_BYTES: usize = 1 << 20;
/// Clients kept at once; the least recently used goes first.
const POOL_CAPACITY: usize = 64;

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
    /// A client for a self-contained kubeconfig (inline credentials, as Meshery sends them).
    pub async fn from_kubeconfig(yaml: &str, impersonate: Option<&Impersonation>) -> Result<Cluster> {
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
        let kubeconfig = Kubeconfig::from_yaml(yaml).map_err(|e| invalid(format!("{e}")))?;
        check_self_contained(&kubeconfig)?;
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
        let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
        let client = kube::Client::try_from(config).map_err(|e| invalid(format!("cannot build a client: {e}")))?;
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
}

#[derive(Default)]
struct PoolInner {
    clusters: HashMap<[u8; 32], (Arc<Cluster>, u64)>,
    clock: u64,
}

impl ClusterPool {
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
        let cluster = Arc::new(Cluster::from_kubeconfig(kubeconfig, impersonate).await?);
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
