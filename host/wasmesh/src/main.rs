//! The `wasmesh` command.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wasmesh::Config;
use wasmesh::grant::{self as caps, rbac};

#[derive(Parser)]
#[command(
    name = "wasmesh",
    version,
    about = "Meshery adapter host running mesh translators as WebAssembly components"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Configuration file (YAML). Without it: the built-in Istio (10000) and Linkerd (10001).
    #[arg(long, short, global = true, env = "WASMESH_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on, overriding the config.
    #[arg(long, global = true)]
    listen: Option<String>,
    /// Compile cache folder, overriding the config (default: ~/.cache/wasmesh).
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    /// Compile plugins at every start instead of caching them.
    #[arg(long, global = true)]
    no_cache: bool,
    /// Refuse a plugin whose declared capabilities are not all granted by the configuration.
    #[arg(long, global = true)]
    strict: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Serve Meshery's adapter gRPC interface (the default).
    Serve,
    /// List the plugins the configuration loads, with their operations and capabilities.
    Plugins,
    /// Print Kubernetes RBAC (YAML) for a restricted cluster: a ServiceAccount and Roles per
    /// plugin from its effective grant, and a host account that may only impersonate them.
    Rbac {
        #[command(flatten)]
        rbac: RbacArgs,
    },
    /// Print Kubernetes manifests (YAML) that run the host: the RBAC of `wasmesh rbac`, a
    /// ConfigMap with the configuration, a Deployment, a Service with session affinity, a
    /// PodDisruptionBudget and a NetworkPolicy admitting only the Meshery server.
    Deploy {
        #[command(flatten)]
        rbac: RbacArgs,
        /// Pods running the host.
        #[arg(long, default_value_t = 2)]
        replicas: u32,
        /// The host's container image (built from deploy/Containerfile).
        #[arg(long, default_value = concat!("wasmesh:", env!("CARGO_PKG_VERSION")))]
        image: String,
        /// The Meshery server's URL for registration (e.g. http://meshery.meshery.svc:9081).
        #[arg(long)]
        meshery_server: Option<String>,
        /// Port of the metrics HTTP endpoint.
        #[arg(long, default_value_t = 9464)]
        metrics_port: u16,
        /// Labels of the Meshery server's pods, the only callers admitted to the adapter ports.
        #[arg(long, default_value = "app.kubernetes.io/name=meshery")]
        meshery_selector: String,
        /// Namespace of the Meshery server (no namespace selector when it is --namespace).
        #[arg(long, default_value = "meshery")]
        meshery_namespace: String,
        /// Labels of the namespaces admitted to the metrics port (where Prometheus runs).
        #[arg(long, default_value = "kubernetes.io/metadata.name=monitoring")]
        metrics_namespace_selector: String,
    },
}

#[derive(clap::Args)]
struct RbacArgs {
    /// Namespace of the host's and the plugins' ServiceAccounts.
    #[arg(long, default_value = "wasmesh")]
    namespace: String,
    /// The host's own ServiceAccount.
    #[arg(long, default_value = "wasmesh-host")]
    host_service_account: String,
    /// A namespace requests may target (repeat it); grants scoped to the request's
    /// namespace become Roles there.
    #[arg(long = "request-namespace")]
    request_namespaces: Vec<String>,
}

/// `wasmesh rbac`'s YAML for the configuration's plugins.
async fn rbac_yaml(config: &Config, args: &RbacArgs) -> anyhow::Result<String> {
    let RbacArgs {
        namespace,
        host_service_account,
        request_namespaces,
    } = args;
    let (_rt, loaded, skipped) = wasmesh::load_plugins(config).await?;
    if let Some(s) = skipped.first() {
        anyhow::bail!(
            "plugin {} is not loaded, so its RBAC cannot be written: {}",
            s.plugin,
            s.reason
        );
    }
    let effective: Vec<_> = loaded.iter().map(|(_, _, g)| g.effective()).collect();
    let accounts: Vec<String> = loaded
        .iter()
        .map(|(pc, _, _)| match &pc.identity {
            Some(id) if &id.namespace == namespace => Ok(id.service_account.clone()),
            Some(id) => anyhow::bail!(
                "plugin {}'s identity is in namespace {}, but --namespace is {namespace}",
                pc.name,
                id.namespace
            ),
            None => Ok(format!("wasmesh-{}", pc.name)),
        })
        .collect::<anyhow::Result<_>>()?;
    let plugins: Vec<rbac::PluginRbac> = loaded
        .iter()
        .zip(&effective)
        .zip(&accounts)
        .map(|(((pc, _, _), rules), sa)| rbac::PluginRbac {
            plugin: &pc.name,
            service_account: sa,
            rules,
        })
        .collect();
    let options = rbac::RbacOptions {
        namespace,
        host_service_account,
        request_namespaces,
    };
    let problems = rbac::problems(&options, &plugins);
    if !problems.is_empty() {
        anyhow::bail!("cannot write usable RBAC: {}", problems.join("; "));
    }
    Ok(rbac::render(&options, &plugins))
}

fn load_config(common: &Common) -> anyhow::Result<Config> {
    let mut config = match &common.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Config::from_yaml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Config::default(),
    };
    if let Some(l) = &common.listen {
        config.listen = l.clone();
    }
    if common.no_cache {
        config.cache_dir = None;
    } else if let Some(d) = &common.cache_dir {
        config.cache_dir = Some(d.clone());
    } else if config.cache_dir.is_none() {
        config.cache_dir = default_cache_dir();
    }
    config.strict |= common.strict;
    if config.audit_log.is_none() {
        config.audit_log = default_audit_log();
    }
    Ok(config)
}

/// `$XDG_STATE_HOME/wasmesh/audit.jsonl`, or under `~/.local/state`.
fn default_audit_log() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("wasmesh").join("audit.jsonl"))
}

fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("wasmesh"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            // kube's client logs a response body it cannot parse: never let a cluster's data
            // reach the host's log that way, whatever RUST_LOG says.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info".into())
                .add_directive("kube_client::client=error".parse().expect("a valid directive")),
        )
        // Untrusted text (operation names, YAML, plugin messages) cannot start a log line.
        .with_writer(wasmesh::logging::OneLine(std::io::stderr))
        .init();
    let cli = Cli::parse();
    let config = load_config(&cli.common)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let started = std::time::Instant::now();
            let host = wasmesh::start(config).await?;
            for l in &host.listeners {
                println!("serving {} ({}) on {}", l.adapter_name, l.plugin, l.addr);
            }
            for s in &host.skipped {
                println!("not serving {}: {}", s.plugin, s.reason);
            }
            println!("ready in {} ms", started.elapsed().as_millis());
            host.serve_until_signal().await;
        }
        Command::Plugins => {
            let (_rt, loaded, skipped) = wasmesh::load_plugins(&config).await?;
            for (pc, p, grant) in &loaded {
                let info = p.info();
                println!(
                    "{} ({}): {} {} on port {}",
                    pc.name, info.name, info.mesh, info.version, pc.port
                );
                println!("  sha256: {}", p.sha256());
                println!("  wit: {}", wasmesh_runtime::WIT_PACKAGE);
                println!("  mesh versions: {}", info.mesh_versions.join(", "));
                for o in &info.operations {
                    let not = if grant.allows_operation(&o.key) {
                        ""
                    } else {
                        " (not granted)"
                    };
                    println!("  operation {} [{:?}]{not}: {}", o.key, o.category, o.description);
                }
                match &grant.operations {
                    Some(ops) if ops.is_empty() => println!("  granted operations: none"),
                    Some(ops) => println!("  granted operations: {}", ops.join(", ")),
                    None => println!("  granted operations: all, designs included"),
                }
                let show = |title: &str, rules: &[wasmesh_runtime::types::KubeRule]| {
                    println!("  {title}:");
                    if rules.is_empty() {
                        println!("    (nothing)");
                    }
                    for r in rules {
                        println!("    {}", caps::describe_rule(r));
                    }
                };
                // With an operation grant, only the rules those operations need stay declared.
                let declared = if grant.operations.is_some() {
                    "declared for the granted operations"
                } else {
                    "declared"
                };
                let declared_rules: Vec<_> = grant.declared.iter().map(|d| d.rule.clone()).collect();
                show(declared, &declared_rules);
                match &grant.granted {
                    Some(g) => show("granted", g),
                    None => println!("  granted: everything declared (no grant.kube in the configuration)"),
                }
                show("effective", &grant.effective());
                for k in grant.granted_namespace_keys() {
                    let ops = if k.operations.is_empty() {
                        "every operation".to_string()
                    } else {
                        k.operations.join(", ")
                    };
                    println!(
                        "  namespace labels [{}], annotations [{}] for {ops}",
                        k.labels.join(", "),
                        k.annotations.join(", ")
                    );
                }
                match caps::equivalence::of_grant(grant).as_slice() {
                    [] => println!("  cluster-admin equivalent: no"),
                    reasons => {
                        println!("  cluster-admin equivalent: YES, because its grant holds:");
                        for r in reasons {
                            println!("    {r}");
                        }
                    }
                }
                if let Some(id) = &pc.identity {
                    println!("  identity: {}", id.user());
                }
            }
            for s in &skipped {
                println!("{}: not loaded: {}", s.plugin, s.reason);
            }
        }
        Command::Rbac { rbac } => print!("{}", rbac_yaml(&config, &rbac).await?),
        Command::Deploy {
            rbac,
            replicas,
            image,
            meshery_server,
            metrics_port,
            meshery_selector,
            meshery_namespace,
            metrics_namespace_selector,
        } => {
            use wasmesh::deploy;
            let config_text = match &cli.common.config {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
                None => deploy::default_config_text(),
            };
            // What the pod will run with: the file as written, whatever flags this command got.
            let pod_config = wasmesh::Config::from_yaml(&config_text)?;
            let meshery_selector = deploy::parse_selector("--meshery-selector", &meshery_selector)?;
            let metrics_namespace_selector =
                deploy::parse_selector("--metrics-namespace-selector", &metrics_namespace_selector)?;
            let options = deploy::DeployOptions {
                namespace: &rbac.namespace,
                host_service_account: &rbac.host_service_account,
                replicas,
                image: &image,
                meshery_server: meshery_server.as_deref(),
                metrics_port,
                meshery_selector: &meshery_selector,
                meshery_namespace: Some(meshery_namespace.as_str()),
                metrics_namespace_selector: &metrics_namespace_selector,
                strict: cli.common.strict,
            };
            let problems = deploy::problems(&options, &pod_config);
            if !problems.is_empty() {
                return Err(wasmesh::Error::Deploy(problems.join("; ")).into());
            }
            let rbac = rbac_yaml(&config, &rbac).await?;
            print!(
                "{}",
                deploy::render(&rbac, &deploy::objects(&options, &pod_config, &config_text))
            );
        }
    }
    Ok(())
}
