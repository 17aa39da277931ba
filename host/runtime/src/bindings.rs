//! Host-side bindings of `wit/adapter.wit`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "translator",
    imports: { default: async },
    exports: { default: async },
    // Grants are compared (strict mode, intersections, tests).
    additional_derives: [PartialEq],
});
