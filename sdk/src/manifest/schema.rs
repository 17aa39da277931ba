//! The JSON form of a plugin manifest, as stored in the `wasmesh:manifest` custom section.
//!
//! One file for both sides: the SDK compiles it as `wasmesh_sdk::manifest::schema` and the host
//! runtime includes it by path, so the plugin author and the host read the same schema. It may
//! depend only on `serde` and `serde_json`, which both crates have.
//!
//! ```json
//! {
//!   "wit": "wasmesh:adapter@0.1.0",
//!   "kube": [
//!     {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"], "namespaces": "request"},
//!     {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create", "patch"],
//!      "namespaces": ["mesh-system"], "operations": ["install", "design"]}
//!   ],
//!   "outboundHosts": [],
//!   "assets": false
//! }
//! ```
//!
//! `namespaces` is `"request"`, `"cluster"`, `"all"` or a list of namespace names. `operations`
//! names the operation keys that need the rule (`"design"` for designs); without it every
//! operation does. The host refuses a plugin whose rules name an operation it does not offer.
//! `namespaceMetadata` lists the namespace label and annotation keys the plugin may set or remove,
//! with the same optional `operations`: `[{"labels": ["istio-injection"], "operations": ["label"]}]`.
//! `errors` lists the codes the plugin may emit, `[{"code": "WASMESH-MYMESH-1101", "message":
//! "unknown version \"{wanted}\""}]` (the SDK's `Translator` generates it).
//! `kube`, `outboundHosts`, `assets`, `namespaceMetadata` and `errors` may be left out (nothing is declared);
//! unknown fields are an error.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The name of the custom section that holds the manifest.
pub const SECTION: &str = "wasmesh:manifest";

/// The WIT package a manifest must name in `wit`.
pub const WIT: &str = "wasmesh:adapter@0.1.0";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManifestJson {
    /// The contract the plugin is built against, e.g. "wasmesh:adapter@0.1.0".
    pub wit: String,
    /// Kubernetes permissions, in RBAC terms.
    #[serde(default)]
    pub kube: Vec<KubeRuleJson>,
    /// Outbound hosts the plugin would like to reach.
    #[serde(default)]
    pub outbound_hosts: Vec<String>,
    /// Whether the plugin can use a read-only asset directory.
    #[serde(default)]
    pub assets: bool,
    /// The namespace label and annotation keys the plugin sets or removes; any other key is
    /// refused (a label such as `pod-security.kubernetes.io/enforce` means more than it says).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_metadata: Vec<NamespaceKeysJson>,
    /// Every error code the plugin may emit, with its message as written (placeholders in
    /// braces), so that `wasmesh plugins --codes` lists them without running the plugin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorCodeJson>,
}

/// One error code a plugin may emit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorCodeJson {
    pub code: String,
    pub message: String,
}

/// Namespace metadata keys: exact, or a prefix ending in `*` (`linkerd.io/*`; `*` is any key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespaceKeysJson {
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub annotations: Vec<String>,
    /// The operation keys that use these keys (`"design"` for designs); empty: every operation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KubeRuleJson {
    pub api_groups: Vec<String>,
    pub resources: Vec<String>,
    pub verbs: Vec<String>,
    pub namespaces: NamespacesJson,
    /// The operation keys that need this rule (`"design"` for Provision/ProcessOAM). Empty:
    /// every operation needs it. Lets an operator grant a plugin only some of its operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
}

/// `"cluster"`, `"request"`, `"all"` or `["ns1", "ns2"]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamespacesJson {
    Cluster,
    Request,
    All,
    Listed(Vec<String>),
}

impl Serialize for NamespacesJson {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            NamespacesJson::Cluster => s.serialize_str("cluster"),
            NamespacesJson::Request => s.serialize_str("request"),
            NamespacesJson::All => s.serialize_str("all"),
            NamespacesJson::Listed(names) => names.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for NamespacesJson {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Scope;
        impl<'de> Visitor<'de> for Scope {
            type Value = NamespacesJson;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#""request", "cluster", "all" or a list of namespace names"#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                match v {
                    "cluster" => Ok(NamespacesJson::Cluster),
                    "request" => Ok(NamespacesJson::Request),
                    "all" => Ok(NamespacesJson::All),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<String>()? {
                    names.push(name);
                }
                Ok(NamespacesJson::Listed(names))
            }
        }
        d.deserialize_any(Scope)
    }
}

/// Parses manifest JSON (one object, nothing after it). Does not check `wit`.
pub fn parse(json: &[u8]) -> Result<ManifestJson, serde_json::Error> {
    serde_json::from_slice(json)
}
