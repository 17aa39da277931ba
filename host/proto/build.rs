use prost::Message;

fn main() {
    println!("cargo:rerun-if-changed=proto/meshops.proto");
    let fds = protox::compile(["proto/meshops.proto"], ["proto"]).expect("meshops.proto compiles");
    // The encoded descriptors serve gRPC reflection, so grpcurl and friends need no .proto file.
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("meshes_descriptor.bin"), fds.encode_to_vec()).expect("write the descriptor set");
    tonic_prost_build::configure()
        .compile_fds(fds)
        .expect("generate meshes gRPC code");
}
