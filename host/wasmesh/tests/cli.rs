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
