//! The one table of the host's scalar settings: each is named once, with its configuration key,
//! and from that come its environment variable (`WASMESH_` and the key in capitals, dots as
//! underscores), its command-line flag (the key with `-`), its line in `wasmesh config default`,
//! and how a value given as text is read. Precedence: flag > environment > file > default.
//! The plugins (and tls) are nested and stay in the file.

use serde_json::Value;

use crate::config::{Config, LogFormat};

pub struct Setting {
    /// The key in the configuration file; `limits.x` is `x` under `limits:`.
    pub key: &'static str,
    pub help: &'static str,
    /// Shown commented out in the default file when the setting has no default value.
    pub example: &'static str,
    /// A switch: `--flag` alone means true.
    pub switch: bool,
    get: fn(&Config) -> Value,
    set: fn(&mut Config, &str) -> Result<(), String>,
}

impl Setting {
    pub fn env(&self) -> String {
        format!("WASMESH_{}", self.key.replace('.', "_").to_ascii_uppercase())
    }

    pub fn flag(&self) -> String {
        self.key.replace(['.', '_'], "-")
    }

    /// Sets the value from text (an environment variable or a flag).
    pub fn apply(&self, config: &mut Config, text: &str) -> Result<(), String> {
        (self.set)(config, text)
    }

    /// The value in `config`, as YAML (JSON scalars and lists are YAML); null when unset.
    pub fn value(&self, config: &Config) -> Value {
        (self.get)(config)
    }
}

fn number<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("\"{v}\" is not a whole number in range"))
}

fn switch(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("\"{v}\" is not true or false")),
    }
}

fn text(v: &str) -> Result<String, String> {
    Ok(v.to_string())
}

fn some_text(v: &str) -> Result<Option<String>, String> {
    Ok(Some(v.to_string()))
}

fn some_path(v: &str) -> Result<Option<std::path::PathBuf>, String> {
    Ok(Some(v.into()))
}

/// A comma-separated list.
fn list(v: &str) -> Result<Option<Vec<String>>, String> {
    Ok(Some(
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
    ))
}

fn log_format(v: &str) -> Result<LogFormat, String> {
    match v.trim() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("\"{v}\" is not text or json")),
    }
}

macro_rules! setting {
    ($key:literal, $help:literal, $example:literal, $switch:literal, |$c:ident| $field:expr, $parse:expr) => {
        Setting {
            key: $key,
            help: $help,
            example: $example,
            switch: $switch,
            get: |$c| serde_json::to_value(&$field).expect("settings are plain values"),
            set: |$c, v| {
                $field = $parse(v)?;
                Ok(())
            },
        }
    };
}

/// Settings that guard what plugins and callers may do. The environment and flags may change
/// them (containers are often configured that way), but never silently: each change is logged
/// at start, and strict mode set in the file cannot be switched off from outside it.
pub const GUARDS: &[&str] = &[
    // Who may call: the gRPC ports carry no authentication by default.
    "listen",
    "strict",
    "allow_http_api_servers",
    "allowed_api_servers",
    "audit_log",
    "token_file",
    // Native code is loaded from the cache.
    "cache_dir",
    // Where plugin registrations go, and the address Meshery is told to dial back.
    "meshery_server",
    "advertise_host",
    // What a plugin's plan may cost the host, and who may read the metrics.
    "limits.max_plan_bytes",
    "metrics_addr",
];

/// Every scalar setting.
pub static SETTINGS: &[Setting] = &[
    setting!(
        "listen",
        "Address every listener binds to",
        "",
        false,
        |c| c.listen,
        text
    ),
    setting!(
        "cache_dir",
        "Folder of compiled plugins (default: $XDG_CACHE_HOME/wasmesh or ~/.cache/wasmesh)",
        "/var/cache/wasmesh",
        false,
        |c| c.cache_dir,
        some_path
    ),
    setting!(
        "strict",
        "Refuse a plugin whose declared capabilities are not all granted, or whose grant is cluster-admin equivalent without grant.clusterAdmin",
        "",
        true,
        |c| c.strict,
        switch
    ),
    setting!(
        "audit_log",
        "Append-only JSON-lines log of every capability decision (default: $XDG_STATE_HOME/wasmesh/audit.jsonl)",
        "/var/log/wasmesh/audit.jsonl",
        false,
        |c| c.audit_log,
        some_path
    ),
    setting!(
        "allowed_api_servers",
        "API servers a kubeconfig may send the host to: networks, addresses or host names (comma-separated in the environment and flags); unset: any https server",
        "[10.0.0.0/8, api.example.com]",
        false,
        |c| c.allowed_api_servers,
        list
    ),
    setting!(
        "allow_http_api_servers",
        "Let kubeconfigs name plain http:// API servers (credentials would cross the network in clear)",
        "",
        true,
        |c| c.allow_http_api_servers,
        switch
    ),
    setting!(
        "token_file",
        "File holding the bearer token every gRPC caller must send (health checks excepted)",
        "/etc/wasmesh/token",
        false,
        |c| c.token_file,
        some_path
    ),
    setting!(
        "metrics_addr",
        "Address and port of the Prometheus /metrics endpoint (plain HTTP); unset: no metrics served",
        "127.0.0.1:9464",
        false,
        |c| c.metrics_addr,
        some_text
    ),
    setting!(
        "shutdown_grace_seconds",
        "How long SIGTERM or SIGINT waits for operations in flight before stopping them with an ERROR event",
        "",
        false,
        |c| c.shutdown_grace_seconds,
        number
    ),
    setting!(
        "meshery_server",
        "Meshery server each plugin registers its design kinds with (also read from MESHERY_SERVER); unset: no registration",
        "http://meshery:9081",
        false,
        |c| c.meshery_server,
        some_text
    ),
    setting!(
        "advertise_host",
        "Host name the Meshery server reaches the adapters on, sent with the registration (also read from SERVICE_ADDR)",
        "wasmesh.meshery.svc",
        false,
        |c| c.advertise_host,
        some_text
    ),
    setting!(
        "registration_interval_seconds",
        "Seconds between registration rounds",
        "",
        false,
        |c| c.registration_interval_seconds,
        number
    ),
    setting!(
        "log_format",
        "Log format on stderr: text or json",
        "",
        false,
        |c| c.log_format,
        log_format
    ),
    setting!(
        "limits.memory_mib",
        "Linear memory one plugin call may use (MiB)",
        "",
        false,
        |c| c.limits.memory_mib,
        number
    ),
    setting!(
        "limits.call_timeout_ms",
        "Wall-clock time one plugin call may take (ms)",
        "",
        false,
        |c| c.limits.call_timeout_ms,
        number
    ),
    setting!(
        "limits.max_body_bytes",
        "Largest custom body or design accepted (bytes)",
        "",
        false,
        |c| c.limits.max_body_bytes,
        number
    ),
    setting!(
        "limits.max_plan_bytes",
        "Largest plan accepted from a plugin (bytes); the host copies at most twice this (at least 32 MiB) out of one plugin call",
        "",
        false,
        |c| c.limits.max_plan_bytes,
        number
    ),
    setting!(
        "limits.max_wait_seconds",
        "Longest wait a plan step may ask for; longer ones are cut to this",
        "",
        false,
        |c| c.limits.max_wait_seconds,
        number
    ),
    setting!(
        "limits.max_in_flight",
        "Operations and designs in flight at once per adapter; more are refused as busy",
        "",
        false,
        |c| c.limits.max_in_flight,
        number
    ),
    setting!(
        "limits.max_clusters",
        "Kubeconfigs (clusters) one request may name",
        "",
        false,
        |c| c.limits.max_clusters,
        number
    ),
    setting!(
        "limits.operation_timeout_seconds",
        "Longest one operation or design may take on a cluster, waits included",
        "",
        false,
        |c| c.limits.operation_timeout_seconds,
        number
    ),
    setting!(
        "limits.max_plan_steps",
        "Most steps one plan may have",
        "",
        false,
        |c| c.limits.max_plan_steps,
        number
    ),
    setting!(
        "limits.drift_max_watches",
        "Drift detection: most watches (one per cluster, kind and namespace) one plugin holds",
        "",
        false,
        |c| c.limits.drift_max_watches,
        number
    ),
    setting!(
        "limits.drift_max_objects",
        "Drift detection: most objects one plugin watches, over every cluster",
        "",
        false,
        |c| c.limits.drift_max_objects,
        number
    ),
    setting!(
        "limits.max_plan_waits",
        "Most wait steps one plan may have",
        "",
        false,
        |c| c.limits.max_plan_waits,
        number
    ),
];

/// The commented default configuration file (`wasmesh config default`).
pub fn default_file() -> String {
    let config = Config::default();
    let mut out = String::from(
        "# wasmesh configuration: every setting with its default.\n\
         # Precedence: command-line flag > environment variable > this file > default.\n\
         # Check a file with `wasmesh config check FILE`.\n",
    );
    let mut section = "";
    for s in SETTINGS {
        let (parent, name) = s.key.split_once('.').unwrap_or(("", s.key));
        if parent != section {
            out.push_str(&format!("\n{parent}:\n"));
            section = parent;
        }
        let indent = if parent.is_empty() { "" } else { "  " };
        out.push_str(&format!(
            "\n{indent}# {}\n{indent}# environment {}, flag --{}\n",
            s.help,
            s.env(),
            s.flag()
        ));
        match s.value(&config) {
            Value::Null => out.push_str(&format!("{indent}# {name}: {}\n", s.example)),
            v => out.push_str(&format!("{indent}{name}: {v}\n")),
        }
    }
    out.push_str(
        "\n# Plugins (file only): each is served on its own port as one Meshery adapter. A plugin is\n\
         # `builtin: istio|linkerd` or `path: FILE.wasm`, with optional sha256, grant, identity and\n\
         # assets (a read-only folder; see the README's Security and Configuration sections).\n\
         plugins:\n",
    );
    for p in &config.plugins {
        out.push_str(&format!(
            "  - name: {}\n    builtin: {}\n    port: {}\n",
            p.name,
            p.builtin.as_deref().unwrap_or_default(),
            p.port
        ));
    }
    out.push_str(
        "\n# Transport security of the listeners (file only); off by default, as Meshery dials plain gRPC.\n\
         # tls: {cert: /etc/wasmesh/tls.crt, key: /etc/wasmesh/tls.key, client_ca: /etc/wasmesh/meshery-ca.crt}\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_reads_back_what_it_wrote_and_names_are_unique() {
        let mut envs = std::collections::HashSet::new();
        for s in SETTINGS {
            assert!(envs.insert(s.env()), "{} twice", s.key);
            let mut c = Config::default();
            let before = s.value(&c);
            let text = match &before {
                Value::Null => s.example.trim_matches(['[', ']']).to_string(),
                Value::String(t) => t.clone(),
                v => v.to_string(),
            };
            s.apply(&mut c, &text).unwrap_or_else(|e| panic!("{}: {e}", s.key));
            assert_ne!(s.value(&c), Value::Null, "{}", s.key);
        }
        let mut c = Config::default();
        let s = SETTINGS.iter().find(|s| s.key == "limits.memory_mib").unwrap();
        assert!(
            s.apply(&mut c, "lots")
                .unwrap_err()
                .contains("\"lots\" is not a whole number")
        );
    }

    #[test]
    fn the_readme_lists_every_setting() {
        let readme = include_str!("../../../README.md");
        for s in SETTINGS.iter().filter(|s| !s.key.starts_with("limits.")) {
            assert!(
                readme.contains(&format!("| `{}` |", s.key)),
                "README: no row for {}",
                s.key
            );
        }
    }

    #[test]
    fn the_default_file_is_the_default_config() {
        let text = default_file();
        assert_eq!(Config::from_yaml(&text).unwrap(), Config::default());
        assert!(text.contains("# environment WASMESH_METRICS_ADDR, flag --metrics-addr"));
        assert!(text.contains("# metrics_addr: 127.0.0.1:9464"));
    }
}
