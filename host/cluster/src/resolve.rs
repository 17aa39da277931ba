//! apiVersion + kind → the REST resource, through the cluster's discovery, cached per cluster.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;

use crate::client::Cluster;
use crate::errors::{Error, Result};

/// A kind as the cluster serves it.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

impl Resolved {
    /// The API group ("" for core).
    pub fn group(&self) -> &str {
        &self.resource.group
    }

    /// The plural resource name, as RBAC rules name it.
    pub fn plural(&self) -> &str {
        &self.resource.plural
    }
}

#[derive(Default)]
pub(crate) struct Resolver {
    // Only hits are cached: a kind may start being served once its CRD is applied.
    cache: Mutex<HashMap<(String, String), Resolved>>,
}

pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl Cluster {
    /// How the cluster serves `kind` in `api_version`.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(r) = self.resolver.cache.lock().unwrap().get(&key) {
            return Ok(r.clone());
        }
        let (group, version) = split_api_version(api_version);
        if version.is_empty() || kind.is_empty() {
            return Err(Error::InvalidObject {
                reason: format!("apiVersion \"{api_version}\" and kind \"{kind}\" do not name a Kubernetes type"),
            });
        }
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = match kube::discovery::pinned_kind(&self.client, &gvk).await {
            Ok(x) => x,
            Err(kube::Error::Api(s)) if s.code == 404 => {
                return Err(self.unknown(api_version, kind));
            }
            Err(kube::Error::Discovery(_)) => return Err(self.unknown(api_version, kind)),
            Err(e) => {
                return Err(Error::from_kube(
                    "discover",
                    format!("{kind} in {api_version}"),
                    &self.server,
                    e,
                ));
            }
        };
        let resolved = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        self.resolver.cache.lock().unwrap().insert(key, resolved.clone());
        Ok(resolved)
    }

    fn unknown(&self, api_version: &str, kind: &str) -> Error {
        Error::UnknownKind {
            server: self.server.clone(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        }
    }
}
