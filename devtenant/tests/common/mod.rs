//! Starts the dev tenant binary on free loopback ports for one test and speaks HTTP to it:
//! sign-in through the real authorize and token endpoints, Graph calls, the admin endpoint.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const ADMIN: &str = "megan.bowen@contoso.onmicrosoft.com";
pub const GLOBAL_ADMIN: &str = "adele.vance@contoso.onmicrosoft.com";
pub const MEMBER: &str = "zoe.muller@contoso.onmicrosoft.com";
pub const OBRIEN: &str = "sean.obrien@contoso.onmicrosoft.com";
pub const SEED_USER: &str = "5b649834-7412-4cce-9e69-176e95a394f5";
pub const SEED_APP_INSTALL: &str = "12345678-9abc-def0-123456789a";
pub const SEED_APP_UPGRADE: &str = "a6b63365-31a4-4f43-92ec-710b71557af9";
pub const READ: &str = "openid profile offline_access User.Read User.ReadBasic.All TeamsAppInstallation.ReadForUser AppCatalog.Read.All TeamworkAppSettings.Read.All";
pub const WRITE: &str = "openid profile offline_access User.Read User.ReadBasic.All TeamsAppInstallation.ReadWriteForUser AppCatalog.Read.All ResourceSpecificPermissionGrant.ReadForUser TeamworkAppSettings.Read.All";
pub const CONSENT: &str = "openid profile offline_access User.Read User.ReadBasic.All TeamsAppInstallation.ReadWriteAndConsentForUser AppCatalog.Read.All ResourceSpecificPermissionGrant.ReadForUser TeamworkAppSettings.Read.All";

/// A running dev tenant, killed by PID when dropped.
pub struct DevTenant {
    child: Child,
    pub portal: String,
    pub identity: String,
    pub graph: String,
    pub tenant: String,
    pub client_id: String,
    pub http: Client,
    dist: PathBuf,
}

fn dist_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("devtenant-dist-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>portal</title>",
    )
    .unwrap();
    dir
}

impl DevTenant {
    pub fn start(args: &[&str]) -> DevTenant {
        let dist = dist_dir();
        DevTenant::start_in(dist, args)
    }

    pub fn start_in(dist: PathBuf, args: &[&str]) -> DevTenant {
        let mut child = Command::new(env!("CARGO_BIN_EXE_devtenant"))
            .args(["--host", "127.0.0.1", "--dist"])
            .arg(&dist)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start devtenant");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready: Value = loop {
            let line = lines
                .next()
                .expect("devtenant exited before it was ready")
                .unwrap();
            if let Some(json) = line.strip_prefix("devtenant ready ") {
                break serde_json::from_str(json).unwrap();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let s = |k: &str| ready[k].as_str().unwrap().to_string();
        DevTenant {
            child,
            portal: s("portal"),
            identity: s("identity"),
            graph: s("graph"),
            tenant: s("tenant"),
            client_id: s("clientId"),
            http: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            dist,
        }
    }

    pub fn dist(&self) -> PathBuf {
        self.dist.clone()
    }

    pub fn origin(&self) -> String {
        self.portal.trim_end_matches('/').to_string()
    }

    pub fn authority(&self) -> String {
        format!("{}/{}", self.identity, self.tenant)
    }

    pub fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/_devtenant{path}", self.graph));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().unwrap();
        assert!(
            response.status().is_success(),
            "admin {path}: {}",
            response.status()
        );
        response.json().unwrap_or(Value::Null)
    }

    pub fn set_faults(&self, faults: Value) {
        self.admin(reqwest::Method::PUT, "/faults", Some(faults));
    }

    pub fn log(&self) -> Vec<Value> {
        self.admin(reqwest::Method::GET, "/log", None)
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Starts an authorize request; returns the response (sign-in page, redirect or error page).
    pub fn authorize(&self, client: &Client, params: &[(&str, &str)]) -> Response {
        client
            .get(format!("{}/oauth2/v2.0/authorize", self.authority()))
            .query(params)
            .send()
            .unwrap()
    }

    /// Standard authorize parameters with a fresh PKCE pair; returns them and the verifier.
    pub fn authorize_params(&self, scope: &str) -> (Vec<(String, String)>, String) {
        let verifier = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let params = vec![
            ("client_id".to_string(), self.client_id.clone()),
            ("response_type".into(), "code".into()),
            ("redirect_uri".into(), self.portal.clone()),
            ("scope".into(), scope.into()),
            ("state".into(), "state-123".into()),
            ("nonce".into(), "nonce-456".into()),
            ("code_challenge".into(), challenge),
            ("code_challenge_method".into(), "S256".into()),
        ];
        (params, verifier)
    }

    /// Submits the sign-in page for `account` (UPN) and returns the redirect's query pairs.
    pub fn pick_account(
        &self,
        client: &Client,
        params: &[(String, String)],
        upn: &str,
    ) -> Vec<(String, String)> {
        let id = self.user_id(upn);
        let mut form: Vec<(String, String)> = params.to_vec();
        form.push(("account".into(), id));
        let response = client
            .post(format!("{}/oauth2/v2.0/authorize", self.authority()))
            .form(&form)
            .send()
            .unwrap();
        assert_eq!(
            response.status(),
            303,
            "sign-in answered {}",
            response.status()
        );
        redirect_query(&response)
    }

    pub fn user_id(&self, upn: &str) -> String {
        let accounts = self.admin(reqwest::Method::GET, "/accounts", None);
        accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["userPrincipalName"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case(upn)
            })
            .map(|a| a["id"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no account {upn}"))
    }

    pub fn token_request(&self, form: &[(&str, &str)], origin: Option<&str>) -> Response {
        let mut request = self
            .http
            .post(format!("{}/oauth2/v2.0/token", self.authority()))
            .form(form);
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send().unwrap()
    }

    pub fn redeem(&self, code: &str, verifier: &str) -> Response {
        self.token_request(
            &[
                ("client_id", &self.client_id),
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.portal),
                ("code_verifier", verifier),
            ],
            Some(&self.origin()),
        )
    }

    /// A full sign-in; returns the token response.
    pub fn sign_in(&self, upn: &str, scope: &str) -> Value {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let (params, verifier) = self.authorize_params(scope);
        let query = self.pick_account(&client, &params, upn);
        let code = find(&query, "code").unwrap_or_else(|| panic!("no code in {query:?}"));
        let response = self.redeem(&code, &verifier);
        assert_eq!(response.status(), 200);
        response.json().unwrap()
    }

    pub fn token(&self, upn: &str, scope: &str) -> String {
        self.sign_in(upn, scope)["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn graph_request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::blocking::RequestBuilder {
        self.http
            .request(method, format!("{}/v1.0{path}", self.graph))
            .bearer_auth(token)
            .header("client-request-id", "11111111-2222-3333-4444-555555555555")
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .graph_request(reqwest::Method::GET, path, token)
            .send()
            .unwrap();
        status_json(response)
    }

    /// Every item of a collection, following `@odata.nextLink` exactly as returned (each must be
    /// an absolute URL on the Graph origin); also returns how many pages there were.
    pub fn get_all_pages(&self, path: &str, token: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut pages = 0;
        let mut next = format!("{}/v1.0{path}", self.graph);
        loop {
            let response = self
                .http
                .get(&next)
                .bearer_auth(token)
                .header("client-request-id", "11111111-2222-3333-4444-555555555555")
                .send()
                .unwrap();
            let (status, body) = status_json(response);
            assert_eq!(status, 200, "GET {next}: {body}");
            pages += 1;
            items.extend(body["value"].as_array().cloned().unwrap_or_default());
            match body["@odata.nextLink"].as_str() {
                Some(link) => {
                    assert!(
                        link.starts_with(&format!("{}/v1.0/", self.graph)),
                        "next link {link} is not absolute on the Graph origin"
                    );
                    next = link.to_string();
                }
                None => return (items, pages),
            }
            assert!(pages < 100, "too many pages");
        }
    }

    /// Every item of a collection (see `get_all_pages`).
    pub fn get_all(&self, path: &str, token: &str) -> Vec<Value> {
        self.get_all_pages(path, token).0
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .graph_request(reqwest::Method::POST, path, token)
            .json(&body)
            .send()
            .unwrap();
        status_json(response)
    }

    pub fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .graph_request(reqwest::Method::DELETE, path, token)
            .send()
            .unwrap();
        status_json(response)
    }

    pub fn bind(&self, app: &str) -> String {
        format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{app}")
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevTenant {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn status_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub fn redirect_query(response: &Response) -> Vec<(String, String)> {
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let query = location
        .split_once(['?', '#'])
        .map(|(_, q)| q)
        .unwrap_or("");
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn find(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// The claims of a JWT (not verified: the test checks the signature separately).
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header_map(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

/// Path-encodes a user id or UPN the way a careful client does.
pub fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}
