//! Service ports that do not tell Istio their protocol (a name with a protocol prefix, or
//! appProtocol), in the namespaces that take part in the mesh.

use super::model;
use super::report::{Check, IstioError, warn};
use super::snapshot::Context;

pub fn check(ctx: &Context) -> Check {
    let namespaces = ctx.mesh_namespaces();
    let mut services = 0;
    let mut findings = Vec::new();
    for ns in &namespaces {
        for svc in ctx.services_by_namespace.get(ns).into_iter().flatten() {
            services += 1;
            let bad: Vec<String> = model::items(svc, "/spec/ports")
                .iter()
                .filter(|p| !model::port_declares_protocol(p))
                .map(|p| match p["name"].as_str().filter(|n| !n.is_empty()) {
                    Some(n) => format!("port {} (named \"{n}\")", p["port"]),
                    None => format!("port {} (unnamed)", p["port"]),
                })
                .collect();
            if bad.is_empty() {
                continue;
            }
            findings.push(warn(IstioError::VetUnnamedPort {
                service: model::name(svc).into(),
                namespace: ns.to_string(),
                ports: bad.join(", "),
            }));
        }
    }
    let names: Vec<&str> = namespaces.iter().copied().collect();
    Check::new(
        "service port names",
        format!("{services} Services in the mesh namespaces ({})", names.join(", ")),
        findings,
    )
}
