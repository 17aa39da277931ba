//! Meshery's adapter gRPC contract: `meshes.MeshService` and `meshes.AdapterService`.

#![allow(clippy::large_enum_variant)]

pub mod meshes {
    tonic::include_proto!("meshes");
}

/// The compiled meshops.proto (an encoded `FileDescriptorSet`), for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/meshes_descriptor.bin"));
