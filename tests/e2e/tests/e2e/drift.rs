//! Drift detection on the real gRPC path: a Meshery-like client runs `custom` on a plugin with
//! `drift.watch` on, someone else changes or deletes what it applied through the cluster's API,
//! and every event subscriber gets a WARN naming the object, the field manager and the fields;
//! with `drift.reconcile` the host puts it back, and stops when another tool keeps fighting.
//! Runs on the built-in API server and on the cluster of WASMESH_TEST_KUBECONFIG; the 410 Gone
//! test needs the built-in server's fault injection.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use wasmesh_e2e::meshery::{EventsResponse, Generation, WARN};
use wasmesh_e2e::{Events, TestCluster, client, configmap, init_log, request, run_ok, test_config};
use wasmesh_test_apiserver::Fault;

/// Who changes the objects behind the plugin's back.
const EDITOR: &str = "drift-test-editor";

fn configmaps(ns: &str, names: &[&str]) -> String {
    names
        .iter()
        .map(|n| {
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n  namespace: {ns}\ndata:\n  x: \"1\"\n  y: \"2\"\n")
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// A host whose Linkerd plugin watches for drift (and reconciles, if asked).
async fn host(reconcile: bool, max_objects: Option<usize>) -> wasmesh::RunningHost {
    init_log();
    let mut config = test_config();
    let linkerd = config.plugins.iter_mut().find(|p| p.name == "linkerd").unwrap();
    linkerd.drift = wasmesh::config::DriftConfig { watch: true, reconcile };
    if let Some(n) = max_objects {
        config.limits.drift_max_objects = n;
    }
    wasmesh::start(config).await.expect("host starts")
}

/// Changes `.data.x` of a ConfigMap as `kubectl edit` would: an Update by another manager.
async fn edit(api: &Api<ConfigMap>, name: &str, value: &str) {
    let params = PatchParams {
        field_manager: Some(EDITOR.into()),
        ..PatchParams::default()
    };
    api.patch(name, &params, &Patch::Merge(serde_json::json!({"data": {"x": value}})))
        .await
        .expect("edit");
}

/// Meshery's undo of `req`: the same operation with delete_op set, under a new operation id.
fn undo_of(req: &wasmesh_e2e::meshery::ApplyRuleRequest) -> wasmesh_e2e::meshery::ApplyRuleRequest {
    let mut undo = req.clone().deleting(true);
    undo.operation_id = uuid::Uuid::new_v4().to_string();
    undo
}

fn object(name: &str, ns: &str) -> String {
    format!("ConfigMap \"{name}\" in namespace \"{ns}\"")
}

fn is_drift(e: &EventsResponse, code: &str, name: &str, ns: &str) -> bool {
    e.event_type == WARN && e.error_code == code && e.summary.contains(&object(name, ns))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_deletions_by_others_reach_every_subscriber_and_undo_stops_watching() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("drift-watch").await;
    let ns = ns.name();
    let host = host(false, None).await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let other = Events::subscribe(&client(&host, "LINKERD", Generation::Mesh).await).await;
    let body = configmaps(ns, &["drift-a", "drift-b"]);
    let applied = request("custom", ns, &body, &[cluster.kubeconfig()]);
    run_ok(&mut c, &events, applied.clone()).await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client().await, ns);

    // A label someone adds beside the plugin's fields is not drift; the edit of a field the
    // plugin set is. The watch reports them in order, so no WARN about the label can come after.
    let label = PatchParams {
        field_manager: Some("drift-test-labeller".into()),
        ..PatchParams::default()
    };
    api.patch(
        "drift-a",
        &label,
        &Patch::Merge(serde_json::json!({"metadata": {"labels": {"team": "web"}}})),
    )
    .await
    .unwrap();
    edit(&api, "drift-a", "changed").await;
    for subscriber in [&events, &other] {
        let warn = subscriber
            .wait_for("the drift WARN of drift-a", |e| {
                is_drift(e, wasmesh::drift::DRIFTED, "drift-a", ns)
            })
            .await;
        assert!(warn.summary.contains(EDITOR), "names who changed it: {}", warn.summary);
        assert!(warn.summary.contains(".data.x"), "names the field: {}", warn.summary);
        assert!(!warn.summary.contains(".data.y"), "only what changed: {}", warn.summary);
        assert!(
            warn.summary.contains("what to do: run operation \"custom\" again"),
            "{}",
            warn.summary
        );
        assert_eq!(warn.operation_id, applied.operation_id);
        assert!(warn.details.starts_with("cluster \""), "{}", warn.details);
    }
    let drifts: Vec<_> = events
        .all()
        .into_iter()
        .filter(|e| e.error_code == wasmesh::drift::DRIFTED)
        .collect();
    assert_eq!(drifts.len(), 1, "the label is not drift: {drifts:#?}");

    api.delete("drift-b", &DeleteParams::default()).await.unwrap();
    let gone = events
        .wait_for("the deletion WARN of drift-b", |e| {
            is_drift(e, wasmesh::drift::DELETED, "drift-b", ns)
        })
        .await;
    assert!(gone.summary.contains("was deleted"), "{}", gone.summary);
    let drift = host
        .adapters
        .iter()
        .find(|a| a.name == "linkerd")
        .unwrap()
        .drift
        .clone()
        .unwrap();
    assert_eq!(
        drift.counts(),
        (1, 2),
        "one watch (ConfigMaps in the namespace) for both objects"
    );

    // Undo: the plugin's own deletes are not drift, and nothing is watched any more.
    run_ok(&mut c, &events, undo_of(&applied)).await;
    assert!(configmap(&cluster, ns, "drift-a").await.is_none());
    assert_eq!(drift.counts(), (0, 0), "undo stops the watch");
    let deleted_a = events
        .all()
        .into_iter()
        .filter(|e| is_drift(e, wasmesh::drift::DELETED, "drift-a", ns))
        .count();
    assert_eq!(deleted_a, 0, "the undo's own delete is not reported as drift");
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_restores_what_others_change_or_delete_and_backs_off_from_a_fight() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("drift-fix").await;
    let ns = ns.name();
    let host = host(true, None).await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let applied = request("custom", ns, &configmaps(ns, &["drift-r"]), &[cluster.kubeconfig()]);
    run_ok(&mut c, &events, applied.clone()).await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client().await, ns);
    let count_reapplied = |events: &Events| {
        events
            .all()
            .iter()
            .filter(|e| e.summary.starts_with("drift: re-applied operation \"custom\""))
            .count()
    };

    // Changed: reported, then put back.
    edit(&api, "drift-r", "changed").await;
    let warn = events
        .wait_for("the drift WARN", |e| {
            is_drift(e, wasmesh::drift::DRIFTED, "drift-r", ns)
        })
        .await;
    assert!(warn.summary.contains("drift.reconcile re-applies"), "{}", warn.summary);
    events
        .wait_for("the first re-apply", |_| count_reapplied(&events) >= 1)
        .await;
    assert_eq!(configmap(&cluster, ns, "drift-r").await.unwrap()["x"], "1", "restored");

    // Deleted: reported, then created again.
    api.delete("drift-r", &DeleteParams::default()).await.unwrap();
    events
        .wait_for("the deletion WARN", |e| {
            is_drift(e, wasmesh::drift::DELETED, "drift-r", ns)
        })
        .await;
    events
        .wait_for("the second re-apply", |_| count_reapplied(&events) >= 2)
        .await;
    assert_eq!(
        configmap(&cluster, ns, "drift-r").await.unwrap()["x"],
        "1",
        "re-created"
    );

    // Another tool keeps changing it: the third re-apply is the last in the window, then the
    // host says it stops fighting and leaves the other tool's value.
    edit(&api, "drift-r", "fight-3").await;
    events
        .wait_for("the third re-apply", |_| count_reapplied(&events) >= 3)
        .await;
    edit(&api, "drift-r", "fight-4").await;
    let paused = events
        .wait_for("the pause WARN", |e| e.error_code == wasmesh::drift::RECONCILE_PAUSED)
        .await;
    assert_eq!(paused.event_type, WARN);
    assert!(
        paused.summary.contains("not re-applying it again"),
        "{}",
        paused.summary
    );
    assert_eq!(count_reapplied(&events), 3, "bounded: no fourth re-apply");
    assert_eq!(configmap(&cluster, ns, "drift-r").await.unwrap()["x"], "fight-4");

    run_ok(&mut c, &events, undo_of(&applied)).await;
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_list_again_after_410_gone_and_see_what_changed_meanwhile() {
    // Needs the built-in server: it ends the watches and answers the resumed ones 410 Gone.
    let cluster = TestCluster::built_in();
    let server = cluster.server().unwrap();
    let ns = cluster.namespace("drift-gone").await;
    let ns = ns.name();
    let host = host(false, None).await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let applied = request(
        "custom",
        ns,
        &configmaps(ns, &["drift-a", "drift-b"]),
        &[cluster.kubeconfig()],
    );
    run_ok(&mut c, &events, applied).await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client().await, ns);

    // The API server goes away: the watch ends, and reads fail until it is back...
    let path = format!("/api/v1/namespaces/{ns}/configmaps");
    let down = server.inject(Fault::on("GET", &path).always().status(503));
    server.clear_requests();
    server.expire_watches();
    // ...while someone changes one object and deletes the other.
    edit(&api, "drift-a", "while-down").await;
    api.delete("drift-b", &DeleteParams::default()).await.unwrap();
    // Wait until the host has tried to watch again and been refused, then bring it back.
    tokio::time::timeout(wasmesh_e2e::EVENT_WAIT, async {
        while server.hits(down) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the host tries to watch again");
    server.clear_faults();
    events
        .wait_for("the drift WARN seen by the new list", |e| {
            is_drift(e, wasmesh::drift::DRIFTED, "drift-a", ns) && e.summary.contains(".data.x")
        })
        .await;
    events
        .wait_for("the deletion found by the new list", |e| {
            is_drift(e, wasmesh::drift::DELETED, "drift-b", ns)
        })
        .await;
    // The resumed watch was answered 410 Gone, so the host listed again.
    let listed = server
        .requests()
        .into_iter()
        .any(|r| r.method == "GET" && r.path == path && !r.query.contains("watch=true") && r.status == 200);
    assert!(listed, "a new list after 410 Gone: {:#?}", server.requests());
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_over_the_limit_are_not_watched_and_a_warn_says_so() {
    let cluster = TestCluster::start().await;
    let ns = cluster.namespace("drift-limit").await;
    let ns = ns.name();
    let host = host(false, Some(1)).await;
    let mut c = client(&host, "LINKERD", Generation::Adapter).await;
    let events = Events::subscribe(&c).await;
    let applied = request(
        "custom",
        ns,
        &configmaps(ns, &["drift-a", "drift-b"]),
        &[cluster.kubeconfig()],
    );
    run_ok(&mut c, &events, applied.clone()).await;
    let warn = events
        .wait_for("the limit WARN", |e| e.error_code == wasmesh::drift::NOT_WATCHED)
        .await;
    assert_eq!(warn.event_type, WARN);
    assert!(
        warn.summary
            .contains("1 object(s): the plugin already watches its limit of 1 objects (limits.drift_max_objects)"),
        "{}",
        warn.summary
    );
    let drift = host
        .adapters
        .iter()
        .find(|a| a.name == "linkerd")
        .unwrap()
        .drift
        .clone()
        .unwrap();
    assert_eq!(drift.counts(), (1, 1));
    run_ok(&mut c, &events, undo_of(&applied)).await;
    assert_eq!(drift.counts(), (0, 0));
    host.shutdown().await;
}
