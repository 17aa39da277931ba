//! The `wasmesh` command.

use std::path::PathBuf;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use wasmesh::Config;
use wasmesh::config::LogFormat;
use wasmesh::grant::{self as caps, rbac};
use wasmesh::settings::{GUARDS, SETTINGS};

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
    /// Configuration file (YAML). Without it: the built-in Istio (10000), Linkerd (10001) and Kuma (10007).
    #[arg(long, short, global = true, env = "WASMESH_CONFIG")]
    config: Option<PathBuf>,
    /// Compile plugins at every start instead of caching them.
    #[arg(long, global = true)]
    no_cache: bool,
    // The settings (listen, cache-dir, strict, metrics-addr, log-format, limits-...) are added
    // from wasmesh::settings::SETTINGS, where each is named once.
}

#[derive(Subcommand)]
enum Command {
    /// Serve Meshery's adapter gRPC interface (the default).
    Serve,
    /// List the plugins the configuration loads, with their operations and capabilities.
    Plugins {
        /// List instead every error code the host and each plugin may emit, with what it says
        /// (a plugin's from its manifest); exits 1 when a code is declared twice.
        #[arg(long)]
        codes: bool,
    },
    /// Print, as JSON, the component definitions each plugin registers with the Meshery server
    /// (decoded: what the registration carries in base64).
    Components {
        /// Only this plugin (its name in the configuration).
        #[arg(long)]
        plugin: Option<String>,
    },
    /// Print Kubernetes RBAC (YAML) for a restricted cluster: a ServiceAccount and Roles per
    /// plugin from its effective grant, and a host account that may only impersonate them.
    Rbac {
        #[command(flatten)]
        rbac: RbacArgs,
    },
    /// Check or write a configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Inspect a translator component: the WIT package it targets, its imports and exports, its
    /// operations with the rules its manifest declares for each, sha256, size and compile time.
    Inspect {
        /// The component (.wasm).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Write a new translator crate NAME (Rust, wasm32-wasip2) that builds and passes its tests as
    /// written: a control-plane install, a namespace operation that reads the cluster first,
    /// `custom` and a design kind, on the SDK.
    New {
        /// The crate's name (lowercase letters, digits, '-' and '_'; starting with a letter).
        name: String,
        /// Where to write it (a new or empty folder); default ./NAME.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The mesh the translator serves (a lowercase DNS label); default NAME with '_' as '-'.
        #[arg(long)]
        mesh: Option<String>,
        /// The SDK's folder (`sdk` of a wasmesh checkout); default the one this binary was built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Dry run: the plan a plugin makes for an operation or a design, each step with the rule it
    /// needs and whether the grant allows it. Reads the cluster only through the plugin's
    /// checked reads; writes nothing. Exits 1 when the grant refuses the plan or a read.
    Plan {
        #[command(flatten)]
        plan: PlanArgs,
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
        /// With the default configuration: accept that the built-in plugins' grants are
        /// cluster-admin equivalent (grant.clusterAdmin: true); the pod runs strict.
        #[arg(long)]
        accept_cluster_admin: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlanOutput {
    Yaml,
    Json,
}

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["op", "design"]))]
struct PlanArgs {
    /// The plugin (its name in the configuration).
    #[arg(long)]
    plugin: String,
    /// The operation key (as Meshery sends it in opName).
    #[arg(long)]
    op: Option<String>,
    /// A design file (YAML or JSON): a list of components, or a design with `components`.
    #[arg(long)]
    design: Option<PathBuf>,
    /// The operation's namespace.
    #[arg(long, default_value = "default", conflicts_with = "design")]
    namespace: String,
    /// A file holding the operation's custom body (install options, YAML for `custom`).
    #[arg(long, conflicts_with = "design")]
    body: Option<PathBuf>,
    /// The mesh version (empty: the plugin's default).
    #[arg(long, default_value = "", conflicts_with = "design")]
    version: String,
    /// Plan the undo (Meshery's delete) instead.
    #[arg(long)]
    delete: bool,
    /// A self-contained kubeconfig (inline credentials: kubectl config view --flatten --minify).
    #[arg(long)]
    kubeconfig: PathBuf,
    #[arg(long, value_enum, default_value_t = PlanOutput::Yaml)]
    output: PlanOutput,
}

/// `wasmesh plan`: prints the dry run; a plan the grant refuses (or that could not be made)
/// fails the command with its code.
async fn plan_dry_run(config: &Config, args: PlanArgs) -> anyhow::Result<std::process::ExitCode> {
    use wasmesh::dry_run;
    let (_runtime, adapter) = dry_run::adapter(config, &args.plugin).await?;
    let cluster = dry_run::cluster(&adapter, &args.kubeconfig).await?;
    let out = match (&args.op, &args.design) {
        (Some(key), _) => {
            wasmesh_cluster::check_namespace(&args.namespace).context("--namespace")?;
            let custom_body = match &args.body {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
                None => String::new(),
            };
            let request = wasmesh_runtime::types::OperationRequest {
                key: key.clone(),
                namespace: args.namespace.clone(),
                version: args.version.clone(),
                custom_body,
                delete: args.delete,
                operation_id: String::new(),
                username: String::new(),
                cluster: wasmesh_runtime::types::ClusterInfo {
                    name: String::new(),
                    server: String::new(),
                },
            };
            dry_run::operation(&adapter, &cluster, request).await?
        }
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
            let request = dry_run::design_request(&text, args.delete)?;
            dry_run::design(&adapter, &cluster, request).await
        }
        (None, None) => unreachable!("clap requires --op or --design"),
    };
    match args.output {
        PlanOutput::Yaml => print!("{}", out.yaml()),
        PlanOutput::Json => println!("{}", out.json()),
    }
    if out.allowed() {
        return Ok(std::process::ExitCode::SUCCESS);
    }
    if let Some(e) = &out.error {
        eprintln!("{}: {} ({})", e.code, e.message, e.suggested_remediation);
    }
    Ok(std::process::ExitCode::FAILURE)
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
    // Drift detection lists and watches, as the plugin's account, what the plugin may patch.
    let effective: Vec<_> = loaded
        .iter()
        .map(|(pc, _, g)| match pc.drift.watch {
            true => rbac::with_drift(&g.effective()),
            false => g.effective(),
        })
        .collect();
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

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate FILE; prints each error with its key path and exits 1 when there is one.
    Check { file: PathBuf },
    /// Print the default configuration, every setting commented with its environment variable
    /// and flag.
    Default,
}

/// The command line with one flag per setting of the table (each also read from its
/// environment variable).
fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for s in SETTINGS {
        let mut arg = clap::Arg::new(s.key)
            .long(s.flag())
            .env(s.env())
            .global(true)
            .value_name("VALUE")
            .help(format!("{} [config: {}]", s.help, s.key));
        if s.switch {
            arg = arg
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("true")
                .value_name("BOOL");
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

/// Where a setting was given on the command line or in the environment, and its text: the
/// innermost subcommand's matches hold global flags given after it.
fn given<'a>(matches: &'a ArgMatches, key: &str) -> Option<(&'a str, ValueSource)> {
    let here = matches
        .get_one::<String>(key)
        .map(String::as_str)
        .zip(matches.value_source(key))
        .filter(|(_, src)| *src != ValueSource::DefaultValue);
    let below = matches.subcommand().and_then(|(_, m)| given(m, key));
    match (here, below) {
        (Some(h), Some(b)) if b.1 >= h.1 => Some(b),
        (Some(h), _) => Some(h),
        (None, b) => b,
    }
}

/// "environment variable WASMESH_X" or "flag --x".
fn source_name(s: &wasmesh::settings::Setting, source: ValueSource) -> String {
    match source {
        ValueSource::EnvVariable => format!("environment variable {}", s.env()),
        _ => format!("flag --{}", s.flag()),
    }
}

/// Settings given to `deploy` by flag or environment that the pods would not get: they read the
/// ConfigMap (and the few variables deploy writes), so a guard given that way would be dropped
/// without a word. Only settings of the command's own run (its compile cache, its log) and
/// `meshery_server` (passed on to the pods) may differ.
fn not_carried_to_pods(matches: &ArgMatches, config: &Config, pod_config: &Config) -> Vec<String> {
    SETTINGS
        .iter()
        .filter(|s| !matches!(s.key, "cache_dir" | "log_format" | "meshery_server"))
        .filter_map(|s| {
            let (_, source) = given(matches, s.key)?;
            let (given_value, pods) = (s.value(config), s.value(pod_config));
            (given_value != pods).then(|| {
                format!(
                    "{} sets {} to {given_value}, which the pods would not get (they read {pods} from the \
                     configuration): write it in the --config file",
                    source_name(s, source),
                    s.key
                )
            })
        })
        .collect()
}

/// Where a global argument was given: the innermost subcommand's matches hold one given after it.
fn value_source(matches: &ArgMatches, key: &str) -> Option<ValueSource> {
    let below = matches.subcommand().and_then(|(_, m)| value_source(m, key));
    below.or(matches.value_source(key))
}

/// The file's settings (or the defaults), then the environment's, then the flags'. Returns a
/// line for each guarding setting (settings::GUARDS) that the environment or a flag changed.
fn apply_settings(config: &mut Config, matches: &ArgMatches) -> anyhow::Result<Vec<String>> {
    let mut changed = Vec::new();
    for s in SETTINGS {
        let Some((text, source)) = given(matches, s.key) else {
            continue;
        };
        let from = source_name(s, source);
        let before = s.value(config);
        s.apply(config, text)
            .map_err(|e| anyhow::anyhow!("{from} (setting {}): {e}", s.key))?;
        let after = s.value(config);
        if GUARDS.contains(&s.key) && before != after {
            if s.key == "strict" && before == serde_json::Value::Bool(true) {
                anyhow::bail!(
                    "{from} would turn off strict mode, which the configuration file turns on; remove it, \
                     or set strict: false in the file"
                );
            }
            changed.push(format!("{from} changes {} from {before} to {after}", s.key));
        }
    }
    Ok(changed)
}

/// The configuration, and the guarding settings the environment or flags changed.
fn load_config(
    common: &Common,
    matches: &ArgMatches,
    advertised: Option<String>,
) -> anyhow::Result<(Config, Vec<String>)> {
    let mut config = match &common.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            Config::from_yaml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Config::default(),
    };
    // The upstream adapters' variable names, below WASMESH_* and flags.
    config.apply_registration_env(|k| std::env::var(k).ok());
    let changed = apply_settings(&mut config, matches)?;
    if config.advertise_host.is_none() {
        config.advertise_host = advertised;
    }
    if common.no_cache {
        config.cache_dir = None;
    } else if config.cache_dir.is_none() {
        config.cache_dir = default_cache_dir();
    }
    if config.audit_log.is_none() {
        config.audit_log = default_audit_log();
    }
    config.validate()?;
    Ok((config, changed))
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

/// The log target of changes to guarding settings, which RUST_LOG cannot turn off.
const SECURITY_TARGET: &str = "wasmesh::security";

fn init_log(format: LogFormat) {
    // kube's client logs a response body it cannot parse: never let a cluster's data reach the
    // host's log that way, whatever RUST_LOG says.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info".into())
        .add_directive("kube_client::client=error".parse().expect("a valid directive"))
        // A guarding setting changed from outside the file is always said, whatever RUST_LOG
        // says: the environment that changes it could otherwise silence it too.
        .add_directive(format!("{SECURITY_TARGET}=warn").parse().expect("a valid directive"));
    // Untrusted text (operation names, YAML, plugin messages) cannot start a log line, in
    // either format.
    match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(wasmesh::logging::OneLine(std::io::stderr))
            .init(),
        // The operation span's fields (operation_id, plugin, key) go in "span" on every line.
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_env_filter(filter)
            .with_writer(wasmesh::logging::JsonLine(std::io::stderr))
            .init(),
    }
}

/// `wasmesh config check FILE`: every problem with its key path; exit code 1 when there is one.
fn check_config(file: &std::path::Path) -> std::process::ExitCode {
    let result = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read it: {e}"))
        .and_then(|text| Config::from_yaml(&text).map_err(|e| e.to_string()));
    match result {
        Ok(_) => {
            println!("{}: ok", file.display());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let matches = command().get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    match &cli.command {
        Some(Command::Config(ConfigCommand::Check { file })) => return Ok(check_config(file)),
        Some(Command::New { name, dir, mesh, sdk }) => {
            let request = wasmesh::new::Request {
                name: name.clone(),
                dir: dir.clone(),
                mesh: mesh.clone(),
                sdk: sdk.clone(),
            };
            print!("{}", wasmesh::new::create(&request)?.text());
            return Ok(std::process::ExitCode::SUCCESS);
        }
        Some(Command::Config(ConfigCommand::Default)) => {
            print!("{}", wasmesh::settings::default_file());
            return Ok(std::process::ExitCode::SUCCESS);
        }
        _ => {}
    }
    // `deploy` writes a pod that advertises its Service's name; that is the host name a
    // --meshery-server given to it is reached on.
    let advertised = match &cli.command {
        Some(Command::Deploy { rbac, .. }) => Some(format!("wasmesh.{}.svc", rbac.namespace)),
        _ => None,
    };
    let (config, changed) = load_config(&cli.common, &matches, advertised)?;
    init_log(config.log_format);
    for line in changed {
        tracing::warn!(target: SECURITY_TARGET, "security setting from outside the configuration file: {line}");
    }
    // WASMESH_CONFIG can swap the whole file for a looser one: say which file rules.
    if let Some(path) = &cli.common.config {
        let from = match value_source(&matches, "config") {
            Some(ValueSource::EnvVariable) => "environment variable WASMESH_CONFIG",
            _ => "flag --config",
        };
        tracing::warn!(target: SECURITY_TARGET, "configuration file {} (from {from})", path.display());
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Config(_) | Command::New { .. } => unreachable!("answered above"),
        Command::Serve => {
            let started = std::time::Instant::now();
            let host = wasmesh::start(config).await?;
            for l in &host.listeners {
                println!("serving {} ({}) on {}", l.adapter_name, l.plugin, l.addr);
            }
            for s in &host.skipped {
                println!("not serving {}: {}", s.plugin, s.reason);
            }
            if let Some(addr) = host.metrics_addr {
                println!("metrics on http://{addr}/metrics");
            }
            println!("ready in {} ms", started.elapsed().as_millis());
            host.serve_until_signal().await;
        }
        Command::Plugins { codes: true } => {
            let (_rt, loaded, skipped) = wasmesh::load_plugins(&config).await?;
            let mut sections = vec![wasmesh::codes::host_section()];
            for (pc, p, _) in &loaded {
                sections.push(wasmesh::codes::Section {
                    title: format!("plugin {} ({}, port {})", pc.name, p.info().name, pc.port),
                    owner: p.sha256().to_string(),
                    codes: p
                        .manifest()
                        .errors
                        .iter()
                        .map(|(c, w)| (c.as_str(), w.as_str()))
                        .collect(),
                });
            }
            print!("{}", wasmesh::codes::render(&sections));
            for s in &skipped {
                println!("{}: not loaded: {}", s.plugin, s.reason);
            }
            let twice = wasmesh::codes::duplicates(&sections);
            if !twice.is_empty() {
                for line in &twice {
                    eprintln!("{line}");
                }
                return Ok(std::process::ExitCode::FAILURE);
            }
        }
        Command::Plugins { codes: false } => {
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
        Command::Components { plugin } => {
            let (_rt, loaded, skipped) = wasmesh::load_plugins(&config).await?;
            if let Some(want) = &plugin {
                if !loaded.iter().any(|(pc, _, _)| &pc.name == want) {
                    let why = skipped
                        .iter()
                        .find(|s| &s.plugin == want)
                        .map(|s| format!("it is not loaded: {}", s.reason))
                        .unwrap_or_else(|| {
                            let names: Vec<&str> = loaded.iter().map(|(pc, _, _)| pc.name.as_str()).collect();
                            format!("the configuration loads: {}", names.join(", "))
                        });
                    anyhow::bail!("no plugin {want}; {why}");
                }
            }
            let mut all = Vec::new();
            let mut problems = Vec::new();
            for (pc, p, _) in loaded
                .iter()
                .filter(|(pc, _, _)| plugin.as_ref().is_none_or(|w| w == &pc.name))
            {
                let (definitions, bad) = wasmesh::registration::plugin_definitions(&pc.name, p)
                    .await
                    .with_context(|| format!("plugin {}", pc.name))?;
                all.extend(definitions);
                problems.extend(bad.into_iter().map(|b| format!("plugin {}: {b}", pc.name)));
            }
            println!("{}", serde_json::to_string_pretty(&all)?);
            if !problems.is_empty() {
                anyhow::bail!("not registrable: {}", problems.join("; "));
            }
        }
        Command::Rbac { rbac } => print!("{}", rbac_yaml(&config, &rbac).await?),
        Command::Inspect { file, output } => {
            let report = wasmesh::inspect::inspect(&config, &file).await?;
            match output {
                Output::Text => print!("{}", report.text()),
                Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            }
        }
        Command::Plan { plan } => return plan_dry_run(&config, plan).await,
        Command::Deploy {
            rbac,
            replicas,
            image,
            metrics_port,
            meshery_selector,
            meshery_namespace,
            metrics_namespace_selector,
            accept_cluster_admin,
        } => {
            use wasmesh::deploy;
            let config_text = match &cli.common.config {
                Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
                None => deploy::default_config_text(&rbac.namespace, accept_cluster_admin),
            };
            // What the pod will run with: the file as written, whatever flags this command got.
            let mut pod_config = wasmesh::Config::from_yaml(&config_text)?;
            // The pod runs strict (deploy passes --strict): its RBAC is written as it will load.
            pod_config.strict = true;
            let meshery_selector = deploy::parse_selector("--meshery-selector", &meshery_selector)?;
            let metrics_namespace_selector =
                deploy::parse_selector("--metrics-namespace-selector", &metrics_namespace_selector)?;
            let options = deploy::DeployOptions {
                namespace: &rbac.namespace,
                host_service_account: &rbac.host_service_account,
                replicas,
                image: &image,
                // The global setting (flag --meshery-server, env, or the file).
                meshery_server: config.meshery_server.as_deref(),
                metrics_port,
                meshery_selector: &meshery_selector,
                meshery_namespace: Some(meshery_namespace.as_str()),
                metrics_namespace_selector: &metrics_namespace_selector,
            };
            let mut problems = not_carried_to_pods(&matches, &config, &pod_config);
            problems.extend(deploy::problems(&options, &pod_config));
            if !problems.is_empty() {
                return Err(wasmesh::Error::Deploy(problems.join("; ")).into());
            }
            let rbac = rbac_yaml(&pod_config, &rbac).await.map_err(|e| {
                let hint = if cli.common.config.is_none() && !accept_cluster_admin {
                    "; the built-in plugins install meshes (webhooks, CRDs, ClusterRoles): pass \
                     --accept-cluster-admin to accept that, or give a --config whose grants are narrower"
                } else {
                    ""
                };
                anyhow::anyhow!("{e}{hint}")
            })?;
            print!(
                "{}",
                deploy::render(&rbac, &deploy::objects(&options, &pod_config, &config_text))
            );
        }
    }
    Ok(std::process::ExitCode::SUCCESS)
}
