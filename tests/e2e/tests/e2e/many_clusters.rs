//! One operation on ten clusters: each cluster is worked on at once and reported on its own as it
//! finishes, so a slow or dead cluster delays only its own event and the total.
//!
//! Ten clusters with their own faults exist only as built-in API servers, so this test always
//! uses them, also when WASMESH_TEST_KUBECONFIG names a real cluster.

use std::time::Duration;

use wasmesh_e2e::meshery::{ERROR, Generation, INFO};
use wasmesh_e2e::{Events, client, request, start_host};
use wasmesh_test_apiserver::ApiServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_and_a_dead_cluster_hold_back_none_of_the_other_eight() {
    let servers: Vec<ApiServer> = (0..9).map(|_| ApiServer::start()).collect();
    // Every response of the slow one takes a second: its discovery and two applies take several.
    let slow = &servers[0];
    slow.set_delay(Duration::from_secs(1));
    // A server that has gone: its port refuses connections.
    let dead = ApiServer::start();
    let dead_kubeconfig = dead.kubeconfig().to_string();
    let dead_url = dead.url();
    drop(dead);

    // The slow and the dead cluster come first: worked on one after the other, they would hold
    // the rest back.
    let mut kubeconfigs: Vec<&str> = vec![slow.kubeconfig(), &dead_kubeconfig];
    kubeconfigs.extend(servers[1..].iter().map(|s| s.kubeconfig()));
    let host = start_host().await;
    let mut c = client(&host, "ISTIO", Generation::Mesh).await;
    let events = Events::subscribe(&c).await;
    let ns = "fan-out";
    let body = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: everywhere\n  namespace: {ns}\n"
    );
    let req = request("custom", ns, &body, &kubeconfigs);
    c.apply(req.clone()).await.unwrap();
    let total = events
        .wait_for("the total over ten clusters", |e| {
            e.operation_id == req.operation_id && e.summary.contains(" clusters")
        })
        .await;
    assert_eq!(total.event_type, ERROR, "{total:#?}");
    assert_eq!(total.summary, "custom failed on 1 of 10 clusters");
    let failed = total.details.lines().find(|l| l.starts_with("failed: ")).unwrap();
    assert!(
        failed.contains(&dead_url),
        "the total names the dead server: {}",
        total.details
    );

    // One event per cluster, each naming its server; the eight fast ones come before the slow one.
    let mine = events.for_op(&req.operation_id);
    let position = |url: &str| {
        let at: Vec<usize> = (0..mine.len())
            .filter(|&i| mine[i].details.lines().next() == Some(&format!("cluster \"wasmesh-test\" ({url})")))
            .collect();
        assert_eq!(at.len(), 1, "one event for {url}: {mine:#?}");
        at[0]
    };
    let slow_at = position(&slow.url());
    assert_eq!(mine[slow_at].event_type, INFO, "{:#?}", mine[slow_at]);
    let dead_at = position(&dead_url);
    assert_eq!(mine[dead_at].event_type, ERROR, "{:#?}", mine[dead_at]);
    for s in &servers[1..] {
        let at = position(&s.url());
        assert_eq!(mine[at].event_type, INFO, "{:#?}", mine[at]);
        assert!(
            at < slow_at,
            "{} was reported after the slow cluster: {mine:#?}",
            s.url()
        );
    }

    // Every live cluster has the objects.
    for s in &servers {
        let client = wasmesh_test_apiserver::client_from_kubeconfig(s.kubeconfig()).await;
        let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(client, ns);
        assert!(api.get_opt("everywhere").await.unwrap().is_some(), "{}", s.url());
    }
    host.shutdown().await;
}
