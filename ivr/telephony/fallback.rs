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
//!
//! Asterisk needs no document from elsewhere: the PBX itself is the fallback. When no
//! FastAGI instance answers, the shipped dialplan (`deploy/asterisk/extensions.conf`) goes
//! to the context `ivr-111-fallback`, which `--dialect asterisk` writes with the
//! recordings it plays, installed on the PBX: the police number in both languages with the
//! emergency key reading while it plays, then the switchboard, then the number again.

use std::fs;
use std::path::{Path, PathBuf};

use crate::call::DialTarget;
use crate::config::{Settings, base_url};
use crate::flow::{Digit, Flow};
use crate::prompts::check_recording;
use crate::telephony::jambonz::verbs;
use crate::telephony::twiml;

/// How long the switchboard rings before the caller hears the police number again.
pub const RING_SECONDS: u8 = 30;

/// The recordings a fallback plays, in the order the caller hears them, per language.
const POLICE_NUMBER: &str = "police_number";
const TRANSFER_OPERATOR: &str = "transfer_operator";
/// Kazakh first, as the language choice of the line itself.
const LANGUAGES: [&str; 2] = ["kk", "ru"];

/// The file `--dialect asterisk` writes: the context `ivr-111-fallback`.
pub const ASTERISK_DIALPLAN: &str = "ivr-111-fallback.conf";
/// The Asterisk fallback's recordings, in the order the caller hears them, per language:
/// the police number, then the keys (the emergency key, the operator key, stay on the line).
const ASTERISK_MENU: [&str; 2] = [POLICE_NUMBER, "keys_reminder"];

/// The platforms a fallback is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dialect {
    /// `twiml.xml`: Twilio's `VoiceFallbackUrl`.
    Twiml,
    /// `jambonz.json`: the `app_json` of a standby jambonz application.
    Jambonz,
    /// `ivr-111-fallback.conf` and `sounds/`: the PBX's own fallback dialplan.
    Asterisk,
}

/// `ivr fallback`: writes the documents a platform plays when this service does not answer.
#[derive(clap::Args)]
pub struct FallbackArgs {
    /// Which platforms' fallbacks to write (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Dialect::Twiml, Dialect::Jambonz])]
    pub dialect: Vec<Dialect>,
    /// Where the written folder's `prompts/` is served from (https://…): not this service,
    /// which is what the fallback stands in for. Needed for `twiml` and `jambonz`.
    #[arg(long)]
    pub prompts_url: Option<String>,
    /// The folder to write: `twiml.xml`, `jambonz.json` and `prompts/` (the recordings);
    /// `ivr-111-fallback.conf` and `sounds/` for Asterisk.
    #[arg(long, default_value = "fallback", conflicts_with = "dir")]
    pub out: PathBuf,
    /// The folder to write, as `--out`.
    pub dir: Option<PathBuf>,
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
    let out = args.dir.as_ref().unwrap_or(&args.out);
    let hosted: Vec<Dialect> = args.dialect.iter().copied().filter(|d| *d != Dialect::Asterisk).collect();
    let mut said = Vec::new();
    if !hosted.is_empty() {
        let Some(text) = &args.prompts_url else {
            return Err(vec!["--prompts-url is needed for the twiml and jambonz fallbacks".to_owned()]);
        };
        let prompts_url = prompts_url(text, &settings.public_url).map_err(|e| vec![e])?;
        let Some(switchboard) = &settings.operator_number else {
            return Err(vec!["IVR_OPERATOR_NUMBER is not set: a fallback must ring the switchboard".to_owned()]);
        };
        write_dialects(out, &hosted, &settings.prompts_dir, &prompts_url, switchboard).map_err(|e| vec![e])?;
        if hosted.contains(&Dialect::Twiml) {
            said.push(
                "  twiml.xml     Twilio: host it (a TwiML Bin) and set it as the number's VoiceFallbackUrl".to_owned(),
            );
        }
        if hosted.contains(&Dialect::Jambonz) {
            said.push(
                "  jambonz.json  jambonz: the app_json of a standby application (see docs/restarts.md)".to_owned(),
            );
        }
        said.push(format!("  prompts/      the recordings they play: serve this folder at {prompts_url}"));
    }
    if args.dialect.contains(&Dialect::Asterisk) {
        let flow = Flow::load(&settings.flow_path).map_err(|e| vec![e.to_string()])?;
        write_asterisk(out, &settings.prompts_dir, flow.emergency_key, flow.operator_key).map_err(|e| vec![e])?;
        said.push(format!(
            "  {ASTERISK_DIALPLAN}  Asterisk: #include it beside deploy/asterisk/extensions.conf (docs/asterisk.md)"
        ));
        said.push(
            "  sounds/       its recordings: copy to the PBX and name that folder in the global IVR_SOUNDS".to_owned(),
        );
    }
    println!("wrote {}:", out.display());
    for line in said {
        println!("{line}");
    }
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

/// Writes both hosted documents and copies the recordings they play.
pub fn write(out: &Path, prompts_dir: &Path, prompts_url: &str, switchboard: &DialTarget) -> Result<(), String> {
    write_dialects(out, &[Dialect::Twiml, Dialect::Jambonz], prompts_dir, prompts_url, switchboard)
}

/// Writes the hosted documents of `dialects` (`twiml`, `jambonz`) and the recordings.
fn write_dialects(
    out: &Path,
    dialects: &[Dialect],
    prompts_dir: &Path,
    prompts_url: &str,
    switchboard: &DialTarget,
) -> Result<(), String> {
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
    if dialects.contains(&Dialect::Twiml) {
        let twiml_path = out.join("twiml.xml");
        fs::write(&twiml_path, twiml::fallback(&call)).map_err(|e| problem(&twiml_path, e))?;
    }
    if dialects.contains(&Dialect::Jambonz) {
        let jambonz_path = out.join("jambonz.json");
        fs::write(&jambonz_path, verbs::fallback(&call)).map_err(|e| problem(&jambonz_path, e))?;
    }
    Ok(())
}

/// Writes the Asterisk fallback: the dialplan and the recordings it plays, checked to be
/// what Asterisk plays without converting (8 kHz mono 16-bit PCM WAV).
pub fn write_asterisk(out: &Path, prompts_dir: &Path, emergency: Digit, operator: Digit) -> Result<(), String> {
    if emergency.as_char() == '#' || operator.as_char() == '#' {
        return Err("the emergency and operator keys cannot be # on Asterisk: Read() ends its input on #".to_owned());
    }
    let problem = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
    for language in LANGUAGES {
        let folder = out.join("sounds").join(language);
        fs::create_dir_all(&folder).map_err(|e| problem(&folder, e))?;
        for key in [POLICE_NUMBER, "keys_reminder", TRANSFER_OPERATOR] {
            let from = prompts_dir.join(language).join(format!("{key}.wav"));
            let wav = fs::read(&from).map_err(|e| problem(&from, e))?;
            if let Err(problems) = check_recording(&wav) {
                let why: Vec<String> = problems.iter().map(ToString::to_string).collect();
                return Err(format!("{}: {}", from.display(), why.join("; ")));
            }
            let to = folder.join(format!("{key}.wav"));
            fs::write(&to, wav).map_err(|e| problem(&to, e))?;
        }
    }
    let path = out.join(ASTERISK_DIALPLAN);
    fs::write(&path, asterisk_dialplan(emergency, operator)).map_err(|e| problem(&path, e))
}

/// `${IVR_SOUNDS}/kk/police_number&${IVR_SOUNDS}/ru/police_number…`: `keys` in every
/// language, as Read() and Playback() take several files.
fn asterisk_files(keys: &[&str]) -> String {
    let files: Vec<String> =
        keys.iter().flat_map(|key| LANGUAGES.map(|language| format!("${{IVR_SOUNDS}}/{language}/{key}"))).collect();
    files.join("&")
}

/// The context `ivr-111-fallback`: the same call as the hosted documents, with the
/// emergency key read while the police number plays (the PBX can, a static document
/// cannot).
fn asterisk_dialplan(emergency: Digit, operator: Digit) -> String {
    let menu = asterisk_files(&ASTERISK_MENU);
    let connecting = asterisk_files(&[TRANSFER_OPERATOR]);
    let again = asterisk_files(&[POLICE_NUMBER]);
    format!(
        r#"; Written by `ivr fallback --dialect asterisk`: what the PBX plays when no instance of the
; 111 service answers (deploy/asterisk/extensions.conf goes here then). It needs nothing of
; the service: the recordings are files on the PBX, in the folder the global IVR_SOUNDS
; names, and the numbers are the PBX's own routes, the globals IVR_POLICE and
; IVR_SWITCHBOARD (docs/asterisk.md). Write it again when those recordings or the keys of
; the flow change; edits by hand are lost then.
;
; The police number in Kazakh and Russian, then the keys; {emergency} during any of it
; dials the police. Any other key, or none, rings the switchboard for {RING_SECONDS} s; when nobody
; answers, the number again ({emergency} still dials the police), then the call ends.
[ivr-111-fallback]
exten => s,1,Answer()
 same => n,Read(IVR_KEY,{menu},1,,1,3)
 same => n,GotoIf($["${{IVR_KEY}}" = "{emergency}"]?police)
 ; {operator} and silence both mean a person: only the words differ.
 same => n(switchboard),Read(IVR_KEY,{connecting},1,,1,0.1)
 same => n,GotoIf($["${{IVR_KEY}}" = "{emergency}"]?police)
 same => n,Dial(${{IVR_SWITCHBOARD}},{RING_SECONDS})
 same => n,GotoIf($["${{DIALSTATUS}}" = "ANSWER"]?end)
 same => n,Read(IVR_KEY,{again},1,,1,3)
 same => n,GotoIf($["${{IVR_KEY}}" = "{emergency}"]?police)
 same => n(end),Hangup()
 ; A police line that is busy or fails leaves the caller with a person, not with silence.
 same => n(police),Dial(${{IVR_POLICE}},60)
 same => n,GotoIf($["${{DIALSTATUS}}" = "ANSWER"]?end:switchboard)
"#
    )
}
