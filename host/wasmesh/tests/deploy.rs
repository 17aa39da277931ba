//! `wasmesh deploy`, from the real binary: the manifests follow the flags, say the same thing at
//! every run, refuse what could not run, and every object is accepted by a server-side dry run of
//! the test API server and of a real one (WASMESH_TEST_KUBECONFIG), through kube and kubectl.

use std::process::{Command, Output};

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use serde_json::Value;
use wasmesh_test_apiserver::TestCluster;

fn run(args: &[&str]) -> Output {
    // One compile cache for every run here: each run loads the plugins (for the RBAC), and
    // compiling them at every run would take most of the tests' time.
    let cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/wasmesh-deploy-cache");
    Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .args(args)
        .arg("--cache-dir")
        .arg(cache)
        .env("RUST_LOG", "error")
        .env_remove("WASMESH_CONFIG")
        .output()
        .expect("run wasmesh")
}

fn deploy(args: &[&str]) -> String {
    let out = run(&[&["deploy", "--accept-cluster-admin"], args].concat());
    assert!(
        out.status.success(),
        "wasmesh deploy {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).expect("a YAML document"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Option<&'a Value> {
    docs.iter().find(|d| d["kind"] == kind)
}

#[test]
fn deploy_follows_its_flags_and_says_the_same_at_every_run() {
    let args = [
        "--namespace",
        "mesh-adapters",
        "--replicas",
        "3",
        "--image",
        "registry.example/wasmesh:1.2",
        "--meshery-server",
        "http://meshery.meshery.svc:9081",
        "--metrics-port",
        "9100",
        "--meshery-selector",
        "app=meshery,tier=server",
    ];
    let yaml = deploy(&args);
    assert_eq!(yaml, deploy(&args), "two runs differ");
    let docs = documents(&yaml);
    assert_eq!(docs[0]["kind"], "Namespace", "the namespace goes first");
    for d in &docs[1..] {
        if d["kind"] != "ClusterRole" && d["kind"] != "ClusterRoleBinding" {
            assert_eq!(d["metadata"]["namespace"], "mesh-adapters", "{d}");
        }
    }

    // The RBAC is `wasmesh rbac`'s, object for object.
    let rbac = run(&["rbac", "--namespace", "mesh-adapters"]);
    assert!(rbac.status.success());
    for o in documents(&String::from_utf8(rbac.stdout).unwrap()) {
        assert!(docs.contains(&o), "missing from deploy: {o}");
    }

    let d = find(&docs, "Deployment").expect("a Deployment");
    assert_eq!(d["spec"]["replicas"], 3);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "wasmesh-host");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], wasmesh::deploy::UID);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    let c = &pod["containers"][0];
    assert_eq!(c["image"], "registry.example/wasmesh:1.2");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]));
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(c[probe]["grpc"]["port"], 10000, "{probe}");
    }
    let env: Vec<(String, String)> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().into(), e["value"].as_str().unwrap().into()))
        .collect();
    for want in [
        ("MESHERY_SERVER", "http://meshery.meshery.svc:9081"),
        ("WASMESH_METRICS_ADDR", "0.0.0.0:9100"),
        ("WASMESH_ADVERTISE_HOST", "wasmesh.mesh-adapters.svc"),
    ] {
        assert!(env.contains(&(want.0.into(), want.1.into())), "{want:?} not in {env:?}");
    }
    // The cache and /tmp are emptyDirs; the config the pod reads is the ConfigMap's.
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert!(
        mounts.contains(&"/tmp") && mounts.contains(&wasmesh::deploy::CACHE_MOUNT),
        "{mounts:?}"
    );
    let cm = find(&docs, "ConfigMap").expect("a ConfigMap");
    let config = wasmesh::Config::from_yaml(cm["data"]["config.yaml"].as_str().unwrap()).unwrap();
    // The built-in plugins, each as its own ServiceAccount (the host's may only impersonate
    // them), strict, their cluster-admin-equivalent grants accepted by --accept-cluster-admin.
    assert!(config.strict);
    let defaults = wasmesh::Config::default().plugins;
    assert_eq!(config.plugins.len(), defaults.len());
    for (p, d) in config.plugins.iter().zip(&defaults) {
        assert_eq!((&p.name, &p.builtin, p.port), (&d.name, &d.builtin, d.port));
        let id = p.identity.as_ref().expect("an identity");
        assert_eq!(
            (id.service_account.as_str(), id.namespace.as_str()),
            (format!("wasmesh-{}", p.name).as_str(), "mesh-adapters")
        );
        assert!(p.grant.as_ref().is_some_and(|g| g.cluster_admin));
    }

    let svc = find(&docs, "Service").expect("a Service");
    assert_eq!(svc["spec"]["sessionAffinity"], "ClientIP");
    let ports: Vec<i64> = svc["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [10000, 10001, 10007, 9100]);

    let np = find(&docs, "NetworkPolicy").expect("a NetworkPolicy");
    let from = &np["spec"]["ingress"][0]["from"][0];
    assert_eq!(
        from["podSelector"]["matchLabels"],
        serde_json::json!({"app": "meshery", "tier": "server"})
    );
    assert_eq!(
        from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "meshery"
    );
    assert_eq!(np["spec"]["ingress"][1]["ports"][0]["port"], 9100);

    let pdb = find(&docs, "PodDisruptionBudget").expect("a PodDisruptionBudget with 3 replicas");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    // One replica: a PDB of minAvailable 1 would block every node drain.
    let one = documents(&deploy(&["--replicas", "1"]));
    assert!(find(&one, "PodDisruptionBudget").is_none());
    assert!(
        !find(&one, "Deployment").unwrap().to_string().contains("MESHERY_SERVER"),
        "no registration without --meshery-server"
    );
}

#[test]
fn deploy_refuses_what_could_not_run_and_prints_nothing() {
    let dir = std::env::temp_dir().join(format!("wasmesh-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let loopback = config("loopback.yaml", "listen: 127.0.0.1\n");
    let free_port = config("port0.yaml", "plugins: [{name: linkerd, builtin: linkerd, port: 0}]\n");
    let audit = config("audit.yaml", "audit_log: /var/log/audit.jsonl\n");
    let token = config("token.yaml", "token_file: /etc/wasmesh/token\n");
    let cases: [(Vec<&str>, &str); 9] = [
        // The built-in plugins' grants are cluster-admin equivalent: not deployed unasked.
        (vec!["deploy"], "pass --accept-cluster-admin"),
        (vec!["deploy", "--replicas", "0"], "--replicas must be at least 1"),
        (
            vec!["deploy", "--meshery-selector", "meshery"],
            "write labels as key=value",
        ),
        (
            vec!["deploy", "--metrics-namespace-selector", "a=-b"],
            "is not a valid label value",
        ),
        (vec!["deploy", "--meshery-server", "meshery:9081"], "has no scheme"),
        (vec!["--config", &loopback, "deploy"], "must listen on 0.0.0.0"),
        (vec!["--config", &free_port, "deploy"], "the Service needs fixed ports"),
        (vec!["--config", &audit, "deploy"], "read-only root filesystem"),
        (vec!["--config", &token, "deploy"], "tls or token_file"),
    ];
    for (args, says) in cases {
        let out = run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?} printed manifests");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A setting given to `deploy` by flag or environment reaches the command, not the pods (they
/// read the ConfigMap): `--allowed-api-servers 10.0.0.0/8` was checked, then left out of the
/// manifests without a word, so the pods let kubeconfigs name any server. Each such setting is
/// refused unless the pods get the same value.
#[test]
fn deploy_refuses_settings_the_pods_would_not_get() {
    let refused: [(&[(&str, &str)], &[&str], &str); 5] = [
        (
            &[],
            &["--allowed-api-servers", "10.0.0.0/8"],
            "flag --allowed-api-servers sets allowed_api_servers",
        ),
        (
            &[("WASMESH_AUDIT_LOG", "/var/lib/wasmesh/audit.jsonl")],
            &[],
            "environment variable WASMESH_AUDIT_LOG sets audit_log",
        ),
        (&[], &["--strict=false"], "flag --strict sets strict to false"),
        (&[], &["--listen", "127.0.0.1"], "flag --listen sets listen"),
        (
            &[],
            &["--limits-max-in-flight", "8"],
            "flag --limits-max-in-flight sets limits.max_in_flight",
        ),
    ];
    for (env, args, says) in refused {
        let mut cmd_args = vec!["deploy", "--accept-cluster-admin"];
        cmd_args.extend_from_slice(args);
        let cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/wasmesh-deploy-cache");
        let out = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
            .args(&cmd_args)
            .args(["--cache-dir", cache])
            .envs(env.iter().copied())
            .env("RUST_LOG", "error")
            .env_remove("WASMESH_CONFIG")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} {args:?} succeeded");
        assert!(
            err.contains(says) && err.contains("write it in the --config file"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?} printed manifests");
    }
    // YAML in --namespace, which the default configuration is written with, cannot accept
    // cluster-admin for the built-in plugins.
    let out = run(&["deploy", "--namespace", "x}, grant: {clusterAdmin: true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && out.stdout.is_empty(), "{err}");
    assert!(err.contains("is not a valid namespace name"), "{err}");
    // What the pods get anyway is fine: they run strict, and meshery_server is passed on.
    let yaml = deploy(&["--strict", "--meshery-server", "http://meshery.meshery.svc:9081"]);
    assert!(yaml.contains("http://meshery.meshery.svc:9081"));
}

/// Each document applied with `dryRun=All` as its own field manager; returns what was refused.
async fn dry_run(client: &kube::Client, docs: &[Value]) -> Vec<String> {
    let discovery = kube::Discovery::new(client.clone()).run().await.expect("discovery");
    let mut refused = Vec::new();
    for doc in docs {
        let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
        let types = obj.types.clone().unwrap();
        let gvk = GroupVersionKind::try_from(&types).unwrap();
        let (ar, caps): (ApiResource, _) = discovery.resolve_gvk(&gvk).expect("a served kind");
        let name = obj.metadata.name.clone().unwrap();
        let api: Api<DynamicObject> = match &obj.metadata.namespace {
            Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
                Api::namespaced_with(client.clone(), ns, &ar)
            }
            _ => Api::all_with(client.clone(), &ar),
        };
        let params = PatchParams::apply("wasmesh-deploy-test").force().dry_run();
        if let Err(e) = api.patch(&name, &params, &Patch::Apply(&obj)).await {
            refused.push(format!("{} {name}: {e}", gvk.kind));
        }
        // Nothing was written (the namespace is the test's own, so it exists).
        if caps.scope == kube::discovery::Scope::Namespaced {
            assert!(
                api.get_opt(&name).await.unwrap().is_none(),
                "{} {name} was written",
                gvk.kind
            );
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_object_is_accepted_by_a_server_side_dry_run() {
    let cluster = TestCluster::start().await;
    // A namespace of the test's own: a dry run of the Namespace object does not create it, so
    // the namespaced objects need it to exist, as on a first real apply after the Namespace.
    let ns = cluster.namespace("deploy").await;
    let yaml = deploy(&[
        "--namespace",
        ns.name(),
        "--meshery-server",
        "http://meshery.meshery.svc:9081",
    ]);
    let docs = documents(&yaml);
    let client = cluster.client().await;
    let refused = dry_run(&client, &docs).await;
    assert!(
        refused.is_empty(),
        "refused by the API server's dry run:\n{}",
        refused.join("\n")
    );

    // A change the real server refuses is refused here too: the check is not vacuous.
    let mut typo = docs.clone();
    let d = typo.iter_mut().find(|d| d["kind"] == "Deployment").unwrap();
    d["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFS"] = true.into();
    let refused = dry_run(&client, &typo).await;
    assert!(
        refused.len() == 1 && refused[0].contains("readOnlyRootFS: field not declared in schema"),
        "{refused:?}"
    );

    // kubectl, as the README tells a person to check the manifests.
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        println!("kubectl not installed: its dry run skipped");
        return;
    }
    let kubeconfig = std::env::temp_dir().join(format!("wasmesh-deploy-kc-{}", std::process::id()));
    std::fs::write(&kubeconfig, cluster.kubeconfig()).unwrap();
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["apply", "--server-side", "--dry-run=server", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(yaml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    std::fs::remove_file(&kubeconfig).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl dry run: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let applied = stdout
        .lines()
        .filter(|l| l.ends_with("serverside-applied (server dry run)"))
        .count();
    assert_eq!(applied, docs.len(), "{stdout}");
}

/// The image and the manifests agree: the user the image runs as is the one the pod asks for,
/// the builder's Rust is the workspace's, its Debian the runtime's, and nothing is fetched from
/// a URL while building.
#[test]
fn the_containerfile_agrees_with_the_manifests_and_the_workspace() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let file = std::fs::read_to_string(format!("{root}/deploy/Containerfile")).unwrap();
    let workspace = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap();
    let lines: Vec<&str> = file.lines().map(str::trim).filter(|l| !l.starts_with('#')).collect();
    let froms: Vec<&str> = lines.iter().filter(|l| l.starts_with("FROM ")).copied().collect();
    assert_eq!(froms.len(), 2, "a build stage and a runtime stage: {froms:?}");
    let rust_version = workspace
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        froms[0].contains(&format!("rust:{rust_version}-bookworm")),
        "builder {} is not Rust {rust_version} on Debian 12",
        froms[0]
    );
    assert!(
        froms[1].contains("debian12") && froms[1].contains(":nonroot"),
        "{}",
        froms[1]
    );
    let users: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix("USER ")).collect();
    assert_eq!(users, [format!("{0}:{0}", wasmesh::deploy::UID)]);
    assert!(
        !lines.iter().any(|l| l.starts_with("ADD ")),
        "ADD fetches URLs and unpacks archives: use COPY"
    );
    // The folders the image lets its user write are the ones the pod mounts as emptyDirs.
    use wasmesh::deploy::{CACHE_MOUNT, STATE_MOUNT};
    assert!(file.contains(&format!("XDG_CACHE_HOME={CACHE_MOUNT}")), "{file}");
    assert!(file.contains(&format!("XDG_STATE_HOME={STATE_MOUNT}")), "{file}");
}
