//! A Meshery-like gRPC client, written independently of the host's .proto: the messages are
//! declared here by hand from the field numbers in shared/meshery/CONTRACT.md, so a drift in
//! the host's field numbers shows up as a failing test.

use prost::Message;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

#[derive(Clone, PartialEq, Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, Message)]
pub struct NameResponse {
    #[prost(string, tag = "1")]
    pub name: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct VersionsResponse {
    #[prost(string, repeated, tag = "1")]
    pub version: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ApplyRuleRequest {
    #[prost(string, tag = "1")]
    pub op_name: String,
    #[prost(string, tag = "2")]
    pub namespace: String,
    #[prost(string, tag = "3")]
    pub username: String,
    #[prost(string, tag = "4")]
    pub custom_body: String,
    #[prost(bool, tag = "5")]
    pub delete_op: bool,
    #[prost(string, tag = "6")]
    pub operation_id: String,
    #[prost(string, repeated, tag = "7")]
    pub kube_configs: Vec<String>,
    #[prost(string, tag = "8")]
    pub version: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ApplyRuleResponse {
    #[prost(string, tag = "1")]
    pub error: String,
    #[prost(string, tag = "2")]
    pub operation_id: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct SupportedOperation {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
    #[prost(int32, tag = "3")]
    pub category: i32,
}

#[derive(Clone, PartialEq, Message)]
pub struct SupportedOperationsResponse {
    #[prost(message, repeated, tag = "1")]
    pub ops: Vec<SupportedOperation>,
    #[prost(string, tag = "2")]
    pub error: String,
}

/// As the newest Meshery server declares it: probable_cause and suggested_remediation repeated.
#[derive(Clone, PartialEq, Message)]
pub struct EventsResponse {
    #[prost(int32, tag = "1")]
    pub event_type: i32,
    #[prost(string, tag = "2")]
    pub summary: String,
    #[prost(string, tag = "3")]
    pub details: String,
    #[prost(string, tag = "4")]
    pub operation_id: String,
    #[prost(string, repeated, tag = "5")]
    pub probable_cause: Vec<String>,
    #[prost(string, repeated, tag = "6")]
    pub suggested_remediation: Vec<String>,
    #[prost(string, tag = "7")]
    pub error_code: String,
    #[prost(string, tag = "8")]
    pub component: String,
    #[prost(string, tag = "9")]
    pub component_name: String,
}

pub const INFO: i32 = 0;
pub const WARN: i32 = 1;
pub const ERROR: i32 = 2;

#[derive(Clone, PartialEq, Message)]
pub struct ProcessOamRequest {
    #[prost(string, tag = "1")]
    pub username: String,
    #[prost(bool, tag = "2")]
    pub delete_op: bool,
    #[prost(string, repeated, tag = "3")]
    pub oam_comps: Vec<String>,
    #[prost(string, tag = "4")]
    pub oam_config: String,
    #[prost(string, repeated, tag = "7")]
    pub kube_configs: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ProvisionRequest {
    #[prost(string, tag = "1")]
    pub username: String,
    #[prost(bool, tag = "2")]
    pub delete_op: bool,
    #[prost(string, repeated, tag = "3")]
    pub declarations: Vec<String>,
    #[prost(string, repeated, tag = "4")]
    pub kube_configs: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MessageResponse {
    #[prost(string, tag = "1")]
    pub message: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct ComponentInfoResponse {
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub version: String,
    #[prost(string, tag = "4")]
    pub git_sha: String,
    #[prost(map = "string, string", tag = "5")]
    pub properties: std::collections::HashMap<String, String>,
}

/// Which generation of the Meshery server to imitate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// `meshes.MeshService`
    Mesh,
    /// `meshes.AdapterService` (the newest server)
    Adapter,
}

#[derive(Clone)]
pub struct Client {
    grpc: tonic::client::Grpc<Channel>,
    pub generation: Generation,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr, generation: Generation) -> Client {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .expect("connect to the adapter");
        Client::over(channel, generation)
    }

    /// A client on a channel the test made itself (its own connector, e.g. a given source
    /// address).
    pub fn over(channel: Channel, generation: Generation) -> Client {
        Client {
            grpc: tonic::client::Grpc::new(channel)
                .max_decoding_message_size(64 << 20)
                .max_encoding_message_size(64 << 20),
            generation,
        }
    }

    fn path(&self, mesh_rpc: &str, adapter_rpc: &str) -> PathAndQuery {
        let p = match self.generation {
            Generation::Mesh => format!("/meshes.MeshService/{mesh_rpc}"),
            Generation::Adapter => format!("/meshes.AdapterService/{adapter_rpc}"),
        };
        PathAndQuery::try_from(p).unwrap()
    }

    async fn unary<Req: Message + Send + Sync + 'static, Resp: Message + Default + Send + Sync + 'static>(
        &mut self,
        path: PathAndQuery,
        req: Req,
    ) -> Result<Resp, tonic::Status> {
        self.grpc
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let codec: ProstCodec<Req, Resp> = ProstCodec::default();
        Ok(self
            .grpc
            .unary(tonic::Request::new(req), path, codec)
            .await?
            .into_inner())
    }

    pub async fn name(&mut self) -> Result<String, tonic::Status> {
        let p = self.path("MeshName", "AdapterName");
        Ok(self.unary::<Empty, NameResponse>(p, Empty {}).await?.name)
    }

    pub async fn versions(&mut self) -> Result<Vec<String>, tonic::Status> {
        let p = self.path("MeshVersions", "AdapterVersions");
        Ok(self.unary::<Empty, VersionsResponse>(p, Empty {}).await?.version)
    }

    pub async fn supported_operations(&mut self) -> Result<SupportedOperationsResponse, tonic::Status> {
        let p = self.path("SupportedOperations", "SupportedOperations");
        self.unary(p, Empty {}).await
    }

    /// The keys of the operations the adapter offers, in its order: what the grant tests
    /// compare (SupportedOperations must answer).
    pub async fn operation_keys(&mut self) -> Vec<String> {
        let ops = self.supported_operations().await.expect("SupportedOperations").ops;
        ops.into_iter().map(|o| o.key).collect()
    }

    pub async fn component_info(&mut self) -> Result<ComponentInfoResponse, tonic::Status> {
        let p = self.path("ComponentInfo", "ComponentInfo");
        self.unary(p, Empty {}).await
    }

    pub async fn apply(&mut self, req: ApplyRuleRequest) -> Result<ApplyRuleResponse, tonic::Status> {
        let p = self.path("ApplyOperation", "ApplyOperation");
        self.unary(p, req).await
    }

    pub async fn provision(&mut self, req: ProvisionRequest) -> Result<String, tonic::Status> {
        let p = self.path("Provision", "Provision");
        Ok(self.unary::<_, MessageResponse>(p, req).await?.message)
    }

    /// Only older servers call ProcessOAM, on `meshes.MeshService`.
    pub async fn process_oam(&mut self, req: ProcessOamRequest) -> Result<String, tonic::Status> {
        let p = PathAndQuery::from_static("/meshes.MeshService/ProcessOAM");
        Ok(self.unary::<_, MessageResponse>(p, req).await?.message)
    }

    pub async fn stream_events(&mut self) -> Result<tonic::Streaming<EventsResponse>, tonic::Status> {
        let p = self.path("StreamEvents", "StreamEvents");
        self.grpc
            .ready()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let codec: ProstCodec<Empty, EventsResponse> = ProstCodec::default();
        Ok(self
            .grpc
            .server_streaming(tonic::Request::new(Empty {}), p, codec)
            .await?
            .into_inner())
    }
}
