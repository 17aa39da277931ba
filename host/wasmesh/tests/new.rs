//! `wasmesh new`, from the real binary: the crate it writes passes its own tests and builds for
//! wasm32-wasip2 as written; the component passes `wasmesh inspect`, dry-runs with `wasmesh plan`
//! and serves Meshery from the host (its namespace operation over gRPC against the test API
//! server, or the cluster of WASMESH_TEST_KUBECONFIG). Bad names and a folder in use are refused
//! with nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use wasmesh_e2e::meshery::{ERROR, Generation};
use wasmesh_e2e::{Events, TestCluster, client, namespace, request, run, run_ok};

const LABEL: &str = "demo.example.com/enabled";

fn wasmesh(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "error")
        .env_remove("WASMESH_CONFIG")
        .output()
        .expect("run wasmesh")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository's SDK: what the generated crate is built against.
fn repo_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../sdk")
        .canonicalize()
        .unwrap()
}

/// A folder of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "wasmesh-new-{name}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `cargo ARGS` in the generated crate, as its author runs it. Its target folder is the one the
/// host's build script builds the built-in plugins in (`<target>/wasm`), so the SDK and its
/// dependencies, built there already for wasm32-wasip2, are reused, and so are later runs.
fn cargo(krate: &Path, args: &[&str]) -> String {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("wasm");
    let started = Instant::now();
    let mut cmd = Command::new("cargo");
    cmd.args(args).current_dir(krate).env("CARGO_TARGET_DIR", &target);
    // Flags meant for this test's own build must not reach the crate's.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run cargo");
    eprintln!("cargo {args:?} took {:.1} s", started.elapsed().as_secs_f64());
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "cargo {args:?} in the generated crate failed:\n{all}"
    );
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_crate_builds_passes_its_tests_and_serves_meshery() {
    let started = Instant::now();
    let scratch = Scratch::new("demo");
    let krate = scratch.0.join("demo");
    let sdk = repo_sdk();
    let out = wasmesh(
        &[
            "new",
            "demo",
            "--dir",
            krate.to_str().unwrap(),
            "--sdk",
            sdk.to_str().unwrap(),
        ],
        &scratch.0,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("cargo build --release --target wasm32-wasip2"), "{said}");
    let cargo_toml = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains(&format!("wasmesh-sdk = {{ path = \"{}\" }}", sdk.display())));
    assert!(cargo_toml.contains("\n[workspace]\n"), "{cargo_toml}");
    // The repository's lock file: the versions its plugins are built with (the crate's own
    // resolution would fetch the registry's index; the test keeps to what is cached).
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock"),
        krate.join("Cargo.lock"),
    )
    .unwrap();

    // As written: formatted (for a name of this length: rustfmt's line breaks depend on it), its
    // unit tests pass natively (the manifest check among them), and it builds as a component.
    cargo(&krate, &["fmt", "--check"]);
    let tests = cargo(&krate, &["test"]);
    assert!(
        tests.contains("manifest_json_is_what_the_description_generates ... ok"),
        "{tests}"
    );
    assert!(tests.contains("test result: ok. 6 passed"), "{tests}");
    cargo(&krate, &["build", "--release", "--target", "wasm32-wasip2"]);
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("wasm");
    let wasm = target.join("wasm32-wasip2/release/demo.wasm");
    // The config the crate comes with names the component where its own target folder has it.
    std::fs::create_dir_all(krate.join("target/wasm32-wasip2/release")).unwrap();
    std::fs::copy(&wasm, krate.join("target/wasm32-wasip2/release/demo.wasm")).unwrap();

    // What the host sees of it.
    let out = wasmesh(&["inspect", "target/wasm32-wasip2/release/demo.wasm"], &krate);
    let inspected = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for want in [
        "wit: wasmesh:adapter@0.1.0 (matches this host: wasmesh:adapter@0.1.0)",
        "adapter: DEMO (mesh demo, translator 0.1.0), mesh versions: 1.0.0",
        "label-namespace [configure]: Label the namespace for Demo\n    get,patch namespaces (core) at cluster scope\n",
        "namespace labels [demo.example.com/enabled], annotations [] for label-namespace",
    ] {
        assert!(inspected.contains(want), "missing {want:?} in:\n{inspected}");
    }

    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("wasmesh-new").await;
    let kubeconfig = scratch.0.join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).unwrap();

    // A dry run with the crate's own wasmesh.yaml (its grant), as the README shows it.
    let out = wasmesh(
        &[
            "--config",
            "wasmesh.yaml",
            "plan",
            "--plugin",
            "demo",
            "--op",
            "label-namespace",
            "--namespace",
            &ns,
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        &krate,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_yaml::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(plan["verdict"], "allowed", "{plan:#?}");
    assert_eq!(
        plan["stages"][0]["steps"][0]["object"]["setLabels"][LABEL], "true",
        "{plan:#?}"
    );
    // A dry run: the namespace is not labelled.
    let labels = namespace(&cluster, &ns).await.unwrap().metadata.labels;
    assert!(!labels.unwrap_or_default().contains_key(LABEL));

    // Served by the host with that grant, called as Meshery calls an adapter.
    let mut config = wasmesh::Config::from_yaml(&std::fs::read_to_string(krate.join("wasmesh.yaml")).unwrap()).unwrap();
    config.listen = "127.0.0.1".into();
    config.cache_dir = Some(wasmesh_e2e::cache_dir());
    config.plugins[0].path = Some(wasm.clone());
    config.plugins[0].port = 0;
    wasmesh_e2e::init_log();
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "DEMO", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    assert_eq!(c.operation_keys().await, ["demo", "label-namespace", "custom"]);
    let done = run_ok(
        &mut c,
        &events,
        request("label-namespace", &ns, "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(done.summary, format!("label {LABEL} set on namespace {}", ns.name()));
    let labels = namespace(&cluster, &ns)
        .await
        .unwrap()
        .metadata
        .labels
        .unwrap_or_default();
    assert_eq!(labels.get(LABEL).map(String::as_str), Some("true"));
    // Its read first: a namespace that is not there is the plugin's own error, nothing written.
    let missing = format!("{}-missing", ns.name());
    let failed = run(
        &mut c,
        &events,
        request("label-namespace", &missing, "", &[cluster.kubeconfig()]),
    )
    .await;
    assert_eq!(failed.event_type, ERROR, "{failed:#?}");
    assert_eq!(failed.error_code, "WASMESH-DEMO-1202", "{failed:#?}");
    assert!(namespace(&cluster, &missing).await.is_none());
    eprintln!(
        "wasmesh new -> loaded plugin answering over gRPC: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Runs `wasmesh new ARGS` in a fresh folder and asserts it failed with `want` in its error and
/// wrote nothing there.
fn refused(args: &[&str], want: &str) {
    let scratch = Scratch::new("refused");
    let out = wasmesh(&[&["new"], args].concat(), &scratch.0);
    let err = text(&out.stderr);
    assert!(
        !out.status.success(),
        "wasmesh new {args:?} passed: {}",
        text(&out.stdout)
    );
    assert!(err.contains(want), "wasmesh new {args:?}: missing {want:?} in {err}");
    let left: Vec<_> = std::fs::read_dir(&scratch.0).unwrap().collect();
    assert!(left.is_empty(), "wasmesh new {args:?} wrote {left:?}");
}

#[test]
fn bad_names_and_sdks_are_refused_with_nothing_written() {
    let sdk = repo_sdk();
    let sdk = sdk.to_str().unwrap();
    refused(&["Demo", "--sdk", sdk], "does not start with a lowercase letter");
    refused(&["my.mesh", "--sdk", sdk], "'.', which a crate name cannot have");
    refused(&["../escape", "--sdk", sdk], "does not start with a lowercase letter");
    refused(&["fn", "--sdk", sdk], "is a Rust keyword");
    refused(
        &["demo", "--mesh", "my_mesh", "--sdk", sdk],
        "--mesh: the mesh \"my_mesh\" is not a DNS label",
    );
    refused(&["demo", "--mesh", &"m".repeat(57), "--sdk", sdk], "at most 63");
    refused(&["demo", "--sdk", "/"], "is not the wasmesh SDK");
    // The remedy comes with the refusal.
    refused(&["Demo", "--sdk", sdk], "pick a crate name such as my-mesh");
}

#[test]
fn a_folder_in_use_is_left_as_it_was() {
    let scratch = Scratch::new("in-use");
    let dir = scratch.0.join("demo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let out = wasmesh(&["new", "demo", "--sdk", repo_sdk().to_str().unwrap()], &scratch.0);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("exists and is not empty; nothing was written"), "{err}");
    assert!(err.contains("give --dir a new or empty folder"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");

    // An empty folder is fine; the default SDK is the repository's own.
    std::fs::remove_file(dir.join("notes.txt")).unwrap();
    let out = wasmesh(&["new", "demo"], &scratch.0);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&format!("against the SDK at {}", repo_sdk().display())));
    assert!(dir.join("src/lib.rs").is_file());
}
