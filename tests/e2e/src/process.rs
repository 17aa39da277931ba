//! The real `wasmesh` binary in a process of its own, as the benches measure it: started with a
//! config file (both built-in plugins on free loopback ports), its listeners and metrics address
//! read from what it prints, its resident memory and open file descriptors read from /proc.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The workspace root (this crate is tests/e2e).
pub fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.ancestors().nth(2).unwrap_or(manifest).to_path_buf()
}

/// The `wasmesh` binary next to the running bench's own folder: `target/release/wasmesh` for a
/// bench in `target/release/deps` (`cargo bench`), `target/debug/wasmesh` for a dev build.
pub fn binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("wasmesh");
    bin.is_file().then_some(bin)
}

pub struct HostProcess {
    child: std::process::Child,
    /// Adapter name (ISTIO, LINKERD) to the address it serves on.
    pub listeners: HashMap<String, SocketAddr>,
    /// Where /metrics is served, when the configuration sets `metrics_addr`.
    pub metrics: Option<SocketAddr>,
    // Kept open: nothing more is printed on stdout, but a late write must not fail.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl HostProcess {
    /// Starts the binary with `cache_dir`, an audit log in `work` and the lines of `extra_config`
    /// (YAML, e.g. `metrics_addr: 127.0.0.1:0`), and returns when it says it is ready (both
    /// listeners bound), with the time that took.
    pub fn start(bin: &Path, work: &Path, cache_dir: &Path, extra_config: &str) -> (HostProcess, Duration) {
        let config = work.join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "listen: 127.0.0.1\ncache_dir: {}\naudit_log: {}\nplugins:\n  - {{name: istio, builtin: istio, port: 0}}\n  - {{name: linkerd, builtin: linkerd, port: 0}}\n{extra_config}",
                cache_dir.display(),
                work.join("audit.jsonl").display()
            ),
        )
        .unwrap();
        let t = Instant::now();
        let mut child = std::process::Command::new(bin)
            .arg("--config")
            .arg(&config)
            .arg("serve")
            .env("RUST_LOG", "warn")
            .env_remove("WASMESH_CONFIG")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start wasmesh");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut listeners = HashMap::new();
        let mut metrics = None;
        let mut line = String::new();
        loop {
            line.clear();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("wasmesh exited before it was ready");
            }
            // "serving LINKERD (linkerd) on 127.0.0.1:40123"
            if let Some(rest) = line.strip_prefix("serving ") {
                let mut words = rest.split_whitespace();
                let (Some(name), Some(addr)) = (words.next(), words.last()) else {
                    continue;
                };
                if let Ok(addr) = addr.parse() {
                    listeners.insert(name.to_string(), addr);
                }
            }
            // "metrics on http://127.0.0.1:40125/metrics"
            if let Some(rest) = line.trim().strip_prefix("metrics on http://") {
                metrics = rest.trim_end_matches("/metrics").parse().ok();
            }
            if line.starts_with("ready in") {
                break;
            }
        }
        let took = t.elapsed();
        (
            HostProcess {
                child,
                listeners,
                metrics,
                _stdout: out,
            },
            took,
        )
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory (VmRSS), in KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid())
    }

    /// Open file descriptors (sockets, files, the runtime's own).
    pub fn open_fds(&self) -> Option<usize> {
        open_fds(self.pid())
    }

    /// The text of one scrape of /metrics (None when not served or not answering).
    pub async fn scrape(&self) -> Option<String> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.metrics?;
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut raw = Vec::new();
        // The endpoint closes the connection after one answer.
        tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
            .await
            .ok()?
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (head, body) = text.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_string())
    }
}

/// Resident memory (VmRSS) of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Open file descriptors of process `pid`.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// The sum of the samples of metric `name` whose labels include every `(label, value)` of
/// `labels`, in an OpenMetrics text (`name{a="x",b="y"} 3`).
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let (set, value) = match rest.strip_prefix('{') {
                Some(r) => r.split_once("} ")?,
                None => ("", rest.strip_prefix(' ')?),
            };
            has_labels(set, labels).then(|| value.split_whitespace().next()?.parse::<f64>().ok())?
        })
        .sum()
}

/// Whether a sample's label set (`a="x",b="y"`) holds every one of `labels`.
fn has_labels(set: &str, labels: &[(&str, &str)]) -> bool {
    labels
        .iter()
        .all(|(k, v)| set.split(',').any(|p| p == format!("{k}=\"{v}\"")))
}

/// The label values of `label` among the samples of metric `name`, with each one's sum.
pub fn metric_by(text: &str, name: &str, label: &str, filter: &[(&str, &str)]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for line in text.lines() {
        let Some(set) = line.strip_prefix(name).and_then(|r| r.strip_prefix('{')) else {
            continue;
        };
        let Some((set, _)) = set.split_once("} ") else {
            continue;
        };
        if !has_labels(set, filter) {
            continue;
        }
        let Some(v) = set
            .split(',')
            .find_map(|p| p.strip_prefix(&format!("{label}=\"")).and_then(|x| x.strip_suffix('"')))
        else {
            continue;
        };
        if !out.iter().any(|(x, _)| x == v) {
            let mut labels: Vec<(&str, &str)> = filter.to_vec();
            labels.push((label, v));
            out.push((v.to_string(), metric_sum(text, name, &labels)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_summed_by_label() {
        let text = "# TYPE wasmesh_events_published counter\n\
wasmesh_events_published_total{plugin=\"istio\",level=\"info\"} 10\n\
wasmesh_events_published_total{plugin=\"istio\",level=\"warn\"} 2\n\
wasmesh_events_published_total{plugin=\"linkerd\",level=\"info\"} 7\n\
wasmesh_events_published_created{plugin=\"istio\",level=\"info\"} 1.7e9\n\
wasmesh_up 1\n";
        let name = "wasmesh_events_published_total";
        assert_eq!(metric_sum(text, name, &[("plugin", "istio")]), 12.0);
        assert_eq!(metric_sum(text, name, &[]), 19.0);
        assert_eq!(metric_sum(text, "wasmesh_up", &[]), 1.0);
        assert_eq!(
            metric_by(text, name, "level", &[("plugin", "istio")]),
            [("info".to_string(), 10.0), ("warn".to_string(), 2.0)]
        );
    }
}
