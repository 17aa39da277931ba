//! Registration with the Meshery server: the host registers every kind the plugins handle in
//! designs with a registration endpoint that decodes the body as the newest server does
//! (wasmesh_e2e::meshery_server), retries what fails, and serves gRPC whatever the server does.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use wasmesh_e2e::meshery::Generation;
use wasmesh_e2e::meshery_server::{Registration, RegistrationServer};
use wasmesh_e2e::{EVENT_WAIT, client, host_log, init_log, test_config};

/// The design kinds of CONTRACT.md's "What the upstream adapters offer" (Linkerd's TrafficSplit
/// and Istio's traffic split beside them), by model.
const ISTIO: &[&str] = &[
    "IstioMesh",
    "PrometheusIstioAddon",
    "GrafanaIstioAddon",
    "KialiIstioAddon",
    "JaegerIstioAddon",
    "ZipkinIstioAddon",
    "AuthorizationPolicy",
    "DestinationRule",
    "EnvoyFilter",
    "Gateway",
    "PeerAuthentication",
    "RequestAuthentication",
    "ServiceEntry",
    "Sidecar",
    "Telemetry",
    "VirtualService",
    "WorkloadEntry",
    "WorkloadGroup",
    "WasmPlugin",
    "ProxyConfig",
    "TrafficSplit",
];
const LINKERD: &[&str] = &[
    "LinkerdMesh",
    "VizLinkerdAddon",
    "JaegerLinkerdAddon",
    "MultiClusterLinkerdAddon",
    "SMILinkerdAddon",
    "AuthorizationPolicy",
    "MeshTLSAuthentication",
    "NetworkAuthentication",
    "Server",
    "ServerAuthorization",
    "ServiceProfile",
    "HTTPRoute",
    "TrafficSplit",
];

fn model(r: &Registration) -> &str {
    r.definition["model"]["name"].as_str().unwrap_or_default()
}

fn kind(r: &Registration) -> &str {
    r.definition["component"]["kind"].as_str().unwrap_or_default()
}

fn registered_kinds<'a>(accepted: &'a [Registration], mesh: &str) -> BTreeSet<&'a str> {
    accepted.iter().filter(|r| model(r) == mesh).map(kind).collect()
}

fn set<'a>(kinds: &[&'a str]) -> BTreeSet<&'a str> {
    kinds.iter().copied().collect()
}

/// How many times each kind of `mesh` was registered.
fn rounds_of(accepted: &[Registration], mesh: &str) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for r in accepted.iter().filter(|r| model(r) == mesh) {
        *n.entry(kind(r).to_string()).or_default() += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_design_kind_of_both_plugins_is_registered_with_the_advertised_host_and_port() {
    init_log();
    let server = RegistrationServer::start().await;
    let mut config = test_config();
    config.meshery_server = Some(server.url());
    config.advertise_host = Some("wasmesh.meshery.svc".into());
    config.registration_interval_seconds = 1;
    let host = wasmesh::start(config).await.expect("host starts");

    // Two rounds of every kind: the second shows what an interval's registration sends again.
    let accepted = server
        .wait_for("two rounds of both plugins", |a| {
            [("istio", ISTIO), ("linkerd", LINKERD)].iter().all(|(mesh, kinds)| {
                let n = rounds_of(a, mesh);
                kinds.iter().all(|k| n.get(*k).copied().unwrap_or(0) >= 2)
            })
        })
        .await;
    assert_eq!(registered_kinds(&accepted, "istio"), set(ISTIO));
    assert_eq!(registered_kinds(&accepted, "linkerd"), set(LINKERD));
    assert!(server.rejected().is_empty(), "{:?}", server.rejected());

    for (mesh, adapter) in [("istio", "ISTIO"), ("linkerd", "LINKERD")] {
        let port = host.listener(adapter).unwrap().addr.port();
        let connections: BTreeSet<String> = accepted
            .iter()
            .filter(|r| model(r) == mesh)
            .map(|r| r.connection.to_string())
            .collect();
        // One registrant per plugin: the server hashes the connection JSON.
        assert_eq!(connections.len(), 1, "{mesh}: {connections:?}");
        let c: Value = serde_json::from_str(connections.first().unwrap()).unwrap();
        assert_eq!(c["metadata"]["host_name"], "wasmesh.meshery.svc");
        assert_eq!(c["metadata"]["hostname"], "wasmesh.meshery.svc");
        assert_eq!(c["metadata"]["port"], port, "{mesh}: {c}");
        assert_eq!(c["kind"], format!("meshery-{mesh}"));
        assert_eq!((&c["type"], &c["subType"]), (&"platform".into(), &"adapter".into()));
        assert!(uuid::Uuid::parse_str(c["id"].as_str().unwrap()).is_ok(), "{c}");
        if mesh == "linkerd" {
            // Derived from the plugin's name and the advertised host: the same in every release,
            // or a Meshery server would gain a registrant at each upgrade (README's example).
            assert_eq!(c["id"], "a4c54183-b896-8256-a78f-c48f2832ef4c");
        }
    }

    // What the server routes a design by: kind, apiVersion and model; the schema is the kind's.
    let vs = accepted.iter().find(|r| kind(r) == "VirtualService").unwrap();
    assert_eq!(vs.definition["component"]["version"], "networking.istio.io/v1");
    let schema: Value = serde_json::from_str(vs.definition["component"]["schema"].as_str().unwrap()).unwrap();
    assert!(
        schema["properties"]["spec"]["properties"]["http"].is_object(),
        "{schema}"
    );
    let mesh = accepted.iter().find(|r| kind(r) == "LinkerdMesh").unwrap();
    let schema: Value = serde_json::from_str(mesh.definition["component"]["schema"].as_str().unwrap()).unwrap();
    assert_eq!(schema["properties"]["version"]["enum"][0], "stable-2.14.10", "{schema}");
    assert_eq!(mesh.definition["model"]["model"]["version"], "stable-2.14.10");

    // The hostile plugin's usable kind is registered; the ones meant to break the body are not.
    assert_eq!(
        registered_kinds(&accepted, "hostile"),
        set(&["HostileWidget"]),
        "{:?}",
        registered_kinds(&accepted, "hostile")
    );
    let log = host_log();
    for refused in [
        "../../api/system/users",
        "NotJson",
        "EmptySchema",
        "NoVersion",
        "Spaced Kind",
        "Deployment",
        "ClusterRole",
        "Pod",
    ] {
        assert!(
            log.lines().any(|l| l.contains("not registered") && l.contains(refused)),
            "no log line refusing {refused}:\n{log}"
        );
    }

    let stats = host
        .adapters
        .iter()
        .find(|a| a.name == "linkerd")
        .unwrap()
        .registration
        .snapshot();
    assert!(stats.rounds >= 2, "{stats:?}");
    assert_eq!(stats.last_round_definitions, LINKERD.len() as u64);
    assert_eq!(stats.last_round_registered, LINKERD.len() as u64);
    assert_eq!((stats.failures, stats.given_up), (0, 0), "{stats:?}");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_registrations_are_retried_until_the_server_takes_them() {
    init_log();
    let server = RegistrationServer::start().await;
    server.fail_next(3);
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "linkerd");
    config.meshery_server = Some(server.url());
    config.metrics_addr = Some("127.0.0.1:0".into());
    let host = wasmesh::start(config).await.expect("host starts");
    let accepted = server
        .wait_for("every Linkerd kind", |a| registered_kinds(a, "linkerd") == set(LINKERD))
        .await;
    assert_eq!(server.failed(), 3);
    // Each kind once: the retried ones were not sent twice.
    assert!(
        rounds_of(&accepted, "linkerd").values().all(|n| *n == 1),
        "{:?}",
        rounds_of(&accepted, "linkerd")
    );
    let adapter = host.adapters.iter().find(|a| a.name == "linkerd").unwrap();
    // The server has every kind; the host counts the last answer a moment later, and a round's
    // counters are final when the round ends.
    tokio::time::timeout(EVENT_WAIT, async {
        while adapter.registration.snapshot().rounds == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the first round ends");
    let stats = adapter.registration.snapshot();
    assert_eq!(stats.failures, 3, "{stats:?}");
    assert_eq!(stats.successes, LINKERD.len() as u64, "{stats:?}");
    assert_eq!(stats.attempts, LINKERD.len() as u64 + 3, "{stats:?}");
    // The same outcomes on /metrics.
    let scrape = super::operable::http_get(host.metrics_addr.unwrap(), "/metrics")
        .await
        .1;
    for line in [
        "wasmesh_registrations_total{plugin=\"linkerd\",outcome=\"failed\"} 3".to_string(),
        format!(
            "wasmesh_registrations_total{{plugin=\"linkerd\",outcome=\"registered\"}} {}",
            LINKERD.len()
        ),
    ] {
        assert!(scrape.lines().any(|l| l == line), "{line} not in:\n{scrape}");
    }
    // Without advertise_host, the connection names localhost.
    assert_eq!(accepted[0].connection["metadata"]["host_name"], "localhost");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_is_served_while_the_meshery_server_is_unreachable() {
    init_log();
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "istio");
    config.meshery_server = Some(format!("http://{closed}"));
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ISTIO", Generation::Adapter).await;
    let adapter = host.adapters[0].clone();
    // Registration is failing (and retrying) while the adapter answers.
    tokio::time::timeout(EVENT_WAIT, async {
        while adapter.registration.snapshot().failures < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("registration tries the unreachable server");
    assert_eq!(c.name().await.unwrap(), "ISTIO");
    assert!(c.operation_keys().await.contains(&"istio".to_string()));
    let stats = adapter.registration.snapshot();
    assert_eq!((stats.successes, stats.rounds), (0, 0), "{stats:?}");
    // Shutting down ends the retries too.
    tokio::time::timeout(EVENT_WAIT, host.shutdown())
        .await
        .expect("shutdown does not wait for the registration's retries");
}

/// A plugin file that reports a built-in plugin's mesh (here Linkerd's own component, loaded from
/// a file under another name and listed first) would have Meshery send that mesh's designs to it,
/// and the built-in plugin would not register at all. The built-in plugin registers whatever the
/// order of the configuration; the file is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_file_cannot_take_a_built_in_plugins_mesh_by_coming_first() {
    init_log();
    let server = RegistrationServer::start().await;
    let dir = std::env::temp_dir().join(format!("wasmesh-impostor-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "linkerd");
    let bytes = wasmesh::builtin::component_bytes(&config.plugins[0]).unwrap();
    let file = dir.join("impostor.wasm");
    std::fs::write(&file, &bytes).unwrap();
    let mut impostor = config.plugins[0].clone();
    impostor.name = "impostor".into();
    impostor.builtin = None;
    impostor.path = Some(file);
    config.plugins.insert(0, impostor);
    config.meshery_server = Some(server.url());
    let host = wasmesh::start(config).await.expect("host starts");
    // Both listeners call themselves LINKERD: the built-in one by its plugin name.
    let port = host
        .listeners
        .iter()
        .find(|l| l.plugin == "linkerd")
        .unwrap()
        .addr
        .port();
    let accepted = server
        .wait_for("the Linkerd CRD kinds", |a| {
            ["Server", "HTTPRoute"]
                .iter()
                .all(|k| registered_kinds(a, "linkerd").contains(k))
        })
        .await;
    let ports: BTreeSet<String> = accepted
        .iter()
        .map(|r| r.connection["metadata"]["port"].to_string())
        .collect();
    assert_eq!(
        ports,
        BTreeSet::from([port.to_string()]),
        "only the built-in plugin registers"
    );
    let log = host_log();
    assert!(
        log.lines()
            .any(|l| l.contains("impostor") && l.contains("not registered") && l.contains("linkerd")),
        "no log line refusing the impostor:\n{log}"
    );
    host.shutdown().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// A hostile Meshery server: its first answers are a 200 whose body never ends, a 500 whose body
/// never ends, a redirect elsewhere, and a 1 MiB header; then it takes registrations. The success
/// counts without its body being read, the refusal's body is read only in part, the redirect is
/// not followed and the huge header is a failure; each failed definition is sent again and every
/// kind ends up registered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_meshery_server_cannot_hold_or_redirect_the_registration() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    init_log();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let answered = Arc::new(AtomicUsize::new(0));
    let redirected = Arc::new(AtomicUsize::new(0));
    let (a, r) = (answered.clone(), redirected.clone());
    // One request per connection, and each answer says so: the host does not reuse them.
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = tcp.accept().await else { continue };
            let (a, r) = (a.clone(), r.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 65536];
                // The request head, then its body (Content-Length).
                let body_len = loop {
                    let Ok(n) = s.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        break len.saturating_sub(head.len() - end - 4);
                    }
                };
                let mut left = body_len;
                while left > 0 {
                    let Ok(n) = s.read(&mut buf[..left.min(65536)]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    left -= n;
                }
                if head.starts_with(b"POST /elsewhere") {
                    r.fetch_add(1, Ordering::SeqCst);
                }
                let chunk = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
                match a.fetch_add(1, Ordering::SeqCst) {
                    n @ (0 | 1) => {
                        let status = if n == 0 { "200 OK" } else { "500 Oops" };
                        let _ = s
                            .write_all(
                                format!("HTTP/1.1 {status}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
                                    .as_bytes(),
                            )
                            .await;
                        while s.write_all(chunk.as_bytes()).await.is_ok() {}
                    }
                    2 => {
                        let _ = s
                            .write_all(
                                format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{addr}/elsewhere\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                                    .as_bytes(),
                            )
                            .await;
                    }
                    3 => {
                        let _ = s
                            .write_all(
                                format!(
                                    "HTTP/1.1 200 OK\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
                                    "b".repeat(1 << 20)
                                )
                                .as_bytes(),
                            )
                            .await;
                    }
                    _ => {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                            .await;
                    }
                }
            });
        }
    });
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "linkerd");
    config.meshery_server = Some(format!("http://{addr}"));
    let host = wasmesh::start(config).await.expect("host starts");
    let adapter = host.adapters[0].clone();
    tokio::time::timeout(EVENT_WAIT, async {
        while adapter.registration.snapshot().rounds == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first round ends");
    let stats = adapter.registration.snapshot();
    // The endless 200 counted as registered; the endless 500, the redirect and the huge header failed.
    assert_eq!(stats.failures, 3, "{stats:?}");
    assert_eq!(stats.successes, LINKERD.len() as u64, "{stats:?}");
    assert_eq!(stats.last_round_registered, LINKERD.len() as u64, "{stats:?}");
    assert_eq!(redirected.load(Ordering::SeqCst), 0, "the redirect was followed");
    tokio::time::timeout(EVENT_WAIT, host.shutdown())
        .await
        .expect("shutdown is not held by the server");
    server.abort();
}
