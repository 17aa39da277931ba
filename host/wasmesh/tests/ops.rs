//! The `wasmesh` binary as an operator runs it: configuration from file, environment and flags,
//! `config check` / `config default`, JSON logs, and a graceful stop on SIGTERM with operations
//! in flight. Each test starts the real process and talks to it over real sockets.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio_stream::StreamExt;
use wasmesh_proto::meshes::mesh_service_client::MeshServiceClient;
use wasmesh_proto::meshes::{ApplyRuleRequest, EventType, EventsRequest, EventsResponse};
use wasmesh_test_apiserver::ApiServer;

fn wasmesh() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmesh"));
    // Only what a test sets reaches the process.
    for (k, _) in std::env::vars() {
        if k.starts_with("WASMESH_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ops-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_default_file_passes_config_check() {
    let out = wasmesh().args(["config", "default"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "# environment WASMESH_METRICS_ADDR, flag --metrics-addr",
        "shutdown_grace_seconds: 30",
        "  memory_mib: 64",
        "# environment WASMESH_LIMITS_MEMORY_MIB, flag --limits-memory-mib",
        "plugins:",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let file = temp("default").join("wasmesh.yaml");
    std::fs::write(&file, &text).unwrap();
    let check = wasmesh().args(["config", "check"]).arg(&file).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).ends_with(": ok\n"));
}

#[test]
fn config_check_names_the_key_and_exits_1() {
    let dir = temp("check");
    for (yaml, says) in [
        ("limits:\n  memory_mib: lots\n", "limits.memory_mib"),
        ("limits:\n  frobnicate: 1\n", "limits: unknown field `frobnicate`"),
        (
            "plugins:\n  - {name: a, builtin: istio}\n",
            "plugins[0]: missing field `port`",
        ),
        ("metrics_addr: nine\n", "metrics_addr: \"nine\" is not an address"),
        ("log_format: xml\n", "log_format: unknown variant `xml`"),
    ] {
        let file = dir.join("bad.yaml");
        std::fs::write(&file, yaml).unwrap();
        let out = wasmesh().args(["config", "check"]).arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{yaml}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{yaml}: {err}");
    }
}

/// A host process serving the built-in Linkerd plugin on a free port; its stdout's start-up
/// lines, and its stderr (the log) collected.
struct Host {
    child: Child,
    addr: std::net::SocketAddr,
    started: Vec<String>,
    log: std::thread::JoinHandle<String>,
}

impl Host {
    fn start(file: &str, env: &[(&str, &str)], args: &[&str]) -> Host {
        let dir = temp("host");
        let config = dir.join("wasmesh.yaml");
        // The compile cache is shared by the tests of this process: one compile.
        let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ops-cache");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1\ncache_dir: {}\naudit_log: {}\nplugins: [{{name: linkerd, builtin: linkerd, port: 0}}]\n{file}",
                cache.display(),
                dir.join("audit.jsonl").display()
            ),
        )
        .unwrap();
        let mut child = wasmesh()
            .arg("--config")
            .arg(&config)
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start wasmesh");
        let mut stderr = child.stderr.take().unwrap();
        let log = std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).unwrap();
            s
        });
        let mut started = Vec::new();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let ready = line.starts_with("ready in");
            started.push(line);
            if ready {
                break;
            }
        }
        assert!(
            started.last().is_some_and(|l| l.starts_with("ready in")),
            "did not start: {started:?}"
        );
        let addr = started
            .iter()
            .find_map(|l| l.strip_prefix("serving LINKERD (linkerd) on "))
            .expect("the listener's address")
            .parse()
            .unwrap();
        // Keep reading stdout so the process never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Host {
            child,
            addr,
            started,
            log,
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Exit status and log.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.log.join().unwrap())
    }
}

async fn connect(addr: std::net::SocketAddr) -> MeshServiceClient<tonic::transport::Channel> {
    MeshServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect")
}

fn custom(kubeconfig: &str, name: &str) -> ApplyRuleRequest {
    ApplyRuleRequest {
        op_name: "custom".into(),
        namespace: "default".into(),
        username: "ops-test".into(),
        custom_body: format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
        delete_op: false,
        operation_id: uuid::Uuid::new_v4().to_string(),
        kube_configs: vec![kubeconfig.to_string()],
        version: String::new(),
    }
}

/// The next event of `operation_id` at level INFO or ERROR that ends it.
async fn outcome(
    events: &mut (impl tokio_stream::Stream<Item = Result<EventsResponse, tonic::Status>> + Unpin),
    operation_id: &str,
) -> EventsResponse {
    let wait = async {
        while let Some(e) = events.next().await {
            let e = e.expect("event stream");
            let last = e.event_type == EventType::Error as i32 || e.details.starts_with("cluster \"");
            if e.operation_id == operation_id && last {
                return e;
            }
        }
        panic!("the event stream ended before {operation_id} did")
    };
    // A liveness bound, not a performance assertion.
    tokio::time::timeout(Duration::from_secs(120), wait)
        .await
        .expect("an outcome event")
}

/// Connecting to `addr` is refused (the listener closed), asked until it is.
async fn refused(addr: std::net::SocketAddr) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{addr} still accepts connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_cuts_off_what_outlives_the_grace_period_and_exits_0() {
    let api = ApiServer::start();
    // The flag beats the environment, which beats the file.
    let host = Host::start(
        "shutdown_grace_seconds: 100\n",
        &[("WASMESH_SHUTDOWN_GRACE_SECONDS", "50")],
        &["--shutdown-grace-seconds", "3"],
    );
    let mut c = connect(host.addr).await;
    let mut events = c.stream_events(EventsRequest {}).await.unwrap().into_inner();
    // One operation first, so the cluster's client is made before the API server slows down.
    let warm = custom(api.kubeconfig(), "warm");
    c.apply_operation(warm.clone()).await.unwrap();
    assert_eq!(
        outcome(&mut events, &warm.operation_id).await.event_type,
        EventType::Info as i32
    );

    api.set_delay(Duration::from_secs(3600));
    let slow = custom(api.kubeconfig(), "slow");
    c.apply_operation(slow.clone()).await.unwrap();
    host.terminate();
    // New connections are refused while the stopping host still serves the open stream: the
    // cut-off event below comes after.
    refused(host.addr).await;
    let e = outcome(&mut events, &slow.operation_id).await;
    assert_eq!(e.event_type, EventType::Error as i32, "{e:#?}");
    assert_eq!(e.error_code, "WASMESH-HOST-1030");
    assert!(e.summary.contains("grace period 3 s"), "{}", e.summary);
    assert!(!e.suggested_remediation.is_empty() && !e.probable_cause.is_empty());
    // The stream ends, and the process exits 0.
    assert!(events.next().await.is_none_or(|e| e.is_err()));
    let (status, log) = host.wait();
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("cut off at shutdown"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_operation_finish_and_logs_json_with_its_ids() {
    let api = ApiServer::start();
    // The environment beats the file.
    let host = Host::start("log_format: text\n", &[("WASMESH_LOG_FORMAT", "json")], &[]);
    assert!(host.started.iter().any(|l| l.starts_with("ready in")));
    let mut c = connect(host.addr).await;
    let mut events = c.stream_events(EventsRequest {}).await.unwrap().into_inner();
    let warm = custom(api.kubeconfig(), "warm");
    c.apply_operation(warm.clone()).await.unwrap();
    outcome(&mut events, &warm.operation_id).await;

    // In flight when SIGTERM comes, done well within the 30 s default grace period.
    api.set_delay(Duration::from_secs(2));
    let slow = custom(api.kubeconfig(), "finishes");
    c.apply_operation(slow.clone()).await.unwrap();
    host.terminate();
    let e = outcome(&mut events, &slow.operation_id).await;
    assert_eq!(e.event_type, EventType::Info as i32, "{e:#?}");
    let (status, log) = host.wait();
    assert_eq!(status.code(), Some(0), "{log}");

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let mine: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["span"]["operation_id"] == slow.operation_id.as_str())
        .collect();
    assert!(!mine.is_empty(), "no line of {} in:\n{log}", slow.operation_id);
    for l in &mine {
        assert_eq!(l["span"]["plugin"], "linkerd", "{l}");
        assert_eq!(l["span"]["key"], "custom", "{l}");
    }
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("shutting down"))),
        "{log}"
    );
}

/// Security settings changed from outside the file: strict mode set in the file cannot be turned
/// off by the environment or a flag, and any other change is logged at start.
#[test]
fn the_environment_cannot_quietly_loosen_a_guarding_setting() {
    let dir = temp("guards");
    let file = dir.join("strict.yaml");
    std::fs::write(&file, "strict: true\n").unwrap();
    let f = file.to_str().unwrap();
    for (env, args) in [
        (vec![("WASMESH_STRICT", "false")], vec!["--config", f, "rbac"]),
        (vec![], vec!["--config", f, "--strict=false", "rbac"]),
    ] {
        let out = wasmesh().envs(env.clone()).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?} {args:?}: {err}");
        assert!(err.contains("would turn off strict mode"), "{err}");
    }
    let plain = dir.join("plain.yaml");
    std::fs::write(&plain, "listen: 127.0.0.1\n").unwrap();
    // The environment that loosens a guard cannot also silence the line that says so; `listen`
    // guards who may call (the file keeps the ports on loopback).
    for rust_log in [None, Some("off"), Some("error"), Some("wasmesh::security=off")] {
        let mut cmd = wasmesh();
        if let Some(level) = rust_log {
            cmd.env("RUST_LOG", level);
        }
        let out = cmd
            .env("WASMESH_ALLOW_HTTP_API_SERVERS", "true")
            .env("WASMESH_LISTEN", "0.0.0.0")
            .env("WASMESH_CACHE_DIR", dir.join("elsewhere").to_str().unwrap())
            .args([
                "--config",
                plain.to_str().unwrap(),
                "--meshery-server",
                "http://other.example:9081",
                "--advertise-host",
                "wasmesh.example",
                "rbac",
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        for want in [
            "environment variable WASMESH_ALLOW_HTTP_API_SERVERS changes allow_http_api_servers from false to true",
            "environment variable WASMESH_LISTEN changes listen from \"127.0.0.1\" to \"0.0.0.0\"",
            // Native code is loaded from the cache; registrations go to the Meshery server.
            "environment variable WASMESH_CACHE_DIR changes cache_dir",
            "changes meshery_server from",
            "changes advertise_host from",
        ] {
            assert!(err.contains(want), "RUST_LOG={rust_log:?}: no {want:?} in:\n{err}");
        }
    }
}

/// Operations sent while SIGTERM arrives are each accounted for: a call answered OK gets an event
/// that ends it (done, failed, cut off or not started) before the event stream ends, and any other
/// call is answered with an error. An operation accepted in the moment shutdown stops the rest
/// (its kubeconfig still being read) was once answered OK with its event sent to a stream that
/// had already ended: lost without a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_sent_while_sigterm_arrives_is_answered_or_reported() {
    use std::collections::HashSet;
    use std::sync::{Arc, Mutex};

    let api = ApiServer::start();
    // No grace: what runs is cut off at once, so the race is with operations still being accepted.
    let host = Host::start("shutdown_grace_seconds: 0\n", &[], &[]);
    let mut c = connect(host.addr).await;
    let mut events = c.stream_events(EventsRequest {}).await.unwrap().into_inner();
    let collector = tokio::spawn(async move {
        let mut ended = HashSet::new();
        while let Some(Ok(e)) = events.next().await {
            if e.event_type == EventType::Error as i32 || e.details.starts_with("cluster \"") {
                ended.insert(e.operation_id);
            }
        }
        ended
    });

    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut senders = Vec::new();
    for sender in 0..8 {
        let (addr, accepted) = (host.addr, accepted.clone());
        // A kubeconfig of its own per operation (a comment makes it unique): each is read anew,
        // which keeps operations in the step between admission and start.
        let kubeconfig = api.kubeconfig().to_string();
        senders.push(tokio::spawn(async move {
            let mut c = connect(addr).await;
            for n in 0.. {
                let req = custom(
                    &format!("{kubeconfig}\n# {sender}-{n}\n"),
                    &format!("race-{sender}-{n}"),
                );
                match c.apply_operation(req.clone()).await {
                    Ok(_) => accepted.lock().unwrap().push(req.operation_id),
                    // Answered: the caller knows it did not run.
                    Err(_) => return,
                }
            }
        }));
    }
    while accepted.lock().unwrap().len() < 40 {
        assert!(
            !senders.iter().all(|s| s.is_finished()),
            "every sender was refused before the shutdown"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    host.terminate();
    for s in senders {
        s.await.unwrap();
    }
    let ended = collector.await.unwrap();
    let (status, log) = host.wait();
    assert_eq!(status.code(), Some(0), "{log}");
    let accepted = accepted.lock().unwrap().clone();
    let lost: Vec<&String> = accepted.iter().filter(|id| !ended.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} operations answered OK never got an event that ends them: {lost:?}",
        lost.len(),
        accepted.len()
    );
}
