//! Per-call limits a hostile plugin runs into: host handles (the resource table), and what the
//! host copies out of a call, which the built-in translators' largest answers fit with room.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmesh_runtime::{
    DEFAULT_MAX_RESULT_BYTES, Error, HostCalls, ListQuery, MAX_HOST_RESOURCES_PER_CALL, Runtime, RuntimeConfig, types,
};

fn plugin(package: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = std::env::current_exe().unwrap();
    wasmesh_build_support::build_components_in(
        &wasmesh_build_support::wasm_target_dir(&exe),
        &root.join("tests/plugins/Cargo.toml"),
        &[package],
    )
    .remove(0)
}

/// Keeps the progress summaries a call reports.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl HostCalls for Recorder {
    async fn cluster_get(
        &mut self,
        _: String,
        _: String,
        _: Option<String>,
        _: String,
    ) -> Result<Option<String>, types::Error> {
        Ok(None)
    }

    async fn cluster_list(&mut self, _: ListQuery) -> Result<Vec<String>, types::Error> {
        Ok(vec![])
    }

    fn progress(&mut self, _: types::Level, summary: String, _: String, _: Option<types::Error>) {
        self.0.lock().unwrap().push(summary);
    }
}

/// A plugin that takes host handles and never gives them back is stopped at the per-call bound,
/// long before wasmtime's own default (a million entries of host memory).
#[tokio::test]
async fn host_handles_are_bounded_per_call() {
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 2,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let wasm = std::fs::read(plugin("wasmesh-test-handles")).unwrap();
    let plugin = rt.load("handles", &wasm, Recorder::default()).await.unwrap();
    let request = types::OperationRequest {
        key: "hoard-handles".into(),
        namespace: "default".into(),
        version: String::new(),
        custom_body: String::new(),
        delete: false,
        operation_id: "handles".into(),
        username: "test".into(),
        cluster: types::ClusterInfo {
            name: "none".into(),
            server: "none".into(),
        },
    };
    let recorder = Recorder::default();
    let (r, _) = plugin.plan(recorder.clone(), &request).await;
    let e = r.expect_err("the call is stopped");
    assert!(
        matches!(&e, Error::Trap { reason, .. } if reason.contains("resource table has no free keys")),
        "{e}"
    );
    let held = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|s| s.strip_prefix("held ")?.parse::<usize>().ok())
        .max()
        .unwrap_or(0);
    assert!(held < MAX_HOST_RESOURCES_PER_CALL, "the plugin held {held} handles");
    // The next call starts with an empty table.
    let (again, _) = plugin.plan(recorder.clone(), &request).await;
    assert!(matches!(again, Err(Error::Trap { .. })), "{again:?}");
}

/// The built-in translators, built as the host embeds them.
fn builtin(package: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let exe = std::env::current_exe().unwrap();
    let wasm = wasmesh_build_support::build_components_in(
        &wasmesh_build_support::wasm_target_dir(&exe),
        &root.join("Cargo.toml"),
        &[package],
    );
    std::fs::read(&wasm[0]).unwrap()
}

fn operation(key: &str, body: &str, version: &str) -> types::OperationRequest {
    types::OperationRequest {
        key: key.into(),
        namespace: "default".into(),
        version: version.into(),
        custom_body: body.into(),
        delete: false,
        operation_id: "lift".into(),
        username: "test".into(),
        cluster: types::ClusterInfo {
            name: "none".into(),
            server: "none".into(),
        },
    }
}

/// The largest answers of the built-in translators (describe, the design kinds with their CRD
/// schemas, every install profile) fit a quarter of what the host copies from one call: the
/// bound on aliased answers leaves legitimate ones four times their size at least.
#[tokio::test]
async fn the_built_in_translators_largest_answers_fit_a_quarter_of_the_copy_limit() {
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 2,
        max_result_bytes: DEFAULT_MAX_RESULT_BYTES / 4,
        ..RuntimeConfig::default()
    })
    .unwrap();
    // (operation, body, version) of each translator's largest plans.
    let cases: [(&str, &str, &[(&str, &str, &str)]); 2] = [
        (
            "wasmesh-plugin-istio",
            "istio",
            &[
                ("istio", "profile: demo", ""),
                ("istio", "profile: ambient", ""),
                ("istio", "profile: ambient", "1.26.3"),
            ],
        ),
        (
            "wasmesh-plugin-linkerd",
            "linkerd",
            &[("linkerd", "", ""), ("linkerd", "", "edge-25.4.4")],
        ),
    ];
    for (package, name, operations) in cases {
        // Loading calls describe.
        let plugin = rt.load(name, &builtin(package), Recorder::default()).await.unwrap();
        let (kinds, _) = plugin.design_kinds(Recorder::default()).await;
        assert!(kinds.unwrap().len() > 10, "{name}: its design kinds");
        for (key, body, version) in operations {
            let (r, _) = plugin.plan(Recorder::default(), &operation(key, body, version)).await;
            let plan = r.unwrap_or_else(|e| panic!("{name} {key} {body} {version}: {e}"));
            let plan = plan.unwrap_or_else(|e| panic!("{name} {key} {body} {version}: {}", e.message));
            assert!(!plan.stages.is_empty(), "{name} {key} {body} {version}");
        }
    }
}
