//! The page's side of the sign-in worker (the worker is `crates/sign-in-worker`, the messages
//! `portal_core::auth::sign_in_worker`). The session owns one [`SignInWorker`]; it starts it as
//! the page starts when it will need the protocol soon (signed out, a callback, a renewal; see
//! `Session::warm_up`), else the first time it does (a renewal or sign-out later); the shell
//! never waits for it.
//! Calls made while it starts are queued until it says it is ready. If it cannot start (its
//! files missing: an error at once; a wasm that never
//! starts: after [`READY_TIMEOUT_MS`]) or stops answering, the waiting calls fail with
//! [`AuthError::SignInWorker`], transient like a network failure (a renewal retries them), and
//! the next call starts a new worker.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::channel::oneshot;
use futures::future::{select, Either};
use portal_core::auth::sign_in_worker::{
    loader_name, AuthorizeRequest, TokenAnswer, WorkerAnswer, WorkerCall, WorkerConfig,
    WorkerError, WorkerReply, WorkerRequest,
};
use portal_core::RuntimeConfig;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::AuthError;

/// The worker's script, under the deployment's base path: the loader `index.html` names in its
/// `<meta name="sign-in-worker">` (the release build names the worker's files by their content,
/// see xtask's `fingerprint.rs`), else trunk's fixed name.
fn worker_url() -> String {
    let meta = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector("meta[name=\"sign-in-worker\"]")
                .ok()
                .flatten()
        })
        .and_then(|m| m.get_attribute("content"));
    format!(
        "{}/{}",
        crate::routes::base_path(),
        loader_name(meta.as_deref())
    )
}
/// The first message of a worker that is ready for calls.
const READY: &str = "ready";
/// The longest a worker may take to say it is ready.
const READY_TIMEOUT_MS: u32 = 20_000;
/// The longest a call may take: discovery and the JWKS, then a token request, each limited to
/// 30 s in the worker, plus the worker's own start.
const CALL_TIMEOUT_MS: u32 = 100_000;

/// The worker's answer, or why the worker itself failed.
type Answer = Result<Result<WorkerAnswer, WorkerError>, String>;

struct Client {
    /// Which worker of this page's life it is: events of an earlier one are ignored.
    generation: u64,
    worker: web_sys::Worker,
    ready: Cell<bool>,
    /// Messages waiting for the worker to be ready.
    queued: RefCell<Vec<String>>,
    /// Calls awaiting their reply, by id (a handful at most: a plain list).
    pending: RefCell<Vec<(u64, oneshot::Sender<Answer>)>>,
    _on_message: Closure<dyn Fn(web_sys::MessageEvent)>,
    _on_error: Closure<dyn Fn(web_sys::Event)>,
}

/// The session's worker: at most one running at a time, started on demand. Clones share it.
#[derive(Clone, Default)]
pub struct SignInWorker(Rc<Slot>);

#[derive(Default)]
struct Slot {
    client: RefCell<Option<Rc<Client>>>,
    /// The last call's id.
    last_id: Cell<u64>,
    /// The last worker's generation.
    generation: Cell<u64>,
}

impl Slot {
    /// Ends the current worker: its waiting calls get `reason`; the next call starts a new one.
    fn drop_worker(&self, reason: &str) {
        let Some(client) = self.client.borrow_mut().take() else {
            return;
        };
        client.worker.terminate();
        for (_, sender) in client.pending.borrow_mut().drain(..) {
            let _ = sender.send(Err(reason.to_string()));
        }
    }

    /// The current worker, if it is the one of `generation`.
    fn current(&self, generation: u64) -> Option<Rc<Client>> {
        self.client
            .borrow()
            .clone()
            .filter(|c| c.generation == generation)
    }

    fn on_message(&self, generation: u64, event: web_sys::MessageEvent) {
        let Some(client) = self.current(generation) else {
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
                let sender = {
                    let mut pending = client.pending.borrow_mut();
                    let at = pending.iter().position(|(id, _)| *id == reply.id);
                    at.map(|at| pending.swap_remove(at).1)
                };
                if let Some(sender) = sender {
                    let _ = sender.send(Ok(reply.result));
                }
            }
            Err(_) => self.drop_worker("the sign-in worker answered something unreadable"),
        }
    }
}

impl SignInWorker {
    /// The running worker, or a new one.
    fn client(&self) -> Result<Rc<Client>, AuthError> {
        if let Some(client) = self.0.client.borrow().clone() {
            return Ok(client);
        }
        let url = worker_url();
        let worker = web_sys::Worker::new(&url).map_err(|e| {
            AuthError::SignInWorker(format!(
                "{url} could not start: {}",
                e.as_string().unwrap_or_else(|| format!("{e:?}"))
            ))
        })?;
        let generation = self.0.generation.get() + 1;
        self.0.generation.set(generation);
        // The handlers see the slot weakly: the slot owns the client, which owns them.
        let slot = Rc::downgrade(&self.0);
        let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event| {
            if let Some(slot) = slot.upgrade() {
                slot.on_message(generation, event);
            }
        });
        let slot = Rc::downgrade(&self.0);
        let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |_: web_sys::Event| {
            if let Some(slot) = slot.upgrade().filter(|s| s.current(generation).is_some()) {
                slot.drop_worker(&format!("{} could not be loaded or failed", worker_url()));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let client = Rc::new(Client {
            generation,
            worker,
            ready: Cell::new(false),
            queued: RefCell::new(Vec::new()),
            pending: RefCell::new(Vec::new()),
            _on_message: on_message,
            _on_error: on_error,
        });
        *self.0.client.borrow_mut() = Some(client.clone());
        // A wasm that fails to load inside the worker raises no error event here: give up on a
        // worker that has not said it is ready in time.
        let slot = Rc::downgrade(&self.0);
        gloo_timers::callback::Timeout::new(READY_TIMEOUT_MS, move || {
            let Some(slot) = slot.upgrade() else {
                return;
            };
            if slot.current(generation).is_some_and(|c| !c.ready.get()) {
                slot.drop_worker(&format!(
                    "{} did not start within {} s",
                    worker_url(),
                    READY_TIMEOUT_MS / 1000
                ));
            }
        })
        .forget();
        Ok(client)
    }

    /// Starts the worker now (its script and wasm load meanwhile) unless it runs already; a
    /// worker that cannot start is reported to the first call.
    pub fn start(&self) {
        let _ = self.client();
    }

    /// Whether a worker is running (started, not dropped).
    pub fn is_running(&self) -> bool {
        self.0.client.borrow().is_some()
    }

    /// Sends one request to the worker and waits for its answer.
    async fn call(
        &self,
        config: &RuntimeConfig,
        request: WorkerRequest,
    ) -> Result<WorkerAnswer, AuthError> {
        let client = self.client()?;
        let id = self.0.last_id.get() + 1;
        self.0.last_id.set(id);
        let message = serde_json::to_string(&WorkerCall {
            id,
            config: WorkerConfig::of(config),
            request,
        })
        .map_err(|e| AuthError::Protocol(e.to_string()))?;
        let (sender, receiver) = oneshot::channel();
        client.pending.borrow_mut().push((id, sender));
        if client.ready.get() {
            let _ = client.worker.post_message(&JsValue::from_str(&message));
        } else {
            client.queued.borrow_mut().push(message);
        }
        drop(client);
        let timeout = gloo_timers::future::TimeoutFuture::new(CALL_TIMEOUT_MS);
        match select(receiver, timeout).await {
            Either::Left((Ok(Ok(answer)), _)) => answer.map_err(AuthError::from),
            Either::Left((Ok(Err(reason)), _)) => Err(AuthError::SignInWorker(reason)),
            Either::Left((Err(_), _)) => Err(AuthError::SignInWorker(
                "it stopped before answering".into(),
            )),
            Either::Right(_) => {
                self.0.drop_worker("it did not answer in time");
                Err(AuthError::SignInWorker(format!(
                    "no answer within {} s",
                    CALL_TIMEOUT_MS / 1000
                )))
            }
        }
    }

    /// The provider's end-session endpoint, if it publishes one.
    pub async fn end_session_endpoint(
        &self,
        config: &RuntimeConfig,
    ) -> Result<Option<String>, AuthError> {
        match self.call(config, WorkerRequest::Discover).await? {
            WorkerAnswer::Discovered {
                end_session_endpoint,
            } => Ok(end_session_endpoint),
            other => Err(unexpected(other)),
        }
    }

    /// A new authorize URL (PKCE S256, state, nonce) with `extra` parameters.
    pub async fn authorize_url(
        &self,
        config: &RuntimeConfig,
        scopes: &[String],
        extra: Vec<(String, String)>,
    ) -> Result<AuthorizeRequest, AuthError> {
        let request = WorkerRequest::Authorize {
            scopes: scopes.to_vec(),
            extra,
        };
        match self.call(config, request).await? {
            WorkerAnswer::Authorize(request) => Ok(request),
            other => Err(unexpected(other)),
        }
    }

    /// Exchanges a code; the answer's ID token is validated (with `nonce`) and required.
    pub async fn exchange_code(
        &self,
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
        match self.call(config, request).await? {
            WorkerAnswer::Tokens(answer) if answer.id_token.is_some() => Ok(answer),
            WorkerAnswer::Tokens(_) => Err(AuthError::Protocol(
                "the token response has no ID token".into(),
            )),
            other => Err(unexpected(other)),
        }
    }

    /// Redeems a refresh token; a renewed ID token is validated against the account signed in.
    pub async fn refresh(
        &self,
        config: &RuntimeConfig,
        request: WorkerRequest,
    ) -> Result<TokenAnswer, AuthError> {
        match self.call(config, request).await? {
            WorkerAnswer::Tokens(answer) => Ok(answer),
            other => Err(unexpected(other)),
        }
    }
}

/// An answer of the wrong kind, named by its kind only: its content may be tokens or a PKCE
/// verifier, which must never reach a message.
fn unexpected(answer: WorkerAnswer) -> AuthError {
    AuthError::Protocol(format!(
        "the sign-in worker answered with {}",
        answer.kind()
    ))
}
