//! TLS for the control plane's admission webhooks (proxy injector, ServiceProfile validator,
//! policy validator): per webhook, a CA and a serving certificate for `<service>.<namespace>.svc`
//! signed by it, made by [`crate::identity::serving_cert`]. The webhook configuration's caBundle
//! is the CA; the `kubernetes.io/tls` Secret the webhook server mounts holds the serving
//! certificate and its key.
//!
//! Upstream's chart uses one self-signed certificate (Helm's genSelfSignedCert, 365 days) as both;
//! a separate CA keeps the key that the API server trusts out of the pod. Keys are ECDSA P-256,
//! written as SEC1 "EC PRIVATE KEY", which both the Go webhooks (pkg/tls.DecodePEMKey) and the
//! Rust policy controller read.

use x509_cert::Certificate;
use x509_cert::der::DecodePem;

use wasmesh_sdk::Error;

use crate::identity::{CertFailure, ServingSigner, serving_cert};

use crate::errors::LinkerdError;
pub use crate::identity::{base64_decode as decode, base64_encode as encode};

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
    let cert = serving_cert(&[host], ServingSigner::OwnCa, now_unix, WEBHOOK_CERT_DAYS).map_err(|f| {
        cert_error(match f {
            CertFailure::Random(r) => format!("no random numbers: {r}"),
            CertFailure::Build(r) => r,
        })
    })?;
    Ok(WebhookTls {
        tls_crt_b64: encode(cert.cert_pem.as_bytes()),
        tls_key_b64: encode(cert.key_pem.as_bytes()),
        ca_bundle_b64: encode(cert.ca_pem.as_bytes()),
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

fn cert_error(reason: String) -> Error {
    LinkerdError::WebhookCerts { reason }.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::SecretKey;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{DerSignature, VerifyingKey};
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
