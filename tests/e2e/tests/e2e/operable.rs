//! What an operator runs the host with: grpc.health.v1 and reflection on every listener, and the
//! Prometheus metrics endpoint, each asked over a real socket.

use std::collections::BTreeMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use wasmesh_e2e::meshery::{ERROR, Generation};
use wasmesh_e2e::{Events, TestCluster, client, init_log, request, run_ok, test_config};

async fn channel(addr: std::net::SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect")
}

fn check(service: &str) -> HealthCheckRequest {
    HealthCheckRequest {
        service: service.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listener_answers_health_and_reflection() {
    init_log();
    let host = wasmesh::start(test_config()).await.expect("host starts");
    assert_eq!(host.listeners.len(), 3);
    for l in &host.listeners {
        let mut health = HealthClient::new(channel(l.addr).await);
        for service in ["", "meshes.MeshService", "meshes.AdapterService"] {
            let status = health.check(check(service)).await.unwrap().into_inner().status;
            assert_eq!(status, ServingStatus::Serving as i32, "{} {service:?}", l.plugin);
        }
        let unknown = health.check(check("no.Such")).await.unwrap_err();
        assert_eq!(unknown.code(), tonic::Code::NotFound);

        let mut reflection = ServerReflectionClient::new(channel(l.addr).await);
        let ask = |m| ServerReflectionRequest {
            host: String::new(),
            message_request: Some(m),
        };
        let requests = tokio_stream::iter([
            ask(MessageRequest::ListServices(String::new())),
            ask(MessageRequest::FileContainingSymbol("meshes.MeshService".into())),
        ]);
        let mut answers = reflection.server_reflection_info(requests).await.unwrap().into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) = answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("no service list from {}", l.plugin)
        };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        for want in ["meshes.MeshService", "meshes.AdapterService", "grpc.health.v1.Health"] {
            assert!(names.iter().any(|n| n == want), "{}: {names:?}", l.plugin);
        }
        let Some(MessageResponse::FileDescriptorResponse(files)) =
            answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("no descriptor of meshes.MeshService from {}", l.plugin)
        };
        assert!(!files.file_descriptor_proto.is_empty());
    }

    // A watcher sees SERVING, then NOT_SERVING when the host shuts down.
    let mut health = HealthClient::new(channel(host.listeners[0].addr).await);
    let mut watch = health.watch(check("meshes.MeshService")).await.unwrap().into_inner();
    let first = watch.next().await.unwrap().unwrap().status;
    assert_eq!(first, ServingStatus::Serving as i32);
    let stopping = tokio::spawn(host.shutdown());
    let next = watch.next().await.unwrap().unwrap().status;
    assert_eq!(next, ServingStatus::NotServing as i32);
    drop(watch);
    stopping.await.unwrap();
}

/// `GET path` over plain HTTP/1.1; the status code and the body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect to metrics");
    let ask = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(ask.as_bytes()).await.unwrap();
    let mut raw = String::new();
    tcp.read_to_string(&mut raw).await.unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, body.to_string())
}

/// `name{labels} value` lines of a scrape.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(k, v)| (k.to_string(), v.parse().expect("a number")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_operations_denials_events_and_errors() {
    init_log();
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("metrics").await;
    let mut config = test_config();
    config.metrics_addr = Some("127.0.0.1:0".into());
    let host = wasmesh::start(config).await.expect("host starts");
    let addr = host.metrics_addr.expect("metrics served");
    let mut c = client(&host, "HOSTILE", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let kc = [cluster.kubeconfig()];

    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: counted\n";
    run_ok(&mut c, &events, request("custom", ns.name(), body, &kc)).await;
    for (op, body) in [
        // A plan step outside the grant: refused whole.
        ("write-forbidden-verb", ""),
        // A read outside the grant.
        ("read-secret", ""),
        // A kind the cluster does not serve: an error from the cluster.
        (
            "custom",
            "apiVersion: example.com/v1\nkind: Nope\nmetadata:\n  name: x\n",
        ),
    ] {
        let req = request(op, ns.name(), body, &kc);
        c.apply(req.clone()).await.unwrap();
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{op}: {e:#?}");
    }
    // Not an operation of the plugin: refused, and counted without its name.
    let unknown = request("no-such-op-with-a-unique-name", ns.name(), "", &kc);
    assert!(c.apply(unknown).await.is_err());

    let (status, text) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "OpenMetrics text ends with # EOF");
    let m = samples(&text);
    let get = |k: &str| m.get(k).copied().unwrap_or_else(|| panic!("no {k} in:\n{text}"));
    let p = r#"plugin="hostile""#;
    assert_eq!(
        get(&format!(
            r#"wasmesh_operations_total{{{p},key="custom",outcome="success"}}"#
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            r#"wasmesh_operations_total{{{p},key="custom",outcome="failure"}}"#
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            r#"wasmesh_operations_total{{{p},key="write-forbidden-verb",outcome="failure"}}"#
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            r#"wasmesh_operations_total{{{p},key="unknown",outcome="refused"}}"#
        )),
        1.0
    );
    assert!(
        !text.contains("no-such-op-with-a-unique-name"),
        "request text became a label"
    );
    assert!(!text.contains(ns.name()), "a namespace became a label");
    assert_eq!(
        get(&format!(
            r#"wasmesh_operation_duration_seconds_count{{{p},key="custom"}}"#
        )),
        2.0
    );
    assert!(
        get(&format!(
            r#"wasmesh_plugin_call_duration_seconds_count{{{p},call="plan"}}"#
        )) >= 4.0
    );
    // The refused plan's step needed two verbs (create, patch), and the read one.
    assert_eq!(
        get(&format!(r#"wasmesh_capability_denials_total{{{p},rule="kube_rule"}}"#)),
        3.0
    );
    assert_eq!(
        get(&format!(
            r#"wasmesh_plans_refused_total{{{p},code="WASMESH-CAP-DENIED"}}"#
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            r#"wasmesh_cluster_api_errors_total{{{p},code="WASMESH-CLUSTER-1003"}}"#
        )),
        1.0
    );
    assert!(get(&format!(r#"wasmesh_events_published_total{{{p},level="error"}}"#)) >= 4.0);
    assert_eq!(get(&format!("wasmesh_event_subscribers{{{p}}}")), 1.0);
    assert_eq!(get(&format!("wasmesh_operations_in_flight{{{p}}}")), 0.0);
    let cache = m
        .get(&format!("wasmesh_compile_cache_hits_total{{{p}}}"))
        .copied()
        .unwrap_or(0.0)
        + m.get(&format!("wasmesh_compile_cache_misses_total{{{p}}}"))
            .copied()
            .unwrap_or(0.0);
    assert_eq!(cache, 1.0, "one load of the plugin, hit or miss");

    // One more success moves its counter, and only that.
    run_ok(&mut c, &events, request("custom", ns.name(), body, &kc)).await;
    let after = samples(&http_get(addr, "/metrics").await.1);
    let key = format!(r#"wasmesh_operations_total{{{p},key="custom",outcome="success"}}"#);
    assert_eq!(after[&key], 2.0);

    assert_eq!(http_get(addr, "/").await.0, 404);
    host.shutdown().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "metrics stop with the host"
    );
}

/// A hostile peer on the metrics port: connections that never send a request are closed, and
/// holding many of them open does not keep a scraper out for long.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_hold_the_metrics_port() {
    init_log();
    let mut config = test_config();
    config.metrics_addr = Some("127.0.0.1:0".into());
    let host = wasmesh::start(config).await.expect("host starts");
    let addr = host.metrics_addr.expect("metrics served");
    let mut idle = Vec::new();
    for _ in 0..80 {
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        // Half a request line, never finished.
        s.write_all(b"GET /metr").await.unwrap();
        idle.push(s);
    }
    // Every idle connection is closed by the server (within a liveness bound, not a timing).
    for s in &mut idle {
        let mut buf = [0u8; 512];
        // Closed (0), reset, or answered with 408 then closed: anything but waiting for ever.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(60), s.read(&mut buf))
            .await
            .expect("the server closes a connection that never sends its headers");
    }
    // And a scraper gets in afterwards.
    assert_eq!(http_get(addr, "/metrics").await.0, 200);
    host.shutdown().await;
}

/// Reads until the peer closes: the bytes it sent before.
async fn until_closed(tcp: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    // A liveness bound, not a performance assertion: the host's bound is its 30 s per connection.
    tokio::time::timeout(std::time::Duration::from_secs(60), tcp.read_to_end(&mut got))
        .await
        .expect("the metrics server closes the connection")
        .ok();
    got
}

/// Slowloris on the metrics port: 64 connections that never finish their headers, one that
/// sends a byte at a time. The 65th connection is closed at once, unanswered; the idle ones are
/// closed by the header timeout, and a scrape is then answered again. A request line of 1 MiB
/// and an HTTP/2 preface get no metrics either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_port_bounds_slow_and_idle_connections() {
    init_log();
    let mut config = test_config();
    config.plugins.retain(|p| p.name == "linkerd");
    config.metrics_addr = Some("127.0.0.1:0".into());
    let host = wasmesh::start(config).await.expect("host starts");
    let addr = host.metrics_addr.expect("metrics served");
    let mut idle = Vec::new();
    for _ in 0..63 {
        idle.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let mut trickle = tokio::net::TcpStream::connect(addr).await.unwrap();
    trickle.write_all(b"GET /metrics HTTP/1.1\r\n").await.unwrap();
    // Each connection is taken by the server before the next is made: the 65th is over the bound.
    let mut over = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = over.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        until_closed(&mut over).await.is_empty(),
        "the 65th connection was answered"
    );
    let dripping = tokio::spawn(async move {
        for _ in 0..60 {
            if trickle.write_all(b"X").await.is_err() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        panic!("a connection sending its headers a byte at a time was kept for 15 s (header timeout: 5 s)");
    });
    for mut c in idle {
        let answer = until_closed(&mut c).await;
        assert!(!String::from_utf8_lossy(&answer).contains("wasmesh_"));
    }
    dripping.await.unwrap();
    assert_eq!(http_get(addr, "/metrics").await.0, 200);
    let mut long = tokio::net::TcpStream::connect(addr).await.unwrap();
    let line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "m".repeat(1 << 20));
    let _ = long.write_all(line.as_bytes()).await;
    let answer = String::from_utf8_lossy(&until_closed(&mut long).await).to_string();
    assert!(!answer.contains("wasmesh_"), "{answer}");
    let mut h2 = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    let answer = String::from_utf8_lossy(&until_closed(&mut h2).await).to_string();
    assert!(!answer.contains("wasmesh_"), "{answer}");
    host.shutdown().await;
}
