//! The one dispatch point for what a plugin asks of the host during a call: every cluster read
//! goes through the grant's check for the call's operation, and progress becomes events.

use std::sync::Arc;

use wasmesh_cluster::{Cluster, Resolved, Retries};
use wasmesh_grant::{Action, Call};
use wasmesh_runtime::types::{self, Level as WitLevel};
use wasmesh_runtime::{HostCalls, ListQuery};

use crate::events::{Event, EventHub, Level};
use crate::metrics::PluginMetrics;

pub use wasmesh_grant::CAP_DENIED;

pub struct CallHost {
    /// The cluster the call is about; None for describe.
    pub cluster: Option<Arc<Cluster>>,
    /// The call's grant, operation and caller.
    pub call: Call,
    pub events: Arc<EventHub>,
    pub metrics: PluginMetrics,
    /// Actions refused during the call, for the operation's error event.
    pub denied: Vec<String>,
    /// Until when a read that fails in a way that may pass is retried: well within the call's
    /// time limit, so the plugin keeps time to use what it read.
    pub reads_until: tokio::time::Instant,
}

impl CallHost {
    /// The host side of a describe call: no cluster, nothing granted.
    pub fn describe(plugin: &str) -> Self {
        Self {
            cluster: None,
            call: Call::nothing(plugin),
            events: Arc::new(EventHub::new(plugin)),
            metrics: PluginMetrics::detached(plugin),
            denied: Vec::new(),
            reads_until: tokio::time::Instant::now(),
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

    /// Tells each retry of a read as an event of the operation.
    fn retry_teller(&self) -> impl Fn(&str) + Send + Sync + 'static {
        let (events, operation_id) = (self.events.clone(), self.call.ctx.operation_id.clone());
        move |note: &str| events.publish(Event::info(&operation_id, format!("reading the cluster: {note}"), ""))
    }

    fn check(&mut self, action: Action, name: &str) -> Result<(), types::Error> {
        self.call.check_read(&action, name).map_err(|e| {
            for rule in e.denial_rules() {
                self.metrics.capability_denied(rule);
            }
            self.denied.push(e.to_string());
            types::Error {
                code: e.code().into(),
                message: e.to_string(),
                probable_cause: e.probable_cause(),
                suggested_remediation: e.suggested_remediation(),
            }
        })
    }
}

/// A cluster-crate error (a refused name, or the API server's answer) for the plugin.
fn plugin_error(e: wasmesh_cluster::Error) -> types::Error {
    types::Error {
        code: e.code().into(),
        message: e.to_string(),
        probable_cause: e.probable_cause(),
        suggested_remediation: e.suggested_remediation(),
    }
}

impl CallHost {
    /// An error from the API server, counted.
    fn cluster_error(&self, e: wasmesh_cluster::Error) -> types::Error {
        self.metrics.cluster_error(&e);
        plugin_error(e)
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
        wasmesh_cluster::check_name(&name).map_err(plugin_error)?;
        if let Some(ns) = namespace.as_deref().filter(|n| !n.is_empty()) {
            wasmesh_cluster::check_namespace(ns).map_err(plugin_error)?;
        }
        let tell = self.retry_teller();
        let retries = Retries::observed(self.reads_until, &tell);
        let resolved: Resolved = match cluster.resolve_with(&api_version, &kind, &retries).await {
            Ok(r) => r,
            // A kind the cluster does not serve has no objects: "is X installed?" is answered no.
            Err(wasmesh_cluster::Error::UnknownKind { .. }) => return Ok(None),
            Err(e) => return Err(self.cluster_error(retries.explain(e))),
        };
        let ns = resolved.namespaced.then(|| {
            namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| self.call.request_namespace.clone())
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
            .get_json_with(&resolved, ns.as_deref(), &name, &retries)
            .await
            .map_err(|e| self.cluster_error(retries.explain(e)))?;
        Ok(found.map(|v| v.to_string()))
    }

    async fn cluster_list(&mut self, query: ListQuery) -> Result<Vec<String>, types::Error> {
        let cluster = self.cluster()?;
        if let Some(ns) = query.namespace.as_deref().filter(|n| !n.is_empty()) {
            wasmesh_cluster::check_namespace(ns).map_err(plugin_error)?;
        }
        let tell = self.retry_teller();
        let retries = Retries::observed(self.reads_until, &tell);
        let resolved = match cluster.resolve_with(&query.api_version, &query.kind, &retries).await {
            Ok(r) => r,
            Err(wasmesh_cluster::Error::UnknownKind { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(self.cluster_error(retries.explain(e))),
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
            .list_json_with(&resolved, ns.as_deref(), &query.label_selector, &retries)
            .await
            .map_err(|e| self.cluster_error(retries.explain(e)))?;
        Ok(items.into_iter().map(|v| v.to_string()).collect())
    }

    fn progress(&mut self, level: WitLevel, summary: String, details: String, error: Option<types::Error>) {
        let level = match level {
            WitLevel::Info => Level::Info,
            WitLevel::Warn => Level::Warn,
            WitLevel::Error => Level::Error,
        };
        let id = &self.call.ctx.operation_id;
        let event = match (level, error) {
            // The server keeps only a WARN's summary: the remediation goes into it too.
            (Level::Warn, Some(e)) => {
                Event::warn(id, summary, details, e.code, e.probable_cause, e.suggested_remediation)
            }
            (level, error) => {
                let mut event = Event::info(id, summary, details);
                event.level = level;
                if let Some(e) = error {
                    event.error_code = e.code;
                    event.probable_cause = e.probable_cause;
                    event.suggested_remediation = e.suggested_remediation;
                }
                event
            }
        };
        self.events.publish(event);
    }
}
