//! The Meshery server's component registration endpoint, as the newest server decodes it
//! (CONTRACT.md, "Component registration over HTTP"): `POST /api/meshmodel/components/register`
//! with a JSON body `{connection, entityType: "component", entity: <standard padded base64 of
//! the definition JSON>}`. A body it cannot use is a 400 (a raw JSON object as entity too); a
//! usable one a 200 with an empty body. It can be told to fail the next requests with a 500.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// One registration the server accepted.
#[derive(Clone, Debug)]
pub struct Registration {
    pub connection: Value,
    pub definition: Value,
}

#[derive(Default)]
struct State {
    fail_next: usize,
    /// Requests answered with an injected 500.
    failed: usize,
    accepted: Vec<Registration>,
    /// Why each 400 was given.
    rejected: Vec<String>,
}

pub struct RegistrationServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RegistrationServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RegistrationServer {
    pub async fn start() -> Self {
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = tcp.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let changed = Arc::new(Notify::new());
        let (s, n) = (state.clone(), changed.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = tcp.accept().await else { continue };
                let (s, n) = (s.clone(), n.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (s, n) = (s.clone(), n.clone());
                        async move { Ok::<_, std::convert::Infallible>(handle(req, &s, &n).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            state,
            changed,
            task,
        }
    }

    /// The value of `meshery_server` that reaches it.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next `n` requests get a 500.
    pub fn fail_next(&self, n: usize) {
        self.state.lock().unwrap().fail_next = n;
    }

    pub fn accepted(&self) -> Vec<Registration> {
        self.state.lock().unwrap().accepted.clone()
    }

    pub fn rejected(&self) -> Vec<String> {
        self.state.lock().unwrap().rejected.clone()
    }

    pub fn failed(&self) -> usize {
        self.state.lock().unwrap().failed
    }

    /// Waits until `pred` holds of the accepted registrations (at most
    /// [`crate::EVENT_WAIT`]: a liveness bound), then returns them.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Registration]) -> bool) -> Vec<Registration> {
        let wait = async {
            loop {
                let notified = self.changed.notified();
                let accepted = self.accepted();
                if pred(&accepted) {
                    return accepted;
                }
                notified.await;
            }
        };
        match tokio::time::timeout(crate::EVENT_WAIT, wait).await {
            Ok(r) => r,
            Err(_) => panic!(
                "registration server: timed out waiting for {what}; accepted {} registrations, rejected {:?}",
                self.accepted().len(),
                self.rejected()
            ),
        }
    }
}

async fn handle(req: Request<Incoming>, state: &Mutex<State>, changed: &Notify) -> Response<Full<Bytes>> {
    let answer = |status: StatusCode, body: &str| {
        Response::builder()
            .status(status)
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()
    };
    if req.method() != Method::POST || req.uri().path() != "/api/meshmodel/components/register" {
        return answer(StatusCode::NOT_FOUND, "404 page not found");
    }
    {
        let mut s = state.lock().unwrap();
        if s.fail_next > 0 {
            s.fail_next -= 1;
            s.failed += 1;
            drop(s);
            changed.notify_waiters();
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "injected failure");
        }
    }
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let r = match decode(&bytes) {
        Ok(registration) => {
            state.lock().unwrap().accepted.push(registration);
            answer(StatusCode::OK, "")
        }
        Err(why) => {
            state.lock().unwrap().rejected.push(why.clone());
            answer(StatusCode::BAD_REQUEST, &why)
        }
    };
    changed.notify_waiters();
    r
}

/// What the server does with the body; Err is its 400.
pub fn decode(body: &[u8]) -> Result<Registration, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
    if v.get("entityType").and_then(Value::as_str) != Some("component") {
        return Err(format!("entityType is {}, not \"component\"", v["entityType"]));
    }
    let connection = v
        .get("connection")
        .filter(|c| c.is_object())
        .cloned()
        .ok_or("connection is not an object")?;
    let entity = v
        .get("entity")
        .and_then(Value::as_str)
        .ok_or("entity is not a string")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(entity)
        .map_err(|e| format!("entity is not standard base64: {e}"))?;
    let definition: Value =
        serde_json::from_slice(&raw).map_err(|e| format!("entity is not a JSON definition: {e}"))?;
    let text = |p: &str| definition.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty());
    for field in ["/schemaVersion", "/component/kind", "/component/version"] {
        text(field).ok_or_else(|| format!("definition has no {field}"))?;
    }
    let schema = text("/component/schema").ok_or("definition has an empty component.schema")?;
    serde_json::from_str::<Value>(schema).map_err(|e| format!("component.schema is not JSON: {e}"))?;
    let slug = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let model = text("/model/name").ok_or("definition has no model.name")?;
    if !slug(model) || !slug(text("/component/kind").unwrap_or_default()) {
        return Err("model.name or component.kind is not a slug".into());
    }
    if text("/status") != Some("enabled") {
        return Err("definition status is not \"enabled\"".into());
    }
    Ok(Registration { connection, definition })
}
