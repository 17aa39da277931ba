//! Reading the certificates a translator stored in the cluster, with a Rust x509 parser on the
//! host side (not the plugin's own code), to check what it claims about them.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{DerSignature, VerifyingKey};
use x509_cert::Certificate;
use x509_cert::der::oid::AssociatedOid;
use x509_cert::der::{DecodeOwned, DecodePem, Encode};

/// One PEM certificate.
pub fn cert(pem: &[u8]) -> Certificate {
    Certificate::from_pem(pem).unwrap_or_else(|e| panic!("certificate PEM: {e}"))
}

/// Whether `child` names `parent` as its issuer and carries a signature the parent's P-256 key
/// verifies.
pub fn signed_by(child: &Certificate, parent: &Certificate) -> bool {
    let spki = &parent.tbs_certificate.subject_public_key_info;
    let Ok(key) = VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()) else {
        return false;
    };
    let Ok(signature) = DerSignature::from_bytes(child.signature.raw_bytes()) else {
        return false;
    };
    child.tbs_certificate.issuer == parent.tbs_certificate.subject
        && key.verify(&child.tbs_certificate.to_der().unwrap(), &signature).is_ok()
}

/// The certificate's extension of type T and whether it is critical.
pub fn extension<T: DecodeOwned + AssociatedOid>(c: &Certificate) -> Option<(T, bool)> {
    c.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == T::OID)
        .map(|e| {
            (
                T::from_der(e.extn_value.as_bytes()).expect("extension decodes"),
                e.critical,
            )
        })
}
