//! Authentication, RBAC, impersonation, access reviews and the request log.

mod common;

use common::*;
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use serde_json::json;
use wasmesh_test_apiserver::ApiServer;

async fn admin_create(server: &ApiServer, ar: &kube::api::ApiResource, ns: Option<&str>, obj: serde_json::Value) {
    let client = server.client().await;
    let api: Api<DynamicObject> = match ns {
        Some(ns) => Api::namespaced_with(client, ns, ar),
        None => Api::all_with(client, ar),
    };
    api.create(&PostParams::default(), &serde_json::from_value(obj).unwrap())
        .await
        .unwrap();
}

fn role_ar() -> kube::api::ApiResource {
    resource("rbac.authorization.k8s.io", "v1", "Role", "roles")
}
fn binding_ar() -> kube::api::ApiResource {
    resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings")
}

/// Lets default/reader get and list configmaps in "default", and only the one named "allowed" for get by name.
async fn grant_reader(server: &ApiServer) {
    admin_create(
        server,
        &role_ar(),
        Some("default"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "reader"},
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "resourceNames": ["allowed"]},
            ],
        }),
    )
    .await;
    admin_create(
        server,
        &binding_ar(),
        Some("default"),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": "default"}],
        }),
    )
    .await;
}

#[tokio::test]
async fn requests_without_a_known_token_are_401() {
    let server = ApiServer::start();
    let client = server.client_for_token("not-a-token").await;
    let (code, body) = get(&client, "/api/v1/namespaces/default/configmaps").await;
    assert_eq!(code, 401);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "Unauthorized");
    let records = server.requests();
    assert_eq!(records.last().unwrap().status, 401);
    assert_eq!(records.last().unwrap().user, None);
}

#[tokio::test]
async fn rbac_allows_bound_rules_and_denies_the_rest_with_the_real_403() {
    let server = ApiServer::start();
    grant_reader(&server).await;
    let admin: Api<DynamicObject> = Api::namespaced_with(server.client().await, "default", &configmaps());
    for name in ["allowed", "secret-ish"] {
        admin
            .create(&PostParams::default(), &configmap(name, json!({}), json!({})))
            .await
            .unwrap();
    }
    let sa_client = server
        .client_for_token(&server.token_for_service_account("default", "reader"))
        .await;
    let api: Api<DynamicObject> = Api::namespaced_with(sa_client.clone(), "default", &configmaps());
    assert_eq!(api.list(&ListParams::default()).await.unwrap().items.len(), 2);
    api.get("allowed").await.unwrap();

    let (code, body) = get(&sa_client, "/api/v1/namespaces/default/configmaps/secret-ish").await;
    assert_eq!(code, 403);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": "configmaps \"secret-ish\" is forbidden: User \"system:serviceaccount:default:reader\" cannot get resource \"configmaps\" in API group \"\" in the namespace \"default\"",
               "reason": "Forbidden", "details": {"name": "secret-ish", "kind": "configmaps"}, "code": 403})
    );
    let err = status(
        api.create(&PostParams::default(), &configmap("new", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 403);
    assert_eq!(
        err.message,
        "configmaps is forbidden: User \"system:serviceaccount:default:reader\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    // The Role is namespaced: other namespaces and cluster-scoped resources stay closed.
    let (code, body) = get(&sa_client, "/api/v1/namespaces/kube-system/configmaps").await;
    assert_eq!(code, 403);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .ends_with("in the namespace \"kube-system\"")
    );
    let (code, body) = get(&sa_client, "/api/v1/namespaces").await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        "namespaces is forbidden: User \"system:serviceaccount:default:reader\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
    );
}

#[tokio::test]
async fn cluster_roles_groups_wildcards_and_subresources() {
    let server = ApiServer::start();
    admin_create(
        &server,
        &resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles"),
        None,
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "status-writer"},
            "rules": [{"apiGroups": ["apps"], "resources": ["deployments/status"], "verbs": ["*"]},
                      {"apiGroups": ["*"], "resources": ["*"], "verbs": ["list"]}],
        }),
    )
    .await;
    admin_create(&server, &resource("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings"), None, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "status-writers"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "status-writer"},
        "subjects": [{"kind": "Group", "name": "writers"}],
    })).await;
    let writer = server
        .client_for_token(&server.token_for_user("wendy", &["writers"]))
        .await;
    let other = server.client_for_token(&server.token_for_user("oscar", &[])).await;
    assert_eq!(
        get(&writer, "/apis/apps/v1/deployments").await.0,
        200,
        "list on */* via the group"
    );
    assert_eq!(get(&writer, "/api/v1/namespaces").await.0, 200);
    assert_eq!(get(&other, "/api/v1/namespaces").await.0, 403);
    let (code, body) = get(&writer, "/apis/apps/v1/namespaces/default/deployments/d/status").await;
    assert_eq!(
        code, 404,
        "allowed on deployments/status, so the request gets as far as the missing object"
    );
    assert_eq!(body["reason"], "NotFound");
    let (code, body) = get(&writer, "/apis/apps/v1/namespaces/default/deployments/d").await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        "deployments.apps \"d\" is forbidden: User \"wendy\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"default\""
    );
    // Discovery is open to every authenticated user.
    assert_eq!(get(&other, "/apis/apps/v1").await.0, 200);
}

#[tokio::test]
async fn impersonation_requires_the_impersonate_verb() {
    let server = ApiServer::start();
    grant_reader(&server).await;
    let cr = resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles");
    let crb = resource(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
    );
    admin_create(&server, &cr, None, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "impersonator"},
        "rules": [{"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"], "resourceNames": ["reader"]}],
    })).await;
    admin_create(&server, &crb, None, json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "impersonator"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "impersonator"},
        "subjects": [{"kind": "User", "name": "ivan"}],
    })).await;
    let ivan = server.token_for_user("ivan", &[]);
    let mallory = server.token_for_user("mallory", &[]);
    let as_user = |token: String, target: &'static str| {
        let kubeconfig = server.kubeconfig_for_token(&token);
        async move {
            let mut kc = kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap();
            kc.auth_infos[0].auth_info.as_mut().unwrap().impersonate = Some(target.to_string());
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            kube::Client::try_from(config).unwrap()
        }
    };
    server.clear_requests();
    let ok = as_user(ivan.clone(), "system:serviceaccount:default:reader").await;
    assert_eq!(
        get(&ok, "/api/v1/namespaces/default/configmaps").await.0,
        200,
        "acts as the reader SA"
    );
    let (code, _) = get(&ok, "/api/v1/namespaces/default/secrets").await;
    assert_eq!(code, 403, "with only the reader's rights");

    let (code, body) = get(
        &as_user(mallory, "system:serviceaccount:default:reader").await,
        "/api/v1/namespaces/default/configmaps",
    )
    .await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        "serviceaccounts \"reader\" is forbidden: User \"mallory\" cannot impersonate resource \"serviceaccounts\" in API group \"\" in the namespace \"default\""
    );
    let (code, body) = get(&as_user(ivan, "someone").await, "/api/v1/namespaces/default/configmaps").await;
    assert_eq!(code, 403);
    assert_eq!(
        body["message"],
        "users \"someone\" is forbidden: User \"ivan\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );

    let log = server.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].user.as_deref(), Some("ivan"));
    assert_eq!(
        log[0].impersonated_user.as_deref(),
        Some("system:serviceaccount:default:reader")
    );
    assert_eq!(
        log[0].effective_user.as_deref(),
        Some("system:serviceaccount:default:reader")
    );
    assert_eq!(log[0].status, 200);
    assert_eq!(log[2].user.as_deref(), Some("mallory"));
    assert_eq!(log[2].effective_user, None, "impersonation was refused");
    assert_eq!(log[2].status, 403);
}

#[tokio::test]
async fn access_reviews_answer_from_rbac() {
    let server = ApiServer::start();
    grant_reader(&server).await;
    let admin = server.client().await;
    let review = |user: &str, verb: &str, name: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
               "spec": {"user": user, "resourceAttributes": {"namespace": "default", "verb": verb, "resource": "configmaps", "name": name}}})
        .to_string()
    };
    let path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    let sa = "system:serviceaccount:default:reader";
    let (code, body) = raw(&admin, "POST", path, "application/json", &review(sa, "get", "allowed")).await;
    assert_eq!((code, body["status"]["allowed"].clone()), (201, json!(true)));
    let (_, body) = raw(&admin, "POST", path, "application/json", &review(sa, "get", "other")).await;
    assert_eq!(body["status"]["allowed"], false);
    let (_, body) = raw(
        &admin,
        "POST",
        path,
        "application/json",
        &review(sa, "delete", "allowed"),
    )
    .await;
    assert_eq!(body["status"]["allowed"], false);

    let sa_client = server
        .client_for_token(&server.token_for_service_account("default", "reader"))
        .await;
    let ssar = |verb: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": "default", "verb": verb, "resource": "configmaps"}}})
        .to_string()
    };
    let ssar_path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
    assert_eq!(
        raw(&sa_client, "POST", ssar_path, "application/json", &ssar("list"))
            .await
            .1["status"]["allowed"],
        true
    );
    assert_eq!(
        raw(&sa_client, "POST", ssar_path, "application/json", &ssar("watch"))
            .await
            .1["status"]["allowed"],
        false
    );
}

#[tokio::test]
async fn request_log_records_identities_and_can_be_cleared() {
    let server = ApiServer::start();
    let admin = server.client().await;
    let sa = server
        .client_for_token(&server.token_for_service_account("default", "nobody"))
        .await;
    server.clear_requests();
    assert_eq!(
        get(&admin, "/api/v1/namespaces/default/configmaps?labelSelector=a%3Db")
            .await
            .0,
        200
    );
    assert_eq!(get(&sa, "/api/v1/namespaces/default/configmaps").await.0, 403);
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/api/v1/namespaces/default/configmaps");
    assert_eq!(log[0].query, "labelSelector=a%3Db");
    assert_eq!(
        (log[0].user.as_deref(), log[0].effective_user.as_deref(), log[0].status),
        (Some("admin"), Some("admin"), 200)
    );
    assert_eq!(log[1].user.as_deref(), Some("system:serviceaccount:default:nobody"));
    assert_eq!(log[1].impersonated_user, None);
    assert_eq!(log[1].status, 403);
    server.clear_requests();
    assert!(server.requests().is_empty());
}
