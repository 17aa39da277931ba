//! What a standalone Kuma install writes (manifests/*.yaml, after Kuma's 2.9 Helm chart): CRDs,
//! kuma-control-plane's account, RBAC, config, TLS Secret, Service, Deployment and admission
//! webhooks, whose CA and serving certificate the plugin makes with the SDK's certs (as the
//! chart's genCA).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;
use wasmesh_sdk::{Error, design::KindGroups};

use crate::Install;

pub const VERSION: &str = "2.9.3";
pub const NAMESPACE: &str = "kuma-system";
const NAME: &str = "kuma-control-plane";
const CERT_DAYS: u64 = 3650; // as the chart's genCA / genSignedCert
const CRDS: &str = include_str!("../manifests/crds.yaml");
const CONTROL_PLANE: &str = include_str!("../manifests/control-plane.yaml");

macro_rules! kinds {
    ($(($kind:literal, $plural:literal)),*) => { &[$(($kind, &[("kuma.io", $plural, &["v1alpha1"])])),*] };
}
/// The kinds of manifests/crds.yaml, passed through in designs (a unit test checks they agree).
pub const KINDS: &[(&str, KindGroups)] = kinds![
    ("Mesh", "meshes"),
    ("Dataplane", "dataplanes"),
    ("MeshTrafficPermission", "meshtrafficpermissions"),
    ("MeshTimeout", "meshtimeouts"),
    ("MeshRetry", "meshretries"),
    ("MeshHealthCheck", "meshhealthchecks"),
    ("MeshCircuitBreaker", "meshcircuitbreakers"),
    ("MeshHTTPRoute", "meshhttproutes"),
    ("MeshTCPRoute", "meshtcproutes"),
    ("MeshLoadBalancingStrategy", "meshloadbalancingstrategies"),
    ("MeshRateLimit", "meshratelimits"),
    ("MeshAccessLog", "meshaccesslogs")
];

pub fn crds() -> Vec<Value> {
    wasmesh_sdk::yaml::parse_objects(CRDS, crate::KumaError::PREFIX).unwrap_or_default()
}

/// Every object of the install, namespace and CRDs first.
pub fn objects(o: &Install, tls: &Tls) -> Result<Vec<Value>, Error> {
    let filled = [
        ("${REGISTRY}", o.registry.as_str()),
        ("${VERSION}", VERSION),
        ("${TLS_CRT}", &tls.crt),
        ("${TLS_KEY}", &tls.key),
        ("${CA_BUNDLE}", &tls.ca),
    ]
    .iter()
    .fold(CONTROL_PLANE.to_string(), |yaml, (from, to)| yaml.replace(from, to));
    let mut objects = wasmesh_sdk::yaml::parse_objects(&filled, crate::KumaError::PREFIX)?;
    objects.splice(1..1, crds());
    Ok(objects)
}

/// The webhooks' TLS, base64 as Kubernetes stores it; empty for an uninstall's object list.
#[derive(Default)]
pub struct Tls {
    crt: String,
    key: String,
    ca: String,
}

impl Tls {
    /// A new CA (`kuma-ca`) and a certificate for kuma-control-plane's Service signed by it.
    pub fn generate() -> Result<Tls, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let hosts = [format!("{NAME}.{NAMESPACE}"), format!("{NAME}.{NAMESPACE}.svc")];
        let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
        let c = wasmesh_sdk::certs::serving_cert_with_ca("kuma-ca", NAME, &hosts, now, CERT_DAYS)
            .map_err(|e| e.to_string())?;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        Ok(Tls {
            crt: b64(&c.cert_pem),
            key: b64(&c.key_pem),
            ca: b64(&c.ca_pem),
        })
    }
}
