//! Meshery design components in either shape: an OAM Component (ProcessOAM) or a Meshery
//! component declaration (Provision).

use serde_json::{Map, Value};

use crate::{Error, error};

/// One design component, reduced to the Kubernetes object it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    /// The component's type (OAM spec.type) or kind (Meshery declaration).
    pub kind: String,
    pub api_version: String,
    pub name: String,
    pub namespace: Option<String>,
    /// The object's spec (OAM settings, or the declaration's configuration.spec).
    pub spec: Value,
    /// The object's other top-level fields (a declaration's configuration: data, rules, ...).
    pub fields: Map<String, Value>,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    /// Meshery model (istio, linkerd, kubernetes) when the declaration names one.
    pub model: Option<String>,
}

impl Component {
    /// The Kubernetes object for this component.
    pub fn to_object(&self) -> Value {
        let mut metadata = Map::new();
        metadata.insert("name".into(), self.name.clone().into());
        if let Some(ns) = &self.namespace {
            metadata.insert("namespace".into(), ns.clone().into());
        }
        if !self.labels.is_empty() {
            metadata.insert("labels".into(), Value::Object(self.labels.clone()));
        }
        if !self.annotations.is_empty() {
            metadata.insert("annotations".into(), Value::Object(self.annotations.clone()));
        }
        let mut object = Map::new();
        object.insert("apiVersion".into(), self.api_version.clone().into());
        object.insert("kind".into(), self.kind.clone().into());
        object.insert("metadata".into(), Value::Object(metadata));
        for (k, v) in &self.fields {
            object.insert(k.clone(), v.clone());
        }
        if !self.spec.is_null() {
            object.insert("spec".into(), self.spec.clone());
        }
        Value::Object(object)
    }
}

const OAM_API_VERSION: &str = "design.meshmodel.io.k8s.APIVersion";
const OAM_KIND: &str = "design.meshmodel.io.k8s.Kind";

/// Parses one design entry. An entry that is neither shape is an error for that entry only.
pub fn parse_component(json: &str, code_prefix: &str) -> Result<Component, Error> {
    let invalid = |what: String| {
        error(
            format!("{code_prefix}-2001"),
            format!("design component is not usable: {what}"),
            "the design holds an entry that is neither an OAM Component nor a Meshery component declaration",
            "re-export the design from Meshery, or fix the component's kind, version and name",
        )
    };
    let value: Value = serde_json::from_str(json).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let str_at = |p: &str| {
        value
            .pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let obj_at = |p: &str| value.pointer(p).and_then(Value::as_object).cloned().unwrap_or_default();

    if value.get("kind").and_then(Value::as_str) == Some("Component") && value.pointer("/spec/type").is_some() {
        // OAM Component: type in spec.type, apiVersion/kind in annotations, object in settings.
        let mut annotations = obj_at("/metadata/annotations");
        let api_version = annotations
            .remove(OAM_API_VERSION)
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| invalid(format!("annotation {OAM_API_VERSION} is missing")))?;
        let kind = annotations
            .remove(OAM_KIND)
            .and_then(|v| v.as_str().map(str::to_string))
            .or_else(|| str_at("/spec/type"))
            .ok_or_else(|| invalid("spec.type is missing".into()))?;
        let name = str_at("/metadata/name").ok_or_else(|| invalid("metadata.name is missing".into()))?;
        return Ok(Component {
            kind,
            api_version,
            name,
            namespace: str_at("/metadata/namespace"),
            spec: value.pointer("/spec/settings").cloned().unwrap_or(Value::Null),
            fields: Map::new(),
            labels: obj_at("/metadata/labels"),
            annotations,
            model: None,
        });
    }

    if value.get("component").is_some() {
        // Meshery declaration: component.version is the apiVersion, component.kind the kind.
        let kind = str_at("/component/kind").ok_or_else(|| invalid("component.kind is missing".into()))?;
        let api_version = str_at("/component/version").ok_or_else(|| invalid("component.version is missing".into()))?;
        let name = str_at("/configuration/metadata/name")
            .or_else(|| str_at("/displayName"))
            .ok_or_else(|| invalid("neither configuration.metadata.name nor displayName is set".into()))?;
        let spec = value.pointer("/configuration/spec").cloned().unwrap_or(Value::Null);
        // The configuration is the object's content: keep data, rules, subjects and the rest.
        let fields: Map<String, Value> = obj_at("/configuration")
            .into_iter()
            .filter(|(k, _)| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "spec"))
            .collect();
        return Ok(Component {
            kind,
            api_version,
            name,
            namespace: str_at("/configuration/metadata/namespace"),
            spec,
            fields,
            labels: obj_at("/configuration/metadata/labels"),
            annotations: obj_at("/configuration/metadata/annotations"),
            model: str_at("/model/name"),
        });
    }

    Err(invalid(
        "it has neither kind \"Component\" with spec.type nor a \"component\" block".into(),
    ))
}

/// Plans a design whose components are Kubernetes objects of the mesh's (or any) kinds: each
/// usable component is applied (or deleted), each unusable one is rejected on its own.
/// Install components (`<Mesh>Mesh`) are rejected here: translators handle them themselves.
pub fn plan_design(request: &crate::DesignRequest, code_prefix: &str, mesh: &str) -> crate::DesignPlan {
    use crate::plan::{apply_all, delete_all, plan};
    let mut objects = Vec::new();
    let mut rejected = Vec::new();
    for (index, json) in request.components.iter().enumerate() {
        match parse_component(json, code_prefix) {
            Ok(c) if c.kind.ends_with("Mesh") => rejected.push(crate::RejectedComponent {
                index: index as u32,
                name: c.name.clone(),
                error: error(
                    format!("{code_prefix}-2002"),
                    format!("component {} of type {} cannot be deployed from a design by this translator", c.name, c.kind),
                    format!("installing the {mesh} control plane from a design is not supported by this translator version"),
                    format!("install {mesh} with the adapter's install operation, then deploy the design without this component"),
                ),
            }),
            Ok(c) => objects.push(c.to_object()),
            Err(e) => rejected.push(crate::RejectedComponent {
                index: index as u32,
                name: component_name(json),
                error: e,
            }),
        }
    }
    warn_about_traits(request.config.as_deref(), mesh);
    let n = objects.len();
    let plan = if request.delete {
        plan(format!("Design removed ({n} components)"), delete_all(&objects))
    } else {
        plan(format!("Design deployed ({n} components)"), apply_all(&objects))
    };
    crate::DesignPlan { plan, rejected }
}

/// Traits of an OAM Configuration (mTLS, automaticSidecarInjection, ...) are not applied by this
/// generic planner: each one is reported as a WARN so the user knows, instead of silence.
fn warn_about_traits(config: Option<&str>, mesh: &str) {
    let Some(config) = config.and_then(|c| serde_json::from_str::<Value>(c).ok()) else {
        return;
    };
    for component in config
        .pointer("/spec/components")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = component
            .get("componentName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        for t in component.get("traits").and_then(Value::as_array).into_iter().flatten() {
            let trait_name = t.get("name").and_then(Value::as_str).unwrap_or("unnamed");
            #[cfg(target_arch = "wasm32")]
            crate::progress::report_error(
                crate::Level::Warn,
                &error(
                    "WASMESH-SDK-2003",
                    format!("trait {trait_name} of component \"{name}\" was not applied"),
                    format!("this version of the {mesh} translator does not apply design traits"),
                    "apply the setting with the adapter's operations (for example the namespace injection operation)",
                ),
            );
            #[cfg(not(target_arch = "wasm32"))]
            let _ = (trait_name, name, mesh);
        }
    }
}

/// Best-effort name of an entry that could not be parsed, for the error message.
fn component_name(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| {
            ["/metadata/name", "/displayName", "/configuration/metadata/name"]
                .iter()
                .find_map(|p| v.pointer(p).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn oam_component_becomes_its_object() {
        let oam = json!({
            "kind": "Component",
            "metadata": {"name": "vs", "namespace": "shop", "labels": {"app": "a"},
                "annotations": {OAM_API_VERSION: "networking.istio.io/v1", OAM_KIND: "VirtualService", "keep": "me"}},
            "spec": {"type": "VirtualService", "settings": {"hosts": ["a"]}}
        });
        let c = parse_component(&oam.to_string(), "T").unwrap();
        assert_eq!(
            c.to_object(),
            json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                   "metadata": {"name": "vs", "namespace": "shop", "labels": {"app": "a"}, "annotations": {"keep": "me"}},
                   "spec": {"hosts": ["a"]}})
        );
    }

    #[test]
    fn meshery_declaration_becomes_its_object() {
        let decl = json!({
            "displayName": "fallback-name",
            "component": {"version": "policy.linkerd.io/v1beta3", "kind": "Server"},
            "model": {"name": "linkerd"},
            "configuration": {"metadata": {"name": "srv", "namespace": "emoji"}, "spec": {"port": 8080}, "data": {"k": "v"}}
        });
        let c = parse_component(&decl.to_string(), "T").unwrap();
        assert_eq!(c.model.as_deref(), Some("linkerd"));
        assert_eq!(c.to_object()["metadata"]["name"], "srv");
        assert_eq!(c.to_object()["spec"]["port"], 8080);
        assert_eq!(c.to_object()["apiVersion"], "policy.linkerd.io/v1beta3");
        assert_eq!(c.to_object()["data"]["k"], "v", "the rest of the configuration is kept");
    }

    #[test]
    fn unusable_entries_say_why() {
        let cases = [
            ("not json", "not JSON"),
            (
                "{\"kind\": \"Component\", \"spec\": {\"type\": \"X\"}, \"metadata\": {\"name\": \"n\"}}",
                "APIVersion",
            ),
            (
                "{\"component\": {\"kind\": \"Server\"}}",
                "component.version is missing",
            ),
            ("{\"something\": 1}", "neither"),
        ];
        for (json, says) in cases {
            let e = parse_component(json, "T").unwrap_err();
            assert_eq!(e.code, "T-2001");
            assert!(e.message.contains(says), "{json}: {}", e.message);
        }
    }
}
