//! Two replicas of the host (two `wasmesh` processes) behind one address, as `wasmesh deploy`'s
//! Service puts them: a TCP balancer that sends every connection from one client address to the
//! same replica (ClientIP session affinity), the first connection of a new address to the next
//! replica in turn. Several Meshery-like clients, each from its own address, subscribe to events
//! on one connection and run operations on another: both replicas run operations, and each
//! client gets every event of its own operations and of no operation the other replica ran.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use wasmesh_e2e::meshery::{Client, Generation, INFO};
use wasmesh_e2e::{Events, TestCluster, configmap, request};

/// One host process; killed when dropped. Its stdout (the listeners, then the audit log, which
/// the config sends to /dev/stdout as the deployed ConfigMap does) is read to the end.
struct Replica {
    child: Child,
    addr: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_replica(config: &std::path::Path) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wasmesh"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env("RUST_LOG", "warn")
        .env_remove("WASMESH_CONFIG")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start wasmesh");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "wasmesh exited before it was ready"
        );
        // "serving LINKERD (linkerd) on 127.0.0.1:40123"
        if line.starts_with("serving ") {
            addr = line.split_whitespace().last().and_then(|a| a.parse().ok());
        }
        if line.starts_with("ready in") {
            break;
        }
    }
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let lines = stdout.clone();
    // Drained to the end, so the audit log never blocks on a full pipe.
    std::thread::spawn(move || {
        for l in out.lines().map_while(Result::ok) {
            lines.lock().unwrap().push(l);
        }
    });
    Replica {
        child,
        addr: addr.expect("a listener"),
        stdout,
    }
}

/// The Service's ClientIP affinity: an address's first connection goes to the next replica in
/// turn, its later ones to the same replica. Returns where each client address went.
async fn balancer(backends: Vec<SocketAddr>) -> (SocketAddr, Arc<Mutex<HashMap<IpAddr, usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let affinity = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let chosen = affinity.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, peer)) = listener.accept().await else {
                return;
            };
            let backend = {
                let mut a = chosen.lock().unwrap();
                let next = a.len() % backends.len();
                backends[*a.entry(peer.ip()).or_insert(next)]
            };
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, affinity)
}

/// A connection to `to` from the loopback address `from`, as a client on its own machine.
async fn client_from(from: Ipv4Addr, to: SocketAddr) -> Client {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{to}"))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_| async move {
            let socket = TcpSocket::new_v4()?;
            socket.bind(SocketAddr::new(from.into(), 0))?;
            let stream = socket.connect(to).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }))
        .await
        .expect("connect through the balancer");
    Client::over(channel, Generation::Adapter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_one_address_keep_each_clients_operations_and_events_together() {
    const CLIENTS: u8 = 4;
    const OPERATIONS: usize = 3;
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("replicas").await;
    let work = std::env::temp_dir().join(format!("wasmesh-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let config = work.join("config.yaml");
    // One compile cache for both: the second replica starts from the first one's entries.
    std::fs::write(
        &config,
        format!(
            "listen: 127.0.0.1\ncache_dir: {}\naudit_log: /dev/stdout\nplugins: [{{name: linkerd, builtin: linkerd, port: 0}}]\n",
            work.join("cache").display()
        ),
    )
    .unwrap();
    let replicas = [start_replica(&config), start_replica(&config)];
    let (front, affinity) = balancer(replicas.iter().map(|r| r.addr).collect()).await;

    // Each client subscribes first (its own connection), in turn, so the replicas alternate.
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let from = Ipv4Addr::new(127, 0, 0, 2 + i);
        let events = Events::subscribe(&client_from(from, front).await).await;
        clients.push((from, events));
    }
    let replica_of = |from: Ipv4Addr| affinity.lock().unwrap()[&IpAddr::V4(from)];
    let on: BTreeSet<usize> = clients.iter().map(|(from, _)| replica_of(*from)).collect();
    assert_eq!(on.len(), 2, "the clients are spread over both replicas");

    // Then each runs its operations on a second connection, all clients at once.
    let kubeconfig = cluster.kubeconfig();
    let runs = clients.iter().enumerate().map(|(i, (from, events))| {
        let ns = ns.name();
        async move {
            let mut ops = client_from(*from, front).await;
            let mut ids = Vec::new();
            for n in 0..OPERATIONS {
                let body =
                    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}-{n}\ndata:\n  client: \"{i}\"\n");
                let req = request("custom", ns, &body, &[kubeconfig]);
                ops.apply(req.clone()).await.expect("ApplyOperation");
                // Every operation's outcome reaches its own client's subscription.
                let done = events.outcome(&req.operation_id).await;
                assert_eq!(done.event_type, INFO, "{done:?}");
                ids.push(req.operation_id);
            }
            ids
        }
    });
    let ids: Vec<Vec<String>> = futures::future::join_all(runs).await;

    // Which operations each replica ran, by the clients the balancer sent to it.
    let mut ran: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for ((from, _), ids) in clients.iter().zip(&ids) {
        ran.entry(replica_of(*from)).or_default().extend(ids.iter().cloned());
    }
    for (i, (from, events)) in clients.iter().enumerate() {
        let replica = replica_of(*from);
        // A subscription gets every event of the operations its replica ran, and of no other.
        for id in &ran[&replica] {
            events.outcome(id).await;
        }
        let seen: BTreeSet<String> = events.all().into_iter().map(|e| e.operation_id).collect();
        assert_eq!(seen, ran[&replica], "client {i} on replica {replica}");
        for n in 0..OPERATIONS {
            let cm = configmap(&cluster, ns.name(), &format!("c{i}-{n}")).await;
            assert_eq!(cm.expect("the ConfigMap")["client"], i.to_string());
        }
    }
    // And each replica's audit log (its pod log) records the operations it ran, none other.
    for (r, replica) in replicas.iter().enumerate() {
        let audited = || -> BTreeSet<String> {
            replica
                .stdout
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|d| d["operation_id"].as_str().map(String::from))
                .collect()
        };
        // The lines were written before the outcome was sent; the reader thread may lag.
        let deadline = std::time::Instant::now() + wasmesh_e2e::EVENT_WAIT;
        while !audited().is_superset(&ran[&r]) && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(audited(), ran[&r], "replica {r}'s audit log");
    }
    drop(replicas);
    std::fs::remove_dir_all(&work).unwrap();
}
