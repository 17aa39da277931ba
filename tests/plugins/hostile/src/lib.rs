//! A hostile translator. Each operation tries one way to escape or to hurt the host; a normal
//! `custom` operation shows that the host still serves after each attempt.
//!
//! Attempts that the sandbox turns into a plain failure are returned as the plugin's error, with
//! what the guest saw, so a test can assert that the attempt failed and why.

use serde_json::json;
use wasmesh_sdk::ops::{self, operation};
use wasmesh_sdk::plan::{apply_all, plan};
use wasmesh_sdk::{
    Category, DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan, error,
};

const CODE: &str = "HOSTILE";

/// Only ConfigMaps, only in the request's namespace.
const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

struct Hostile;

const OPERATIONS: &[&str] = &[
    "custom",
    "trap",
    "loop",
    "oom",
    "stack-overflow",
    "huge-plan",
    "read-file",
    "list-root",
    "write-file",
    "env",
    "tcp-connect",
    "udp-send",
    "resolve-name",
    "spawn",
    "read-secret",
    "read-secret-then-plan",
    "name-by-id",
    "write-other-namespace",
    "write-forbidden-verb",
    "smuggle-wait",
    "smuggle-label",
    "flood-events",
    "path-read",
    "path-label",
    "slow-read",
    "long-wait",
    "secret-reader",
    "url-read",
    "url-wait",
    "url-delete",
    "escalate-role",
    "bind-admin",
    "many-waits",
    "label-namespace",
    "bind-late-role",
    "hold-slot",
    "assets",
];

/// The guest's view of an attempt that did not trap: reported as the plugin's error.
fn saw(what: &str, outcome: String) -> Error {
    error(
        format!("{CODE}-SAW"),
        format!("{what}: {outcome}"),
        "hostile test plugin",
        "none: this plugin only exists for tests",
    )
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64, pad: &mut [u8; 256]) -> u64 {
    pad[(depth % 256) as usize] = depth as u8;
    let mut local = *pad;
    recurse(depth + 1, &mut local) + local[0] as u64
}

impl Guest for Hostile {
    fn describe() -> Info {
        Info {
            name: "HOSTILE".into(),
            mesh: "hostile".into(),
            version: "0.1.0".into(),
            mesh_versions: vec!["1.0.0".into()],
            operations: OPERATIONS.iter().map(|k| operation(k, "hostile test operation", Category::Custom)).collect(),
            capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
        }
    }

    fn plan(request: OperationRequest) -> Result<Plan, Error> {
        let ns = request.namespace.clone();
        match request.key.as_str() {
            "custom" => ops::custom(&request, CODE),
            "trap" => panic!("hostile plugin panics on purpose"),
            "loop" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![0xAB; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "stack-overflow" => {
                let mut pad = [0u8; 256];
                let n = recurse(0, &mut pad);
                Err(saw("recursion ended", n.to_string()))
            }
            "huge-plan" => {
                // 12 objects of 1 MiB each: over the plan limit the tests set (8 MiB), within the memory limit.
                let objects: Vec<_> = (0..12)
                    .map(|i| {
                        json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": format!("huge-{i}")},
                               "data": {"blob": "x".repeat(1 << 20)}})
                    })
                    .collect();
                Ok(plan("huge plan", apply_all(&objects)))
            }
            "read-file" => {
                let path = if request.custom_body.is_empty() { "/etc/passwd".to_string() } else { request.custom_body.clone() };
                match std::fs::read_to_string(&path) {
                    Ok(text) => Err(saw("read-file SUCCEEDED", text.chars().take(200).collect())),
                    Err(e) => Err(saw("read-file failed", e.to_string())),
                }
            }
            // "VERB PATH": what the guest may do with the read-only asset folder at /assets.
            "assets" => {
                let (verb, path) = request.custom_body.split_once(' ').unwrap_or((request.custom_body.as_str(), ""));
                let outcome = match verb {
                    "read" => std::fs::read_to_string(path).map(|t| t.chars().take(200).collect::<String>()),
                    "list" => std::fs::read_dir(path).map(|d| {
                        let mut names: Vec<String> =
                            d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
                        names.sort();
                        names.join(",")
                    }),
                    "write" => std::fs::write(path, b"overwritten").map(|()| String::new()),
                    "append" => std::fs::OpenOptions::new()
                        .append(true)
                        .open(path)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, b"appended"))
                        .map(|()| String::new()),
                    "remove" => std::fs::remove_file(path).map(|()| String::new()),
                    "mkdir" => std::fs::create_dir(path).map(|()| String::new()),
                    "rename" => std::fs::rename(path, format!("{path}.moved")).map(|()| String::new()),
                    other => Err(std::io::Error::other(format!("unknown verb {other}"))),
                };
                match outcome {
                    Ok(text) => Err(saw(&format!("assets {verb} SUCCEEDED"), text)),
                    Err(e) => Err(saw(&format!("assets {verb} failed"), e.to_string())),
                }
            }
            "list-root" => match std::fs::read_dir("/") {
                Ok(entries) => Err(saw("list-root SUCCEEDED", format!("{} entries", entries.count()))),
                Err(e) => Err(saw("list-root failed", e.to_string())),
            },
            "write-file" => match std::fs::write("/tmp/wasmesh-hostile-was-here", b"escaped") {
                Ok(()) => Err(saw("write-file SUCCEEDED", String::new())),
                Err(e) => Err(saw("write-file failed", e.to_string())),
            },
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
                let args: Vec<String> = std::env::args().collect();
                Err(saw("env", format!("{} variables {:?}, {} args", vars.len(), vars, args.len())))
            }
            "tcp-connect" => {
                let addr = if request.custom_body.is_empty() { "127.0.0.1:10000".to_string() } else { request.custom_body.clone() };
                match std::net::TcpStream::connect(addr.as_str()) {
                    Ok(_) => Err(saw("tcp-connect SUCCEEDED", addr)),
                    Err(e) => Err(saw("tcp-connect failed", e.to_string())),
                }
            }
            "udp-send" => match std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| s.send_to(b"x", "127.0.0.1:53")) {
                Ok(_) => Err(saw("udp-send SUCCEEDED", String::new())),
                Err(e) => Err(saw("udp-send failed", e.to_string())),
            },
            "resolve-name" => {
                use std::net::ToSocketAddrs;
                match ("localhost", 80).to_socket_addrs() {
                    Ok(mut a) => Err(saw("resolve-name SUCCEEDED", format!("{:?}", a.next()))),
                    Err(e) => Err(saw("resolve-name failed", e.to_string())),
                }
            }
            "spawn" => match std::process::Command::new("/bin/sh").arg("-c").arg("true").status() {
                Ok(s) => Err(saw("spawn SUCCEEDED", s.to_string())),
                Err(e) => Err(saw("spawn failed", e.to_string())),
            },
            "read-secret" => match wasmesh_sdk::cluster::get("v1", "Secret", Some(&ns), "wasmesh-test-secret") {
                Ok(found) => Err(saw("read-secret SUCCEEDED", format!("{found:?}"))),
                // The host's denial is passed on as is, so Meshery sees its code and remedy.
                Err(e) => Err(e),
            },
            // Swallows the host's refusal and plans as if the read had found nothing.
            "read-secret-then-plan" => {
                let _ = wasmesh_sdk::cluster::get("v1", "Secret", Some(&ns), "wasmesh-test-secret");
                let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hostile-allowed"}});
                Ok(plan("planned without the secret", apply_all(&[ok])))
            }
            // Names its object after the operation id, so a test can see the id a plugin gets.
            "name-by-id" => {
                let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": request.operation_id}});
                Ok(plan("named by the operation id", apply_all(&[cm])))
            }
            "write-other-namespace" => {
                let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "hostile-was-here", "namespace": "kube-system"}});
                let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hostile-allowed"}});
                Ok(plan("write into another namespace", apply_all(&[ok, cm])))
            }
            "write-forbidden-verb" => {
                let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "hostile-sa"}});
                Ok(plan("write a kind it was not granted", apply_all(&[sa])))
            }
            "smuggle-wait" => Ok(wasmesh_sdk::plan::plan(
                "wait on a Secret",
                vec![wasmesh_sdk::plan::stage(
                    "wait",
                    vec![wasmesh_sdk::Step::Wait(wasmesh_sdk::WaitFor {
                        target: wasmesh_sdk::ObjectRef {
                            api_version: "v1".into(),
                            kind: "Secret".into(),
                            namespace: Some(ns),
                            name: "wasmesh-test-secret".into(),
                        },
                        condition: wasmesh_sdk::Condition::Exists,
                        timeout_seconds: 1,
                        required: true,
                    })],
                )],
            )),
            "smuggle-label" => {
                let mut change = wasmesh_sdk::plan::namespace_change("kube-system", true);
                change.set_labels.push(("hostile".into(), "yes".into()));
                Ok(plan(
                    "label a namespace",
                    vec![wasmesh_sdk::plan::stage("label", vec![wasmesh_sdk::Step::NamespaceMetadata(change)])],
                ))
            }
            "flood-events" => {
                // One report far over the size limit, then far more reports than one call may make.
                wasmesh_sdk::progress::report(wasmesh_sdk::Level::Info, &"y".repeat(1 << 20), "");
                for i in 0..5000 {
                    wasmesh_sdk::progress::report(wasmesh_sdk::Level::Info, &format!("flood {i}"), "");
                }
                Err(saw("flood-events", "sent 5001 reports".into()))
            }
            "path-read" => match wasmesh_sdk::cluster::get("v1", "ConfigMap", Some(&ns), "x/../../secrets/db") {
                Ok(found) => Err(saw("path-read SUCCEEDED", format!("{found:?}"))),
                Err(e) => Err(e),
            },
            "path-label" => {
                let mut change = wasmesh_sdk::plan::namespace_change(&format!("{ns}/configmaps/victim"), false);
                change.set_labels.push(("hostile".into(), "yes".into()));
                Ok(plan(
                    "label through a path",
                    vec![wasmesh_sdk::plan::stage("label", vec![wasmesh_sdk::Step::NamespaceMetadata(change)])],
                ))
            }
            // Says it holds its instance slot, then blocks in a cluster read for as long as the
            // cluster takes: many of these at once try to take every slot of the host's pool.
            "hold-slot" => {
                wasmesh_sdk::progress::report(wasmesh_sdk::Level::Info, "holding a slot", "");
                match wasmesh_sdk::cluster::list("v1", "ConfigMap", Some(&ns), "") {
                    Ok(items) => Err(saw("hold-slot returned", items.len().to_string())),
                    Err(e) => Err(e),
                }
            }
            "slow-read" => match wasmesh_sdk::cluster::list("v1", "ConfigMap", Some(&ns), "") {
                Ok(items) => Err(saw("slow-read returned", items.len().to_string())),
                Err(e) => Err(e),
            },
            "long-wait" => Ok(wasmesh_sdk::plan::plan(
                "wait for ever",
                vec![wasmesh_sdk::plan::stage(
                    "wait",
                    vec![wasmesh_sdk::Step::Wait(wasmesh_sdk::WaitFor {
                        target: wasmesh_sdk::ObjectRef {
                            api_version: "v1".into(),
                            kind: "ConfigMap".into(),
                            namespace: Some(ns),
                            name: "never-there".into(),
                        },
                        condition: wasmesh_sdk::Condition::Exists,
                        timeout_seconds: u32::MAX,
                        required: false,
                    })],
                )],
            )),
            // The one operation whose manifest rule lets it read a Secret.
            "secret-reader" => match wasmesh_sdk::cluster::get("v1", "Secret", Some(&ns), "wasmesh-test-secret") {
                Ok(found) => Err(saw("secret-reader read", format!("{}", found.is_some()))),
                Err(e) => Err(e),
            },
            // apiVersions that would be URL paths if pasted into one (the body names it).
            "url-read" => match wasmesh_sdk::cluster::get(&request.custom_body, "X", Some(&ns), "x") {
                Ok(found) => Err(saw("url-read SUCCEEDED", format!("{found:?}"))),
                Err(e) => Err(e),
            },
            "url-wait" => Ok(wasmesh_sdk::plan::plan(
                "wait through a path",
                vec![wasmesh_sdk::plan::stage(
                    "wait",
                    vec![wasmesh_sdk::Step::Wait(wasmesh_sdk::WaitFor {
                        target: url_ref(&request.custom_body, &ns),
                        condition: wasmesh_sdk::Condition::Exists,
                        timeout_seconds: 1,
                        required: true,
                    })],
                )],
            )),
            "url-delete" => Ok(wasmesh_sdk::plan::plan(
                "delete through a path",
                vec![wasmesh_sdk::plan::stage(
                    "delete",
                    vec![wasmesh_sdk::Step::Delete(url_ref(&request.custom_body, &ns))],
                )],
            )),
            // Writing RBAC objects is allowed; what they would grant is not.
            "escalate-role" => {
                let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "hostile-secrets"},
                    "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]});
                let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "hostile-secrets"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "hostile-secrets"},
                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]});
                Ok(plan("grant itself Secrets", apply_all(&[role, binding])))
            }
            "bind-admin" => {
                let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "hostile-admin"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]});
                Ok(plan("bind cluster-admin", apply_all(&[binding])))
            }
            // Labels the request's namespace with the key the body names (value "privileged").
            "label-namespace" => {
                let mut change = wasmesh_sdk::plan::namespace_change(&ns, false);
                change.set_labels.push((request.custom_body.trim().into(), "privileged".into()));
                Ok(plan(
                    "label the namespace",
                    vec![wasmesh_sdk::plan::stage("label", vec![wasmesh_sdk::Step::NamespaceMetadata(change)])],
                ))
            }
            // Binds an existing Role, and "applies" a harmless Role of the same name in a stage
            // that never runs (a required wait fails first): the host must not judge the
            // binding by a Role the plan never writes before it.
            "bind-late-role" => {
                let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                    "metadata": {"name": "hostile-late"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "review-powerful"},
                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]});
                let harmless = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": "review-powerful"}, "rules": []});
                let never = wasmesh_sdk::Step::Wait(wasmesh_sdk::WaitFor {
                    target: wasmesh_sdk::ObjectRef {
                        api_version: "v1".into(),
                        kind: "ConfigMap".into(),
                        namespace: Some(ns.clone()),
                        name: "never-there".into(),
                    },
                    condition: wasmesh_sdk::Condition::Exists,
                    timeout_seconds: 1,
                    required: true,
                });
                Ok(wasmesh_sdk::plan::plan(
                    "bind a Role the plan rewrites later",
                    vec![
                        wasmesh_sdk::plan::stage("bind", vec![wasmesh_sdk::plan::apply(&binding)]),
                        wasmesh_sdk::plan::stage("fail", vec![never]),
                        wasmesh_sdk::plan::stage("role", vec![wasmesh_sdk::plan::apply(&harmless)]),
                    ],
                ))
            }
            "many-waits" => {
                let waits = (0..5000)
                    .map(|i| {
                        wasmesh_sdk::Step::Wait(wasmesh_sdk::WaitFor {
                            target: wasmesh_sdk::ObjectRef {
                                api_version: "v1".into(),
                                kind: "ConfigMap".into(),
                                namespace: Some(ns.clone()),
                                name: format!("never-{i}"),
                            },
                            condition: wasmesh_sdk::Condition::Exists,
                            timeout_seconds: 600,
                            required: false,
                        })
                    })
                    .collect();
                Ok(wasmesh_sdk::plan::plan("wait 5000 times", vec![wasmesh_sdk::plan::stage("wait", waits)]))
            }
            other => Err(ops::unknown_operation(other, CODE)),
        }
    }

    fn provision(request: DesignRequest) -> Result<DesignPlan, Error> {
        Ok(wasmesh_sdk::design::plan_design(&request, CODE, "hostile"))
    }
}

fn url_ref(api_version: &str, ns: &str) -> wasmesh_sdk::ObjectRef {
    wasmesh_sdk::ObjectRef {
        api_version: api_version.into(),
        kind: "X".into(),
        namespace: Some(ns.into()),
        name: "x".into(),
    }
}

/// Kinds meant to make the host send malformed registrations (a kind that is a URL path, a
/// schema that is not JSON or is empty, no apiVersion) beside one usable kind; the host must
/// register the usable one only.
impl wasmesh_sdk::registry::Guest for Hostile {
    fn design_kinds() -> Vec<wasmesh_sdk::registry::DesignKind> {
        use wasmesh_sdk::registry::DesignKind;
        let kind = |kind: &str, api_version: &str, schema: &str| DesignKind {
            kind: kind.into(),
            api_version: api_version.into(),
            display_name: kind.into(),
            namespaced: true,
            schema: schema.into(),
        };
        let schema = r#"{"type": "object", "properties": {"spec": {"type": "object"}}}"#;
        vec![
            kind("HostileWidget", "example.com/v1", schema),
            kind("../../api/system/users", "example.com/v1", schema),
            kind("NotJson", "example.com/v1", "{\"type\": "),
            kind("EmptySchema", "example.com/v1", "{}"),
            kind("NoVersion", "", schema),
            kind("Spaced Kind", "example.com/v1", schema),
            // Kubernetes' own groups in other spellings: not apiVersions at all.
            kind("Deployment", "Apps/v1", schema),
            kind("ClusterRole", "RBAC.authorization.k8s.io/v1", schema),
            kind("Pod", "apps/v1/../v1", schema),
        ]
    }
}

wasmesh_sdk::export_translator!(Hostile);
