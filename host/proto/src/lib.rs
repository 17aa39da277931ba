//! Meshery's adapter gRPC contract: `meshes.MeshService` and `meshes.AdapterService`.

#![allow(clippy::large_enum_variant)]

pub mod meshes {
    tonic::include_proto!("meshes");
}
