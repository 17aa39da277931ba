//! Carries out plans on Kubernetes clusters with kube-rs.
//!
//! A [`Cluster`] is made from a kubeconfig received in a request (kept in memory only, cached by
//! the hash of its content in a [`ClusterPool`]). [`Cluster::execute`] runs a [`Plan`] stage by
//! stage, the steps of a stage in parallel, writing with server-side apply under one field
//! manager.

mod client;
mod errors;
mod execute;
mod names;
mod plan;
mod read;
mod resolve;

pub use client::{AllowedServer, Cluster, ClusterPool, Impersonation, ServerPolicy};
pub use errors::{Error, Result};
pub use execute::{Execution, Progress, StepOutcome, StepReport};
pub use names::{check_name, check_namespace};
pub use plan::{Condition, NamespaceChange, ObjectRef, Plan, Stage, Step, WaitFor};
pub use resolve::Resolved;

/// The field manager of every server-side apply wasmesh makes.
pub const FIELD_MANAGER: &str = "wasmesh";
