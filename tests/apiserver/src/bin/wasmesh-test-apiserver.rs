//! The test API server as a process: writes a kubeconfig for it and serves until killed.
//! Handy for pointing kubectl (or the test suite's real-cluster path,
//! WASMESH_TEST_KUBECONFIG) at it by hand.
//!
//!     cargo run -p wasmesh-test-apiserver -- /tmp/test-apiserver.kubeconfig

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: wasmesh-test-apiserver KUBECONFIG_PATH");
        std::process::exit(2);
    };
    let server = wasmesh_test_apiserver::ApiServer::start();
    if let Err(e) = std::fs::write(&path, server.kubeconfig()) {
        eprintln!("cannot write {path}: {e}");
        std::process::exit(1);
    }
    println!("serving {} (kubeconfig: {path})", server.url());
    loop {
        std::thread::park();
    }
}
