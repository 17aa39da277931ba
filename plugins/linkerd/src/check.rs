//! `linkerd-check`: the health of a Linkerd installation, judged from cluster reads only, in the
//! spirit of `linkerd check` (no upstream Meshery adapter has it).
//!
//! Checks, each reported as one event while the operation runs (INFO when it passes, WARN or
//! ERROR with a code, a cause and a remediation otherwise):
//! - the control plane is installed (`linkerd-config`), else one ERROR and nothing more;
//! - the CRDs of the installed release (the install module's own lists for that release) exist and
//!   are Established: Linkerd's, then the Gateway API CRDs the policy controller reads (whether
//!   Linkerd installed them or another project did);
//! - the control-plane Deployments are Available;
//! - each admission webhook has a caBundle that the serving certificate in its secret chains to,
//!   and that certificate is valid for more than 30 days;
//! - the trust anchors (`linkerd-identity-trust-roots`) parse, are CAs and are valid for more
//!   than 30 days;
//! - the issuer (`linkerd-identity-issuer`) parses, has its key in a form Linkerd reads, is
//!   signed by one of the trust anchors and is valid for more than 30 days;
//! - every namespace annotated `linkerd.io/inject: enabled` (or `ingress`) has the proxy in
//!   each of its running pods.
//!
//! The plan is empty: nothing is written. The plan's summary is
//! "linkerd-check: N passed, M warnings, K failed". When a check fails the operation fails too
//! (an error with that summary), so the final event Meshery shows is an ERROR that says how many
//! checks failed; warnings alone leave it an INFO. Like `linkerd check`'s exit status, a failed
//! check is a failed operation, and a green final event never hides a red finding.
//!
//! Codes: WASMESH-LINKERD-1400..1499, the `Check*` variants of [`LinkerdError`] (1499 is the
//! failed summary).

use serde_json::Value;
use wasmesh_sdk::checks::{Finding, Tally};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, cluster};
use x509_cert::Certificate;

use crate::errors::LinkerdError;
use crate::identity::{self, Signature};
use crate::installed::{self, CONTROL_PLANE_NAMESPACE as NS};

/// The CRDs the install of the installed release writes, from the install module's own lists
/// (so the two cannot drift): (Linkerd's own, the Gateway API CRDs the policy controller reads).
/// For a release this adapter does not install (e.g. an upstream install of another version),
/// the CRDs that every release it knows installs.
pub fn expected_crds(version: &str) -> (Vec<String>, Vec<String>) {
    if let Some(lists) = crate::install::crd_names(version) {
        return lists;
    }
    let known: Vec<(Vec<String>, Vec<String>)> = crate::install::versions()
        .iter()
        .filter_map(|v| crate::install::crd_names(v))
        .collect();
    let common = |list: fn(&(Vec<String>, Vec<String>)) -> &Vec<String>| -> Vec<String> {
        known.first().map_or_else(Vec::new, |first| {
            list(first)
                .iter()
                .filter(|n| known.iter().all(|k| list(k).contains(n)))
                .cloned()
                .collect()
        })
    };
    (common(|k| &k.0), common(|k| &k.1))
}

/// The control-plane Deployments in the `linkerd` namespace.
pub const DEPLOYMENTS: [&str; 3] = ["linkerd-identity", "linkerd-destination", "linkerd-proxy-injector"];

/// Admission webhooks: (kind, configuration name, serving secret name).
pub const WEBHOOKS: [(&str, &str, &str); 3] = [
    (
        "MutatingWebhookConfiguration",
        "linkerd-proxy-injector-webhook-config",
        "linkerd-proxy-injector-k8s-tls",
    ),
    (
        "ValidatingWebhookConfiguration",
        "linkerd-sp-validator-webhook-config",
        "linkerd-sp-validator-k8s-tls",
    ),
    (
        "ValidatingWebhookConfiguration",
        "linkerd-policy-validator-webhook-config",
        "linkerd-policy-validator-k8s-tls",
    ),
];

pub const TRUST_ROOTS: &str = "linkerd-identity-trust-roots";
pub const TRUST_ROOTS_KEY: &str = "ca-bundle.crt";
pub const ISSUER_SECRET: &str = "linkerd-identity-issuer";

/// A certificate ending sooner than this is a warning.
pub const EXPIRY_WARNING_SECONDS: u64 = 30 * 24 * 60 * 60;

const INJECT_ANNOTATION: &str = "linkerd.io/inject";
const PROXY_CONTAINER: &str = "linkerd-proxy";
/// Pods named in one finding, at most.
const MAX_PODS_NAMED: usize = 10;

/// A failed check: an ERROR finding.
fn fail(e: LinkerdError) -> Finding {
    Finding::problem(Level::Error, e)
}

/// A check that passed with a warning: a WARN finding.
fn warn(e: LinkerdError) -> Finding {
    Finding::problem(Level::Warn, e)
}

/// The request's namespace plays no part: the checks cover the control plane and every
/// namespace annotated for injection.
pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    if request.delete {
        return Ok(wasmesh_sdk::ops::nothing_to_undo(&request.key));
    }
    let now = now_unix();
    let mut tally = Tally::default();
    let mut failed_checks = Vec::new();
    let mut emit = |f: Finding, name: &str| {
        tally.add(&f);
        if f.level == Level::Error {
            failed_checks.push(name.to_string());
        }
        f.report();
    };

    match installed::control_plane() {
        Err(e) => emit(
            Finding::unreadable("the Linkerd control plane could not be read", e),
            "control plane",
        ),
        Ok(None) => emit(not_installed(), "control plane"),
        Ok(Some(cp)) => {
            emit(
                Finding::pass(
                    format!("Linkerd control plane {} is installed", cp.version),
                    format!("ConfigMap {NS}/linkerd-config"),
                ),
                "control plane",
            );
            run_checks(&cp.version, now, &mut emit);
        }
    }

    let summary = tally.checks("linkerd-check");
    if tally.failed == 0 {
        return Ok(wasmesh_sdk::plan::plan(summary, Vec::new()));
    }
    Err(LinkerdError::CheckFailed {
        summary,
        failed: failed_checks.join(", "),
    }
    .into())
}

fn run_checks(version: &str, now: u64, emit: &mut impl FnMut(Finding, &str)) {
    // CRDs: Linkerd's, then the Gateway API's.
    let (linkerd_crds, gateway_crds) = expected_crds(version);
    for (names, set, what) in [
        (&linkerd_crds, CrdSet::Linkerd, "CRDs"),
        (&gateway_crds, CrdSet::GatewayApi, "Gateway API CRDs"),
    ] {
        if names.is_empty() {
            continue;
        }
        let read: Result<Vec<(&str, Option<Value>)>, Error> = names
            .iter()
            .map(|name| {
                cluster::get("apiextensions.k8s.io/v1", "CustomResourceDefinition", None, name)
                    .map(|obj| (name.as_str(), obj))
            })
            .collect();
        match read {
            Ok(crds) => emit(crd_check(set, &crds), what),
            Err(e) => emit(
                Finding::unreadable(&format!("the {} could not be read", set.title()), e),
                what,
            ),
        }
    }

    // Control-plane deployments.
    for name in DEPLOYMENTS {
        let f = match cluster::get("apps/v1", "Deployment", Some(NS), name) {
            Ok(obj) => deployment_check(name, obj.as_ref()),
            Err(e) => Finding::unreadable(&format!("Deployment {NS}/{name} could not be read"), e),
        };
        emit(f, name);
    }

    // Webhooks.
    for (kind, name, secret_name) in WEBHOOKS {
        let config = cluster::get("admissionregistration.k8s.io/v1", kind, None, name);
        let secret = cluster::get("v1", "Secret", Some(NS), secret_name);
        let f = match (config, secret) {
            (Ok(config), Ok(secret)) => webhook_check(kind, name, config.as_ref(), secret_name, secret.as_ref(), now),
            (Err(e), _) => Finding::unreadable(&format!("{kind} {name} could not be read"), e),
            (_, Err(e)) => Finding::unreadable(&format!("Secret {NS}/{secret_name} could not be read"), e),
        };
        emit(f, name);
    }

    // Identity: trust anchors, then the issuer against them.
    let anchors = match cluster::get("v1", "ConfigMap", Some(NS), TRUST_ROOTS) {
        Ok(cm) => {
            let (f, anchors) = trust_roots_check(cm.as_ref(), now);
            emit(f, "trust anchors");
            anchors
        }
        Err(e) => {
            emit(
                Finding::unreadable(&format!("ConfigMap {NS}/{TRUST_ROOTS} could not be read"), e),
                "trust anchors",
            );
            Vec::new()
        }
    };
    let f = match cluster::get("v1", "Secret", Some(NS), ISSUER_SECRET) {
        Ok(secret) => issuer_check(secret.as_ref(), &anchors, now),
        Err(e) => Finding::unreadable(&format!("Secret {NS}/{ISSUER_SECRET} could not be read"), e),
    };
    emit(f, "identity issuer");

    // Data plane.
    let namespaces = match cluster::list("v1", "Namespace", None, "") {
        Ok(list) => list,
        Err(e) => {
            emit(
                Finding::unreadable("the namespaces could not be listed", e),
                "data plane",
            );
            return;
        }
    };
    let meshed: Vec<&Value> = namespaces.iter().filter(|ns| is_meshed_namespace(ns)).collect();
    if meshed.is_empty() {
        emit(
            Finding::pass(
                "Data plane: no namespace is annotated for proxy injection",
                "no namespace has the annotation linkerd.io/inject: enabled; run annotate-namespace to mesh one",
            ),
            "data plane",
        );
    }
    for ns in meshed {
        let name = str_at(ns, "/metadata/name");
        let f = match cluster::list("v1", "Pod", Some(name), "") {
            Ok(pods) => namespace_check(name, &pods),
            Err(e) => Finding::unreadable(&format!("the pods of namespace {name} could not be listed"), e),
        };
        emit(f, &format!("namespace {name}"));
    }
}

fn not_installed() -> Finding {
    fail(LinkerdError::CheckNotInstalled)
}

/// Which CRDs a [`crd_check`] judges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrdSet {
    /// Linkerd's own (linkerd.io, policy.linkerd.io, workload.linkerd.io).
    Linkerd,
    /// The Gateway API CRDs the policy controller reads; Linkerd's install adds those missing
    /// and keeps those another project installed.
    GatewayApi,
}

impl CrdSet {
    fn title(self) -> &'static str {
        match self {
            CrdSet::Linkerd => "Linkerd CRDs",
            CrdSet::GatewayApi => "Gateway API CRDs",
        }
    }

    /// The finding for CRDs missing (and perhaps not established: said after them).
    fn missing(self, missing: String) -> LinkerdError {
        match self {
            CrdSet::Linkerd => LinkerdError::CheckCrdsMissing { missing },
            CrdSet::GatewayApi => LinkerdError::CheckGatewayCrdsMissing { missing },
        }
    }

    /// The finding for CRDs that all exist, some not established.
    fn pending(self, names: String) -> LinkerdError {
        match self {
            CrdSet::Linkerd => LinkerdError::CheckCrdsNotEstablished { names },
            CrdSet::GatewayApi => LinkerdError::CheckGatewayCrdsNotEstablished { names },
        }
    }
}

/// The CRDs of one set exist and are Established.
pub fn crd_check(set: CrdSet, crds: &[(&str, Option<Value>)]) -> Finding {
    let missing: Vec<&str> = crds.iter().filter(|(_, o)| o.is_none()).map(|(n, _)| *n).collect();
    let not_established: Vec<&str> = crds
        .iter()
        .filter(|(_, o)| o.as_ref().is_some_and(|o| !condition_true(o, "Established")))
        .map(|(n, _)| *n)
        .collect();
    let title = set.title();
    if !missing.is_empty() {
        let mut listed = missing.join(", ");
        if !not_established.is_empty() {
            listed += &format!("; not established: {}", not_established.join(", "));
        }
        return fail(set.missing(listed));
    }
    if !not_established.is_empty() {
        return fail(set.pending(not_established.join(", ")));
    }
    let details = crds
        .iter()
        .map(|(n, o)| match (set, o) {
            (CrdSet::GatewayApi, Some(o)) if !is_linkerds(o) => format!("{n} (installed by another project)"),
            (CrdSet::GatewayApi, _) => format!("{n} (installed by Linkerd)"),
            _ => n.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    Finding::pass(format!("{title}: all {} present and established", crds.len()), details)
}

/// Labelled as installed by the Linkerd control plane in namespace linkerd.
fn is_linkerds(obj: &Value) -> bool {
    obj.pointer("/metadata/labels/linkerd.io~1control-plane-ns")
        .and_then(Value::as_str)
        == Some(NS)
}

pub fn deployment_check(name: &str, deployment: Option<&Value>) -> Finding {
    let Some(d) = deployment else {
        return fail(LinkerdError::CheckDeploymentMissing { name: name.into() });
    };
    let replicas = d.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1);
    let available = d
        .pointer("/status/availableReplicas")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    if !condition_true(d, "Available") {
        return fail(LinkerdError::CheckDeploymentUnavailable {
            name: name.into(),
            available,
            replicas,
        });
    }
    Finding::pass(
        format!("control-plane Deployment {name} is available"),
        format!("{available}/{replicas} replicas available"),
    )
}

pub fn webhook_check(
    kind: &str,
    name: &str,
    config: Option<&Value>,
    secret_name: &str,
    secret: Option<&Value>,
    now: u64,
) -> Finding {
    let Some(config) = config else {
        return fail(LinkerdError::CheckWebhookConfig {
            kind: kind.into(),
            name: name.into(),
            problem: "is missing",
        });
    };
    let secret_problem = |problem: String| {
        fail(LinkerdError::CheckServingSecret {
            secret: secret_name.into(),
            name: name.into(),
            problem,
        })
    };
    let serving = match secret.map(|s| secret_text(s, &["tls.crt"])) {
        None => return secret_problem("is missing".into()),
        Some(Err(e)) => return secret_problem(format!("is unusable: {e}")),
        Some(Ok((_, pem))) => match identity::certificates(&pem) {
            Ok(certs) => certs.into_iter().next().expect("at least one certificate"),
            Err(e) => return secret_problem(format!("holds a tls.crt that cannot be read: {e}")),
        },
    };
    let webhooks = config
        .get("webhooks")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if webhooks.is_empty() {
        return fail(LinkerdError::CheckWebhookConfig {
            kind: kind.into(),
            name: name.into(),
            problem: "has no webhooks",
        });
    }
    let ca_bundle = |hook: &str, problem: String| {
        fail(LinkerdError::CheckCaBundle {
            hook: hook.into(),
            kind: kind.into(),
            name: name.into(),
            problem,
        })
    };
    let mut unverified = None;
    for hook in &webhooks {
        let hook_name = str_at(hook, "/name");
        let bundle = hook
            .pointer("/clientConfig/caBundle")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if bundle.is_empty() {
            return ca_bundle(hook_name, "has no caBundle".into());
        }
        let cas = identity::base64_decode(bundle)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| "not base64 of PEM text".to_string())
            .and_then(|pem| identity::certificates(&pem));
        let cas = match cas {
            Ok(cas) => cas,
            Err(e) => {
                return ca_bundle(hook_name, format!("has a caBundle that cannot be read: {e}"));
            }
        };
        match chain_to(&serving, &cas) {
            Chain::Signed(_) => {}
            Chain::NameOnly(ca, why) => unverified = Some((hook_name.to_string(), ca, why)),
            Chain::None => {
                return fail(LinkerdError::CheckCaBundleMismatch {
                    hook: hook_name.into(),
                    kind: kind.into(),
                    name: name.into(),
                    secret: secret_name.into(),
                    serving: identity::common_name(&serving),
                    issuer: identity::issuer_name(&serving),
                });
            }
        }
    }
    let (start, end) = identity::validity_unix(&serving);
    if now < start || now >= end {
        return fail(LinkerdError::CheckServingCertNotValid {
            name: name.into(),
            secret: secret_name.into(),
            start: identity::format_unix(start),
            end: identity::format_unix(end),
        });
    }
    if end - now < EXPIRY_WARNING_SECONDS {
        return warn(LinkerdError::CheckServingCertExpiring {
            name: name.into(),
            secret: secret_name.into(),
            end: identity::format_unix(end),
        });
    }
    if let Some((hook, ca, why)) = unverified {
        return warn(LinkerdError::CheckSignatureUnchecked {
            what: format!("webhook {hook} of {name}: the caBundle names the serving certificate's issuer ({ca})"),
            why,
            files: "<caBundle> <tls.crt>",
        });
    }
    Finding::pass(
        format!("{kind} {name}: caBundle matches its serving certificate"),
        format!(
            "serving certificate {} in {NS}/{secret_name}, valid until {}",
            identity::common_name(&serving),
            identity::format_unix(end)
        ),
    )
}

/// How a certificate relates to a set of CA certificates.
enum Chain {
    /// One of them is the certificate itself or verifiably signed it (its common name).
    Signed(String),
    /// One of them has the issuer's name, but the signature algorithm cannot be checked here.
    NameOnly(String, String),
    None,
}

fn chain_to(cert: &Certificate, cas: &[Certificate]) -> Chain {
    let cert_der = identity::der(cert);
    let mut name_only = None;
    for ca in cas {
        if identity::der(ca) == cert_der {
            return Chain::Signed(identity::common_name(ca));
        }
        if ca.tbs_certificate.subject != cert.tbs_certificate.issuer {
            continue;
        }
        match identity::verify_signed_by(cert, ca) {
            Signature::Valid => return Chain::Signed(identity::common_name(ca)),
            Signature::Invalid => {}
            Signature::Unsupported(why) => name_only = Some((identity::common_name(ca), why)),
        }
    }
    match name_only {
        Some((ca, why)) => Chain::NameOnly(ca, why),
        None => Chain::None,
    }
}

/// The trust anchors check, and the anchors found (for the issuer check).
pub fn trust_roots_check(cm: Option<&Value>, now: u64) -> (Finding, Vec<Certificate>) {
    let Some(cm) = cm else {
        let f = fail(LinkerdError::CheckTrustRootsMissing);
        return (f, Vec::new());
    };
    let pem = cm
        .get("data")
        .and_then(|d| d.get(TRUST_ROOTS_KEY))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let anchors = match identity::certificates(pem) {
        Ok(a) => a,
        Err(e) => {
            let f = fail(LinkerdError::CheckTrustRootsUnusable { problem: e });
            return (f, Vec::new());
        }
    };
    if let Some(not_ca) = anchors.iter().find(|a| !identity::is_ca(a)) {
        let f = fail(LinkerdError::CheckTrustRootsUnusable {
            problem: format!("{} is not a CA certificate", identity::common_name(not_ca)),
        });
        return (f, anchors);
    }
    let describe = |a: &Certificate| {
        let (_, end) = identity::validity_unix(a);
        format!(
            "{} (valid until {})",
            identity::common_name(a),
            identity::format_unix(end)
        )
    };
    let valid: Vec<&Certificate> = anchors
        .iter()
        .filter(|a| {
            let (start, end) = identity::validity_unix(a);
            start <= now && now < end
        })
        .collect();
    if valid.is_empty() {
        let f = fail(LinkerdError::CheckAnchorsExpired {
            anchors: anchors.iter().map(describe).collect::<Vec<_>>().join(", "),
        });
        return (f, anchors);
    }
    let expiring: Vec<&Certificate> = valid
        .iter()
        .copied()
        .filter(|a| identity::validity_unix(a).1 - now < EXPIRY_WARNING_SECONDS)
        .collect();
    let invalid = anchors.len() - valid.len();
    if !expiring.is_empty() || invalid > 0 {
        let mut problems = Vec::new();
        if !expiring.is_empty() {
            problems.push(format!(
                "expiring within 30 days: {}",
                expiring.iter().map(|a| describe(a)).collect::<Vec<_>>().join(", ")
            ));
        }
        if invalid > 0 {
            problems.push(format!(
                "{invalid} of {} anchors expired or not yet valid",
                anchors.len()
            ));
        }
        let f = warn(LinkerdError::CheckAnchorsExpiring {
            problems: problems.join("; "),
        });
        return (f, anchors);
    }
    let f = Finding::pass(
        format!("trust anchors: {} valid for more than 30 days", anchors.len()),
        anchors.iter().map(describe).collect::<Vec<_>>().join("\n"),
    );
    (f, anchors)
}

pub fn issuer_check(secret: Option<&Value>, anchors: &[Certificate], now: u64) -> Finding {
    let Some(secret) = secret else {
        return fail(LinkerdError::CheckIssuerMissing);
    };
    let malformed = |problem: String| fail(LinkerdError::CheckIssuerMalformed { problem });
    let (cert_key, cert_pem) = match secret_text(secret, &["crt.pem", "tls.crt"]) {
        Ok(x) => x,
        Err(e) => return malformed(e),
    };
    let key_name = if cert_key == "crt.pem" { "key.pem" } else { "tls.key" };
    let key_pem = match secret_text(secret, &[key_name]) {
        Ok((_, k)) => k,
        Err(e) => return malformed(e),
    };
    let issuer = match identity::certificates(&cert_pem) {
        Ok(certs) => certs.into_iter().next().expect("at least one certificate"),
        Err(e) => return malformed(format!("{cert_key}: {e}")),
    };
    let name = identity::common_name(&issuer);
    if !identity::is_ca(&issuer) {
        return malformed(format!(
            "the certificate {name} is not a CA (basicConstraints CA is not set)"
        ));
    }
    let key_note = match identity::check_key(&issuer, &key_pem) {
        Ok(identity::KeyCheck::Matches) => "key matches the certificate".to_string(),
        Ok(identity::KeyCheck::Unchecked(why)) => format!("key not compared ({why})"),
        Err(e) => {
            return fail(LinkerdError::CheckIssuerKey {
                key: key_name,
                problem: e.to_string(),
            });
        }
    };
    let chain = chain_to(&issuer, anchors);
    let anchor = match &chain {
        Chain::Signed(a) => a.clone(),
        Chain::NameOnly(a, _) => a.clone(),
        Chain::None => {
            return fail(LinkerdError::CheckIssuerNotSigned {
                name,
                issuer: identity::issuer_name(&issuer),
            });
        }
    };
    let (start, end) = identity::validity_unix(&issuer);
    if now < start || now >= end {
        let state = if now < start { "is not valid yet" } else { "has expired" };
        return fail(LinkerdError::CheckIssuerNotValid {
            name,
            state,
            start: identity::format_unix(start),
            end: identity::format_unix(end),
        });
    }
    if end - now < EXPIRY_WARNING_SECONDS {
        return warn(LinkerdError::CheckIssuerExpiring {
            name,
            end: identity::format_unix(end),
        });
    }
    if let Chain::NameOnly(_, why) = chain {
        return warn(LinkerdError::CheckSignatureUnchecked {
            what: format!("the identity issuer {name} names trust anchor {anchor}"),
            why,
            files: "ca-bundle.crt crt.pem",
        });
    }
    Finding::pass(
        format!(
            "identity issuer {name} is signed by trust anchor {anchor} and valid until {}",
            identity::format_unix(end)
        ),
        format!("Secret {NS}/{ISSUER_SECRET}: {key_note}"),
    )
}

/// Whether the namespace asks for proxy injection.
/// A namespace being deleted is not checked: its pods are going with it (on a real cluster it
/// stays Terminating, pods and all, for a while after the delete).
pub fn is_meshed_namespace(ns: &Value) -> bool {
    !being_deleted(ns)
        && matches!(
            ns.pointer("/metadata/annotations")
                .and_then(|a| a.get(INJECT_ANNOTATION))
                .and_then(Value::as_str),
            Some("enabled" | "ingress")
        )
}

/// Whether an object is marked for deletion (finalizers or a namespace controller still at it).
pub fn being_deleted(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null())
}

/// A meshed namespace: every running pod that can be injected should have the proxy.
pub fn namespace_check(namespace: &str, pods: &[Value]) -> Finding {
    let mut injected = 0;
    let mut skipped = 0;
    let mut missing = Vec::new();
    for pod in pods {
        let phase = str_at(pod, "/status/phase");
        let opted_out = pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(INJECT_ANNOTATION))
            .and_then(Value::as_str)
            == Some("disabled");
        let host_network = pod.pointer("/spec/hostNetwork").and_then(Value::as_bool) == Some(true);
        if matches!(phase, "Succeeded" | "Failed") || opted_out || host_network {
            skipped += 1;
        } else if has_proxy(pod) {
            injected += 1;
        } else {
            missing.push(str_at(pod, "/metadata/name").to_string());
        }
    }
    if !missing.is_empty() {
        let named: Vec<&str> = missing.iter().take(MAX_PODS_NAMED).map(String::as_str).collect();
        let more = missing.len() - named.len();
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return warn(LinkerdError::CheckPodsWithoutProxy {
            namespace: namespace.into(),
            count: missing.len(),
            pods: format!("{}{more}", named.join(", ")),
        });
    }
    let mut details = format!("{injected} pod(s) with the proxy");
    if skipped > 0 {
        details += &format!(", {skipped} skipped (finished, host network, or opted out)");
    }
    Finding::pass(format!("namespace {namespace} is meshed"), details)
}

fn has_proxy(pod: &Value) -> bool {
    ["/spec/containers", "/spec/initContainers"].iter().any(|p| {
        pod.pointer(p).and_then(Value::as_array).is_some_and(|cs| {
            cs.iter()
                .any(|c| c.get("name").and_then(Value::as_str) == Some(PROXY_CONTAINER))
        })
    })
}

fn condition_true(obj: &Value, kind: &str) -> bool {
    obj.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some(kind)
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// The first of `keys` present in the Secret's data, decoded as UTF-8 text: (key, text).
pub fn secret_text(secret: &Value, keys: &[&str]) -> Result<(String, String), String> {
    let data = secret.get("data");
    for key in keys {
        if let Some(b64) = data.and_then(|d| d.get(*key)).and_then(Value::as_str) {
            let bytes = identity::base64_decode(b64).ok_or_else(|| format!("{key} is not valid base64"))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{key} is not text (PEM)"))?;
            return Ok((key.to_string(), text));
        }
    }
    Err(format!("no {} in the secret's data", keys.join(" or ")))
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{IdentityBundle, base64_encode, generate, generate_between};

    /// 2026-01-02T03:04:05Z.
    const NOW: u64 = 1_767_323_045;
    const DAY: u64 = 86_400;

    fn healthy() -> IdentityBundle {
        generate("cluster.local", NOW, 3650, 365).unwrap()
    }

    fn certs(pem: &str) -> Vec<Certificate> {
        identity::certificates(pem).unwrap()
    }

    fn b64(s: &str) -> String {
        base64_encode(s.as_bytes())
    }

    fn roots(pem: &str) -> Value {
        json!({"data": {TRUST_ROOTS_KEY: pem}})
    }

    fn issuer_secret(b: &IdentityBundle) -> Value {
        json!({"data": {"crt.pem": b64(&b.issuer_cert_pem), "key.pem": b64(&b.issuer_key_pem)}})
    }

    fn code(f: &Finding) -> &str {
        f.error.as_ref().map(|e| e.code.as_str()).unwrap_or("INFO")
    }

    use serde_json::json;

    #[test]
    fn crds_missing_or_not_established_are_failures_with_their_own_codes() {
        let established = json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}});
        let pending = json!({"status": {"conditions": [{"type": "Established", "status": "False"}]}});
        let (names, _) = expected_crds("stable-2.14.10");
        let all: Vec<(&str, Option<Value>)> = names.iter().map(|n| (n.as_str(), Some(established.clone()))).collect();
        let f = crd_check(CrdSet::Linkerd, &all);
        assert_eq!(f.level, Level::Info);
        assert!(f.summary.contains("all 7"), "{}", f.summary);

        let mut one_missing = all.clone();
        one_missing[2].1 = None;
        one_missing[4].1 = Some(pending.clone());
        let f = crd_check(CrdSet::Linkerd, &one_missing);
        assert_eq!((f.level, code(&f)), (Level::Error, "WASMESH-LINKERD-1401"));
        assert!(
            f.summary.contains("serverauthorizations.policy.linkerd.io"),
            "{}",
            f.summary
        );
        assert!(
            f.summary.contains("not established: meshtlsauthentications"),
            "{}",
            f.summary
        );

        let mut pending_only = all.clone();
        pending_only[0].1 = Some(json!({}));
        let f = crd_check(CrdSet::Linkerd, &pending_only);
        assert_eq!(code(&f), "WASMESH-LINKERD-1402");
        assert!(f.summary.contains("serviceprofiles.linkerd.io"));

        // The Gateway API CRDs have codes of their own, and say who installed them.
        let ours = json!({"metadata": {"labels": {"linkerd.io/control-plane-ns": "linkerd"}},
            "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        let (_, gateway) = expected_crds("edge-25.4.4");
        let mut found: Vec<(&str, Option<Value>)> = gateway.iter().map(|n| (n.as_str(), Some(ours.clone()))).collect();
        found[0].1 = Some(established.clone());
        let f = crd_check(CrdSet::GatewayApi, &found);
        assert_eq!(f.level, Level::Info);
        assert!(f.summary.starts_with("Gateway API CRDs: all 4"), "{}", f.summary);
        assert!(
            f.details
                .contains("httproutes.gateway.networking.k8s.io (installed by another project)")
        );
        assert!(
            f.details
                .contains("grpcroutes.gateway.networking.k8s.io (installed by Linkerd)")
        );
        found[1].1 = None;
        assert_eq!(code(&crd_check(CrdSet::GatewayApi, &found)), "WASMESH-LINKERD-1422");
        found[1].1 = Some(pending);
        assert_eq!(code(&crd_check(CrdSet::GatewayApi, &found)), "WASMESH-LINKERD-1423");
    }

    #[test]
    fn the_crds_checked_are_those_the_installed_release_installs() {
        let (stable, stable_gw) = expected_crds("stable-2.14.10");
        let (edge, edge_gw) = expected_crds("edge-25.4.4");
        assert_eq!(stable.len(), 7);
        assert_eq!(stable_gw, ["httproutes.gateway.networking.k8s.io"]);
        for n in [
            "externalworkloads.workload.linkerd.io",
            "egressnetworks.policy.linkerd.io",
            "httplocalratelimitpolicies.policy.linkerd.io",
        ] {
            assert!(edge.iter().any(|e| e == n), "{n}");
            assert!(!stable.iter().any(|e| e == n), "{n}");
        }
        assert_eq!(edge.len(), 10);
        assert_eq!(edge_gw.len(), 4);
        // An alias is the same release; an unknown one gets what every known release installs.
        assert_eq!(expected_crds("version-2.18"), (edge.clone(), edge_gw));
        let (unknown, unknown_gw) = expected_crds("stable-2.13.7");
        assert_eq!(unknown, stable);
        assert_eq!(unknown_gw, ["httproutes.gateway.networking.k8s.io"]);
        assert_eq!(expected_crds("unknown"), (unknown, unknown_gw));
    }

    #[test]
    fn deployments_must_exist_and_be_available() {
        let f = deployment_check("linkerd-identity", None);
        assert_eq!(code(&f), "WASMESH-LINKERD-1403");
        let unavailable = json!({"spec": {"replicas": 2}, "status": {"availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "False"}]}});
        let f = deployment_check("linkerd-destination", Some(&unavailable));
        assert_eq!(code(&f), "WASMESH-LINKERD-1404");
        assert!(f.summary.contains("1/2"), "{}", f.summary);
        let available = json!({"spec": {"replicas": 1}, "status": {"availableReplicas": 1,
            "conditions": [{"type": "Available", "status": "True"}]}});
        assert_eq!(
            deployment_check("linkerd-destination", Some(&available)).level,
            Level::Info
        );
    }

    fn webhook(ca_pem: &str) -> Value {
        json!({"webhooks": [{"name": "linkerd-proxy-injector.linkerd.io", "clientConfig": {"caBundle": b64(ca_pem)}}]})
    }

    fn tls_secret(cert_pem: &str) -> Value {
        json!({"data": {"tls.crt": b64(cert_pem), "tls.key": b64("unused")}})
    }

    fn check_webhook(config: Option<&Value>, secret: Option<&Value>, now: u64) -> Finding {
        let (kind, name, secret_name) = WEBHOOKS[0];
        webhook_check(kind, name, config, secret_name, secret, now)
    }

    #[test]
    fn webhook_ca_bundle_must_sign_or_be_the_serving_certificate() {
        let (a, b) = (healthy(), healthy());
        // Self-signed serving certificate, itself in the caBundle (what the upstream chart makes).
        let f = check_webhook(
            Some(&webhook(&a.trust_anchor_pem)),
            Some(&tls_secret(&a.trust_anchor_pem)),
            NOW,
        );
        assert_eq!(f.level, Level::Info, "{f:?}");
        // Signed by the CA in the bundle.
        let f = check_webhook(
            Some(&webhook(&a.trust_anchor_pem)),
            Some(&tls_secret(&a.issuer_cert_pem)),
            NOW,
        );
        assert_eq!(f.level, Level::Info, "{f:?}");
        // A bundle of two, one of them right.
        let two = format!("{}{}", b.trust_anchor_pem, a.trust_anchor_pem);
        let f = check_webhook(Some(&webhook(&two)), Some(&tls_secret(&a.issuer_cert_pem)), NOW);
        assert_eq!(f.level, Level::Info, "{f:?}");
        // Another CA: mismatch.
        let f = check_webhook(
            Some(&webhook(&b.trust_anchor_pem)),
            Some(&tls_secret(&a.issuer_cert_pem)),
            NOW,
        );
        assert_eq!(code(&f), "WASMESH-LINKERD-1408");
        let f = check_webhook(
            Some(&webhook(&b.trust_anchor_pem)),
            Some(&tls_secret(&a.trust_anchor_pem)),
            NOW,
        );
        assert_eq!(code(&f), "WASMESH-LINKERD-1408");

        assert_eq!(
            code(&check_webhook(None, Some(&tls_secret(&a.trust_anchor_pem)), NOW)),
            "WASMESH-LINKERD-1405"
        );
        assert_eq!(
            code(&check_webhook(Some(&webhook(&a.trust_anchor_pem)), None, NOW)),
            "WASMESH-LINKERD-1407"
        );
        let garbage = json!({"data": {"tls.crt": b64("not pem")}});
        assert_eq!(
            code(&check_webhook(Some(&webhook(&a.trust_anchor_pem)), Some(&garbage), NOW)),
            "WASMESH-LINKERD-1407"
        );
        let empty = json!({"webhooks": [{"name": "x", "clientConfig": {}}]});
        assert_eq!(
            code(&check_webhook(
                Some(&empty),
                Some(&tls_secret(&a.trust_anchor_pem)),
                NOW
            )),
            "WASMESH-LINKERD-1406"
        );
        let bad = json!({"webhooks": [{"name": "x", "clientConfig": {"caBundle": "!!!"}}]});
        assert_eq!(
            code(&check_webhook(Some(&bad), Some(&tls_secret(&a.trust_anchor_pem)), NOW)),
            "WASMESH-LINKERD-1406"
        );

        // Expired and expiring serving certificates.
        let f = check_webhook(
            Some(&webhook(&a.trust_anchor_pem)),
            Some(&tls_secret(&a.issuer_cert_pem)),
            NOW + 366 * DAY,
        );
        assert_eq!(code(&f), "WASMESH-LINKERD-1409");
        let f = check_webhook(
            Some(&webhook(&a.trust_anchor_pem)),
            Some(&tls_secret(&a.issuer_cert_pem)),
            NOW + 340 * DAY,
        );
        assert_eq!((f.level, code(&f)), (Level::Warn, "WASMESH-LINKERD-1410"));
    }

    #[test]
    fn trust_anchors_parse_and_are_valid_for_30_days() {
        let (a, b) = (healthy(), healthy());
        let (f, anchors) = trust_roots_check(Some(&roots(&a.trust_anchor_pem)), NOW);
        assert_eq!((f.level, anchors.len()), (Level::Info, 1), "{f:?}");
        let two = format!("{}{}", a.trust_anchor_pem, b.trust_anchor_pem);
        let (f, anchors) = trust_roots_check(Some(&roots(&two)), NOW);
        assert_eq!((f.level, anchors.len()), (Level::Info, 2));

        assert_eq!(code(&trust_roots_check(None, NOW).0), "WASMESH-LINKERD-1411");
        assert_eq!(
            code(&trust_roots_check(Some(&roots("junk")), NOW).0),
            "WASMESH-LINKERD-1412"
        );
        assert_eq!(
            code(&trust_roots_check(Some(&json!({})), NOW).0),
            "WASMESH-LINKERD-1412"
        );
        // The issuer is a CA, but a leaf would not be: a self-signed leaf is refused.
        let expired = trust_roots_check(Some(&roots(&a.trust_anchor_pem)), NOW + 3651 * DAY).0;
        assert_eq!(code(&expired), "WASMESH-LINKERD-1413");
        let expiring = trust_roots_check(Some(&roots(&a.trust_anchor_pem)), NOW + 3640 * DAY).0;
        assert_eq!((expiring.level, code(&expiring)), (Level::Warn, "WASMESH-LINKERD-1414"));
        // One old expired anchor next to a valid one: a warning, not a failure.
        let old = generate_between("cluster.local", NOW - 20 * DAY, NOW - DAY, NOW - DAY).unwrap();
        let mixed = format!("{}{}", old.trust_anchor_pem, a.trust_anchor_pem);
        let (f, anchors) = trust_roots_check(Some(&roots(&mixed)), NOW);
        assert_eq!((code(&f), anchors.len()), ("WASMESH-LINKERD-1414", 2));
    }

    #[test]
    fn issuer_must_chain_to_an_anchor_hold_its_key_and_be_valid_for_30_days() {
        let (a, b) = (healthy(), healthy());
        let anchors_a = certs(&a.trust_anchor_pem);
        let f = issuer_check(Some(&issuer_secret(&a)), &anchors_a, NOW);
        assert_eq!(f.level, Level::Info, "{f:?}");
        assert!(f.summary.contains("root.cluster.local"), "{}", f.summary);
        assert!(f.details.contains("key matches"), "{}", f.details);
        // The cert-manager layout.
        let tls = json!({"data": {"tls.crt": b64(&a.issuer_cert_pem), "tls.key": b64(&a.issuer_key_pem)}});
        assert_eq!(issuer_check(Some(&tls), &anchors_a, NOW).level, Level::Info);
        // Either of two anchors.
        let both = certs(&format!("{}{}", b.trust_anchor_pem, a.trust_anchor_pem));
        assert_eq!(issuer_check(Some(&issuer_secret(&a)), &both, NOW).level, Level::Info);

        let other_anchor = certs(&b.trust_anchor_pem);
        assert_eq!(
            code(&issuer_check(Some(&issuer_secret(&a)), &other_anchor, NOW)),
            "WASMESH-LINKERD-1417"
        );
        assert_eq!(
            code(&issuer_check(Some(&issuer_secret(&a)), &[], NOW)),
            "WASMESH-LINKERD-1417"
        );
        assert_eq!(code(&issuer_check(None, &anchors_a, NOW)), "WASMESH-LINKERD-1415");
        let no_key = json!({"data": {"crt.pem": b64(&a.issuer_cert_pem)}});
        assert_eq!(
            code(&issuer_check(Some(&no_key), &anchors_a, NOW)),
            "WASMESH-LINKERD-1416"
        );
        let junk = json!({"data": {"crt.pem": b64("junk"), "key.pem": b64("junk")}});
        assert_eq!(
            code(&issuer_check(Some(&junk), &anchors_a, NOW)),
            "WASMESH-LINKERD-1416"
        );
        let not_b64 = json!({"data": {"crt.pem": "***", "key.pem": "***"}});
        assert_eq!(
            code(&issuer_check(Some(&not_b64), &anchors_a, NOW)),
            "WASMESH-LINKERD-1416"
        );
        let wrong_key = json!({"data": {"crt.pem": b64(&a.issuer_cert_pem), "key.pem": b64(&b.issuer_key_pem)}});
        let f = issuer_check(Some(&wrong_key), &anchors_a, NOW);
        assert_eq!(code(&f), "WASMESH-LINKERD-1420");
        assert!(!f.summary.contains("PRIVATE") && !f.summary.contains(&b.issuer_key_pem[40..60]));

        let f = issuer_check(Some(&issuer_secret(&a)), &anchors_a, NOW + 366 * DAY);
        assert_eq!(code(&f), "WASMESH-LINKERD-1418");
        assert!(f.summary.contains("has expired"), "{}", f.summary);
        let f = issuer_check(Some(&issuer_secret(&a)), &anchors_a, NOW - DAY);
        assert!(f.summary.contains("not valid yet"), "{}", f.summary);
        let f = issuer_check(Some(&issuer_secret(&a)), &anchors_a, NOW + 350 * DAY);
        assert_eq!((f.level, code(&f)), (Level::Warn, "WASMESH-LINKERD-1419"));
        // An issuer that already ended, from a bundle made in the past.
        let old = generate_between("cluster.local", NOW - 20 * DAY, NOW + 300 * DAY, NOW - DAY).unwrap();
        let f = issuer_check(Some(&issuer_secret(&old)), &certs(&old.trust_anchor_pem), NOW);
        assert_eq!(code(&f), "WASMESH-LINKERD-1418");
    }

    fn pod(name: &str, containers: &[&str], init: &[&str]) -> Value {
        let c = |names: &[&str]| names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>();
        json!({"metadata": {"name": name}, "spec": {"containers": c(containers), "initContainers": c(init)},
               "status": {"phase": "Running"}})
    }

    #[test]
    fn meshed_namespaces_flag_pods_without_the_proxy() {
        assert!(is_meshed_namespace(
            &json!({"metadata": {"annotations": {"linkerd.io/inject": "enabled"}}})
        ));
        assert!(is_meshed_namespace(
            &json!({"metadata": {"annotations": {"linkerd.io/inject": "ingress"}}})
        ));
        assert!(!is_meshed_namespace(
            &json!({"metadata": {"annotations": {"linkerd.io/inject": "disabled"}}})
        ));
        assert!(!is_meshed_namespace(&json!({"metadata": {"name": "x"}})));
        assert!(!is_meshed_namespace(&json!({"metadata": {
            "annotations": {"linkerd.io/inject": "enabled"}, "deletionTimestamp": "2026-12-03T16:20:00Z"}})));

        let sidecar = pod("web-1", &["web", "linkerd-proxy"], &["linkerd-init"]);
        let native = pod("web-2", &["web"], &["linkerd-init", "linkerd-proxy"]);
        let f = namespace_check("shop", &[sidecar.clone(), native.clone()]);
        assert_eq!(f.level, Level::Info);
        assert!(f.details.starts_with("2 pod(s)"), "{}", f.details);
        assert_eq!(namespace_check("empty", &[]).level, Level::Info);

        let mut done = pod("job-1", &["job"], &[]);
        done["status"]["phase"] = json!("Succeeded");
        let mut opted_out = pod("debug", &["sh"], &[]);
        opted_out["metadata"]["annotations"] = json!({"linkerd.io/inject": "disabled"});
        let f = namespace_check("shop", &[sidecar.clone(), done, opted_out]);
        assert_eq!(f.level, Level::Info);
        assert!(f.details.contains("2 skipped"), "{}", f.details);

        let bare = pod("legacy-0", &["app"], &[]);
        let f = namespace_check("shop", &[sidecar, bare]);
        assert_eq!((f.level, code(&f)), (Level::Warn, "WASMESH-LINKERD-1430"));
        assert!(
            f.summary.contains("legacy-0") && f.summary.contains("shop"),
            "{}",
            f.summary
        );

        let many: Vec<Value> = (0..13).map(|i| pod(&format!("p{i}"), &["app"], &[])).collect();
        let f = namespace_check("big", &many);
        assert!(
            f.summary.contains("13 pod(s)") && f.summary.contains("and 3 more"),
            "{}",
            f.summary
        );
    }

    #[test]
    fn the_tally_reads_as_the_summary() {
        let mut t = Tally::default();
        t.add(&Finding::pass("a", ""));
        t.add(&Finding::pass("b", ""));
        let expiring = || {
            warn(LinkerdError::CheckIssuerExpiring {
                name: "w".into(),
                end: "e".into(),
            })
        };
        t.add(&expiring());
        assert_eq!(
            t.checks("linkerd-check"),
            "linkerd-check: 2 passed, 1 warning, 0 failed"
        );
        t.add(&fail(LinkerdError::CheckCrdsMissing { missing: "f".into() }));
        t.add(&expiring());
        assert_eq!(
            t.checks("linkerd-check"),
            "linkerd-check: 2 passed, 2 warnings, 1 failed"
        );
        assert_eq!(not_installed().level, Level::Error);
        assert_eq!(code(&not_installed()), "WASMESH-LINKERD-1400");
    }

    #[test]
    fn without_a_control_plane_the_check_fails_with_one_finding() {
        use wasmesh_sdk::testing::{Harness, request};
        let h = Harness::new(crate::LINKERD.manifest, "linkerd-check", "default");
        let e = crate::LINKERD
            .plan(&request("linkerd-check", "default", ""))
            .unwrap_err();
        assert_eq!(e.code, "WASMESH-LINKERD-1499");
        assert_eq!(e.message, "linkerd-check: 0 passed, 0 warnings, 1 failed");
        let events = h.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(
            events[0].error.as_ref().map(|e| e.code.as_str()),
            Some("WASMESH-LINKERD-1400")
        );
        assert_eq!(h.reads(), ["get v1 ConfigMap linkerd/linkerd-config"]);
    }
}
