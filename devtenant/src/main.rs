//! The dev tenant: a local stand-in for Microsoft's side of the portal (Entra ID and the Graph
//! v1.0 subset it uses). This file parses the flags, builds the state, binds the three origins on
//! loopback and prints where they are.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Parser;
use tokio::net::TcpListener;

use devtenant::ctx::{
    AuditRoles, ConsentScopeRule, Ctx, ForeignConsentSet, GrantIds, GrantsByUpn, Options, Urls,
};
use devtenant::faults::{Dice, Faults, TokenErrorNext, TOKEN_ERROR_STATUSES};
use devtenant::seed::Seed;
use devtenant::store::{Store, TenantState};
use devtenant::throttle::{Limits, Throttle};
use devtenant::{admin, crypto, graph_http, identity, identity_log, log, portal_origin};

/// A local emulator of Entra ID and the Microsoft Graph v1.0 surface the Teams App Portal uses.
///
/// Three origins on loopback: the portal (static files and config.json), identity
/// (/{tenant}/oauth2/v2.0/...), and Graph (/v1.0/..., plus the admin endpoint /_devtenant/...).
/// On start it prints one line `devtenant ready {json}` with their URLs, for scripts.
#[derive(Parser, Debug)]
#[command(name = "devtenant", version)]
struct Args {
    /// Address to listen on. Keep it on loopback: the dev tenant has no real security.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port of the portal origin (static files and config.json); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    portal_port: u16,
    /// Port of the identity origin (Entra ID endpoints); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    identity_port: u16,
    /// Port of the Graph origin (and the admin endpoint); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    graph_port: u16,
    /// The portal's built files (trunk's dist/).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Serve the portal under this path (e.g. `/portal/`) as deployed there: index.html
    /// rewritten for it, config.json and every file below it, nothing outside it.
    #[arg(long, value_name = "PATH", default_value = "/")]
    base_path: String,
    /// Serve this file as config.json instead of the generated one.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Seed file (default: the seed built in, devtenant/seed/tenant.json).
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Keep the state in FILE: every change is written atomically; a restart keeps it.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// Generate a large tenant (10,000 users, 100 apps) for benchmarks.
    #[arg(long)]
    large: bool,
    /// Add N generated users (`user00001@{domain}`, … "Generated User 00001": enabled members
    /// with no role and no installation), after --large if both are given.
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    users: u32,
    /// Throttle every Teams call category at this many requests per second per tenant per app
    /// (default: the published Teams limits).
    #[arg(long)]
    throttle_rps: Option<f64>,
    /// Another client of the portal's app registration in the tenant (another tab, another
    /// administrator, another tool) sends RPS requests a second of every Teams call category,
    /// spending the same per-tenant budget: each takes a token of the same bucket, waiting for
    /// one as a client honouring Retry-After would, ahead of the portal's next request. A
    /// category whose limit is at or below RPS (deletes, 15 a second) is left nothing.
    #[arg(long, value_name = "RPS", default_value_t = 0.0)]
    background_load: f64,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: i64,
    /// Continuous access evaluation: answer claims challenges after a revocation (for cp1 clients).
    #[arg(long)]
    cae: bool,
    /// Start with the JWKS rotated once (the other key signs under a new kid).
    #[arg(long)]
    rotate_jwks: bool,
    /// Fault: fixed latency added to identity and Graph answers, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fault: random extra latency up to this many milliseconds.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Fault: fraction (0..1) of Graph requests answered 500 or 503 (503 with Retry-After)
    /// without effect; inside a $batch each inner request draws on its own, after the batch.
    #[arg(long, default_value_t = 0.0)]
    server_error_rate: f64,
    /// Fault: fraction of installs answered with the known transient 400.
    #[arg(long, default_value_t = 0.0)]
    transient_install_400_rate: f64,
    /// Fault: fraction of Graph writes applied whose answer is dropped (a POST $batch is one
    /// write: its inner requests ran, the whole answer is lost).
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Fault: fraction of personal-app writes (install, upgrade, uninstall) applied and then
    /// answered with a 5xx (--apply-then-error-status); inside a $batch, the inner answer.
    #[arg(long, default_value_t = 0.0)]
    apply_then_error_rate: f64,
    /// Fault: the 5xx of applied-then-failed writes: 500, 502 or 504.
    #[arg(long, default_value_t = 500)]
    apply_then_error_status: u16,
    /// Fault: a personal-app write stays invisible to reads for this many milliseconds after it
    /// was applied (read-after-write lag).
    #[arg(long, default_value_t = 0)]
    read_after_write_lag_ms: u64,
    /// Fault: the first N requests to the token endpoint (any grant type) are answered with
    /// --token-error-status in Entra's error shape and change nothing.
    #[arg(long, default_value_t = 0, value_name = "N")]
    token_error_next: u32,
    /// Fault: the status of --token-error-next: 429, 500, 502, 503 or 504 (429 and 503 carry
    /// Retry-After).
    #[arg(long, default_value_t = 503)]
    token_error_status: u16,
    /// Delegated `...ForUser` scopes reach only the signed-in user's own personal scope: acting
    /// on another user's apps or grants is a 403, administrators included.
    #[arg(long)]
    strict_self_only: bool,
    /// Server page size of installed apps and the catalog (each page links the next with
    /// @odata.nextLink); 0 answers everything in one page.
    #[arg(long, default_value_t = 2)]
    page_size: usize,
    /// The ids of RSC permission grants (`/users/{id}/permissionGrants`): `named` puts the Entra
    /// application id in `clientAppId` and the service principal's object id in `clientId`;
    /// `documented` swaps them, as Graph's property table describes them. Which one real Graph
    /// does is unverified.
    #[arg(long, value_enum, default_value_t = GrantIds::Named)]
    grant_ids: GrantIds,
    /// `/users/{key}/permissionGrants` with a UPN as the key: Graph documents `{user-id}` only.
    /// `refuse` answers 400 `Request_BadRequest` "Invalid object identifier" (as for any key that
    /// is not an object id where one is required); `accept` treats it as installed apps do.
    #[arg(long, value_enum, default_value_t = GrantsByUpn::Refuse)]
    grants_by_upn: GrantsByUpn,
    /// `consentedPermissionSet` of the seeded installations made outside the portal (`"foreign":
    /// true`: from the Teams client, by a setup policy, by another tool), whose RSC grants exist:
    /// `null`, or the set consented (`present`). Which one real Graph does is unverified.
    #[arg(long, value_enum, default_value_t = ForeignConsentSet::Null)]
    consent_set_on_foreign_installs: ForeignConsentSet,
    /// Tenant-wide grant reads (`/oauth2PermissionGrants`, `/servicePrincipals/{id}/appRoleAssignments`):
    /// `strict` also needs a directory role that may read them (Directory Readers, Global Reader,
    /// Application or Cloud Application Administrator, Global Administrator; not Teams
    /// Administrator), else 403 `Authorization_RequestDenied`; `any` needs the scope only.
    #[arg(long, value_enum, default_value_t = AuditRoles::Strict)]
    audit_roles: AuditRoles,
    /// Which installs and upgrades need `TeamsAppInstallation.ReadWriteAndConsentForUser`:
    /// `any` (as footnote 1 of `team-post-installedapps.md` writes it) any consented set that
    /// consents to something, a delegated-only one sent with `…ReadWriteForUser` answered 403
    /// "Missing scope permissions"; `application` only a set holding an application permission.
    /// Which one real Graph does in personal scope is unverified.
    #[arg(long, value_enum, default_value_t = ConsentScopeRule::Any)]
    consent_scope_rule: ConsentScopeRule,
    /// The message of the 400 answering a `consentedPermissionSet` that does not equal the
    /// definition's required set (default: the dev tenant's own, naming both sets). Graph's
    /// wording is undocumented: the portal must decide from what it sent.
    #[arg(long, value_name = "TEXT")]
    consent_error_text: Option<String>,
    /// How many entries the request log keeps (the oldest go first).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    log_capacity: usize,
    /// Seed of the fault dice (reproducible runs).
    #[arg(long, default_value_t = 42)]
    fault_seed: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(message) = run(args).await {
        eprintln!("devtenant: {message}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), String> {
    if args.config.is_none() && !args.dist.join("index.html").is_file() {
        return Err(format!(
            "{} has no index.html: build the portal first (cargo xtask demo does)",
            args.dist.display()
        ));
    }
    let faults = Faults {
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        server_error_rate: args.server_error_rate,
        transient_install_400_rate: args.transient_install_400_rate,
        drop_rate: args.drop_rate,
        apply_then_error_rate: args.apply_then_error_rate,
        apply_then_error_status: Some(args.apply_then_error_status),
        read_after_write_lag_ms: args.read_after_write_lag_ms,
        token_error_next: (args.token_error_next > 0).then_some(TokenErrorNext {
            count: args.token_error_next,
            status: args.token_error_status,
        }),
        ..Faults::default()
    };
    faults.validate()?;
    if !TOKEN_ERROR_STATUSES.contains(&args.token_error_status) {
        return Err("--token-error-status must be 429, 500, 502, 503 or 504".into());
    }
    let mut seed = match &args.seed {
        Some(path) => Seed::load(path)?,
        None => Seed::builtin()?,
    };
    if args.large {
        seed.enlarge(10_000, 100);
    }
    seed.add_generated_users(args.users as usize);
    let store = match &args.state {
        Some(path) => Store::open(path, || TenantState::from_seed(seed))?,
        None => Store::in_memory(TenantState::from_seed(seed)),
    };
    let portal_listener = bind(args.host, args.portal_port, "portal").await?;
    let identity_listener = bind(args.host, args.identity_port, "identity").await?;
    let graph_listener = bind(args.host, args.graph_port, "Graph").await?;
    let url = |l: &TcpListener| {
        l.local_addr()
            .map(|a| format!("http://{a}"))
            .map_err(|e| e.to_string())
    };
    let base_path = devtenant::public_url::normalize(&args.base_path)
        .map_err(|e| format!("--base-path: {e}"))?;
    let urls = Urls {
        portal: format!("{}{base_path}", url(&portal_listener)?),
        identity: url(&identity_listener)?,
        graph: url(&graph_listener)?,
    };
    let keys = crypto::Keys::load()?;
    if args.rotate_jwks {
        keys.rotate();
    }
    let limits = args.throttle_rps.map(Limits::uniform).unwrap_or_default();
    if !(args.background_load.is_finite() && args.background_load >= 0.0) {
        return Err("--background-load must be a number of requests a second, 0 or more".into());
    }
    let tenant_id = store.read().tenant.id.clone();
    let client_id = store
        .read()
        .applications
        .first()
        .map(|a| a.app_id.clone())
        .unwrap_or_default();
    let ctx = Arc::new(Ctx {
        store,
        urls: urls.clone(),
        keys,
        options: Mutex::new(Options {
            access_token_lifetime: args.token_lifetime,
            refresh_token_lifetime: 24 * 3600,
            code_lifetime: 300,
            cae: args.cae,
            self_only: args.strict_self_only,
            page_size: args.page_size,
            grant_ids: args.grant_ids,
            grants_by_upn: args.grants_by_upn,
            consent_set_on_foreign_installs: args.consent_set_on_foreign_installs,
            audit_roles: args.audit_roles,
            consent_scope_rule: args.consent_scope_rule,
            consent_error_text: args.consent_error_text.clone(),
        }),
        codes: Mutex::new(HashMap::new()),
        refresh_tokens: Mutex::new(HashMap::new()),
        sessions: Mutex::new(HashMap::new()),
        faults: Mutex::new(faults),
        dice: Mutex::new(Dice::new(args.fault_seed)),
        throttle: Mutex::new(Throttle::new(limits).with_background(args.background_load)),
        log: log::RequestLog::new(args.log_capacity.max(1)),
        clock_offset: Mutex::new(0),
        visibility: Mutex::new(Default::default()),
    });
    let config = match &args.config {
        Some(path) => portal_origin::ConfigSource::File(path.clone()),
        None => portal_origin::ConfigSource::Generated(portal_origin::generated_config(
            &urls, &client_id, &tenant_id, args.cae,
        )),
    };
    let portal_app = portal_origin::router(
        args.dist.clone(),
        config,
        devtenant::csp::Origins {
            authority: urls.identity.clone(),
            graph: urls.graph.clone(),
        },
        &base_path,
    );
    let identity_app = identity::router(ctx.clone()).layer(axum::middleware::from_fn_with_state(
        ctx.clone(),
        identity_log::log_identity,
    ));
    let graph_app = admin::routes()
        .fallback(graph_http::handle)
        .with_state(ctx.clone());

    let ready = serde_json::json!({
        "portal": urls.portal,
        "identity": urls.identity,
        "graph": urls.graph,
        "admin": format!("{}/_devtenant", urls.graph),
        "tenant": tenant_id,
        "clientId": client_id,
    });
    println!("devtenant ready {ready}");
    println!("Portal:   {}", urls.portal);
    println!(
        "Identity: {}/{tenant_id}/v2.0/.well-known/openid-configuration",
        urls.identity
    );
    println!(
        "Graph:    {}/v1.0   admin: {}/_devtenant/log",
        urls.graph, urls.graph
    );
    println!("Accounts to sign in with (no password):");
    for account in admin::account_list(&ctx).iter().take(8) {
        let roles = account["roles"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let kind = if roles.is_empty() {
            account["userType"].as_str().unwrap_or("").to_string()
        } else {
            roles
        };
        println!(
            "  {:<40} {}",
            account["userPrincipalName"].as_str().unwrap_or(""),
            kind
        );
    }
    println!("  … and more on the sign-in page.");

    let serve = |listener: TcpListener, app: axum::Router| async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    };
    let (a, b, c) = tokio::join!(
        serve(portal_listener, portal_app),
        serve(identity_listener, identity_app),
        serve(graph_listener, graph_app)
    );
    a.and(b).and(c)
}

async fn bind(host: IpAddr, port: u16, what: &str) -> Result<TcpListener, String> {
    let addr = SocketAddr::new(host, port);
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for the {what} origin: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
