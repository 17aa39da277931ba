//! What a compiled component imports and exports, as wasmtime sees it: for `wasmesh inspect`.

use wasmtime::Engine;
use wasmtime::component::Component;
use wasmtime::component::types::ComponentItem;

/// A component's imports and exports, in the component's order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Surface {
    pub imports: Vec<Item>,
    pub exports: Vec<Item>,
}

/// One import or export: its name (`wasmesh:adapter/cluster@0.1.0`, `plan`), what it is, and for
/// an interface the functions it holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub name: String,
    /// "interface", "function", "type", "resource", "module", "component" or "core function".
    pub kind: &'static str,
    pub functions: Vec<String>,
}

pub(crate) fn of(engine: &Engine, component: &Component) -> Surface {
    let ty = component.component_type();
    Surface {
        imports: ty.imports(engine).map(|(n, i)| item(engine, n, i.ty)).collect(),
        exports: ty.exports(engine).map(|(n, i)| item(engine, n, i.ty)).collect(),
    }
}

fn item(engine: &Engine, name: &str, it: ComponentItem) -> Item {
    let (kind, functions) = match it {
        ComponentItem::ComponentInstance(i) => (
            "interface",
            i.exports(engine)
                .filter(|(_, e)| matches!(e.ty, ComponentItem::ComponentFunc(_)))
                .map(|(n, _)| n.to_string())
                .collect(),
        ),
        ComponentItem::ComponentFunc(_) => ("function", Vec::new()),
        ComponentItem::CoreFunc(_) => ("core function", Vec::new()),
        ComponentItem::Module(_) => ("module", Vec::new()),
        ComponentItem::Component(_) => ("component", Vec::new()),
        ComponentItem::Type(_) => ("type", Vec::new()),
        ComponentItem::Resource(_) => ("resource", Vec::new()),
    };
    Item {
        name: name.to_string(),
        kind,
        functions,
    }
}

/// The names a component imports (types left out), read from its bytes without compiling
/// anything; `plugin` names it in errors.
pub fn imports_of(plugin: &str, wasm: &[u8]) -> crate::Result<Vec<String>> {
    Ok(crate::manifest::scan(plugin, wasm)?
        .imports
        .iter()
        .map(|s| s.to_string())
        .collect())
}
