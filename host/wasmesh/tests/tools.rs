//! The plugin author's tools, from the real binary: `wasmesh inspect` on the built-in Linkerd
//! component and on files that are no translator of this host, and `wasmesh plan` (dry runs of
//! operations and designs) against the test API server, or the cluster named by
//! WASMESH_TEST_KUBECONFIG: the plan is shown with each step's verdict, a refused step or read
//! fails the command with the refusal's code, and the cluster is left as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wasmesh_test_apiserver::TestCluster;

fn run(args: &[&str]) -> Output {
    // One compile cache for every run here: compiling the plugins at every run would take most
    // of the tests' time (inspect compiles without it, as it reports the compile time).
    let cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/wasmesh-tools-cache");
    Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .env("RUST_LOG", "error")
        .env_remove("WASMESH_CONFIG")
        .output()
        .expect("run wasmesh")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "wasmesh {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A folder of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "wasmesh-tools-{name}-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn inspect_reports_what_the_host_sees_of_a_translator() {
    // The small hostile plugin (each run compiles without a cache); README shows Linkerd's.
    let hostile = wasmesh_e2e::HOSTILE_WASM;
    let bytes = std::fs::read(hostile).unwrap();
    let text = ok(&["inspect", hostile]);
    for want in [
        format!("size: {} bytes", bytes.len()),
        format!("sha256: {}", hex::encode(Sha256::digest(&bytes))),
        "wit: wasmesh:adapter@0.1.0 (matches this host: wasmesh:adapter@0.1.0)".into(),
        "adapter: HOSTILE (mesh hostile".into(),
        "wasmesh:adapter/cluster@0.1.0 (interface): get, list".into(),
        "plan (function)".into(),
        "secret-reader [custom]: ".into(),
        "namespace labels [hostile.example/ok], annotations [] for label-namespace".into(),
    ] {
        assert!(text.contains(&want), "missing {want:?} in:\n{text}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("compile: ") && l.ends_with(" ms (this host's Engine configuration, no cache)")),
        "{text}"
    );
    // Rules are listed per operation: the Secret rule is secret-reader's alone.
    let rules = |key: &str| -> Vec<&str> {
        text.lines()
            .skip_while(|l| !l.starts_with(&format!("  {key} [")))
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .collect()
    };
    assert!(
        rules("secret-reader").contains(&"    get secrets (core) in the request's namespace"),
        "{text}"
    );
    assert!(!rules("custom").iter().any(|l| l.contains("secrets")), "{text}");
    assert!(!rules("custom").is_empty(), "{text}");

    let report: Value = serde_json::from_str(&ok(&["inspect", hostile, "--output", "json"])).unwrap();
    assert_eq!(report["wit_matches"], true);
    assert_eq!(report["size_bytes"], bytes.len());
    assert!(report["compile_ms"].as_f64().unwrap() > 0.0);
    let ops = report["operations"].as_array().unwrap();
    let op_rules = |key: &str| -> Vec<String> {
        let op = ops.iter().find(|o| o["key"] == key);
        let op = op.unwrap_or_else(|| panic!("no operation {key} in {ops:?}"));
        op["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    };
    assert!(op_rules("secret-reader").iter().any(|r| r.contains("secrets")));
    assert!(!op_rules("custom").iter().any(|r| r.contains("secrets")));
    // Designs are listed too: the hostile plugin declares no rule for them beyond the shared one.
    assert_eq!(op_rules("design"), op_rules("custom"));
    let imports: Vec<&str> = report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(imports.contains(&"wasmesh:adapter/progress@0.1.0"), "{imports:?}");
}

#[test]
fn inspect_refuses_what_is_no_translator_of_this_host_saying_what_it_is() {
    let dir = Scratch::new("inspect");
    let component = |wat: &str| wat::parse_str(wat).unwrap();
    let cases = [
        (
            dir.file("notes.wasm", "just some text"),
            vec!["not WebAssembly", "target/wasm32-wasip2/release"],
        ),
        (
            dir.file("core.wasm", wat::parse_str("(module)").unwrap()),
            vec!["a core WebAssembly module, not a component", "wasm32-wasip2"],
        ),
        (
            dir.file(
                "other.wasm",
                component(r#"(component (import "wasi:cli/stdout@0.2.6" (instance)))"#),
            ),
            vec!["not a wasmesh translator", "wasi:cli/stdout@0.2.6", "wasmesh SDK"],
        ),
        (
            dir.file(
                "newer.wasm",
                component(r#"(component (import "wasmesh:adapter/cluster@0.2.0" (instance)))"#),
            ),
            vec![
                "a translator for wasmesh:adapter@0.2.0, but this host serves wasmesh:adapter@0.1.0",
                "rebuild it against wasmesh:adapter@0.1.0",
            ],
        ),
    ];
    for (file, wants) in cases {
        let out = run(&["inspect", &file]);
        assert!(!out.status.success(), "{file} was accepted: {}", stdout(&out));
        assert!(stdout(&out).is_empty(), "{file}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(&file), "{err}");
        for want in wants {
            assert!(err.contains(want), "{file}: missing {want:?} in {err}");
        }
    }
}

/// The namespace `ns` and every object of the listed kinds in it, with their resourceVersions:
/// what a dry run must leave as it was. (Only the test's own namespace: on a shared real cluster
/// others change the rest meanwhile; the built-in server's request log covers everything.)
async fn snapshot(cluster: &TestCluster, ns: &str) -> Vec<(String, String, String)> {
    let client = cluster.client().await;
    let mut out = Vec::new();
    for (api_version, kind, plural, namespaced) in [
        ("v1", "Namespace", "namespaces", false),
        ("v1", "ConfigMap", "configmaps", true),
        ("v1", "Secret", "secrets", true),
        ("v1", "ServiceAccount", "serviceaccounts", true),
    ] {
        let gvk = kube::core::GroupVersionKind::gvk("", api_version, kind);
        let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(client.clone(), ns, &ar)
        } else {
            Api::all_with(client.clone(), &ar)
        };
        let items = api.list(&ListParams::default()).await.unwrap().items;
        for o in items
            .into_iter()
            .filter(|o| namespaced || o.metadata.name.as_deref() == Some(ns))
        {
            out.push((
                kind.to_string(),
                o.metadata.name.unwrap_or_default(),
                o.metadata.resource_version.unwrap_or_default(),
            ));
        }
    }
    out.sort();
    out
}

/// Runs `wasmesh plan ...` on `cluster`, asserting that nothing was written: the objects and
/// resourceVersions are as before, and the built-in server saw no write request.
async fn plan(cluster: &TestCluster, ns: &str, args: &[&str]) -> Output {
    let dir = Scratch::new("plan");
    let kubeconfig = dir.file("kubeconfig", cluster.kubeconfig());
    let mut before = snapshot(cluster, ns).await;
    // A real cluster's controllers fill a new namespace (its default ServiceAccount and
    // kube-root-ca.crt) a moment after it is made; the built-in server does not. Take the
    // snapshot once they are there, so only the dry run could change it.
    if cluster.server().is_none() {
        let filled = |s: &[(String, String, String)]| {
            s.iter().any(|(k, n, _)| k == "ServiceAccount" && n == "default")
                && s.iter().any(|(k, n, _)| k == "ConfigMap" && n == "kube-root-ca.crt")
        };
        for _ in 0..300 {
            if filled(&before) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            before = snapshot(cluster, ns).await;
        }
    }
    if let Some(server) = cluster.server() {
        server.clear_requests();
    }
    let args = [&["plan", "--kubeconfig", &kubeconfig], args].concat();
    // The built-in server runs on a thread of its own: blocking this test's runtime is fine.
    let out = run(&args);
    if let Some(server) = cluster.server() {
        let writes: Vec<String> = server
            .requests()
            .into_iter()
            .filter(|r| !matches!(r.method.as_str(), "GET" | "HEAD"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert!(writes.is_empty(), "the dry run wrote: {writes:?}");
    }
    assert_eq!(snapshot(cluster, ns).await, before, "the dry run changed the cluster");
    out
}

/// `wasmesh plan` of the hostile plugin's operation `op` in `ns`, with the configuration `config`.
async fn hostile_op(cluster: &TestCluster, ns: &str, config: &str, op: &str) -> Output {
    plan(
        cluster,
        ns,
        &["--config", config, "--plugin", "hostile", "--op", op, "--namespace", ns],
    )
    .await
}

fn yaml(out: &Output) -> Value {
    serde_yaml::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not YAML ({e}): {}", stdout(out)))
}

fn steps(plan: &Value) -> Vec<&Value> {
    plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap())
        .collect()
}

#[tokio::test]
async fn plan_shows_an_operation_and_a_design_step_by_step_and_writes_nothing() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("wasmesh-tools-plan").await;

    let out = plan(
        &cluster,
        &ns,
        &["--plugin", "linkerd", "--op", "annotate-namespace", "--namespace", &ns],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let p = yaml(&out);
    assert_eq!(p["verdict"], "allowed", "{p}");
    assert_eq!(p["operation"], "annotate-namespace");
    let all = steps(&p);
    assert_eq!(all.len(), 1, "{p}");
    let step = all[0];
    assert_eq!(step["action"], "namespace-metadata");
    assert_eq!(
        step["object"]["setAnnotations"]["linkerd.io/inject"], "enabled",
        "{step}"
    );
    assert_eq!(step["allowed"], true);
    let needs: Vec<&str> = step["needs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(
        needs,
        [
            "get namespaces (core) at cluster scope",
            "patch namespaces (core) at cluster scope",
            "create namespaces (core) at cluster scope"
        ]
    );

    // The control-plane install: CRDs, the kinds they define, waits; JSON this time.
    let out = plan(
        &cluster,
        &ns,
        &["--plugin", "linkerd", "--op", "linkerd", "--output", "json"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(p["verdict"], "allowed");
    let all = steps(&p);
    assert!(p["stages"].as_array().unwrap().len() > 1, "{}", p["stages"]);
    assert!(all.iter().all(|s| s["allowed"] == true), "a step refused");
    assert!(
        all.iter()
            .any(|s| s["action"] == "apply" && s["object"]["kind"] == "CustomResourceDefinition")
    );
    assert!(all.iter().any(|s| s["action"] == "wait"));
    assert!(
        all.iter().any(|s| s["target"]
            .as_str()
            .unwrap()
            .starts_with("Deployment \"linkerd-destination\" in namespace \"linkerd\"")),
        "no destination deployment"
    );

    // A design: a plain ConfigMap in the test namespace.
    let dir = Scratch::new("design");
    let design = json!([{
        "schemaVersion": "components.meshery.io/v1beta1",
        "displayName": "plain",
        "component": {"version": "v1", "kind": "ConfigMap"},
        "model": {"name": "linkerd"},
        "configuration": {"metadata": {"name": "plain", "namespace": ns.name()}, "data": {"a": "b"}},
    }]);
    let file = dir.file("design.yaml", serde_yaml::to_string(&design).unwrap());
    let out = plan(&cluster, &ns, &["--plugin", "linkerd", "--design", &file]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let p = yaml(&out);
    assert_eq!(p["operation"], "design");
    assert_eq!(p["verdict"], "allowed", "{p}");
    let all = steps(&p);
    assert!(
        all.iter().any(
            |s| s["target"] == format!("ConfigMap \"plain\" in namespace \"{}\"", ns.name()).as_str()
                && s["allowed"] == true
        ),
        "{p}"
    );
}

fn hostile_config(dir: &Scratch) -> String {
    dir.file(
        "config.yaml",
        format!(
            "plugins: [{{name: hostile, path: {}, port: 1}}]\nlimits: {{call_timeout_ms: 5000}}\n",
            Path::new(wasmesh_e2e::HOSTILE_WASM).display()
        ),
    )
}

#[tokio::test]
async fn plan_marks_what_the_grant_refuses_and_fails_with_its_code() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("wasmesh-tools-refused").await;
    let dir = Scratch::new("hostile");
    let config = hostile_config(&dir);

    // A plan with one allowed step and one write into kube-system: shown whole, the second
    // step marked refused, and the command fails with the refusal's code.
    let out = hostile_op(&cluster, &ns, &config, "write-other-namespace").await;
    assert!(!out.status.success(), "a refused plan passed: {}", stdout(&out));
    // Log lines (the configuration file in use) come first; the refusal is a line of its own.
    assert!(
        stderr(&out).lines().any(|l| l.starts_with("WASMESH-CAP-DENIED: ")),
        "{}",
        stderr(&out)
    );
    let p = yaml(&out);
    assert_eq!(p["verdict"], "refused");
    assert_eq!(p["error"]["code"], "WASMESH-CAP-DENIED");
    let all = steps(&p);
    assert_eq!(all.len(), 2, "{p}");
    assert_eq!(
        all[0]["target"],
        format!("ConfigMap \"hostile-allowed\" in namespace \"{}\"", ns.name()).as_str()
    );
    assert_eq!(all[0]["allowed"], true);
    assert_eq!(
        all[1]["target"],
        "ConfigMap \"hostile-was-here\" in namespace \"kube-system\""
    );
    assert_eq!(all[1]["allowed"], false);
    let refusal = all[1]["refused"][0]["message"].as_str().unwrap();
    assert!(
        refusal.contains("may not patch configmaps (core) in namespace kube-system"),
        "{refusal}"
    );

    // A read of a Secret while planning: refused there, no plan, the same code.
    let out = hostile_op(&cluster, &ns, &config, "read-secret").await;
    assert!(!out.status.success(), "a refused read passed: {}", stdout(&out));
    // Log lines (the configuration file in use) come first; the refusal is a line of its own.
    assert!(
        stderr(&out).lines().any(|l| l.starts_with("WASMESH-CAP-DENIED: ")),
        "{}",
        stderr(&out)
    );
    let p = yaml(&out);
    assert_eq!(p["verdict"], "refused");
    assert!(steps(&p).is_empty());
    let reads = p["refused_reads"].as_array().unwrap();
    assert!(
        reads[0]
            .as_str()
            .unwrap()
            .contains(&format!("may not get secrets (core) in namespace {}", ns.name())),
        "{reads:?}"
    );

    // A plugin that swallows the refusal and plans anyway: the plan itself would pass, but the
    // preview is no pass, since the plugin planned without what it wanted to read.
    let out = hostile_op(&cluster, &ns, &config, "read-secret-then-plan").await;
    assert!(
        !out.status.success(),
        "a swallowed refused read passed: {}",
        stdout(&out)
    );
    let p = yaml(&out);
    assert_eq!(p["verdict"], "refused", "{p:#?}");
    assert_eq!(p["error"]["code"], "WASMESH-CAP-DENIED", "{p:#?}");
    assert_eq!(steps(&p).len(), 1, "the plan is still shown: {p:#?}");
    assert_eq!(p["refused_reads"].as_array().map(Vec::len), Some(1), "{p:#?}");

    // The plugin cannot tell a preview from a real run by its operation id: each dry run
    // carries a fresh UUID, as Meshery's requests do.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let out = hostile_op(&cluster, &ns, &config, "name-by-id").await;
        let p = yaml(&out);
        let target = steps(&p)[0]["target"].as_str().unwrap_or_default().to_string();
        let id = target.split('"').nth(1).unwrap_or_default().to_string();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "not a UUID: {target}");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "two dry runs got the same id");

    // An operation the configuration does not grant is refused before the plugin runs.
    let narrow = dir.file(
        "narrow.yaml",
        format!(
            "plugins: [{{name: hostile, path: {}, port: 1, grant: {{operations: [custom]}}}}]\n",
            Path::new(wasmesh_e2e::HOSTILE_WASM).display()
        ),
    );
    let out = hostile_op(&cluster, &ns, &narrow, "write-other-namespace").await;
    assert!(!out.status.success());
    assert_eq!(yaml(&out)["error"]["code"], "WASMESH-HOST-1011");
}

#[test]
fn plan_refuses_bad_input_before_reaching_a_cluster() {
    let dir = Scratch::new("bad");
    // An unreachable server: each refusal below comes before any connection.
    let kubeconfig = dir.file(
        "kubeconfig",
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    );
    for (args, want) in [
        (
            vec!["--plugin", "consul", "--op", "x"],
            "no plugin consul; the configuration has: istio, linkerd",
        ),
        (
            vec!["--plugin", "linkerd", "--op", "nope"],
            "plugin linkerd has no operation \"nope\"; it offers: ",
        ),
        (
            vec!["--plugin", "linkerd", "--op", "custom", "--namespace", "a/../b"],
            "--namespace",
        ),
    ] {
        let out = run(&[&["plan", "--kubeconfig", &kubeconfig], args.as_slice()].concat());
        assert!(!out.status.success());
        assert!(stderr(&out).contains(want), "missing {want:?} in {}", stderr(&out));
    }
}
