//! grpc.health.v1 and gRPC server reflection, served on every plugin listener next to Meshery's
//! services: Kubernetes probes and load balancers ask Check/Watch; grpcurl and similar tools
//! list and call the services without a copy of meshops.proto.

use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::errors::{Error, Result};

/// The per-service names a health check may ask about, besides "" (the whole listener).
pub const SERVICES: [&str; 2] = ["meshes.MeshService", "meshes.AdapterService"];

/// One listener's serving status.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
}

impl Health {
    /// The reporter and the Health service to add to the listener. Every status starts at
    /// NOT_SERVING: the listener says SERVING only once its plugin is loaded ([`Health::serving`]).
    pub async fn new() -> (
        Health,
        tonic_health::pb::health_server::HealthServer<impl tonic_health::pb::health_server::Health>,
    ) {
        let (reporter, service) = tonic_health::server::health_reporter();
        let health = Health { reporter };
        health.set(ServingStatus::NotServing).await;
        (health, service)
    }

    pub async fn serving(&self) {
        self.set(ServingStatus::Serving).await;
    }

    /// At shutdown: probes see the listener going away before it stops accepting.
    pub async fn not_serving(&self) {
        self.set(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        self.reporter.set_service_status("", status).await;
        for s in SERVICES {
            self.reporter.set_service_status(s, status).await;
        }
    }
}

/// gRPC server reflection (v1, and v1alpha for older clients) describing Meshery's services and
/// grpc.health.v1.
pub fn reflection() -> Result<(
    tonic_reflection::server::v1::ServerReflectionServer<impl tonic_reflection::server::v1::ServerReflection>,
    tonic_reflection::server::v1alpha::ServerReflectionServer<impl tonic_reflection::server::v1alpha::ServerReflection>,
)> {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(wasmesh_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let bad = |e: tonic_reflection::server::Error| Error::Config(format!("gRPC reflection: {e}"));
    Ok((
        builder().build_v1().map_err(bad)?,
        builder().build_v1alpha().map_err(bad)?,
    ))
}
