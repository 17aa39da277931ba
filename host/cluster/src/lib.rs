//! Carries out plans on Kubernetes clusters with kube-rs.
//!
//! A [`Cluster`] is made from a kubeconfig received in a request (kept in memory only, cached by
//! the hash of its content in a [`ClusterPool`]). [`Cluster::execute`] runs a [`Plan`] stage by
//! stage, the steps of a stage in parallel, writing with server-side apply under the plugin's
//! own field manager.

mod bound;
mod client;
mod errors;
mod execute;
mod names;
mod plan;
mod read;
mod resolve;
mod retry;
mod watch;

pub use bound::MAX_ANSWER_BYTES;
pub use client::{AllowedServer, Cluster, ClusterPool, Impersonation, ServerPolicy};
pub use errors::{CODES, Error, FIELDS_TAKEN_OVER_CODE, NOT_READY_CODE, Result};
pub use execute::{Execution, Options, Progress, StepOutcome, StepReport};
/// What a watch and an apply answer with, for callers that read managedFields (drift detection).
pub use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
pub use kube::api::DynamicObject;
pub use names::{check_group, check_name, check_namespace, check_type, is_dns_label, is_dns_subdomain};
pub use plan::{Condition, NamespaceChange, ObjectRef, Plan, Stage, Step, WaitFor};
pub use resolve::Resolved;
pub use retry::{RETRY_POLICY, Retries, RetryPolicy};
pub use watch::Change;

/// The prefix of every field manager wasmesh applies with: `wasmesh-<plugin>`. Fields held by
/// another manager with this prefix belong to another plugin and are never taken over.
pub const FIELD_MANAGER_PREFIX: &str = "wasmesh-";

/// The field manager of one plugin's applies.
pub fn field_manager(plugin: &str) -> String {
    format!("{FIELD_MANAGER_PREFIX}{plugin}")
}
