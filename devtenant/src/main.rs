//! The dev tenant: a local stand-in for Microsoft's side of the portal. This binary parses the
//! flags, binds the origins on loopback and prints where they are.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tokio::net::TcpListener;

mod portal_origin;

/// A local emulator of Entra ID and the Microsoft Graph v1.0 surface the Teams App Portal uses.
///
/// It serves the portal's static files and a generated config.json on the portal origin. On
/// start it prints one line `devtenant ready {json}` with the origins' URLs, for scripts.
#[derive(Parser, Debug)]
#[command(name = "devtenant", version)]
struct Args {
    /// Address to listen on. Keep it on loopback: the dev tenant has no real security.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Port of the portal origin (static files and config.json); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    portal_port: u16,
    /// The portal's built files (trunk's dist/).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Serve this file as config.json instead of the generated one.
    #[arg(long)]
    config: Option<PathBuf>,
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
    if !args.dist.join("index.html").is_file() {
        return Err(format!(
            "{} has no index.html: build the portal first (cargo xtask demo does)",
            args.dist.display()
        ));
    }
    let portal_listener = bind(args.host, args.portal_port, "portal").await?;
    let portal_addr = portal_listener.local_addr().map_err(|e| e.to_string())?;
    let portal_url = format!("http://{portal_addr}/");
    let config = match &args.config {
        Some(path) => portal_origin::ConfigSource::File(path.clone()),
        None => {
            portal_origin::ConfigSource::Generated(portal_origin::generated_config(&portal_url))
        }
    };
    let app = portal_origin::router(args.dist.clone(), config);
    let ready = serde_json::json!({ "portal": portal_url });
    println!("devtenant ready {ready}");
    println!("Portal: {portal_url}");
    axum::serve(portal_listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn bind(host: std::net::IpAddr, port: u16, what: &str) -> Result<TcpListener, String> {
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
