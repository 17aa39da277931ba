//! Kubernetes YAML in, checked objects out.

use std::cell::Cell;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

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
    if let Some(documents) = json_documents(body) {
        for (index, value) in documents.into_iter().enumerate() {
            push_document(&mut objects, value, index, code_prefix)?;
        }
    } else {
        let budget = Budget::for_body(body);
        for (index, doc) in serde_yaml::Deserializer::from_str(body).enumerate() {
            let value = budget.read(doc).map_err(|e| match e {
                Unreadable::Expands => error(
                    format!("{code_prefix}-1002"),
                    format!(
                        "YAML document {} expands past the limit: its aliases (*name) repeat anchored (&name) content to more than {} times the body's size",
                        index + 1,
                        EXPANSION_FACTOR
                    ),
                    "the custom body uses YAML anchors and aliases to repeat content far beyond its own size (a \"YAML bomb\")",
                    "write the repeated content out instead of aliasing it, or split the manifests into several operations",
                ),
                Unreadable::TooDeep(why) => error(
                    format!("{code_prefix}-1002"),
                    format!(
                        "YAML document {} nests lists or mappings deeper than {MAX_DEPTH} levels: {why}",
                        index + 1
                    ),
                    "the custom body nests far deeper than any Kubernetes object does",
                    "flatten the document; Kubernetes objects nest a few dozen levels at most",
                ),
                Unreadable::Yaml(why) => error(
                    format!("{code_prefix}-1001"),
                    format!("YAML document {} is not valid YAML: {why}", index + 1),
                    "the custom body has a syntax error",
                    "fix the YAML (check indentation and quoting) and run the operation again",
                ),
            })?;
            push_document(&mut objects, value, index, code_prefix)?;
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

/// One document of a body: nothing (empty), the items of a `kind: List`, or one object.
fn push_document(objects: &mut Vec<Value>, value: Value, index: usize, code_prefix: &str) -> Result<(), Error> {
    match value {
        Value::Null => {}
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
    Ok(())
}

/// The documents of a body that is JSON (one value, or several one after another), read as
/// JSON. serde_yaml reads YAML 1.1, where U+0085, U+2028 and U+2029 are line breaks: a JSON
/// string holding one would be changed (U+0085 became a space) or refused (in a key). None
/// when the body is not all JSON; it is then read as YAML.
fn json_documents(body: &str) -> Option<Vec<Value>> {
    let start = body.trim_start();
    if !(start.starts_with('{') || start.starts_with('[')) {
        return None;
    }
    serde_json::Deserializer::from_str(body)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .ok()
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
    if let Some(json) = json_documents(body) {
        let mut documents = json.into_iter();
        let value = documents.next().unwrap_or_default();
        if documents.next().is_some() {
            return Err("the options must be one JSON document, not several".into());
        }
        return mapping(value);
    }
    let mut documents = serde_yaml::Deserializer::from_str(body);
    let Some(first) = documents.next() else {
        return Ok(serde_json::Map::new());
    };
    let value = Budget::for_body(body).read(first).map_err(|e| match e {
        Unreadable::Expands => format!(
            "the options expand past the limit: their aliases (*name) repeat anchored (&name) content to more than {EXPANSION_FACTOR} times the body's size; write the values out instead"
        ),
        Unreadable::TooDeep(why) => {
            format!("the options nest lists or mappings deeper than {MAX_DEPTH} levels: {why}")
        }
        Unreadable::Yaml(why) => format!("the options are not valid YAML or JSON: {why}"),
    })?;
    if documents.next().is_some() {
        return Err("the options must be one YAML document, not several".into());
    }
    mapping(value)
}

fn mapping(value: Value) -> Result<serde_json::Map<String, Value>, String> {
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

/// How much a body may grow when its aliases are expanded, as a multiple of its size. Without
/// aliases a body yields at most 1.5 units per byte (every node and scalar byte takes a byte of
/// text; an escape such as `\L` gives 3 bytes for 2), so this leaves room for ordinary anchors
/// while a "YAML bomb" (many aliases of a large anchored node, or billion laughs) is refused
/// after work and memory proportional to the body. serde_yaml bounds only the number of alias
/// jumps, not what each jump copies: a 4 MiB body could otherwise expand to terabytes.
const EXPANSION_FACTOR: usize = 2;
/// How deep serde_yaml follows nested lists and mappings before it refuses a document.
const MAX_DEPTH: usize = 128;
/// What any body may expand to, however small: a few anchors in a short body are fine.
const MIN_EXPANSION_UNITS: usize = 256 << 10;

/// Units (one per node plus one per scalar byte) the documents of one body may still produce.
struct Budget {
    left: Cell<usize>,
    exceeded: Cell<bool>,
}

enum Unreadable {
    /// The aliases expand past the budget.
    Expands,
    /// Lists and mappings nested deeper than serde_yaml follows (128), with where.
    TooDeep(String),
    /// serde_yaml's message: what is wrong and where (line, column).
    Yaml(String),
}

impl Budget {
    fn for_body(body: &str) -> Budget {
        Budget {
            left: Cell::new(body.len().saturating_mul(EXPANSION_FACTOR).max(MIN_EXPANSION_UNITS)),
            exceeded: Cell::new(false),
        }
    }

    fn read<'de>(&self, doc: serde_yaml::Deserializer<'de>) -> Result<Value, Unreadable> {
        Bounded(self).deserialize(doc).map_err(|e| {
            let why = e.to_string();
            // serde_yaml's own bound on alias jumps says the same as ours, less plainly.
            if self.exceeded.get() || why.starts_with("repetition limit exceeded") {
                Unreadable::Expands
            } else if why.starts_with("recursion limit exceeded") {
                Unreadable::TooDeep(why)
            } else {
                Unreadable::Yaml(why)
            }
        })
    }

    fn charge<E: de::Error>(&self, units: usize) -> Result<(), E> {
        match self.left.get().checked_sub(units) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.exceeded.set(true);
                Err(E::custom("the document expands past the limit"))
            }
        }
    }
}

/// Builds a JSON value as serde_json's own visitor does, charging every node to the budget.
#[derive(Clone, Copy)]
struct Bounded<'a>(&'a Budget);

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.0.charge(1)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.0.charge(1)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.0.charge(1)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.0.charge(1)?;
        Number::deserialize(de::value::I128Deserializer::new(v)).map(Value::Number)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.0.charge(1)?;
        Number::deserialize(de::value::U128Deserializer::new(v)).map(Value::Number)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.0.charge(1)?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.0.charge(1 + v.len())?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.0.charge(1 + v.len())?;
        Ok(Value::String(v))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.0.charge(1)?;
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.0.charge(1)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.0.charge(1)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.0.charge(1 + key.len())?;
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
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
