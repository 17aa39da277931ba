//! What a translator registers with the Meshery server: every kind it handles in designs, with a
//! JSON schema of its configuration. The host turns each into a Meshery component definition
//! and registers it (the newest server routes a design component to an adapter only then).
//!
//! A translator implements [`Guest`] (`design_kinds`) beside [`crate::Guest`]; the helpers here
//! build the kinds from its CRDs ([`kinds_from_crds`]) and from its settings ([`settings_kind`]).

use serde_json::{Map, Value, json};

pub use crate::bindings::exports::wasmesh::adapter::registry::{DesignKind, Guest};
use crate::design::KindGroups;

/// The apiVersion of components that are not Kubernetes objects (a control plane, an add-on), as
/// Meshery's own mesh models give them.
pub const SETTINGS_API_VERSION: &str = "core.oam.dev/v1alpha1";

/// Version `version` of a CustomResourceDefinition (as JSON) as a design kind, its
/// `openAPIV3Schema` the schema. None when the CRD does not serve that version with a schema.
pub fn crd_kind(crd: &Value, version: &str) -> Option<DesignKind> {
    let spec = crd.get("spec")?;
    let group = spec.get("group")?.as_str()?;
    let kind = spec.pointer("/names/kind")?.as_str()?;
    let served = spec
        .get("versions")?
        .as_array()?
        .iter()
        .find(|v| v.get("name").and_then(Value::as_str) == Some(version))?;
    let mut schema = served.pointer("/schema/openAPIV3Schema")?.as_object()?.clone();
    schema.entry("title").or_insert_with(|| display_name(kind).into());
    Some(DesignKind {
        kind: kind.to_string(),
        api_version: format!("{group}/{version}"),
        display_name: display_name(kind),
        namespaced: spec.get("scope").and_then(Value::as_str) != Some("Cluster"),
        schema: Value::Object(schema).to_string(),
    })
}

/// The kinds of a translator's table of pass-through kinds (kind, then the groups and versions it
/// accepts), each in its first group, in the first of its versions that the CRD (among `crds`)
/// serves, with that version's schema. A kind whose CRD is not among `crds` is left out: a
/// translator's test should check that none is.
pub fn kinds_from_crds(table: &[(&str, KindGroups)], crds: &[Value]) -> Vec<DesignKind> {
    table
        .iter()
        .filter_map(|(kind, groups)| {
            let (group, plural, versions) = groups.first()?;
            let name = format!("{plural}.{group}");
            let crd = crds
                .iter()
                .find(|c| c.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str()))?;
            versions
                .iter()
                .find_map(|v| crd_kind(crd, v))
                .filter(|k| k.kind == *kind)
        })
        .collect()
}

/// A kind whose configuration is a set of settings (a control plane, an add-on): `properties` is
/// the JSON schema of each setting the translator reads (it ignores others).
pub fn settings_kind(kind: &str, properties: Value, required: &[&str]) -> DesignKind {
    let mut schema = Map::new();
    schema.insert("title".into(), display_name(kind).into());
    schema.insert("type".into(), "object".into());
    schema.insert("properties".into(), properties);
    if !required.is_empty() {
        schema.insert("required".into(), json!(required));
    }
    DesignKind {
        kind: kind.to_string(),
        api_version: SETTINGS_API_VERSION.into(),
        display_name: display_name(kind),
        namespaced: true,
        schema: Value::Object(schema).to_string(),
    }
}

/// A kind's words, as Meshery shows them: "VirtualService" is "Virtual Service", "HTTPRoute" is
/// "HTTP Route", "SMILinkerdAddon" is "SMI Linkerd Addon".
pub fn display_name(kind: &str) -> String {
    let chars: Vec<char> = kind.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = i > 0
            && c.is_ascii_uppercase()
            && (chars[i - 1].is_ascii_lowercase()
                || (chars[i - 1].is_ascii_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())));
        if starts_word {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_split_words_and_keep_acronyms() {
        for (kind, shown) in [
            ("VirtualService", "Virtual Service"),
            ("HTTPRoute", "HTTP Route"),
            ("SMILinkerdAddon", "SMI Linkerd Addon"),
            ("MeshTLSAuthentication", "Mesh TLS Authentication"),
            ("Server", "Server"),
        ] {
            assert_eq!(display_name(kind), shown);
        }
    }

    #[test]
    fn a_crd_version_becomes_a_kind_with_its_schema_and_an_unserved_one_none() {
        let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com",
            "scope": "Cluster", "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object",
                "properties": {"spec": {"type": "object"}}}}}]}});
        let k = crd_kind(&crd, "v1").unwrap();
        assert_eq!(
            (k.kind.as_str(), k.api_version.as_str(), k.namespaced),
            ("Widget", "example.com/v1", false)
        );
        let schema: Value = serde_json::from_str(&k.schema).unwrap();
        assert_eq!(schema["properties"]["spec"]["type"], "object");
        assert_eq!(schema["title"], "Widget");
        assert!(crd_kind(&crd, "v2").is_none());
        const TABLE: &[(&str, KindGroups)] = &[
            ("Widget", &[("example.com", "widgets", &["v2", "v1"])]),
            ("Gadget", &[("example.com", "gadgets", &["v1"])]),
        ];
        let kinds = kinds_from_crds(TABLE, &[crd]);
        assert_eq!(kinds.iter().map(|k| k.kind.as_str()).collect::<Vec<_>>(), ["Widget"]);
    }

    #[test]
    fn settings_kinds_are_objects_of_their_settings() {
        let k = settings_kind("DemoMesh", json!({"version": {"type": "string"}}), &[]);
        let schema: Value = serde_json::from_str(&k.schema).unwrap();
        assert_eq!(
            (&schema["type"], &schema["properties"]["version"]["type"]),
            (&json!("object"), &json!("string"))
        );
        assert_eq!(k.api_version, SETTINGS_API_VERSION);
        assert_eq!(k.display_name, "Demo Mesh");
    }
}
