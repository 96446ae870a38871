//! The settings of the Asterisk dialect (FastAGI), and which dial targets the configured
//! dialects can dial.
//!
//! A dialect is *configured* when the deployment says it runs on it: Asterisk when
//! `IVR_AGI_LISTEN` is set (and not `off`), TwiML when `IVR_TWILIO_AUTH_TOKEN` is set,
//! jambonz when `IVR_JAMBONZ_WEBHOOK_SECRET` is set. The FastAGI listener also runs on its
//! default loopback address and the webhooks are always served, but a line that set none of
//! these is a development setup, warned about, not checked. Every configured dialect must be
//! able to dial the emergency and switchboard targets: an Asterisk dial string
//! (`PJSIP/police`) only Asterisk can dial; a number or `sip:` URI Asterisk dials only
//! through `IVR_ASTERISK_DIAL`.

use std::net::SocketAddr;

use super::DialTarget;

/// Where the FastAGI listener binds when `IVR_AGI_LISTEN` is not set.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4573";

/// `IVR_ASTERISK_DIAL`: how Asterisk dials a number or `sip:` URI, `{}` standing for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialTemplate(String);

impl DialTemplate {
    /// `text` when it is a dial string with exactly one `{}` (`PJSIP/{}@kz-trunk`).
    pub fn parse(text: &str) -> Option<DialTemplate> {
        let text = text.trim();
        let one = text.matches("{}").count() == 1;
        (one && DialTarget::parse_channel(&text.replace("{}", "102")).is_some()).then(|| DialTemplate(text.to_owned()))
    }

    /// The dial string for `address`.
    pub fn apply(&self, address: &str) -> String {
        self.0.replace("{}", address)
    }

    /// The address a dial string made by [`DialTemplate::apply`] was made for.
    pub fn address_in<'d>(&self, dial: &'d str) -> Option<&'d str> {
        let (before, after) = self.0.split_once("{}")?;
        dial.strip_prefix(before)?.strip_suffix(after)
    }
}

/// What the Asterisk dialect reads from the settings.
#[derive(Clone, Debug)]
pub struct AsteriskSettings {
    /// Where FastAGI connections are accepted; `None`: off.
    pub listen: Option<SocketAddr>,
    /// Whether `IVR_AGI_LISTEN` was set: the deployment runs on Asterisk.
    pub configured: bool,
    /// The addresses and networks Asterisk connects from (`IVR_AGI_ALLOW`).
    pub allow: Vec<ipnet::IpNet>,
    /// How numbers and `sip:` URIs are dialled (`IVR_ASTERISK_DIAL`).
    pub dial: Option<DialTemplate>,
    /// How long Asterisk may take to send its environment or answer a quick command.
    pub timeout_ms: u64,
}

impl AsteriskSettings {
    /// Reads the settings through `get`, adding what is wrong to `problems`.
    pub fn read(get: &dyn Fn(&str) -> Option<String>, timeout_ms: u64, problems: &mut Vec<String>) -> AsteriskSettings {
        let text = get("IVR_AGI_LISTEN");
        let configured = text.as_deref().is_some_and(|t| t.trim() != "off");
        let listen = match text.as_deref().map(str::trim).unwrap_or(DEFAULT_LISTEN) {
            "off" => None,
            text => text.parse().map(Some).unwrap_or_else(|_| {
                problems.push(format!(
                    "IVR_AGI_LISTEN: `{text}` is neither an address:port such as {DEFAULT_LISTEN} nor `off`"
                ));
                None
            }),
        };
        let allow = get("IVR_AGI_ALLOW").map_or_else(loopback, |text| {
            super::proxies(&text).unwrap_or_else(|bad| {
                problems.push(format!(
                    "IVR_AGI_ALLOW: {} is not an address or network such as 127.0.0.1 or 10.0.0.0/8",
                    crate::flow::quoted(bad)
                ));
                loopback()
            })
        });
        let dial = get("IVR_ASTERISK_DIAL").and_then(|text| {
            let template = DialTemplate::parse(&text);
            if template.is_none() {
                problems.push(format!(
                    "IVR_ASTERISK_DIAL: `{text}` is not a dial string with one {{}}, such as PJSIP/{{}}@kz-trunk"
                ));
            }
            template
        });
        AsteriskSettings { listen, configured, allow, dial, timeout_ms }
    }

    /// How Asterisk dials `target`, `None` when it cannot.
    pub fn dial_string(&self, target: &DialTarget) -> Option<String> {
        match target {
            DialTarget::Channel(channel) => Some(channel.clone()),
            DialTarget::Number(address) | DialTarget::Sip(address) => self.dial.as_ref().map(|t| t.apply(address)),
        }
    }
}

fn loopback() -> Vec<ipnet::IpNet> {
    ["127.0.0.0/8", "::1/128"].iter().filter_map(|net| net.parse().ok()).collect()
}

/// The configured dialects that cannot dial `target` (named `name` in the problem).
pub fn undialable(
    name: &str,
    target: &DialTarget,
    asterisk: &AsteriskSettings,
    webhooks: &[(&str, bool)],
) -> Vec<String> {
    let mut problems = Vec::new();
    if let DialTarget::Channel(channel) = target {
        for (dialect, _) in webhooks.iter().filter(|(_, configured)| *configured) {
            problems.push(format!("{name}: `{channel}` is an Asterisk dial string, which {dialect} cannot dial"));
        }
        if asterisk.listen.is_none() {
            problems.push(format!("{name}: `{channel}` is an Asterisk dial string, but IVR_AGI_LISTEN is off"));
        }
    } else if asterisk.configured && asterisk.dial_string(target).is_none() {
        let text = target.as_str();
        problems.push(format!(
            "{name}: Asterisk cannot dial `{text}` without IVR_ASTERISK_DIAL (such as PJSIP/{{}}@kz-trunk)"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> (AsteriskSettings, Vec<String>) {
        let mut problems = Vec::new();
        let get = |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        (AsteriskSettings::read(&get, 10_000, &mut problems), problems)
    }

    #[test]
    fn the_listener_is_on_loopback_by_default_and_off_when_asked() {
        let (settings, problems) = read(&[]);
        assert_eq!(settings.listen, Some(SocketAddr::from(([127, 0, 0, 1], 4573))));
        assert!(!settings.configured && problems.is_empty());
        assert!(settings.allow.iter().any(|net| net.contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap())));
        let (settings, _) = read(&[("IVR_AGI_LISTEN", "off")]);
        assert_eq!(settings.listen, None);
        let (_, problems) = read(&[
            ("IVR_AGI_LISTEN", "nowhere"),
            ("IVR_AGI_ALLOW", "10.0.0.0/8, bad"),
            ("IVR_ASTERISK_DIAL", "PJSIP/x"),
        ]);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn targets_are_dialled_as_written_or_through_the_template() {
        let (settings, _) = read(&[("IVR_ASTERISK_DIAL", "PJSIP/{}@kz-trunk")]);
        let dial = |text: &str| settings.dial_string(&DialTarget::parse(text).unwrap());
        assert_eq!(dial("102").as_deref(), Some("PJSIP/102@kz-trunk"));
        assert_eq!(dial("PJSIP/police").as_deref(), Some("PJSIP/police"));
        assert_eq!(dial("sip:ops@10.0.0.5").as_deref(), Some("PJSIP/sip:ops@10.0.0.5@kz-trunk"));
    }

    #[test]
    fn a_target_a_configured_dialect_cannot_dial_is_named() {
        let police = DialTarget::parse("PJSIP/police").unwrap();
        let (asterisk, _) = read(&[("IVR_AGI_LISTEN", "0.0.0.0:4573")]);
        assert!(undialable("IVR_EMERGENCY_NUMBER", &police, &asterisk, &[("TwiML", false)]).is_empty());
        let problems = undialable("IVR_EMERGENCY_NUMBER", &police, &asterisk, &[("TwiML", true)]);
        assert!(problems[0].contains("`PJSIP/police`") && problems[0].contains("TwiML"), "{problems:?}");
        let number = DialTarget::parse("102").unwrap();
        assert_eq!(undialable("IVR_EMERGENCY_NUMBER", &number, &asterisk, &[]).len(), 1);
        let (off, _) = read(&[("IVR_AGI_LISTEN", "off")]);
        assert_eq!(undialable("IVR_OPERATOR_NUMBER", &police, &off, &[]).len(), 1);
    }
}
