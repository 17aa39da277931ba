//! apiVersion + kind → the REST resource, through the cluster's discovery, cached per cluster.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;

use crate::client::Cluster;
use crate::errors::{Error, Result};
use crate::names::{check_group, check_type, is_resource_name};
use crate::retry::Retries;

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
    /// (group, plural) → namespaced, for the resources RBAC rules name.
    scopes: Mutex<HashMap<(String, String), bool>>,
}

impl Cluster {
    /// How the cluster serves `kind` in `api_version`.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved> {
        self.resolve_with(api_version, kind, &Retries::reads()).await
    }

    /// [`Cluster::resolve`], its discovery request retried as `retries` allow.
    pub async fn resolve_with(&self, api_version: &str, kind: &str, retries: &Retries<'_>) -> Result<Resolved> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(r) = self.resolver.cache.lock().unwrap().get(&key) {
            return Ok(r.clone());
        }
        // Checked before any request: group and version become the discovery URL's path.
        let (group, version) = check_type(api_version, kind)?;
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps) = match retries
            .run("discover", || kube::discovery::pinned_kind(&self.client, &gvk))
            .await
        {
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
        // The server's answer must be about what was asked: an aggregated API can answer for
        // another group, and the plural becomes every later URL of this kind.
        if resource.group != group || resource.version != version || resource.kind != kind {
            return Err(Error::InvalidObject {
                reason: format!(
                    "the cluster's discovery answered for {}/{} {} when asked for {api_version} {kind}",
                    resource.group, resource.version, resource.kind
                ),
            });
        }
        if !is_resource_name(&resource.plural) {
            return Err(Error::InvalidObject {
                reason: format!(
                    "the cluster's discovery names {kind} in {api_version} \"{}\", which is not a resource name",
                    resource.plural.escape_debug()
                ),
            });
        }
        let resolved = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        self.resolver.cache.lock().unwrap().insert(key, resolved.clone());
        Ok(resolved)
    }

    /// Whether the resource `plural` of `group` is namespaced; None when the cluster does not
    /// serve it (or either is a wildcard).
    pub async fn resource_scope(&self, group: &str, plural: &str) -> Result<Option<bool>> {
        if group == "*" || plural == "*" {
            return Ok(None);
        }
        check_group(group)?;
        let plural = plural.split('/').next().unwrap_or_default();
        if !is_resource_name(plural) {
            return Ok(None);
        }
        let key = (group.to_string(), plural.to_string());
        if let Some(n) = self.resolver.scopes.lock().unwrap().get(&key) {
            return Ok(Some(*n));
        }
        let found = match Retries::reads()
            .run("discover", || kube::discovery::group(&self.client, group))
            .await
        {
            Ok(g) => g
                .recommended_resources()
                .into_iter()
                .find(|(r, _)| r.plural == plural)
                .map(|(_, caps)| caps.scope == Scope::Namespaced),
            Err(kube::Error::Api(s)) if s.code == 404 => None,
            Err(kube::Error::Discovery(_)) => None,
            Err(e) => {
                return Err(Error::from_kube(
                    "discover",
                    format!("API group \"{group}\""),
                    &self.server,
                    e,
                ));
            }
        };
        if let Some(n) = found {
            self.resolver.scopes.lock().unwrap().insert(key, n);
        }
        Ok(found)
    }

    fn unknown(&self, api_version: &str, kind: &str) -> Error {
        Error::UnknownKind {
            server: self.server.clone(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        }
    }
}
