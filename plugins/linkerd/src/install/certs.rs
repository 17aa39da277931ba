//! TLS for the control plane's admission webhooks (proxy injector, ServiceProfile validator,
//! policy validator), made in the plugin: per webhook, a CA and a serving certificate for
//! `<service>.<namespace>.svc` signed by it. The webhook configuration's caBundle is the CA; the
//! `kubernetes.io/tls` Secret the webhook server mounts holds the serving certificate and its key.
//!
//! Upstream's chart uses one self-signed certificate (Helm's genSelfSignedCert, 365 days) as both;
//! a separate CA keeps the key that the API server trusts out of the pod. Keys are ECDSA P-256,
//! written as SEC1 "EC PRIVATE KEY", which both the Go webhooks (pkg/tls.DecodePEMKey) and the
//! Rust policy controller read.

use core::time::Duration;

use p256::ecdsa::{DerSignature, SigningKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::LineEnding;
use p256::{FieldBytes, SecretKey};
use sec1::EncodeEcPrivateKey;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{Any, GeneralizedTime, Ia5String, SetOfVec, Utf8StringRef};
use x509_cert::der::oid::db::rfc4519::CN;
use x509_cert::der::oid::db::rfc5280::ID_KP_SERVER_AUTH;
use x509_cert::der::{DecodePem, EncodePem};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use wasmesh_sdk::Error;

/// Lifetime of a webhook CA and its serving certificate, as upstream's chart (365 days).
pub const WEBHOOK_CERT_DAYS: u64 = 365;
/// An existing webhook certificate is kept on re-install unless it ends within this many days.
pub const RENEW_BEFORE_DAYS: u64 = 30;

const DAY: u64 = 86_400;

/// One webhook's TLS material, base64 as Kubernetes stores it (Secret data, caBundle).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTls {
    pub tls_crt_b64: String,
    pub tls_key_b64: String,
    pub ca_bundle_b64: String,
}

impl core::fmt::Debug for WebhookTls {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WebhookTls")
            .field("tls_crt_b64", &self.tls_crt_b64)
            .field("tls_key_b64", &"<redacted>")
            .field("ca_bundle_b64", &self.ca_bundle_b64)
            .finish()
    }
}

/// A new CA and serving certificate for the DNS name `host` (e.g. linkerd-sp-validator.linkerd.svc).
pub fn generate(host: &str, now_unix: u64) -> Result<WebhookTls, Error> {
    let not_before = now_unix.saturating_sub(5 * 60);
    let not_after = now_unix + WEBHOOK_CERT_DAYS * DAY;
    let validity = Validity {
        not_before: time(not_before)?,
        not_after: time(not_after)?,
    };
    let ca_key = SigningKey::from(&random_key()?);
    let leaf_secret = random_key()?;
    let leaf_key = SigningKey::from(&leaf_secret);
    let ca_name = format!("webhook-ca.{host}");
    let ca = build(Profile::Root, &ca_name, validity, &ca_key, &ca_key, false)?;
    let leaf = build(
        Profile::Leaf {
            issuer: ca.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        host,
        validity,
        &leaf_key,
        &ca_key,
        true,
    )?;
    drop(ca_key);
    let key_pem: Zeroizing<String> = EncodeEcPrivateKey::to_sec1_pem(&leaf_secret, LineEnding::LF)
        .map_err(|e| cert_error(format!("the key for {host} could not be encoded: {e}")))?;
    Ok(WebhookTls {
        tls_crt_b64: encode(pem(&leaf)?.as_bytes()),
        tls_key_b64: encode(key_pem.as_bytes()),
        ca_bundle_b64: encode(pem(&ca)?.as_bytes()),
    })
}

/// Whether an existing base64 PEM certificate parses and stays valid past the renewal margin.
pub fn still_good(cert_b64: &str, now_unix: u64) -> bool {
    let Some(pem) = decode(cert_b64) else {
        return false;
    };
    let Ok(cert) = Certificate::from_pem(&pem) else {
        return false;
    };
    let not_after = cert.tbs_certificate.validity.not_after.to_unix_duration().as_secs();
    not_after > now_unix + RENEW_BEFORE_DAYS * DAY
}

fn build(
    profile: Profile,
    name: &str,
    validity: Validity,
    subject_key: &SigningKey,
    signer: &SigningKey,
    server: bool,
) -> Result<Certificate, Error> {
    let fail = |what: &str, e: &dyn core::fmt::Display| cert_error(format!("the certificate {name} ({what}): {e}"));
    let cn = AttributeTypeAndValue {
        oid: CN,
        value: Any::encode_from(&Utf8StringRef::new(name).map_err(|e| fail("name", &e))?)
            .map_err(|e| fail("name", &e))?,
    };
    let subject = RdnSequence(vec![RelativeDistinguishedName(
        SetOfVec::try_from(vec![cn]).map_err(|e| fail("name", &e))?,
    )]);
    let spki = SubjectPublicKeyInfoOwned::from_key(*subject_key.verifying_key()).map_err(|e| fail("public key", &e))?;
    let mut builder = CertificateBuilder::new(profile, serial()?, validity, Name::from(subject), spki, signer)
        .map_err(|e| fail("profile", &e))?;
    if server {
        let dns = Ia5String::new(name).map_err(|e| fail("DNS name", &e))?;
        builder
            .add_extension(&SubjectAltName(vec![GeneralName::DnsName(dns)]))
            .map_err(|e| fail("subjectAltName", &e))?;
        builder
            .add_extension(&ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]))
            .map_err(|e| fail("extendedKeyUsage", &e))?;
    }
    builder.build::<DerSignature>().map_err(|e| fail("signature", &e))
}

fn time(secs: u64) -> Result<Time, Error> {
    GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
        .map(Time::GeneralTime)
        .map_err(|e| cert_error(format!("a webhook certificate date is out of range: {e}")))
}

fn pem(cert: &Certificate) -> Result<String, Error> {
    cert.to_pem(LineEnding::LF)
        .map_err(|e| cert_error(format!("a webhook certificate could not be PEM-encoded: {e}")))
}

fn random_key() -> Result<SecretKey, Error> {
    for _ in 0..64 {
        let mut bytes = Zeroizing::new(FieldBytes::default());
        getrandom::fill(bytes.as_mut_slice()).map_err(|e| cert_error(format!("no random numbers: {e}")))?;
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
    Err(cert_error(
        "the random source kept returning values that are not P-256 keys".into(),
    ))
}

fn serial() -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| cert_error(format!("no random numbers: {e}")))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    SerialNumber::new(&bytes).map_err(|e| cert_error(format!("serial number: {e}")))
}

fn cert_error(reason: String) -> Error {
    wasmesh_sdk::error(
        format!("{}-1107", crate::CODE),
        format!("the admission webhook certificates could not be made: {reason}"),
        "building the webhook TLS certificates inside the Linkerd translator failed (a bug, or \
         the host's random source failed)",
        "retry the operation; if it fails again, report it as a wasmesh bug with the message above",
    )
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as Kubernetes writes Secret data and caBundle.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 (padding optional, whitespace ignored); None when malformed.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padding = false;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            padding = true;
            continue;
        }
        if padding {
            return None;
        }
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    use x509_cert::der::Encode;

    const NOW: u64 = 1_767_323_045;

    fn cert(b64: &str) -> Certificate {
        Certificate::from_pem(decode(b64).unwrap()).unwrap()
    }

    #[test]
    fn base64_round_trips_and_matches_known_values() {
        for (raw, b64) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(raw.as_bytes()), b64);
            assert_eq!(decode(b64).unwrap(), raw.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&all)).unwrap(), all);
        assert_eq!(decode("Zm9v\nYmFy").unwrap(), b"foobar");
        assert!(decode("Zm9v!").is_none());
        assert!(decode("Zg==Zg").is_none());
    }

    #[test]
    fn serving_certificate_is_signed_by_the_ca_bundle() {
        let tls = generate("linkerd-proxy-injector.linkerd.svc", NOW).unwrap();
        let (ca, leaf) = (cert(&tls.ca_bundle_b64), cert(&tls.tls_crt_b64));
        assert_eq!(leaf.tbs_certificate.issuer, ca.tbs_certificate.subject);
        let ca_pub = VerifyingKey::from_sec1_bytes(
            ca.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        let sig = DerSignature::from_bytes(leaf.signature.raw_bytes()).unwrap();
        assert!(ca_pub.verify(&leaf.tbs_certificate.to_der().unwrap(), &sig).is_ok());
        assert_eq!(
            leaf.tbs_certificate.subject.to_string(),
            "CN=linkerd-proxy-injector.linkerd.svc"
        );
        let key = String::from_utf8(decode(&tls.tls_key_b64).unwrap()).unwrap();
        assert!(key.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let secret = SecretKey::from_sec1_pem(&key).unwrap();
        let leaf_pub = VerifyingKey::from_sec1_bytes(
            leaf.tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes(),
        )
        .unwrap();
        assert_eq!(VerifyingKey::from(secret.public_key()), leaf_pub);
        assert!(!format!("{tls:?}").contains(&tls.tls_key_b64));
    }

    #[test]
    fn renewal_margin() {
        let tls = generate("x.linkerd.svc", NOW).unwrap();
        assert!(still_good(&tls.tls_crt_b64, NOW));
        assert!(!still_good(
            &tls.tls_crt_b64,
            NOW + (WEBHOOK_CERT_DAYS - RENEW_BEFORE_DAYS + 1) * DAY
        ));
        assert!(!still_good("bm90IGEgY2VydA==", NOW));
        assert!(!still_good("!!", NOW));
    }
}
