//! Certificates a translator makes itself (feature `certs`): webhook and API serving
//! certificates with their CA, and the building blocks of other certificates (a mesh's identity
//! CAs). Pure Rust (RustCrypto `p256`, `x509-cert`), so it builds for wasm32-wasip2; randomness
//! comes from `getrandom`, which in a plugin asks the host through `wasi:random`. Keys are ECDSA
//! P-256; the time is a parameter. Each caller turns a [`CertFailure`] into its own error code.
//!
//! ```
//! use wasmesh_sdk::certs::{ServingSigner, serving_cert};
//! let c = serving_cert(&["hook.mesh-system.svc"], ServingSigner::OwnCa, 1_767_323_045, 365).unwrap();
//! assert!(c.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
//! assert_ne!(c.ca_pem, c.cert_pem);
//! ```

use core::fmt;
use core::time::Duration;

use p256::ecdsa::{DerSignature, SigningKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::LineEnding;
use p256::{FieldBytes, SecretKey};
use sec1::EncodeEcPrivateKey;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::asn1::{Any, GeneralizedTime, Ia5String, SetOfVec, Utf8StringRef};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::oid::db::rfc4519::CN;
use x509_cert::der::oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// How far back certificates start, for clocks a little behind ours.
pub const CLOCK_SKEW_SECONDS: u64 = 5 * 60;

const DAY_SECONDS: u64 = 24 * 60 * 60;

/// Why a certificate could not be made.
#[derive(Debug)]
pub enum CertFailure {
    /// The random source (wasi:random) failed.
    Random(String),
    /// Encoding failed: a bug.
    Build(String),
}

impl fmt::Display for CertFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertFailure::Random(reason) => write!(f, "the random source failed: {reason}"),
            CertFailure::Build(reason) => f.write_str(reason),
        }
    }
}

/// What a certificate says besides its key and its signer.
pub struct CertSpec<'a> {
    pub profile: Profile,
    /// The subject's common name.
    pub name: &'a str,
    /// subjectAltName DNS names; none when empty.
    pub dns_names: &'a [&'a str],
    /// extendedKeyUsage; none when empty.
    pub extended_key_usage: &'a [ObjectIdentifier],
    pub validity: Validity,
}

/// A certificate for `subject_key` as `spec` says, with a random serial, signed by `signer`.
pub fn build_certificate(
    spec: CertSpec<'_>,
    subject_key: &SigningKey,
    signer: &SigningKey,
) -> Result<Certificate, CertFailure> {
    let name = spec.name;
    let fail = |what: &str, e: &dyn fmt::Display| {
        CertFailure::Build(format!("the certificate {name} could not be built ({what}): {e}"))
    };
    let subject = common_name_only(name).map_err(|e| fail("subject", &e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*subject_key.verifying_key()).map_err(|e| fail("public key", &e))?;
    let mut builder = CertificateBuilder::new(spec.profile, random_serial()?, spec.validity, subject, spki, signer)
        .map_err(|e| fail("profile", &e))?;
    if !spec.dns_names.is_empty() {
        let mut names = Vec::with_capacity(spec.dns_names.len());
        for dns in spec.dns_names {
            names.push(GeneralName::DnsName(
                Ia5String::new(dns).map_err(|e| fail("DNS name", &e))?,
            ));
        }
        builder
            .add_extension(&SubjectAltName(names))
            .map_err(|e| fail("subjectAltName", &e))?;
    }
    if !spec.extended_key_usage.is_empty() {
        builder
            .add_extension(&ExtendedKeyUsage(spec.extended_key_usage.to_vec()))
            .map_err(|e| fail("extendedKeyUsage", &e))?;
    }
    builder.build::<DerSignature>().map_err(|e| fail("signature", &e))
}

/// The name `CN=<name>` (UTF8String), built directly: `Name::from_str` would link const-oid's
/// table of attribute names, about 87 KB of wasm.
pub fn common_name_only(name: &str) -> x509_cert::der::Result<Name> {
    let cn = AttributeTypeAndValue {
        oid: CN,
        value: Any::encode_from(&Utf8StringRef::new(name)?)?,
    };
    Ok(RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![
        cn,
    ])?)]))
}

/// The certificate as PEM "CERTIFICATE".
pub fn to_pem(certificate: &Certificate) -> Result<String, CertFailure> {
    certificate
        .to_pem(LineEnding::LF)
        .map_err(|e| CertFailure::Build(format!("a certificate could not be PEM-encoded: {e}")))
}

/// The key as PEM "EC PRIVATE KEY" (SEC1) with its curve named. Not SecretKey::to_sec1_pem: it
/// leaves out the curve (the optional `parameters` field), and Go's x509.ParseECPrivateKey, which
/// Linkerd uses, then fails with "unknown elliptic curve". sec1's encoder (through PKCS#8) names
/// the curve, as RFC 5915 asks.
pub fn key_pem(secret: &SecretKey) -> Result<Zeroizing<String>, CertFailure> {
    EncodeEcPrivateKey::to_sec1_pem(secret, LineEnding::LF)
        .map_err(|e| CertFailure::Build(format!("a private key could not be encoded: {e}")))
}

/// A validity window; `None` when an end is past what X.509 can say (year 9999).
pub fn validity(not_before: u64, not_after: u64) -> Option<Validity> {
    // GeneralizedTime here; the builder turns years up to 2049 into UTCTime (RFC 5280 4.1.2.5).
    let time = |secs| {
        GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
            .ok()
            .map(Time::GeneralTime)
    };
    Some(Validity {
        not_before: time(not_before)?,
        not_after: time(not_after)?,
    })
}

/// A P-256 private key: 32 random bytes, drawn again in the (about 2^-32) case they are not a
/// valid scalar (zero or not below the group order).
pub fn new_key() -> Result<SecretKey, CertFailure> {
    for _ in 0..64 {
        let mut bytes = Zeroizing::new(FieldBytes::default());
        random_bytes(bytes.as_mut_slice())?;
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
    Err(CertFailure::Random(
        "the random source kept returning values that are not P-256 keys".into(),
    ))
}

/// A positive serial number of exactly 20 octets (RFC 5280's maximum), 159 bits of which are
/// random but for a first octet kept non-zero.
fn random_serial() -> Result<SerialNumber, CertFailure> {
    let mut bytes = [0u8; 20];
    random_bytes(&mut bytes)?;
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 1;
    }
    SerialNumber::new(&bytes).map_err(|e| CertFailure::Build(format!("the serial number could not be encoded: {e}")))
}

fn random_bytes(buf: &mut [u8]) -> Result<(), CertFailure> {
    getrandom::fill(buf).map_err(|e| CertFailure::Random(e.to_string()))
}

/// A serving certificate for a webhook or an aggregated API, its key, and the CA the API server
/// is to trust (the caBundle), all PEM.
pub struct ServingCert {
    pub cert_pem: String,
    pub key_pem: String,
    /// The CA that signed `cert_pem`; `cert_pem` itself when it is self-signed.
    pub ca_pem: String,
}

impl fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServingCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .field("ca_pem", &self.ca_pem)
            .finish()
    }
}

/// How a [`serving_cert`] is signed.
pub enum ServingSigner {
    /// By a new CA of its own (`webhook-ca.<host>`), whose key is dropped once it has signed:
    /// the API server trusts the CA, and the key it trusts never enters the pod. extendedKeyUsage
    /// serverAuth; keyUsage digitalSignature.
    OwnCa,
    /// By itself, as Helm's `genSelfSignedCert` makes the upstream charts' certificates: the API
    /// server trusts the certificate itself (Go accepts a certificate that is in its root pool).
    /// extendedKeyUsage serverAuth and clientAuth; keyUsage digitalSignature and keyEncipherment.
    SelfSigned,
}

/// A serving certificate named `dns_names[0]` (subject CN) for `dns_names` (DNS SANs), valid from
/// `now_unix` - 5 min for `days` days, with a new ECDSA P-256 key.
pub fn serving_cert(
    dns_names: &[&str],
    signer: ServingSigner,
    now_unix: u64,
    days: u64,
) -> Result<ServingCert, CertFailure> {
    let host = dns_names.first().copied().unwrap_or_default();
    let validity = validity(
        now_unix.saturating_sub(CLOCK_SKEW_SECONDS),
        now_unix.saturating_add(days * DAY_SECONDS),
    )
    .ok_or_else(|| CertFailure::Build(format!("the certificate {host} would end after the year 9999")))?;
    let secret = new_key()?;
    let key = SigningKey::from(&secret);
    let (cert, ca) = match signer {
        ServingSigner::OwnCa => {
            let (cert, ca) = signed_by_new_ca(&format!("webhook-ca.{host}"), host, dns_names, validity, &key)?;
            (cert, Some(ca))
        }
        ServingSigner::SelfSigned => {
            let subject = common_name_only(host).map_err(|e| CertFailure::Build(format!("{host}: {e}")))?;
            let spec = CertSpec {
                profile: Profile::Leaf {
                    issuer: subject,
                    enable_key_agreement: false,
                    enable_key_encipherment: true,
                },
                name: host,
                dns_names,
                extended_key_usage: &[ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH],
                validity,
            };
            (build_certificate(spec, &key, &key)?, None)
        }
    };
    let cert_pem = to_pem(&cert)?;
    Ok(ServingCert {
        ca_pem: match ca {
            Some(ca) => to_pem(&ca)?,
            None => cert_pem.clone(),
        },
        cert_pem,
        key_pem: key_pem(&secret)?.as_str().to_owned(),
    })
}

/// A serving certificate for `key` named `name` (subject CN) for `dns_names`, signed by a new CA
/// named `ca_name` whose key is dropped once it has signed: (certificate, CA). extendedKeyUsage
/// serverAuth; keyUsage digitalSignature.
fn signed_by_new_ca(
    ca_name: &str,
    name: &str,
    dns_names: &[&str],
    validity: Validity,
    key: &SigningKey,
) -> Result<(Certificate, Certificate), CertFailure> {
    let ca_key = SigningKey::from(&new_key()?);
    let ca_spec = CertSpec {
        profile: Profile::Root,
        name: ca_name,
        dns_names: &[],
        extended_key_usage: &[],
        validity,
    };
    let ca = build_certificate(ca_spec, &ca_key, &ca_key)?;
    let leaf = CertSpec {
        profile: Profile::Leaf {
            issuer: ca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        name,
        dns_names,
        extended_key_usage: &[ID_KP_SERVER_AUTH],
        validity,
    };
    Ok((build_certificate(leaf, key, &ca_key)?, ca))
}

/// A serving certificate named `name` (subject CN) for `dns_names`, signed by a new CA named
/// `ca_name` (as Helm charts' `genCA` and `genSignedCert` make them), valid from `now_unix` - 5
/// min for `days` days, with a new key; [`ServingSigner::OwnCa`] with names of the caller's.
pub fn serving_cert_with_ca(
    ca_name: &str,
    name: &str,
    dns_names: &[&str],
    now_unix: u64,
    days: u64,
) -> Result<ServingCert, CertFailure> {
    let validity = validity(
        now_unix.saturating_sub(CLOCK_SKEW_SECONDS),
        now_unix.saturating_add(days.saturating_mul(DAY_SECONDS)),
    )
    .ok_or_else(|| CertFailure::Build(format!("the certificate {name} would end after the year 9999")))?;
    let secret = new_key()?;
    let (cert, ca) = signed_by_new_ca(ca_name, name, dns_names, validity, &SigningKey::from(&secret))?;
    Ok(ServingCert {
        ca_pem: to_pem(&ca)?,
        cert_pem: to_pem(&cert)?,
        key_pem: key_pem(&secret)?.as_str().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use x509_cert::der::DecodePem;

    use super::*;

    #[test]
    fn a_named_ca_signs_a_leaf_with_the_callers_names() {
        let c = serving_cert_with_ca("kuma-ca", "kuma-control-plane", &["a.b", "a.b.svc"], 1_767_323_045, 10).unwrap();
        let ca = Certificate::from_pem(&c.ca_pem).unwrap();
        let leaf = Certificate::from_pem(&c.cert_pem).unwrap();
        assert_eq!(ca.tbs_certificate.subject.to_string(), "CN=kuma-ca");
        assert_eq!(leaf.tbs_certificate.subject.to_string(), "CN=kuma-control-plane");
        assert_eq!(leaf.tbs_certificate.issuer, ca.tbs_certificate.subject);
        assert!(c.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        assert!(format!("{c:?}").contains("<redacted>") && !format!("{c:?}").contains("PRIVATE"));
    }
}
