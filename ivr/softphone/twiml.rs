//! TwiML as a provider reads it: the documents this service renders, turned into [`Reply`]s.

use super::{Reply, Target, Whisper};

/// Reads one TwiML document; anything this service must never render is an error.
pub fn parse(doc: &str) -> Result<Reply, String> {
    let doc = roxmltree::Document::parse(doc).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(format!("root is <{}>, not <Response>", root.tag_name().name()));
    }
    let verbs: Vec<roxmltree::Node<'_, '_>> = root.children().filter(|n| n.is_element()).collect();
    let mut prompts = Vec::new();
    for (i, verb) in verbs.iter().enumerate() {
        match verb.tag_name().name() {
            "Play" => prompts.push(text(verb)?),
            "Gather" => return gather(verb, verbs.get(i + 1), prompts),
            "Dial" => return dial(verb, prompts),
            "Hangup" => return Ok(Reply::Hangup { prompts }),
            other => return Err(format!("unexpected verb <{other}>")),
        }
    }
    if prompts.is_empty() { Ok(Reply::Empty) } else { Err("prompts played, then nothing: the call would drop".into()) }
}

/// Reads a whisper: the prompts an operator hears before being connected, and nothing else.
pub fn parse_whisper(doc: &str) -> Result<Vec<String>, String> {
    let doc = roxmltree::Document::parse(doc).map_err(|e| format!("not XML: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "Response" {
        return Err(format!("root is <{}>, not <Response>", root.tag_name().name()));
    }
    root.children()
        .filter(|n| n.is_element())
        .map(|verb| match verb.tag_name().name() {
            "Play" => text(&verb),
            other => Err(format!("a whisper holds <{other}>")),
        })
        .collect()
}

fn gather(
    verb: &roxmltree::Node<'_, '_>,
    after: Option<&roxmltree::Node<'_, '_>>,
    mut prompts: Vec<String>,
) -> Result<Reply, String> {
    for (name, expected) in [("input", "dtmf"), ("numDigits", "1"), ("method", "POST")] {
        if verb.attribute(name) != Some(expected) {
            return Err(format!("<Gather> needs {name}=\"{expected}\""));
        }
    }
    for play in verb.children().filter(|n| n.is_element()) {
        if play.tag_name().name() != "Play" {
            return Err(format!("<Gather> holds <{}>", play.tag_name().name()));
        }
        prompts.push(text(&play)?);
    }
    let redirect =
        after.filter(|n| n.tag_name().name() == "Redirect").ok_or("<Gather> without a <Redirect> after it")?;
    Ok(Reply::Gather {
        prompts,
        action: attribute(verb, "action")?,
        no_input: text(redirect)?,
        timeout_seconds: number(verb, "timeout")?,
    })
}

fn dial(verb: &roxmltree::Node<'_, '_>, prompts: Vec<String>) -> Result<Reply, String> {
    let mut targets = Vec::new();
    for target in verb.children().filter(|n| n.is_element()) {
        match target.tag_name().name() {
            "Number" | "Sip" => {
                let whisper = target.attribute("url").map(|url| Whisper::Hook(url.to_owned()));
                targets.push(Target { address: text(&target)?, whisper })
            }
            other => return Err(format!("<Dial> holds <{other}>")),
        }
    }
    if targets.is_empty() {
        return Err("<Dial> with nobody to ring".into());
    }
    Ok(Reply::Dial { prompts, targets, action: attribute(verb, "action")?, ring_seconds: number(verb, "timeout")? })
}

fn text(node: &roxmltree::Node<'_, '_>) -> Result<String, String> {
    node.text()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("empty <{}>", node.tag_name().name()))
}

fn attribute(node: &roxmltree::Node<'_, '_>, name: &str) -> Result<String, String> {
    node.attribute(name).map(str::to_owned).ok_or_else(|| format!("<{}> without {name}", node.tag_name().name()))
}

fn number(node: &roxmltree::Node<'_, '_>, name: &str) -> Result<u32, String> {
    attribute(node, name)?.parse().map_err(|_| format!("<{}> {name} is not a number", node.tag_name().name()))
}
