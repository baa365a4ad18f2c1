//! `cargo xtask register`: prints (never runs) the commands that create the portal's Entra app
//! registration and writes a matching `config.json`. The text comes from
//! `portal_core::registration`, tested there; this file only reads the flags and writes.

use std::path::Path;

use portal_core::registration::{parse_cloud, registration, RegistrationInput};
use portal_core::Cloud;

pub const USAGE: &str = "\
cargo xtask register --tenant TENANT --origin URL [--origin URL…] [--out FILE]
                     [--cloud global|usgov|usgovdod|china] [--client-id GUID]

  --tenant     the tenant's domain (contoso.onmicrosoft.com), its id, or organizations
  --origin     where the portal is served (https, or http on localhost); repeat for more
               SPA redirect URIs, the first is config.json's redirectUri
  --out        the config.json to write (default config.json, relative to the repository root)
  --cloud      global (default), usgov (GCC High, also usgov-l4), usgovdod (DoD, also
               usgov-l5) or china (21Vianet)
  --client-id  the application (client) id once the registration exists: config.json and the
               admin-consent link then carry it
";

/// The value after `flag`, or an error naming it.
fn value<'a>(flag: &str, next: Option<&'a String>) -> Result<&'a str, String> {
    next.map(String::as_str)
        .filter(|v| !v.starts_with("--"))
        .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
}

/// `cargo xtask register …`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut tenant = None;
    let mut origins = Vec::new();
    let mut out = "config.json".to_string();
    let mut cloud = Cloud::Global;
    let mut client_id = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--tenant" => tenant = Some(value(flag, it.next())?.to_string()),
            "--origin" => origins.push(value(flag, it.next())?.to_string()),
            "--out" => out = value(flag, it.next())?.to_string(),
            "--client-id" => client_id = Some(value(flag, it.next())?.to_string()),
            "--cloud" => {
                let name = value(flag, it.next())?;
                cloud = parse_cloud(name).ok_or_else(|| {
                    format!("--cloud {name:?} is not global, usgov, usgovdod or china")
                })?;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("register does not take {other:?}\n\n{USAGE}")),
        }
    }
    let tenant = tenant.ok_or_else(|| format!("--tenant is required\n\n{USAGE}"))?;
    let registration = registration(&RegistrationInput {
        tenant: &tenant,
        origins: &origins,
        cloud,
        client_id: client_id.as_deref(),
        config_path: &out,
    })?;
    let path = Path::new(&out);
    std::fs::write(path, &registration.config_json)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    print!("{}", registration.report());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn writes_a_config_the_portal_reads_and_refuses_what_it_cannot_use() {
        let out = std::env::temp_dir().join(format!("xtask-register-{}.json", std::process::id()));
        let out_text = out.to_string_lossy().to_string();
        run(&args(&[
            "--tenant",
            "contoso.onmicrosoft.com",
            "--origin",
            "https://portal.contoso.com",
            "--cloud",
            "usgovdod",
            "--out",
            &out_text,
        ]))
        .unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        let config = portal_core::RuntimeConfig::parse(&text).unwrap();
        assert_eq!(config.cloud, Cloud::UsGovL5);
        for bad in [
            &["--origin", "https://portal.contoso.com"][..],
            &["--tenant", "contoso.onmicrosoft.com", "--origin"],
            &["--tenant", "contoso.onmicrosoft.com", "--cloud", "mars"],
            &["--tenant", "contoso.onmicrosoft.com", "--colour", "blue"],
        ] {
            assert!(run(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
