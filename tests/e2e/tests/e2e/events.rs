//! StreamEvents: every subscriber gets every event; events emitted while nobody listens are
//! kept and go to the next subscriber.

use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{Events, TestCluster, client, request, start_host};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_before_any_subscriber_reach_the_first_one() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("backlog").await;
    let host = start_host().await;
    let mut c = client(&host, "LINKERD", Generation::Mesh).await;

    // Nobody is subscribed yet.
    let refused = request("no-such-op", ns.name(), "", &[cluster.kubeconfig()]);
    c.apply(refused.clone()).await.unwrap_err();
    let body = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: early\n";
    let applied = request("custom", ns.name(), body, &[cluster.kubeconfig()]);
    c.apply(applied.clone()).await.unwrap();
    // Let the operation finish while nobody listens: both events wait in the backlog.
    let hub = &host.adapters.iter().find(|a| a.name == "linkerd").unwrap().events;
    for _ in 0..600 {
        if hub.pending() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(hub.pending(), 2, "both events are kept for the first subscriber");

    let first = Events::subscribe(&c).await;
    assert_eq!(first.outcome(&refused.operation_id).await.event_type, ERROR);
    assert_eq!(first.outcome(&applied.operation_id).await.event_type, INFO);
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_subscribers_both_receive_every_event() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("fanout").await;
    let host = start_host().await;
    let mut c = client(&host, "ISTIO", Generation::Adapter).await;
    let a = Events::subscribe(&c).await;
    let b = Events::subscribe(&client(&host, "ISTIO", Generation::Mesh).await).await;

    let mut ops = Vec::new();
    for i in 0..5 {
        let body = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fan-{i}\n");
        let req = request("custom", ns.name(), &body, &[cluster.kubeconfig()]);
        c.apply(req.clone()).await.unwrap();
        ops.push(req.operation_id);
    }
    let bad = request("no-such-op", ns.name(), "", &[cluster.kubeconfig()]);
    c.apply(bad.clone()).await.unwrap_err();
    ops.push(bad.operation_id);
    for op in &ops {
        let ea = a.outcome(op).await;
        let eb = b.outcome(op).await;
        assert_eq!(ea, eb, "both subscribers see the same event");
    }
    let mine = |e: &Events| e.all().into_iter().filter(|x| ops.contains(&x.operation_id)).count();
    assert_eq!(mine(&a), mine(&b));
    assert_eq!(mine(&a), ops.len(), "one event per operation, no duplicates");
    host.shutdown().await;
}
