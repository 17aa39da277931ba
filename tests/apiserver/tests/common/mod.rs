//! Helpers shared by the integration tests.
#![allow(dead_code)]

use http_body_util::BodyExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::{Value, json};

/// Sends a raw request through a kube client and returns status code and JSON body, so tests can
/// assert on exact Status bodies.
pub async fn raw(client: &kube::Client, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(kube::client::Body::from(body.as_bytes().to_vec()))
        .unwrap();
    let resp = client.send(req).await.expect("send");
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

pub async fn get(client: &kube::Client, path: &str) -> (u16, Value) {
    raw(client, "GET", path, "application/json", "").await
}

pub fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

pub fn configmaps() -> ApiResource {
    resource("", "v1", "ConfigMap", "configmaps")
}

/// A ConfigMap; `labels` is left out when it is an empty object (so apply does not own it).
pub fn configmap(name: &str, labels: Value, data: Value) -> DynamicObject {
    let mut metadata = json!({"name": name});
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        metadata["labels"] = labels;
    }
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}))
        .unwrap()
}

/// The Status of a failed kube call.
pub fn status(err: kube::Error) -> kube::core::Status {
    match err {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

pub fn crd_yaml(group: &str, kind: &str, plural: &str) -> String {
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  scope: Namespaced
  names:
    kind: {kind}
    plural: {plural}
    singular: {singular}
    shortNames: [w]
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
    subresources:
      status: {{}}
"#,
        singular = kind.to_lowercase()
    )
}
