//! The sample applications: `bookinfo`, `httpbin`, `imagehub` and `emojivoto`.
//!
//! The application's objects come from the shared, embedded samples (`wasmesh_samples`), put
//! into the request's namespace (created when missing) and into the mesh the way the installed
//! profile wants: with sidecars, the pod template label `sidecar.istio.io/inject: "true"`
//! (honoured by Istio's injector whatever the namespace's own label); with the ambient profile,
//! the pod label `istio.io/dataplane-mode: ambient` and no sidecar. Either way the namespace's
//! labels are left alone.
//!
//! Each application also gets a Gateway `<app>-gateway` on Istio's ingress gateway (selector
//! `istio: ingressgateway`, HTTP on 8080, the ingress Service's target port, as upstream's
//! Bookinfo gateway) and a VirtualService `<app>` for host `*` that sends the application's
//! URL paths to its front Service and port. Host `*` is what Istio's own samples use; two
//! samples that both route `/` through the same gateway overlap, as upstream's would.
//! `networking.istio.io/v1` from Istio 1.22 on, `v1beta1` before.
//!
//! Deploying needs an installed control plane (its CRDs define Gateway and VirtualService);
//! removing does not, and leaves the namespace in place.

use serde_json::{Value, json};
use wasmesh_samples::{App, Entry, PathMatch};
use wasmesh_sdk::plan::{apply_all, create_namespace, delete_all, deployments_available, plan as make_plan};
use wasmesh_sdk::{Error, Level, OperationRequest, Plan, cluster, progress};

use crate::errors::IstioError;
use crate::installed::{self, CONTROL_PLANE_NAMESPACE};
use crate::policies::minor_version;

/// Seconds each Deployment gets to become Available before a warning says it is not.
pub const AVAILABLE_TIMEOUT: u32 = 300;
/// The port Istio's ingress gateway pods listen on for HTTP.
pub const GATEWAY_PORT: u16 = 8080;

/// How the application's pods join the mesh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Sidecar,
    Ambient,
}

/// The planner of every sample operation: the app is the one the request's key names.
pub fn operation(request: &OperationRequest) -> Result<Plan, Error> {
    match App::from_key(&request.key) {
        Some(app) => plan(app, request),
        None => Err(wasmesh_sdk::ops::unknown_operation(
            &request.key,
            crate::ISTIO.code_prefix,
        )),
    }
}

pub fn plan(app: App, request: &OperationRequest) -> Result<Plan, Error> {
    let namespace = request.namespace.trim();
    if namespace.is_empty() {
        return Err(IstioError::SampleNamespace { app: app.title() }.into());
    }
    let control_plane = installed::control_plane()?;
    let api_version = networking_api_version(control_plane.as_ref().map(|c| c.version.as_str()));
    if request.delete {
        return Ok(remove(app, namespace, &api_version));
    }
    let Some(control_plane) = control_plane else {
        return Err(IstioError::SampleWithoutMesh { app: app.title() }.into());
    };
    let mode = if control_plane.profile == "ambient" {
        Mode::Ambient
    } else {
        Mode::Sidecar
    };
    let gateways = cluster::list(
        "apps/v1",
        "Deployment",
        Some(CONTROL_PLANE_NAMESPACE),
        "istio=ingressgateway",
    )?;
    if gateways.is_empty() {
        progress::report(
            Level::Warn,
            &format!(
                "No Istio ingress gateway runs in {CONTROL_PLANE_NAMESPACE}: {} is reachable inside the cluster only; \
                 to reach it from outside, install Istio with the default or demo profile",
                app.title()
            ),
            &format!(
                "the Gateway {} selects pods labelled istio=ingressgateway and the {} profile installs none; \
                 install Istio with the default or demo profile to reach the application from outside",
                gateway_name(app),
                control_plane.profile
            ),
        );
    }
    Ok(deploy(app, namespace, mode, &api_version))
}

/// `networking.istio.io/v1` from Istio 1.22 on (and when the release is unknown), `v1beta1` before.
pub fn networking_api_version(version: Option<&str>) -> String {
    match version.and_then(minor_version) {
        Some((1, minor)) if minor < 22 => "networking.istio.io/v1beta1".into(),
        Some((0, _)) => "networking.istio.io/v1beta1".into(),
        _ => "networking.istio.io/v1".into(),
    }
}

pub fn gateway_name(app: App) -> String {
    format!("{}-gateway", app.key())
}

/// Everything the operation writes, in apply order: the application, then its Gateway and
/// VirtualService.
pub fn objects(app: App, namespace: &str, mode: Mode, api_version: &str) -> Vec<Value> {
    let mut objects: Vec<Value> = app
        .objects()
        .into_iter()
        .map(|mut o| {
            o["metadata"]["namespace"] = json!(namespace);
            if o["kind"] == "Deployment" {
                let (label, value) = match mode {
                    Mode::Sidecar => ("sidecar.istio.io/inject", "true"),
                    Mode::Ambient => ("istio.io/dataplane-mode", "ambient"),
                };
                let labels = &mut o["spec"]["template"]["metadata"]["labels"];
                if !labels.is_object() {
                    *labels = json!({});
                }
                labels[label] = json!(value);
            }
            o
        })
        .collect();
    objects.push(gateway(app, namespace, api_version));
    objects.push(virtual_service(app, namespace, api_version));
    objects
}

fn gateway(app: App, namespace: &str, api_version: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": "Gateway",
        "metadata": {"name": gateway_name(app), "namespace": namespace, "labels": labels(app)},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [{
                "port": {"number": GATEWAY_PORT, "name": "http", "protocol": "HTTP"},
                "hosts": ["*"],
            }],
        },
    })
}

fn virtual_service(app: App, namespace: &str, api_version: &str) -> Value {
    let Entry { service, port, paths } = app.entry();
    let mut route = json!({
        "route": [{"destination": {"host": service, "port": {"number": port}}}],
    });
    let everything = paths.contains(&PathMatch::Prefix("/"));
    if !everything {
        let matches: Vec<Value> = paths
            .iter()
            .map(|p| match p {
                PathMatch::Exact(path) => json!({"uri": {"exact": path}}),
                PathMatch::Prefix(path) => json!({"uri": {"prefix": path}}),
            })
            .collect();
        route["match"] = json!(matches);
    }
    json!({
        "apiVersion": api_version,
        "kind": "VirtualService",
        "metadata": {"name": app.key(), "namespace": namespace, "labels": labels(app)},
        "spec": {
            "hosts": ["*"],
            "gateways": [gateway_name(app)],
            "http": [route],
        },
    })
}

fn labels(app: App) -> Value {
    json!({"app.kubernetes.io/managed-by": "wasmesh", "app.kubernetes.io/part-of": app.key()})
}

/// Namespace (created when missing), the objects, then a non-required wait per Deployment.
pub fn deploy(app: App, namespace: &str, mode: Mode, api_version: &str) -> Plan {
    let objects = objects(app, namespace, mode, api_version);
    let mut stages = vec![create_namespace(namespace)];
    stages.extend(apply_all(&objects));
    stages.extend(deployments_available(
        format!("{} available", app.title()),
        &objects,
        AVAILABLE_TIMEOUT,
    ));
    let entry = app.entry();
    let how = match mode {
        Mode::Sidecar => "with Istio sidecars",
        Mode::Ambient => "in ambient mode",
    };
    make_plan(
        format!(
            "{} deployed in namespace {namespace} {how}; Gateway {} and VirtualService {} route to {}:{}",
            app.title(),
            gateway_name(app),
            app.key(),
            entry.service,
            entry.port
        ),
        stages,
    )
}

/// Deletes the Gateway, the VirtualService and the application; the namespace stays.
pub fn remove(app: App, namespace: &str, api_version: &str) -> Plan {
    let objects = objects(app, namespace, Mode::Sidecar, api_version);
    make_plan(
        format!(
            "{} removed from namespace {namespace} (with Gateway {} and VirtualService {}); the namespace stays",
            app.title(),
            gateway_name(app),
            app.key()
        ),
        delete_all(&objects),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmesh_sdk::Step;

    fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
        objects.iter().filter(|o| o["kind"] == kind).collect()
    }

    #[test]
    fn every_app_gets_a_gateway_and_a_virtual_service_to_its_front_door() {
        for app in App::ALL {
            let objects = objects(app, "shop", Mode::Sidecar, "networking.istio.io/v1");
            assert!(objects.iter().all(|o| o["metadata"]["namespace"] == "shop"), "{app:?}");
            let gw = find(&objects, "Gateway");
            assert_eq!(gw.len(), 1);
            assert_eq!(gw[0]["metadata"]["name"], format!("{}-gateway", app.key()));
            assert_eq!(gw[0]["spec"]["selector"]["istio"], "ingressgateway");
            let vs = find(&objects, "VirtualService");
            assert_eq!(vs.len(), 1);
            assert_eq!(vs[0]["spec"]["gateways"][0], gw[0]["metadata"]["name"]);
            let dest = &vs[0]["spec"]["http"][0]["route"][0]["destination"];
            let entry = app.entry();
            assert_eq!(dest["host"], entry.service);
            assert_eq!(dest["port"]["number"], entry.port);
            assert!(
                find(&objects, "Service")
                    .iter()
                    .any(|s| s["metadata"]["name"] == entry.service),
                "{app:?}: the route's Service is one of the app's objects"
            );
        }
    }

    #[test]
    fn bookinfo_routes_only_its_paths() {
        let objects = objects(App::Bookinfo, "ns", Mode::Sidecar, "v");
        let vs = find(&objects, "VirtualService")[0];
        let matches = vs["spec"]["http"][0]["match"].as_array().unwrap();
        assert!(matches.contains(&json!({"uri": {"exact": "/productpage"}})));
        assert!(matches.contains(&json!({"uri": {"prefix": "/static"}})));
        let objects = objects_of(App::Httpbin);
        let vs = find(&objects, "VirtualService")[0];
        assert!(
            vs["spec"]["http"][0].get("match").is_none(),
            "Prefix(\"/\") routes everything"
        );
    }

    fn objects_of(app: App) -> Vec<Value> {
        objects(app, "ns", Mode::Sidecar, "v")
    }

    #[test]
    fn injection_follows_the_profile() {
        for (mode, label, absent) in [
            (
                Mode::Sidecar,
                ("sidecar.istio.io/inject", "true"),
                "istio.io/dataplane-mode",
            ),
            (
                Mode::Ambient,
                ("istio.io/dataplane-mode", "ambient"),
                "sidecar.istio.io/inject",
            ),
        ] {
            let objects = objects(App::Emojivoto, "ns", mode, "v");
            let deployments = find(&objects, "Deployment");
            assert!(!deployments.is_empty());
            for d in deployments {
                let labels = &d["spec"]["template"]["metadata"]["labels"];
                assert_eq!(labels[label.0], label.1, "{mode:?}");
                assert!(labels.get(absent).is_none(), "{mode:?}");
                // The selector still matches the pods.
                for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().unwrap() {
                    assert_eq!(&labels[k], v);
                }
            }
        }
    }

    #[test]
    fn deploy_creates_the_namespace_first_and_remove_keeps_it() {
        let plan = deploy(App::Httpbin, "ns", Mode::Sidecar, "networking.istio.io/v1");
        assert!(matches!(&plan.stages[0].steps[..], [Step::NamespaceMetadata(c)] if c.create && c.namespace == "ns"));
        let last = plan.stages.last().unwrap();
        assert!(
            last.steps
                .iter()
                .all(|s| matches!(s, Step::Wait(w) if !w.required && w.target.kind == "Deployment"))
        );
        let removal = remove(App::Httpbin, "ns", "networking.istio.io/v1");
        let deleted: Vec<String> = removal
            .stages
            .iter()
            .flat_map(|s| &s.steps)
            .map(|s| match s {
                Step::Delete(r) => format!("{}/{}", r.kind, r.name),
                other => panic!("only deletes: {other:?}"),
            })
            .collect();
        assert!(deleted.contains(&"Gateway/httpbin-gateway".to_string()), "{deleted:?}");
        assert!(deleted.contains(&"VirtualService/httpbin".to_string()), "{deleted:?}");
        assert!(!deleted.iter().any(|d| d.starts_with("Namespace/")), "{deleted:?}");
        assert!(removal.summary.contains("removed"));
    }

    #[test]
    fn networking_version_follows_the_release() {
        assert_eq!(networking_api_version(Some("1.27.3")), "networking.istio.io/v1");
        assert_eq!(networking_api_version(Some("1.21.0")), "networking.istio.io/v1beta1");
        assert_eq!(networking_api_version(None), "networking.istio.io/v1");
    }
}
