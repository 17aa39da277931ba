//! The HTTPS server: TLS with a per-server CA, bearer-token authentication, impersonation,
//! discovery, fault injection, the request log, and kubeconfig/token minting.

use crate::api::{self, Options, Reply};
use crate::errors::ApiError;
use crate::faults::{Armed, Fault, FaultAction, conflict_error, status_error};
use crate::rbac::{self, Attributes, UserInfo};
use crate::storage::State;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

type Body = BoxBody<Bytes, Infallible>;

/// One served request, as `ApiServer::requests()` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string ("" when absent).
    pub query: String,
    /// The identity of the bearer token (None when authentication failed).
    pub user: Option<String>,
    /// The Impersonate-User header, when one was sent.
    pub impersonated_user: Option<String>,
    /// Who the request acted as: the impersonated user when impersonation was allowed, else `user`.
    pub effective_user: Option<String>,
    /// The response status; 0 when the connection was dropped on purpose (`drop_next`).
    pub status: u16,
}

#[derive(Default)]
struct Faults {
    fail_next: u32,
    fail_code: u16,
    drop_next: u32,
    delay: Duration,
    /// Faults aimed at particular requests, in the order injected; the first that hits a request
    /// acts on it.
    armed: Vec<Armed>,
}

/// Names one injected fault, to ask how often it hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultId(usize);

struct Shared {
    state: Arc<Mutex<State>>,
    tokens: Mutex<HashMap<String, UserInfo>>,
    log: Mutex<Vec<RequestRecord>>,
    faults: Mutex<Faults>,
    deployments_become_available: AtomicBool,
    /// How long a deleted namespace stays Terminating before the namespace controller empties it.
    namespace_deletion_delay: Mutex<Duration>,
    address: String,
}

/// About how long a real cluster's namespace controller takes to start on a deleted namespace;
/// shorter than a real cluster's few seconds, long enough that a client which writes into a
/// namespace it just deleted sees the same refusals as there.
pub const NAMESPACE_DELETION_DELAY: Duration = Duration::from_secs(1);

/// An in-process Kubernetes API server on an ephemeral loopback port. Dropping it stops it.
pub struct ApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    admin_token: String,
    kubeconfig: String,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    /// Starts the server on 127.0.0.1:0. It runs on its own runtime thread, so it keeps serving
    /// while a test blocks (e.g. in a Drop) and works from both sync and async code.
    pub fn start() -> ApiServer {
        let (ca_pem, tls) = tls_config();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let admin_token = new_token();
        let shared = Arc::new(Shared {
            state: Arc::new(Mutex::new(State::new())),
            tokens: Mutex::new(HashMap::from([(
                admin_token.clone(),
                UserInfo {
                    name: "admin".into(),
                    groups: vec!["system:masters".into(), "system:authenticated".into()],
                },
            )])),
            log: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            deployments_become_available: AtomicBool::new(true),
            namespace_deletion_delay: Mutex::new(NAMESPACE_DELETION_DELAY),
            address: addr.to_string(),
        });
        let (shutdown, stop) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("apiserver-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.spawn(namespace_controller(thread_shared.clone()));
                rt.block_on(accept_loop(listener, tls, thread_shared, stop));
                // Open watches and connections die with the runtime.
                rt.shutdown_background();
            })
            .expect("spawn server thread");
        let mut server = ApiServer {
            shared,
            addr,
            ca_pem,
            admin_token,
            kubeconfig: String::new(),
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        server.kubeconfig = server.kubeconfig_for_token_as(&server.admin_token.clone(), "admin");
        server
    }

    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM of the CA that signed the serving certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The admin kubeconfig (user "admin" in group system:masters).
    pub fn kubeconfig(&self) -> &str {
        &self.kubeconfig
    }

    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A new token for a named user with the given groups (system:authenticated is added).
    pub fn token_for_user(&self, name: &str, groups: &[&str]) -> String {
        let mut groups: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
        if !groups.iter().any(|g| g == "system:authenticated") {
            groups.push("system:authenticated".into());
        }
        let token = new_token();
        self.shared.tokens.lock().expect("tokens").insert(
            token.clone(),
            UserInfo {
                name: name.into(),
                groups,
            },
        );
        token
    }

    /// How long a deleted namespace stays Terminating (refusing new objects) before it is emptied
    /// and removed; [`NAMESPACE_DELETION_DELAY`] by default.
    pub fn set_namespace_deletion_delay(&self, delay: Duration) {
        *self.shared.namespace_deletion_delay.lock().expect("delay") = delay;
    }

    /// A new token for system:serviceaccount:{namespace}:{name} with the ServiceAccount groups.
    /// The ServiceAccount object need not exist.
    pub fn token_for_service_account(&self, namespace: &str, name: &str) -> String {
        let token = new_token();
        self.shared
            .tokens
            .lock()
            .expect("tokens")
            .insert(token.clone(), UserInfo::service_account(namespace, name));
        token
    }

    /// A self-contained kubeconfig for this server that authenticates with `token`.
    pub fn kubeconfig_for_token(&self, token: &str) -> String {
        let user = self
            .shared
            .tokens
            .lock()
            .expect("tokens")
            .get(token)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "unknown".into());
        self.kubeconfig_for_token_as(token, &user)
    }

    /// A kubeconfig for a fresh ServiceAccount token.
    pub fn kubeconfig_for_service_account(&self, namespace: &str, name: &str) -> String {
        self.kubeconfig_for_token(&self.token_for_service_account(namespace, name))
    }

    fn kubeconfig_for_token_as(&self, token: &str, user: &str) -> String {
        let user_entry = user.replace(':', "-");
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "wasmesh-test", "cluster": {
                "server": self.url(),
                "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(&self.ca_pem),
            }}],
            "users": [{"name": user_entry, "user": {"token": token}}],
            "contexts": [{"name": "wasmesh-test", "context": {"cluster": "wasmesh-test", "user": user_entry, "namespace": "default"}}],
            "current-context": "wasmesh-test",
            "preferences": {},
        });
        serde_yaml::to_string(&doc).expect("kubeconfig yaml")
    }

    /// A kube client authenticated as admin.
    pub async fn client(&self) -> kube::Client {
        crate::client_from_kubeconfig(&self.kubeconfig).await
    }

    /// A kube client authenticated with `token`.
    pub async fn client_for_token(&self, token: &str) -> kube::Client {
        crate::client_from_kubeconfig(&self.kubeconfig_for_token(token)).await
    }

    /// Snapshot of the request log.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.lock().expect("log").clone()
    }

    pub fn clear_requests(&self) {
        self.shared.log.lock().expect("log").clear();
    }

    /// Answers the next `n` resource (non-discovery) requests with `status_code` and a Status body.
    pub fn fail_next(&self, n: u32, status_code: u16) {
        let mut f = self.shared.faults.lock().expect("faults");
        f.fail_next = n;
        f.fail_code = status_code;
    }

    /// Delays every response (discovery included) by `delay`; Duration::ZERO turns it off.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.faults.lock().expect("faults").delay = delay;
    }

    /// Closes the connection instead of answering the next `n` resource (non-discovery) requests.
    pub fn drop_next(&self, n: u32) {
        self.shared.faults.lock().expect("faults").drop_next = n;
    }

    /// Arms a fault aimed at particular requests (see [`Fault`]); it stays until
    /// [`ApiServer::clear_faults`].
    pub fn inject(&self, fault: Fault) -> FaultId {
        let mut f = self.shared.faults.lock().expect("faults");
        f.armed.push(Armed {
            fault,
            matched: 0,
            hit: 0,
        });
        FaultId(f.armed.len() - 1)
    }

    /// How many requests the fault has hit so far.
    pub fn hits(&self, id: FaultId) -> u32 {
        self.shared.faults.lock().expect("faults").armed[id.0].hit
    }

    /// Removes every fault injected with [`ApiServer::inject`]: the server answers normally again.
    pub fn clear_faults(&self) {
        self.shared.faults.lock().expect("faults").armed.clear();
    }

    /// Ends every open watch and makes every resourceVersion handed out so far too old to watch
    /// from: a watch resumed from one is answered `410 Gone` (an ERROR event, as kube-apiserver
    /// sends it after compacting its storage), so watchers must list again.
    pub fn expire_watches(&self) {
        self.shared.state.lock().expect("state").expire_watches();
    }

    /// Whether the simulated controllers mark deployments/statefulsets/daemonsets ready (default true).
    pub fn set_deployments_become_available(&self, on: bool) {
        self.shared.deployments_become_available.store(on, Ordering::SeqCst);
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(s) = self.shutdown.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh CA and a serving certificate for 127.0.0.1/localhost signed by it.
fn tls_config() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "wasmesh-test-ca");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("leaf params");
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "wasmesh-test-apiserver");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf cert");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone(), ca_cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .expect("server cert");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (ca_cert.pem(), Arc::new(config))
}

/// The namespace controller: empties and removes deleted namespaces once their delay is over.
async fn namespace_controller(shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let delay = *shared.namespace_deletion_delay.lock().expect("delay");
        api::finalize_namespaces(&mut shared.state.lock().expect("state"), delay);
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(_) => continue,
            },
        };
        // As a real API server does: no Nagle delay on small responses.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| serve(shared.clone(), req));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Returned from the service to make hyper close the connection (HTTP/1) or reset the stream (HTTP/2).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
struct Dropped;

async fn serve(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut record = RequestRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        user: None,
        impersonated_user: None,
        effective_user: None,
        status: 0,
    };
    let (delay, aimed) = {
        let mut f = shared.faults.lock().expect("faults");
        let method = record.method.clone();
        let aimed = f.armed.iter_mut().find_map(|a| a.take(&method, &record.path));
        (f.delay, aimed)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let aimed_reply = match aimed {
        None => None,
        Some(FaultAction::Delay(by)) => {
            tokio::time::sleep(by).await;
            None
        }
        Some(FaultAction::Drop) => {
            shared.log.lock().expect("log").push(record);
            return Err(Dropped);
        }
        Some(FaultAction::Status { code, retry_after }) => {
            let e = status_error(code, retry_after);
            let mut r = json_response(e.code, &e.to_status());
            if let Some(s) = retry_after {
                r.headers_mut().insert("retry-after", s.into());
            }
            Some(r)
        }
        // As the API Priority and Fairness filter answers: text, not a Status.
        Some(FaultAction::Throttle { retry_after }) => Some(
            Response::builder()
                .status(429)
                .header("content-type", "text/plain; charset=utf-8")
                .header("retry-after", retry_after)
                .body(Full::new(Bytes::from_static(b"Too many requests, please try again later.\n")).boxed())
                .expect("response"),
        ),
        Some(FaultAction::Conflict { manager }) => {
            let e = conflict_error(&manager);
            Some(json_response(e.code, &e.to_status()))
        }
    };
    if let Some(response) = aimed_reply {
        record.status = response.status().as_u16();
        shared.log.lock().expect("log").push(record);
        return Ok(response);
    }
    let resource_request = api::parse_target(&record.path).is_some();
    let outcome = respond(&shared, &parts, &body, &header, &mut record, resource_request);
    let response = match outcome {
        Err(Dropped) => {
            shared.log.lock().expect("log").push(record);
            return Err(Dropped);
        }
        Ok(Ok(Reply::Json(code, v))) => json_response(code, &v),
        Ok(Ok(Reply::Watch(rx))) => {
            let stream =
                futures::stream::unfold(
                    rx,
                    |mut rx| async move { rx.recv().await.map(|b| (Ok(Frame::data(b)), rx)) },
                );
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(StreamBody::new(stream).boxed())
                .expect("response")
        }
        Ok(Err(e)) => json_response(e.code, &e.to_status()),
    };
    record.status = response.status().as_u16();
    shared.log.lock().expect("log").push(record);
    Ok(response)
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(v).expect("json"))).boxed())
        .expect("response")
}

/// Authentication, impersonation, faults and dispatch. The outer Err means "drop the connection".
fn respond(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: &[u8],
    header: &dyn Fn(&str) -> String,
    record: &mut RequestRecord,
    resource_request: bool,
) -> Result<Result<Reply, ApiError>, Dropped> {
    let token = header("authorization")
        .strip_prefix("Bearer ")
        .map(str::trim)
        .map(String::from);
    let Some(user) = token.and_then(|t| shared.tokens.lock().expect("tokens").get(&t).cloned()) else {
        return Ok(Err(ApiError::unauthorized()));
    };
    record.user = Some(user.name.clone());
    let effective = match impersonate(shared, parts, &user, record) {
        Ok(u) => u,
        Err(e) => return Ok(Err(e)),
    };
    record.effective_user = Some(effective.name.clone());

    if resource_request {
        let mut faults = shared.faults.lock().expect("faults");
        if faults.drop_next > 0 {
            faults.drop_next -= 1;
            return Err(Dropped);
        }
        if faults.fail_next > 0 {
            faults.fail_next -= 1;
            return Ok(Err(ApiError::from_code(faults.fail_code)));
        }
    } else {
        return Ok(discovery(shared, &record.path));
    }

    let query: HashMap<String, String> = url::form_urlencoded::parse(record.query.as_bytes())
        .into_owned()
        .collect();
    let opts = Options {
        deployments_become_available: shared.deployments_become_available.load(Ordering::SeqCst),
    };
    let request = api::Request {
        method: parts.method.as_str(),
        path: &record.path,
        query: &query,
        content_type: &header("content-type"),
        accept: &header("accept"),
        body,
        user: &effective,
    };
    Ok(api::handle(&shared.state, &opts, &request))
}

/// Applies Impersonate-User/Impersonate-Group when the caller holds the impersonate verb.
fn impersonate(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    user: &UserInfo,
    record: &mut RequestRecord,
) -> Result<UserInfo, ApiError> {
    let Some(target) = parts
        .headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
    else {
        return Ok(user.clone());
    };
    record.impersonated_user = Some(target.clone());
    let groups: Vec<String> = parts
        .headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    let sa = target
        .strip_prefix("system:serviceaccount:")
        .and_then(|r| r.split_once(':'))
        .map(|(ns, n)| (ns.to_string(), n.to_string()));
    let mut checks = vec![match &sa {
        Some((ns, name)) => Attributes {
            verb: "impersonate".into(),
            resource: "serviceaccounts".into(),
            name: name.clone(),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        None => Attributes {
            verb: "impersonate".into(),
            resource: "users".into(),
            name: target.clone(),
            ..Default::default()
        },
    }];
    checks.extend(groups.iter().map(|g| Attributes {
        verb: "impersonate".into(),
        resource: "groups".into(),
        name: g.clone(),
        ..Default::default()
    }));
    let state = shared.state.lock().expect("state");
    for attrs in &checks {
        if !rbac::allowed(&state, user, attrs) {
            return Err(ApiError::forbidden(
                "",
                &attrs.resource,
                &attrs.name,
                attrs.deny_reason(&user.name),
            ));
        }
    }
    let mut effective = match (&sa, groups.is_empty()) {
        (Some((ns, name)), true) => UserInfo::service_account(ns, name),
        _ => UserInfo { name: target, groups },
    };
    if !effective.groups.iter().any(|g| g == "system:authenticated") {
        effective.groups.push("system:authenticated".into());
    }
    Ok(effective)
}

/// /version, /api, /apis, /api/v1, /apis/{group}[/{version}], /openapi/v3[/...]. Discovery is open to every
/// authenticated identity, like the system:discovery ClusterRole grants on a real cluster.
/// The aggregated discovery format kubectl asks for first is not served: the plain JSON
/// content-type makes kubectl fall back to these legacy documents.
fn discovery(shared: &Shared, path: &str) -> Result<Reply, ApiError> {
    let state = shared.state.lock().expect("state");
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let doc = match segs.as_slice() {
        ["version"] => Some(json!({
            "major": "1", "minor": "35", "gitVersion": "v1.35.0-wasmesh-test", "gitCommit": "", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64",
        })),
        ["healthz"] | ["readyz"] | ["livez"] => return Ok(Reply::Json(200, json!("ok"))),
        ["api"] => Some(state.registry.core_versions(&shared.address)),
        ["apis"] => Some(state.registry.group_list()),
        ["api", version] => state.registry.resource_list("", version),
        ["apis", group] => state.registry.group(group),
        ["apis", group, version] => state.registry.resource_list(group, version),
        ["openapi", "v3"] => Some(state.registry.openapi_v3_root()),
        ["openapi", "v3", "api", version] => state.registry.openapi_v3("", version),
        ["openapi", "v3", "apis", group, version] => state.registry.openapi_v3(group, version),
        _ => None,
    };
    doc.map(|d| Reply::Json(200, d)).ok_or_else(ApiError::unknown_resource)
}
