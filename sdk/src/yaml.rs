//! Kubernetes YAML in, checked objects out.

use serde::Deserialize;
use serde_json::Value;

use crate::{Error, error};

/// Largest body a translator parses; larger ones are refused before parsing. The host applies
/// its own, configurable limit (4 MiB by default) before a body reaches a translator.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Parses a multi-document YAML body into Kubernetes objects. Empty documents are skipped and a
/// `kind: List` is unrolled. Every object must carry apiVersion, kind and metadata.name; the first
/// one that does not fails the whole body, so nothing of a half-valid body is applied.
pub fn parse_objects(body: &str, code_prefix: &str) -> Result<Vec<Value>, Error> {
    if body.len() > MAX_BODY_BYTES {
        return Err(error(
            format!("{code_prefix}-1002"),
            format!(
                "the YAML body is {} bytes, over the limit of {} bytes",
                body.len(),
                MAX_BODY_BYTES
            ),
            "the custom body holds more than one operation should carry",
            "split the manifests into several operations",
        ));
    }
    let mut objects = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(body).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| {
            error(
                format!("{code_prefix}-1001"),
                format!("YAML document {} is not valid YAML: {e}", index + 1),
                "the custom body has a syntax error",
                "fix the YAML (check indentation and quoting) and run the operation again",
            )
        })?;
        match value {
            Value::Null => continue,
            Value::Object(_) if value.get("kind").and_then(Value::as_str) == Some("List") => {
                for item in value
                    .get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                {
                    objects.push(check_object(item, index, code_prefix)?);
                }
            }
            other => objects.push(check_object(other, index, code_prefix)?),
        }
    }
    if objects.is_empty() {
        return Err(error(
            format!("{code_prefix}-1004"),
            "the YAML body holds no Kubernetes object",
            "the custom body is empty or only has comments",
            "paste the manifests to apply into the custom body",
        ));
    }
    Ok(objects)
}

/// Operation options in a custom body: empty or blank (no options), or one YAML mapping (JSON is
/// YAML). Errors are messages a person can act on; the translator wraps them in its own error
/// code, since what the options are for is its business.
pub fn parse_mapping(body: &str) -> Result<serde_json::Map<String, Value>, String> {
    if body.len() > MAX_BODY_BYTES {
        return Err(format!(
            "the options are {} bytes, over the limit of {MAX_BODY_BYTES} bytes",
            body.len()
        ));
    }
    let mut documents = serde_yaml::Deserializer::from_str(body);
    let Some(first) = documents.next() else {
        return Ok(serde_json::Map::new());
    };
    let value = Value::deserialize(first).map_err(|e| format!("the options are not valid YAML or JSON: {e}"))?;
    if documents.next().is_some() {
        return Err("the options must be one YAML document, not several".into());
    }
    match value {
        Value::Null => Ok(serde_json::Map::new()),
        Value::Object(map) => Ok(map),
        other => Err(format!(
            "the options must be a mapping of option names to values, not {}",
            match other {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                _ => "a list",
            }
        )),
    }
}

fn check_object(value: Value, index: usize, code_prefix: &str) -> Result<Value, Error> {
    let doc = index + 1;
    let invalid = |what: &str| {
        error(
            format!("{code_prefix}-1003"),
            format!("YAML document {doc} is not a Kubernetes object: {what}"),
            "every document of the custom body must be a Kubernetes object",
            "give each document apiVersion, kind and metadata.name",
        )
    };
    if !value.is_object() {
        return Err(invalid("it is not a mapping"));
    }
    for (field, pointer) in [
        ("apiVersion", "/apiVersion"),
        ("kind", "/kind"),
        ("metadata.name", "/metadata/name"),
    ] {
        match value.pointer(pointer) {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => return Err(invalid(&format!("{field} is missing or empty"))),
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_comments() {
        let body = "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: b}}\n- {apiVersion: v1, kind: Service, metadata: {name: c}}\n";
        let objects = parse_objects(body, "T").unwrap();
        let names: Vec<_> = objects
            .iter()
            .map(|o| o["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn errors_name_the_document_and_the_field() {
        let cases = [
            ("kind: [x\n", "T-1001", "YAML document 1 is not valid YAML"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: ConfigMap\nmetadata: {name: b}\n",
                "T-1003",
                "document 2 is not a Kubernetes object: apiVersion",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ''}\n",
                "T-1003",
                "metadata.name is missing or empty",
            ),
            ("- a\n- b\n", "T-1003", "not a mapping"),
            ("", "T-1004", "holds no Kubernetes object"),
        ];
        for (body, code, says) in cases {
            let e = parse_objects(body, "T").unwrap_err();
            assert_eq!(e.code, code, "{body:?}");
            assert!(e.message.contains(says), "{body:?}: {}", e.message);
            assert!(!e.suggested_remediation.is_empty());
        }
    }

    #[test]
    fn option_mappings_in_yaml_or_json() {
        let yaml = parse_mapping("# options\nprofile: ambient\nwaitSeconds: 30\nnested: {a: [1, 2]}\n").unwrap();
        let json = parse_mapping(r#"{"profile": "ambient", "waitSeconds": 30, "nested": {"a": [1, 2]}}"#).unwrap();
        assert_eq!(yaml, json);
        assert_eq!(yaml["waitSeconds"], 30);
        assert!(parse_mapping("").unwrap().is_empty());
        assert!(parse_mapping("  \n# only a comment\n").unwrap().is_empty());
        let cases = [
            ("profile: [x\n", "not valid YAML or JSON"),
            ("- a\n- b\n", "not a list"),
            ("just words", "not a string"),
            ("a: 1\n---\nb: 2\n", "one YAML document"),
        ];
        for (body, says) in cases {
            let e = parse_mapping(body).unwrap_err();
            assert!(e.contains(says), "{body:?}: {e}");
        }
    }

    #[test]
    fn oversized_bodies_are_refused_before_parsing() {
        let body = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(parse_objects(&body, "T").unwrap_err().code, "T-1002");
    }
}
