//! `bookinfo`, `httpbin`, `imagehub`, `emojivoto`: the shared sample applications
//! (wasmesh-samples) deployed into the request's namespace with Linkerd's proxy injected into
//! their pods (pod template annotation `linkerd.io/inject: enabled`). The namespace is created
//! when missing and otherwise left as it is; a removal deletes the application's objects only.

use serde_json::{Value, json};
use wasmesh_samples::App;
use wasmesh_sdk::plan::{
    apply_all, create_namespace, delete_all, deployments_available, is_namespace_name, plan as make_plan,
};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan};

use crate::INJECT_ANNOTATION;
use crate::errors::LinkerdError;
use crate::installed::control_plane;

/// Seconds each Deployment gets to become Available before a WARN says which is not.
pub const READY_TIMEOUT_SECONDS: u32 = 300;

/// The planner of every sample operation: the app is the one the request's key names.
pub fn operation(request: &OperationRequest) -> Result<Plan, Error> {
    match App::from_key(&request.key) {
        Some(app) => plan(app, request),
        None => Err(wasmesh_sdk::ops::unknown_operation(
            &request.key,
            crate::LINKERD.code_prefix,
        )),
    }
}

pub fn plan(app: App, request: &OperationRequest) -> Result<Plan, Error> {
    let ns = request.namespace.trim();
    if !is_namespace_name(ns) {
        return Err(LinkerdError::SampleNamespace {
            namespace: ns.escape_debug().to_string(),
        }
        .into());
    }
    let objects = objects(app, ns);
    if request.delete {
        return Ok(make_plan(
            format!("{} removed from namespace {ns}", app.title()),
            delete_all(&objects),
        ));
    }
    if control_plane()?.is_none() {
        wasmesh_sdk::progress::report_error(
            Level::Warn,
            &LinkerdError::SampleWithoutProxies { app: app.title() }.into(),
        );
    }
    let mut stages = vec![create_namespace(ns)];
    stages.extend(apply_all(&objects));
    stages.extend(deployments_available(
        "deployments available",
        &objects,
        READY_TIMEOUT_SECONDS,
    ));
    Ok(make_plan(
        format!("{} deployed in namespace {ns} with Linkerd proxies", app.title()),
        stages,
    ))
}

/// The application's objects in `ns`, their pods asking for the Linkerd proxy.
pub fn objects(app: App, ns: &str) -> Vec<Value> {
    let mut objects = app.objects();
    for o in &mut objects {
        o["metadata"]["namespace"] = json!(ns);
        if o["kind"] == "Deployment" {
            let template = &mut o["spec"]["template"]["metadata"];
            if !template["annotations"].is_object() {
                template["annotations"] = json!({});
            }
            template["annotations"][INJECT_ANNOTATION] = json!("enabled");
        }
    }
    objects
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pod_asks_for_the_proxy_and_everything_is_in_the_namespace() {
        for app in App::ALL {
            let objects = objects(app, "shop");
            assert_eq!(objects.len(), app.objects().len());
            for o in &objects {
                assert_eq!(o["metadata"]["namespace"], "shop");
                assert_ne!(
                    o["kind"], "Namespace",
                    "the user's namespace is not an object of the app"
                );
                if o["kind"] == "Deployment" {
                    assert_eq!(
                        o["spec"]["template"]["metadata"]["annotations"]["linkerd.io/inject"],
                        "enabled"
                    );
                }
            }
            assert!(objects.iter().any(|o| o["kind"] == "Deployment"));
        }
    }
}
