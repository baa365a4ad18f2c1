//! The sign-in worker (issue #10): the OpenID Connect protocol through `openidconnect`, in a
//! dedicated web worker that trunk builds apart (`index.html`'s `data-type="worker"` link) and
//! the page starts only when the session first needs it, so none of it is in the first load.
//! Each message is a `WorkerCall` in JSON; each answer a `WorkerReply` with the same id
//! (`portal_core::auth::sign_in_worker`). The discovered provider and its keys are kept for the
//! lifetime the provider gives them (`cache.rs`), and read through the browser's HTTP cache, so
//! a sign-in callback or a renewal after a reload sends its token request alone; the keys are
//! read beside the token request, not after it.

mod cache;
mod http;
mod oidc;
mod webcrypto;

use std::cell::RefCell;

use portal_core::auth::sign_in_worker::{
    TokenAnswer, ValidatedIdToken, WorkerAnswer, WorkerCall, WorkerConfig, WorkerError,
    WorkerReply, WorkerRequest,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use openidconnect::core::CoreTokenResponse;
use openidconnect::{OAuth2TokenResponse, TokenResponse};

thread_local! {
    /// The provider discovered, with the authority it is for.
    static PROVIDER: RefCell<Option<(String, oidc::Provider)>> = const { RefCell::new(None) };
}

fn main() {
    let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            let text = event.data().as_string().unwrap_or_default();
            wasm_bindgen_futures::spawn_local(async move {
                let reply = match serde_json::from_str::<WorkerCall>(&text) {
                    Ok(call) => WorkerReply {
                        id: call.id,
                        result: answer(&call.config, call.request).await,
                    },
                    Err(e) => WorkerReply {
                        id: 0,
                        result: Err(WorkerError::Protocol(format!(
                            "a message did not parse: {e}"
                        ))),
                    },
                };
                let scope: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
                if let Ok(json) = serde_json::to_string(&reply) {
                    let _ = scope.post_message(&JsValue::from_str(&json));
                }
            });
        });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    // Messages that arrived before the handler was set are lost: the page queues its calls
    // until this.
    let _ = scope.post_message(&JsValue::from_str("ready"));
}

/// The provider of `config`'s authority (discovered again once its lifetime is over).
async fn provider(config: &WorkerConfig) -> Result<oidc::Provider, WorkerError> {
    let now = oidc::now_ms();
    let known = PROVIDER.with(|p| {
        p.borrow()
            .as_ref()
            .filter(|(authority, provider)| {
                *authority == config.authority_url && provider.is_fresh(now)
            })
            .map(|(_, provider)| provider.clone())
    });
    if let Some(provider) = known {
        return Ok(provider);
    }
    let provider = oidc::discover(config).await?;
    keep(config, &provider);
    Ok(provider)
}

fn keep(config: &WorkerConfig, provider: &oidc::Provider) {
    PROVIDER.with(|p| *p.borrow_mut() = Some((config.authority_url.clone(), provider.clone())));
}

/// Runs `token_request` and, beside it, reads the keys its ID token will need when none are in
/// hand, so that they cost no round trip of their own: the answer, and the keys read (for the
/// caller to keep). A failed read is left for the validation to try again and report.
async fn beside_keys<T>(
    provider: &oidc::Provider,
    token_request: impl std::future::Future<Output = T>,
) -> (T, Option<cache::Kept<webcrypto::WebCryptoJwks>>) {
    let keys = async {
        match provider.keys_at(oidc::now_ms()) {
            Some(_) => None,
            None => oidc::fetch_jwks(&provider.metadata, cache::Read::Keys)
                .await
                .ok(),
        }
    };
    futures::join!(token_request, keys)
}

async fn answer(
    config: &WorkerConfig,
    request: WorkerRequest,
) -> Result<WorkerAnswer, WorkerError> {
    let mut provider = provider(config).await?;
    match request {
        WorkerRequest::Discover => Ok(WorkerAnswer::Discovered {
            end_session_endpoint: provider.end_session_endpoint.clone(),
        }),
        WorkerRequest::Authorize { scopes, extra } => {
            oidc::authorize_url(config, &provider, &scopes, &extra).map(WorkerAnswer::Authorize)
        }
        WorkerRequest::ExchangeCode {
            code,
            pkce_verifier,
            nonce,
        } => {
            let (response, keys) = beside_keys(
                &provider,
                oidc::exchange_code(config, &provider, &code, &pkce_verifier),
            )
            .await;
            if keys.is_some() {
                provider.jwks = keys;
            }
            let response = response?;
            let id_token = response.id_token().ok_or_else(|| {
                WorkerError::Protocol("the token response has no ID token".into())
            })?;
            let account =
                oidc::validate_id_token(config, &mut provider, id_token, Some(&nonce), None)
                    .await?;
            keep(config, &provider);
            let raw = id_token.to_string();
            Ok(WorkerAnswer::Tokens(token_answer(
                &response,
                Some(ValidatedIdToken { account, raw }),
            )))
        }
        WorkerRequest::Refresh {
            refresh_token,
            scopes,
            claims,
            signed_in,
        } => {
            let (response, keys) = beside_keys(
                &provider,
                oidc::refresh(
                    config,
                    &provider,
                    &refresh_token,
                    &scopes,
                    claims.as_deref(),
                ),
            )
            .await;
            if keys.is_some() {
                provider.jwks = keys;
            }
            let response = response?;
            let id_token = match response.id_token() {
                Some(id_token) => {
                    let account = oidc::validate_id_token(
                        config,
                        &mut provider,
                        id_token,
                        None,
                        signed_in.as_ref(),
                    )
                    .await?;
                    Some(ValidatedIdToken {
                        account,
                        raw: id_token.to_string(),
                    })
                }
                None => None,
            };
            keep(config, &provider);
            Ok(WorkerAnswer::Tokens(token_answer(&response, id_token)))
        }
    }
}

fn token_answer(response: &CoreTokenResponse, id_token: Option<ValidatedIdToken>) -> TokenAnswer {
    TokenAnswer {
        access_token: response.access_token().secret().clone(),
        expires_in: response.expires_in().map(|d| d.as_secs()),
        scope: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
        refresh_token: response.refresh_token().map(|r| r.secret().clone()),
        id_token,
    }
}
