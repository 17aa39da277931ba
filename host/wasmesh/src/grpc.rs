//! Meshery's gRPC interface: `meshes.MeshService` and `meshes.AdapterService`, both served by
//! the same adapter on one listener.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};
use wasmesh_proto::meshes::adapter_service_server::AdapterService;
use wasmesh_proto::meshes::mesh_service_server::MeshService;
use wasmesh_proto::meshes::*;
use wasmesh_runtime::types;

use crate::adapter::{Adapter, Failure};
use crate::events::Event;
use crate::metrics::Outcome;
use crate::shutdown::Tracked;
use tracing::Instrument;

/// The `rule` label of a capability denial for an operation the grant does not include.
const OPERATION_RULE: &str = "operation";

/// Longest operation id, operation name, namespace, username or version a request may carry:
/// Meshery sends UUIDs and short names; anything longer is refused before any work.
pub const MAX_FIELD_BYTES: usize = 256;
/// Most components (or declarations) one design may carry.
pub const MAX_DESIGN_COMPONENTS: usize = 10_000;
/// Longest Provision/ProcessOAM answer, and longest line in it: they carry plugin text.
const MAX_DESIGN_MESSAGE: usize = 1 << 20;
const MAX_DESIGN_LINE: usize = crate::events::MAX_HINT;
/// Longest failed design's status message (see `design`); the events carry the whole failure.
const MAX_STATUS_MESSAGE: usize = 8 * 1024;

pub type EventStream = Pin<Box<dyn Stream<Item = Result<EventsResponse, Status>> + Send>>;

#[derive(Clone)]
pub struct Service {
    pub adapter: Arc<Adapter>,
    pub git_sha: &'static str,
}

/// The answer to an operation or design accepted while shutdown stopped the rest: it was not
/// started, and its caller hears so here (its ERROR event may find no stream left).
fn not_started(operation_id: &str) -> Status {
    Status::unavailable(format!(
        "operation {operation_id} was not started: the adapter is shutting down ({}); run it again once \
         the adapter is back",
        crate::shutdown::CUT_OFF_CODE
    ))
}

/// Whether a refused call counts as `refused` in the metrics: one not started at shutdown
/// (UNAVAILABLE) was counted as `cut_off` already.
fn counts_as_refused(status: &Status) -> bool {
    status.code() != tonic::Code::Unavailable
}

fn category(c: types::Category) -> OpCategory {
    match c {
        types::Category::Install => OpCategory::Install,
        types::Category::SampleApplication => OpCategory::SampleApplication,
        types::Category::Configure => OpCategory::Configure,
        types::Category::Validate => OpCategory::Validate,
        types::Category::Custom => OpCategory::Custom,
    }
}

impl Service {
    fn name(&self) -> String {
        self.adapter.info().name.clone()
    }

    fn versions(&self) -> Vec<String> {
        self.adapter.info().mesh_versions.clone()
    }

    fn supported_operations(&self) -> SupportedOperationsResponse {
        SupportedOperationsResponse {
            ops: self
                .adapter
                .info()
                .operations
                .iter()
                // Operations the operator did not grant are not offered at all.
                .filter(|o| self.adapter.grant.allows_operation(&o.key))
                .map(|o| SupportedOperation {
                    key: o.key.clone(),
                    value: o.description.clone(),
                    category: category(o.category) as i32,
                })
                .collect(),
            error: String::new(),
        }
    }

    fn component_info(&self) -> ComponentInfoResponse {
        let info = self.adapter.info();
        let (allowed, denied) = self.adapter.audit.counts(&self.adapter.name);
        ComponentInfoResponse {
            r#type: "adapter".into(),
            name: info.name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_sha: self.git_sha.into(),
            properties: [
                ("mesh".to_string(), info.mesh.clone()),
                ("plugin_version".to_string(), info.version.clone()),
                ("plugin_sha256".to_string(), self.adapter.plugin.sha256().to_string()),
                ("wit".to_string(), wasmesh_runtime::WIT_PACKAGE.to_string()),
                // Capability decisions about this plugin so far.
                ("capability_checks_allowed".to_string(), allowed.to_string()),
                ("capability_checks_denied".to_string(), denied.to_string()),
            ]
            .into_iter()
            .collect(),
        }
    }

    fn not_granted(&self, key: &str) -> Failure {
        self.adapter.metrics.capability_denied(OPERATION_RULE);
        self.adapter.not_granted(key)
    }

    /// Fails the request before any work: an ERROR event for the user, and the gRPC status.
    fn refuse(&self, operation_id: &str, f: Failure) -> Status {
        self.adapter.events.publish(Event::error(
            operation_id,
            &f.summary,
            &f.details,
            &f.code,
            &f.cause,
            &f.remediation,
        ));
        Status::invalid_argument(format!("{} ({}): {}", f.summary, f.code, f.remediation))
    }

    /// Refuses a request whose short fields are over [`MAX_FIELD_BYTES`], before any work; the
    /// values are not echoed (they are what is too long).
    fn check_fields(&self, operation_id: &str, fields: &[(&str, &str)]) -> Result<(), Status> {
        let over: Vec<String> = fields
            .iter()
            .filter(|(_, v)| v.len() > MAX_FIELD_BYTES)
            .map(|(name, v)| format!("{name} ({} bytes)", v.len()))
            .collect();
        if over.is_empty() {
            return Ok(());
        }
        Err(self.refuse(
            operation_id,
            Failure {
                summary: format!(
                    "the request is refused: {} over the limit of {MAX_FIELD_BYTES} bytes",
                    over.join(", ")
                ),
                details: String::new(),
                code: "WASMESH-HOST-1021".into(),
                cause:
                    "a request field is far longer than any Meshery server sends; the request is malformed or hostile"
                        .into(),
                remediation:
                    "send an operation id, operation name, namespace, username and version of at most 256 bytes each"
                        .into(),
            },
        ))
    }

    /// ApplyOperation; a refusal is counted under the operation's key when the plugin offers
    /// it (`unknown` otherwise: request text never becomes a metric label).
    async fn apply_operation(&self, req: ApplyRuleRequest) -> Result<ApplyRuleResponse, Status> {
        let key = if self.adapter.info().operations.iter().any(|o| o.key == req.op_name) {
            req.op_name.clone()
        } else {
            "unknown".to_string()
        };
        let answer = self.start_operation(req).await;
        if answer.as_ref().is_err_and(counts_as_refused) {
            self.adapter.metrics.operation(&key, Outcome::Refused);
        }
        answer
    }

    async fn start_operation(&self, req: ApplyRuleRequest) -> Result<ApplyRuleResponse, Status> {
        // An over-long id is not used even in the refusal's event.
        let operation_id = if req.operation_id.is_empty() || req.operation_id.len() > MAX_FIELD_BYTES {
            uuid::Uuid::new_v4().to_string()
        } else {
            req.operation_id.clone()
        };
        self.check_fields(
            &operation_id,
            &[
                ("operation_id", &req.operation_id),
                ("opName", &req.op_name),
                ("namespace", &req.namespace),
                ("username", &req.username),
                ("version", &req.version),
            ],
        )?;
        let info = self.adapter.info();
        if !info.operations.iter().any(|o| o.key == req.op_name) {
            let keys: Vec<&str> = info.operations.iter().map(|o| o.key.as_str()).collect();
            return Err(self.refuse(
                &operation_id,
                Failure {
                    summary: format!("unknown operation \"{}\" for the {} adapter", req.op_name, info.name),
                    details: format!("known operations: {}", keys.join(", ")),
                    code: "WASMESH-HOST-1005".into(),
                    cause: "the Meshery server and this adapter disagree on the operations offered".into(),
                    remediation: "refresh the adapter in Meshery so it reads SupportedOperations again, then pick a listed operation".into(),
                },
            ));
        }
        if !self.adapter.grant.allows_operation(&req.op_name) {
            return Err(self.refuse(&operation_id, self.not_granted(&req.op_name)));
        }
        if !req.namespace.is_empty() {
            if let Err(e) = wasmesh_cluster::check_namespace(&req.namespace) {
                return Err(self.refuse(
                    &operation_id,
                    Failure {
                        summary: format!("the request's namespace is not usable: {e}"),
                        details: String::new(),
                        code: "WASMESH-HOST-1007".into(),
                        cause: "the namespace field holds characters a Kubernetes namespace cannot have".into(),
                        remediation: "pick an existing namespace name (lower-case letters, digits and '-') in Meshery"
                            .into(),
                    },
                ));
            }
        }
        let limit = self.adapter.limits.max_body_bytes;
        if req.custom_body.len() > limit {
            return Err(self.refuse(
                &operation_id,
                Failure {
                    summary: format!(
                        "the custom body is {} bytes, over the limit of {limit} bytes",
                        req.custom_body.len()
                    ),
                    details: String::new(),
                    code: "WASMESH-HOST-1006".into(),
                    cause: "the request carries more YAML than one operation accepts".into(),
                    remediation: "split the manifests into several operations, or raise limits.max_body_bytes".into(),
                },
            ));
        }
        let permit = self.admit(&operation_id)?;
        let clusters = self
            .adapter
            .clusters_for(&req.kube_configs)
            .await
            .map_err(|f| self.refuse(&operation_id, f))?;
        let namespace = if req.namespace.is_empty() {
            "default".to_string()
        } else {
            req.namespace.clone()
        };
        let request = types::OperationRequest {
            key: req.op_name,
            namespace,
            version: req.version,
            custom_body: req.custom_body,
            delete: req.delete_op,
            operation_id: operation_id.clone(),
            username: req.username,
            cluster: types::ClusterInfo {
                name: String::new(),
                server: String::new(),
            },
        };
        // Meshery reads only the status; the outcome reaches it as events.
        let adapter = self.adapter.clone();
        let span = operation_span(&operation_id, &adapter.name, &request.key);
        let key = request.key.clone();
        let op = Tracked {
            operation_id: &operation_id,
            key: &key,
            events: &self.adapter.events,
            metrics: &self.adapter.metrics,
        };
        self.adapter
            .running
            .spawn(
                op,
                async move {
                    let results = adapter.run_operation(clusters, request).await;
                    drop(permit);
                    results.iter().all(Result::is_ok)
                }
                .instrument(span),
                |ok| *ok,
            )
            .map_err(|_| not_started(&operation_id))?;
        Ok(ApplyRuleResponse {
            error: String::new(),
            operation_id,
        })
    }

    async fn design(
        &self,
        username: String,
        delete: bool,
        components: Vec<String>,
        config: Option<String>,
        kubeconfigs: Vec<String>,
    ) -> Result<String, Status> {
        let operation_id = uuid::Uuid::new_v4().to_string();
        let span = operation_span(&operation_id, &self.adapter.name, crate::DESIGN_OPERATION);
        let task = self
            .start_design(username, delete, components, config, kubeconfigs, operation_id)
            .instrument(span)
            .await
            .inspect_err(|status| {
                if counts_as_refused(status) {
                    self.adapter
                        .metrics
                        .operation(crate::DESIGN_OPERATION, Outcome::Refused)
                }
            })?;
        let (lines, failed) = task.await.map_err(|_| {
            Status::unavailable(format!(
                "the adapter shut down before the design was carried out ({}); its events say what was done",
                crate::shutdown::CUT_OFF_CODE
            ))
        })?;
        // The lines carry plugin text (component names, error messages): bounded here.
        let lines: Vec<String> = lines
            .into_iter()
            .map(|l| crate::events::clip(l, MAX_DESIGN_LINE))
            .collect();
        let message = lines.join("\n");
        if failed {
            // Upstream adapters answer a failed deploy with an error; the lines still say what
            // was done.
            // A gRPC status travels in a header, percent-encoded: clients refuse header lists
            // over 16 KiB (hyper's default) with an h2 protocol error, so it is kept well under.
            return Err(Status::failed_precondition(crate::events::clip(
                message,
                MAX_STATUS_MESSAGE,
            )));
        }
        Ok(crate::events::clip(message, MAX_DESIGN_MESSAGE))
    }

    /// The checks of a design request, then its deploy as a task the shutdown tracks.
    async fn start_design(
        &self,
        username: String,
        delete: bool,
        components: Vec<String>,
        config: Option<String>,
        kubeconfigs: Vec<String>,
        operation_id: String,
    ) -> Result<tokio::task::JoinHandle<(Vec<String>, bool)>, Status> {
        self.check_fields(&operation_id, &[("username", &username)])?;
        if !self.adapter.grant.allows_operation(crate::DESIGN_OPERATION) {
            return Err(self.refuse(&operation_id, self.not_granted(crate::DESIGN_OPERATION)));
        }
        if components.len() > MAX_DESIGN_COMPONENTS {
            return Err(self.refuse(
                &operation_id,
                Failure {
                    summary: format!(
                        "the design has {} components, over the limit of {MAX_DESIGN_COMPONENTS}",
                        components.len()
                    ),
                    details: String::new(),
                    code: "WASMESH-HOST-1006".into(),
                    cause: "the design carries more components than one request accepts".into(),
                    remediation: "split the design into several deployments".into(),
                },
            ));
        }
        let size = components.iter().map(String::len).sum::<usize>() + config.as_ref().map_or(0, String::len);
        let limit = self.adapter.limits.max_body_bytes;
        if size > limit {
            return Err(self.refuse(
                &operation_id,
                Failure {
                    summary: format!("the design is {size} bytes, over the limit of {limit} bytes"),
                    details: String::new(),
                    code: "WASMESH-HOST-1006".into(),
                    cause: "the design carries more than one request accepts".into(),
                    remediation: "split the design, or raise limits.max_body_bytes".into(),
                },
            ));
        }
        let permit = self.admit(&operation_id)?;
        let clusters = self
            .adapter
            .clusters_for(&kubeconfigs)
            .await
            .map_err(|f| self.refuse(&operation_id, f))?;
        let request = types::DesignRequest {
            components,
            config,
            delete,
            operation_id,
            username,
            cluster: types::ClusterInfo {
                name: String::new(),
                server: String::new(),
            },
        };
        let adapter = self.adapter.clone();
        let operation_id = request.operation_id.clone();
        let op = Tracked {
            operation_id: &operation_id,
            key: crate::DESIGN_OPERATION,
            events: &self.adapter.events,
            metrics: &self.adapter.metrics,
        };
        let work = async move {
            let out = adapter.run_design(clusters, request).await;
            drop(permit);
            out
        };
        self.adapter
            .running
            .spawn(op, work.in_current_span(), |(_, failed)| !*failed)
            .map_err(|_| not_started(&operation_id))
    }

    /// A slot for one more operation, or a refusal when the adapter is at its limit.
    fn admit(&self, operation_id: &str) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        self.adapter.in_flight.clone().try_acquire_owned().map_err(|_| {
            let limit = self.adapter.limits.max_in_flight;
            self.refuse(
                operation_id,
                Failure {
                    summary: format!("the adapter is busy: {limit} operations are in flight"),
                    details: String::new(),
                    code: "WASMESH-HOST-1009".into(),
                    cause: "more operations were sent at once than limits.max_in_flight allows".into(),
                    remediation: "retry in a moment, or raise limits.max_in_flight".into(),
                },
            )
        })
    }

    fn stream_events(&self) -> Result<EventStream, Status> {
        let subscription = self.adapter.events.subscribe().map_err(|_| {
            Status::resource_exhausted(format!(
                "the {} adapter already has {} event subscribers, its limit (WASMESH-HOST-1020); \
                 existing subscriptions are kept; close unused StreamEvents streams, and let only the \
                 Meshery server reach this port",
                self.adapter.info().name,
                crate::events::MAX_SUBSCRIBERS
            ))
        })?;
        Ok(Box::pin(subscription.map(Ok)))
    }
}

#[tonic::async_trait]
impl MeshService for Service {
    async fn mesh_name(&self, _: Request<MeshNameRequest>) -> Result<Response<MeshNameResponse>, Status> {
        Ok(Response::new(MeshNameResponse { name: self.name() }))
    }

    async fn mesh_versions(&self, _: Request<MeshVersionsRequest>) -> Result<Response<MeshVersionsResponse>, Status> {
        Ok(Response::new(MeshVersionsResponse {
            version: self.versions(),
        }))
    }

    async fn apply_operation(&self, r: Request<ApplyRuleRequest>) -> Result<Response<ApplyRuleResponse>, Status> {
        Service::apply_operation(self, r.into_inner()).await.map(Response::new)
    }

    async fn supported_operations(
        &self,
        _: Request<SupportedOperationsRequest>,
    ) -> Result<Response<SupportedOperationsResponse>, Status> {
        Ok(Response::new(self.supported_operations()))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(&self, _: Request<EventsRequest>) -> Result<Response<EventStream>, Status> {
        Service::stream_events(self).map(Response::new)
    }

    async fn process_oam(&self, r: Request<ProcessOamRequest>) -> Result<Response<ProcessOamResponse>, Status> {
        let r = r.into_inner();
        let config = Some(r.oam_config).filter(|c| !c.is_empty());
        let message = self
            .design(r.username, r.delete_op, r.oam_comps, config, r.kube_configs)
            .await?;
        Ok(Response::new(ProcessOamResponse { message }))
    }

    async fn provision(&self, r: Request<ProvisionRequest>) -> Result<Response<ProvisionResponse>, Status> {
        let r = r.into_inner();
        let message = self
            .design(r.username, r.delete_op, r.declarations, None, r.kube_configs)
            .await?;
        Ok(Response::new(ProvisionResponse { message }))
    }

    async fn component_info(
        &self,
        _: Request<ComponentInfoRequest>,
    ) -> Result<Response<ComponentInfoResponse>, Status> {
        Ok(Response::new(self.component_info()))
    }
}

#[tonic::async_trait]
impl AdapterService for Service {
    async fn adapter_name(&self, _: Request<AdapterNameRequest>) -> Result<Response<AdapterNameResponse>, Status> {
        Ok(Response::new(AdapterNameResponse { name: self.name() }))
    }

    async fn adapter_versions(
        &self,
        _: Request<AdapterVersionsRequest>,
    ) -> Result<Response<AdapterVersionsResponse>, Status> {
        Ok(Response::new(AdapterVersionsResponse {
            version: self.versions(),
        }))
    }

    async fn apply_operation(&self, r: Request<ApplyRuleRequest>) -> Result<Response<ApplyRuleResponse>, Status> {
        Service::apply_operation(self, r.into_inner()).await.map(Response::new)
    }

    async fn supported_operations(
        &self,
        _: Request<SupportedOperationsRequest>,
    ) -> Result<Response<SupportedOperationsResponse>, Status> {
        Ok(Response::new(self.supported_operations()))
    }

    type StreamEventsStream = EventStream;

    async fn stream_events(&self, _: Request<EventsRequest>) -> Result<Response<EventStream>, Status> {
        Service::stream_events(self).map(Response::new)
    }

    async fn provision(&self, r: Request<ProvisionRequest>) -> Result<Response<ProvisionResponse>, Status> {
        let r = r.into_inner();
        let message = self
            .design(r.username, r.delete_op, r.declarations, None, r.kube_configs)
            .await?;
        Ok(Response::new(ProvisionResponse { message }))
    }

    async fn component_info(
        &self,
        _: Request<ComponentInfoRequest>,
    ) -> Result<Response<ComponentInfoResponse>, Status> {
        Ok(Response::new(self.component_info()))
    }
}

/// The span every log line of one operation or design carries.
fn operation_span(operation_id: &str, plugin: &str, key: &str) -> tracing::Span {
    tracing::info_span!(
        "operation",
        operation_id = %crate::logging::id_field(operation_id),
        plugin = %plugin,
        key = %key
    )
}
