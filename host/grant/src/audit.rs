//! The audit trail: every capability decision, allowed or denied, as one JSON line in an
//! append-only file, and counted.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

use crate::rules::Action;

/// One decision.
#[derive(Debug, Serialize)]
pub struct Decision<'a> {
    pub time: String,
    pub plugin: &'a str,
    pub user: &'a str,
    pub operation_id: &'a str,
    /// The operation key (`design` for designs) whose rules the decision used.
    pub operation: &'a str,
    pub cluster: &'a str,
    pub server: &'a str,
    /// "read" (through the cluster import) or "plan" (a step of a plan).
    pub via: &'a str,
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    /// Whether the resource is namespaced (a cluster-wide list of a namespaced kind has none).
    pub namespaced: bool,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    pub allowed: bool,
}

/// Who asked, for the records of one call.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub plugin: String,
    pub user: String,
    pub operation_id: String,
    /// The operation key (`design` for designs).
    pub operation: String,
    pub cluster: String,
    pub server: String,
}

#[derive(Default)]
pub struct AuditLog {
    file: Option<Mutex<std::fs::File>>,
    /// plugin → (allowed, denied)
    counts: Mutex<std::collections::HashMap<String, (u64, u64)>>,
}

impl AuditLog {
    /// An audit log appending to `path` (created with its folder if missing), or only counting.
    pub fn open(path: Option<&Path>) -> std::io::Result<Self> {
        let file = match path {
            Some(p) => {
                if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                Some(Mutex::new(
                    std::fs::OpenOptions::new().create(true).append(true).open(p)?,
                ))
            }
            None => None,
        };
        Ok(Self {
            file,
            ..Default::default()
        })
    }

    pub fn record(&self, ctx: &Context, via: &str, action: &Action, name: &str, allowed: bool) {
        {
            let mut counts = self.counts.lock().unwrap();
            let c = counts.entry(ctx.plugin.clone()).or_default();
            if allowed {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
        let Some(file) = &self.file else { return };
        let decision = Decision {
            time: jiff::Timestamp::now().to_string(),
            plugin: &ctx.plugin,
            user: &ctx.user,
            operation_id: &ctx.operation_id,
            operation: &ctx.operation,
            cluster: &ctx.cluster,
            server: &ctx.server,
            via,
            verb: action.verb,
            group: action.group,
            resource: action.resource,
            namespaced: action.namespaced,
            namespace: action.namespace,
            name,
            allowed,
        };
        let mut line = serde_json::to_vec(&decision).expect("a decision serialises");
        line.push(b'\n');
        // One write per line: concurrent appends never interleave within a line.
        if let Err(e) = file.lock().unwrap().write_all(&line) {
            tracing::error!("audit log write failed: {e}");
        }
    }

    /// (allowed, denied) decisions so far about one plugin.
    pub fn counts(&self, plugin: &str) -> (u64, u64) {
        self.counts.lock().unwrap().get(plugin).copied().unwrap_or_default()
    }
}
