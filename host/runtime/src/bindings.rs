//! Host-side bindings of `wit/adapter.wit`.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "translator",
    imports: { default: async },
    exports: { default: async },
    // Grants are compared (strict mode, intersections, tests).
    additional_derives: [PartialEq],
});

/// The optional `registry` export (world `registrable-translator`): the same imports and types as
/// above, plus the kinds a translator registers with the Meshery server.
pub mod registrable {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "registrable-translator",
        imports: { default: async },
        exports: { default: async },
        additional_derives: [PartialEq],
        with: {
            "wasmesh:adapter/types": super::wasmesh::adapter::types,
            "wasmesh:adapter/cluster": super::wasmesh::adapter::cluster,
            "wasmesh:adapter/progress": super::wasmesh::adapter::progress,
        },
    });
}
