//! Sign-in logic that needs no browser: the scopes each Graph operation needs (per cloud), the
//! pending authorization requests keyed by `state`, Entra's `{tenantid}` issuer template,
//! claims challenges, and when to renew a token. The browser side (`src/auth/`) only wires these
//! to `openidconnect`, `gloo-net` and `sessionStorage`.

pub mod challenge;
pub mod issuer;
pub mod pending;
pub mod renewal;
pub mod scopes;
