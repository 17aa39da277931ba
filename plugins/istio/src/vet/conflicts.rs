//! Several VirtualServices for the same host on the same gateway (or the mesh): sidecars use
//! only one of them; gateways merge them in no defined order.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::model;
use super::report::{Check, IstioError, fail, warn};
use super::snapshot::Context;

/// The namespaces a VirtualService is visible in (its exportTo).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    All,
    Only(BTreeSet<String>),
}

pub fn visibility(vs: &Value) -> Visibility {
    let export = model::strings(vs, "/spec/exportTo");
    if export.is_empty() || export.contains(&"*") {
        return Visibility::All;
    }
    Visibility::Only(
        export
            .into_iter()
            .filter(|e| *e != "~")
            .map(|e| if e == "." { model::namespace(vs) } else { e }.to_string())
            .collect(),
    )
}

pub fn overlap(a: &Visibility, b: &Visibility) -> bool {
    match (a, b) {
        (Visibility::All, Visibility::All) => true,
        (Visibility::All, Visibility::Only(s)) | (Visibility::Only(s), Visibility::All) => !s.is_empty(),
        (Visibility::Only(x), Visibility::Only(y)) => !x.is_disjoint(y),
    }
}

pub fn check(ctx: &Context) -> Check {
    // (gateway, host) -> the VirtualServices binding it
    let mut bound: BTreeMap<(String, String), Vec<&Value>> = BTreeMap::new();
    for vs in &ctx.snap.virtual_services {
        let ns = model::namespace(vs);
        let mut gateways = model::strings(vs, "/spec/gateways");
        if gateways.is_empty() {
            gateways.push("mesh");
        }
        let gateways: BTreeSet<String> = gateways.iter().map(|g| model::canonical_gateway(g, ns)).collect();
        let hosts: BTreeSet<String> = model::strings(vs, "/spec/hosts")
            .into_iter()
            .map(|h| ctx.canonical_host(h, ns))
            .collect();
        for g in &gateways {
            for h in &hosts {
                bound.entry((g.clone(), h.clone())).or_default().push(vs);
            }
        }
    }
    let mut findings = Vec::new();
    for ((gateway, host), group) in bound {
        if group.len() < 2 || !group.iter().any(|vs| ctx.scope.contains(model::namespace(vs))) {
            continue;
        }
        let seen: Vec<Visibility> = group.iter().map(|vs| visibility(vs)).collect();
        let clash = (0..seen.len()).any(|i| (i + 1..seen.len()).any(|j| overlap(&seen[i], &seen[j])));
        if !clash {
            continue;
        }
        let names: BTreeSet<String> = group
            .iter()
            .map(|vs| format!("\"{}\" (namespace \"{}\")", model::name(vs), model::namespace(vs)))
            .collect();
        let names = model::join(&names);
        findings.push(if gateway == "mesh" {
            fail(IstioError::VetMeshConflict { names, host })
        } else {
            warn(IstioError::VetGatewayConflict { names, host, gateway })
        });
    }
    Check::new(
        "VirtualService hosts",
        format!("{} VirtualServices in the cluster", ctx.snap.virtual_services.len()),
        findings,
    )
}
