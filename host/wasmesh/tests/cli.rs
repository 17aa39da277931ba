//! The `wasmesh` command's listing and RBAC output, from the real binary.

use std::process::Command;

fn wasmesh(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(args)
        .arg("--no-cache")
        .env("RUST_LOG", "error")
        .output()
        .expect("run wasmesh");
    assert!(
        out.status.success(),
        "wasmesh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn plugins_lists_declared_granted_and_effective() {
    let out = wasmesh(&["plugins"]);
    for want in [
        "linkerd (LINKERD): linkerd",
        "istio (ISTIO): istio",
        "kuma (KUMA): kuma",
        "wit: wasmesh:adapter@0.1.0",
        "operation annotate-namespace",
        "operation label-namespace",
        "declared:",
        "granted: everything declared",
        "effective:",
        "get,create,patch namespaces (core) at cluster scope",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let shas = out.lines().filter(|l| l.trim_start().starts_with("sha256: ")).count();
    assert_eq!(shas, 3, "{out}");
}

#[test]
fn plugins_codes_lists_every_code_of_the_host_and_each_plugin_once() {
    let out = wasmesh(&["plugins", "--codes"]);
    for want in [
        "host: ",
        "plugin linkerd (LINKERD, port 10001): ",
        "plugin istio (ISTIO, port 10000): ",
        "plugin kuma (KUMA, port 10007): ",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(want)),
            "no heading {want:?} in:\n{out}"
        );
    }
    // A code, a message as the plugin declares it (placeholders in braces) or what a host code says.
    let line = |code: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{code} ")))
            .unwrap_or_else(|| panic!("no {code} in:\n{out}"))
            .split_once(code)
            .unwrap()
            .1
            .trim()
            .to_string()
    };
    assert_eq!(line("WASMESH-LINKERD-1401"), "Linkerd CRDs missing: {missing}");
    assert_eq!(
        line("WASMESH-ISTIO-1510").split(" (").next(),
        Some("{workload} runs without the istio-proxy sidecar")
    );
    assert_eq!(line("WASMESH-KUMA-1000"), "unknown operation \"{key}\"");
    assert_eq!(
        line("WASMESH-CAP-DENIED"),
        "a read or a plan needs an action outside the plugin's grant; nothing was changed"
    );
    assert_eq!(line("WASMESH-CLUSTER-1009"), "an object did not become ready in time");
    // Each code once: the command exits 1 and names the code when one is declared twice.
    let codes: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  WASMESH-"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let mut unique = codes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), codes.len(), "{out}");
    assert!(codes.len() > 150, "{} codes:\n{out}", codes.len());
}

#[test]
fn plugins_shows_an_operation_grant() {
    let dir = std::env::temp_dir().join(format!("wasmesh-cli-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ops.yaml");
    std::fs::write(
        &path,
        "plugins: [{name: linkerd, builtin: linkerd, port: 1, grant: {operations: [annotate-namespace]}}]\n",
    )
    .unwrap();
    let out = wasmesh(&["--config", path.to_str().unwrap(), "plugins"]);
    std::fs::remove_dir_all(dir).unwrap();
    for want in [
        "granted operations: annotate-namespace",
        "operation custom [Category::Custom] (not granted)",
        "declared for the granted operations:",
        "granted: everything declared (no grant.kube in the configuration)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("operation annotate-namespace [Category::Configure] (not granted)"),
        "{out}"
    );
    assert!(!out.contains(" * (*) "), "custom's wildcard rules went with it:\n{out}");
}

#[test]
fn rbac_is_valid_yaml_confining_the_host_to_impersonation() {
    let out = wasmesh(&["rbac", "--namespace", "mesh-ops", "--request-namespace", "shop"]);
    let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&out)
        .map(|d| serde::Deserialize::deserialize(d).expect("each document is YAML"))
        .collect();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[0], "Namespace");
    for want in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
    ] {
        assert!(kinds.contains(&want), "{kinds:?}");
    }
    let host_role = docs
        .iter()
        .find(|d| d["kind"] == "Role" && d["metadata"]["name"] == "wasmesh-host-impersonate")
        .expect("the host's role");
    assert_eq!(host_role["metadata"]["namespace"], "mesh-ops");
    let rules = host_role["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["verbs"], serde_json::json!(["impersonate"]));
    assert_eq!(
        rules[0]["resourceNames"],
        serde_json::json!(["wasmesh-istio", "wasmesh-kuma", "wasmesh-linkerd"])
    );
}

#[test]
fn rbac_adds_list_and_watch_where_the_plugin_writes_only_with_drift_on() {
    let dir = std::env::temp_dir().join(format!("wasmesh-cli-drift-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The verbs of the plugin's rules on namespaces, with drift on or off.
    let verbs = |drift: &str| -> Vec<String> {
        let path = dir.join(format!("drift-{}.yaml", drift.len()));
        std::fs::write(
            &path,
            format!(
                "plugins: [{{name: linkerd, builtin: linkerd, port: 1, grant: {{operations: [annotate-namespace]}}{drift}}}]\n"
            ),
        )
        .unwrap();
        let out = wasmesh(&["--config", path.to_str().unwrap(), "rbac", "--namespace", "mesh-ops"]);
        let docs: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&out)
            .map(|d| serde::Deserialize::deserialize(d).expect("each document is YAML"))
            .collect();
        let mut verbs: Vec<String> = docs
            .iter()
            .filter(|d| d["kind"] == "ClusterRole" && d["metadata"]["labels"]["wasmesh.io/plugin"] == "linkerd")
            .flat_map(|d| d["rules"].as_array().cloned().unwrap_or_default())
            .filter(|r| r["resources"] == serde_json::json!(["namespaces"]))
            .flat_map(|r| r["verbs"].as_array().cloned().unwrap_or_default())
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        verbs.sort();
        verbs
    };
    assert_eq!(verbs(""), ["create", "get", "patch"], "drift off: nothing added");
    assert_eq!(
        verbs(", drift: {watch: true}"),
        ["create", "get", "list", "patch", "watch"],
        "drift on: list and watch where it may patch"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_config_is_refused_with_the_reason() {
    let dir = std::env::temp_dir().join(format!("wasmesh-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "plugins: [{name: a, port: 1}]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(["--config", path.to_str().unwrap(), "plugins"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exactly one of builtin or path"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn components_prints_the_decoded_definitions_each_plugin_registers() {
    let defs: Vec<serde_json::Value> = serde_json::from_str(&wasmesh(&["components", "--plugin", "linkerd"])).unwrap();
    let kinds: Vec<&str> = defs.iter().map(|d| d["component"]["kind"].as_str().unwrap()).collect();
    for want in [
        "LinkerdMesh",
        "VizLinkerdAddon",
        "ServiceProfile",
        "Server",
        "HTTPRoute",
    ] {
        assert!(kinds.contains(&want), "{kinds:?}");
    }
    for d in &defs {
        assert_eq!(d["model"]["name"], "linkerd");
        assert_eq!(d["schemaVersion"], "components.meshery.io/v1beta1");
        assert_eq!(d["status"], "enabled");
        let schema: serde_json::Value = serde_json::from_str(d["component"]["schema"].as_str().unwrap()).unwrap();
        assert_eq!(schema["type"], "object", "{d}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(["components", "--plugin", "consul", "--no-cache"])
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no plugin consul; the configuration loads: istio, linkerd, kuma"),
        "{err}"
    );
}

#[test]
fn a_meshery_server_that_is_not_an_http_url_is_refused_at_start() {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(["plugins", "--no-cache"])
        .env("MESHERY_SERVER", "meshery:9081")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("meshery_server \"meshery:9081\" has no scheme") && err.contains("http://host:port"),
        "{err}"
    );
}

/// Grants that make their holder cluster-admin by other roads than the listed ones: patching a
/// running pod's image (a privileged DaemonSet's pod then runs other code), a
/// ReplicationController's pod template, a mutating admission policy. `wasmesh plugins` said
/// "no", and strict mode (which `wasmesh deploy` always sets) ran them without
/// grant.clusterAdmin.
#[test]
fn disguised_cluster_admin_grants_beyond_the_first_list_are_named() {
    let dir = std::env::temp_dir().join(format!("wasmesh-cli-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (rule, says) in [
        (
            "{apiGroups: [''], resources: [pods], verbs: [get, patch], namespaces: all}",
            "pods in all namespaces",
        ),
        (
            "{apiGroups: [''], resources: [replicationcontrollers], verbs: [create], namespaces: all}",
            "replicationcontrollers in all namespaces",
        ),
        (
            "{apiGroups: [admissionregistration.k8s.io], resources: [mutatingadmissionpolicies, mutatingadmissionpolicybindings], verbs: [create], namespaces: cluster}",
            "mutatingadmissionpolicies at cluster scope",
        ),
    ] {
        let path = dir.join("admin.yaml");
        std::fs::write(
            &path,
            format!(
                "plugins: [{{name: linkerd, builtin: linkerd, port: 1, grant: {{operations: [custom], kube: [{rule}]}}}}]\n"
            ),
        )
        .unwrap();
        let out = wasmesh(&["--config", path.to_str().unwrap(), "plugins"]);
        assert!(out.contains("cluster-admin equivalent: YES"), "{rule}:\n{out}");
        assert!(out.contains(says), "{rule}: no {says:?} in:\n{out}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// The environment names a Meshery server on another machine and advertises loopback (as the
/// upstream adapters' SERVICE_ADDR might): the server would dial itself for Provision, and
/// whatever listens there would get the kubeconfigs. Refused at start, as is a host with a port.
#[test]
fn a_loopback_or_malformed_advertised_host_for_a_remote_meshery_server_is_refused() {
    for (addr, says) in [
        ("localhost", "is this machine's own loopback name"),
        ("127.0.0.1", "is this machine's own loopback name"),
        ("[::1]", "is this machine's own loopback name"),
        ("0.0.0.0", "is this machine's own loopback name"),
        ("[::]", "is this machine's own loopback name"),
        ("[::ffff:127.0.0.1]", "is this machine's own loopback name"),
        ("wasmesh.localhost", "is this machine's own loopback name"),
        ("wasmesh.meshery.svc:10000", "is not a host name"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
            .args(["plugins", "--no-cache"])
            .env("MESHERY_SERVER", "http://meshery.example:9081")
            .env("SERVICE_ADDR", addr)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{addr} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{addr}: {err}");
    }
}

/// WASMESH_CONFIG can swap the whole configuration for a looser file: the log says which file
/// rules and where it was named, whatever RUST_LOG says.
#[test]
fn the_configuration_file_in_use_is_logged_with_where_it_was_named() {
    let dir = std::env::temp_dir().join(format!("wasmesh-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("looser.yaml");
    std::fs::write(&path, "plugins: []\n").unwrap();
    for (how, named) in [
        ("env", "environment variable WASMESH_CONFIG"),
        ("flag", "flag --config"),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmesh"));
        match how {
            "env" => cmd.env("WASMESH_CONFIG", &path).arg("plugins"),
            _ => cmd
                .env_remove("WASMESH_CONFIG")
                .args(["plugins", "--config", path.to_str().unwrap()]),
        };
        let out = cmd.env("RUST_LOG", "error").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{how}: {err}");
        let line = format!("configuration file {} (from {named})", path.display());
        assert!(err.contains(&line), "{how}: no {line:?} in {err}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}
