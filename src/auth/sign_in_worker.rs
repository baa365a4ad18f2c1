//! The page's side of the sign-in worker (issue #10; the worker is `crates/sign-in-worker`, the
//! messages `portal_core::auth::sign_in_worker`). The worker is started the first time the
//! session needs the protocol (signing in, renewing, signing out), not before: a signed-out
//! first page and the shell never wait for it. Calls made while it starts are queued until it
//! says it is ready. If it cannot start or stops answering, the waiting calls fail as a network
//! failure would (a renewal retries them), and the next call starts a new worker.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use portal_core::auth::sign_in_worker::{
    AuthorizeRequest, TokenAnswer, WorkerAnswer, WorkerCall, WorkerConfig, WorkerError,
    WorkerReply, WorkerRequest,
};
use portal_core::RuntimeConfig;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::AuthError;

/// The worker's script: trunk's loader for `data-type="worker"` (unhashed, beside index.html).
const WORKER_URL: &str = "/sign-in-worker_loader.js";
/// The first message of a worker that is ready for calls.
const READY: &str = "ready";
/// The longest a call may take: discovery and the JWKS, then a token request, each limited to
/// 30 s in the worker, plus the worker's own start.
const CALL_TIMEOUT_MS: u32 = 100_000;

type Answer = Result<WorkerAnswer, WorkerError>;

struct Client {
    worker: web_sys::Worker,
    ready: Cell<bool>,
    /// Messages waiting for the worker to be ready.
    queued: RefCell<Vec<String>>,
    pending: RefCell<HashMap<u64, oneshot::Sender<Answer>>>,
    _on_message: Closure<dyn Fn(web_sys::MessageEvent)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

thread_local! {
    static CLIENT: RefCell<Option<Rc<Client>>> = const { RefCell::new(None) };
    static NEXT_ID: Cell<u64> = const { Cell::new(1) };
}

/// Ends the current worker: its waiting calls get `reason`; the next call starts a new one.
fn drop_worker(reason: &str) {
    let Some(client) = CLIENT.with(|c| c.borrow_mut().take()) else {
        return;
    };
    client.worker.terminate();
    for (_, sender) in client.pending.borrow_mut().drain() {
        let _ = sender.send(Err(WorkerError::Network(reason.to_string())));
    }
}

fn on_message(event: web_sys::MessageEvent) {
    let Some(client) = CLIENT.with(|c| c.borrow().clone()) else {
        return;
    };
    let text = event.data().as_string().unwrap_or_default();
    if text == READY {
        client.ready.set(true);
        for message in client.queued.borrow_mut().drain(..) {
            let _ = client.worker.post_message(&JsValue::from_str(&message));
        }
        return;
    }
    match serde_json::from_str::<WorkerReply>(&text) {
        Ok(reply) => {
            if let Some(sender) = client.pending.borrow_mut().remove(&reply.id) {
                let _ = sender.send(reply.result);
            }
        }
        Err(_) => drop_worker("the sign-in worker answered something unreadable"),
    }
}

fn client() -> Result<Rc<Client>, AuthError> {
    if let Some(client) = CLIENT.with(|c| c.borrow().clone()) {
        return Ok(client);
    }
    let worker = web_sys::Worker::new(WORKER_URL).map_err(|e| {
        AuthError::Network(format!(
            "the sign-in worker could not start ({})",
            e.as_string().unwrap_or_else(|| format!("{e:?}"))
        ))
    })?;
    let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(on_message);
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(|_: web_sys::Event| {
        drop_worker("the sign-in worker could not be loaded or failed");
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    let client = Rc::new(Client {
        worker,
        ready: Cell::new(false),
        queued: RefCell::new(Vec::new()),
        pending: RefCell::new(HashMap::new()),
        _on_message: on_message,
        _on_error: on_error,
    });
    CLIENT.with(|c| *c.borrow_mut() = Some(client.clone()));
    Ok(client)
}

/// Starts the worker at once when the session will need it before the shell starts (this tab
/// holds a refresh token to renew, or the address is a sign-in callback to finish): its script
/// and wasm then load while `config.json` does, instead of after. A signed-out first page
/// starts nothing.
pub fn warm_up() {
    use portal_core::auth::pending::KeyValueStore;
    let prefix = format!("{}refresh_token.", portal_core::auth::session_keys::PREFIX);
    let renewing = super::storage::SessionStore
        .keys()
        .iter()
        .any(|k| k.starts_with(&prefix));
    if renewing || super::redirect::is_callback(&super::redirect::query_params()) {
        let _ = client();
    }
}

/// Sends one request to the worker and waits for its answer.
async fn call(config: &RuntimeConfig, request: WorkerRequest) -> Result<WorkerAnswer, AuthError> {
    let client = client()?;
    let id = NEXT_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    });
    let message = serde_json::to_string(&WorkerCall {
        id,
        config: WorkerConfig::of(config),
        request,
    })
    .map_err(|e| AuthError::Protocol(e.to_string()))?;
    let (sender, receiver) = oneshot::channel();
    client.pending.borrow_mut().insert(id, sender);
    if client.ready.get() {
        let _ = client.worker.post_message(&JsValue::from_str(&message));
    } else {
        client.queued.borrow_mut().push(message);
    }
    let timeout = gloo_timers::future::TimeoutFuture::new(CALL_TIMEOUT_MS);
    match select(receiver, timeout).await {
        Either::Left((Ok(answer), _)) => answer.map_err(AuthError::from),
        Either::Left((Err(_), _)) => Err(AuthError::Network(
            "the sign-in worker stopped before answering".into(),
        )),
        Either::Right(_) => {
            drop_worker("the sign-in worker did not answer in time");
            Err(AuthError::Timeout)
        }
    }
}

fn unexpected(answer: WorkerAnswer) -> AuthError {
    AuthError::Protocol(format!("the sign-in worker answered {answer:?}"))
}

/// The provider's end-session endpoint, if it publishes one.
pub async fn end_session_endpoint(config: &RuntimeConfig) -> Result<Option<String>, AuthError> {
    match call(config, WorkerRequest::Discover).await? {
        WorkerAnswer::Discovered {
            end_session_endpoint,
        } => Ok(end_session_endpoint),
        other => Err(unexpected(other)),
    }
}

/// A new authorize URL (PKCE S256, state, nonce) with `extra` parameters.
pub async fn authorize_url(
    config: &RuntimeConfig,
    scopes: &[String],
    extra: Vec<(String, String)>,
) -> Result<AuthorizeRequest, AuthError> {
    let request = WorkerRequest::Authorize {
        scopes: scopes.to_vec(),
        extra,
    };
    match call(config, request).await? {
        WorkerAnswer::Authorize(request) => Ok(request),
        other => Err(unexpected(other)),
    }
}

/// Exchanges a code; the answer's ID token is validated (with `nonce`) and required.
pub async fn exchange_code(
    config: &RuntimeConfig,
    code: &str,
    pkce_verifier: &str,
    nonce: &str,
) -> Result<TokenAnswer, AuthError> {
    let request = WorkerRequest::ExchangeCode {
        code: code.to_string(),
        pkce_verifier: pkce_verifier.to_string(),
        nonce: nonce.to_string(),
    };
    match call(config, request).await? {
        WorkerAnswer::Tokens(answer) if answer.id_token.is_some() => Ok(answer),
        WorkerAnswer::Tokens(_) => Err(AuthError::Protocol(
            "the token response has no ID token".into(),
        )),
        other => Err(unexpected(other)),
    }
}

/// Redeems a refresh token; a renewed ID token is validated against the account signed in.
pub async fn refresh(
    config: &RuntimeConfig,
    request: WorkerRequest,
) -> Result<TokenAnswer, AuthError> {
    match call(config, request).await? {
        WorkerAnswer::Tokens(answer) => Ok(answer),
        other => Err(unexpected(other)),
    }
}
