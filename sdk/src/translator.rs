//! A translator described once: its mesh, its operations and the rules each one needs.
//!
//! A [`Translator`] is a `static` the plugin writes once. From it come
//!
//! - the `describe` answer ([`Translator::info`]),
//! - the dispatch of `plan` ([`Translator::plan`]): the operation's own planner, or `custom`,
//!   or the unknown-operation error,
//! - the manifest's per-operation rules ([`Translator::manifest_json`]): `manifest.json` stays a
//!   file the host reads without running plugin code, and [`translator!`](crate::translator!)
//!   adds a unit test (`cargo test` on the host target) that fails when the file is not exactly
//!   what the description generates,
//! - the design tables: the control-plane kind, the add-on kinds and the operation each runs,
//!   and the kinds passed through with their groups and versions.
//!
//! An operation key given twice, an add-on or control plane naming an operation that is not in
//! the table, or an empty code prefix stops the build: [`translator!`](crate::translator!)
//! checks the description in a `const` ([`Translator::assert_valid`]).
//!
//! ```ignore
//! use wasmesh_sdk::translator::{Addon, ControlPlane, Namespaces, Op, Rule, Translator};
//! use wasmesh_sdk::Category;
//!
//! const NAMESPACES: Rule = Rule::kube(&[""], &["namespaces"], &["get", "create", "patch"], Namespaces::Cluster);
//! const INJECT: Rule = Rule::namespace_metadata(&[], &["mymesh.io/inject"]);
//!
//! pub static MYMESH: Translator = Translator {
//!     name: "MYMESH",
//!     mesh: "mymesh",
//!     display: "MyMesh",
//!     version: env!("CARGO_PKG_VERSION"),
//!     code_prefix: MyMeshError::PREFIX,
//!     errors: MyMeshError::CODES,
//!     manifest: wasmesh_sdk::manifest!("manifest.json"),
//!     versions: || vec!["1.0.0".into()],
//!     control_plane: ControlPlane {
//!         kind: "MyMeshMesh",
//!         operation: "mymesh",
//!         namespace: "mymesh-system",
//!         settings: &["waitSeconds"],
//!         settings_remedy: "set settings.version to a MyMesh release such as \"1.0.0\"",
//!         install_first: "install MyMesh first, or add its component (MyMeshMesh) to the design",
//!     },
//!     addons: &[],
//!     kinds: &[],
//!     operations: &[
//!         Op::new("mymesh", "MyMesh service mesh", Category::Install, install::plan, &[&NAMESPACES]),
//!         Op::new("inject", "Enable injection on the namespace", Category::Configure, inject, &[&NAMESPACES, &INJECT]),
//!         Op::custom("Apply or delete custom Kubernetes YAML", &[]),
//!     ],
//!     design_rules: &[&NAMESPACES],
//!     outbound_hosts: &[],
//!     assets: false,
//! };
//! ```

use std::fmt::Write as _;

use crate::design::KindGroups;
use crate::{Category, Error, Info, OperationRequest, Plan};

/// How an operation is planned.
#[derive(Clone, Copy)]
pub enum Planner {
    /// The translator's own function.
    Own(fn(&OperationRequest) -> Result<Plan, Error>),
    /// The SDK's `custom`: apply or delete the YAML of the request's body ([`crate::ops::custom`]).
    Custom,
}

/// One operation: what SupportedOperations lists, the function that plans it, and the rules of
/// the manifest it needs.
#[derive(Clone, Copy)]
pub struct Op {
    pub key: &'static str,
    pub description: &'static str,
    pub category: Category,
    pub planner: Planner,
    /// The manifest rules this operation needs (each written once as a `const` and named by
    /// every operation that needs it).
    pub rules: &'static [&'static Rule],
}

impl Op {
    pub const fn new(
        key: &'static str,
        description: &'static str,
        category: Category,
        plan: fn(&OperationRequest) -> Result<Plan, Error>,
        rules: &'static [&'static Rule],
    ) -> Op {
        Op {
            key,
            description,
            category,
            planner: Planner::Own(plan),
            rules,
        }
    }

    /// Sample applications (category SampleApplication): one operation per (key, description),
    /// all planned by `plan`, which tells them apart by the request's key, and all needing
    /// `rules`. A plugin lists its sample apps once and puts them into its table with
    /// [`chain!`](crate::chain!):
    ///
    /// ```ignore
    /// const SAMPLES: [Op; 4] = Op::samples(wasmesh_samples::OPERATIONS, samples::plan, SAMPLE_RULES);
    /// operations: wasmesh_sdk::chain!(Op, &[/* before */], &SAMPLES, &[/* after */]),
    /// ```
    pub const fn samples<const N: usize>(
        apps: [(&'static str, &'static str); N],
        plan: fn(&OperationRequest) -> Result<Plan, Error>,
        rules: &'static [&'static Rule],
    ) -> [Op; N] {
        let mut ops = [Op::new("", "", Category::SampleApplication, plan, rules); N];
        let mut i = 0;
        while i < N {
            ops[i].key = apps[i].0;
            ops[i].description = apps[i].1;
            i += 1;
        }
        ops
    }

    /// The `custom` operation (key `custom`, category Custom), planned by the SDK.
    pub const fn custom(description: &'static str, rules: &'static [&'static Rule]) -> Op {
        Op {
            key: "custom",
            description,
            category: Category::Custom,
            planner: Planner::Custom,
            rules,
        }
    }
}

/// The number of elements of `parts` together, for [`chain!`](crate::chain!).
pub const fn total_len<T>(parts: &[&[T]]) -> usize {
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        n += parts[p].len();
        p += 1;
    }
    n
}

/// The elements of `parts` one after the other, for [`chain!`](crate::chain!). Panics (at
/// compile time in a `const`) when `N` is not their number, or is 0.
pub const fn join<T: Copy, const N: usize>(parts: &[&[T]]) -> [T; N] {
    assert!(
        N > 0 && total_len(parts) == N,
        "join: N must be the number of elements, and not 0"
    );
    // The array needs a value to start from: the first element, overwritten below.
    let mut p = 0;
    while parts[p].is_empty() {
        p += 1;
    }
    let mut out = [parts[p][0]; N];
    let (mut n, mut p) = (0, 0);
    while p < parts.len() {
        let mut i = 0;
        while i < parts[p].len() {
            out[n] = parts[p][i];
            n += 1;
            i += 1;
        }
        p += 1;
    }
    out
}

/// Joins `&'static` slices of `T` into one `&'static [T]`, usable in a `const` or `static`: a
/// rule list made of another plus its own (`chain!(&Rule, INSTALL_RULES, &[&EXTRA])`: "the
/// install's rules plus these"), or an operation table with a group made elsewhere
/// ([`Op::samples`]).
///
/// ```
/// use wasmesh_sdk::translator::{Namespaces, Rule};
/// const A: Rule = Rule::kube(&[""], &["namespaces"], &["get"], Namespaces::Cluster);
/// const B: Rule = Rule::kube(&[""], &["pods"], &["list"], Namespaces::All);
/// const INSTALL: &[&Rule] = &[&A];
/// const DESIGN: &[&Rule] = wasmesh_sdk::chain!(&Rule, INSTALL, &[&B]);
/// assert_eq!(DESIGN, &[&A, &B]);
/// ```
#[macro_export]
macro_rules! chain {
    ($ty:ty, $($part:expr),+ $(,)?) => {{
        const PARTS: &[&[$ty]] = &[$($part),+];
        const JOINED: [$ty; $crate::translator::total_len(PARTS)] = $crate::translator::join(PARTS);
        &JOINED
    }};
}

/// Which namespaces a Kubernetes rule covers (the manifest's `namespaces`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespaces {
    /// Cluster-scoped resources.
    Cluster,
    /// The namespace the request names.
    Request,
    /// Every namespace.
    All,
    /// These namespaces.
    Listed(&'static [&'static str]),
}

/// One rule of the manifest: a Kubernetes permission, or namespace metadata keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    Kube {
        api_groups: &'static [&'static str],
        resources: &'static [&'static str],
        verbs: &'static [&'static str],
        namespaces: Namespaces,
    },
    /// Namespace label and annotation keys the operation may set or remove (exact, or a
    /// prefix ending in `*`; `!key` excludes).
    NamespaceMetadata {
        labels: &'static [&'static str],
        annotations: &'static [&'static str],
    },
}

impl Rule {
    pub const fn kube(
        api_groups: &'static [&'static str],
        resources: &'static [&'static str],
        verbs: &'static [&'static str],
        namespaces: Namespaces,
    ) -> Rule {
        Rule::Kube {
            api_groups,
            resources,
            verbs,
            namespaces,
        }
    }

    pub const fn namespace_metadata(labels: &'static [&'static str], annotations: &'static [&'static str]) -> Rule {
        Rule::NamespaceMetadata { labels, annotations }
    }
}

/// The mesh's control plane as a design component.
#[derive(Clone, Copy, Debug)]
pub struct ControlPlane {
    /// Meshery's component kind ("LinkerdMesh").
    pub kind: &'static str,
    /// The operation that installs it.
    pub operation: &'static str,
    /// The namespace it lives in.
    pub namespace: &'static str,
    /// The component settings passed to the install as its options (JSON body).
    pub settings: &'static [&'static str],
    /// What the settings of a control-plane or add-on component should be, said when they are
    /// not usable.
    pub settings_remedy: &'static str,
    /// The remediation when the cluster does not serve a kind the mesh installs ("install
    /// Linkerd first, or add its component (LinkerdMesh) to the design").
    pub install_first: &'static str,
}

/// An add-on as a design component.
#[derive(Clone, Copy, Debug)]
pub struct Addon {
    /// Meshery's component kind, matched without regard to case.
    pub kind: &'static str,
    /// The operation it runs.
    pub operation: &'static str,
    /// The component settings passed to the operation as its options (JSON body).
    pub settings: &'static [&'static str],
}

/// Everything about a translator that is said once.
#[derive(Clone, Copy)]
pub struct Translator {
    /// MeshName as Meshery shows it ("LINKERD").
    pub name: &'static str,
    /// The mesh, lower case ("linkerd").
    pub mesh: &'static str,
    /// The mesh as messages say it ("Linkerd").
    pub display: &'static str,
    /// The translator's own version: `env!("CARGO_PKG_VERSION")`.
    pub version: &'static str,
    /// Every error code of this translator starts with it ("WASMESH-LINKERD").
    pub code_prefix: &'static str,
    /// The translator's own error numbers with their messages: its [`errors!`](crate::errors!)
    /// enum's `CODES`. The manifest lists them, with the SDK's ([`SDK_CODES`](crate::error::SDK_CODES)),
    /// so that the host can say every code a plugin may emit without running it.
    pub errors: &'static [(u32, &'static str)],
    /// The manifest's text, from [`manifest!`](crate::manifest!).
    pub manifest: &'static str,
    /// The mesh versions it installs, the default first.
    pub versions: fn() -> Vec<String>,
    pub control_plane: ControlPlane,
    pub addons: &'static [Addon],
    /// The CRD kinds it checks and passes through in designs, with their groups and versions.
    pub kinds: &'static [(&'static str, KindGroups)],
    pub operations: &'static [Op],
    /// The rules designs (Provision, ProcessOAM) need.
    pub design_rules: &'static [&'static Rule],
    pub outbound_hosts: &'static [&'static str],
    pub assets: bool,
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Translator {
    /// Panics (at compile time when used in a `const`, as [`translator!`](crate::translator!)
    /// does) when an operation key is given twice or is `design`, when the control plane or an
    /// add-on names an operation that is not in the table, when the code prefix is empty, or
    /// when an error number is given twice or is one of the SDK's.
    pub const fn assert_valid(&self) {
        assert!(!self.code_prefix.is_empty(), "the code prefix is empty");
        let errors = self.errors;
        let mut e = 0;
        while e < errors.len() {
            let mut f = e + 1;
            while f < errors.len() {
                assert!(errors[e].0 != errors[f].0, "an error number is given twice");
                f += 1;
            }
            let mut s = 0;
            while s < crate::error::SDK_NUMBERS.len() {
                assert!(
                    errors[e].0 != crate::error::SDK_NUMBERS[s],
                    "an error number is one of the SDK's"
                );
                s += 1;
            }
            e += 1;
        }
        let ops = self.operations;
        let mut i = 0;
        while i < ops.len() {
            assert!(
                !same(ops[i].key, "design"),
                "\"design\" names the rules of designs, not an operation"
            );
            let mut j = i + 1;
            while j < ops.len() {
                assert!(!same(ops[i].key, ops[j].key), "an operation key is given twice");
                j += 1;
            }
            i += 1;
        }
        assert!(
            self.has_operation(self.control_plane.operation),
            "the control plane's operation is not in the table"
        );
        let mut a = 0;
        while a < self.addons.len() {
            assert!(
                self.has_operation(self.addons[a].operation),
                "an add-on's operation is not in the table"
            );
            a += 1;
        }
    }

    const fn has_operation(&self, key: &str) -> bool {
        let mut i = 0;
        while i < self.operations.len() {
            if same(self.operations[i].key, key) {
                return true;
            }
            i += 1;
        }
        false
    }

    /// The operation with this key.
    pub fn operation(&self, key: &str) -> Option<&'static Op> {
        self.operations.iter().find(|o| o.key == key)
    }

    /// The add-on a design component of `kind` is (matched without regard to case).
    pub fn addon(&self, kind: &str) -> Option<&'static Addon> {
        self.addons.iter().find(|a| a.kind.eq_ignore_ascii_case(kind))
    }

    /// The answer to `describe`.
    pub fn info(&self) -> Info {
        Info {
            name: self.name.into(),
            mesh: self.mesh.into(),
            version: self.version.into(),
            mesh_versions: (self.versions)(),
            operations: self
                .operations
                .iter()
                .map(|o| crate::ops::operation(o.key, o.description, o.category))
                .collect(),
            capabilities: crate::manifest::capabilities(self.manifest),
        }
    }

    /// Plans the operation the request names.
    pub fn plan(&self, request: &OperationRequest) -> Result<Plan, Error> {
        match self.operation(&request.key).map(|o| o.planner) {
            Some(Planner::Own(plan)) => plan(request),
            Some(Planner::Custom) => crate::ops::custom(request, self.code_prefix),
            None => Err(crate::ops::unknown_operation(&request.key, self.code_prefix)),
        }
    }

    /// The error code `<prefix>-<number>`.
    pub fn code(&self, number: u32) -> String {
        format!("{}-{number}", self.code_prefix)
    }

    /// Every code the translator may emit, the SDK's and its own, by number: (code, message as
    /// written).
    pub fn codes(&self) -> Vec<(String, &'static str)> {
        let mut all: Vec<(u32, &'static str)> = crate::error::SDK_CODES.iter().chain(self.errors).copied().collect();
        all.sort_by_key(|(n, _)| *n);
        all.into_iter().map(|(n, m)| (self.code(n), m)).collect()
    }

    /// The manifest this description generates, as `manifest.json` holds it: one rule a line,
    /// each with the operations that name it (table order, `design` last), rules in the order
    /// the operations first name them.
    pub fn manifest_json(&self) -> String {
        let mut kube: Vec<(&Rule, Vec<&str>)> = Vec::new();
        let mut meta: Vec<(&Rule, Vec<&str>)> = Vec::new();
        let named = self
            .operations
            .iter()
            .map(|o| (o.key, o.rules))
            .chain(std::iter::once(("design", self.design_rules)));
        for (key, rules) in named {
            for rule in rules.iter().copied() {
                let list = if matches!(rule, Rule::Kube { .. }) {
                    &mut kube
                } else {
                    &mut meta
                };
                match list.iter_mut().find(|(r, _)| *r == rule) {
                    Some((_, keys)) if keys.contains(&key) => {}
                    Some((_, keys)) => keys.push(key),
                    None => list.push((rule, vec![key])),
                }
            }
        }
        let strings = |xs: &[&str]| {
            let quoted: Vec<String> = xs.iter().map(|x| serde_json::Value::from(*x).to_string()).collect();
            format!("[{}]", quoted.join(", "))
        };
        let line = |(rule, keys): &(&Rule, Vec<&str>)| match rule {
            Rule::Kube {
                api_groups,
                resources,
                verbs,
                namespaces,
            } => {
                let ns = match namespaces {
                    Namespaces::Cluster => "\"cluster\"".to_string(),
                    Namespaces::Request => "\"request\"".to_string(),
                    Namespaces::All => "\"all\"".to_string(),
                    Namespaces::Listed(names) => strings(names),
                };
                format!(
                    "    {{\"apiGroups\": {}, \"resources\": {}, \"verbs\": {}, \"namespaces\": {ns}, \"operations\": {}}}",
                    strings(api_groups),
                    strings(resources),
                    strings(verbs),
                    strings(keys)
                )
            }
            Rule::NamespaceMetadata { labels, annotations } => {
                let mut fields = Vec::new();
                if !labels.is_empty() {
                    fields.push(format!("\"labels\": {}", strings(labels)));
                }
                if !annotations.is_empty() {
                    fields.push(format!("\"annotations\": {}", strings(annotations)));
                }
                fields.push(format!("\"operations\": {}", strings(keys)));
                format!("    {{{}}}", fields.join(", "))
            }
        };
        let mut out = String::new();
        let _ = writeln!(out, "{{\n  \"wit\": \"{}\",", crate::manifest::WIT);
        let _ = writeln!(
            out,
            "  \"kube\": [\n{}\n  ],",
            kube.iter().map(line).collect::<Vec<_>>().join(",\n")
        );
        if !meta.is_empty() {
            let _ = writeln!(
                out,
                "  \"namespaceMetadata\": [\n{}\n  ],",
                meta.iter().map(line).collect::<Vec<_>>().join(",\n")
            );
        }
        let _ = writeln!(out, "  \"outboundHosts\": {},", strings(self.outbound_hosts));
        let codes: Vec<String> = self
            .codes()
            .iter()
            .map(|(code, message)| {
                format!(
                    "    {{\"code\": {}, \"message\": {}}}",
                    serde_json::Value::from(code.as_str()),
                    serde_json::Value::from(*message)
                )
            })
            .collect();
        let _ = writeln!(out, "  \"errors\": [\n{}\n  ],", codes.join(",\n"));
        let _ = writeln!(out, "  \"assets\": {}\n}}", self.assets);
        out
    }

    /// Fails (with the text the file should hold) when the embedded manifest is not what the
    /// description generates. [`translator!`](crate::translator!) runs it as a unit test.
    pub fn check_manifest(&self) -> Result<(), String> {
        let want = self.manifest_json();
        if self.manifest.trim_end() == want.trim_end() {
            return Ok(());
        }
        crate::manifest::parse(&want).map_err(|e| format!("the description generates an invalid manifest: {e}"))?;
        Err(format!(
            "manifest.json is not what the {} translator's description generates; make it exactly this:\n{want}",
            self.display
        ))
    }
}

/// Implements the translator world for `$ty` from a [`Translator`] description: `describe` and
/// `plan` come from the description, `provision` and `design_kinds` from the two functions
/// given; exports the component; checks the description at compile time; and adds a unit test
/// that `manifest.json` is what the description generates.
///
/// ```ignore
/// struct MyMesh;
/// wasmesh_sdk::translator!(MyMesh, MYMESH, provision: design::provision, design_kinds: design::design_kinds);
/// ```
#[macro_export]
macro_rules! translator {
    ($ty:ident, $desc:path, provision: $provision:path, design_kinds: $kinds:path $(,)?) => {
        const _: () = $desc.assert_valid();

        impl $crate::Guest for $ty {
            fn describe() -> $crate::Info {
                $desc.info()
            }

            fn plan(request: $crate::OperationRequest) -> ::core::result::Result<$crate::Plan, $crate::Error> {
                $desc.plan(&request)
            }

            fn provision(request: $crate::DesignRequest) -> ::core::result::Result<$crate::DesignPlan, $crate::Error> {
                $provision(&request)
            }
        }

        impl $crate::registry::Guest for $ty {
            fn design_kinds() -> ::std::vec::Vec<$crate::registry::DesignKind> {
                $kinds()
            }
        }

        $crate::export_translator!($ty);

        #[cfg(test)]
        #[test]
        fn manifest_json_is_what_the_description_generates() {
            if let Err(e) = $desc.check_manifest() {
                panic!("{e}");
            }
        }
    };
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const NS: Rule = Rule::kube(&[""], &["namespaces"], &["get"], Namespaces::Cluster);
    const CM: Rule = Rule::kube(
        &[""],
        &["configmaps"],
        &["get", "list"],
        Namespaces::Listed(&["a", "b"]),
    );
    const META: Rule = Rule::namespace_metadata(&["x.io/*"], &[]);

    fn noop(_: &OperationRequest) -> Result<Plan, Error> {
        Ok(crate::plan::plan("nothing", Vec::new()))
    }

    pub(crate) static DEMO: Translator = Translator {
        name: "DEMO",
        mesh: "demo",
        display: "Demo",
        version: "0.1.0",
        code_prefix: "WASMESH-DEMO",
        errors: &[(1100, "demo is broken: {why}")],
        manifest: "",
        versions: Vec::new,
        control_plane: ControlPlane {
            kind: "DemoMesh",
            operation: "demo",
            namespace: "demo-system",
            settings: &[],
            settings_remedy: "set settings.version",
            install_first: "install Demo first",
        },
        addons: &[Addon {
            kind: "ViewDemoAddon",
            operation: "view",
            settings: &[],
        }],
        kinds: &[],
        operations: &[
            Op::new("demo", "Demo mesh", Category::Install, noop, &[&NS, &META]),
            Op::new("view", "Viewer", Category::Configure, noop, &[&CM, &NS]),
            Op::custom("Custom YAML", &[]),
        ],
        design_rules: &[&NS, &META],
        outbound_hosts: &[],
        assets: false,
    };
    const _: () = DEMO.assert_valid();

    #[test]
    fn the_manifest_groups_operations_by_rule_and_parses() {
        let text = DEMO.manifest_json();
        let (rules, errors) = text.split_once("  \"errors\": [\n").unwrap();
        assert_eq!(
            rules,
            r#"{
  "wit": "wasmesh:adapter@0.1.0",
  "kube": [
    {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"], "namespaces": "cluster", "operations": ["demo", "view", "design"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"], "namespaces": ["a", "b"], "operations": ["view"]}
  ],
  "namespaceMetadata": [
    {"labels": ["x.io/*"], "operations": ["demo", "design"]}
  ],
  "outboundHosts": [],
"#
        );
        // Every code it may emit, the SDK's and its own, by number.
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), crate::error::SDK_CODES.len() + 1 + 3, "{errors}");
        assert_eq!(
            lines[0],
            r#"    {"code": "WASMESH-DEMO-1000", "message": "unknown operation \"{key}\""},"#
        );
        // The SDK's 1000-range codes come first, then the translator's own.
        let own = crate::error::SDK_CODES.iter().filter(|(n, _)| *n < 2000).count();
        assert_eq!(
            lines[own],
            r#"    {"code": "WASMESH-DEMO-1100", "message": "demo is broken: {why}"},"#
        );
        assert_eq!(lines[lines.len() - 3..], ["  ],", "  \"assets\": false", "}"]);
        let m = crate::manifest::parse(&text).unwrap();
        assert_eq!(m.capabilities.kube.len(), 2);
        assert_eq!(m.errors.len(), crate::error::SDK_CODES.len() + 1);
        let e = DEMO.check_manifest().unwrap_err();
        assert!(e.contains("\"operations\": [\"view\"]"), "{e}");
    }

    #[test]
    fn dispatch_finds_the_planner_and_refuses_an_unknown_key() {
        let request = |key: &str| OperationRequest {
            key: key.into(),
            namespace: "default".into(),
            version: String::new(),
            custom_body: String::new(),
            delete: false,
            operation_id: String::new(),
            username: String::new(),
            cluster: crate::ClusterInfo {
                name: "c".into(),
                server: "s".into(),
            },
        };
        assert_eq!(DEMO.plan(&request("view")).unwrap().summary, "nothing");
        let e = DEMO.plan(&request("nope")).unwrap_err();
        assert_eq!(e.code, "WASMESH-DEMO-1000");
        // `custom` is the SDK's, its errors under the translator's prefix.
        assert_eq!(DEMO.plan(&request("custom")).unwrap_err().code, "WASMESH-DEMO-1004");
        assert_eq!(DEMO.addon("viewdemoaddon").map(|a| a.operation), Some("view"));
    }

    #[test]
    fn samples_are_one_operation_each_with_the_shared_planner_and_rules() {
        const APPS: [Op; 2] = Op::samples([("a", "App A"), ("b", "App B")], noop, &[&NS]);
        const OPS: &[Op] = crate::chain!(Op, &[Op::custom("Custom YAML", &[])], &APPS);
        let keys: Vec<(&str, &str, Category)> = OPS.iter().map(|o| (o.key, o.description, o.category)).collect();
        assert_eq!(
            keys,
            [
                ("custom", "Custom YAML", Category::Custom),
                ("a", "App A", Category::SampleApplication),
                ("b", "App B", Category::SampleApplication)
            ]
        );
        assert!(OPS[2].rules == [&NS] && matches!(OPS[2].planner, Planner::Own(_)));
    }

    #[test]
    #[should_panic(expected = "one of the SDK's")]
    fn an_error_number_of_the_sdk_is_refused() {
        let t = Translator {
            errors: &[(1100, "a"), (2101, "b")],
            ..DEMO
        };
        t.assert_valid();
    }

    #[test]
    #[should_panic(expected = "given twice")]
    fn a_key_given_twice_is_refused() {
        const TWICE: &[Op] = &[
            Op::new("demo", "a", Category::Install, noop, &[]),
            Op::new("demo", "b", Category::Configure, noop, &[]),
        ];
        let t = Translator {
            operations: TWICE,
            ..DEMO
        };
        t.assert_valid();
    }
}
