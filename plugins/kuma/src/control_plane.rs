//! What a standalone Kuma install writes (manifests/*.yaml, after Kuma's 2.9 Helm chart): CRDs,
//! kuma-control-plane's account, RBAC, config, TLS Secret, Service, Deployment and admission
//! webhooks, whose CA and serving certificate the plugin makes itself (as the chart's genCA).

use base64::Engine;
use serde_json::Value;
use wasmesh_sdk::Error;
use wasmesh_sdk::design::KindGroups;

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
        use p256::ecdsa::{DerSignature, SigningKey};
        use p256::pkcs8::{EncodePrivateKey, LineEnding};
        use x509_cert::builder::{Builder, CertificateBuilder, Profile};
        use x509_cert::der::EncodePem;
        use x509_cert::der::asn1::Ia5String;
        use x509_cert::ext::pkix::{SubjectAltName, name::GeneralName};
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?;
        let at = |secs: u64| {
            x509_cert::der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map(x509_cert::time::Time::GeneralTime)
                .map_err(|e| e.to_string())
        };
        let validity = x509_cert::time::Validity {
            not_before: at(now.as_secs() - 300)?,
            not_after: at(now.as_secs() + CERT_DAYS * 86_400)?,
        };
        let key = || -> Result<SigningKey, String> {
            let mut bytes = [0u8; 32];
            loop {
                getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
                if let Ok(k) = SigningKey::from_slice(&bytes) {
                    return Ok(k);
                }
            }
        };
        let serial = || -> Result<x509_cert::serial_number::SerialNumber, String> {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
            bytes[0] = (bytes[0] & 0x7f) | 1;
            x509_cert::serial_number::SerialNumber::new(&bytes).map_err(|e| e.to_string())
        };
        let spki = |k: &SigningKey| {
            x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(*k.verifying_key()).map_err(|e| e.to_string())
        };
        let name = |cn: &str| cn.parse::<x509_cert::name::Name>().map_err(|e| e.to_string());
        let err = |e: x509_cert::builder::Error| e.to_string();
        let pem = |c: x509_cert::Certificate| c.to_pem(LineEnding::LF).map_err(|e| e.to_string());

        let (ca_key, leaf_key) = (key()?, key()?);
        let ca_name = name("CN=kuma-ca")?;
        let ca = CertificateBuilder::new(
            Profile::Root,
            serial()?,
            validity,
            ca_name.clone(),
            spki(&ca_key)?,
            &ca_key,
        )
        .map_err(err)?
        .build::<DerSignature>()
        .map_err(err)?;
        let hosts = [format!("{NAME}.{NAMESPACE}"), format!("{NAME}.{NAMESPACE}.svc")];
        let profile = Profile::Leaf {
            issuer: ca_name,
            enable_key_agreement: false,
            enable_key_encipherment: false,
        };
        let mut leaf = CertificateBuilder::new(
            profile,
            serial()?,
            validity,
            name(&format!("CN={NAME}"))?,
            spki(&leaf_key)?,
            &ca_key,
        )
        .map_err(err)?;
        let sans = hosts
            .iter()
            .map(|h| Ia5String::new(h).map(GeneralName::DnsName))
            .collect::<Result<Vec<_>, _>>();
        leaf.add_extension(&SubjectAltName(sans.map_err(|e| e.to_string())?))
            .map_err(err)?;
        let leaf = leaf.build::<DerSignature>().map_err(err)?;
        let key_pem = leaf_key.to_pkcs8_pem(LineEnding::LF).map_err(|e| e.to_string())?;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        Ok(Tls {
            crt: b64(&pem(leaf)?),
            key: b64(&key_pem),
            ca: b64(&pem(ca)?),
        })
    }
}
