//! Sign-in logic that needs no browser: the scopes each Graph operation needs (per cloud), the
//! pending authorization requests keyed by `state`, Entra's `{tenantid}` issuer template,
//! claims challenges, when to renew a token and what to do when renewal fails, the meaning of
//! OAuth errors, ID token time and account checks, admin roles and admin consent, the
//! sessionStorage key names, safe return paths and the sign-out address. The browser side
//! (`src/auth/`) only wires these to `openidconnect`, `gloo-net` and `sessionStorage`.

pub mod account;
pub mod admin_consent;
pub mod challenge;
pub mod id_token;
pub mod issuer;
pub mod oauth_error;
pub mod pending;
pub mod permission_set;
pub mod renewal;
pub mod return_to;
pub mod roles;
pub mod scopes;
pub mod session_keys;
pub mod sign_in_worker;
