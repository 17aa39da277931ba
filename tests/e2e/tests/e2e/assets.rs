//! The read-only asset folder an operator grants a plugin (`assets: DIR`): a hostile plugin
//! cannot read, list or change anything outside it, nor change anything in it; a plugin that
//! does not declare assets cannot be given one; and Linkerd installs a version it does not embed
//! from the rendered manifests placed there, then uninstalls it.

use std::path::{Path, PathBuf};

use serde_json::Value;
use wasmesh_e2e::cluster_objects::{Leftovers, get};
use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{
    Events, TestCluster, client, configmap, control_plane_lock, init_log, namespace_gone, request, run_ok, test_config,
};

/// Text that exists only outside the asset folder: it must never reach an event.
const OUTSIDE: &str = "OUTSIDE-THE-ASSETS-7c1f";

/// A fresh folder under the system's temporary folder, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("wasmesh-e2e-{name}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn grant_assets(config: &mut wasmesh::Config, plugin: &str, dir: &Path) {
    let pc = config.plugins.iter_mut().find(|p| p.name == plugin).unwrap();
    pc.assets = Some(dir.to_path_buf());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_sees_its_asset_folder_read_only_and_nothing_beside_it() {
    init_log();
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("assets-escape").await;
    let scratch = Scratch::new("assets-escape");
    let assets = scratch.0.join("assets");
    std::fs::create_dir_all(assets.join("1.0.0")).unwrap();
    std::fs::write(assets.join("inside.yaml"), "inside-content-ok\n").unwrap();
    let outside = scratch.0.join("outside.txt");
    std::fs::write(&outside, OUTSIDE).unwrap();
    std::os::unix::fs::symlink("../outside.txt", assets.join("link-out")).unwrap();
    std::os::unix::fs::symlink(&outside, assets.join("link-absolute")).unwrap();
    std::os::unix::fs::symlink("/etc", assets.join("link-etc")).unwrap();

    let mut config = test_config();
    grant_assets(&mut config, "hostile", &assets);
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;

    // (body, what the guest must have seen)
    let cases = [
        // What it is granted: the folder, read-only.
        ("read /assets/inside.yaml", "assets read SUCCEEDED: inside-content-ok"),
        (
            "list /assets",
            "assets list SUCCEEDED: 1.0.0,inside.yaml,link-absolute,link-etc,link-out",
        ),
        // Out of it by name.
        ("read /assets/../outside.txt", "assets read failed"),
        ("read /assets/1.0.0/../../outside.txt", "assets read failed"),
        ("read ../outside.txt", "assets read failed"),
        ("read /etc/passwd", "assets read failed"),
        ("list /", "assets list failed"),
        ("list /assets/..", "assets list failed"),
        // Out of it through links planted in it.
        ("read /assets/link-out", "assets read failed"),
        ("read /assets/link-absolute", "assets read failed"),
        ("read /assets/link-etc/passwd", "assets read failed"),
        ("list /assets/link-etc", "assets list failed"),
        // Changing it.
        ("write /assets/inside.yaml", "assets write failed"),
        ("append /assets/inside.yaml", "assets append failed"),
        ("write /assets/new.yaml", "assets write failed"),
        ("remove /assets/inside.yaml", "assets remove failed"),
        ("mkdir /assets/new", "assets mkdir failed"),
        ("rename /assets/inside.yaml", "assets rename failed"),
        ("write /assets/link-out", "assets write failed"),
    ];
    for (i, (body, saw)) in cases.into_iter().enumerate() {
        let req = request("assets", ns.name(), body, &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{body}: {e:#?}");
        assert!(
            e.summary.contains(saw),
            "{body}: the guest should have seen {saw:?}: {e:#?}"
        );
        // The same listener still serves a normal operation.
        let name = format!("after-{i}");
        let ok = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
        let ok = request("custom", ns.name(), &ok, &[cluster.kubeconfig()]);
        c.apply(ok.clone()).await.unwrap();
        assert_eq!(events.outcome(&ok.operation_id).await.event_type, INFO, "after {body}");
        assert!(configmap(&cluster, ns.name(), &name).await.is_some());
    }
    let seen = format!("{:?}", events.all());
    assert!(
        !seen.contains(OUTSIDE),
        "a file outside the asset folder reached an event"
    );
    assert!(!seen.contains("root:x:0"), "/etc/passwd reached an event");
    assert_eq!(
        std::fs::read_to_string(assets.join("inside.yaml")).unwrap(),
        "inside-content-ok\n"
    );
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), OUTSIDE);
    for made in ["new.yaml", "new", "inside.yaml.moved"] {
        assert!(!assets.join(made).exists(), "{made} was created");
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_grant_a_declaring_plugin_sees_no_file() {
    init_log();
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("assets-none").await;
    let host = wasmesh::start(test_config()).await.expect("host starts");
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    for (body, saw) in [
        ("list /assets", "assets list failed"),
        ("read /assets/inside.yaml", "assets read failed"),
        ("list /", "assets list failed"),
    ] {
        let req = request("assets", ns.name(), body, &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{body}: {e:#?}");
        assert!(e.summary.contains(saw), "{body}: {e:#?}");
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_folders_are_checked_at_start() {
    init_log();
    let scratch = Scratch::new("assets-config");
    // Kuma does not declare assets: it may not be given a folder.
    let mut config = test_config();
    config.plugins.push(wasmesh::config::PluginConfig {
        assets: Some(scratch.0.clone()),
        ..wasmesh::config::PluginConfig::builtin("kuma", 0)
    });
    let e = wasmesh::start(config).await.err().expect("refused").to_string();
    assert!(e.contains("WASMESH-RUNTIME-1020") && e.contains("plugin kuma"), "{e}");
    assert!(e.contains("remove assets:"), "{e}");

    // A folder that is not there, or is a file.
    let file = scratch.0.join("file");
    std::fs::write(&file, "x").unwrap();
    for dir in [scratch.0.join("missing"), file] {
        let mut config = test_config();
        grant_assets(&mut config, "hostile", &dir);
        let e = wasmesh::start(config).await.err().expect("refused").to_string();
        assert!(
            e.contains("WASMESH-RUNTIME-1021") && e.contains(&dir.display().to_string()),
            "{e}"
        );
        assert!(e.contains("create the folder"), "{e}");
    }
}

/// The objects the embedded install of `version` applies on this cluster, as a dry run plans
/// them: what `linkerd install` or `istioctl manifest generate` renders, for the test.
async fn embedded_objects(
    cluster: &TestCluster,
    scratch: &Scratch,
    plugin: &str,
    version: &str,
    body: &str,
) -> Vec<Value> {
    let kubeconfig = scratch.0.join("kubeconfig");
    std::fs::write(&kubeconfig, cluster.kubeconfig()).unwrap();
    let config = test_config();
    let (_runtime, adapter) = wasmesh::dry_run::adapter(&config, plugin).await.unwrap();
    let on = wasmesh::dry_run::cluster(&adapter, &kubeconfig).await.unwrap();
    let request = wasmesh_runtime::types::OperationRequest {
        key: plugin.into(),
        namespace: "default".into(),
        version: version.into(),
        custom_body: body.into(),
        delete: false,
        operation_id: String::new(),
        username: String::new(),
        cluster: wasmesh_runtime::types::ClusterInfo {
            name: String::new(),
            server: String::new(),
        },
    };
    let run = wasmesh::dry_run::operation(&adapter, &on, request).await.unwrap();
    assert_eq!(run.verdict, wasmesh::dry_run::Verdict::Allowed, "{}", run.yaml());
    let objects: Vec<Value> = run
        .stages
        .into_iter()
        .flat_map(|s| s.steps)
        .filter(|s| s.action == "apply")
        .map(|s| s.object)
        .collect();
    assert!(objects.len() > 10, "{} objects", objects.len());
    objects
}

fn identity(o: &Value) -> (String, String, Option<String>, String) {
    let s = |p: &str| o.pointer(p).and_then(Value::as_str).map(str::to_string);
    (
        s("/apiVersion").unwrap(),
        s("/kind").unwrap(),
        s("/metadata/namespace"),
        s("/metadata/name").unwrap(),
    )
}

/// A host whose `plugin` (the built-in translator of the mesh, served as `adapter`) is granted an
/// asset folder holding `objects` as the rendered manifests of `version`, as an operator puts
/// them: CRDs in one file, the rest in another, several documents each. MeshVersions lists it.
async fn serve_rendered(
    scratch: &Scratch,
    plugin: &str,
    adapter: &str,
    version: &str,
    objects: &[Value],
) -> (wasmesh::RunningHost, wasmesh_e2e::meshery::Client, Events) {
    let folder = scratch.0.join("assets").join(version);
    std::fs::create_dir_all(&folder).unwrap();
    let yaml = |objects: Vec<&Value>| {
        objects
            .iter()
            .map(|o| serde_yaml::to_string(o).unwrap())
            .collect::<Vec<_>>()
            .join("---\n")
    };
    let (crds, rest): (Vec<&Value>, Vec<&Value>) =
        objects.iter().partition(|o| o["kind"] == "CustomResourceDefinition");
    std::fs::write(folder.join("00-crds.yaml"), yaml(crds)).unwrap();
    std::fs::write(folder.join("10-control-plane.yaml"), yaml(rest)).unwrap();
    let mut config = test_config();
    grant_assets(&mut config, plugin, &scratch.0.join("assets"));
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, adapter, Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let versions = c.versions().await.unwrap();
    assert!(versions.iter().any(|v| v == version), "{versions:?}");
    (host, c, events)
}

/// Every object is in the cluster.
async fn assert_installed(cluster: &TestCluster, objects: &[Value]) {
    for o in objects {
        let (api_version, kind, ns, name) = identity(o);
        assert!(
            get(cluster, &api_version, &kind, ns.as_deref(), &name).await.is_some(),
            "{kind} {name} was not installed"
        );
    }
}

/// The namespaces are gone (or going), and so is every cluster-scoped object.
async fn assert_uninstalled(cluster: &TestCluster, objects: &[Value]) {
    for o in objects.iter().filter(|o| o["metadata"]["namespace"].is_null()) {
        let (api_version, kind, _, name) = identity(o);
        if kind == "Namespace" {
            assert!(namespace_gone(cluster, &name).await, "namespace {name} is left");
            continue;
        }
        // Gone, or going (a real cluster finalizes some kinds a while).
        let left = get(cluster, &api_version, &kind, None, &name).await;
        assert!(
            left.is_none_or(|o| o["metadata"]["deletionTimestamp"].is_string()),
            "{kind} {name} is left after uninstall"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linkerd_installs_and_uninstalls_a_version_from_rendered_manifests() {
    init_log();
    let cluster = TestCluster::start().await;
    let _lock = control_plane_lock("linkerd").await;
    let _leftovers = Leftovers::linkerd_any_release(&cluster);
    let scratch = Scratch::new("assets-linkerd");
    // A name no release carries, so only the asset folder can provide it.
    let version = "stable-2.14.10-rendered";
    let objects = embedded_objects(&cluster, &scratch, "linkerd", "stable-2.14.10", "").await;
    let rendered_anchor = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "linkerd-identity-trust-roots")
        .unwrap()["data"]["ca-bundle.crt"]
        .clone();
    let (host, mut c, events) = serve_rendered(&scratch, "linkerd", "LINKERD", version, &objects).await;
    let versions = c.versions().await.unwrap();
    assert_eq!(
        versions.first().map(String::as_str),
        Some("stable-2.14.10"),
        "the default stays"
    );

    let install = request("linkerd", "default", "waitSeconds: 5", &[cluster.kubeconfig()]).with_version(version);
    let done = run_ok(&mut c, &events, install).await;
    assert!(done.summary.contains(version), "{done:#?}");
    assert_installed(&cluster, &objects).await;
    // The identity is made at install, not taken from the file.
    let roots = get(
        &cluster,
        "v1",
        "ConfigMap",
        Some("linkerd"),
        "linkerd-identity-trust-roots",
    )
    .await
    .unwrap();
    assert_ne!(roots["data"]["ca-bundle.crt"], rendered_anchor);
    assert!(
        roots["data"]["ca-bundle.crt"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );

    let uninstall = request("linkerd", "default", "waitSeconds: 60", &[cluster.kubeconfig()])
        .with_version(version)
        .deleting(true);
    run_ok(&mut c, &events, uninstall).await;
    assert!(namespace_gone(&cluster, "linkerd").await);
    assert_uninstalled(&cluster, &objects).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn istio_installs_and_uninstalls_a_version_from_rendered_manifests() {
    init_log();
    let cluster = TestCluster::start().await;
    let _lock = control_plane_lock("istio").await;
    let _leftovers = Leftovers::istio(&cluster);
    let scratch = Scratch::new("assets-istio");
    let embedded = "1.27.3";
    let version = format!("{embedded}-rendered");
    let objects = embedded_objects(&cluster, &scratch, "istio", embedded, "profile: minimal").await;
    let (host, mut c, events) = serve_rendered(&scratch, "istio", "ISTIO", &version, &objects).await;

    let install = request("istio", "default", "waitSeconds: 5", &[cluster.kubeconfig()]).with_version(&version);
    let done = run_ok(&mut c, &events, install).await;
    assert!(done.summary.contains(&version), "{done:#?}");
    assert_installed(&cluster, &objects).await;

    let uninstall = request("istio", "default", "", &[cluster.kubeconfig()])
        .with_version(&version)
        .deleting(true);
    run_ok(&mut c, &events, uninstall).await;
    assert_uninstalled(&cluster, &objects).await;
    host.shutdown().await;
}
