//! An in-process Kubernetes API server for the test suite (HTTPS, discovery, generic storage,
//! patches, server-side apply, watches, RBAC, impersonation, fault injection), and the
//! `TestCluster` helper that runs cluster tests against it or against a real cluster.

mod api;
mod cluster;
mod discovery;
mod errors;
mod faults;
mod patch;
mod proto;
mod rbac;
mod server;
mod storage;

pub use cluster::{KUBECONFIG_ENV, TestCluster, TestNamespace, cleanup};
pub use errors::ApiError;
pub use faults::{Fault, FaultAction};
pub use rbac::UserInfo;
pub use server::{ApiServer, FaultId, NAMESPACE_DELETION_DELAY, RequestRecord};

/// A kube client for a kubeconfig YAML (its current context).
pub async fn client_from_kubeconfig(kubeconfig: &str) -> kube::Client {
    let kc = kube::config::Kubeconfig::from_yaml(kubeconfig).expect("parse kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .expect("kubeconfig to config");
    kube::Client::try_from(config).expect("kube client")
}
