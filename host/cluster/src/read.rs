//! Reads on behalf of a plugin (after the host's capability check).

use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

use crate::client::Cluster;
use crate::errors::{Error, Result};
use crate::names::{check_name, check_namespace};
use crate::resolve::Resolved;
use crate::retry::Retries;

impl Cluster {
    fn read_api(&self, resolved: &Resolved, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) if resolved.namespaced => Api::namespaced_with(self.client.clone(), ns, &resolved.resource),
            _ => Api::all_with(self.client.clone(), &resolved.resource),
        }
    }

    /// One object as JSON, or None when it does not exist.
    pub async fn get_json(&self, resolved: &Resolved, namespace: Option<&str>, name: &str) -> Result<Option<Value>> {
        self.get_json_with(resolved, namespace, name, &Retries::reads()).await
    }

    /// [`Cluster::get_json`], retried as `retries` allow.
    pub async fn get_json_with(
        &self,
        resolved: &Resolved,
        namespace: Option<&str>,
        name: &str,
        retries: &Retries<'_>,
    ) -> Result<Option<Value>> {
        check_name(name)?;
        if let Some(ns) = namespace {
            check_namespace(ns)?;
        }
        let what = || format!("{} \"{name}\"", resolved.resource.kind);
        let api = self.read_api(resolved, namespace);
        let found = retries
            .run(&format!("get {}", what()), || api.get_opt(name))
            .await
            .map_err(|e| Error::from_kube("get", what(), &self.server, e))?;
        found
            .map(|o| serde_json::to_value(o).map_err(|e| Error::InvalidObject { reason: e.to_string() }))
            .transpose()
    }

    /// Objects of a kind, in one namespace or (None) across all, filtered by a label selector.
    /// (The label selector goes into the query string, which kube-rs encodes.)
    pub async fn list_json(
        &self,
        resolved: &Resolved,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<Value>> {
        self.list_json_with(resolved, namespace, label_selector, &Retries::reads())
            .await
    }

    /// [`Cluster::list_json`], retried as `retries` allow.
    pub async fn list_json_with(
        &self,
        resolved: &Resolved,
        namespace: Option<&str>,
        label_selector: &str,
        retries: &Retries<'_>,
    ) -> Result<Vec<Value>> {
        if let Some(ns) = namespace {
            check_namespace(ns)?;
        }
        let mut params = ListParams::default();
        if !label_selector.is_empty() {
            params = params.labels(label_selector);
        }
        let api = self.read_api(resolved, namespace);
        let list = retries
            .run(&format!("list {}", resolved.resource.plural), || api.list(&params))
            .await
            .map_err(|e| Error::from_kube("list", resolved.resource.plural.clone(), &self.server, e))?;
        list.items
            .into_iter()
            .map(|o| serde_json::to_value(o).map_err(|e| Error::InvalidObject { reason: e.to_string() }))
            .collect()
    }
}
