//! Property tests of what the Linkerd translator reads from a request's custom body: install
//! options, add-on settings, the rotate-identity-issuer body (JSON, or PEM blocks and option
//! lines) and the PEM certificates and keys in it; and the linkerd-config values it reads back
//! from the cluster. No input panics; refusals carry this translator's codes and a remedy, and
//! never echo a private key.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p
//! wasmesh-plugin-linkerd fuzz_tests` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};

use crate::identity;
use crate::install::options;

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Option bodies: YAML or JSON mappings of the known keys (and others) with values of every
/// type, YAML-ish token soup, or anything.
fn body(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    let value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        "[a-z0-9.:/-]{0,24}".prop_map(Value::from),
        prop::sample::select(
            &[
                "trace",
                "debug",
                "info",
                "warn",
                "error",
                "cluster.local",
                "cr.l5d.io/linkerd"
            ][..]
        )
        .prop_map(Value::from),
        Just(json!([1, "a"])),
        Just(json!({"a": {}})),
    ];
    let key = prop_oneof![4 => prop::sample::select(keys).prop_map(str::to_string), 1 => "\\PC{0,10}"];
    let mapping = (prop::collection::btree_map(key, value, 0..5), any::<bool>()).prop_map(|(m, json)| {
        if json {
            serde_json::to_string(&m).unwrap()
        } else {
            serde_yaml::to_string(&m).unwrap()
        }
    });
    let soup = prop::collection::vec(
        prop::sample::select(
            &[
                "registry",
                "trustDomain",
                "waitSeconds",
                "logLevel",
                ":",
                ": ",
                "- ",
                "&a ",
                "*a",
                "{",
                "}",
                "[",
                "]",
                ",",
                "'",
                "\"",
                "#",
                "---",
                "\n",
                "  ",
                "!!str ",
                "|",
                "1e400",
                "~",
                "\\L",
            ][..],
        ),
        0..32,
    )
    .prop_map(|t| t.concat());
    prop_oneof![4 => mapping, 2 => soup, 1 => any::<String>()]
}

/// A base64 body for a PEM block: valid base64 of random bytes (DER-ish or not), or text that
/// is not quite base64.
fn pem_body() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| identity::base64_encode(&b)),
        // A DER SEQUENCE header with a random length and content: reaches the X.509 and SEC1
        // decoders past their first byte.
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..120)).prop_map(|(len, b)| {
            let mut der = vec![0x30, len];
            der.extend(b);
            identity::base64_encode(&der)
        }),
        "[A-Za-z0-9+/=\\s]{0,80}",
        "\\PC{0,40}",
    ]
}

/// The rotate-identity-issuer body in its forms: JSON, PEM blocks with option lines, or
/// anything.
fn rotate_body() -> impl Strategy<Value = String> {
    let label = prop::sample::select(
        &[
            "CERTIFICATE",
            "EC PRIVATE KEY",
            "PRIVATE KEY",
            "RSA PRIVATE KEY",
            "EC PARAMETERS",
            "X",
        ][..],
    );
    let block = (label, pem_body(), any::<bool>()).prop_map(|(l, b, closed)| {
        let mut t = format!("-----BEGIN {l}-----\n{b}\n");
        if closed {
            t.push_str(&format!("-----END {l}-----\n"));
        }
        t
    });
    let line = prop_oneof![
        prop::sample::select(
            &[
                "newTrustAnchor: true",
                "newTrustAnchor: false",
                "newTrustAnchor: maybe",
                "issuerValidityDays: 365",
                "anchorValidityDays: 0",
                "issuerValidityDays: 99999999999",
                "trustAnchorCertPEM: |",
                "trustAnchorKeyPEM: |-",
                "# comment",
                "---",
                "nonsense",
                "unknown: 1",
            ][..]
        )
        .prop_map(|l| format!("{l}\n")),
        "\\PC{0,20}\n",
    ];
    let text = prop::collection::vec(prop_oneof![block, line], 0..6).prop_map(|parts| parts.concat());
    let json = (
        prop::option::of(pem_body()),
        prop::option::of(pem_body()),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<i64>()),
        prop::option::of("\\PC{0,8}"),
    )
        .prop_map(|(cert, key, new, days, other)| {
            let mut m = serde_json::Map::new();
            if let Some(c) = cert {
                m.insert(
                    "trustAnchorCertPEM".into(),
                    identity::pem_text("CERTIFICATE", &c).into(),
                );
            }
            if let Some(k) = key {
                m.insert(
                    "trustAnchorKeyPEM".into(),
                    identity::pem_text("EC PRIVATE KEY", &k).into(),
                );
            }
            if let Some(n) = new {
                m.insert("newTrustAnchor".into(), n.into());
            }
            if let Some(d) = days {
                m.insert("issuerValidityDays".into(), d.into());
            }
            if let Some(o) = other {
                m.insert(o, Value::Null);
            }
            Value::Object(m).to_string()
        });
    prop_oneof![3 => text, 2 => json, 1 => any::<String>()]
}

fn check_error(e: &wasmesh_sdk::Error) {
    assert!(e.code.starts_with("WASMESH-LINKERD-"), "{}: {}", e.code, e.message);
    assert!(!e.message.is_empty() && !e.probable_cause.is_empty() && !e.suggested_remediation.is_empty());
    for marker in ["Some(", "Error {", "ErrorImpl", "panicked"] {
        assert!(!e.message.contains(marker), "{marker:?} in {}", e.message);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn install_options_never_panic_and_accept_only_valid_values(body in body(options::keys())) {
        match options::parse(&body) {
            Ok(o) => {
                prop_assert!((1..=options::MAX_WAIT_SECONDS).contains(&o.wait_seconds));
                prop_assert!(wasmesh_sdk::options::image_repository(&o.registry).as_deref() == Ok(o.registry.as_str()));
                prop_assert!(!o.trust_domain.is_empty() && o.trust_domain.len() <= 236);
                prop_assert!(o.trust_domain.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'));
            }
            Err(e) => check_error(&e),
        }
    }

    #[test]
    fn addon_settings_never_panic(body in body(&["logLevel"])) {
        match crate::addons::settings(&body) {
            Ok(level) => prop_assert!(["trace", "debug", "info", "warn", "error"].contains(&level.as_str())),
            Err(e) => check_error(&e),
        }
    }

    #[test]
    fn rotate_bodies_never_panic_and_never_echo_a_key(body in rotate_body()) {
        match crate::rotate::parse_options(&body) {
            Ok(o) => {
                // Both halves of an anchor, or neither.
                prop_assert_eq!(o.anchor_cert_pem.is_some(), o.anchor_key_pem.is_some());
                if let (Some(cert), Some(key)) = (&o.anchor_cert_pem, &o.anchor_key_pem) {
                    // What a rotation with the anchor reads next: the certificate, then the key.
                    if let Ok(certs) = identity::certificates(cert) {
                        for c in &certs {
                            if let Err(e) = identity::check_key(c, key) {
                                for (_, b64) in identity::pem_blocks(key).iter().filter(|(_, b)| b.len() >= 16) {
                                    prop_assert!(!e.contains(b64.as_str()), "the key is echoed: {e}");
                                }
                            }
                        }
                    }
                }
            }
            Err(e) => {
                check_error(&e);
                for (_, b64) in identity::pem_blocks(&body).iter().filter(|(l, b)| l.ends_with("PRIVATE KEY") && b.len() >= 16) {
                    prop_assert!(!e.message.contains(b64.as_str()), "the key is echoed: {}", e.message);
                }
            }
        }
    }

    #[test]
    fn pem_certificates_from_anywhere_never_panic(body in rotate_body()) {
        match identity::certificates(&body) {
            Ok(certs) => {
                prop_assert!(!certs.is_empty());
                for c in &certs {
                    // What the check and the rotation read of a certificate.
                    let _ = (identity::common_name(c), identity::issuer_name(c), identity::is_ca(c), identity::validity_unix(c));
                    let (from, to) = identity::validity_unix(c);
                    let _ = (identity::format_unix(from), identity::format_unix(to));
                    let _ = identity::verify_signed_by(c, c);
                }
            }
            Err(e) => prop_assert!(e.starts_with("no PEM") || e.starts_with("certificate "), "{e}"),
        }
    }

    #[test]
    fn base64_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..300), text in "\\PC{0,40}") {
        prop_assert_eq!(identity::base64_decode(&identity::base64_encode(&bytes)), Some(bytes));
        let _ = identity::base64_decode(&text);
    }

    #[test]
    fn installed_config_values_from_the_cluster_never_panic(values in body(&["identityTrustDomain", "clusterDomain", "controllerImage", "linkerdVersion"]), created_by in "\\PC{0,30}") {
        let cm = json!({"metadata": {"annotations": {"linkerd.io/created-by": created_by}}, "data": {"values": values}});
        let _ = crate::installed::version_of(&cm);
        let _ = crate::addons::InstalledConfig::of(&cm);
    }
}

#[test]
fn install_option_bombs_are_refused_with_the_options_error() {
    let mut body = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=9 {
        body.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            vec![format!("*a{}", level - 1); 10].join(", ")
        ));
    }
    let e = options::parse(&body).unwrap_err();
    assert_eq!(e.code, "WASMESH-LINKERD-1102");
    assert!(e.message.contains("expand past the limit"), "{}", e.message);
    let e = options::parse(&"[".repeat(10_000)).unwrap_err();
    assert!(e.message.contains("deeper than 128 levels"), "{}", e.message);
}
