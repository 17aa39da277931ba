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

//! Besides making certificates, this module reads them: [`pem_blocks`], [`certificates`],
//! [`verify_signed_by`], [`check_key`] and friends are what `linkerd-check` and
//! `rotate-identity-issuer` use to judge the trust anchors and the issuer found in a cluster,
//! and [`issue_issuer`] signs a new issuer with an existing trust anchor.

use core::fmt;

use p256::SecretKey;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::elliptic_curve::zeroize::Zeroizing;
use x509_cert::Certificate;
use x509_cert::builder::Profile;
use x509_cert::der::asn1::Utf8StringRef;
use x509_cert::der::oid::db::rfc4519::CN;
use x509_cert::der::oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_EC_PUBLIC_KEY, SECP_256_R_1};
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::Name;
use x509_cert::time::Validity;

use crate::errors::LinkerdError;
use wasmesh_sdk::Error;

const DAY_SECONDS: u64 = 24 * 60 * 60;

/// The longest trust domain whose derived names (`identity.linkerd.<trust domain>`) are still
/// DNS names (253 characters at most).
pub(crate) const MAX_TRUST_DOMAIN_LEN: usize = 253 - "identity.linkerd.".len();

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
    generate_with_validity(trust_domain, anchor_validity, issuer_validity)
}

/// [`generate`] with explicit validity windows (seconds since the Unix epoch), which may lie in
/// the past: tests use it for expired and nearly expired certificates.
#[cfg(test)]
pub fn generate_between(
    trust_domain: &str,
    not_before: u64,
    anchor_not_after: u64,
    issuer_not_after: u64,
) -> Result<IdentityBundle, Error> {
    check_trust_domain(trust_domain)?;
    let anchor = validity(not_before, anchor_not_after).ok_or_else(|| validity_error(0, 0))?;
    let issuer = validity(not_before, issuer_not_after).ok_or_else(|| validity_error(0, 0))?;
    generate_with_validity(trust_domain, anchor, issuer)
}

fn generate_with_validity(
    trust_domain: &str,
    anchor_validity: Validity,
    issuer_validity: Validity,
) -> Result<IdentityBundle, Error> {
    let anchor_name = format!("root.{trust_domain}");
    let anchor_key = SigningKey::from(&random_secret_key()?);
    let anchor = certificate(Profile::Root, &anchor_name, anchor_validity, &anchor_key, &anchor_key)?;
    let issuer = signed_issuer(trust_domain, &anchor, &anchor_key, issuer_validity)?;
    drop(anchor_key);
    Ok(IdentityBundle {
        trust_anchor_pem: pem(&anchor)?,
        issuer_cert_pem: issuer.cert_pem,
        issuer_key_pem: issuer.key_pem,
    })
}

/// A new issuer (fresh key) named `identity.linkerd.<trust_domain>`, signed by `anchor`.
fn signed_issuer(
    trust_domain: &str,
    anchor: &Certificate,
    anchor_key: &SigningKey,
    issuer_validity: Validity,
) -> Result<Issuer, Error> {
    let issuer_name = format!("identity.linkerd.{trust_domain}");
    let issuer_secret = random_secret_key()?;
    let issuer_key = SigningKey::from(&issuer_secret);
    let issuer = certificate(
        Profile::SubCA {
            issuer: anchor.tbs_certificate.subject.clone(),
            path_len_constraint: Some(0),
        },
        &issuer_name,
        issuer_validity,
        &issuer_key,
        anchor_key,
    )?;
    let issuer_key_pem = key_pem(&issuer_secret).map_err(identity_error)?;
    Ok(Issuer {
        cert_pem: pem(&issuer)?,
        key_pem: issuer_key_pem.as_str().to_owned(),
    })
}

/// An issuer certificate and its private key (PEM "EC PRIVATE KEY", curve named).
pub struct Issuer {
    pub cert_pem: String,
    pub key_pem: String,
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Signs a new issuer for `trust_domain` with an existing trust anchor, given as its PEM
/// certificate and private key (P-256; SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY"). The
/// issuer is valid from `now_unix` - 5 min for `issuer_days` days, but never past the anchor.
/// Refused: a key that is not the certificate's, an anchor that is not a CA, or one that is
/// expired or not valid yet. Whether the anchor is one the cluster trusts is the caller's
/// question. The anchor's key is dropped (zeroized) before this returns.
pub fn issue_issuer(
    trust_domain: &str,
    anchor_cert_pem: &str,
    anchor_key_pem: &str,
    now_unix: u64,
    issuer_days: u32,
) -> Result<Issuer, Error> {
    check_trust_domain(trust_domain)?;
    if issuer_days == 0 {
        return Err(validity_error(1, 0));
    }
    let anchor = match certificates(anchor_cert_pem) {
        Ok(certs) if certs.len() == 1 => certs.into_iter().next().expect("one certificate"),
        Ok(certs) => {
            return Err(LinkerdError::AnchorCertificate {
                problem: format!("the trust anchor PEM holds {} certificates, not one", certs.len()),
            }
            .into());
        }
        Err(e) => {
            return Err(LinkerdError::AnchorCertificate {
                problem: format!("the trust anchor certificate cannot be read: {e}"),
            }
            .into());
        }
    };
    let secret = parse_private_key(anchor_key_pem).map_err(|e| LinkerdError::AnchorKey { reason: e.to_string() })?;
    let anchor_key = SigningKey::from(&secret);
    drop(secret);
    if public_key(&anchor).as_ref() != Some(anchor_key.verifying_key()) {
        return Err(LinkerdError::AnchorKeyMismatch.into());
    }
    let (anchor_start, anchor_end) = validity_unix(&anchor);
    if !is_ca(&anchor) {
        return Err(LinkerdError::AnchorNotUsable {
            problem: format!(
                "the certificate {} is not a CA (basicConstraints CA is not set)",
                common_name(&anchor)
            ),
        }
        .into());
    }
    if now_unix < anchor_start || now_unix >= anchor_end {
        return Err(LinkerdError::AnchorNotUsable {
            problem: format!(
                "the trust anchor {} is not valid now (valid from {} to {})",
                common_name(&anchor),
                format_unix(anchor_start),
                format_unix(anchor_end)
            ),
        }
        .into());
    }
    let not_after = now_unix
        .saturating_add(u64::from(issuer_days) * DAY_SECONDS)
        .min(anchor_end);
    let issuer_validity = validity(now_unix.saturating_sub(CLOCK_SKEW_SECONDS).max(anchor_start), not_after)
        .ok_or_else(|| validity_error(1, issuer_days))?;
    signed_issuer(trust_domain, &anchor, &anchor_key, issuer_validity)
}

/// The PEM blocks of `text` as (label, base64 body) pairs, in order. Lines are trimmed, so
/// blocks indented in YAML are found too; text between blocks is ignored.
pub fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            current = Some((label.to_string(), String::new()));
        } else if let Some(label) = line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
            if let Some((begin, body)) = current.take()
                && begin == label
            {
                blocks.push((begin, body));
            }
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
        }
    }
    blocks
}

/// A PEM block labelled `label` around `base64_body`, in lines of 64 characters.
pub fn pem_text(label: &str, base64_body: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in base64_body.as_bytes().chunks(64) {
        out.push_str(core::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Every "CERTIFICATE" block of `pem`, parsed. An error when there is none or one is malformed.
pub fn certificates(pem: &str) -> Result<Vec<Certificate>, String> {
    let blocks: Vec<_> = pem_blocks(pem)
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .collect();
    if blocks.is_empty() {
        return Err("no PEM CERTIFICATE block found".into());
    }
    blocks
        .iter()
        .enumerate()
        .map(|(i, (_, body))| {
            let der = base64_decode(body).ok_or_else(|| format!("certificate {} is not valid base64", i + 1))?;
            Certificate::from_der(&der)
                .map_err(|e| format!("certificate {} is not a valid X.509 certificate: {e}", i + 1))
        })
        .collect()
}

/// The certificate's DER encoding (for comparing certificates byte for byte).
pub fn der(cert: &Certificate) -> Vec<u8> {
    cert.to_der().unwrap_or_default()
}

/// Start and end of the certificate's validity, in seconds since the Unix epoch.
pub fn validity_unix(cert: &Certificate) -> (u64, u64) {
    let v = &cert.tbs_certificate.validity;
    (
        v.not_before.to_unix_duration().as_secs(),
        v.not_after.to_unix_duration().as_secs(),
    )
}

/// The subject's common name, or the whole subject when it has none.
pub fn common_name(cert: &Certificate) -> String {
    name_cn(&cert.tbs_certificate.subject)
}

/// The issuer's (signer's) common name, or the whole issuer name when it has none.
pub fn issuer_name(cert: &Certificate) -> String {
    name_cn(&cert.tbs_certificate.issuer)
}

fn name_cn(name: &Name) -> String {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == CN)
        .and_then(|atv| {
            atv.value
                .decode_as::<Utf8StringRef<'_>>()
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    atv.value
                        .decode_as::<x509_cert::der::asn1::PrintableStringRef<'_>>()
                        .map(|s| s.as_str().to_string())
                })
                .ok()
        })
        .unwrap_or_else(|| name.to_string())
}

/// Whether basicConstraints says the certificate is a CA.
pub fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|e| e.extn_id == BasicConstraints::OID)
        .any(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).is_ok_and(|bc| bc.ca))
}

/// Whether `child` carries a valid signature by `parent`'s key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    Valid,
    Invalid,
    /// Not an ECDSA P-256 / SHA-256 signature, which is all this plugin can check (the name of
    /// the algorithm or key).
    Unsupported(String),
}

/// Checks `child`'s signature with `parent`'s public key (ECDSA P-256 with SHA-256 only).
pub fn verify_signed_by(child: &Certificate, parent: &Certificate) -> Signature {
    if child.signature_algorithm.oid != ECDSA_WITH_SHA_256 {
        return Signature::Unsupported(format!("signature algorithm {}", child.signature_algorithm.oid));
    }
    let Some(key) = public_key(parent) else {
        return Signature::Unsupported(format!(
            "public key algorithm {} of {}",
            parent.tbs_certificate.subject_public_key_info.algorithm.oid,
            common_name(parent)
        ));
    };
    let Ok(tbs) = child.tbs_certificate.to_der() else {
        return Signature::Invalid;
    };
    let Some(signature) = child
        .signature
        .as_bytes()
        .and_then(|b| DerSignature::from_bytes(b).ok())
    else {
        return Signature::Invalid;
    };
    if key.verify(&tbs, &signature).is_ok() {
        Signature::Valid
    } else {
        Signature::Invalid
    }
}

/// The certificate's P-256 public key; None for other key types.
fn public_key(cert: &Certificate) -> Option<VerifyingKey> {
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY
        || spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            != Some(SECP_256_R_1)
    {
        return None;
    }
    VerifyingKey::from_sec1_bytes(spki.subject_public_key.as_bytes()?).ok()
}

/// What [`check_key`] could tell about an issuer's private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyCheck {
    /// A P-256 key, in a form Linkerd reads, belonging to the certificate.
    Matches,
    /// A form Linkerd reads ("RSA PRIVATE KEY") that this plugin cannot compare with the
    /// certificate.
    Unchecked(String),
}

/// Checks an issuer private key the way Linkerd's identity controller will read it: one PEM
/// block "EC PRIVATE KEY" (SEC1, curve named: Go refuses a key without it) or "RSA PRIVATE KEY";
/// PKCS#8 "PRIVATE KEY" is refused by Linkerd. For P-256 keys, also that it belongs to `cert`.
/// The error never contains key material.
pub fn check_key(cert: &Certificate, key_pem: &str) -> Result<KeyCheck, String> {
    let blocks = pem_blocks(key_pem);
    let keys: Vec<_> = blocks.iter().filter(|(l, _)| l.ends_with("PRIVATE KEY")).collect();
    let (label, body) = match keys.as_slice() {
        [] => return Err("no PEM private key block found".into()),
        [one] => *one,
        _ => return Err(format!("{} private key blocks found, Linkerd reads one", keys.len())),
    };
    match label.as_str() {
        "EC PRIVATE KEY" => {}
        "RSA PRIVATE KEY" => return Ok(KeyCheck::Unchecked("an RSA key cannot be compared here".into())),
        other => {
            return Err(format!(
                "the key is a PEM \"{other}\" block; Linkerd's identity controller reads only \"EC PRIVATE KEY\" \
                 (SEC1) or \"RSA PRIVATE KEY\" (PKCS#1)"
            ));
        }
    }
    let der = Zeroizing::new(base64_decode(body).ok_or("the key is not valid base64")?);
    let parsed = sec1::EcPrivateKey::from_der(&der).map_err(|_| "the key is not a valid SEC1 EC private key")?;
    match parsed.parameters.and_then(|p| p.named_curve()) {
        Some(curve) if curve == SECP_256_R_1 => {}
        Some(curve) => return Err(format!("the key's curve {curve} is not P-256")),
        None => {
            return Err(
                "the key does not name its curve; Go (Linkerd) refuses it with \"x509: unknown elliptic \
                        curve\""
                    .into(),
            );
        }
    }
    let secret = SecretKey::from_sec1_der(&der).map_err(|_| "the key is not a valid P-256 private key")?;
    let public = VerifyingKey::from(secret.public_key());
    match public_key(cert) {
        Some(cert_key) if cert_key == public => Ok(KeyCheck::Matches),
        Some(_) => Err(format!(
            "the private key does not belong to the certificate {}",
            common_name(cert)
        )),
        None => Err(format!(
            "the certificate {} does not hold a P-256 key, but the private key is one",
            common_name(cert)
        )),
    }
}

/// A P-256 private key from PEM: SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY" (other blocks,
/// such as "EC PARAMETERS", are skipped). The error never contains key material.
fn parse_private_key(key_pem: &str) -> Result<SecretKey, String> {
    let blocks = pem_blocks(key_pem);
    let keys: Vec<_> = blocks.iter().filter(|(l, _)| l.ends_with("PRIVATE KEY")).collect();
    let (label, body) = match keys.as_slice() {
        [] => return Err("no PEM private key block found".into()),
        [one] => *one,
        _ => return Err(format!("{} private key blocks found, expected one", keys.len())),
    };
    let der = Zeroizing::new(base64_decode(body).ok_or("the key is not valid base64")?);
    match label.as_str() {
        "EC PRIVATE KEY" => SecretKey::from_sec1_der(&der).map_err(|_| "not a valid SEC1 P-256 private key".into()),
        "PRIVATE KEY" => {
            use p256::pkcs8::DecodePrivateKey;
            SecretKey::from_pkcs8_der(&der).map_err(|_| "not a valid PKCS#8 P-256 private key".into())
        }
        other => Err(format!("a PEM \"{other}\" block; only ECDSA P-256 keys are supported")),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn format_unix(secs: u64) -> String {
    let days = secs / DAY_SECONDS;
    let rem = secs % DAY_SECONDS;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Standard base64 (padding optional, whitespace ignored); None when malformed.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut padding = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None;
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (padding <= 2 && bits < 6).then_some(out)
}

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
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

/// One certificate for `subject_key`, named `name` (subject CN and DNS SAN), signed by `signer`.
fn certificate(
    profile: Profile,
    name: &str,
    validity: Validity,
    subject_key: &SigningKey,
    signer: &SigningKey,
) -> Result<Certificate, Error> {
    // Linkerd's own CA code (pkg/tls/ca.go) also names CA certificates as DNS names.
    let spec = CertSpec {
        profile,
        name,
        dns_names: &[name],
        extended_key_usage: &[],
        validity,
    };
    build_certificate(spec, subject_key, signer).map_err(identity_error)
}

fn pem(certificate: &Certificate) -> Result<String, Error> {
    to_pem(certificate).map_err(identity_error)
}

fn random_secret_key() -> Result<SecretKey, Error> {
    new_key().map_err(identity_error)
}

fn identity_error(failure: CertFailure) -> Error {
    match failure {
        CertFailure::Random(reason) => random_error(reason),
        CertFailure::Build(reason) => build_error(reason),
    }
}

// Every certificate's building blocks, shared with the other translators: the identity
// certificates above, the control plane's webhook certificates (install/certs.rs) and the
// extensions' serving certificates (addons.rs) are built with the SDK's.
#[cfg(test)]
use wasmesh_sdk::certs::common_name_only;
pub use wasmesh_sdk::certs::{
    CLOCK_SKEW_SECONDS, CertFailure, CertSpec, ServingSigner, build_certificate, key_pem, new_key, serving_cert,
    to_pem, validity,
};

/// Linkerd's trust domain is a DNS name (the SDK's check) short enough for the identity names
/// made from it.
fn check_trust_domain(trust_domain: &str) -> Result<(), Error> {
    if trust_domain.len() <= MAX_TRUST_DOMAIN_LEN && wasmesh_sdk::options::is_dns_name(trust_domain) {
        return Ok(());
    }
    Err(LinkerdError::BadTrustDomain {
        trust_domain: trust_domain.escape_debug().to_string(),
        max: MAX_TRUST_DOMAIN_LEN,
    }
    .into())
}

fn validity_error(anchor_days: u32, issuer_days: u32) -> Error {
    LinkerdError::Lifetimes {
        anchor_days,
        issuer_days,
    }
    .into()
}

fn random_error(reason: String) -> Error {
    LinkerdError::IdentityRandom { reason }.into()
}

fn build_error(reason: String) -> Error {
    LinkerdError::IdentityEncoding { reason }.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::LineEnding;
    use sec1::EncodeEcPrivateKey;
    use x509_cert::der::asn1::Ia5String;
    use x509_cert::der::oid::AssociatedOid;
    use x509_cert::der::oid::db::rfc5280::{ID_KP_CLIENT_AUTH, ID_KP_SERVER_AUTH};
    use x509_cert::der::oid::db::rfc5912::{ECDSA_WITH_SHA_256, ID_EC_PUBLIC_KEY, SECP_256_R_1};
    use x509_cert::der::{Decode, DecodePem, Encode};
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
    use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
    use x509_cert::time::Time;

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

    /// An anchor certificate and its SEC1 key, made the way `generate` makes them.
    fn anchor_with_key(name: &str, not_before: u64, not_after: u64) -> (String, String) {
        let secret = random_secret_key().unwrap();
        let key = SigningKey::from(&secret);
        let cert = certificate(
            Profile::Root,
            name,
            validity(not_before, not_after).unwrap(),
            &key,
            &key,
        )
        .unwrap();
        let key_pem = EncodeEcPrivateKey::to_sec1_pem(&secret, LineEnding::LF).unwrap();
        (pem(&cert).unwrap(), key_pem.as_str().to_owned())
    }

    #[test]
    fn issue_issuer_signs_with_the_given_anchor_and_ends_with_it() {
        let (anchor_pem, anchor_key) = anchor_with_key("root.cluster.local", NOW - 100, NOW + 30 * 86400);
        let issuer = issue_issuer("cluster.local", &anchor_pem, &anchor_key, NOW, 365).unwrap();
        let anchor = parse(&anchor_pem);
        let cert = parse(&issuer.cert_pem);
        assert_eq!(verify_signed_by(&cert, &anchor), Signature::Valid);
        assert_eq!(super::common_name(&cert), "identity.linkerd.cluster.local");
        assert_eq!(issuer_name(&cert), "root.cluster.local");
        assert!(is_ca(&cert));
        // Clamped to the anchor's end; not before the anchor's start.
        assert_eq!(validity_unix(&cert), (NOW - 100, NOW + 30 * 86400));
        assert_eq!(check_key(&cert, &issuer.key_pem), Ok(KeyCheck::Matches));
        assert!(!format!("{issuer:?}").contains("PRIVATE KEY"));

        // A PKCS#8 anchor key works too.
        let pkcs8 = {
            use p256::pkcs8::EncodePrivateKey;
            SecretKey::from_sec1_pem(&anchor_key)
                .unwrap()
                .to_pkcs8_pem(LineEnding::LF)
                .unwrap()
        };
        let issuer = issue_issuer("cluster.local", &anchor_pem, &pkcs8, NOW, 1).unwrap();
        let cert = parse(&issuer.cert_pem);
        assert_eq!(verify_signed_by(&cert, &anchor), Signature::Valid);
        assert_eq!(validity_unix(&cert).1, NOW + 86400);
    }

    #[test]
    fn issue_issuer_refuses_a_foreign_key_a_leaf_an_expired_anchor_and_garbage() {
        let (anchor_pem, anchor_key) = anchor_with_key("root.cluster.local", NOW - 100, NOW + 86400);
        let (_, other_key) = anchor_with_key("root.cluster.local", NOW - 100, NOW + 86400);
        let code = |r: Result<Issuer, Error>| r.expect_err("refused").code;
        assert_eq!(
            code(issue_issuer("cluster.local", &anchor_pem, &other_key, NOW, 1)),
            "WASMESH-LINKERD-3007"
        );
        assert_eq!(
            code(issue_issuer("cluster.local", "junk", &anchor_key, NOW, 1)),
            "WASMESH-LINKERD-3005"
        );
        let two = format!("{anchor_pem}{anchor_pem}");
        assert_eq!(
            code(issue_issuer("cluster.local", &two, &anchor_key, NOW, 1)),
            "WASMESH-LINKERD-3005"
        );
        assert_eq!(
            code(issue_issuer("cluster.local", &anchor_pem, "junk", NOW, 1)),
            "WASMESH-LINKERD-3006"
        );
        assert_eq!(
            code(issue_issuer("cluster.local", &anchor_pem, &anchor_key, NOW + 86400, 1)),
            "WASMESH-LINKERD-3008"
        );
        assert_eq!(
            code(issue_issuer("Bad", &anchor_pem, &anchor_key, NOW, 1)),
            "WASMESH-LINKERD-3001"
        );
        assert_eq!(
            code(issue_issuer("cluster.local", &anchor_pem, &anchor_key, NOW, 0)),
            "WASMESH-LINKERD-3002"
        );
        // The issuer of a bundle is a CA signed by its anchor, but not itself an anchor: its key
        // signs, yet the anchor's own key does not belong to it.
        let b = bundle();
        let e = issue_issuer("cluster.local", &b.issuer_cert_pem, &anchor_key, NOW, 1).unwrap_err();
        assert_eq!(e.code, "WASMESH-LINKERD-3007");
        // A non-CA certificate with its own key is refused.
        let secret = random_secret_key().unwrap();
        let key = SigningKey::from(&secret);
        let leaf = certificate(
            Profile::Leaf {
                issuer: common_name_only("x").unwrap(),
                enable_key_agreement: false,
                enable_key_encipherment: false,
            },
            "leaf.cluster.local",
            validity(NOW - 10, NOW + 86400).unwrap(),
            &key,
            &key,
        )
        .unwrap();
        let key_pem = EncodeEcPrivateKey::to_sec1_pem(&secret, LineEnding::LF).unwrap();
        let e = issue_issuer("cluster.local", &pem(&leaf).unwrap(), &key_pem, NOW, 1).unwrap_err();
        assert_eq!(e.code, "WASMESH-LINKERD-3008");
        assert!(!e.message.contains("PRIVATE"));
    }

    #[test]
    fn signatures_are_checked_against_the_right_parent_only() {
        let (a, b) = (bundle(), bundle());
        let (anchor_a, issuer_a) = (parse(&a.trust_anchor_pem), parse(&a.issuer_cert_pem));
        let anchor_b = parse(&b.trust_anchor_pem);
        assert_eq!(verify_signed_by(&issuer_a, &anchor_a), Signature::Valid);
        assert_eq!(verify_signed_by(&issuer_a, &anchor_b), Signature::Invalid);
        assert_eq!(verify_signed_by(&anchor_a, &anchor_a), Signature::Valid);
        assert!(is_ca(&anchor_a) && is_ca(&issuer_a));
    }

    #[test]
    fn check_key_accepts_what_linkerd_reads_only() {
        let b = bundle();
        let issuer = parse(&b.issuer_cert_pem);
        assert_eq!(check_key(&issuer, &b.issuer_key_pem), Ok(KeyCheck::Matches));
        let other = bundle();
        assert!(
            check_key(&issuer, &other.issuer_key_pem)
                .unwrap_err()
                .contains("does not belong")
        );
        // PKCS#8: Linkerd refuses it.
        let secret = SecretKey::from_sec1_pem(&b.issuer_key_pem).unwrap();
        let pkcs8 = {
            use p256::pkcs8::EncodePrivateKey;
            secret.to_pkcs8_pem(LineEnding::LF).unwrap()
        };
        assert!(check_key(&issuer, &pkcs8).unwrap_err().contains("\"PRIVATE KEY\""));
        // SEC1 without the curve: Go refuses it.
        let bare = secret.to_sec1_pem(LineEnding::LF).unwrap();
        assert!(check_key(&issuer, &bare).unwrap_err().contains("curve"));
        assert!(matches!(
            check_key(
                &issuer,
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"
            ),
            Ok(KeyCheck::Unchecked(_))
        ));
        assert!(check_key(&issuer, "nothing").is_err());
        let two = format!("{}{}", b.issuer_key_pem, b.issuer_key_pem);
        assert!(check_key(&issuer, &two).unwrap_err().contains("2 private key blocks"));
        // No error ever shows key material.
        for e in [check_key(&issuer, &other.issuer_key_pem), check_key(&issuer, &pkcs8)] {
            let e = e.unwrap_err();
            assert!(!e.contains("BEGIN") && !e.contains(&b.issuer_key_pem[40..60]), "{e}");
        }
    }

    #[test]
    fn pem_bundles_and_base64_round_trip() {
        let (a, b) = (bundle(), bundle());
        let text = format!(
            "# two anchors\n{}\n  {}",
            a.trust_anchor_pem,
            b.trust_anchor_pem.replace('\n', "\n    ")
        );
        let certs = certificates(&text).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(der(&certs[0]), der(&parse(&a.trust_anchor_pem)));
        assert_eq!(der(&certs[1]), der(&parse(&b.trust_anchor_pem)));
        assert!(certificates("").is_err());
        assert!(certificates("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err());
        assert!(certificates("-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----\n").is_err());
        // Re-wrapping a block gives back the same certificate.
        let (label, body) = pem_blocks(&a.trust_anchor_pem).remove(0);
        assert_eq!(pem_text(&label, &body), a.trust_anchor_pem);

        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + len) as u8).collect();
            let encoded = base64_encode(&bytes);
            assert_eq!(encoded.len() % 4, 0);
            assert_eq!(base64_decode(&encoded).as_deref(), Some(bytes.as_slice()), "{len}");
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
        assert_eq!(base64_decode("aGVs\nbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(base64_decode("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(base64_decode("aGV*bG8="), None);
        assert_eq!(base64_decode("aG=VsbG8"), None);
    }

    #[test]
    fn times_are_formatted_as_utc() {
        assert_eq!(format_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_unix(NOW), "2026-01-02T03:04:05Z");
        assert_eq!(format_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_unix(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn generate_between_makes_certificates_in_the_past() {
        let b = generate_between("cluster.local", NOW - 10 * 86400, NOW + 86400, NOW - 86400).unwrap();
        let (anchor, issuer) = (parse(&b.trust_anchor_pem), parse(&b.issuer_cert_pem));
        assert_eq!(validity_unix(&issuer), (NOW - 10 * 86400, NOW - 86400));
        assert_eq!(validity_unix(&anchor).1, NOW + 86400);
        assert_eq!(verify_signed_by(&issuer, &anchor), Signature::Valid);
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

    #[test]
    fn self_signed_serving_certificate_for_the_service() {
        let names = ["tap.linkerd-viz.svc", "tap.linkerd-viz.svc.cluster.local"];
        let c = serving_cert(&names, ServingSigner::SelfSigned, NOW, 365).unwrap();
        assert_eq!(c.ca_pem, c.cert_pem, "the caBundle is the certificate itself");
        let cert = Certificate::from_pem(c.cert_pem.as_bytes()).unwrap();
        assert_eq!(cert.tbs_certificate.subject.to_string(), "CN=tap.linkerd-viz.svc");
        assert_eq!(cert.tbs_certificate.issuer, cert.tbs_certificate.subject);
        assert_eq!(verify_signed_by(&cert, &cert), Signature::Valid, "self-signed");
        let (san, _): (SubjectAltName, bool) = extension(&cert);
        let dns: Vec<String> = san
            .0
            .iter()
            .map(|n| match n {
                GeneralName::DnsName(d) => d.to_string(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(dns, names);
        let (bc, _): (BasicConstraints, bool) = extension(&cert);
        assert!(!bc.ca);
        let (ku, _): (KeyUsage, bool) = extension(&cert);
        assert!(ku.digital_signature() && ku.key_encipherment());
        let (eku, _): (ExtendedKeyUsage, bool) = extension(&cert);
        assert_eq!(eku.0, [ID_KP_SERVER_AUTH, ID_KP_CLIENT_AUTH]);
        assert_eq!(validity_unix(&cert), (NOW - 300, NOW + 365 * 86400));
        // The key is SEC1 with a named curve and belongs to the certificate.
        assert!(c.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        assert_eq!(check_key(&cert, &c.key_pem), Ok(KeyCheck::Matches));
        assert!(!format!("{c:?}").contains("PRIVATE"));
        // A new key every time.
        let d = serving_cert(&names, ServingSigner::SelfSigned, NOW, 365).unwrap();
        assert_ne!(c.cert_pem, d.cert_pem);
    }

    #[test]
    fn serving_certificate_with_its_own_ca() {
        let c = serving_cert(&["linkerd-sp-validator.linkerd.svc"], ServingSigner::OwnCa, NOW, 365).unwrap();
        let (ca, leaf) = (
            Certificate::from_pem(c.ca_pem.as_bytes()).unwrap(),
            Certificate::from_pem(c.cert_pem.as_bytes()).unwrap(),
        );
        assert!(is_ca(&ca) && !is_ca(&leaf));
        assert_eq!(common_name(&ca), "CN=webhook-ca.linkerd-sp-validator.linkerd.svc");
        assert_eq!(verify_signed_by(&leaf, &ca), Signature::Valid);
        let (eku, _): (ExtendedKeyUsage, bool) = extension(&leaf);
        assert_eq!(eku.0, [ID_KP_SERVER_AUTH]);
        assert_eq!(check_key(&leaf, &c.key_pem), Ok(KeyCheck::Matches));
        assert_eq!(validity_unix(&ca), validity_unix(&leaf));
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
            assert_eq!(base64_encode(input.as_bytes()), want);
            assert_eq!(base64_decode(want).unwrap(), input.as_bytes());
        }
        assert_eq!(base64_encode(&[0xff, 0xfe, 0xfd]), "//79");
    }
}
