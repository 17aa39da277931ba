//! REST semantics over real HTTPS with kube-rs: discovery, CRUD, selectors, patches, server-side
//! apply, watches, errors, namespace cascade (through Terminating), CRDs, status subresource, simulated controllers.

mod common;

use common::*;
use futures::{StreamExt, TryStreamExt};
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Discovery, Scope};
use serde_json::{Value, json};
use wasmesh_test_apiserver::ApiServer;

#[tokio::test]
async fn discovery_lists_builtin_groups_and_resources() {
    let server = ApiServer::start();
    let client = server.client().await;
    let (code, version) = get(&client, "/version").await;
    assert_eq!(code, 200);
    assert_eq!(version["major"], "1");

    let d = Discovery::new(client.clone()).run().await.unwrap();
    for (group, kind) in [
        ("", "ConfigMap"),
        ("apps", "Deployment"),
        ("batch", "Job"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        ("policy", "PodDisruptionBudget"),
        ("networking.k8s.io", "NetworkPolicy"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
    ] {
        let (ar, caps) = d
            .resolve_gvk(&GroupVersionKind::gvk(group, "v1", kind))
            .unwrap_or_else(|| panic!("{group}/{kind} not discovered"));
        assert_eq!(ar.kind, kind);
        if kind == "ClusterRoleBinding" || kind == "APIService" {
            assert_eq!(caps.scope, Scope::Cluster);
        }
    }
    let (ar, caps) = discovery::pinned_kind(&client, &GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .await
        .unwrap();
    assert_eq!(ar.plural, "deployments");
    assert_eq!(caps.scope, Scope::Namespaced);
    assert!(caps.subresources.iter().any(|(sub, _)| sub.plural == "status"));

    let (_, apps) = get(&client, "/apis/apps/v1").await;
    let deploy = apps["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments")
        .unwrap();
    assert_eq!(deploy["singularName"], "deployment");
    assert_eq!(deploy["shortNames"], json!(["deploy"]));
    let (_, core) = get(&client, "/api/v1").await;
    let pods = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "pods")
        .unwrap();
    assert!(pods["verbs"].as_array().unwrap().contains(&json!("create")), "{pods}");
    assert_eq!(pods["shortNames"], json!(["po"]));
    assert_eq!(get(&client, "/apis/nope.example.com/v1").await.0, 404);
}

#[tokio::test]
async fn crud_round_trip_sets_server_metadata() {
    let server = ApiServer::start();
    let client = server.client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &configmaps());
    let created = api
        .create(&PostParams::default(), &configmap("one", json!({}), json!({"k": "v"})))
        .await
        .unwrap();
    let rv1: u64 = created.metadata.resource_version.clone().unwrap().parse().unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(created.metadata.namespace.as_deref(), Some("default"));

    let mut fetched = api.get("one").await.unwrap();
    assert_eq!(fetched.data["data"]["k"], "v");
    fetched.data["data"]["k"] = json!("v2");
    let replaced = api.replace("one", &PostParams::default(), &fetched).await.unwrap();
    let rv2: u64 = replaced.metadata.resource_version.clone().unwrap().parse().unwrap();
    assert!(rv2 > rv1, "resourceVersion must increase: {rv1} -> {rv2}");
    assert_eq!(
        replaced.metadata.generation,
        Some(2),
        "data changed, so generation is bumped"
    );
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    let err = status(
        api.create(&PostParams::default(), &configmap("one", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(err.message, "configmaps \"one\" already exists");

    let all: Api<DynamicObject> = Api::all_with(client.clone(), &configmaps());
    assert_eq!(all.list(&ListParams::default()).await.unwrap().items.len(), 1);
    api.delete("one", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("one").await.unwrap().is_none());
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors() {
    let server = ApiServer::start();
    let client = server.client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &configmaps());
    for (name, labels) in [
        ("a", json!({"app": "web", "tier": "front"})),
        ("b", json!({"app": "db", "tier": "back"})),
        ("c", json!({"app": "cache"})),
    ] {
        api.create(&PostParams::default(), &configmap(name, labels, json!({})))
            .await
            .unwrap();
    }
    let names = |sel: &'static str, field: bool| {
        let api = api.clone();
        async move {
            let lp = if field {
                ListParams::default().fields(sel)
            } else {
                ListParams::default().labels(sel)
            };
            let mut n: Vec<String> = api
                .list(&lp)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|o| o.metadata.name.unwrap())
                .collect();
            n.sort();
            n
        }
    };
    assert_eq!(names("app=web", false).await, ["a"]);
    assert_eq!(names("app==db", false).await, ["b"]);
    assert_eq!(names("app!=web", false).await, ["b", "c"]);
    assert_eq!(names("app in (web,cache)", false).await, ["a", "c"]);
    assert_eq!(names("app notin (web,cache)", false).await, ["b"]);
    assert_eq!(names("tier", false).await, ["a", "b"]);
    assert_eq!(names("!tier", false).await, ["c"]);
    assert_eq!(names("tier,app!=db", false).await, ["a"]);
    assert_eq!(names("metadata.name=b", true).await, ["b"]);
    assert_eq!(names("metadata.name!=b", true).await, ["a", "c"]);
    assert_eq!(names("metadata.namespace=default", true).await.len(), 3);
}

#[tokio::test]
async fn merge_json_and_strategic_patches() {
    let server = ApiServer::start();
    let client = server.client().await;
    let cms: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &configmaps());
    cms.create(
        &PostParams::default(),
        &configmap("p", json!({"a": "1"}), json!({"x": "1", "y": "2"})),
    )
    .await
    .unwrap();
    let merged = cms
        .patch(
            "p",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"x": null, "z": "3"}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.data["data"], json!({"y": "2", "z": "3"}));

    let ops = json!([{"op": "replace", "path": "/data/y", "value": "22"}, {"op": "add", "path": "/metadata/labels/b", "value": "2"}]);
    let (code, patched) = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        "application/json-patch+json",
        &ops.to_string(),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(patched["data"]["y"], "22");
    assert_eq!(patched["metadata"]["labels"]["b"], "2");
    let failing = json!([{"op": "test", "path": "/data/y", "value": "nope"}]);
    let (code, _) = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        "application/json-patch+json",
        &failing.to_string(),
    )
    .await;
    assert_eq!(code, 422, "a failed JSON patch test operation is rejected");

    let deployments: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &resource("apps", "v1", "Deployment", "deployments"),
    );
    let deploy: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
            {"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "proxy:1"}]}}},
    })).unwrap();
    deployments.create(&PostParams::default(), &deploy).await.unwrap();
    let sp = deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(
                json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "app:2"}]}}}}),
            ),
        )
        .await
        .unwrap();
    let containers = &sp.data["spec"]["template"]["spec"]["containers"];
    assert_eq!(
        containers,
        &json!([{"name": "app", "image": "app:2"}, {"name": "sidecar", "image": "proxy:1"}]),
        "strategic merge keeps the other container"
    );
    assert_eq!(sp.metadata.generation, Some(2));

    let (code, body) = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/p",
        "text/plain",
        "{}",
    )
    .await;
    assert_eq!(code, 415);
    assert_eq!(body["reason"], "UnsupportedMediaType");
}

#[tokio::test]
async fn server_side_apply_creates_updates_conflicts_and_forces() {
    let server = ApiServer::start();
    let client = server.client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &configmaps());
    let applied = |data: Value| configmap("ssa", json!({}), data);

    let created = api
        .patch(
            "ssa",
            &PatchParams::apply("alice"),
            &Patch::Apply(applied(json!({"shared": "a", "mine": "1"}))),
        )
        .await
        .unwrap();
    assert_eq!(created.data["data"], json!({"shared": "a", "mine": "1"}));
    assert!(created.metadata.uid.is_some(), "apply creates the object");

    // bob sets a value alice owns to something else: conflict with the real message.
    let err = status(
        api.patch(
            "ssa",
            &PatchParams::apply("bob"),
            &Patch::Apply(applied(json!({"shared": "b"}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"alice\": .data.shared"
    );
    // bob may co-own a field with the same value, and own new fields.
    api.patch(
        "ssa",
        &PatchParams::apply("bob"),
        &Patch::Apply(applied(json!({"shared": "a", "bobs": "x"}))),
    )
    .await
    .unwrap();
    // force takes the field over.
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(applied(json!({"shared": "b", "bobs": "x"}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["data"], json!({"shared": "b", "mine": "1", "bobs": "x"}));

    let managed = forced.metadata.managed_fields.clone().unwrap();
    let managers: Vec<&str> = managed.iter().map(|m| m.manager.as_deref().unwrap()).collect();
    assert_eq!(managers, ["alice", "bob"], "one entry per manager");
    for m in &managed {
        assert_eq!(m.operation.as_deref(), Some("Apply"));
        assert_eq!(m.fields_type.as_deref(), Some("FieldsV1"));
        assert_eq!(m.api_version.as_deref(), Some("v1"));
    }
    let alice = serde_json::to_value(&managed[0].fields_v1).unwrap();
    assert_eq!(
        alice,
        json!({"f:data": {"f:mine": {}}}),
        "alice lost .data.shared to the forced apply"
    );
    let bob = serde_json::to_value(&managed[1].fields_v1).unwrap();
    assert_eq!(bob, json!({"f:data": {"f:shared": {}, "f:bobs": {}}}));

    // A field alice stops applying is removed.
    let pruned = api
        .patch("ssa", &PatchParams::apply("alice"), &Patch::Apply(applied(json!({}))))
        .await
        .unwrap();
    assert_eq!(pruned.data["data"], json!({"shared": "b", "bobs": "x"}));

    // fieldManager is required.
    let (code, body) = raw(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/ssa",
        "application/apply-patch+yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n",
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (400, Some("BadRequest")));
}

#[tokio::test]
async fn dry_run_returns_the_result_but_stores_nothing() {
    let server = ApiServer::start();
    let client = server.client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &configmaps());
    let pp = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let result = api
        .create(&pp, &configmap("dry", json!({}), json!({"a": "1"})))
        .await
        .unwrap();
    assert_eq!(result.data["data"]["a"], "1");
    assert!(api.get_opt("dry").await.unwrap().is_none());

    let applied = api
        .patch(
            "dry",
            &PatchParams::apply("m").dry_run(),
            &Patch::Apply(configmap("dry", json!({}), json!({"a": "2"}))),
        )
        .await
        .unwrap();
    assert_eq!(applied.data["data"]["a"], "2");
    assert!(api.get_opt("dry").await.unwrap().is_none());

    api.create(&PostParams::default(), &configmap("dry", json!({}), json!({"a": "1"})))
        .await
        .unwrap();
    api.patch(
        "dry",
        &PatchParams::default().dry_run(),
        &Patch::Merge(json!({"data": {"a": "3"}})),
    )
    .await
    .unwrap();
    api.delete(
        "dry",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(api.get("dry").await.unwrap().data["data"]["a"], "1");
}

#[tokio::test]
async fn watch_reports_added_modified_deleted() {
    let server = ApiServer::start();
    let client = server.client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &configmaps());
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let stream = api.watch(&WatchParams::default().timeout(60), &rv).await.unwrap();
    api.create(&PostParams::default(), &configmap("w", json!({}), json!({"a": "1"})))
        .await
        .unwrap();
    api.patch("w", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "2"}})))
        .await
        .unwrap();
    api.delete("w", &DeleteParams::default()).await.unwrap();
    let events: Vec<WatchEvent<DynamicObject>> = stream.take(3).try_collect().await.unwrap();
    let kinds: Vec<String> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(o) => format!("ADDED {}", o.data["data"]["a"].as_str().unwrap()),
            WatchEvent::Modified(o) => {
                format!("MODIFIED {}", o.data["data"]["a"].as_str().unwrap())
            }
            WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.clone().unwrap()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["ADDED 1", "MODIFIED 2", "DELETED w"]);

    // kube-runtime's watcher (list + watch) sees objects too.
    let seen = kube::runtime::watcher(
        api.clone(),
        kube::runtime::watcher::Config::default().fields("metadata.name=later"),
    );
    let mut objects = std::pin::pin!(kube::runtime::WatchStreamExt::applied_objects(seen));
    api.create(&PostParams::default(), &configmap("later", json!({}), json!({})))
        .await
        .unwrap();
    let first = objects.try_next().await.unwrap().unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("later"));
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict() {
    let server = ApiServer::start();
    let client = server.client().await;
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &configmaps());
    let original = api
        .create(&PostParams::default(), &configmap("x", json!({}), json!({"a": "1"})))
        .await
        .unwrap();
    api.patch("x", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "2"}})))
        .await
        .unwrap();
    let mut stale = original.clone();
    stale.data["data"]["a"] = json!("3");
    let err = status(api.replace("x", &PostParams::default(), &stale).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        err.message,
        "Operation cannot be fulfilled on configmaps \"x\": the object has been modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(api.get("x").await.unwrap().data["data"]["a"], "2");
}

#[tokio::test]
async fn invalid_objects_are_422_and_bad_bodies_400() {
    let server = ApiServer::start();
    let client = server.client().await;
    let path = "/api/v1/namespaces/default/configmaps";
    let (code, body) = raw(
        &client,
        "POST",
        path,
        "application/json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#,
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(body["reason"], "Invalid");
    assert_eq!(
        body["message"],
        "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required"
    );
    assert_eq!(body["details"]["causes"][0]["field"], "metadata.name");

    let (code, body) = raw(
        &client,
        "POST",
        path,
        "application/json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#,
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
    assert!(body["message"].as_str().unwrap().starts_with(
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"
    ));

    let (code, body) = raw(
        &client,
        "POST",
        path,
        "application/json",
        r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"}}"#,
    )
    .await;
    assert_eq!((code, body["reason"].as_str()), (422, Some("Invalid")));
    let (code, _) = raw(
        &client,
        "POST",
        path,
        "application/json",
        r#"{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"s"}}"#,
    )
    .await;
    assert_eq!(code, 422);

    let (code, body) = raw(&client, "POST", path, "application/json", "{not json").await;
    assert_eq!(
        (code, body["reason"].as_str(), body["kind"].as_str()),
        (400, Some("BadRequest"), Some("Status"))
    );
    let (code, _) = raw(
        &client,
        "POST",
        path,
        "application/json",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"n","namespace":"other"}}"#,
    )
    .await;
    assert_eq!(code, 400, "the body's namespace must match the URL");
}

#[tokio::test]
async fn crds_need_one_storage_version_and_protected_groups_their_approval() {
    let server = ApiServer::start();
    let client = server.client().await;
    let path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    let crd = |group: &str, storage: &[bool], annotations: Value| {
        let versions: Vec<Value> = storage
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({"name": format!("v{}", i + 1), "served": true, "storage": s,
                "schema": {"openAPIV3Schema": {"type": "object"}}})
            })
            .collect();
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": format!("things.{group}"), "annotations": annotations},
            "spec": {"group": group, "scope": "Namespaced", "versions": versions,
                "names": {"plural": "things", "singular": "thing", "kind": "Thing"}}})
        .to_string()
    };
    let cases = [
        (
            crd("gateway.networking.k8s.io", &[true], json!({})),
            422,
            "api-approved.kubernetes.io",
        ),
        (crd("x.kubernetes.io", &[true], json!({})), 422, "protected groups"),
        (
            crd("example.com", &[false, false], json!({})),
            422,
            "exactly one version marked as storage",
        ),
        (
            crd("example.org", &[true, true], json!({})),
            422,
            "exactly one version marked as storage",
        ),
        (
            crd(
                "gateway.networking.k8s.io",
                &[true],
                json!({"api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/1923"}),
            ),
            201,
            "",
        ),
        (crd("example.net", &[false, true], json!({})), 201, ""),
    ];
    for (body, want, says) in cases {
        let (code, status) = raw(&client, "POST", path, "application/json", &body).await;
        assert_eq!(code, want, "{body}: {status}");
        if want == 422 {
            assert_eq!(status["reason"], "Invalid");
            assert!(status["message"].as_str().unwrap().contains(says), "{status}");
        }
    }
}

#[tokio::test]
async fn not_found_errors_have_the_real_status_bodies() {
    let server = ApiServer::start();
    let client = server.client().await;
    let (code, body) = get(&client, "/api/v1/namespaces/default/configmaps/x").await;
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"configmaps"},"code":404})
    );
    let (code, body) = get(&client, "/apis/apps/v1/namespaces/default/deployments/web").await;
    assert_eq!(code, 404);
    assert_eq!(body["message"], "deployments.apps \"web\" not found");
    assert_eq!(body["details"]["group"], "apps");

    let (code, body) = get(&client, "/apis/example.com/v1/namespaces/default/widgets").await;
    assert_eq!(code, 404);
    assert_eq!(body["reason"], "NotFound");
    assert_eq!(body["message"], "the server could not find the requested resource");

    // Creating in a namespace that does not exist.
    let api: Api<DynamicObject> = Api::namespaced_with(client, "missing", &configmaps());
    let err = status(
        api.create(&PostParams::default(), &configmap("c", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (err.code, err.reason.as_str(), err.message.as_str()),
        (404, "NotFound", "namespaces \"missing\" not found")
    );
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_objects() {
    let server = ApiServer::start();
    let client = server.client().await;
    let namespaces: Api<DynamicObject> = Api::all_with(client.clone(), &resource("", "v1", "Namespace", "namespaces"));
    for ns in ["default", "kube-system", "kube-public"] {
        assert!(namespaces.get_opt(ns).await.unwrap().is_some(), "{ns} exists at start");
    }
    let ns: DynamicObject =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}}))
            .unwrap();
    let created = namespaces.create(&PostParams::default(), &ns).await.unwrap();
    assert_eq!(created.data["status"]["phase"], "Active");
    let cms: Api<DynamicObject> = Api::namespaced_with(client.clone(), "doomed", &configmaps());
    cms.create(&PostParams::default(), &configmap("inside", json!({}), json!({})))
        .await
        .unwrap();
    Api::<DynamicObject>::namespaced_with(client.clone(), "default", &configmaps())
        .create(&PostParams::default(), &configmap("outside", json!({}), json!({})))
        .await
        .unwrap();
    namespaces.delete("doomed", &DeleteParams::default()).await.unwrap();
    // Terminating until the namespace controller has emptied it (tests/lifecycle.rs has the rest).
    let terminating = namespaces.get("doomed").await.unwrap();
    assert_eq!(terminating.data["status"]["phase"], "Terminating");
    for _ in 0..300 {
        if namespaces.get_opt("doomed").await.unwrap().is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(namespaces.get_opt("doomed").await.unwrap().is_none());
    let all: Api<DynamicObject> = Api::all_with(client, &configmaps());
    let left: Vec<String> = all
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.metadata.name.unwrap())
        .collect();
    assert_eq!(left, ["outside"]);
}

#[tokio::test]
async fn crd_apply_serves_the_kind_until_deleted() {
    let server = ApiServer::start();
    let client = server.client().await;
    let crds: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &resource(
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            "customresourcedefinitions",
        ),
    );
    let crd: DynamicObject = serde_yaml::from_str(&crd_yaml("example.com", "Widget", "widgets")).unwrap();
    let applied = crds
        .patch("widgets.example.com", &PatchParams::apply("test"), &Patch::Apply(&crd))
        .await
        .unwrap();
    let conditions: Vec<(String, String)> = applied.data["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["type"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(conditions.contains(&("Established".into(), "True".into())));
    assert!(conditions.contains(&("NamesAccepted".into(), "True".into())));

    let gvk = GroupVersionKind::gvk("example.com", "v1alpha1", "Widget");
    let (ar, caps) = discovery::pinned_kind(&client, &gvk).await.unwrap();
    assert_eq!((ar.plural.as_str(), caps.scope.clone()), ("widgets", Scope::Namespaced));
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "example.com/v1alpha1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3},
    }))
    .unwrap();
    let w = widgets
        .patch("w1", &PatchParams::apply("test"), &Patch::Apply(&widget))
        .await
        .unwrap();
    assert_eq!(w.data["spec"]["size"], 3);
    // The status subresource: main writes leave status alone, status writes leave spec alone.
    widgets
        .patch_status(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": true}, "spec": {"size": 9}})),
        )
        .await
        .unwrap();
    let w = widgets.get_status("w1").await.unwrap();
    assert_eq!(
        (w.data["status"]["ready"].clone(), w.data["spec"]["size"].clone()),
        (json!(true), json!(3))
    );
    widgets
        .patch(
            "w1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"ready": false}})),
        )
        .await
        .unwrap();
    assert_eq!(widgets.get("w1").await.unwrap().data["status"]["ready"], true);

    crds.delete("widgets.example.com", &DeleteParams::default())
        .await
        .unwrap();
    let (code, body) = get(&client, "/apis/example.com/v1alpha1/namespaces/default/widgets/w1").await;
    assert_eq!(
        (code, body["message"].as_str()),
        (404, Some("the server could not find the requested resource"))
    );
    assert!(discovery::pinned_kind(&client, &gvk).await.is_err());
    // Re-creating the CRD does not bring the old objects back.
    crds.patch("widgets.example.com", &PatchParams::apply("test"), &Patch::Apply(&crd))
        .await
        .unwrap();
    assert!(widgets.get_opt("w1").await.unwrap().is_none());
}

#[tokio::test]
async fn deployments_become_available_unless_switched_off() {
    let server = ApiServer::start();
    let client = server.client().await;
    let deployments: Api<DynamicObject> =
        Api::namespaced_with(client, "default", &resource("apps", "v1", "Deployment", "deployments"));
    let deploy = |name: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}},
        }))
        .unwrap()
    };
    let ready = deployments
        .create(&PostParams::default(), &deploy("ready"))
        .await
        .unwrap();
    let st = &ready.data["status"];
    assert_eq!(
        (
            st["replicas"].clone(),
            st["readyReplicas"].clone(),
            st["availableReplicas"].clone(),
            st["updatedReplicas"].clone()
        ),
        (json!(2), json!(2), json!(2), json!(2))
    );
    assert_eq!(st["observedGeneration"], 1);
    assert!(
        st["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    );

    server.set_deployments_become_available(false);
    let stuck = deployments
        .create(&PostParams::default(), &deploy("stuck"))
        .await
        .unwrap();
    assert!(stuck.data["status"].get("availableReplicas").is_none());
    assert!(
        deployments.get("stuck").await.unwrap().data["status"]
            .get("availableReplicas")
            .is_none()
    );
}
