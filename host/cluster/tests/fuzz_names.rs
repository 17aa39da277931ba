//! Property tests of the name checks every plan step passes before its names reach a URL path
//! (kube-rs pastes namespaces and names into the path as they are): whatever a plugin or a
//! request writes, what passes cannot reach another resource than the one checked.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p wasmesh-cluster
//! --test fuzz_names` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;
use wasmesh_cluster::{check_name, check_namespace, check_type};

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Names a hostile plugin would try, and anything.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[a-z0-9./?#%\\\\ -]{0,12}",
        1 => prop::sample::select(&["..", ".", "a/../../secrets/db", "ns/configmaps/victim", "kube-system?", "x%2F..", "a\u{0}b", "v1/../..", "apps/v1/../.."][..]).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn names_that_pass_stay_one_path_segment(ns in name(), n in name()) {
        if check_namespace(&ns).is_ok() && check_name(&n).is_ok() {
            let path = format!("/api/v1/namespaces/{ns}/configmaps/{n}");
            let segments: Vec<&str> = path.split('/').collect();
            prop_assert_eq!(segments.len(), 7, "{}", path);
            prop_assert!(segments.iter().all(|s| *s != "." && *s != ".."), "{}", path);
            prop_assert!(!path.contains(['?', '#', '%', '\\']) && !path.chars().any(|c| c.is_whitespace() || c.is_control()), "{}", path);
        }
        for e in [check_namespace(&ns).err(), check_name(&n).err()].into_iter().flatten() {
            // The refusal shows the name escaped: a control character cannot split a log line.
            let message = e.to_string();
            prop_assert!(!message.chars().any(char::is_control), "{message:?}");
        }
    }

    #[test]
    fn types_that_pass_are_kubernetes_names(api_version in name(), kind in name()) {
        match check_type(&api_version, &kind) {
            Ok((group, version)) => {
                prop_assert!(group.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'));
                prop_assert!(!group.split('.').any(|l| l.is_empty()) || group.is_empty());
                prop_assert!(version.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
                prop_assert!(kind.bytes().all(|b| b.is_ascii_alphanumeric()));
            }
            Err(e) => prop_assert!(!e.to_string().chars().any(char::is_control)),
        }
    }
}
