//! Serving certificates for the extensions' webhooks and aggregated API (tap), made in the
//! plugin as the upstream charts make them with Helm's `genSelfSignedCert`: one self-signed
//! ECDSA P-256 certificate for `<service>.<namespace>.svc`, used both as the server's
//! certificate and as the `caBundle` the API server trusts.
//!
//! The key is SEC1 ("EC PRIVATE KEY") with its curve named, which Go's TLS stack and Linkerd's
//! `pkg/tls` both read.

use core::time::Duration;

use p256::ecdsa::{DerSignature, SigningKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use p256::pkcs8::LineEnding;
use p256::{FieldBytes, SecretKey};
use sec1::EncodeEcPrivateKey;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::asn1::{Any, GeneralizedTime, Ia5String, SetOfVec, Utf8StringRef};
use x509_cert::der::oid::db::rfc4519::CN;
use x509_cert::der::oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use wasmesh_sdk::Error;

use super::code;

/// Days a serving certificate is valid (the upstream charts use 365).
pub const VALID_DAYS: u64 = 365;
const SKEW_SECONDS: u64 = 5 * 60;

/// A serving certificate and its key, PEM.
pub struct ServingCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl core::fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServingCert")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// A self-signed certificate for the Service `service` in `namespace`: subject CN
/// `<service>.<namespace>.svc`, DNS names `<service>.<namespace>.svc` and
/// `<service>.<namespace>.svc.cluster.local`, an end-entity certificate (basicConstraints CA
/// false, key usages digitalSignature and keyEncipherment, extended key usages serverAuth and
/// clientAuth), valid from `now_unix` - 5 min for [`VALID_DAYS`] days. The API server trusts it
/// as its own caBundle: Go accepts a certificate that is itself in the root pool.
pub fn serving_cert(service: &str, namespace: &str, now_unix: u64) -> Result<ServingCert, Error> {
    let host = format!("{service}.{namespace}.svc");
    let fail = |what: &str, e: &dyn core::fmt::Display| build_error(format!("{host} ({what}): {e}"));
    let secret = random_secret_key()?;
    let key = SigningKey::from(&secret);
    let time = |secs: u64| {
        GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
            .map(Time::GeneralTime)
            .map_err(|e| fail("validity", &e))
    };
    let validity = Validity {
        not_before: time(now_unix.saturating_sub(SKEW_SECONDS))?,
        not_after: time(now_unix.saturating_add(VALID_DAYS * 24 * 3600))?,
    };
    let subject = common_name(&host).map_err(|e| fail("subject", &e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(|e| fail("public key", &e))?;
    // Self-issued: the issuer is the subject, the signer its own key.
    let profile = Profile::Leaf {
        issuer: subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: true,
    };
    let mut builder = CertificateBuilder::new(profile, random_serial()?, validity, subject, spki, &key)
        .map_err(|e| fail("profile", &e))?;
    let mut names = Vec::new();
    for name in [host.clone(), format!("{host}.cluster.local")] {
        names.push(GeneralName::DnsName(
            Ia5String::new(&name).map_err(|e| fail("DNS name", &e))?,
        ));
    }
    builder
        .add_extension(&ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH]))
        .map_err(|e| fail("extendedKeyUsage", &e))?;
    builder
        .add_extension(&SubjectAltName(names))
        .map_err(|e| fail("subjectAltName", &e))?;
    let cert = builder.build::<DerSignature>().map_err(|e| fail("signature", &e))?;
    let cert_pem = cert.to_pem(LineEnding::LF).map_err(|e| fail("PEM", &e))?;
    let key_pem: Zeroizing<String> =
        EncodeEcPrivateKey::to_sec1_pem(&secret, LineEnding::LF).map_err(|e| fail("key PEM", &e))?;
    Ok(ServingCert {
        cert_pem,
        key_pem: key_pem.as_str().to_owned(),
    })
}

fn common_name(name: &str) -> x509_cert::der::Result<Name> {
    let cn = AttributeTypeAndValue {
        oid: CN,
        value: Any::encode_from(&Utf8StringRef::new(name)?)?,
    };
    Ok(RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![
        cn,
    ])?)]))
}

fn random_secret_key() -> Result<SecretKey, Error> {
    for _ in 0..64 {
        let mut bytes = Zeroizing::new(FieldBytes::default());
        random_bytes(bytes.as_mut_slice())?;
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
    Err(random_error(
        "the random source kept returning values that are not P-256 keys",
    ))
}

fn random_serial() -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 20];
    random_bytes(&mut bytes)?;
    bytes[0] = (bytes[0] & 0x7f).max(1);
    SerialNumber::new(&bytes).map_err(|e| build_error(format!("serial number: {e}")))
}

fn random_bytes(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|e| random_error(&e.to_string()))
}

fn random_error(reason: &str) -> Error {
    wasmesh_sdk::error(
        code(1210),
        format!("no random numbers for an extension's serving certificate: {reason}"),
        "the plugin's random source (wasi:random, provided by the wasmesh host) failed",
        "retry; if it keeps failing, check the host's logs and report it as a wasmesh bug",
    )
}

fn build_error(reason: String) -> Error {
    wasmesh_sdk::error(
        code(1211),
        format!("the serving certificate for {reason} could not be built"),
        "a bug in the Linkerd translator's certificate code",
        "report it as a wasmesh bug; meanwhile install the extension with the linkerd CLI",
    )
}

/// Standard base64 (RFC 4648, with padding), for Secret and caBundle fields.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    use x509_cert::Certificate;
    use x509_cert::der::oid::AssociatedOid;
    use x509_cert::der::{Decode, DecodePem, Encode};

    const NOW: u64 = 1_767_323_045;

    fn ext<'a, E: AssociatedOid + Decode<'a>>(cert: &'a Certificate) -> E {
        let e = cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|e| e.extn_id == E::OID)
            .expect("extension present");
        E::from_der(e.extn_value.as_bytes()).unwrap()
    }

    #[test]
    fn self_signed_serving_certificate_for_the_service() {
        let c = serving_cert("tap", "linkerd-viz", NOW).unwrap();
        let cert = Certificate::from_pem(c.cert_pem.as_bytes()).unwrap();
        assert_eq!(cert.tbs_certificate.subject.to_string(), "CN=tap.linkerd-viz.svc");
        assert_eq!(cert.tbs_certificate.issuer, cert.tbs_certificate.subject);
        let spki = &cert.tbs_certificate.subject_public_key_info;
        let public = VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).unwrap();
        let tbs = cert.tbs_certificate.to_der().unwrap();
        let sig = DerSignature::from_bytes(cert.signature.raw_bytes()).unwrap();
        assert!(public.verify(&tbs, &sig).is_ok(), "self-signed");
        let san: SubjectAltName = ext(&cert);
        let names: Vec<String> = san
            .0
            .iter()
            .map(|n| match n {
                GeneralName::DnsName(d) => d.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(names, ["tap.linkerd-viz.svc", "tap.linkerd-viz.svc.cluster.local"]);
        let bc: x509_cert::ext::pkix::BasicConstraints = ext(&cert);
        assert!(!bc.ca);
        let ku: x509_cert::ext::pkix::KeyUsage = ext(&cert);
        assert!(ku.digital_signature() && ku.key_encipherment());
        let eku: ExtendedKeyUsage = ext(&cert);
        assert!(eku.0.contains(&ID_KP_SERVER_AUTH));
        let v = cert.tbs_certificate.validity;
        assert_eq!(v.not_before.to_unix_duration().as_secs(), NOW - 300);
        assert_eq!(v.not_after.to_unix_duration().as_secs(), NOW + 365 * 86400);
        // The key is SEC1 with a named curve and belongs to the certificate.
        assert!(c.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        let key = SecretKey::from_sec1_pem(&c.key_pem).unwrap();
        assert_eq!(VerifyingKey::from(key.public_key()), public);
        assert!(!format!("{c:?}").contains("PRIVATE"));
        // A new key every time.
        let d = serving_cert("tap", "linkerd-viz", NOW).unwrap();
        assert_ne!(c.cert_pem, d.cert_pem);
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
