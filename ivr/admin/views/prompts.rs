//! The prompt library: every recording a caller can hear, playable in the browser next to
//! its transcript, so an administrator can hear that the words and the text agree and see
//! at once which recording is missing or broken.

use std::time::Duration;

use askama::Template;

use super::format::{clock, fill, int};
use super::layout::{Chrome, PageContext, Section, render};
use super::paths;
use super::text::Text;
use crate::flow::Language;
use crate::prompts::{PromptLibrary, RecordingKind, TextSource};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptsView {
    pub prompts: Vec<PromptEntry>,
}

/// One prompt key, in every language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromptEntry {
    pub key: String,
    pub description: String,
    pub recordings: Vec<Recording>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    pub language: Language,
    pub transcript: String,
    pub duration: Duration,
    pub status: PromptStatus,
    /// A synthetic placeholder or a studio take; `None` when there is no recording.
    pub kind: Option<RecordingKind>,
    /// The memo's words, or words beyond it awaiting approval; `None` without a recording.
    pub text: Option<TextSource>,
}

/// Whether a recording can be played.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptStatus {
    /// There and valid.
    Ok,
    /// No recording in this language: there is nothing to play.
    Missing,
    /// What the validation found wrong, e.g. a wrong sample rate.
    Problem(String),
}

impl PromptsView {
    /// The loaded library: every key of the manifest in both languages. A library that
    /// loaded has passed validation, so a recording is either there and fine or missing.
    pub fn from_library(library: &PromptLibrary) -> PromptsView {
        let entry = |(key, description): (&crate::flow::PromptKey, &str)| PromptEntry {
            key: key.to_string(),
            description: description.to_owned(),
            recordings: Language::ALL
                .into_iter()
                .map(|language| match library.get(language, key) {
                    Some(p) => Recording {
                        language,
                        transcript: p.transcript.clone(),
                        duration: p.duration,
                        status: PromptStatus::Ok,
                        kind: Some(p.recording),
                        text: Some(p.text),
                    },
                    None => Recording {
                        language,
                        transcript: String::new(),
                        duration: Duration::ZERO,
                        status: PromptStatus::Missing,
                        kind: None,
                        text: None,
                    },
                })
                .collect(),
        };
        PromptsView { prompts: library.keys().map(entry).collect() }
    }
}

#[derive(Template)]
#[template(path = "prompts.html", config = "ivr/admin/views/askama.toml")]
struct PromptsPage<'a> {
    chrome: Chrome<'a>,
    t: &'static Text,
    summary: String,
    provenance: String,
    entries: Vec<Entry<'a>>,
}

struct Entry<'a> {
    key: &'a str,
    description: &'a str,
    recordings: Vec<Player<'a>>,
}

struct Player<'a> {
    code: &'static str,
    language: &'static str,
    src: Option<String>,
    transcript: &'a str,
    duration: String,
    ok: bool,
    status: String,
    /// "Synthetic placeholder" or "studio", and whether it is the studio take.
    kind: Option<(&'static str, bool)>,
    /// "Memo" or "beyond the memo: needs approval", and whether it is approved text.
    text: Option<(&'static str, bool)>,
}

pub fn prompts_page(page: &PageContext, view: &PromptsView) -> String {
    let t = page.ui.text();
    let recordings = view.prompts.iter().flat_map(|p| &p.recordings);
    let problems = recordings.clone().filter(|r| r.status != PromptStatus::Ok).count();
    let summary =
        fill(&fill(t.prompts_summary, "n", &int(recordings.clone().count() as i64)), "a", &int(problems as i64));
    let synthetic = recordings.clone().filter(|r| r.kind == Some(RecordingKind::Synthetic)).count();
    let beyond_memo = recordings.filter(|r| r.text == Some(TextSource::BeyondMemo)).count();
    let provenance = fill(&fill(t.prompts_provenance, "s", &int(synthetic as i64)), "b", &int(beyond_memo as i64));
    let entries = view
        .prompts
        .iter()
        .map(|p| Entry {
            key: &p.key,
            description: &p.description,
            recordings: p.recordings.iter().map(|r| player(t, &p.key, r)).collect(),
        })
        .collect();
    render(&PromptsPage { chrome: Chrome::signed_in(page, Section::Prompts), t, summary, provenance, entries })
}

fn player<'a>(t: &Text, key: &str, recording: &'a Recording) -> Player<'a> {
    let code = recording.language.code();
    let status = match &recording.status {
        PromptStatus::Ok => t.status_ok.to_owned(),
        PromptStatus::Missing => t.status_missing.to_owned(),
        PromptStatus::Problem(problem) => format!("{}: {problem}", t.problem),
    };
    let missing = recording.status == PromptStatus::Missing;
    Player {
        code,
        language: t.language_name(code),
        src: (!missing).then(|| format!("{}/{code}/{}.wav", paths::PROMPT_AUDIO, path_segment(key))),
        transcript: &recording.transcript,
        duration: if missing { "—".to_owned() } else { clock(recording.duration) },
        ok: recording.status == PromptStatus::Ok,
        status,
        kind: recording.kind.map(|kind| match kind {
            RecordingKind::Synthetic => (t.kind_synthetic, false),
            RecordingKind::Studio => (t.kind_studio, true),
        }),
        text: recording.text.map(|text| match text {
            TextSource::Memo => (t.text_memo, true),
            TextSource::BeyondMemo => (t.text_beyond_memo, false),
        }),
    }
}

/// `key` safe as one URL path segment. Prompt keys are `[a-z0-9_]` already; this keeps a
/// malformed one from turning into another path.
fn path_segment(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn keys_cannot_leave_their_path_segment() {
        assert_eq!(path_segment("main_menu"), "main_menu");
        assert_eq!(path_segment("../x y"), "%2E%2E%2Fx%20y");
    }
}
