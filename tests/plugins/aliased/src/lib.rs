//! A translator whose answers are small in its own memory and huge once copied: lists whose
//! strings all point at the same 16 MiB of its memory (the canonical ABI passes a string as a
//! pointer and a length, and nothing forbids many of them sharing one region), and lists longer
//! than any plan. Lifting them naively would copy terabytes into the host while the guest stays
//! well within its memory limit. `custom` and designs without "aliased" in them are normal, so a
//! test can show that the host still serves afterwards.

use std::sync::OnceLock;

use wasmesh_sdk::ops::{self, operation};
use wasmesh_sdk::plan::{namespace_change, plan, stage};
use wasmesh_sdk::{
    Category, DesignPlan, DesignRequest, Error, Guest, Info, OperationRequest, Plan, RejectedComponent, Stage, Step,
};

const CODE: &str = "ALIASED";

const MANIFEST: &str = wasmesh_sdk::manifest!("manifest.json");

/// The one region every aliased string points at.
const REGION: usize = 16 << 20;
/// How many times a list repeats it: REGION * ALIASES is 1.6 TiB once copied; the list itself
/// takes about 12 MB here.
const ALIASES: usize = 100_000;

struct Aliased;

const OPERATIONS: &[&str] = &["custom", "aliased-plan", "aliased-labels", "aliased-error", "long-list"];

/// A string that shares its bytes with every other one made here. Never dropped by this plugin:
/// the generated export code hands each string's pointer and length to the host as they are
/// (`into_boxed_slice` keeps the buffer when its capacity is its length) and forgets it.
fn alias() -> String {
    static REGION_AT: OnceLock<usize> = OnceLock::new();
    let at = *REGION_AT.get_or_init(|| Vec::leak(vec![b'x'; REGION]).as_mut_ptr() as usize);
    // SAFETY: the region is leaked, so it outlives every alias, and no alias is ever written
    // through or freed (the host refuses the answer before post-return would free it).
    unsafe { String::from_raw_parts(at as *mut u8, REGION, REGION) }
}

fn aliases(n: usize) -> Vec<String> {
    (0..n).map(|_| alias()).collect()
}

impl Guest for Aliased {
    fn describe() -> Info {
        Info {
            name: "ALIASED".into(),
            mesh: "aliased".into(),
            version: "0.1.0".into(),
            mesh_versions: vec!["1.0.0".into()],
            operations: OPERATIONS
                .iter()
                .map(|k| operation(k, "aliased-answer test operation", Category::Custom))
                .collect(),
            capabilities: wasmesh_sdk::manifest::capabilities(MANIFEST),
        }
    }

    fn plan(request: OperationRequest) -> Result<Plan, Error> {
        match request.key.as_str() {
            "custom" => ops::custom(&request, CODE),
            // 100 000 apply steps, each "object" the same 16 MiB.
            "aliased-plan" => Ok(plan(
                "aliased applies",
                vec![stage("apply", aliases(ALIASES).into_iter().map(Step::Apply).collect())],
            )),
            // Nested lists: 1000 namespace changes, each with 100 label pairs whose keys and
            // values are all the same 16 MiB.
            "aliased-labels" => {
                let steps = (0..1000)
                    .map(|_| {
                        let mut change = namespace_change(&request.namespace, false);
                        change.set_labels = (0..100).map(|_| (alias(), alias())).collect();
                        Step::NamespaceMetadata(change)
                    })
                    .collect();
                Ok(plan("aliased labels", vec![stage("label", steps)]))
            }
            // An error whose four texts are the same 16 MiB: 64 MiB once copied.
            "aliased-error" => Err(Error {
                code: alias(),
                message: alias(),
                probable_cause: alias(),
                suggested_remediation: alias(),
            }),
            // No aliasing: a million empty stages, 40 MB here (the list and its lowered copy) and 48 MB
            // in the host.
            "long-list" => Ok(Plan {
                stages: (0..1_000_000)
                    .map(|_| Stage {
                        name: String::new(),
                        steps: Vec::new(),
                    })
                    .collect(),
                summary: "long".into(),
            }),
            other => Err(ops::unknown_operation(other, CODE)),
        }
    }

    fn provision(request: DesignRequest) -> Result<DesignPlan, Error> {
        if !request.components.iter().any(|c| c.contains("aliased")) {
            return Ok(wasmesh_sdk::design::plan_design(&request, CODE, "aliased"));
        }
        // Every rejected component's name, and every apply, the same 16 MiB.
        let rejected = (0..ALIASES as u32)
            .map(|index| RejectedComponent {
                index,
                name: alias(),
                error: wasmesh_sdk::error(format!("{CODE}-1"), "rejected", "test", "none"),
            })
            .collect();
        Ok(DesignPlan {
            plan: plan(
                "aliased design",
                vec![stage("apply", aliases(1000).into_iter().map(Step::Apply).collect())],
            ),
            rejected,
        })
    }
}

/// 100 000 design kinds whose schemas are all the same 16 MiB.
impl wasmesh_sdk::registry::Guest for Aliased {
    fn design_kinds() -> Vec<wasmesh_sdk::registry::DesignKind> {
        (0..ALIASES)
            .map(|i| wasmesh_sdk::registry::DesignKind {
                kind: format!("Aliased{i}"),
                api_version: "example.com/v1".into(),
                display_name: "Aliased".into(),
                namespaced: true,
                schema: alias(),
            })
            .collect()
    }
}

wasmesh_sdk::export_translator!(Aliased);
