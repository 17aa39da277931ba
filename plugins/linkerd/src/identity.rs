//! Linkerd's identity certificates, made inside the plugin: a trust anchor (root CA) and the
//! identity issuer (intermediate CA) it signs, as `linkerd install` makes them.
//!
//! Pure Rust (RustCrypto `p256`, `x509-cert`), so it builds for wasm32-wasip2; randomness comes
//! from `getrandom`, which on the plugin target asks the host through `wasi:random`. The time is
//! a parameter, so that [`generate`] stays deterministic apart from its keys and serials.
//!
//! What Linkerd reads:
//! - the trust anchor certificate (`identityTrustAnchorsPEM` / `linkerd-identity-trust-roots`);
//! - the issuer certificate and key (`crt.pem`/`key.pem` of the `linkerd-identity-issuer`
//!   secret, or `tls.crt`/`tls.key` with the kubernetes.io/tls scheme). Linkerd's identity
//!   controller decodes the key with `pkg/tls.DecodePEMKey`, which accepts "EC PRIVATE KEY"
//!   (SEC1) and "RSA PRIVATE KEY" only, not PKCS#8 "PRIVATE KEY": the key is SEC1, like the one
//!   `linkerd install` writes.
//!
//! The trust anchor's private key is used once, to sign the issuer, and then dropped (zeroized):
//! like `linkerd install`, nothing keeps it.

// Nothing calls this yet: the install operation will.
#![allow(dead_code)]

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
use x509_cert::der::oid::db::rfc4519::CN;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

use wasmesh_sdk::Error;

/// How far back both certificates start, for clocks a little behind ours.
pub const CLOCK_SKEW_SECONDS: u64 = 5 * 60;

const DAY_SECONDS: u64 = 24 * 60 * 60;

/// The longest trust domain whose derived names (`identity.linkerd.<trust domain>`) are still
/// DNS names (253 characters at most).
const MAX_TRUST_DOMAIN_LEN: usize = 253 - "identity.linkerd.".len();

/// What Linkerd needs to start its identity service: the trust anchor every proxy trusts, and
/// the issuer that signs proxy certificates, with its private key.
pub struct IdentityBundle {
    /// The trust anchor (self-signed root CA), PEM "CERTIFICATE".
    pub trust_anchor_pem: String,
    /// The issuer certificate (intermediate CA, signed by the trust anchor), PEM "CERTIFICATE".
    pub issuer_cert_pem: String,
    /// The issuer's private key, PEM "EC PRIVATE KEY" (SEC1, RFC 5915), as Linkerd reads it.
    pub issuer_key_pem: String,
}

impl fmt::Debug for IdentityBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityBundle")
            .field("trust_anchor_pem", &self.trust_anchor_pem)
            .field("issuer_cert_pem", &self.issuer_cert_pem)
            .field("issuer_key_pem", &"<redacted>")
            .finish()
    }
}

/// Makes a new trust anchor and issuer for `trust_domain` (e.g. `cluster.local`):
///
/// - trust anchor: ECDSA P-256 key, self-signed, subject and DNS name `root.<trust_domain>`,
///   basicConstraints CA (critical), keyUsage keyCertSign + cRLSign (critical), subject key
///   identifier, valid from `now_unix` - 5 min for `anchor_days` days;
/// - issuer: a separate ECDSA P-256 key, subject and DNS name `identity.linkerd.<trust_domain>`
///   (the name Linkerd's identity controller expects in the `linkerd` namespace), signed by the
///   anchor with ECDSA-SHA256, basicConstraints CA with pathLen 0 (critical), keyUsage
///   keyCertSign + cRLSign (critical), subject and authority key identifiers, valid from
///   `now_unix` - 5 min for `issuer_days` days but never past the anchor;
/// - random positive 20-octet serial numbers (at least 152 random bits).
///
/// `now_unix` is seconds since the Unix epoch (the caller reads the clock).
pub fn generate(
    trust_domain: &str,
    now_unix: u64,
    anchor_days: u32,
    issuer_days: u32,
) -> Result<IdentityBundle, Error> {
    check_trust_domain(trust_domain)?;
    if anchor_days == 0 || issuer_days == 0 {
        return Err(validity_error(anchor_days, issuer_days));
    }
    let not_before = now_unix.saturating_sub(CLOCK_SKEW_SECONDS);
    let anchor_not_after = now_unix.saturating_add(u64::from(anchor_days) * DAY_SECONDS);
    let issuer_not_after = now_unix
        .saturating_add(u64::from(issuer_days) * DAY_SECONDS)
        .min(anchor_not_after);
    let anchor_validity =
        validity(not_before, anchor_not_after).ok_or_else(|| validity_error(anchor_days, issuer_days))?;
    let issuer_validity =
        validity(not_before, issuer_not_after).ok_or_else(|| validity_error(anchor_days, issuer_days))?;

    let anchor_name = format!("root.{trust_domain}");
    let issuer_name = format!("identity.linkerd.{trust_domain}");

    let anchor_key = SigningKey::from(&random_secret_key()?);
    let issuer_secret = random_secret_key()?;
    let issuer_key = SigningKey::from(&issuer_secret);

    let anchor = certificate(Profile::Root, &anchor_name, anchor_validity, &anchor_key, &anchor_key)?;
    let issuer = certificate(
        Profile::SubCA {
            issuer: anchor.tbs_certificate.subject.clone(),
            path_len_constraint: Some(0),
        },
        &issuer_name,
        issuer_validity,
        &issuer_key,
        &anchor_key,
    )?;
    drop(anchor_key);

    // Not SecretKey::to_sec1_pem: it leaves out the curve (the optional `parameters` field),
    // and Go's x509.ParseECPrivateKey, which Linkerd uses, then fails with "unknown elliptic
    // curve". sec1's encoder (through PKCS#8) names the curve, as RFC 5915 asks.
    let issuer_key_pem: Zeroizing<String> = EncodeEcPrivateKey::to_sec1_pem(&issuer_secret, LineEnding::LF)
        .map_err(|e| build_error(format!("the issuer key could not be encoded: {e}")))?;
    Ok(IdentityBundle {
        trust_anchor_pem: pem(&anchor)?,
        issuer_cert_pem: pem(&issuer)?,
        issuer_key_pem: issuer_key_pem.as_str().to_owned(),
    })
}

/// One certificate for `subject_key`, named `name` (subject CN and DNS SAN), signed by `signer`.
fn certificate(
    profile: Profile,
    name: &str,
    validity: Validity,
    subject_key: &SigningKey,
    signer: &SigningKey,
) -> Result<Certificate, Error> {
    let fail = |what: &str, e: &dyn fmt::Display| {
        build_error(format!("the certificate {name} could not be built ({what}): {e}"))
    };
    let subject = common_name_only(name).map_err(|e| fail("subject", &e))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*subject_key.verifying_key()).map_err(|e| fail("public key", &e))?;
    let mut builder = CertificateBuilder::new(profile, random_serial()?, validity, subject, spki, signer)
        .map_err(|e| fail("profile", &e))?;
    // Linkerd's own CA code (pkg/tls/ca.go) also names CA certificates as DNS names.
    let dns = Ia5String::new(name).map_err(|e| fail("DNS name", &e))?;
    builder
        .add_extension(&SubjectAltName(vec![GeneralName::DnsName(dns)]))
        .map_err(|e| fail("subjectAltName", &e))?;
    builder.build::<DerSignature>().map_err(|e| fail("signature", &e))
}

/// The name `CN=<name>` (UTF8String), built directly: `Name::from_str` would link const-oid's
/// table of attribute names, about 87 KB of wasm.
fn common_name_only(name: &str) -> x509_cert::der::Result<Name> {
    let cn = AttributeTypeAndValue {
        oid: CN,
        value: Any::encode_from(&Utf8StringRef::new(name)?)?,
    };
    Ok(RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![
        cn,
    ])?)]))
}

fn pem(certificate: &Certificate) -> Result<String, Error> {
    certificate
        .to_pem(LineEnding::LF)
        .map_err(|e| build_error(format!("a certificate could not be PEM-encoded: {e}")))
}

/// A validity window; `None` when an end is past what X.509 can say (year 9999).
fn validity(not_before: u64, not_after: u64) -> Option<Validity> {
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
fn random_secret_key() -> Result<SecretKey, Error> {
    for _ in 0..64 {
        let mut bytes = Zeroizing::new(FieldBytes::default());
        random_bytes(bytes.as_mut_slice())?;
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
    Err(random_error(
        "the random source kept returning values that are not P-256 keys".into(),
    ))
}

/// A positive serial number of exactly 20 octets (RFC 5280's maximum), 159 bits of which are
/// random but for a first octet kept non-zero.
fn random_serial() -> Result<SerialNumber, Error> {
    let mut bytes = [0u8; 20];
    random_bytes(&mut bytes)?;
    bytes[0] &= 0x7f;
    if bytes[0] == 0 {
        bytes[0] = 1;
    }
    SerialNumber::new(&bytes).map_err(|e| build_error(format!("the serial number could not be encoded: {e}")))
}

fn random_bytes(buf: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(buf).map_err(|e| random_error(e.to_string()))
}

/// Linkerd's trust domain is a DNS name: lowercase labels of letters, digits and '-', dot
/// separated, each 1 to 63 characters not starting or ending with '-'.
fn check_trust_domain(trust_domain: &str) -> Result<(), Error> {
    let problem = if trust_domain.is_empty() {
        Some("it is empty".to_string())
    } else if trust_domain.len() > MAX_TRUST_DOMAIN_LEN {
        Some(format!("it is longer than {MAX_TRUST_DOMAIN_LEN} characters"))
    } else {
        trust_domain.split('.').find_map(|label| {
            if label.is_empty() {
                Some("it has an empty label (two dots in a row, or a dot at an end)".to_string())
            } else if label.len() > 63 {
                Some(format!("its label \"{label}\" is longer than 63 characters"))
            } else if let Some(c) = label.chars().find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-')) {
                Some(format!(
                    "it contains {c:?}; only lowercase letters, digits, '-' and '.' are allowed"
                ))
            } else if label.starts_with('-') || label.ends_with('-') {
                Some(format!("its label \"{label}\" starts or ends with '-'"))
            } else {
                None
            }
        })
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(wasmesh_sdk::error(
            format!("{}-3001", crate::CODE),
            format!(
                "invalid Linkerd trust domain \"{}\": {problem}",
                trust_domain.escape_debug()
            ),
            "the trust domain names the certificates (root.<trust domain>, identity.linkerd.<trust \
             domain>) and must be a lowercase DNS name",
            "use the cluster's DNS domain, cluster.local unless the cluster was set up with another \
             one, or a lowercase DNS name such as mesh.example.com",
        )),
    }
}

fn validity_error(anchor_days: u32, issuer_days: u32) -> Error {
    wasmesh_sdk::error(
        format!("{}-3002", crate::CODE),
        format!("invalid certificate lifetimes: trust anchor {anchor_days} days, issuer {issuer_days} days"),
        "a lifetime is zero, or the certificates would end after the year 9999, which X.509 \
         cannot express",
        "give both lifetimes at least 1 day (Linkerd's documentation uses 87600 days for the \
         trust anchor and 8760 for the issuer)",
    )
}

fn random_error(reason: String) -> Error {
    wasmesh_sdk::error(
        format!("{}-3003", crate::CODE),
        format!("no random numbers for the identity keys: {reason}"),
        "the plugin's random source (wasi:random, provided by the wasmesh host) failed",
        "retry; if it keeps failing, check the host's logs and report it as a wasmesh bug",
    )
}

fn build_error(reason: String) -> Error {
    wasmesh_sdk::error(
        format!("{}-3004", crate::CODE),
        reason,
        "the identity certificates could not be encoded; this is a bug in the Linkerd translator",
        "report it as a wasmesh bug with the trust domain and lifetimes used; meanwhile create \
         the certificates with `step certificate create` as Linkerd's documentation shows",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    use x509_cert::der::oid::AssociatedOid;
    use x509_cert::der::oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_EC_PUBLIC_KEY, SECP_256_R_1};
    use x509_cert::der::{Decode, DecodePem, Encode};
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};

    /// 2026-01-02T03:04:05Z.
    const NOW: u64 = 1_767_323_045;

    fn bundle() -> IdentityBundle {
        generate("cluster.local", NOW, 3650, 365).expect("generate")
    }

    fn parse(pem: &str) -> Certificate {
        Certificate::from_pem(pem.as_bytes()).expect("certificate PEM")
    }

    fn public_key(cert: &Certificate) -> VerifyingKey {
        let spki = &cert.tbs_certificate.subject_public_key_info;
        VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).expect("P-256 public key")
    }

    fn signed_by(cert: &Certificate, key: &VerifyingKey) -> bool {
        let tbs = cert.tbs_certificate.to_der().expect("TBS DER");
        let signature = DerSignature::from_bytes(cert.signature.raw_bytes()).expect("DER signature");
        key.verify(&tbs, &signature).is_ok()
    }

    /// The extension of type `E` and whether it is critical; panics when missing or repeated.
    fn extension<'a, E: AssociatedOid + Decode<'a>>(cert: &'a Certificate) -> (E, bool) {
        let exts: Vec<_> = cert
            .tbs_certificate
            .extensions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|e| e.extn_id == E::OID)
            .collect();
        assert_eq!(exts.len(), 1, "extension {} once", E::OID);
        (
            E::from_der(exts[0].extn_value.as_bytes()).expect("extension value"),
            exts[0].critical,
        )
    }

    fn common_name(cert: &Certificate) -> String {
        cert.tbs_certificate.subject.to_string()
    }

    fn unix(time: Time) -> u64 {
        time.to_unix_duration().as_secs()
    }

    #[test]
    fn both_certificates_are_p256_ecdsa_sha256() {
        let b = bundle();
        for cert in [parse(&b.trust_anchor_pem), parse(&b.issuer_cert_pem)] {
            let spki = &cert.tbs_certificate.subject_public_key_info;
            assert_eq!(spki.algorithm.oid, ID_EC_PUBLIC_KEY);
            let curve = spki.algorithm.parameters.as_ref().expect("curve parameter");
            assert_eq!(
                curve.decode_as::<x509_cert::der::oid::ObjectIdentifier>().unwrap(),
                SECP_256_R_1
            );
            assert_eq!(cert.signature_algorithm.oid, ECDSA_WITH_SHA_256);
            assert_eq!(cert.tbs_certificate.signature.oid, ECDSA_WITH_SHA_256);
            assert_eq!(cert.tbs_certificate.version, x509_cert::Version::V3);
            public_key(&cert);
        }
    }

    #[test]
    fn anchor_is_self_signed_and_issuer_is_signed_by_the_anchor_only() {
        let b = bundle();
        let (anchor, issuer) = (parse(&b.trust_anchor_pem), parse(&b.issuer_cert_pem));
        let (anchor_pub, issuer_pub) = (public_key(&anchor), public_key(&issuer));
        assert!(signed_by(&anchor, &anchor_pub), "anchor self-signed");
        assert!(signed_by(&issuer, &anchor_pub), "issuer signed by the anchor");
        assert!(!signed_by(&issuer, &issuer_pub), "issuer not self-signed");
        assert!(!signed_by(&anchor, &issuer_pub));
        assert_ne!(anchor_pub, issuer_pub, "separate keys");

        assert_eq!(common_name(&anchor), "CN=root.cluster.local");
        assert_eq!(common_name(&issuer), "CN=identity.linkerd.cluster.local");
        assert_eq!(anchor.tbs_certificate.issuer, anchor.tbs_certificate.subject);
        assert_eq!(issuer.tbs_certificate.issuer, anchor.tbs_certificate.subject);
        assert_ne!(issuer.tbs_certificate.subject, anchor.tbs_certificate.subject);
    }

    #[test]
    fn ca_flags_path_length_key_usages_and_key_identifiers() {
        let b = bundle();
        let (anchor, issuer) = (parse(&b.trust_anchor_pem), parse(&b.issuer_cert_pem));
        let ca_usages = KeyUsages::KeyCertSign | KeyUsages::CRLSign;

        let (bc, critical) = extension::<BasicConstraints>(&anchor);
        assert!(bc.ca && critical);
        assert_eq!(bc.path_len_constraint, None);
        let (ku, critical) = extension::<KeyUsage>(&anchor);
        assert!(critical);
        assert_eq!(ku.0, ca_usages);

        let (bc, critical) = extension::<BasicConstraints>(&issuer);
        assert!(bc.ca && critical);
        assert_eq!(bc.path_len_constraint, Some(0));
        let (ku, critical) = extension::<KeyUsage>(&issuer);
        assert!(critical);
        assert_eq!(ku.0, ca_usages);

        // The issuer's authority key identifier is the anchor's subject key identifier.
        let (anchor_ski, _) = extension::<SubjectKeyIdentifier>(&anchor);
        let (issuer_ski, _) = extension::<SubjectKeyIdentifier>(&issuer);
        let (issuer_aki, critical) = extension::<AuthorityKeyIdentifier>(&issuer);
        assert!(!critical);
        assert_eq!(issuer_aki.key_identifier.as_ref(), Some(&anchor_ski.0));
        assert_ne!(issuer_ski.0, anchor_ski.0);
        assert!(!issuer_ski.0.as_bytes().is_empty());

        // Each certificate names itself as a DNS name too, as Linkerd's own CA code does.
        for (cert, name) in [
            (&anchor, "root.cluster.local"),
            (&issuer, "identity.linkerd.cluster.local"),
        ] {
            let (san, critical) = extension::<SubjectAltName>(cert);
            assert!(!critical);
            assert_eq!(san.0, vec![GeneralName::DnsName(Ia5String::new(name).unwrap())]);
        }
    }

    #[test]
    fn validity_windows_and_issuer_clamped_to_the_anchor() {
        let b = bundle();
        let (anchor, issuer) = (parse(&b.trust_anchor_pem), parse(&b.issuer_cert_pem));
        let (av, iv) = (anchor.tbs_certificate.validity, issuer.tbs_certificate.validity);
        assert_eq!(unix(av.not_before), NOW - 300);
        assert_eq!(unix(av.not_after), NOW + 3650 * 86400);
        assert_eq!(unix(iv.not_before), NOW - 300);
        assert_eq!(unix(iv.not_after), NOW + 365 * 86400);
        // Both before 2050: UTCTime, as RFC 5280 asks.
        assert!(matches!(av.not_before, Time::UtcTime(_)) && matches!(av.not_after, Time::UtcTime(_)));

        // An issuer asked to outlive the anchor ends with it.
        let b = generate("cluster.local", NOW, 30, 365).unwrap();
        let (anchor, issuer) = (parse(&b.trust_anchor_pem), parse(&b.issuer_cert_pem));
        assert_eq!(unix(anchor.tbs_certificate.validity.not_after), NOW + 30 * 86400);
        assert_eq!(unix(issuer.tbs_certificate.validity.not_after), NOW + 30 * 86400);

        // Past 2049, GeneralizedTime.
        let b = generate("cluster.local", NOW, 36500, 1).unwrap();
        let anchor = parse(&b.trust_anchor_pem);
        assert!(matches!(
            anchor.tbs_certificate.validity.not_after,
            Time::GeneralTime(_)
        ));
        assert_eq!(unix(anchor.tbs_certificate.validity.not_after), NOW + 36500 * 86400);

        // Near the epoch the start does not wrap.
        let b = generate("cluster.local", 10, 1, 1).unwrap();
        assert_eq!(unix(parse(&b.issuer_cert_pem).tbs_certificate.validity.not_before), 0);
    }

    #[test]
    fn serials_are_random_positive_and_differ_across_calls() {
        let (a, b) = (bundle(), bundle());
        let serials: Vec<Vec<u8>> = [
            &a.trust_anchor_pem,
            &a.issuer_cert_pem,
            &b.trust_anchor_pem,
            &b.issuer_cert_pem,
        ]
        .iter()
        .map(|pem| parse(pem).tbs_certificate.serial_number.as_bytes().to_vec())
        .collect();
        for (i, s) in serials.iter().enumerate() {
            assert_eq!(s.len(), 20, "20 octets");
            assert!(s[0] != 0 && s[0] < 0x80, "positive, minimal");
            for t in &serials[i + 1..] {
                assert_ne!(s, t);
            }
        }
        // New keys every call, too.
        assert_ne!(
            public_key(&parse(&a.trust_anchor_pem)),
            public_key(&parse(&b.trust_anchor_pem))
        );
        assert_ne!(
            public_key(&parse(&a.issuer_cert_pem)),
            public_key(&parse(&b.issuer_cert_pem))
        );
    }

    #[test]
    fn issuer_key_is_sec1_pem_and_matches_the_issuer_certificate() {
        let b = bundle();
        assert!(b.issuer_key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));
        assert!(b.issuer_key_pem.trim_end().ends_with("-----END EC PRIVATE KEY-----"));
        let key = SecretKey::from_sec1_pem(&b.issuer_key_pem).expect("SEC1 key");
        // The curve is named and the public key included, as Go's x509.MarshalECPrivateKey
        // writes them; Go's parser refuses a SEC1 key without the curve.
        let (label, der) = x509_cert::der::pem::decode_vec(b.issuer_key_pem.as_bytes()).unwrap();
        assert_eq!(label, "EC PRIVATE KEY");
        let sec1 = sec1::EcPrivateKey::from_der(&der).expect("ECPrivateKey");
        assert_eq!(sec1.private_key.len(), 32);
        assert_eq!(sec1.parameters.and_then(|p| p.named_curve()), Some(SECP_256_R_1));
        let public = sec1.public_key.expect("public key in the key file");
        assert_eq!(
            VerifyingKey::from_sec1_bytes(public).unwrap(),
            public_key(&parse(&b.issuer_cert_pem))
        );
        let issuer = parse(&b.issuer_cert_pem);
        let from_key = VerifyingKey::from(key.public_key());
        assert_eq!(from_key, public_key(&issuer));
        assert_ne!(from_key, public_key(&parse(&b.trust_anchor_pem)));
        // And it signs what the certificate's key verifies.
        let signing = SigningKey::from(&key);
        let signature: DerSignature = p256::ecdsa::signature::Signer::sign(&signing, b"proxy csr");
        assert!(public_key(&issuer).verify(b"proxy csr", &signature).is_ok());
        // The key does not show in Debug output.
        assert!(!format!("{b:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn other_trust_domains_name_the_certificates() {
        let b = generate("mesh.example-1.com", NOW, 10, 5).unwrap();
        assert_eq!(common_name(&parse(&b.trust_anchor_pem)), "CN=root.mesh.example-1.com");
        assert_eq!(
            common_name(&parse(&b.issuer_cert_pem)),
            "CN=identity.linkerd.mesh.example-1.com"
        );
    }

    #[test]
    fn bad_trust_domains_are_refused_with_a_typed_error() {
        let too_long = format!("{}.local", "a".repeat(64));
        let too_long_total = ["abc"; 60].join(".");
        for bad in [
            "",
            "cluster local",
            " cluster.local",
            "Cluster.local",
            "CLUSTER.LOCAL",
            "cluster..local",
            ".cluster.local",
            "cluster.local.",
            "-cluster.local",
            "cluster-.local",
            "cluster_local",
            "clüster.local",
            "cluster.local\n",
            "CN=x,O=y",
            too_long.as_str(),
            too_long_total.as_str(),
        ] {
            let err = generate(bad, NOW, 3650, 365).expect_err(bad);
            assert_eq!(err.code, "WASMESH-LINKERD-3001", "{bad:?}");
            assert!(err.message.contains("trust domain"), "{}", err.message);
            assert!(!err.probable_cause.is_empty());
            assert!(!err.suggested_remediation.is_empty());
        }
    }

    #[test]
    fn bad_lifetimes_are_refused_with_a_typed_error() {
        for (anchor, issuer) in [(0, 1), (1, 0), (u32::MAX, 1)] {
            let err = generate("cluster.local", NOW, anchor, issuer).expect_err("lifetime");
            assert_eq!(err.code, "WASMESH-LINKERD-3002");
            assert!(!err.probable_cause.is_empty() && !err.suggested_remediation.is_empty());
        }
    }

    /// `cargo test -p wasmesh-plugin-linkerd -- --ignored --nocapture generate_timing`
    #[test]
    #[ignore]
    fn generate_timing() {
        let runs = 20;
        let start = std::time::Instant::now();
        for _ in 0..runs {
            bundle();
        }
        println!("generate(): {:?} per call ({runs} calls)", start.elapsed() / runs);
    }
}
