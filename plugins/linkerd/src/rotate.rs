//! `rotate-identity-issuer`: a new identity issuer certificate and key in the
//! `linkerd-identity-issuer` secret (server-side apply). Linkerd's identity controller watches the
//! secret and loads an issuer that chains to the trust anchors it started with; proxies move to
//! it as they renew their certificates (every 24 hours at most).
//!
//! A normal install keeps no trust anchor private key in the cluster, so there are two ways:
//!
//! - **With the trust anchor** (custom body gives `trustAnchorCertPEM` and `trustAnchorKeyPEM`):
//!   the certificate must be one of the trust anchors in `linkerd-identity-trust-roots`; the new
//!   issuer is signed with it and only the secret changes. Nothing needs a restart.
//! - **With a new trust anchor** (no anchor key given, or `newTrustAnchor: true`): a new anchor
//!   and issuer are made; `linkerd-identity-trust-roots` becomes a bundle of the old anchors (the
//!   ones still valid) plus the new one, then the secret gets the new issuer. The new anchor's key
//!   is dropped. Running proxies trust only what they started with, and the identity controller
//!   refuses an issuer from an anchor it did not start with, so the order of what follows
//!   matters and the operation says it: restart the meshed workloads and the other control-plane
//!   Deployments first (their proxies then trust both anchors), `linkerd-identity` last (it then
//!   switches to the new issuer), and later remove the old anchor from the bundle.
//!   `newTrustAnchor: false` turns this off: without a key the operation is then refused.
//!
//! The custom body is JSON (`{"trustAnchorCertPEM": "...", "trustAnchorKeyPEM": "...",
//! "newTrustAnchor": true, "issuerValidityDays": 365, "anchorValidityDays": 3650}`), or text:
//! the anchor's PEM certificate and private key pasted as they are (e.g. `ca.crt` then `ca.key`),
//! with option lines `key: value` around them (YAML-like: `newTrustAnchor: true`; a line
//! `trustAnchorCertPEM: |` before an indented block is accepted too). All fields are optional.
//!
//! Private keys never appear in events, errors or summaries.
//!
//! Codes: WASMESH-LINKERD-1500..1599; the certificate work reports identity's 300x codes.

use serde_json::{Map, Value, json};
use wasmesh_sdk::plan::{apply, plan as make_plan, stage};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, cluster, progress};
use x509_cert::Certificate;

use crate::check::{ISSUER_SECRET, TRUST_ROOTS, TRUST_ROOTS_KEY, now_unix, secret_text};
use crate::errors::{BODY_HELP, LinkerdError};
use crate::identity::{self, Issuer};
use crate::installed::{self, CONTROL_PLANE_NAMESPACE as NS};

pub const DEFAULT_ISSUER_DAYS: u32 = 365;
pub const DEFAULT_ANCHOR_DAYS: u32 = 3650;
const MAX_DAYS: u32 = 36_500;
/// Annotations of the existing objects not carried into the applied ones.
const DROPPED_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

/// What the custom body asks for. Debug leaves the key out.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub anchor_cert_pem: Option<String>,
    pub anchor_key_pem: Option<String>,
    pub new_trust_anchor: Option<bool>,
    pub issuer_days: Option<u32>,
    pub anchor_days: Option<u32>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("anchor_cert_pem", &self.anchor_cert_pem)
            .field("anchor_key_pem", &self.anchor_key_pem.as_ref().map(|_| "<redacted>"))
            .field("new_trust_anchor", &self.new_trust_anchor)
            .field("issuer_days", &self.issuer_days)
            .field("anchor_days", &self.anchor_days)
            .finish()
    }
}

fn body_error(message: String) -> Error {
    LinkerdError::RotateBody { message: message }.into()
}

/// Reads the custom body (see the module documentation).
pub fn parse_options(body: &str) -> Result<Options, Error> {
    let body = body.trim();
    if body.is_empty() {
        return Ok(Options::default());
    }
    let mut opts = Options::default();
    if body.starts_with('{') {
        let value: Value =
            serde_json::from_str(body).map_err(|e| body_error(format!("the custom body is not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(body_error("the custom body is not a JSON object".into()));
        };
        for (key, value) in map {
            set_option(&mut opts, &key, &value)?;
        }
    } else {
        parse_text(body, &mut opts)?;
    }
    validate(&opts)?;
    Ok(opts)
}

fn set_option(opts: &mut Options, key: &str, value: &Value) -> Result<(), Error> {
    let bad = |what: &str| -> Error {
        LinkerdError::RotateBadOption {
            message: format!("option {key} must be {what}"),
            cause: "an option of rotate-identity-issuer has a value of the wrong type".into(),
            remedy: BODY_HELP.into(),
        }
        .into()
    };
    match key {
        "trustAnchorCertPEM" => opts.anchor_cert_pem = Some(value.as_str().ok_or_else(|| bad("a PEM string"))?.into()),
        "trustAnchorKeyPEM" => opts.anchor_key_pem = Some(value.as_str().ok_or_else(|| bad("a PEM string"))?.into()),
        "newTrustAnchor" => opts.new_trust_anchor = Some(value.as_bool().ok_or_else(|| bad("true or false"))?),
        "issuerValidityDays" | "anchorValidityDays" => {
            let days = value
                .as_u64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
                .and_then(|d| u32::try_from(d).ok())
                .ok_or_else(|| bad("a whole number of days"))?;
            if key == "issuerValidityDays" {
                opts.issuer_days = Some(days);
            } else {
                opts.anchor_days = Some(days);
            }
        }
        other => {
            return Err(LinkerdError::RotateUnknownOption {
                message: format!("unknown option {other:?}"),
            }
            .into());
        }
    }
    Ok(())
}

/// PEM blocks as they are, plus `key: value` option lines.
fn parse_text(body: &str, opts: &mut Options) -> Result<(), Error> {
    let mut in_block = false;
    for (n, raw) in body.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("-----BEGIN ") {
            in_block = true;
            continue;
        }
        if line.starts_with("-----END ") {
            in_block = false;
            continue;
        }
        if in_block || line.is_empty() || line.starts_with('#') || line == "---" {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(body_error(format!(
                "line {} of the custom body is neither PEM nor `option: value`",
                n + 1
            )));
        };
        let (key, value) = (key.trim(), value.trim().trim_matches('"').trim_matches('\''));
        match key {
            // The label of a PEM block that follows (YAML block scalar); the block is taken by
            // its PEM type below.
            "trustAnchorCertPEM" | "trustAnchorKeyPEM" if matches!(value, "" | "|" | "|-" | "|+") => {}
            "newTrustAnchor" => {
                let v = match value {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    other => Value::String(other.into()),
                };
                set_option(opts, key, &v)?;
            }
            _ => set_option(opts, key, &Value::String(value.into()))?,
        }
    }
    let blocks = identity::pem_blocks(body);
    let certs: Vec<_> = blocks.iter().filter(|(l, _)| l == "CERTIFICATE").collect();
    let keys: Vec<_> = blocks.iter().filter(|(l, _)| l.ends_with("PRIVATE KEY")).collect();
    if certs.len() > 1 || keys.len() > 1 {
        return Err(body_error(format!(
            "the custom body holds {} certificates and {} private keys; give one trust anchor certificate and its key",
            certs.len(),
            keys.len()
        )));
    }
    if let Some((label, b64)) = certs.first() {
        opts.anchor_cert_pem = Some(identity::pem_text(label, b64));
    }
    if let Some((label, b64)) = keys.first() {
        opts.anchor_key_pem = Some(identity::pem_text(label, b64));
    }
    Ok(())
}

fn validate(opts: &Options) -> Result<(), Error> {
    for (name, days) in [
        ("issuerValidityDays", opts.issuer_days),
        ("anchorValidityDays", opts.anchor_days),
    ] {
        if let Some(d) = days
            && !(1..=MAX_DAYS).contains(&d)
        {
            return Err(LinkerdError::RotateBadOption {
                message: format!("option {name} is {d}; it must be between 1 and {MAX_DAYS} days"),
                cause: "a certificate lifetime is out of range".into(),
                remedy: "Linkerd's documentation uses 8760 hours (365 days) for the issuer and 10 years for the anchor"
                    .into(),
            }
            .into());
        }
    }
    match (&opts.anchor_cert_pem, &opts.anchor_key_pem) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(LinkerdError::HalfAnchor {
                message: "only half of the trust anchor was given: both its certificate and its private key are needed"
                    .into(),
            }
            .into());
        }
        (Some(_), Some(_)) if opts.new_trust_anchor == Some(true) => {
            return Err(LinkerdError::AnchorConflict {
                message: "newTrustAnchor: true conflicts with the trust anchor that was given".into(),
            }
            .into());
        }
        (None, None) if opts.new_trust_anchor == Some(false) => {
            return Err(LinkerdError::NoAnchorKey {
                message: "newTrustAnchor: false, but no trust anchor key was given to sign a new issuer with".into(),
            }
            .into());
        }
        _ => {}
    }
    Ok(())
}

/// What a rotation writes.
#[derive(Debug)]
pub struct Rotation {
    pub issuer: Issuer,
    /// The anchor that signed the issuer (common name).
    pub anchor_name: String,
    /// The new trust bundle, when a new anchor was made.
    pub bundle: Option<Bundle>,
}

#[derive(Debug)]
pub struct Bundle {
    pub pem: String,
    /// Old anchors kept, and old anchors dropped because they had expired.
    pub kept: usize,
    pub dropped: usize,
}

/// Decides and makes the new issuer (and anchor) from the options and the cluster's trust anchors.
pub fn rotation(opts: &Options, anchors: &[Certificate], trust_domain: &str, now: u64) -> Result<Rotation, Error> {
    let issuer_days = opts.issuer_days.unwrap_or(DEFAULT_ISSUER_DAYS);
    if let (Some(cert_pem), Some(key_pem)) = (&opts.anchor_cert_pem, &opts.anchor_key_pem) {
        let given = match identity::certificates(cert_pem) {
            Ok(c) if c.len() == 1 => c.into_iter().next().expect("one"),
            // issue_issuer says precisely what is wrong with it.
            _ => {
                let e = identity::issue_issuer(trust_domain, cert_pem, key_pem, now, issuer_days).err();
                return Err(e.unwrap_or_else(|| {
                    LinkerdError::RotateBug {
                        message: "the trust anchor certificate cannot be read".into(),
                    }
                    .into()
                }));
            }
        };
        let trusted = anchors.iter().any(|a| {
            identity::der(a) == identity::der(&given)
                || (a.tbs_certificate.subject == given.tbs_certificate.subject
                    && a.tbs_certificate.subject_public_key_info == given.tbs_certificate.subject_public_key_info)
        });
        if !trusted {
            return Err(LinkerdError::AnchorNotTrusted {
                message: format!(
                    "the given trust anchor {} is not one of the trust anchors in {NS}/{TRUST_ROOTS}",
                    identity::common_name(&given)
                ),
            }
            .into());
        }
        let issuer = identity::issue_issuer(trust_domain, cert_pem, key_pem, now, issuer_days)?;
        return Ok(Rotation {
            issuer,
            anchor_name: identity::common_name(&given),
            bundle: None,
        });
    }
    let anchor_days = opts.anchor_days.unwrap_or(DEFAULT_ANCHOR_DAYS);
    let made = identity::generate(trust_domain, now, anchor_days, issuer_days)?;
    let new_anchor = identity::certificates(&made.trust_anchor_pem)
        .ok()
        .and_then(|c| c.into_iter().next())
        .map(|c| identity::common_name(&c))
        .unwrap_or_default();
    let mut pem = String::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let (mut kept, mut dropped) = (0, 0);
    for a in anchors {
        let der = identity::der(a);
        if seen.contains(&der) {
            continue;
        }
        if identity::validity_unix(a).1 <= now {
            dropped += 1;
            continue;
        }
        pem += &identity::pem_text("CERTIFICATE", &identity::base64_encode(&der));
        seen.push(der);
        kept += 1;
    }
    pem += &made.trust_anchor_pem;
    Ok(Rotation {
        issuer: Issuer {
            cert_pem: made.issuer_cert_pem,
            key_pem: made.issuer_key_pem,
        },
        anchor_name: new_anchor,
        bundle: Some(Bundle { pem, kept, dropped }),
    })
}

/// The trust domain the current issuer serves: its name is `identity.linkerd.<trust domain>`.
pub fn trust_domain_of(issuer: &Certificate) -> Option<String> {
    identity::common_name(issuer)
        .strip_prefix("identity.linkerd.")
        .filter(|td| !td.is_empty())
        .map(str::to_string)
}

/// The object to apply: `existing`'s identity (name, namespace, labels, annotations, type) with
/// `data`.
pub fn updated(existing: &Value, data: Value) -> Value {
    let meta = &existing["metadata"];
    let mut metadata = Map::new();
    for key in ["name", "namespace"] {
        metadata.insert(key.into(), meta[key].clone());
    }
    if let Some(labels) = meta
        .get("labels")
        .filter(|l| l.as_object().is_some_and(|m| !m.is_empty()))
    {
        metadata.insert("labels".into(), labels.clone());
    }
    if let Some(Value::Object(annotations)) = meta.get("annotations") {
        let kept: Map<String, Value> = annotations
            .iter()
            .filter(|(k, _)| !DROPPED_ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            metadata.insert("annotations".into(), Value::Object(kept));
        }
    }
    let mut obj = json!({
        "apiVersion": "v1",
        "kind": existing["kind"].clone(),
        "metadata": metadata,
        "data": data,
    });
    if let Some(t) = existing.get("type") {
        obj["type"] = t.clone();
    }
    obj
}

pub fn plan(request: &OperationRequest) -> Result<Plan, Error> {
    if request.delete {
        return Err(LinkerdError::RotateNoUndo {
            message: "rotate-identity-issuer cannot be undone".into(),
        }
        .into());
    }
    let opts = parse_options(&request.custom_body)?;
    let now = now_unix();
    if installed::control_plane()?.is_none() {
        return Err(LinkerdError::RotateNotInstalled {
            message: format!("Linkerd is not installed: ConfigMap {NS}/linkerd-config was not found"),
        }
        .into());
    }
    let secret = cluster::get("v1", "Secret", Some(NS), ISSUER_SECRET)?.ok_or_else(|| LinkerdError::IssuerMissing {
        message: format!("Secret {NS}/{ISSUER_SECRET} with the identity issuer is missing"),
    })?;
    let current = current_issuer(&secret)?;
    let trust_domain = trust_domain_of(&current).ok_or_else(|| LinkerdError::IssuerMisnamed {
        message: format!(
            "the current issuer {} in {NS}/{ISSUER_SECRET} is not named identity.linkerd.<trust domain>",
            identity::common_name(&current)
        ),
    })?;
    let roots =
        cluster::get("v1", "ConfigMap", Some(NS), TRUST_ROOTS)?.ok_or_else(|| LinkerdError::TrustRootsMissing {
            message: format!("ConfigMap {NS}/{TRUST_ROOTS} with the trust anchors is missing"),
        })?;
    let bundle_pem = roots
        .get("data")
        .and_then(|d| d.get(TRUST_ROOTS_KEY))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let anchors = identity::certificates(bundle_pem).map_err(|e| LinkerdError::TrustRootsUnreadable {
        message: format!("the trust anchors in {NS}/{TRUST_ROOTS} cannot be read: {e}"),
    })?;

    let rotation = rotation(&opts, &anchors, &trust_domain, now)?;
    let new_issuer = identity::certificates(&rotation.issuer.cert_pem)
        .ok()
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| LinkerdError::RotateBug {
            message: "the new issuer could not be read back".into(),
        })?;
    let (_, until) = identity::validity_unix(&new_issuer);
    let until = identity::format_unix(until);

    let secret_obj = updated(
        &secret,
        json!({
            "crt.pem": identity::base64_encode(rotation.issuer.cert_pem.as_bytes()),
            "key.pem": identity::base64_encode(rotation.issuer.key_pem.as_bytes()),
        }),
    );
    progress::report(
        Level::Info,
        &format!(
            "new identity issuer {} signed by trust anchor {}, valid until {until}",
            identity::common_name(&new_issuer),
            rotation.anchor_name
        ),
        &format!(
            "replaces {} (valid until {}) in Secret {NS}/{ISSUER_SECRET}",
            identity::common_name(&current),
            identity::format_unix(identity::validity_unix(&current).1)
        ),
    );
    match rotation.bundle {
        None => Ok(make_plan(
            format!(
                "Linkerd identity issuer rotated: signed by trust anchor {}, valid until {until}; the identity \
                 controller loads it from {ISSUER_SECRET} within a minute and proxies move to it as they renew \
                 their certificates, no restart needed",
                rotation.anchor_name
            ),
            vec![stage("identity issuer", vec![apply(&secret_obj)])],
        )),
        Some(bundle) => {
            let roots_obj = updated(&roots, json!({ TRUST_ROOTS_KEY: bundle.pem }));
            let dropped = if bundle.dropped > 0 {
                format!(" ({} expired anchor(s) dropped)", bundle.dropped)
            } else {
                String::new()
            };
            progress::report(
                Level::Info,
                &format!(
                    "trust bundle {NS}/{TRUST_ROOTS}: {} old anchor(s) kept and new anchor {} added{dropped}",
                    bundle.kept, rotation.anchor_name
                ),
                "the new trust anchor's private key is not kept: to rotate the issuer again later, run this \
                 operation again (it makes another anchor) or sign with an anchor whose key you hold",
            );
            progress::report(
                Level::Warn,
                "next steps for the new trust anchor: restart every meshed workload, linkerd-destination and \
                 linkerd-proxy-injector, then linkerd-identity last; once every proxy restarted, remove the old \
                 anchor(s) from linkerd-identity-trust-roots (the steps in order are in the details)",
                &format!(
                    "1. wait about a minute (the proxy injector reads the new bundle from its mounted ConfigMap)\n\
                     2. restart every meshed workload and the Deployments linkerd-destination and \
                     linkerd-proxy-injector (kubectl rollout restart): their proxies then trust the old and the \
                     new anchor\n\
                     3. restart linkerd-identity last: until it restarts it keeps signing with the old issuer, \
                     after that with the new one\n\
                     4. once every proxy has restarted (or 24 hours later), remove the old anchor(s) from \
                     {TRUST_ROOTS} and restart the workloads again"
                ),
            );
            Ok(make_plan(
                format!(
                    "Linkerd identity issuer rotated to new trust anchor {} (the old anchor kept in {TRUST_ROOTS}), \
                     issuer valid until {until}. Next: restart meshed workloads, linkerd-destination and \
                     linkerd-proxy-injector, then linkerd-identity last; later remove the old anchor",
                    rotation.anchor_name
                ),
                vec![
                    stage("trust roots", vec![apply(&roots_obj)]),
                    stage("identity issuer", vec![apply(&secret_obj)]),
                ],
            ))
        }
    }
}

/// The current issuer certificate; refuses secrets this operation must not or cannot rotate.
fn current_issuer(secret: &Value) -> Result<Certificate, Error> {
    let data = secret.get("data");
    let has = |k: &str| data.and_then(|d| d.get(k)).is_some();
    if !has("crt.pem") && has("tls.crt") {
        return Err(LinkerdError::IssuerExternal {
            message: format!(
                "the issuer in {NS}/{ISSUER_SECRET} is managed outside Linkerd (kubernetes.io/tls scheme)"
            ),
        }
        .into());
    }
    let malformed = |e: String| {
        LinkerdError::IssuerMalformed {
            message: format!("the identity issuer secret {NS}/{ISSUER_SECRET} is malformed: {e}"),
        }
        .into()
    };
    let (_, cert_pem) = secret_text(secret, &["crt.pem"]).map_err(malformed)?;
    secret_text(secret, &["key.pem"]).map_err(malformed)?;
    identity::certificates(&cert_pem)
        .map_err(|e| malformed(format!("crt.pem: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| malformed("crt.pem holds no certificate".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Signature, generate, generate_between};

    /// 2026-01-02T03:04:05Z.
    const NOW: u64 = 1_767_323_045;
    const DAY: u64 = 86_400;

    fn code(r: Result<Options, Error>) -> String {
        r.expect_err("refused").code
    }

    fn one(pem: &str) -> Certificate {
        identity::certificates(pem).unwrap().remove(0)
    }

    /// A trust anchor with its key: the issuer of a bundle plays it (a CA with a key we hold).
    fn anchor_and_key() -> (String, String) {
        let b = generate("cluster.local", NOW, 3650, 3000).unwrap();
        (b.issuer_cert_pem, b.issuer_key_pem)
    }

    #[test]
    fn bodies_json_text_and_yaml_like() {
        assert_eq!(parse_options("").unwrap(), Options::default());
        assert_eq!(parse_options("  \n").unwrap(), Options::default());
        let o = parse_options(r#"{"newTrustAnchor": true, "issuerValidityDays": 30, "anchorValidityDays": "400"}"#)
            .unwrap();
        assert_eq!(
            (o.new_trust_anchor, o.issuer_days, o.anchor_days),
            (Some(true), Some(30), Some(400))
        );

        let (cert, key) = anchor_and_key();
        let o = parse_options(&serde_json::json!({"trustAnchorCertPEM": cert, "trustAnchorKeyPEM": key}).to_string())
            .unwrap();
        assert_eq!(o.anchor_cert_pem.as_deref(), Some(cert.as_str()));
        assert_eq!(o.anchor_key_pem.as_deref(), Some(key.as_str()));
        assert!(!format!("{o:?}").contains("PRIVATE KEY"));

        // Pasted PEM blocks, option lines around them.
        let text = format!("# rotate\nissuerValidityDays: 90\n{cert}\n{key}");
        let o = parse_options(&text).unwrap();
        assert_eq!(o.issuer_days, Some(90));
        assert_eq!(o.anchor_cert_pem.as_deref(), Some(cert.as_str()));
        assert_eq!(o.anchor_key_pem.as_deref(), Some(key.as_str()));
        // The YAML form with block scalars.
        let indent = |s: &str| s.lines().map(|l| format!("  {l}\n")).collect::<String>();
        let yaml = format!(
            "trustAnchorCertPEM: |\n{}trustAnchorKeyPEM: |-\n{}",
            indent(&cert),
            indent(&key)
        );
        let o = parse_options(&yaml).unwrap();
        assert_eq!(o.anchor_cert_pem.as_deref(), Some(cert.as_str()));
        assert_eq!(o.anchor_key_pem.as_deref(), Some(key.as_str()));
        let o = parse_options("newTrustAnchor: true").unwrap();
        assert_eq!(o.new_trust_anchor, Some(true));
    }

    #[test]
    fn bad_bodies_are_refused_with_their_own_codes() {
        let (cert, key) = anchor_and_key();
        assert_eq!(code(parse_options("{not json")), "WASMESH-LINKERD-1513");
        assert_eq!(code(parse_options("[1, 2]")), "WASMESH-LINKERD-1513");
        assert_eq!(code(parse_options("just words")), "WASMESH-LINKERD-1513");
        assert_eq!(
            code(parse_options(r#"{"newTrustAnchr": true}"#)),
            "WASMESH-LINKERD-1511"
        );
        assert_eq!(code(parse_options("colour: blue")), "WASMESH-LINKERD-1511");
        assert_eq!(
            code(parse_options(r#"{"newTrustAnchor": "yes"}"#)),
            "WASMESH-LINKERD-1512"
        );
        assert_eq!(code(parse_options("newTrustAnchor: maybe")), "WASMESH-LINKERD-1512");
        assert_eq!(
            code(parse_options(r#"{"issuerValidityDays": 0}"#)),
            "WASMESH-LINKERD-1512"
        );
        assert_eq!(code(parse_options("anchorValidityDays: 40000")), "WASMESH-LINKERD-1512");
        assert_eq!(code(parse_options(&cert)), "WASMESH-LINKERD-1510");
        assert_eq!(code(parse_options(&key)), "WASMESH-LINKERD-1510");
        assert_eq!(
            code(parse_options(&format!("{cert}{cert}{key}"))),
            "WASMESH-LINKERD-1513"
        );
        assert_eq!(
            code(parse_options(&format!("newTrustAnchor: true\n{cert}{key}"))),
            "WASMESH-LINKERD-1507"
        );
        assert_eq!(
            code(parse_options(r#"{"newTrustAnchor": false}"#)),
            "WASMESH-LINKERD-1509"
        );
        // No error repeats the key.
        for body in [format!("{key}"), format!("newTrustAnchor: true\n{cert}{key}")] {
            let e = parse_options(&body).unwrap_err();
            let all = format!("{} {} {}", e.message, e.probable_cause, e.suggested_remediation);
            assert!(!all.contains(&key[40..60]), "{all}");
        }
    }

    #[test]
    fn with_a_trusted_anchor_the_issuer_is_signed_by_it_and_the_bundle_stays() {
        let (cert, key) = anchor_and_key();
        let other = generate("cluster.local", NOW, 3650, 365).unwrap();
        let anchors = identity::certificates(&format!("{}{cert}", other.trust_anchor_pem)).unwrap();
        let opts = parse_options(&format!("{cert}{key}")).unwrap();
        let r = rotation(&opts, &anchors, "cluster.local", NOW).unwrap();
        assert!(r.bundle.is_none());
        let issuer = one(&r.issuer.cert_pem);
        assert_eq!(identity::verify_signed_by(&issuer, &one(&cert)), Signature::Valid);
        assert_eq!(identity::common_name(&issuer), "identity.linkerd.cluster.local");
        assert_eq!(r.anchor_name, "identity.linkerd.cluster.local");
        assert_eq!(
            identity::check_key(&issuer, &r.issuer.key_pem),
            Ok(identity::KeyCheck::Matches)
        );
        assert_eq!(identity::validity_unix(&issuer).1, NOW + 365 * DAY);

        // An anchor the cluster does not trust is refused.
        let only_other = identity::certificates(&other.trust_anchor_pem).unwrap();
        let e = rotation(&opts, &only_other, "cluster.local", NOW).unwrap_err();
        assert_eq!(e.code, "WASMESH-LINKERD-1508");
        // A key that is not the anchor's is refused (identity's own code).
        let (_, foreign_key) = anchor_and_key();
        let opts = parse_options(&format!("{cert}{foreign_key}")).unwrap();
        assert_eq!(
            rotation(&opts, &anchors, "cluster.local", NOW).unwrap_err().code,
            "WASMESH-LINKERD-3007"
        );
    }

    #[test]
    fn a_new_anchor_joins_the_old_ones_in_the_bundle() {
        let current = generate("cluster.local", NOW - 100 * DAY, 3650, 365).unwrap();
        let expired = generate_between("cluster.local", NOW - 20 * DAY, NOW - DAY, NOW - DAY).unwrap();
        let bundle_pem = format!(
            "{}{}{}",
            current.trust_anchor_pem, expired.trust_anchor_pem, current.trust_anchor_pem
        );
        let anchors = identity::certificates(&bundle_pem).unwrap();
        let opts = Options {
            issuer_days: Some(10),
            ..Options::default()
        };
        let r = rotation(&opts, &anchors, "mesh.example.com", NOW).unwrap();
        let bundle = r.bundle.expect("a new bundle");
        assert_eq!((bundle.kept, bundle.dropped), (1, 1));
        let in_bundle = identity::certificates(&bundle.pem).unwrap();
        assert_eq!(in_bundle.len(), 2);
        assert_eq!(
            identity::der(&in_bundle[0]),
            identity::der(&anchors[0]),
            "old anchor kept first"
        );
        let issuer = one(&r.issuer.cert_pem);
        assert_eq!(identity::verify_signed_by(&issuer, &in_bundle[1]), Signature::Valid);
        assert_eq!(identity::verify_signed_by(&issuer, &in_bundle[0]), Signature::Invalid);
        assert_eq!(identity::common_name(&issuer), "identity.linkerd.mesh.example.com");
        assert_eq!(r.anchor_name, "root.mesh.example.com");
        assert_eq!(identity::validity_unix(&issuer).1, NOW + 10 * DAY);
        // The new bundle passes the check's reading of it, and the issuer chains.
        let (f, anchors) =
            crate::check::trust_roots_check(Some(&serde_json::json!({"data": {TRUST_ROOTS_KEY: bundle.pem}})), NOW);
        assert_eq!(f.level, Level::Info, "{f:?}");
        let secret = serde_json::json!({"data": {
            "crt.pem": identity::base64_encode(r.issuer.cert_pem.as_bytes()),
            "key.pem": identity::base64_encode(r.issuer.key_pem.as_bytes())}});
        let f = crate::check::issuer_check(Some(&secret), &anchors, NOW);
        // Ten days: it chains, and it warns that it ends within 30 days.
        assert_eq!(f.error.map(|e| e.code).as_deref(), Some("WASMESH-LINKERD-1419"));
    }

    #[test]
    fn applied_objects_keep_their_identity_and_take_the_new_data() {
        let existing = serde_json::json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": ISSUER_SECRET, "namespace": "linkerd", "uid": "u", "resourceVersion": "7",
                "labels": {"linkerd.io/control-plane-component": "identity"},
                "annotations": {"linkerd.io/created-by": "wasmesh", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
                "managedFields": []},
            "data": {"crt.pem": "old", "key.pem": "old"}});
        let obj = updated(&existing, serde_json::json!({"crt.pem": "new"}));
        assert_eq!(
            obj,
            serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": ISSUER_SECRET, "namespace": "linkerd",
                    "labels": {"linkerd.io/control-plane-component": "identity"},
                    "annotations": {"linkerd.io/created-by": "wasmesh"}},
                "data": {"crt.pem": "new"}})
        );
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": TRUST_ROOTS, "namespace": "linkerd"}});
        let obj = updated(&cm, serde_json::json!({TRUST_ROOTS_KEY: "x"}));
        assert!(obj.get("type").is_none() && obj["metadata"].get("labels").is_none());
    }

    #[test]
    fn the_trust_domain_comes_from_the_issuer_name() {
        let b = generate("mesh.example.com", NOW, 10, 5).unwrap();
        assert_eq!(
            trust_domain_of(&one(&b.issuer_cert_pem)).as_deref(),
            Some("mesh.example.com")
        );
        assert_eq!(trust_domain_of(&one(&b.trust_anchor_pem)), None);
    }

    #[test]
    fn malformed_or_external_issuer_secrets_are_refused() {
        let b = generate("cluster.local", NOW, 10, 5).unwrap();
        let e64 = |s: &str| identity::base64_encode(s.as_bytes());
        let ok = serde_json::json!({"data": {"crt.pem": e64(&b.issuer_cert_pem), "key.pem": e64(&b.issuer_key_pem)}});
        assert!(current_issuer(&ok).is_ok());
        let tls = serde_json::json!({"data": {"tls.crt": e64(&b.issuer_cert_pem), "tls.key": e64(&b.issuer_key_pem)}});
        assert_eq!(current_issuer(&tls).unwrap_err().code, "WASMESH-LINKERD-1502");
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"data": {"crt.pem": e64(&b.issuer_cert_pem)}}),
            serde_json::json!({"data": {"crt.pem": e64("junk"), "key.pem": e64("junk")}}),
            serde_json::json!({"data": {"crt.pem": "%%%", "key.pem": "%%%"}}),
        ] {
            assert_eq!(current_issuer(&bad).unwrap_err().code, "WASMESH-LINKERD-1503", "{bad}");
        }
    }
}
