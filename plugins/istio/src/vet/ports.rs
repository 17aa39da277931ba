//! Service ports that do not tell Istio their protocol (a name with a protocol prefix, or
//! appProtocol), in the namespaces that take part in the mesh.

use super::model;
use super::report::{Check, warn};
use super::snapshot::Context;

pub const UNNAMED_PORT: u16 = 1540;

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
            findings.push(warn(
                UNNAMED_PORT,
                format!(
                    "Service \"{}\" in namespace \"{ns}\" does not declare the protocol of {}",
                    model::name(svc),
                    bad.join(", ")
                ),
                "Istio takes a port's protocol from its name prefix or appProtocol; otherwise it has to guess, and HTTP routing, retries and metrics may not apply",
                format!(
                    "name the ports of Service {} with a protocol prefix (http-, http2-, https-, grpc-, tcp-, tls-, mongo-, mysql-, redis-, e.g. \"http-web\"), or set appProtocol on them",
                    model::name(svc)
                ),
            ));
        }
    }
    let names: Vec<&str> = namespaces.iter().copied().collect();
    Check::new(
        "service port names",
        format!("{services} Services in the mesh namespaces ({})", names.join(", ")),
        findings,
    )
}
