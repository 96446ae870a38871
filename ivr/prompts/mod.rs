//! The prompt library: every recording a caller can hear, in Kazakh and Russian.
//!
//! `prompts/manifest.toml` lists the keys; each key has `<lang>/<key>.wav` (what callers
//! hear) and `<lang>/<key>.txt` (its transcript) for every language. The library is read and
//! validated once at start-up and then served from memory, so a caller never waits on the
//! disk and a broken recording is found before anyone hears it.

mod audio;
mod import;
mod resample;
mod serve;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Bytes;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::flow::{Language, Node, PromptCatalog, PromptKey};

pub use audio::{AudioProblem, check_recording};
pub use import::{ImportError, Imported, InputAudio, InputProblem, PromptsCommand, import};
pub use serve::{Served, router};

/// One recording, ready to serve.
#[derive(Clone, Debug)]
pub struct Prompt {
    /// The WAV file's bytes (8000 Hz mono 16-bit PCM).
    pub wav: Bytes,
    /// A strong validator: the SHA-256 of the bytes, quoted.
    pub etag: String,
    /// The words spoken (the script beside the recording).
    pub transcript: String,
    /// How long it plays.
    pub duration: Duration,
    /// A synthetic placeholder or a studio take (`manifest.toml`).
    pub recording: RecordingKind,
    /// Whether the words are the memo's or go beyond it and await the hotline's approval.
    pub text: TextSource,
}

/// Where a recording comes from. `synthesize.sh` never overwrites a studio take, and
/// `ivr prompts import` marks what it installs as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingKind {
    /// An espeak-ng placeholder made by `prompts/synthesize.sh`.
    Synthetic,
    /// A voice artist's recording, imported with `ivr prompts import`.
    Studio,
}

impl RecordingKind {
    /// `synthetic` or `studio`, as in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingKind::Synthetic => "synthetic",
            RecordingKind::Studio => "studio",
        }
    }
}

/// Whose words a prompt speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextSource {
    /// The hotline's stalking memo, or the menu's own wording around it.
    Memo,
    /// Advice the memo does not give: needs the hotline's approval.
    BeyondMemo,
}

impl TextSource {
    /// `memo` or `beyond-memo`, as in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            TextSource::Memo => "memo",
            TextSource::BeyondMemo => "beyond-memo",
        }
    }
}

/// How much of the library is still placeholder or unapproved, for `ivr check`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// Recordings in the library.
    pub recordings: usize,
    /// Of them, synthetic placeholders.
    pub synthetic: usize,
    /// Of them, texts that go beyond the memo.
    pub beyond_memo: usize,
}

/// Every prompt recording of both languages, loaded and checked at start.
#[derive(Clone, Debug, Default)]
pub struct PromptLibrary {
    prompts: HashMap<(Language, PromptKey), Prompt>,
    descriptions: BTreeMap<PromptKey, String>,
}

/// A problem with one file of the library, or with the manifest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PromptError {
    /// The file, relative to the library.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    prompts: BTreeMap<String, ManifestEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestEntry {
    description: String,
    text: PerLanguage<TextSource>,
    recording: PerLanguage<RecordingKind>,
}

/// One value for each language: `{ kk = "…", ru = "…" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PerLanguage<T> {
    kk: T,
    ru: T,
}

impl<T: Copy> PerLanguage<T> {
    fn get(&self, language: Language) -> T {
        match language {
            Language::Kk => self.kk,
            Language::Ru => self.ru,
        }
    }
}

impl PromptLibrary {
    /// Reads and validates the whole library; every problem is listed.
    pub fn load(dir: &Path) -> Result<PromptLibrary, Vec<PromptError>> {
        let manifest = read_manifest(dir).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut library = PromptLibrary::default();
        for (key, entry) in manifest.prompts {
            let Some(key) = PromptKey::parse(&key) else {
                errors.push(problem(
                    &dir.join("manifest.toml"),
                    format!("{} is not a valid prompt key", crate::flow::quoted(&key)),
                ));
                continue;
            };
            for language in Language::ALL {
                match load_prompt(dir, language, &key) {
                    Ok(mut prompt) => {
                        prompt.recording = entry.recording.get(language);
                        prompt.text = entry.text.get(language);
                        library.prompts.insert((language, key.clone()), prompt);
                    }
                    Err(mut problems) => errors.append(&mut problems),
                }
            }
            library.descriptions.insert(key, entry.description);
        }
        errors.extend(unlisted_files(dir, &library.descriptions));
        if errors.is_empty() { Ok(library) } else { Err(errors) }
    }

    /// The recording of `key` in `language`.
    pub fn get(&self, language: Language, key: &PromptKey) -> Option<&Prompt> {
        self.prompts.get(&(language, key.clone()))
    }

    /// The manifest's keys with their descriptions, in order.
    pub fn keys(&self) -> impl Iterator<Item = (&PromptKey, &str)> {
        self.descriptions.iter().map(|(k, d)| (k, d.as_str()))
    }

    /// How many recordings are synthetic placeholders, and how many texts await approval.
    pub fn provenance(&self) -> Provenance {
        let prompts = self.prompts.values();
        Provenance {
            recordings: prompts.len(),
            synthetic: prompts.clone().filter(|p| p.recording == RecordingKind::Synthetic).count(),
            beyond_memo: prompts.filter(|p| p.text == TextSource::BeyondMemo).count(),
        }
    }

    /// How long `node`'s part (see [`Node::part`]) plays in `language`, in whole seconds
    /// rounded down (so a caller who heard it whole is never taken for one who did not);
    /// `None` for a node without a part or a recording missing.
    pub fn part_seconds(&self, node: &Node, language: Language) -> Option<u16> {
        let part = node.part();
        if part.is_empty() {
            return None;
        }
        let played =
            part.into_iter().map(|key| self.get(language, key).map(|p| p.duration)).sum::<Option<Duration>>()?;
        Some(u16::try_from(played.as_secs()).unwrap_or(u16::MAX))
    }

    /// Total listening time of one language's recordings.
    pub fn total_duration(&self, language: Language) -> Duration {
        self.prompts.iter().filter(|((l, _), _)| *l == language).map(|(_, p)| p.duration).sum()
    }
}

impl PromptCatalog for PromptLibrary {
    fn has(&self, language: Language, key: &PromptKey) -> bool {
        self.prompts.contains_key(&(language, key.clone()))
    }
}

/// Where the recording of `key` in `language` lives under the library folder `dir`.
pub fn wav_path(dir: &Path, language: Language, key: &PromptKey) -> PathBuf {
    dir.join(language.code()).join(format!("{key}.wav"))
}

fn problem(path: &Path, problem: impl Into<String>) -> PromptError {
    PromptError { path: path.display().to_string(), problem: problem.into() }
}

/// The largest recording read: 180 s (the longest allowed) of 8 kHz 16-bit mono is 2.9 MB.
const MAX_WAV_BYTES: u64 = 4 * 1024 * 1024;
/// The largest transcript or manifest read.
const MAX_TEXT_BYTES: u64 = 256 * 1024;

/// Reads a file of the library at `path`, which must resolve inside `root`: a link out of
/// the library (whose text the prompts page would show, or a link to `/dev/zero` read until
/// memory runs out) is refused, as is anything but a regular file or a file over `max`
/// bytes. `what` names the file in the error ("recording", "transcript").
fn read_in_library(root: &Path, path: &Path, max: u64, what: &str) -> Result<Vec<u8>, PromptError> {
    let real = std::fs::canonicalize(path).map_err(|e| problem(path, format!("no {what}: {e}")))?;
    let inside = std::fs::canonicalize(root).is_ok_and(|root| real.starts_with(root));
    if !inside {
        return Err(problem(path, format!("a link to {}, outside the prompt library", real.display())));
    }
    let file = std::fs::File::open(&real).map_err(|e| problem(path, format!("cannot read: {e}")))?;
    let metadata = file.metadata().map_err(|e| problem(path, format!("cannot read: {e}")))?;
    if !metadata.is_file() {
        return Err(problem(path, format!("not a regular file ({what}s are files)")));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max + 1), &mut bytes)
        .map_err(|e| problem(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > max {
        return Err(problem(path, format!("over {max} bytes: too large for a {what}")));
    }
    Ok(bytes)
}

fn read_text_in_library(root: &Path, path: &Path, what: &str) -> Result<String, PromptError> {
    let bytes = read_in_library(root, path, MAX_TEXT_BYTES, what)?;
    String::from_utf8(bytes).map_err(|_| problem(path, format!("the {what} is not UTF-8 text")))
}

fn read_manifest(dir: &Path) -> Result<Manifest, PromptError> {
    let path = dir.join("manifest.toml");
    let text = read_text_in_library(dir, &path, "manifest")?;
    toml::from_str(&text).map_err(|e| problem(&path, e.message().to_owned()))
}

fn load_prompt(dir: &Path, language: Language, key: &PromptKey) -> Result<Prompt, Vec<PromptError>> {
    let wav_path = wav_path(dir, language, key);
    let txt_path = wav_path.with_extension("txt");
    let transcript = read_text_in_library(dir, &txt_path, "transcript")
        .and_then(|t| if t.trim().is_empty() { Err(problem(&txt_path, "transcript is empty")) } else { Ok(t) });
    let wav = read_in_library(dir, &wav_path, MAX_WAV_BYTES, "recording");
    let (transcript, wav) = match (transcript, wav) {
        (Ok(t), Ok(w)) => (t, w),
        (t, w) => return Err(t.err().into_iter().chain(w.err()).collect()),
    };
    let duration = check_recording(&wav)
        .map_err(|problems| problems.into_iter().map(|p| problem(&wav_path, p.to_string())).collect::<Vec<_>>())?;
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&wav)));
    Ok(Prompt {
        wav: Bytes::from(wav),
        etag,
        transcript: transcript.trim().to_owned(),
        duration,
        recording: RecordingKind::Synthetic,
        text: TextSource::Memo,
    })
}

/// Recordings on disk that the manifest does not list: a typo in a file name shows here.
fn unlisted_files(dir: &Path, listed: &BTreeMap<PromptKey, String>) -> Vec<PromptError> {
    let mut errors = Vec::new();
    for language in Language::ALL {
        let Ok(entries) = std::fs::read_dir(dir.join(language.code())) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            let is_prompt = matches!(path.extension().and_then(|e| e.to_str()), Some("wav" | "txt"));
            let stem = path.file_stem().and_then(|s| s.to_str()).and_then(PromptKey::parse);
            if is_prompt && !stem.is_some_and(|k| listed.contains_key(&k)) {
                errors.push(problem(&path, "not listed in manifest.toml"));
            }
        }
    }
    errors
}
