//! `TestCluster`: the one entry point of cluster tests. It runs them against the built-in server,
//! or against the real cluster named by the kubeconfig file in WASMESH_TEST_KUBECONFIG.

use crate::server::ApiServer;
use base64::Engine;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, PostParams};
use serde_yaml::Value;
use std::path::{Path, PathBuf};

/// Environment variable naming a kubeconfig file of a real cluster to test against.
pub const KUBECONFIG_ENV: &str = "WASMESH_TEST_KUBECONFIG";

pub struct TestCluster {
    server: Option<ApiServer>,
    kubeconfig: String,
}

impl TestCluster {
    /// The built-in API server, or the cluster named by the kubeconfig file in WASMESH_TEST_KUBECONFIG.
    pub async fn start() -> TestCluster {
        match std::env::var(KUBECONFIG_ENV) {
            Ok(path) if !path.trim().is_empty() => {
                let kubeconfig = flatten_kubeconfig(Path::new(path.trim()))
                    .unwrap_or_else(|e| panic!("{KUBECONFIG_ENV}={path}: {e}"));
                TestCluster {
                    server: None,
                    kubeconfig,
                }
            }
            _ => {
                let server = ApiServer::start();
                let kubeconfig = server.kubeconfig().to_string();
                TestCluster {
                    server: Some(server),
                    kubeconfig,
                }
            }
        }
    }

    /// The built-in API server, whatever WASMESH_TEST_KUBECONFIG says: for tests that need its
    /// fault injection.
    pub fn built_in() -> TestCluster {
        let server = ApiServer::start();
        let kubeconfig = server.kubeconfig().to_string();
        TestCluster {
            server: Some(server),
            kubeconfig,
        }
    }

    /// A self-contained, single-context kubeconfig YAML with inline credentials.
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    pub async fn client(&self) -> kube::Client {
        crate::client_from_kubeconfig(&self.kubeconfig).await
    }

    /// Some for the built-in server (request log, fault injection, token minting), None on a real cluster.
    pub fn server(&self) -> Option<&ApiServer> {
        self.server.as_ref()
    }

    /// Creates a uniquely named namespace `{prefix}-{random}`; it is deleted when the guard drops.
    pub async fn namespace(&self, prefix: &str) -> TestNamespace {
        let name = format!(
            "{}-{}",
            prefix.trim_end_matches('-'),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"wasmesh.io/test": "true"}}
        }))
        .expect("namespace object");
        Api::<Namespace>::all(self.client().await)
            .create(&PostParams::default(), &ns)
            .await
            .unwrap_or_else(|e| panic!("create namespace {name}: {e}"));
        TestNamespace {
            name,
            kubeconfig: self.kubeconfig.clone(),
        }
    }
}

/// A namespace owned by one test. Dropping it deletes the namespace (best effort): the delete runs
/// on a thread with its own runtime, so Drop works inside and outside async contexts. The built-in
/// server runs on its own thread too, so a current-thread test runtime blocked here cannot stall it.
pub struct TestNamespace {
    name: String,
    kubeconfig: String,
}

impl TestNamespace {
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::ops::Deref for TestNamespace {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for TestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        cleanup(self.kubeconfig.clone(), move |client| async move {
            if let Err(e) = Api::<Namespace>::all(client)
                .delete(&name, &DeleteParams::background())
                .await
            {
                eprintln!("warning: could not delete test namespace {name}: {e}");
            }
        });
    }
}

/// Runs `f` with a client for `kubeconfig` to completion, from a `Drop` (also while a test
/// panics): on a thread with its own runtime, since the test's runtime may be the caller.
pub fn cleanup<F, Fut>(kubeconfig: String, f: F)
where
    F: FnOnce(kube::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let worker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cleanup runtime");
        rt.block_on(async {
            let client = crate::client_from_kubeconfig(&kubeconfig).await;
            f(client).await;
        });
    });
    let _ = worker.join();
}

/// The current context of a kubeconfig file as a single-context kubeconfig with every file
/// reference (CA, client certificate/key, token file) inlined.
pub fn flatten_kubeconfig(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let doc: Value = serde_yaml::from_str(&text).map_err(|e| e.to_string())?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let current = doc
        .get("current-context")
        .and_then(Value::as_str)
        .ok_or("no current-context")?;
    let find = |list: &str, name: &str| -> Result<Value, String> {
        doc.get(list)
            .and_then(Value::as_sequence)
            .and_then(|s| s.iter().find(|e| e.get("name").and_then(Value::as_str) == Some(name)))
            .cloned()
            .ok_or_else(|| format!("no {list} entry named {name:?}"))
    };
    let context = find("contexts", current)?;
    let cluster_name = context["context"]
        .get("cluster")
        .and_then(Value::as_str)
        .ok_or("context without cluster")?;
    let user_name = context["context"]
        .get("user")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut cluster = find("clusters", cluster_name)?;
    let mut user = if user_name.is_empty() {
        serde_yaml::from_str("{name: '', user: {}}").expect("yaml")
    } else {
        find("users", user_name)?
    };
    inline_file(
        &mut cluster["cluster"],
        "certificate-authority",
        "certificate-authority-data",
        &base,
        true,
    )?;
    inline_file(
        &mut user["user"],
        "client-certificate",
        "client-certificate-data",
        &base,
        true,
    )?;
    inline_file(&mut user["user"], "client-key", "client-key-data", &base, true)?;
    inline_file(&mut user["user"], "tokenFile", "token", &base, false)?;
    let flat = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [serde_json::to_value(&cluster).map_err(|e| e.to_string())?],
        "users": [serde_json::to_value(&user).map_err(|e| e.to_string())?],
        "contexts": [serde_json::to_value(&context).map_err(|e| e.to_string())?],
        "current-context": current,
    });
    serde_yaml::to_string(&flat).map_err(|e| e.to_string())
}

fn inline_file(section: &mut Value, file_key: &str, data_key: &str, base: &Path, base64: bool) -> Result<(), String> {
    let Some(map) = section.as_mapping_mut() else {
        return Ok(());
    };
    let Some(file) = map.remove(file_key) else {
        return Ok(());
    };
    let file = file.as_str().ok_or_else(|| format!("{file_key} is not a path"))?;
    let path = if Path::new(file).is_absolute() {
        PathBuf::from(file)
    } else {
        base.join(file)
    };
    let contents = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value = if base64 {
        base64::engine::general_purpose::STANDARD.encode(contents)
    } else {
        String::from_utf8_lossy(&contents).trim().to_string()
    };
    map.insert(Value::from(data_key), Value::from(value));
    Ok(())
}
