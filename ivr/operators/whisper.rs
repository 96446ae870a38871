//! What an operator hears before a transferred caller is connected: the caller's language,
//! the guidance they listened to, whether they reached the operator without pressing a key,
//! and whether the police line failed them. Built from recorded fragments in the operator's
//! language. Nothing that identifies the caller is ever part of it.

use crate::flow::{CallState, Flow, Language, PromptKey};

/// The fragment keys, in the order they are played.
pub fn whisper_prompts(flow: &Flow, caller: &CallState) -> Vec<PromptKey> {
    let key = |text: &str| PromptKey::parse(text).expect("whisper keys are valid prompt keys");
    let language = caller.language.unwrap_or(flow.default_language);
    let mut keys = vec![key("whisper_intro"), key(&format!("whisper_language_{}", language.code()))];
    // Topic names are checked at load (`flow::validate`); one that still made no key is skipped.
    let topics: Vec<PromptKey> = caller
        .topics
        .iter()
        .filter_map(|t| flow.topics.get(usize::from(t)))
        .filter_map(|topic| PromptKey::parse(&format!("whisper_topic_{topic}")))
        .collect();
    if topics.is_empty() {
        keys.push(key("whisper_heard_nothing"));
    } else {
        keys.push(key("whisper_heard"));
        keys.extend(topics);
    }
    if caller.police_unreachable {
        keys.push(key("whisper_police_unreachable"));
    }
    if caller.silent {
        keys.push(key("whisper_silent"));
    }
    keys.push(key("whisper_connecting"));
    keys
}

/// Every fragment a whisper can use for this flow, for validation at start-up.
pub fn all_whisper_prompts(flow: &Flow) -> Vec<PromptKey> {
    let fixed = [
        "whisper_intro",
        "whisper_heard",
        "whisper_heard_nothing",
        "whisper_police_unreachable",
        "whisper_silent",
        "whisper_connecting",
    ];
    let languages = Language::ALL.map(|l| format!("whisper_language_{}", l.code()));
    let topics = flow.topics.iter().map(|t| format!("whisper_topic_{t}"));
    fixed.iter().map(|k| (*k).to_owned()).chain(languages).chain(topics).filter_map(|k| PromptKey::parse(&k)).collect()
}
