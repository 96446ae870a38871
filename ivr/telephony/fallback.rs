//! `ivr fallback`: what the platform plays when this service does not answer at all.
//!
//! The emergency promise must not rest on one process. Twilio requests a number's
//! `VoiceFallbackUrl` when its voice URL fails (refused, timed out, a 5xx, a malformed
//! document); a document hosted elsewhere (a TwiML Bin, a static bucket) then tells the
//! caller the police number in Kazakh and Russian, rings the switchboard, and says the
//! police number again if nobody answers. Nothing in it points back at this service: the
//! recordings it plays are copied beside it and served from `--prompts-url`.
//!
//! jambonz has no fallback URL for an application: when the calling webhook fails (after
//! the retries its URL's `#rc=…&rp=…` asks for) the feature server refuses the call with a
//! SIP 480. Its equivalent of a static document is an application whose `app_json` holds
//! the verbs, run without any webhook: `jambonz.json` is that document, for a standby
//! application the number is moved to when the service is down (docs/restarts.md).

use std::fs;
use std::path::{Path, PathBuf};

use crate::call::DialTarget;
use crate::config::{Settings, base_url};
use crate::telephony::jambonz::verbs;
use crate::telephony::twiml;

/// How long the switchboard rings before the caller hears the police number again.
pub const RING_SECONDS: u8 = 30;

/// The recordings a fallback plays, in the order the caller hears them, per language.
const POLICE_NUMBER: &str = "police_number";
const TRANSFER_OPERATOR: &str = "transfer_operator";
/// Kazakh first, as the language choice of the line itself.
const LANGUAGES: [&str; 2] = ["kk", "ru"];

/// `ivr fallback`: writes the documents a platform plays when this service does not answer.
#[derive(clap::Args)]
pub struct FallbackArgs {
    /// Where the written folder's `prompts/` is served from (https://…): not this service,
    /// which is what the fallback stands in for.
    #[arg(long)]
    pub prompts_url: String,
    /// The folder to write: `twiml.xml`, `jambonz.json` and `prompts/` (the recordings).
    #[arg(long, default_value = "fallback")]
    pub out: PathBuf,
}

/// What a fallback call does, in either dialect.
pub struct FallbackCall<'a> {
    /// Played before the switchboard rings: the police number, then "connecting you".
    pub before: Vec<String>,
    /// The number rung for a person (`IVR_OPERATOR_NUMBER`).
    pub switchboard: &'a DialTarget,
    /// How long the switchboard rings before the caller hears the police number again.
    pub ring_seconds: u8,
    /// Played when the switchboard's call ends or nobody answered: the police number.
    pub after: Vec<String>,
}

impl FallbackCall<'_> {
    /// The call for `switchboard`, playing recordings served from `prompts_url`.
    pub fn new<'a>(prompts_url: &str, switchboard: &'a DialTarget) -> FallbackCall<'a> {
        let urls = |keys: &[&str]| {
            keys.iter()
                .flat_map(|key| LANGUAGES.map(|language| format!("{prompts_url}/{language}/{key}.wav")))
                .collect::<Vec<_>>()
        };
        FallbackCall {
            before: urls(&[POLICE_NUMBER, TRANSFER_OPERATOR]),
            switchboard,
            ring_seconds: RING_SECONDS,
            after: urls(&[POLICE_NUMBER]),
        }
    }
}

/// `ivr fallback`: checks the settings, writes the folder, says where each file goes.
pub fn command(args: FallbackArgs) -> Result<(), Vec<String>> {
    let settings = Settings::from_env()?;
    let prompts_url = prompts_url(&args.prompts_url, &settings.public_url).map_err(|e| vec![e])?;
    let Some(switchboard) = &settings.operator_number else {
        return Err(vec!["IVR_OPERATOR_NUMBER is not set: a fallback must ring the switchboard".to_owned()]);
    };
    write(&args.out, &settings.prompts_dir, &prompts_url, switchboard).map_err(|e| vec![e])?;
    println!("wrote {}:", args.out.display());
    println!("  twiml.xml     Twilio: host it (a TwiML Bin) and set it as the number's VoiceFallbackUrl");
    println!("  jambonz.json  jambonz: the app_json of a standby application (see docs/restarts.md)");
    println!("  prompts/      the recordings both play: serve this folder at {prompts_url}");
    Ok(())
}

/// `--prompts-url`, checked as `IVR_PUBLIC_URL` is, and refused on this service's own host.
fn prompts_url(text: &str, public_url: &str) -> Result<String, String> {
    let url = base_url(text).map_err(|why| format!("--prompts-url {why}"))?;
    let host = |url: &str| url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned));
    if host(&url) == host(public_url) {
        return Err(format!(
            "--prompts-url is on this service's own host ({public_url}): the fallback must not depend on it"
        ));
    }
    Ok(url)
}

/// Writes both documents and copies the recordings they play.
pub fn write(out: &Path, prompts_dir: &Path, prompts_url: &str, switchboard: &DialTarget) -> Result<(), String> {
    let call = FallbackCall::new(prompts_url, switchboard);
    let problem = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    for language in LANGUAGES {
        let folder = out.join("prompts").join(language);
        fs::create_dir_all(&folder).map_err(|e| problem(&folder, e))?;
        for key in [POLICE_NUMBER, TRANSFER_OPERATOR] {
            let from = prompts_dir.join(language).join(format!("{key}.wav"));
            fs::copy(&from, folder.join(format!("{key}.wav"))).map_err(|e| problem(&from, e))?;
        }
    }
    let twiml_path = out.join("twiml.xml");
    fs::write(&twiml_path, twiml::fallback(&call)).map_err(|e| problem(&twiml_path, e))?;
    let jambonz_path = out.join("jambonz.json");
    fs::write(&jambonz_path, verbs::fallback(&call)).map_err(|e| problem(&jambonz_path, e))
}
