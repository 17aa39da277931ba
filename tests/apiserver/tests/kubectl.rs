//! kubectl against the server (skipped with a message when kubectl is not on PATH), and the
//! TestCluster helper.

mod common;

use common::*;
use std::io::Write;
use std::process::Command;
use wasmesh_test_apiserver::TestCluster;

fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("kubectl not on PATH: skipping");
    }
    found
}

/// Runs kubectl with the given kubeconfig. Applies pass --validate=false: the server serves no
/// OpenAPI documents, which kubectl's client-side/field validation would download first.
/// Runs kubectl with the given kubeconfig; returns (success, stdout, stderr).
fn kubectl(kubeconfig: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(kubeconfig.as_bytes()).unwrap();
    // A fresh discovery cache per call, so no call sees another's (or another test's) cached kinds.
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("kubectl");
    cmd.arg("--kubeconfig")
        .arg(file.path())
        .arg("--cache-dir")
        .arg(home.path().join("cache"))
        .args(args);
    cmd.env_remove("KUBECONFIG")
        .env("HOME", home.path())
        .stdin(std::process::Stdio::piped());
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[tokio::test]
async fn kubectl_apply_get_delete() {
    if !kubectl_available() {
        return;
    }
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("kubectl").await;
    let kc = cluster.kubeconfig().to_string();
    let manifest = format!(
        "{}---\napiVersion: example.com/v1alpha1\nkind: Widget\nmetadata:\n  name: w1\n  namespace: {ns}\nspec:\n  size: 1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm1\n  namespace: {ns}\n  labels: {{app: demo}}\ndata:\n  a: \"1\"\n",
        crd_yaml("example.com", "Widget", "widgets")
    );
    // The CRD and an object of it in one apply: kubectl re-discovers after the CRD is established.
    let (ok, out, err) = kubectl(
        &kc,
        &["apply", "--server-side", "--validate=false", "-f", "-"],
        Some(&manifest),
    );
    let (ok, out, err) = if ok {
        (ok, out, err)
    } else {
        // Like on a real cluster, the first apply may race discovery of the new kind; a second apply succeeds.
        eprintln!("first apply: {out} {err}");
        kubectl(
            &kc,
            &["apply", "--server-side", "--validate=false", "-f", "-"],
            Some(&manifest),
        )
    };
    assert!(ok, "apply failed: {out} {err}");
    assert!(out.contains("configmap/cm1 serverside-applied"), "{out}");

    let (ok, out, err) = kubectl(
        &kc,
        &[
            "get",
            "configmaps",
            "-n",
            &ns,
            "-l",
            "app=demo",
            "-o",
            "jsonpath={.items[*].data.a}",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert_eq!(out, "1");
    let (ok, out, err) = kubectl(&kc, &["get", "widgets", "-n", &ns], None);
    assert!(ok, "{err}");
    assert!(out.contains("w1"), "{out}");
    let (ok, out, err) = kubectl(
        &kc,
        &["get", "cm", "cm1", "-n", &ns, "-o", "json", "--show-managed-fields"],
        None,
    );
    assert!(ok, "{err}");
    let cm: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "kubectl");

    let (ok, _, err) = kubectl(&kc, &["delete", "configmap", "cm1", "-n", &ns], None);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&kc, &["get", "configmap", "cm1", "-n", &ns], None);
    assert!(!ok);
    assert!(err.contains("configmaps \"cm1\" not found"), "{err}");

    let (ok, _, err) = kubectl(&kc, &["delete", "crd", "widgets.example.com"], None);
    assert!(ok, "{err}");
    let (ok, _, err) = kubectl(&kc, &["get", "widgets", "-n", &ns], None);
    assert!(!ok, "widgets are no longer served");
    assert!(
        err.contains("the server doesn't have a resource type \"widgets\""),
        "{err}"
    );
}

#[tokio::test]
async fn kubectl_auth_can_i_as_a_service_account() {
    if !kubectl_available() {
        return;
    }
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("cani").await;
    let kc = cluster.kubeconfig().to_string();
    let rbac = format!(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: cm-reader, namespace: {ns}}}\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps]\n  verbs: [get, list]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: cm-reader, namespace: {ns}}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}}\nsubjects:\n- {{kind: ServiceAccount, name: sa, namespace: {ns}}}\n"
    );
    let (ok, out, err) = kubectl(
        &kc,
        &["apply", "--server-side", "--validate=false", "-f", "-"],
        Some(&rbac),
    );
    assert!(ok, "{out} {err}");
    let who = format!("--as=system:serviceaccount:{ns}:sa");
    let (ok, out, err) = kubectl(&kc, &["auth", "can-i", "list", "configmaps", "-n", &ns, &who], None);
    assert!(ok, "{out} {err}");
    assert_eq!(out.trim(), "yes");
    let (ok, out, _) = kubectl(&kc, &["auth", "can-i", "delete", "configmaps", "-n", &ns, &who], None);
    assert!(!ok);
    assert_eq!(out.trim(), "no");
    let (ok, out, _) = kubectl(
        &kc,
        &["auth", "can-i", "list", "configmaps", "-n", "default", &who],
        None,
    );
    assert!(!ok, "the Role only applies in its namespace: {out}");

    if let Some(server) = cluster.server() {
        // kubectl impersonated the SA: the review was made as the SA by the admin.
        let review = server
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.path.ends_with("selfsubjectaccessreviews"))
            .unwrap();
        assert_eq!(review.user.as_deref(), Some("admin"));
        assert_eq!(review.effective_user, Some(format!("system:serviceaccount:{ns}:sa")));
    }
}

#[tokio::test]
async fn test_namespaces_are_created_and_deleted_on_drop() {
    let cluster = TestCluster::start().await;
    let client = cluster.client().await;
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
    let name = {
        let ns = cluster.namespace("guard").await;
        assert!(ns.name().starts_with("guard-"));
        assert!(namespaces.get_opt(&ns).await.unwrap().is_some());
        ns.name().to_string()
    };
    // Deletion completes before drop returns (on a real cluster the namespace may still be terminating).
    let left = namespaces.get_opt(&name).await.unwrap();
    assert!(left.is_none_or(|n| n.status.and_then(|s| s.phase).as_deref() == Some("Terminating")));
    if let Some(server) = cluster.server() {
        let kc: serde_yaml::Value = serde_yaml::from_str(cluster.kubeconfig()).unwrap();
        assert_eq!(kc["kind"], "Config");
        assert_eq!(
            kc["clusters"][0]["cluster"]["server"].as_str(),
            Some(server.url().as_str())
        );
        assert!(kc["clusters"][0]["cluster"]["certificate-authority-data"].is_string());
        assert_eq!(kc["users"][0]["user"]["token"].as_str(), Some(server.admin_token()));
    }
}
