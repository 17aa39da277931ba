fn main() {
    println!("cargo:rerun-if-changed=proto/meshops.proto");
    let fds = protox::compile(["proto/meshops.proto"], ["proto"]).expect("meshops.proto compiles");
    tonic_prost_build::configure()
        .compile_fds(fds)
        .expect("generate meshes gRPC code");
}
