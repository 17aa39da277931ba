//! Property tests of the kubeconfigs a request carries (Meshery sends them; anyone who reaches
//! a gRPC port can send one): no kubeconfig panics the host, one that would make the host run a
//! command, read a file, use a proxy or speak plain http is refused before any connection, every
//! refusal says what is wrong, and no refusal repeats the credentials it carries.
//!
//! 256 cases per property by default; `PROPTEST_CASES=100000 cargo test -p wasmesh-cluster
//! --test fuzz_kubeconfig` runs longer.

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};
use wasmesh_cluster::{AllowedServer, Cluster, Error, ServerPolicy};

/// A token no error may repeat.
const TOKEN: &str = "sekret-token-0123456789abcdef";

fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn server() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(&["https://127.0.0.1:6443", "https://10.1.2.3", "https://[::1]:443", "https://10.0.0.1:1/base/path"][..]).prop_map(Value::from),
        1 => prop::sample::select(&["http://10.0.0.1", "ftp://10.0.0.1", "unix:///var/run/k8s", "10.0.0.1:6443", "https://", "https://10.0.0.1:99999", "", "https://user:pw@10.0.0.1", "https://10.0.0.1/?x=1#f"][..]).prop_map(Value::from),
        1 => "\\PC{0,20}".prop_map(Value::from),
        1 => Just(json!(42)),
    ]
}

/// Certificate data: valid base64 of junk, or not base64 at all.
fn data() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| Value::from(base64(&b))),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(|b| {
            let pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                base64(&b)
            );
            Value::from(base64(pem.as_bytes()))
        }),
        "\\PC{0,16}".prop_map(Value::from),
    ]
}

/// A kubeconfig of the shape kubectl writes, with hostile fields switched on at random.
fn kubeconfig() -> impl Strategy<Value = Value> {
    let cluster = (
        server(),
        prop::option::of(data()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(server, ca, ca_file, proxy, insecure, tls_name)| {
            let mut c = json!({"server": server});
            if let Some(ca) = ca {
                c["certificate-authority-data"] = ca;
            }
            if ca_file {
                c["certificate-authority"] = "/etc/ssl/ca.pem".into();
            }
            if proxy {
                c["proxy-url"] = "http://10.9.9.9:3128".into();
            }
            if insecure {
                c["insecure-skip-tls-verify"] = true.into();
            }
            if tls_name {
                c["tls-server-name"] = "kubernetes".into();
            }
            c
        });
    let user = (0..8usize, prop::option::of(data()), prop::option::of(data())).prop_map(|(auth, cert, key)| {
        let mut u = match auth {
            0 => json!({"token": TOKEN}),
            1 => json!({"username": "admin", "password": TOKEN}),
            2 => json!({"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "sh", "args": ["-c", "id"]}}),
            3 => json!({"auth-provider": {"name": "gcp", "config": {"access-token": TOKEN}}}),
            4 => json!({"tokenFile": "/var/run/secrets/token"}),
            5 => json!({"client-certificate": "/etc/passwd", "client-key": "/etc/shadow"}),
            6 => json!({"token": TOKEN, "as": "system:admin", "as-groups": ["system:masters"]}),
            _ => json!({}),
        };
        if let Some(c) = cert {
            u["client-certificate-data"] = c;
        }
        if let Some(k) = key {
            u["client-key-data"] = k;
        }
        u
    });
    (
        prop::collection::vec(cluster, 0..3),
        prop::collection::vec(user, 0..3),
        prop::option::of(prop_oneof![Just("c0".to_string()), "\\PC{0,6}"]),
        0..3usize,
    )
        .prop_map(|(clusters, users, current, contexts)| {
            let named = |prefix: &str, items: Vec<Value>, field: &str| {
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| json!({"name": format!("{prefix}{i}"), field: v}))
                    .collect::<Vec<_>>()
            };
            let contexts: Vec<Value> = (0..contexts)
                .map(|i| json!({"name": format!("c{i}"), "context": {"cluster": format!("k{i}"), "user": format!("u{i}")}}))
                .collect();
            let mut kc = json!({
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": named("k", clusters, "cluster"),
                "users": named("u", users, "user"),
                "contexts": contexts,
            });
            if let Some(c) = current {
                kc["current-context"] = c.into();
            }
            kc
        })
}

fn written() -> impl Strategy<Value = String> {
    (kubeconfig(), any::<bool>()).prop_map(|(kc, json)| {
        if json {
            kc.to_string()
        } else {
            serde_yaml::to_string(&kc).unwrap()
        }
    })
}

/// The text of a kubeconfig: YAML or JSON, whole or with a few bytes changed, YAML-ish soup,
/// or anything.
fn kubeconfig_text() -> impl Strategy<Value = String> {
    let soup = prop::collection::vec(
        prop::sample::select(
            &[
                "clusters",
                "users",
                "contexts",
                "current-context",
                "server",
                "https://10.0.0.1",
                "token",
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
                "---\n",
                "\n",
                "  ",
                "!!binary ",
                "|",
                "~",
                "<<: ",
            ][..],
        ),
        0..48,
    )
    .prop_map(|t| t.concat());
    prop_oneof![
        5 => written(),
        2 => (written(), any::<prop::sample::Index>(), "\\PC{0,6}").prop_map(|(mut s, at, insert)| {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            s.insert_str(i, &insert);
            s
        }),
        2 => soup,
        1 => any::<String>(),
    ]
}

fn check_refusal(text: &str, e: &Error) {
    let message = e.to_string();
    assert!(
        matches!(e, Error::InvalidKubeconfig { .. } | Error::ServerNotAllowed { .. }),
        "{message}"
    );
    assert!(message.starts_with("the kubeconfig"), "{message}");
    assert!(!message.contains(TOKEN), "the credentials are repeated: {message}");
    for marker in ["Some(", "Error {", "ErrorImpl", "panicked"] {
        assert!(!message.contains(marker), "{marker:?} in {message:?}");
    }
    assert!(!e.suggested_remediation().is_empty(), "{text:?}");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn kubeconfigs_never_panic_and_only_self_contained_https_ones_pass(text in kubeconfig_text()) {
        let rt = runtime();
        match rt.block_on(Cluster::from_kubeconfig_with(&text, None, &ServerPolicy::default())) {
            Ok(cluster) => {
                prop_assert!(cluster.server.starts_with("https://"), "{}", cluster.server);
                prop_assert!(!cluster.server.contains('@'), "{}", cluster.server);
                // What passed holds nothing that runs, reads a file or goes through a proxy.
                let kc = kube::config::Kubeconfig::from_yaml(&text).unwrap();
                for u in kc.auth_infos.iter().filter_map(|u| u.auth_info.as_ref()) {
                    prop_assert!(u.exec.is_none() && u.auth_provider.is_none(), "{text}");
                    prop_assert!(u.token_file.is_none() && u.client_certificate.is_none() && u.client_key.is_none(), "{text}");
                }
                for c in kc.clusters.iter().filter_map(|c| c.cluster.as_ref()) {
                    prop_assert!(c.certificate_authority.is_none() && c.proxy_url.is_none(), "{text}");
                }
            }
            Err(e) => check_refusal(&text, &e),
        }
    }

    #[test]
    fn servers_outside_the_allowed_networks_are_refused(kc in kubeconfig()) {
        let text = serde_yaml::to_string(&kc).unwrap();
        let policy = ServerPolicy { allow_http: false, allowed: Some(vec![AllowedServer::parse("10.0.0.0/8").unwrap()]) };
        let rt = runtime();
        if let Ok(cluster) = rt.block_on(Cluster::from_kubeconfig_with(&text, None, &policy)) {
            prop_assert!(cluster.server.starts_with("https://10."), "{}", cluster.server);
        }
    }
}

/// A kubeconfig that is a YAML bomb or nests without end is refused as unusable, quickly (kube
/// reads kubeconfigs with serde-saphyr, which bounds aliases, nodes and depth).
#[test]
fn kubeconfig_bombs_and_deep_nesting_are_refused() {
    let mut laughs = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..=9 {
        laughs.push_str(&format!(
            "a{level}: &a{level} [{}]\n",
            vec![format!("*a{}", level - 1); 10].join(", ")
        ));
    }
    let quadratic = format!(
        "x: &x [{}]\ny: [{}]\n",
        vec!["x"; 100_000].join(","),
        vec!["*x"; 100_000].join(",")
    );
    let rt = runtime();
    for (what, text) in [
        ("billion laughs", format!("{laughs}clusters: []\n")),
        ("quadratic aliases", quadratic),
        ("deep flow nesting", "[".repeat(10_000)),
        ("deep block nesting", format!("{}x\n", "- ".repeat(10_000))),
        ("over the size limit", format!("clusters: []\n#{}", "x".repeat(1 << 20))),
    ] {
        let e = rt
            .block_on(Cluster::from_kubeconfig_with(&text, None, &ServerPolicy::default()))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidKubeconfig { .. }), "{what}: {e}");
        assert!(e.to_string().len() < 2000, "{what}: the refusal stays short: {e}");
    }
}

/// Found by kubeconfigs_never_panic_and_only_self_contained_https_ones_pass: a kubeconfig that
/// did not parse was refused with serde-saphyr's message, which quotes the lines around the
/// error, credentials included, into the ERROR event every subscriber receives.
#[test]
fn a_kubeconfig_that_does_not_parse_is_refused_without_quoting_it() {
    let text = format!(
        "{{\"users\":[{{\"name\":\"u0\",\"user\":{{\"client-key-data\":\"x\"%%4\",\"token\":\"{TOKEN}\"}}}}]}}"
    );
    let e = runtime()
        .block_on(Cluster::from_kubeconfig_with(&text, None, &ServerPolicy::default()))
        .unwrap_err();
    let message = e.to_string();
    assert!(
        message.starts_with("the kubeconfig is not usable: it is not valid YAML: ")
            && message.contains("at line 1, column "),
        "{message}"
    );
    assert!(!message.contains(TOKEN) && !message.contains('\n'), "{message}");
}

/// Found by the same property: a server of another scheme was refused with a Rust Debug dump,
/// `the scheme Some("ftp") is not https`.
#[test]
fn a_server_of_another_scheme_is_refused_naming_the_scheme() {
    let text = "clusters:\n- name: k\n  cluster: {server: 'ftp://10.0.0.1'}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n";
    let e = runtime()
        .block_on(Cluster::from_kubeconfig_with(text, None, &ServerPolicy::default()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the kubeconfig's API server ftp://10.0.0.1 is not allowed: its scheme \"ftp\" is not https"
    );
}

/// The generators' shape is one the host accepts when nothing hostile is switched on, so the
/// properties above see kubeconfigs that pass, not only refusals.
#[test]
fn a_self_contained_https_kubeconfig_of_the_generated_shape_passes() {
    let text = "clusters:\n- name: k0\n  cluster: {server: 'https://10.1.2.3'}\ncontexts:\n- name: c0\n  context: {cluster: k0, user: u0}\ncurrent-context: c0\nusers:\n- name: u0\n  user: {token: t}\n";
    let cluster = runtime()
        .block_on(Cluster::from_kubeconfig_with(text, None, &ServerPolicy::default()))
        .unwrap();
    assert_eq!(cluster.server, "https://10.1.2.3");
}

/// Found by servers_outside_the_allowed_networks_are_refused: a server URL with a user name and
/// password (`https://user:pw@10.0.0.1`) was accepted, and every event names the server.
#[test]
fn a_server_url_with_credentials_is_refused_without_showing_them() {
    let text = "clusters:\n- name: k\n  cluster: {server: 'https://user:pw@10.0.0.1'}\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\ncurrent-context: c\nusers:\n- name: u\n  user: {token: t}\n";
    let e = runtime()
        .block_on(Cluster::from_kubeconfig_with(text, None, &ServerPolicy::default()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the kubeconfig's API server https://10.0.0.1 is not allowed: its URL carries a user name or password; give credentials in the kubeconfig's user entry"
    );
}
