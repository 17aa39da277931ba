//! Attacks by anyone who can reach a gRPC port (unauthenticated by default, like the upstream
//! adapters'): oversized fields, forged log lines, kubeconfigs that make the host a client of
//! an address of the caller's choosing, subscribers that crowd Meshery out, and callers without
//! the token or client certificate a deployment requires.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_prost::ProstCodec;
use wasmesh::config::TlsConfig;
use wasmesh_e2e::meshery::{ApplyRuleRequest, ERROR, Empty, Generation, NameResponse, ProvisionRequest};
use wasmesh_e2e::{
    Events, TestCluster, clear_log, client, declaration, host_log, init_log, request, run_ok, start_host, test_config,
    writes,
};

const VALID: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: must-not-exist\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_fields_are_refused_before_any_work_and_plugin_text_is_clipped() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("fields").await;
    let host = start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let huge = "a".repeat(1 << 20);
    let base = || request("custom", ns.name(), VALID, &[cluster.kubeconfig()]);
    let cases = [
        (
            "operation_id",
            ApplyRuleRequest {
                operation_id: huge.clone(),
                ..base()
            },
        ),
        (
            "opName",
            ApplyRuleRequest {
                op_name: huge.clone(),
                ..base()
            },
        ),
        (
            "namespace",
            ApplyRuleRequest {
                namespace: huge.clone(),
                ..base()
            },
        ),
        (
            "username",
            ApplyRuleRequest {
                username: huge.clone(),
                ..base()
            },
        ),
        (
            "version",
            ApplyRuleRequest {
                version: huge.clone(),
                ..base()
            },
        ),
    ];
    for (field, req) in cases {
        clear_log(&cluster);
        let status = c.apply(req.clone()).await.expect_err(field);
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().contains("WASMESH-HOST-1021") && status.message().contains(field),
            "{field}: {status:?}"
        );
        assert!(
            status.message().len() < 1024,
            "{field}: the refusal does not echo the field"
        );
        if field != "operation_id" {
            let e = events.outcome(&req.operation_id).await;
            assert_eq!(
                (e.event_type, e.error_code.as_str()),
                (ERROR, "WASMESH-HOST-1021"),
                "{e:#?}"
            );
            assert!(e.summary.len() < 1024, "{field}: the event does not echo the field");
        }
        assert_eq!(
            writes(&cluster),
            Vec::<String>::new(),
            "{field}: nothing may be written"
        );
    }
    assert!(
        events.all().iter().all(|e| e.operation_id.len() <= 256),
        "no event carries the oversized operation id"
    );

    // Designs: the username is bounded like ApplyOperation's.
    let status = c
        .provision(ProvisionRequest {
            username: huge.clone(),
            delete_op: false,
            declarations: vec![declaration(
                "linkerd",
                "v1",
                "ConfigMap",
                "must-not-exist",
                ns.name(),
                json!({}),
            )],
            kube_configs: vec![cluster.kubeconfig().to_string()],
        })
        .await
        .expect_err("an oversized username");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("WASMESH-HOST-1021"), "{status:?}");

    // Plugin text that reaches the Provision answer: rejected components name themselves, and
    // the names come from the caller. Each line and the whole answer stay bounded.
    // 500 KiB names (a declaration carries its name twice): the design stays under its limit.
    let name = |i: usize| format!("c{i}-{}", "n".repeat(500 << 10));
    let declarations: Vec<String> = (0..3)
        .map(|i| {
            declaration(
                "linkerd",
                "policy.istio.io/v1beta1",
                "Server",
                &name(i),
                ns.name(),
                json!({}),
            )
        })
        .collect();
    let answer = c
        .provision(ProvisionRequest {
            username: "e2e".into(),
            delete_op: false,
            declarations,
            kube_configs: vec![cluster.kubeconfig().to_string()],
        })
        .await
        .unwrap_or_else(|s| s.message().to_string());
    assert!(
        answer.contains("component 1 \"c0-nnn"),
        "the components were rejected: {:.300}",
        answer
    );
    assert!(answer.len() <= 1 << 20, "the answer is {} bytes", answer.len());
    let longest = answer.lines().map(str::len).max().unwrap_or(0);
    assert!(longest <= 4096, "a line of {longest} bytes");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_text_cannot_forge_a_log_line() {
    let host = start_host().await;
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let marker = format!("FORGED-{}", uuid::Uuid::new_v4().simple());
    let forged = format!("2026-12-03T10:00:00.000000Z  INFO wasmesh: {marker} plugin granted cluster-admin");
    // An unknown operation's name is logged with the refusal (a WARN): the forged text rides in it.
    for sep in ["\n", "\r\n", "\r", "\u{2028}", "\u{85}"] {
        let req = request(&format!("nope{sep}{forged}"), "default", "", &[]);
        let status = c.apply(req.clone()).await.expect_err("an unknown operation");
        assert_eq!(status.code(), Code::InvalidArgument);
        events.outcome(&req.operation_id).await;
    }
    let log = host_log();
    let lines: Vec<&str> = log.split('\n').filter(|l| l.contains(&marker)).collect();
    assert_eq!(lines.len(), 5, "one log line per refusal: {lines:#?}");
    for l in lines {
        assert!(
            l.contains("WARN") && l.contains("unknown operation \"nope"),
            "the forged text stays inside the host's own line: {l:?}"
        );
        assert!(!l.contains(['\r', '\u{2028}', '\u{85}']), "no raw line break: {l:?}");
    }
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_subscribers_beyond_the_cap_are_refused_and_meshery_keeps_its_stream() {
    let host = start_host().await;
    let mut meshery = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&meshery).await;
    // Make sure Meshery's subscription is registered before the flood.
    let first = request("nope", "default", "", &[]);
    let _ = meshery.apply(first.clone()).await;
    events.outcome(&first.operation_id).await;

    // The attacker opens subscriptions over several connections until one is refused.
    let mut connections = Vec::new();
    for _ in 0..8 {
        connections.push(client(&host, "ISTIO", Generation::Adapter).await);
    }
    let mut held = Vec::new();
    let mut refused = None;
    for i in 0..wasmesh::events::MAX_SUBSCRIBERS + 8 {
        match connections[i % 8].stream_events().await {
            Ok(stream) => held.push(stream),
            Err(status) => {
                refused = Some(status);
                break;
            }
        }
    }
    let status = refused.expect("a subscriber beyond the cap is refused");
    assert_eq!(
        held.len(),
        wasmesh::events::MAX_SUBSCRIBERS - 1,
        "Meshery holds one place"
    );
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("WASMESH-HOST-1020") && status.message().contains("event subscribers"),
        "{status:?}"
    );
    // Meshery's own subscription still receives the next operation's events.
    let after = request("nope-after-the-flood", "default", "", &[]);
    let _ = meshery.apply(after.clone()).await;
    let e = events.outcome(&after.operation_id).await;
    assert_eq!(e.event_type, ERROR);
    drop(held);
    host.shutdown().await;
}

/// A server that is not an API server: counts connections and answers every request with
/// `status` and `body`.
struct Decoy {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Decoy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn decoy(status: &'static str, content_type: &'static str, body: String) -> Decoy {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let count = connections.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65536 {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(response.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    Decoy {
        addr,
        connections,
        task,
    }
}

fn kubeconfig(server: &str, proxy: Option<&str>) -> String {
    let proxy = proxy.map(|p| format!(", proxy-url: '{p}'")).unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nclusters:\n- name: k\n  cluster: {{server: '{server}'{proxy}}}\nusers:\n- name: u\n  user: {{token: a-token-for-the-decoy}}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_cannot_send_the_host_elsewhere_nor_echo_a_foreign_body() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("servers").await;
    let secret = format!("SECRET-{}", uuid::Uuid::new_v4().simple());
    let port_of = |d: &Decoy| d.addr.port();
    let text = decoy(
        "500 Internal Server Error",
        "text/plain",
        format!("db-password: {secret}\n"),
    )
    .await;

    // Refused before any connection: plain http (not allowed by default), a proxy.
    let host = start_host().await;
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let http = format!("http://127.0.0.1:{}", port_of(&text));
    let https = format!("https://127.0.0.1:{}", port_of(&text));
    let cases = [
        ("plain http", kubeconfig(&http, None), "plain http://"),
        (
            "a proxy",
            kubeconfig("https://127.0.0.1:1", Some(&http)),
            "through a proxy (proxy-url)",
        ),
    ];
    for (what, kc, says) in cases {
        let req = request("custom", ns.name(), VALID, &[&kc]);
        let status = c.apply(req.clone()).await.expect_err(what);
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.error_code, "WASMESH-CLUSTER-1017", "{what}: {e:#?}");
        assert!(e.summary.contains(says), "{what}: {e:#?}");
    }
    assert_eq!(text.connections.load(Ordering::SeqCst), 0, "no connection was made");
    host.shutdown().await;

    // allowed_api_servers: an address or a name outside the list is refused before any
    // connection.
    let mut config = test_config();
    config.allowed_api_servers = Some(vec!["10.255.255.0/24".into()]);
    init_log();
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    for (what, kc, says) in [
        (
            "an address",
            kubeconfig(&https, None),
            "127.0.0.1 is not inside allowed_api_servers",
        ),
        (
            "a name",
            kubeconfig(&format!("https://localhost:{}", port_of(&text)), None),
            "localhost resolves to",
        ),
    ] {
        let req = request("custom", ns.name(), VALID, &[&kc]);
        let status = c.apply(req.clone()).await.expect_err(what);
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.error_code, "WASMESH-CLUSTER-1017", "{what}: {e:#?}");
        assert!(e.summary.contains(says), "{what}: {e:#?}");
    }
    assert_eq!(text.connections.load(Ordering::SeqCst), 0, "no connection was made");
    host.shutdown().await;

    // The test cluster, listed (by its address or name), works.
    let server =
        serde_yaml::from_str::<serde_json::Value>(cluster.kubeconfig()).unwrap()["clusters"][0]["cluster"]["server"]
            .as_str()
            .unwrap()
            .to_string();
    let listed = tonic::codegen::http::Uri::try_from(server.as_str())
        .unwrap()
        .host()
        .unwrap()
        .trim_matches(['[', ']'])
        .to_string();
    let mut config = test_config();
    config.allowed_api_servers = Some(vec!["10.255.255.0/24".into(), listed]);
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let ok = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: listed-server\n";
    run_ok(
        &mut c,
        &events,
        request("custom", ns.name(), ok, &[cluster.kubeconfig()]),
    )
    .await;
    host.shutdown().await;

    // A name allowed because it resolves inside a listed network is reached at the address that
    // was checked (a DNS answer that changes after the check cannot move the host), and the
    // server's certificate is still verified against the name.
    let by_name = cluster.kubeconfig().replace("https://127.0.0.1:", "https://localhost:");
    assert_ne!(
        by_name,
        cluster.kubeconfig(),
        "the test cluster is addressed as 127.0.0.1"
    );
    let mut config = test_config();
    config.allowed_api_servers = Some(vec!["127.0.0.0/8".into()]);
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let ok = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: resolved-server\n";
    let done = run_ok(&mut c, &events, request("custom", ns.name(), ok, &[&by_name])).await;
    assert!(
        done.details.contains("(https://localhost:"),
        "events name the server as the kubeconfig does: {done:#?}"
    );
    host.shutdown().await;

    // A server that is not an API server answers with a secret: the body reaches no event and
    // no log line, whether it is text or JSON that kube reads as a Status.
    let json = decoy(
        "500 Internal Server Error",
        "application/json",
        json!({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "db"},
               "message": secret, "data": {"password": secret}})
        .to_string(),
    )
    .await;
    let mut config = test_config();
    config.allow_http_api_servers = true;
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    for d in [&text, &json] {
        let kc = kubeconfig(&format!("http://127.0.0.1:{}", port_of(d)), None);
        let req = request("custom", ns.name(), VALID, &[&kc]);
        c.apply(req.clone()).await.expect("the kubeconfig itself is allowed");
        let e = events.outcome(&req.operation_id).await;
        assert_eq!(e.event_type, ERROR, "{e:#?}");
        assert!(e.summary.contains("not a Kubernetes Status"), "{e:#?}");
        assert!(d.connections.load(Ordering::SeqCst) > 0, "the decoy was asked");
    }
    let seen = format!("{:?}", events.all());
    assert!(!seen.contains(&secret), "the decoy's body reached an event: {seen}");
    assert!(!host_log().contains(&secret), "the decoy's body reached the log");
    host.shutdown().await;
}

/// A server that answers every request with 200 and a JSON body that never ends; it stops at
/// 1 GiB. Returns its address and how many bytes it got to send.
async fn endless() -> (SocketAddr, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let count = sent.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tcp.read(&mut buf).await;
                let head =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n1\r\n[\r\n";
                let chunk = format!("10000\r\n{}\r\n", "0,".repeat(0x8000));
                if tcp.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                while count.load(Ordering::SeqCst) < 1 << 30 {
                    if tcp.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    count.fetch_add(chunk.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (addr, sent, task)
}

/// A kubeconfig's server that sends an answer without end is cut off at the host's bound
/// (MAX_ANSWER_BYTES), with an error that says so, and is not asked again: kube-rs alone would
/// read it into memory for as long as it came.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_server_answer_without_end_is_cut_off_at_the_bound() {
    let (addr, sent, task) = endless().await;
    let mut config = test_config();
    config.allow_http_api_servers = true;
    let host = wasmesh::start(config).await.expect("host starts");
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let kc = kubeconfig(&format!("http://{addr}"), None);
    let req = request("custom", "default", VALID, &[&kc]);
    c.apply(req.clone()).await.expect("the kubeconfig itself is allowed");
    let e = events.outcome(&req.operation_id).await;
    task.abort();
    assert_eq!(e.event_type, ERROR, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-CLUSTER-1018", "{e:#?}");
    let bound = wasmesh_cluster::MAX_ANSWER_BYTES;
    assert!(e.summary.contains(&format!("over {bound} bytes")), "{e:#?}");
    assert!(!e.suggested_remediation.is_empty(), "{e:#?}");
    // Read up to the bound (plus what sockets buffer), once: not retried, not read on.
    let sent = sent.load(Ordering::SeqCst);
    assert!(
        sent < bound + (16 << 20),
        "the host read {sent} bytes of an endless answer"
    );
    host.shutdown().await;
}

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, signed by it.
struct Pki {
    ca: String,
    server: (String, String),
    client: (String, String),
}

fn pki(name: &str) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, name);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf = |sans: Vec<String>, usage: ExtendedKeyUsagePurpose| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(sans).unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca.pem(),
        server: leaf(
            vec!["localhost".into(), "127.0.0.1".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        client: leaf(vec!["meshery".into()], ExtendedKeyUsagePurpose::ClientAuth),
    }
}

/// MeshName (or AdapterName) over a fresh connection, with or without TLS and a token; any
/// failure, at connection or call, as text.
async fn call(
    addr: SocketAddr,
    tls: Option<ClientTlsConfig>,
    token: Option<&str>,
    generation: Generation,
) -> Result<String, String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut endpoint = Channel::from_shared(format!("{scheme}://{addr}")).unwrap();
    if let Some(t) = tls {
        endpoint = endpoint.tls_config(t).map_err(|e| e.to_string())?;
    }
    let channel = endpoint.connect().await.map_err(|e| format!("connect: {e:?}"))?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let mut req = tonic::Request::new(Empty {});
    if let Some(t) = token {
        req.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let path = match generation {
        Generation::Mesh => "/meshes.MeshService/MeshName",
        Generation::Adapter => "/meshes.AdapterService/AdapterName",
    };
    let codec: ProstCodec<Empty, NameResponse> = ProstCodec::default();
    grpc.unary(req, PathAndQuery::from_static(path), codec)
        .await
        .map(|r| r.into_inner().name)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_the_client_certificate_or_token_are_refused() {
    init_log();
    let dir = std::env::temp_dir().join(format!("wasmesh-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let ours = pki("wasmesh-test-callers-ca");
    let theirs = pki("someone-else-ca");
    let tls_config = |client_ca: bool| TlsConfig {
        cert: write(&dir, "server.pem", &ours.server.0),
        key: write(&dir, "server.key", &ours.server.1),
        client_ca: client_ca.then(|| write(&dir, "ca.pem", &ours.ca)),
    };
    let trusting = || {
        ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&ours.ca))
            .domain_name("localhost")
    };
    let with_cert = |pki: &Pki| trusting().identity(Identity::from_pem(&pki.client.0, &pki.client.1));

    // Mutual TLS: only a client certificate signed by the configured CA gets in.
    let mut config = test_config();
    config.plugins.truncate(1);
    config.tls = Some(tls_config(true));
    let host = wasmesh::start(config).await.expect("host starts");
    let addr = host.listeners[0].addr;
    for generation in [Generation::Mesh, Generation::Adapter] {
        for (what, tls) in [
            ("plain gRPC", None),
            ("TLS without a client certificate", Some(trusting())),
            ("a client certificate of another CA", Some(with_cert(&theirs))),
        ] {
            let got = call(addr, tls, None, generation).await;
            assert!(got.is_err(), "{what} ({generation:?}) must be refused: {got:?}");
        }
        assert_eq!(
            call(addr, Some(with_cert(&ours)), None, generation).await,
            Ok("ISTIO".to_string())
        );
    }
    host.shutdown().await;

    // A bearer token (over server-side TLS): calls without it, or with another, are refused;
    // event streams too.
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut config = test_config();
    config.plugins.truncate(1);
    config.tls = Some(tls_config(false));
    config.token_file = Some(write(&dir, "token", &format!("{token}\n")));
    let host = wasmesh::start(config).await.expect("host starts");
    let addr = host.listeners[0].addr;
    for generation in [Generation::Mesh, Generation::Adapter] {
        for (what, t) in [
            ("no token", None),
            ("another token", Some("0123456789abcdef0123456789abcdef")),
        ] {
            let got = call(addr, Some(trusting()), t, generation).await;
            let refusal = got.expect_err(what);
            assert!(
                refusal.starts_with("Unauthenticated") && refusal.contains("WASMESH-HOST-1022"),
                "{what}: {refusal}"
            );
        }
        assert_eq!(
            call(addr, Some(trusting()), Some(&token), generation).await,
            Ok("ISTIO".to_string())
        );
    }
    let channel = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(trusting())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec: ProstCodec<Empty, wasmesh_e2e::meshery::EventsResponse> = ProstCodec::default();
    let status = grpc
        .server_streaming(
            tonic::Request::new(Empty {}),
            PathAndQuery::from_static("/meshes.MeshService/StreamEvents"),
            codec,
        )
        .await
        .expect_err("StreamEvents without the token");
    assert_eq!(status.code(), Code::Unauthenticated);
    host.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
