//! What a plugin may do on a cluster, in one place: the rules its manifest declares per
//! operation ([`rules`]), the operator's grant over them, the check every cluster read and every
//! plan step goes through ([`check`], [`escalation`] for RBAC objects), the audit trail of each
//! decision ([`audit`]), what a grant amounts to ([`equivalence`]) and the Kubernetes RBAC that
//! makes the API server enforce it a second time ([`rbac`]).

pub mod audit;
pub mod check;
pub mod equivalence;
mod errors;
pub mod escalation;
pub mod rbac;
pub mod rules;

pub use audit::{AuditLog, Context};
pub use check::{Call, Review, StepCheck, Unresolved};
pub use errors::{CAP_DENIED, CODES, Error, Refusal, Result};
pub use rules::{Action, DESIGN_OPERATION, Declared, Grant, MetadataKind, describe_rule, how_to_grant, rule};
/// The rule types, so callers can build grants without depending on the runtime crate.
pub use wasmesh_runtime::types::{KubeRule, NamespaceScope};
