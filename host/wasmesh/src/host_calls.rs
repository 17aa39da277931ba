//! The one dispatch point for what a plugin asks of the host during a call: every cluster read
//! is checked against the plugin's grant, and progress becomes events.

use std::sync::Arc;

use wasmesh_cluster::{Cluster, Resolved};
use wasmesh_runtime::types::{self, Level as WitLevel};
use wasmesh_runtime::{HostCalls, ListQuery};

use crate::audit::{self, AuditLog};
use crate::caps::{Action, Grant, how_to_grant};
use crate::events::{Event, EventHub, Level};

/// The error code of a refused capability.
pub const CAP_DENIED: &str = "WASMESH-CAP-DENIED";

pub struct CallHost {
    /// The cluster the call is about; None for describe.
    pub cluster: Option<Arc<Cluster>>,
    pub grant: Arc<Grant>,
    pub events: Arc<EventHub>,
    pub audit: Arc<AuditLog>,
    /// Who asks, for the audit and the events.
    pub ctx: audit::Context,
    pub request_namespace: String,
    /// Test builds only: record but do not enforce.
    pub unchecked: bool,
    /// Actions refused during the call, for the operation's error event.
    pub denied: Vec<String>,
}

impl CallHost {
    /// The host side of a describe call: no cluster, nothing granted.
    pub fn describe(plugin: &str) -> Self {
        Self {
            cluster: None,
            grant: Arc::new(Grant::default()),
            events: Arc::new(EventHub::new(plugin)),
            audit: Arc::new(AuditLog::default()),
            ctx: audit::Context {
                plugin: plugin.to_string(),
                ..Default::default()
            },
            request_namespace: String::new(),
            unchecked: false,
            denied: Vec::new(),
        }
    }

    fn cluster(&self) -> Result<Arc<Cluster>, types::Error> {
        self.cluster.clone().ok_or_else(|| types::Error {
            code: "WASMESH-HOST-1001".into(),
            message: "no cluster is available in this call".into(),
            probable_cause: "the plugin read the cluster from describe, which has no cluster".into(),
            suggested_remediation: "read the cluster only from plan or provision".into(),
        })
    }

    fn check(&mut self, action: Action, name: &str) -> Result<(), types::Error> {
        let allowed = self.grant.allows(&action, &self.request_namespace);
        self.audit.record(&self.ctx, "read", &action, name, allowed);
        if allowed || self.unchecked {
            return Ok(());
        }
        let message = format!("plugin {} may not {action}", self.ctx.plugin);
        self.denied.push(message.clone());
        tracing::warn!(op = %self.ctx.operation_id, "denied: {action}");
        Err(types::Error {
            code: CAP_DENIED.into(),
            message,
            probable_cause: "the action is outside the capabilities granted to this plugin".into(),
            suggested_remediation: how_to_grant(&action),
        })
    }
}

fn cluster_error(e: wasmesh_cluster::Error) -> types::Error {
    types::Error {
        code: e.code().into(),
        message: e.to_string(),
        probable_cause: e.probable_cause(),
        suggested_remediation: e.suggested_remediation(),
    }
}

impl HostCalls for CallHost {
    async fn cluster_get(
        &mut self,
        api_version: String,
        kind: String,
        namespace: Option<String>,
        name: String,
    ) -> Result<Option<String>, types::Error> {
        let cluster = self.cluster()?;
        // Names become URL paths: refuse the ones that would reach another resource.
        wasmesh_cluster::check_name(&name).map_err(cluster_error)?;
        if let Some(ns) = namespace.as_deref().filter(|n| !n.is_empty()) {
            wasmesh_cluster::check_namespace(ns).map_err(cluster_error)?;
        }
        let resolved: Resolved = match cluster.resolve(&api_version, &kind).await {
            Ok(r) => r,
            // A kind the cluster does not serve has no objects: "is X installed?" is answered no.
            Err(wasmesh_cluster::Error::UnknownKind { .. }) => return Ok(None),
            Err(e) => return Err(cluster_error(e)),
        };
        let ns = resolved.namespaced.then(|| {
            namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| self.request_namespace.clone())
        });
        self.check(
            Action {
                verb: "get",
                namespaced: resolved.namespaced,
                group: resolved.group(),
                resource: resolved.plural(),
                namespace: ns.as_deref(),
            },
            &name,
        )?;
        let found = cluster
            .get_json(&resolved, ns.as_deref(), &name)
            .await
            .map_err(cluster_error)?;
        Ok(found.map(|v| v.to_string()))
    }

    async fn cluster_list(&mut self, query: ListQuery) -> Result<Vec<String>, types::Error> {
        let cluster = self.cluster()?;
        if let Some(ns) = query.namespace.as_deref().filter(|n| !n.is_empty()) {
            wasmesh_cluster::check_namespace(ns).map_err(cluster_error)?;
        }
        let resolved = match cluster.resolve(&query.api_version, &query.kind).await {
            Ok(r) => r,
            Err(wasmesh_cluster::Error::UnknownKind { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(cluster_error(e)),
        };
        let ns = if resolved.namespaced {
            query.namespace.clone().filter(|n| !n.is_empty())
        } else {
            None
        };
        self.check(
            Action {
                verb: "list",
                namespaced: resolved.namespaced,
                group: resolved.group(),
                resource: resolved.plural(),
                namespace: ns.as_deref(),
            },
            "",
        )?;
        let items = cluster
            .list_json(&resolved, ns.as_deref(), &query.label_selector)
            .await
            .map_err(cluster_error)?;
        Ok(items.into_iter().map(|v| v.to_string()).collect())
    }

    fn progress(&mut self, level: WitLevel, summary: String, details: String, error: Option<types::Error>) {
        let level = match level {
            WitLevel::Info => Level::Info,
            WitLevel::Warn => Level::Warn,
            WitLevel::Error => Level::Error,
        };
        let mut event = Event::info(&self.ctx.operation_id, summary, details);
        event.level = level;
        if let Some(e) = error {
            event.error_code = e.code;
            event.probable_cause = e.probable_cause;
            event.suggested_remediation = e.suggested_remediation;
        }
        self.events.publish(event);
    }
}
