//! jambonz documents as the platform reads them, turned into [`Reply`]s. Strict: a verb or
//! property this service must never send, or a document that would leave the caller in
//! silence, is an error. (Whether jambonz itself accepts each document is checked in CI by
//! its own validator, `@jambonz/verb-specifications`.)

use serde_json::{Map, Value};

use super::{Reply, Target, Whisper};

/// Reads one application document (a JSON array of verbs).
pub fn parse(doc: &str) -> Result<Reply, String> {
    let verbs = verbs(doc)?;
    let mut prompts = Vec::new();
    for verb in &verbs {
        match name(verb)? {
            "play" => prompts.extend(urls(verb)?),
            "gather" => return gather(verb, prompts),
            "dial" => return dial(verb, prompts),
            "hangup" => return Ok(Reply::Hangup { prompts }),
            other => return Err(format!("unexpected verb `{other}`")),
        }
    }
    if prompts.is_empty() { Ok(Reply::Empty) } else { Err("prompts played, then nothing: the call would drop".into()) }
}

/// Reads a `confirmHook` answer: what the operator hears, and nothing else.
pub fn parse_whisper(doc: &str) -> Result<Vec<String>, String> {
    let mut prompts = Vec::new();
    for verb in &verbs(doc)? {
        match name(verb)? {
            "play" => prompts.extend(urls(verb)?),
            other => return Err(format!("a whisper holds `{other}`")),
        }
    }
    Ok(prompts)
}

fn verbs(doc: &str) -> Result<Vec<Map<String, Value>>, String> {
    let Value::Array(items) = serde_json::from_str(doc).map_err(|e| format!("not JSON: {e}"))? else {
        return Err("not a JSON array of verbs".into());
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(verb) => Ok(verb),
            other => Err(format!("a verb that is not an object: {other}")),
        })
        .collect()
}

fn name(verb: &Map<String, Value>) -> Result<&str, String> {
    verb.get("verb").and_then(Value::as_str).ok_or_else(|| format!("no `verb` in {verb:?}"))
}

fn gather(verb: &Map<String, Value>, mut prompts: Vec<String>) -> Result<Reply, String> {
    if verb.get("input") != Some(&serde_json::json!(["digits"])) || verb.get("numDigits") != Some(&Value::from(1)) {
        return Err(format!("a gather must take one key: {verb:?}"));
    }
    // No `play`: a stretch of silence listening for a key (a caller waiting in the queue).
    match verb.get("play") {
        None => {}
        Some(play) => prompts.extend(urls(play.as_object().ok_or("a gather's play that is not an object")?)?),
    }
    let action = text(verb, "actionHook")?;
    Ok(Reply::Gather { prompts, no_input: action.clone(), action, timeout_seconds: number(verb, "timeout")? })
}

fn dial(verb: &Map<String, Value>, prompts: Vec<String>) -> Result<Reply, String> {
    if verb.get("answerOnBridge") != Some(&Value::Bool(true)) {
        return Err("a dial must keep the caller ringing until answered (answerOnBridge)".into());
    }
    let items = verb.get("target").and_then(Value::as_array).ok_or("a dial without targets")?;
    let mut targets = Vec::new();
    for item in items {
        let target = item.as_object().ok_or("a target that is not an object")?;
        let address = match target.get("type").and_then(Value::as_str) {
            Some("phone") => text(target, "number")?,
            Some("sip") => text(target, "sipUri")?,
            other => return Err(format!("a target of type {other:?}")),
        };
        let whisper = target.get("confirmHook").and_then(Value::as_str).map(|url| Whisper::Hook(url.to_owned()));
        targets.push(Target { address, whisper });
    }
    if targets.is_empty() {
        return Err("a dial with nobody to ring".into());
    }
    Ok(Reply::Dial { prompts, targets, action: text(verb, "actionHook")?, ring_seconds: number(verb, "timeout")? })
}

fn urls(play: &Map<String, Value>) -> Result<Vec<String>, String> {
    let urls = play.get("url").and_then(Value::as_array).ok_or("a play without a list of URLs")?;
    let urls: Vec<String> = urls.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    if urls.is_empty() { Err("a play with nothing to play".into()) } else { Ok(urls) }
}

fn text(verb: &Map<String, Value>, name: &str) -> Result<String, String> {
    verb.get(name).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| format!("no `{name}` in {verb:?}"))
}

fn number(verb: &Map<String, Value>, name: &str) -> Result<u32, String> {
    verb.get(name)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| format!("`{name}` is not a number in {verb:?}"))
}
