//! Versions this translator does not embed: the release's own `linkerd install` output, which the
//! operator put in the asset folder (`<assets>/<version>/*.yaml`, see `wasmesh_sdk::assets`).
//!
//! Installed like an embedded version: namespace and CRDs, wait until the CRDs are Established,
//! the rest, then wait until the Deployments are available; Gateway API CRDs another project
//! installed are kept. The identity is this translator's, not the rendered one (a file in a folder
//! is no place for a trust anchor's use): the cluster's trust anchor and issuer when there are
//! some, else new ones, and the webhooks' certificates likewise, written over what the output
//! carries. Uninstall deletes what the version's files name, in reverse order.

use serde_json::{Value, json};
use wasmesh_sdk::plan::{apply_all, deployments_available, object_ref, plan as make_plan, stage};
use wasmesh_sdk::{Condition, Error, Plan, Step};

use super::control_plane::{Identity, WEBHOOK_SECRETS, trust_root_sha256};
use super::{certs, options::Options};
use crate::errors::LinkerdError;

/// The version folders in the asset folder that this translator does not embed.
pub fn versions() -> Vec<String> {
    // A folder named as an embedded release or alias would never be installed: not listed.
    wasmesh_sdk::assets::versions(LinkerdError::PREFIX)
        .unwrap_or_default()
        .into_iter()
        .filter(|v| super::versions::resolve(v).is_err())
        .collect()
}

/// The objects of `version`'s folder; None when the asset folder has no such version.
pub fn objects(version: &str) -> Result<Option<Vec<Value>>, Error> {
    wasmesh_sdk::assets::load(version, LinkerdError::PREFIX)
}

pub fn install(version: &str, mut objects: Vec<Value>, options: &Options) -> Result<Plan, Error> {
    let now = super::now_unix();
    let (identity, kept) = super::identity(options, now)?;
    set_identity(&mut objects, &identity);
    for (index, (secret, kind, config)) in WEBHOOK_SECRETS.iter().enumerate() {
        let service = secret.trim_end_matches("-k8s-tls");
        let tls = super::webhook_tls(index, service, now)?;
        for o in objects.iter_mut() {
            if is(o, "Secret", secret) {
                o["data"] = json!({"tls.crt": tls.tls_crt_b64, "tls.key": tls.tls_key_b64});
                strip_string_data(o);
            } else if is(o, kind, config)
                && let Some(hooks) = o["webhooks"].as_array_mut()
            {
                for h in hooks {
                    h["clientConfig"]["caBundle"] = json!(tls.ca_bundle_b64);
                }
            }
        }
    }
    let objects = super::without_foreign_gateway_crds(objects)?;
    let mut stages = apply_all(&objects);
    stages.extend(deployments_available(
        "control plane available",
        &objects,
        options.wait_seconds,
    ));
    let kept = if kept {
        " (existing trust anchor and issuer kept)"
    } else {
        ""
    };
    Ok(make_plan(
        format!("Linkerd {version} control plane installed from the operator's rendered manifests{kept}"),
        stages,
    ))
}

pub fn uninstall(version: &str, objects: Vec<Value>, options: &Options) -> Result<Plan, Error> {
    super::refuse_with_extensions()?;
    let objects = super::without_foreign_gateway_crds(objects)?;
    let (foundation, rest): (Vec<&Value>, Vec<&Value>) = objects
        .iter()
        .partition(|o| matches!(o["kind"].as_str(), Some("Namespace" | "CustomResourceDefinition")));
    let of_kind = |objects: &[&Value], kind: &str| -> Vec<Step> {
        objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .map(|o| Step::Delete(object_ref(o)))
            .collect()
    };
    let namespaces: Vec<&Value> = foundation
        .iter()
        .copied()
        .filter(|o| o["kind"] == "Namespace")
        .collect();
    let mut stages = vec![stage(
        "control plane objects",
        rest.iter().map(|o| Step::Delete(object_ref(o))).collect(),
    )];
    stages.push(stage("namespaces", of_kind(&namespaces, "Namespace")));
    stages.push(stage(
        "namespaces deleted",
        namespaces
            .iter()
            .map(|o| super::wait(object_ref(o), Condition::Deleted, options.wait_seconds, false))
            .collect(),
    ));
    stages.push(stage("CRDs", of_kind(&foundation, "CustomResourceDefinition")));
    stages.retain(|s| !s.steps.is_empty());
    Ok(make_plan(
        format!("Linkerd {version} control plane removed (the objects of its rendered manifests)"),
        stages,
    ))
}

fn is(o: &Value, kind: &str, name: &str) -> bool {
    o["kind"] == kind && o.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
}

fn strip_string_data(o: &mut Value) {
    if let Some(map) = o.as_object_mut() {
        map.remove("stringData");
    }
}

/// Writes `identity` over the trust anchor and issuer the rendered output carries: the trust
/// roots ConfigMap, the issuer Secret, the anchors in linkerd-config's values and in the config
/// overrides, the trust-root-sha256 annotations, and any other copy of the old anchor (a proxy's
/// environment in older releases).
fn set_identity(objects: &mut [Value], identity: &Identity) {
    let new = identity.trust_anchors_pem.trim().to_string();
    let old = objects
        .iter()
        .find(|o| is(o, "ConfigMap", "linkerd-identity-trust-roots"))
        .and_then(|o| o.pointer("/data/ca-bundle.crt"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let sha = trust_root_sha256(&identity.trust_anchors_pem);
    let pem = |b64: &str| String::from_utf8(certs::decode(b64).unwrap_or_default()).unwrap_or_default();
    for o in objects.iter_mut() {
        if let Some(old) = &old {
            replace_strings(o, old, &new);
        }
        set_key(o, "linkerd.io/trust-root-sha256", &sha);
        if is(o, "ConfigMap", "linkerd-identity-trust-roots") {
            o["data"]["ca-bundle.crt"] = json!(new);
        } else if is(o, "Secret", "linkerd-identity-issuer") {
            o["data"] = json!({"crt.pem": identity.issuer_crt_b64, "key.pem": identity.issuer_key_b64});
            strip_string_data(o);
        } else if is(o, "ConfigMap", "linkerd-config")
            && let Some(text) = o.pointer("/data/values").and_then(Value::as_str)
            && let Ok(values) = wasmesh_sdk::yaml::parse_mapping(text)
        {
            let mut values = Value::Object(values);
            values["identityTrustAnchorsPEM"] = json!(identity.trust_anchors_pem);
            // JSON is YAML: Linkerd reads it back as well.
            o["data"]["values"] = json!(values.to_string());
        } else if is(o, "Secret", "linkerd-config-overrides")
            && let Some(b64) = o.pointer("/data/linkerd-config-overrides").and_then(Value::as_str)
            && let Ok(overrides) = wasmesh_sdk::yaml::parse_mapping(&pem(b64))
        {
            let mut overrides = Value::Object(overrides);
            overrides["identityTrustAnchorsPEM"] = json!(identity.trust_anchors_pem);
            overrides["identity"]["issuer"]["tls"] = json!({
                "crtPEM": pem(&identity.issuer_crt_b64),
                "keyPEM": pem(&identity.issuer_key_b64),
            });
            o["data"]["linkerd-config-overrides"] = json!(certs::encode(overrides.to_string().as_bytes()));
        }
    }
}

/// Sets every `key` of every mapping in `value` that has one.
fn set_key(value: &mut Value, key: &str, to: &str) {
    match value {
        Value::Array(items) => items.iter_mut().for_each(|v| set_key(v, key, to)),
        Value::Object(map) => {
            if let Some(v) = map.get_mut(key) {
                *v = json!(to);
            }
            map.values_mut().for_each(|v| set_key(v, key, to));
        }
        _ => {}
    }
}

fn replace_strings(value: &mut Value, old: &str, new: &str) {
    match value {
        Value::String(s) if s.contains(old) => *s = s.replace(old, new),
        Value::Array(items) => items.iter_mut().for_each(|v| replace_strings(v, old, new)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_strings(v, old, new)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_replaces_every_copy_of_the_rendered_one() {
        let b64 = |s: &str| certs::encode(s.as_bytes());
        let overrides = json!({"identityTrustAnchorsPEM": "OLD", "identity": {"issuer": {"tls": {"crtPEM": "oldcrt", "keyPEM": "oldkey"}}}});
        let mut objects = vec![
            json!({"kind": "ConfigMap", "metadata": {"name": "linkerd-identity-trust-roots"}, "data": {"ca-bundle.crt": "OLD\n"}}),
            json!({"kind": "Secret", "metadata": {"name": "linkerd-identity-issuer"}, "stringData": {"crt.pem": "oldcrt"}}),
            json!({"kind": "ConfigMap", "metadata": {"name": "linkerd-config"}, "data": {"values": "identityTrustAnchorsPEM: |\n  OLD\nother: 1\n"}}),
            json!({"kind": "Secret", "metadata": {"name": "linkerd-config-overrides"}, "data": {"linkerd-config-overrides": b64(&overrides.to_string())}}),
            json!({"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"metadata": {"annotations": {"linkerd.io/trust-root-sha256": trust_root_sha256("OLD")}},
                "spec": {"containers": [{"env": [{"name": "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS", "value": "OLD"}]}]}}}}),
        ];
        let identity = Identity {
            trust_anchors_pem: "NEW\n".into(),
            issuer_crt_b64: b64("newcrt"),
            issuer_key_b64: b64("newkey"),
        };
        set_identity(&mut objects, &identity);
        let text = serde_json::to_string(&objects).unwrap();
        assert!(!text.contains("OLD") && !text.contains("oldcrt"), "{text}");
        assert_eq!(objects[0]["data"]["ca-bundle.crt"], "NEW");
        assert_eq!(objects[1]["data"]["crt.pem"], b64("newcrt"));
        assert!(objects[1].get("stringData").is_none());
        let values: Value = serde_json::from_str(objects[2]["data"]["values"].as_str().unwrap()).unwrap();
        assert_eq!(values["identityTrustAnchorsPEM"], "NEW\n");
        assert_eq!(values["other"], 1);
        let o = certs::decode(objects[3]["data"]["linkerd-config-overrides"].as_str().unwrap()).unwrap();
        let o: Value = serde_json::from_slice(&o).unwrap();
        assert_eq!(o["identity"]["issuer"]["tls"]["keyPEM"], "newkey");
        assert_eq!(
            objects[4]["spec"]["template"]["metadata"]["annotations"]["linkerd.io/trust-root-sha256"],
            trust_root_sha256("NEW\n")
        );
    }
}
