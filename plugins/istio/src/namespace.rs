//! `label-namespace`: put the request's namespace into the mesh.
//!
//! - With the installed profile `ambient` (read with [`crate::installed::control_plane`]): the
//!   label `istio.io/dataplane-mode=ambient`, and `istio-injection` is removed so the namespace is
//!   in one mode only (sidecar injection would take precedence over ambient).
//! - Otherwise, also when Istio is not installed (yet): `istio-injection=enabled`, upstream's
//!   sidecar label, set without further checks (pods created before istiod runs are simply not
//!   injected), and `istio.io/dataplane-mode` is removed.
//! - The namespace is created when missing.
//! - `delete_op` removes both labels; the namespace itself stays.

use wasmesh_sdk::plan::{self, namespace_change, stage};
use wasmesh_sdk::{Error, OperationRequest, Plan, Step};

use crate::installed;

pub const INJECTION_LABEL: &str = "istio-injection";
pub const DATAPLANE_LABEL: &str = "istio.io/dataplane-mode";

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    let ambient = if request.delete {
        false
    } else {
        installed::control_plane()?.is_some_and(|cp| cp.profile == "ambient")
    };
    Ok(build(&request.namespace, request.delete, ambient))
}

/// The plan once the mode is known.
pub fn build(ns: &str, delete: bool, ambient: bool) -> Plan {
    let mut change = namespace_change(ns, !delete);
    let summary = if delete {
        change.remove_labels = vec![INJECTION_LABEL.into(), DATAPLANE_LABEL.into()];
        format!("Istio sidecar injection and ambient mode labels removed from namespace {ns}")
    } else if ambient {
        change.set_labels.push((DATAPLANE_LABEL.into(), "ambient".into()));
        change.remove_labels.push(INJECTION_LABEL.into());
        format!("Istio ambient mode enabled on namespace {ns}")
    } else {
        change.set_labels.push((INJECTION_LABEL.into(), "enabled".into()));
        change.remove_labels.push(DATAPLANE_LABEL.into());
        format!("Istio sidecar injection enabled on namespace {ns}")
    };
    plan::plan(summary, vec![stage("namespace", vec![Step::NamespaceMetadata(change)])])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(p: &Plan) -> &wasmesh_sdk::NamespaceChange {
        match &p.stages[0].steps[0] {
            Step::NamespaceMetadata(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sidecar_ambient_and_undo() {
        let p = build("shop", false, false);
        let c = change(&p);
        assert!(c.create);
        assert_eq!(c.set_labels, [(INJECTION_LABEL.to_string(), "enabled".to_string())]);
        assert_eq!(c.remove_labels, [DATAPLANE_LABEL]);

        let p = build("shop", false, true);
        let c = change(&p);
        assert_eq!(c.set_labels, [(DATAPLANE_LABEL.to_string(), "ambient".to_string())]);
        assert_eq!(c.remove_labels, [INJECTION_LABEL]);
        assert!(p.summary.contains("ambient"));

        let p = build("shop", true, false);
        let c = change(&p);
        assert!(!c.create, "undoing never creates the namespace");
        assert!(c.set_labels.is_empty());
        assert_eq!(c.remove_labels, [INJECTION_LABEL, DATAPLANE_LABEL]);
    }
}
