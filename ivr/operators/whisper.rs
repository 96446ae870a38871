//! What an operator hears before a transferred caller is connected, in a few seconds (the
//! flow's `limits.whisper_seconds`, checked by `ivr flow audit`): the caller's language, or
//! that they chose none; how they arrived (asked for an operator, stayed silent, the police
//! line failed them); and the guidance they heard, as one short phrase. Built from recorded
//! fragments in the operator's language. Nothing that identifies the caller is ever part of it.

use crate::flow::{CallState, Flow, Language, PromptKey, TopicSet};

/// The fragment keys, in the order they are played.
pub fn whisper_prompts(flow: &Flow, caller: &CallState) -> Vec<PromptKey> {
    // A caller who chose no language is not said to speak the default one.
    let language = caller.language.map_or("none", Language::code);
    let arrival = match (caller.police_unreachable, caller.silent) {
        (true, true) => "whisper_police_unreachable_silent",
        (true, false) => "whisper_police_unreachable",
        (false, true) => "whisper_silent",
        (false, false) => "whisper_chose",
    };
    vec![key(&format!("whisper_language_{language}")), key(arrival), heard(flow, caller.topics)]
}

/// The guidance heard, as one phrase: none, the one topic heard, or several topics.
fn heard(flow: &Flow, topics: TopicSet) -> PromptKey {
    // Topic names are checked at load (`flow::validate`); one that still made no key is skipped.
    let named: Vec<PromptKey> = topics
        .iter()
        .filter_map(|t| flow.topics.get(usize::from(t)))
        .filter_map(|topic| PromptKey::parse(&format!("whisper_topic_{topic}")))
        .collect();
    match <[PromptKey; 1]>::try_from(named) {
        Ok([one]) => one,
        Err(named) if named.is_empty() => key("whisper_heard_nothing"),
        Err(_) => key("whisper_heard_many"),
    }
}

#[allow(clippy::expect_used, reason = "called only with the literal keys above, each a valid prompt key")]
fn key(text: &str) -> PromptKey {
    PromptKey::parse(text).expect("whisper keys are valid prompt keys")
}

/// Every fragment a whisper can use for this flow, for validation at start-up.
pub fn all_whisper_prompts(flow: &Flow) -> Vec<PromptKey> {
    let fixed = [
        "whisper_chose",
        "whisper_silent",
        "whisper_police_unreachable",
        "whisper_police_unreachable_silent",
        "whisper_heard_nothing",
        "whisper_heard_many",
    ];
    let languages =
        Language::ALL.map(Language::code).into_iter().chain(["none"]).map(|l| format!("whisper_language_{l}"));
    let topics = flow.topics.iter().map(|t| format!("whisper_topic_{t}"));
    fixed.iter().map(|k| (*k).to_owned()).chain(languages).chain(topics).filter_map(|k| PromptKey::parse(&k)).collect()
}

/// Every whisper this flow can produce for a caller: each language (or none), each way of
/// arriving and each set of topics heard. `ivr flow audit` times them all. Guidance is
/// reached only after a language is chosen, so a caller with none has heard no topic.
pub fn every_whisper(flow: &Flow) -> Vec<Vec<PromptKey>> {
    let languages = Language::ALL.map(Some).into_iter().chain([None]);
    let mut all = Vec::new();
    for language in languages {
        let topic_sets = if language.is_some() { 0..(1u32 << flow.topics.len().min(16)) } else { 0..1 };
        for (police_unreachable, silent) in [(false, false), (false, true), (true, false), (true, true)] {
            for topics in topic_sets.clone() {
                let mut caller = flow.recover(crate::flow::CallId(0), language);
                caller.topics = TopicSet(topics);
                caller.silent = silent;
                caller.police_unreachable = police_unreachable;
                all.push(whisper_prompts(flow, &caller));
            }
        }
    }
    all
}
