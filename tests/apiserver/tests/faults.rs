//! Fault injection knobs.

mod common;

use common::*;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;
use std::time::Duration;
use wasmesh_test_apiserver::ApiServer;

#[tokio::test]
async fn fail_next_answers_n_resource_requests_with_the_code() {
    let server = ApiServer::start();
    let client = server.client().await;
    // 500, not 503: kube-rs 5 retries 429/503/504 by itself (Config::default_retry).
    server.fail_next(2, 500);
    assert_eq!(get(&client, "/version").await.0, 200, "discovery is not affected");
    for _ in 0..2 {
        let (code, body) = get(&client, "/api/v1/namespaces").await;
        assert_eq!(code, 500);
        assert_eq!(
            (body["kind"].as_str(), body["reason"].as_str(), body["code"].as_u64()),
            (Some("Status"), Some("InternalError"), Some(500))
        );
    }
    assert_eq!(get(&client, "/api/v1/namespaces").await.0, 200);
    server.fail_next(1, 500);
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &configmaps());
    let err = status(
        api.create(&PostParams::default(), &configmap("c", json!({}), json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 500);
    assert!(
        api.get_opt("c").await.unwrap().is_none(),
        "the failed request did nothing"
    );

    // A 503 is retried by kube-rs's default retry policy; the log shows both attempts.
    server.clear_requests();
    server.fail_next(1, 503);
    api.create(&PostParams::default(), &configmap("c", json!({}), json!({})))
        .await
        .unwrap();
    let codes: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(codes, [503, 201]);
}

#[tokio::test]
async fn drop_next_closes_the_connection_without_a_response() {
    let server = ApiServer::start();
    let client = server.client().await;
    server.drop_next(1);
    let api: Api<DynamicObject> = Api::namespaced_with(client, "default", &configmaps());
    let err = api.get("anything").await.unwrap_err();
    assert!(
        !matches!(err, kube::Error::Api(_)),
        "no HTTP response, so no API error: {err:?}"
    );
    assert_eq!(server.requests().last().unwrap().status, 0);
    let err = status(api.get("anything").await.unwrap_err());
    assert_eq!(err.code, 404, "the next request is answered again");
}

#[tokio::test]
async fn set_delay_delays_responses() {
    let server = ApiServer::start();
    let client = server.client().await;
    server.set_delay(Duration::from_millis(300));
    let start = std::time::Instant::now();
    assert_eq!(get(&client, "/api/v1/namespaces").await.0, 200);
    // A lower bound only: the delay must have happened; how much longer it took does not matter.
    assert!(start.elapsed() >= Duration::from_millis(300));
    // A client timeout shorter than the delay fails.
    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(server.kubeconfig()).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    config.read_timeout = Some(Duration::from_millis(50));
    let impatient = kube::Client::try_from(config).unwrap();
    let api: Api<DynamicObject> = Api::all_with(impatient, &resource("", "v1", "Namespace", "namespaces"));
    assert!(api.get("default").await.is_err());
    server.set_delay(Duration::ZERO);
}

/// A client without kube-rs's own retries, to see each answer the server gives.
async fn no_retry_client(server: &ApiServer) -> kube::Client {
    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(server.kubeconfig()).unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    config.default_retry = false;
    kube::Client::try_from(config).unwrap()
}

#[tokio::test]
async fn aimed_faults_hit_the_nth_matching_request_the_given_number_of_times() {
    use wasmesh_test_apiserver::Fault;
    let server = ApiServer::start();
    let client = no_retry_client(&server).await;
    let path = "/api/v1/namespaces/default/configmaps";
    let throttle = server.inject(Fault::on("GET", "/api/v1/namespaces/*/configmaps").nth(2).throttle(3));
    let busy = server.inject(
        Fault::on("*", "/api/v1/namespaces/default/configmaps/c")
            .times(2)
            .status_retry_after(503, 1),
    );
    assert_eq!(get(&client, path).await.0, 200, "the first match passes");
    // The APF filter's 429: a text body, the wait in the header.
    let answer = client
        .send(http::Request::get(path).body(kube::client::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(answer.status(), 429);
    assert_eq!(answer.headers()["retry-after"], "3");
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(get(&client, path).await.0, 200, "hit once only");
    assert_eq!(server.hits(throttle), 1);
    assert_eq!(get(&client, "/api/v1/namespaces").await.0, 200, "other paths pass");

    for _ in 0..2 {
        let (code, body) = get(&client, &format!("{path}/c")).await;
        assert_eq!(code, 503);
        assert_eq!(body["details"]["retryAfterSeconds"], 1);
        assert_eq!(body["reason"], "ServiceUnavailable");
    }
    assert_eq!(
        get(&client, &format!("{path}/c")).await.0,
        404,
        "answered again after two"
    );
    assert_eq!(server.hits(busy), 2);

    let dropped = server.inject(Fault::on("DELETE", "/api/v1/namespaces/default/configmaps/*").drop_connection());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &configmaps());
    api.create(&PostParams::default(), &configmap("d", json!({}), json!({})))
        .await
        .unwrap();
    assert!(!matches!(
        api.delete("d", &Default::default()).await.unwrap_err(),
        kube::Error::Api(_)
    ));
    assert_eq!(server.hits(dropped), 1);
    assert!(
        api.get_opt("d").await.unwrap().is_some(),
        "a dropped request is not carried out"
    );

    server.inject(Fault::on("PATCH", "/api/v1/namespaces/*/configmaps/d").conflict("kubectl"));
    let apply = kube::api::PatchParams::apply("wasmesh-test");
    let cm = configmap("d", json!({}), json!({"k": "v"}));
    let e = status(api.patch("d", &apply, &kube::api::Patch::Apply(&cm)).await.unwrap_err());
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(e.message.contains("conflict with \"kubectl\""), "{}", e.message);
    server.clear_faults();
    api.patch("d", &apply, &kube::api::Patch::Apply(&cm)).await.unwrap();
}
