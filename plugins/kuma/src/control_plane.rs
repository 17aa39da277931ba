//! What a standalone Kuma install writes (manifests/*.yaml, after Kuma's 2.9 Helm chart): CRDs,
//! kuma-control-plane's account, RBAC, config, TLS Secret, Service, Deployment and admission
//! webhooks, whose CA and serving certificate the plugin makes itself (as the chart's genCA).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::Value;
use wasmesh_sdk::{Error, design::KindGroups};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{GeneralizedTime, Ia5String};
use x509_cert::ext::pkix::{SubjectAltName, name::GeneralName};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, name::Name, serial_number::SerialNumber, spki::SubjectPublicKeyInfoOwned};

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
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        use x509_cert::der::EncodePem;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(text)?.as_secs();
        let at = |secs| GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).map(Time::GeneralTime);
        let validity = Validity {
            not_before: at(now - 300).map_err(text)?,
            not_after: at(now + CERT_DAYS * 86_400).map_err(text)?,
        };
        let (ca_key, leaf_key) = (signing_key()?, signing_key()?);
        let ca = certificate(Profile::Root, validity, "kuma-ca", &ca_key, &ca_key, &[])?;
        let leaf = Profile::Leaf {
            issuer: ca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let hosts = [format!("{NAME}.{NAMESPACE}"), format!("{NAME}.{NAMESPACE}.svc")];
        let leaf = certificate(leaf, validity, NAME, &leaf_key, &ca_key, &hosts)?;
        let pem = |c: Certificate| c.to_pem(LineEnding::LF).map_err(text);
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let key = leaf_key.to_pkcs8_pem(LineEnding::LF).map_err(text)?;
        let (crt, ca) = (b64(&pem(leaf)?), b64(&pem(ca)?));
        Ok(Tls {
            crt,
            key: b64(&key),
            ca,
        })
    }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

fn signing_key() -> Result<SigningKey, String> {
    let mut bytes = [0u8; 32];
    loop {
        getrandom::fill(&mut bytes).map_err(text)?;
        if let Ok(k) = SigningKey::from_slice(&bytes) {
            return Ok(k);
        }
    }
}

/// A certificate of `key` named `CN=<cn>` (and `hosts`, as DNS names), with a random serial.
fn certificate(
    profile: Profile,
    validity: Validity,
    cn: &str,
    key: &SigningKey,
    by: &SigningKey,
    hosts: &[String],
) -> Result<Certificate, String> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(text)?;
    serial[0] = (serial[0] & 0x7f) | 1;
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(text)?;
    let serial = SerialNumber::new(&serial).map_err(text)?;
    let subject: Name = format!("CN={cn}").parse().map_err(text)?;
    let mut builder = CertificateBuilder::new(profile, serial, validity, subject, spki, by).map_err(text)?;
    if !hosts.is_empty() {
        let names = hosts
            .iter()
            .map(|h| Ia5String::new(h).map(GeneralName::DnsName))
            .collect::<Result<_, _>>();
        builder
            .add_extension(&SubjectAltName(names.map_err(text)?))
            .map_err(text)?;
    }
    builder.build::<DerSignature>().map_err(text)
}
