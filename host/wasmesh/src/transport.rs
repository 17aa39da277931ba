//! Who may call the listeners: optional TLS (with mutual TLS), and an optional bearer token.
//! Both are off by default, since Meshery dials adapters in plain gRPC today; a deployment that
//! cannot rely on a network policy alone turns them on in the configuration.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};
use tonic::{Request, Status};

use crate::config::Config;
use crate::errors::{Error, Result};

/// What the listeners require of callers, read from the configuration's files once at start.
#[derive(Clone, Default)]
pub struct Transport {
    pub tls: Option<ServerTlsConfig>,
    /// sha256 of the token callers must send; compared digest to digest so that the time taken
    /// says nothing about the token.
    token: Option<Arc<[u8; 32]>>,
}

fn read(what: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Config(format!("{what} {}: {e}", path.display())))
}

impl Transport {
    pub fn load(config: &Config) -> Result<Transport> {
        let tls = match &config.tls {
            None => None,
            Some(t) => {
                let identity = Identity::from_pem(read("tls.cert", &t.cert)?, read("tls.key", &t.key)?);
                let mut tls = ServerTlsConfig::new().identity(identity);
                if let Some(ca) = &t.client_ca {
                    tls = tls.client_ca_root(Certificate::from_pem(read("tls.client_ca", ca)?));
                }
                Some(tls)
            }
        };
        let token = match &config.token_file {
            None => None,
            Some(path) => {
                let text = String::from_utf8(read("token_file", path)?)
                    .map_err(|_| Error::Config(format!("token_file {}: not UTF-8 text", path.display())))?;
                let token = text.trim();
                if token.len() < 16 {
                    return Err(Error::Config(format!(
                        "token_file {}: the token has {} characters; use at least 16 random ones",
                        path.display(),
                        token.len()
                    )));
                }
                if tls.is_none() {
                    tracing::warn!("token_file is set without tls: the token crosses the network in clear");
                }
                Some(Arc::new(Sha256::digest(token.as_bytes()).into()))
            }
        };
        Ok(Transport { tls, token })
    }

    /// The interceptor every gRPC call passes: with a token configured, a call without
    /// `authorization: Bearer <token>` is refused before any handler runs.
    pub fn authorize(&self, req: Request<()>) -> std::result::Result<Request<()>, Status> {
        let Some(want) = &self.token else {
            return Ok(req);
        };
        let given = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let matches = given.is_some_and(|t| {
            let got: [u8; 32] = Sha256::digest(t.trim().as_bytes()).into();
            got.iter().zip(want.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        });
        if matches {
            Ok(req)
        } else {
            Err(Status::unauthenticated(
                "this adapter requires a bearer token (WASMESH-HOST-1022): send the metadata \
                 `authorization: Bearer <token>` with the token of the host's token_file",
            ))
        }
    }
}
