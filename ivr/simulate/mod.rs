//! `ivr simulate`: hear the hotline on a laptop, without a telephony account.
//!
//! The people who write and record the guidance, and the engineers who change the menu,
//! need to walk the whole IVR as a caller would. The simulator calls the service in-process
//! through the same router and webhooks the platform calls (`line`, in TwiML or jambonz
//! with `--dialect`), or over FastAGI as Asterisk does (`--dialect asterisk`), follows what
//! it answers, plays the prompts it points to, and sends back the keys pressed. What it shows
//! is therefore what a caller gets, not what the flow file seems to say.
//!
//! At the keyboard (`interactive`) prompts play through the sound card (cargo feature
//! `playback`) with their transcripts; with `--keys` (`script`) a scripted call prints a
//! reproducible transcript, for documentation and the golden tests.

mod agi;
mod interactive;
mod keypad;
mod line;
mod script;
mod speaker;
mod transcript;

use crate::config::Settings;
use crate::flow::{Digit, Flow, Language};
use crate::state::{self, Loaded};

pub use interactive::{Caller, KEY_HELP};
pub use keypad::{Keys, Pressed, RawTerminal, Screen};
pub use line::{Call, Callee, Heard, Line, LineError, Turn};
pub use script::{parse as parse_script, token, transcript};
pub use speaker::{Silent, Speaker};
pub use transcript::{Action, outcome_name};

/// `ivr simulate`: a call to the real service, in this process.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Skip the language menu by pressing this language's key: kk or ru.
    #[arg(long, value_parser = parse_language)]
    pub lang: Option<Language>,
    /// Run a scripted call and print its transcript. Comma-separated: keypad keys (0-9 * #),
    /// `-` to say nothing, and answered, busy, no-answer or failed to end a transfer.
    #[arg(long, value_name = "SCRIPT", allow_hyphen_values = true)]
    pub keys: Option<String>,
    /// Show transcripts only, even if the prompts could be played.
    #[arg(long)]
    pub no_audio: bool,
    /// The platform's dialect to call the service in: twiml (Twilio's webhooks), jambonz, or
    /// asterisk (FastAGI).
    #[arg(long, value_enum, default_value = "twiml")]
    pub dialect: crate::softphone::Dialect,
}

/// Why a simulated call stopped.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The service did something a platform could not follow.
    #[error(transparent)]
    Line(#[from] LineError),
    #[error(
        "`{0}` in --keys is none of: a keypad key (0-9, *, #), `-` (say nothing), \
         answered, busy, no-answer, failed"
    )]
    /// A `--keys` step that is none of the allowed words.
    Token(String),
    /// A step of a script that cannot happen; `transcript` is the call up to it.
    #[error("--keys step {step} (`{token}`): {reason}\nthe call until then:\n{transcript}")]
    Script {
        /// The step's place in the script, from 1.
        step: usize,
        /// The step as written.
        token: String,
        /// Why it cannot happen.
        reason: String,
        /// The call up to it.
        transcript: String,
    },
    /// `--lang` names a language the language menu offers no key for.
    #[error("no key on the language menu `{menu}` chooses {language}")]
    NoLanguageKey {
        /// The language menu.
        menu: String,
        /// The language asked for.
        language: Language,
    },
    /// The terminal could not be used.
    #[error("the terminal: {0} (a scripted call with --keys needs none)")]
    Terminal(#[from] std::io::Error),
}

/// `ivr simulate`: loads the service as `ivr serve` would and runs the simulator.
pub fn command(args: SimulateArgs) -> Result<(), Vec<String>> {
    let app = state::load(Settings::from_env()?)?;
    run(app, args).map_err(|error| vec![error.to_string()])
}

/// Runs a scripted call (with `--keys`) or a call at the keyboard on `app`.
pub fn run(app: Loaded, args: SimulateArgs) -> Result<(), SimulateError> {
    // The service's own logs would interleave with the transcript.
    let _quiet = tracing::dispatcher::set_default(&tracing::Dispatch::none());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let line = {
        let _in_runtime = runtime.enter();
        Line::new(app, args.dialect)
    };
    if let Some(keys) = &args.keys {
        let script = script::parse(keys)?;
        print!("{}", runtime.block_on(transcript(&line, args.lang, &script))?);
        return Ok(());
    }
    RawTerminal::require()?;
    let (mut speaker, audio_note) = speaker::open(args.no_audio);
    let mut keys = RawTerminal::enable()?;
    let mut screen = Screen::new(std::io::stdout());
    screen.show(["111 hotline simulator: the real service, in-process; no call leaves this machine.", KEY_HELP])?;
    screen.show(audio_note.iter())?;
    let mut caller = Caller { keys: &mut keys, speaker: speaker.as_mut(), screen: &mut screen };
    caller.walk(&line, &runtime, args.lang)
}

/// The key that chooses `language` on the flow's first menu.
pub fn language_key(flow: &Flow, language: Language) -> Result<Digit, SimulateError> {
    let menu = flow.node(flow.start);
    let options = menu.options().into_iter().flatten();
    options
        .filter(|(_, choice)| choice.language == Some(language))
        .map(|(key, _)| *key)
        .next()
        .ok_or_else(|| SimulateError::NoLanguageKey { menu: menu.name.clone(), language })
}

fn parse_language(code: &str) -> Result<Language, String> {
    Language::from_code(code).ok_or_else(|| format!("`{code}` is not a language of the hotline: kk or ru"))
}
