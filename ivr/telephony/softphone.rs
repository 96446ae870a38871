//! The provider's side of TwiML: reads the documents this service renders the way a
//! TwiML provider does, so tests and the caller simulator can follow a call through the
//! real webhooks without a telephone network.

/// What a TwiML document asks the provider to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Play the prompts while listening for a key; POST the key to `action`, or follow
    /// `no_input` when nothing was pressed within `timeout_seconds`.
    Gather { prompts: Vec<String>, action: String, no_input: String, timeout_seconds: u32 },
    /// Play the prompts, ring the targets, then POST the outcome to `action`.
    Dial { prompts: Vec<String>, targets: Vec<Target>, action: String, ring_seconds: u32 },
    /// Play the prompts and end the call.
    Hangup { prompts: Vec<String> },
    /// Nothing to do (a status callback's answer).
    Empty,
}

/// One party a `<Dial>` rings, with the URL whose TwiML is played to them on answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub address: String,
    pub whisper: Option<String>,
}

impl Reply {
    /// The prompt URLs the caller hears, in order.
    pub fn prompts(&self) -> &[String] {
        match self {
            Reply::Gather { prompts, .. } | Reply::Dial { prompts, .. } | Reply::Hangup { prompts } => prompts,
            Reply::Empty => &[],
        }
    }
}

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
                targets.push(Target { address: text(&target)?, whisper: target.attribute("url").map(str::to_owned) })
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
