//! The operator's configuration: which plugins to serve on which ports, and the limits of a call.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::errors::{Error, Result};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address every listener binds to.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where compiled plugins are cached; none compiles at every start.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default = "default_plugins")]
    pub plugins: Vec<PluginConfig>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory one plugin call may use.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: usize,
    /// Wall-clock time one plugin call may take.
    #[serde(default = "default_call_timeout_ms")]
    pub call_timeout_ms: u64,
    /// Largest custom_body accepted.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Largest plan (sum of its objects' JSON) accepted from a plugin.
    #[serde(default = "default_max_plan_bytes")]
    pub max_plan_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: default_memory_mib(),
            call_timeout_ms: default_call_timeout_ms(),
            max_body_bytes: default_max_body_bytes(),
            max_plan_bytes: default_max_plan_bytes(),
        }
    }
}

impl Limits {
    pub fn call_timeout(&self) -> Duration {
        Duration::from_millis(self.call_timeout_ms)
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Name used in logs and errors.
    pub name: String,
    /// A built-in translator ("linkerd", "istio") ...
    #[serde(default)]
    pub builtin: Option<String>,
    /// ... or a component file.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// The port Meshery reaches this adapter on (0 picks a free one).
    pub port: u16,
}

fn default_listen() -> String {
    "0.0.0.0".into()
}
fn default_memory_mib() -> usize {
    64
}
fn default_call_timeout_ms() -> u64 {
    10_000
}
fn default_max_body_bytes() -> usize {
    4 << 20
}
fn default_max_plan_bytes() -> usize {
    32 << 20
}

/// Istio on 10000 and Linkerd on 10001: the ports a Meshery server expects.
fn default_plugins() -> Vec<PluginConfig> {
    vec![
        PluginConfig {
            name: "istio".into(),
            builtin: Some("istio".into()),
            path: None,
            port: 10000,
        },
        PluginConfig {
            name: "linkerd".into(),
            builtin: Some("linkerd".into()),
            path: None,
            port: 10001,
        },
    ]
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            cache_dir: None,
            limits: Limits::default(),
            plugins: default_plugins(),
        }
    }
}

impl Config {
    pub fn from_yaml(text: &str) -> Result<Config> {
        let config: Config =
            serde_yaml::from_str(text).map_err(|e| Error::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        let mut ports = std::collections::HashSet::new();
        for p in &self.plugins {
            match (&p.builtin, &p.path) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(Error::Config(format!(
                        "plugin \"{}\" must name exactly one of builtin or path",
                        p.name
                    )));
                }
            }
            if p.port != 0 && !ports.insert(p.port) {
                return Err(Error::Config(format!(
                    "port {} is given to more than one plugin",
                    p.port
                )));
            }
        }
        if self.limits.memory_mib == 0 || self.limits.call_timeout_ms == 0 {
            return Err(Error::Config(
                "limits.memory_mib and limits.call_timeout_ms must be above 0".into(),
            ));
        }
        Ok(())
    }
}
