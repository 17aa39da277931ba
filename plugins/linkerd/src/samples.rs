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
use crate::installed::control_plane;

/// Seconds each Deployment gets to become Available before a WARN says which is not.
pub const READY_TIMEOUT_SECONDS: u32 = 300;

fn code(n: u16) -> String {
    format!("{}-{n}", crate::LINKERD.code_prefix)
}

pub fn plan(app: App, request: &OperationRequest) -> Result<Plan, Error> {
    let ns = request.namespace.trim();
    if !is_namespace_name(ns) {
        return Err(wasmesh_sdk::error(
            code(1301),
            format!("\"{}\" is not a namespace name", ns.escape_debug()),
            "sample applications go into the namespace the request names, and this one is empty or \
             not a lowercase DNS label",
            "pick a namespace such as \"default\" or \"bookinfo\" (lowercase letters, digits and '-', \
             at most 63 characters)",
        ));
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
            &wasmesh_sdk::error(
                code(1302),
                format!(
                    "{} is deployed without Linkerd proxies: no Linkerd control plane is installed",
                    app.title()
                ),
                "the pods ask for injection (linkerd.io/inject: enabled), but there is no proxy \
                 injector to answer",
                "install Linkerd (operation \"linkerd\"), then restart the application's \
                 deployments to mesh them",
            ),
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
