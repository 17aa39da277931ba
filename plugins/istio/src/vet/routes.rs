//! VirtualService routes to hosts that do not exist: neither a Service (short name, name.ns or
//! FQDN) nor a ServiceEntry host.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model;
use super::report::{Check, IstioError, fail};
use super::snapshot::Context;

/// Every destination host a VirtualService sends (or mirrors) traffic to.
pub fn destinations(vs: &Value) -> BTreeSet<&str> {
    let mut hosts = BTreeSet::new();
    for kind in ["http", "tcp", "tls"] {
        for rule in model::items(vs, &format!("/spec/{kind}")) {
            for route in model::items(rule, "/route") {
                hosts.extend(model::text(route, "/destination/host"));
            }
            hosts.extend(model::text(rule, "/mirror/host"));
            for mirror in model::items(rule, "/mirrors") {
                hosts.extend(model::text(mirror, "/destination/host"));
            }
        }
    }
    hosts.retain(|h| !h.trim().is_empty());
    hosts
}

pub fn check(ctx: &Context) -> Check {
    let entry_hosts: Vec<String> = ctx
        .snap
        .service_entries
        .iter()
        .flat_map(|se| {
            model::strings(se, "/spec/hosts")
                .into_iter()
                .map(move |h| ctx.canonical_host(h, model::namespace(se)))
        })
        .collect();
    let mut checked = 0;
    let mut hosts_seen = 0;
    let mut findings = Vec::new();
    for vs in ctx
        .snap
        .virtual_services
        .iter()
        .filter(|vs| ctx.scope.contains(model::namespace(vs)))
    {
        checked += 1;
        let ns = model::namespace(vs);
        for host in destinations(vs) {
            hosts_seen += 1;
            let canonical = ctx.canonical_host(host, ns);
            let literal = host.trim().trim_end_matches('.').to_ascii_lowercase();
            let known = ctx.service_hosts.contains(&canonical)
                || entry_hosts
                    .iter()
                    .any(|p| model::host_matches(p, &canonical) || model::host_matches(p, &literal));
            if known {
                continue;
            }
            let service_hint = if canonical.ends_with(&format!(".svc.{}", model::CLUSTER_DOMAIN)) {
                format!("create the Service {canonical}, ")
            } else {
                String::new()
            };
            findings.push(fail(IstioError::VetDanglingRoute {
                name: model::name(vs).into(),
                namespace: ns.into(),
                host: host.into(),
                service_hint,
            }));
        }
    }
    Check::new(
        "VirtualService destinations",
        format!("{checked} VirtualServices, {hosts_seen} destination hosts"),
        findings,
    )
}
