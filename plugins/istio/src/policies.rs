//! Namespace-wide security policies: `strict-mtls-policy-operation` (mTLS STRICT),
//! `mutual-mtls-policy-operation` (PERMISSIVE), `disable-mtls-policy-operation` (DISABLE) and
//! `deny-all-policy-operation` (an AuthorizationPolicy with an empty spec, which denies every
//! request to the namespace's workloads).
//!
//! The three mTLS operations share one object: the namespace-wide PeerAuthentication named
//! `default` (no selector), so switching modes replaces the mode instead of stacking policies
//! whose precedence a reader would have to work out. Undoing an mTLS operation removes that
//! object only when it still carries the operation's own mode: undoing "strict" after "mutual"
//! has replaced it leaves the PERMISSIVE policy in place and says so.
//!
//! Both kinds are served as `security.istio.io/v1` since Istio 1.22; older releases get
//! `v1beta1`. Applying needs an installed control plane (its CRDs define the kinds); undoing
//! works without one (nothing of an unserved kind can exist).

use serde_json::{Value, json};
use wasmesh_sdk::plan::{apply, object_ref, plan as make_plan, stage};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, Step, progress};

use crate::errors::IstioError;
use crate::installed;

/// Name of the namespace-wide PeerAuthentication the mTLS operations share.
pub const PEER_AUTHENTICATION_NAME: &str = "default";
/// Name of the deny-all AuthorizationPolicy.
pub const DENY_ALL_NAME: &str = "deny-all";
/// Label on every object these operations write.
const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "wasmesh");

/// What one operation key means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Mtls(Mode),
    DenyAll,
}

/// A PeerAuthentication mTLS mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Strict,
    Permissive,
    Disable,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Strict => "STRICT",
            Mode::Permissive => "PERMISSIVE",
            Mode::Disable => "DISABLE",
        }
    }
}

impl Policy {
    fn kind(self) -> &'static str {
        match self {
            Policy::Mtls(_) => "PeerAuthentication",
            Policy::DenyAll => "AuthorizationPolicy",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Policy::Mtls(_) => PEER_AUTHENTICATION_NAME,
            Policy::DenyAll => DENY_ALL_NAME,
        }
    }

    fn describe(self) -> String {
        match self {
            Policy::Mtls(mode) => format!("mTLS {} policy", mode.as_str()),
            Policy::DenyAll => "deny-all policy".to_string(),
        }
    }
}

pub fn plan(policy: Policy, request: &OperationRequest) -> Result<Plan, Error> {
    let namespace = request.namespace.trim();
    if namespace.is_empty() {
        return Err(IstioError::PolicyNamespace {
            policy: policy.describe(),
        }
        .into());
    }
    let installed = installed::control_plane()?;
    if request.delete {
        let api_version = security_api_version(installed.as_ref().map(|c| c.version.as_str()));
        return undo(policy, namespace, &api_version);
    }
    let Some(control_plane) = installed else {
        return Err(not_installed(policy));
    };
    let api_version = security_api_version(Some(&control_plane.version));
    let object = policy_object(policy, namespace, &api_version);
    let summary = match policy {
        Policy::Mtls(mode) => {
            format!(
                "mTLS set to {} in namespace {namespace} (PeerAuthentication \"default\")",
                mode.as_str()
            )
        }
        Policy::DenyAll => {
            format!("Deny-all AuthorizationPolicy applied in namespace {namespace}: every request is refused")
        }
    };
    Ok(make_plan(summary, vec![stage("policy", vec![apply(&object)])]))
}

fn undo(policy: Policy, namespace: &str, api_version: &str) -> Result<Plan, Error> {
    let object = policy_object(policy, namespace, api_version);
    if let Policy::Mtls(mode) = policy {
        let current = wasmesh_sdk::cluster::get(api_version, policy.kind(), Some(namespace), policy.name())?;
        if let Some(found) = current.as_ref().and_then(current_mode).filter(|m| *m != mode.as_str()) {
            let summary = format!(
                "mTLS {} policy left in place in namespace {namespace}: the namespace's PeerAuthentication \
                 \"default\" now says {found}, set by another operation; undo that operation instead",
                mode.as_str()
            );
            progress::report(
                Level::Warn,
                &summary,
                "undo the operation that set the current mode instead (each mTLS operation replaces the same object)",
            );
            return Ok(make_plan(summary, Vec::new()));
        }
    }
    Ok(make_plan(
        format!("{} removed from namespace {namespace}", capitalised(&policy.describe())),
        vec![stage("policy", vec![Step::Delete(object_ref(&object))])],
    ))
}

/// The mode a PeerAuthentication found in the cluster sets, if any.
fn current_mode(object: &Value) -> Option<&str> {
    object.pointer("/spec/mtls/mode").and_then(Value::as_str)
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `security.istio.io/v1` from Istio 1.22 on (and when the release is unknown), `v1beta1` before.
pub fn security_api_version(version: Option<&str>) -> String {
    match version.and_then(minor_version) {
        Some((1, minor)) if minor < 22 => "security.istio.io/v1beta1".into(),
        Some((0, _)) => "security.istio.io/v1beta1".into(),
        _ => "security.istio.io/v1".into(),
    }
}

/// (major, minor) of a release such as "1.27.3" or "v1.22.0-beta.1".
pub fn minor_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
    Some((major, minor.parse().ok()?))
}

/// The object one policy operation writes.
pub fn policy_object(policy: Policy, namespace: &str, api_version: &str) -> Value {
    let metadata = json!({
        "name": policy.name(),
        "namespace": namespace,
        "labels": {MANAGED_BY.0: MANAGED_BY.1},
    });
    let spec = match policy {
        Policy::Mtls(mode) => json!({"mtls": {"mode": mode.as_str()}}),
        // An AuthorizationPolicy with an empty spec matches every workload and allows nothing.
        Policy::DenyAll => json!({}),
    };
    json!({
        "apiVersion": api_version,
        "kind": policy.kind(),
        "metadata": metadata,
        "spec": spec,
    })
}

fn not_installed(policy: Policy) -> Error {
    IstioError::PolicyWithoutMesh {
        policy: policy.describe(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_has_its_object() {
        let policies = [
            (Policy::Mtls(Mode::Strict), "PeerAuthentication", Some("STRICT")),
            (Policy::Mtls(Mode::Permissive), "PeerAuthentication", Some("PERMISSIVE")),
            (Policy::Mtls(Mode::Disable), "PeerAuthentication", Some("DISABLE")),
            (Policy::DenyAll, "AuthorizationPolicy", None),
        ];
        for (p, kind, mode) in policies {
            let o = policy_object(p, "shop", "security.istio.io/v1");
            assert_eq!(o["kind"], kind, "{p:?}");
            assert_eq!(o["metadata"]["namespace"], "shop");
            assert_eq!(current_mode(&o), mode, "{p:?}");
        }
    }

    #[test]
    fn mtls_operations_share_one_object_and_deny_all_is_empty() {
        let names: Vec<_> = [Mode::Strict, Mode::Permissive, Mode::Disable]
            .into_iter()
            .map(|m| policy_object(Policy::Mtls(m), "ns", "v")["metadata"]["name"].clone())
            .collect();
        assert!(names.iter().all(|n| n == "default"), "{names:?}");
        let deny = policy_object(Policy::DenyAll, "ns", "v");
        assert_eq!(deny["metadata"]["name"], "deny-all");
        assert_eq!(deny["spec"], json!({}), "an empty spec is what denies everything");
    }

    #[test]
    fn api_version_follows_the_release() {
        assert_eq!(security_api_version(Some("1.27.3")), "security.istio.io/v1");
        assert_eq!(security_api_version(Some("1.22.0")), "security.istio.io/v1");
        assert_eq!(security_api_version(Some("1.21.6")), "security.istio.io/v1beta1");
        assert_eq!(
            security_api_version(Some("v1.20.0-beta.1")),
            "security.istio.io/v1beta1"
        );
        assert_eq!(security_api_version(Some("garbage")), "security.istio.io/v1");
        assert_eq!(security_api_version(None), "security.istio.io/v1");
        assert_eq!(minor_version("1.27.3"), Some((1, 27)));
        assert_eq!(minor_version("1.28-alpha"), Some((1, 28)));
        assert_eq!(minor_version("x"), None);
    }
}
