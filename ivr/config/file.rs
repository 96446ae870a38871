//! The configuration file, `IVR_CONFIG=/etc/ivr/ivr.toml`: the same settings as the
//! environment, named without their `IVR_` prefix and in lower case (`listen`,
//! `public_url`, `operator_number`, `stats_queue`…). A variable set in the environment
//! overrides the file, so a unit's `Environment=` or a container's `-e` still wins.
//!
//! Every problem in the file is listed at once with the settings' own: a file that cannot
//! be read or parsed, a value that is a table or a list, a key no setting reads (a typo
//! would otherwise be silently ignored).

use std::collections::HashMap;
use std::path::Path;

/// Where settings come from: the environment, then the configuration file.
#[derive(Debug, Default)]
pub struct Sources {
    /// The file's values, by variable name (`listen` is kept as `IVR_LISTEN`).
    file: HashMap<String, String>,
    /// Which file, for messages.
    path: Option<String>,
    pub(super) problems: Vec<String>,
}

impl Sources {
    /// The process environment and, when `IVR_CONFIG` names one, its file.
    pub fn read() -> Sources {
        Sources::with(|name| std::env::var(name).ok())
    }

    /// `env` and, when `IVR_CONFIG` in it names one, that file.
    pub fn with(env: impl Fn(&str) -> Option<String>) -> Sources {
        match env("IVR_CONFIG").filter(|p| !p.trim().is_empty()) {
            None => Sources::default(),
            Some(path) => match std::fs::read_to_string(Path::new(&path)) {
                Ok(text) => Sources::parse(&path, &text),
                Err(error) => Sources {
                    problems: vec![format!("IVR_CONFIG: cannot read `{path}`: {error}")],
                    ..Sources::default()
                },
            },
        }
    }

    /// Reads a file's text; `path` names it in problems.
    pub fn parse(path: &str, text: &str) -> Sources {
        let mut sources = Sources { path: Some(path.to_owned()), ..Sources::default() };
        let table = match text.parse::<toml::Table>() {
            Ok(table) => table,
            Err(error) => {
                let message = error.message().to_owned();
                let line = error.span().map(|span| text[..span.start].lines().count().max(1));
                let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
                sources.problems.push(format!("{path}: not TOML{at}: {message}"));
                return sources;
            }
        };
        for (key, value) in table {
            let text = match value {
                toml::Value::String(text) => text,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                _ => {
                    sources.problems.push(format!("{path}: `{key}` must be a string or a number"));
                    continue;
                }
            };
            sources.file.insert(variable(&key), text);
        }
        sources
    }

    /// A setting: the environment's value if set, else the file's.
    pub fn get(&self, env: impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
        env(name).filter(|v| !v.trim().is_empty()).or_else(|| self.file.get(name).cloned())
    }

    /// The file's keys that no setting read, as problems.
    pub(super) fn unknown(&self, read: &std::collections::HashSet<String>) -> Vec<String> {
        let path = self.path.as_deref().unwrap_or("IVR_CONFIG");
        let mut unknown: Vec<String> = self
            .file
            .keys()
            .filter(|name| !read.contains(*name))
            .map(|name| format!("{path}: `{}` is not a setting (see docs/configuration.md)", key(name)))
            .collect();
        unknown.sort();
        unknown
    }
}

/// `public_url` → `IVR_PUBLIC_URL`.
fn variable(key: &str) -> String {
    format!("IVR_{}", key.trim().to_ascii_uppercase())
}

/// `IVR_PUBLIC_URL` → `public_url`.
fn key(variable: &str) -> String {
    variable.trim_start_matches("IVR_").to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use crate::config::Settings;

    fn settings(env: &[(&str, &str)], file: &str) -> Result<Settings, Vec<String>> {
        let dir = tempfile::tempdir().expect("a folder");
        let path = dir.path().join("ivr.toml");
        std::fs::write(&path, file).expect("written");
        let mut env: HashMap<String, String> = env.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        env.insert("IVR_CONFIG".to_owned(), path.display().to_string());
        Settings::from_sources(|name| env.get(name).cloned())
    }

    #[test]
    fn the_file_sets_what_the_environment_does_not() {
        let file = "listen = \"127.0.0.1:9000\"\noperator_number = \"+77172000000\"\nstats_queue = 64\n";
        let settings = settings(&[("IVR_LISTEN", "127.0.0.1:9001")], file).expect("valid");
        assert_eq!(settings.listen.port(), 9001, "the environment overrides the file");
        assert_eq!(settings.stats_queue, 64);
        assert!(settings.operator_number.is_some());
    }

    #[test]
    fn every_problem_of_the_file_and_the_settings_is_listed_at_once() {
        let file = "listen = \"nowhere\"\nlistne = \"127.0.0.1:1\"\n[database]\nurl = \"x\"\n";
        let problems = settings(&[("IVR_LOG_FORMAT", "xml")], file).expect_err("invalid");
        let all = problems.join("\n");
        for expected in [
            "`database` must be a string or a number",
            "`listne` is not a setting",
            "IVR_LISTEN: `nowhere`",
            "IVR_LOG_FORMAT: `xml`",
        ] {
            assert!(all.contains(expected), "{expected} in:\n{all}");
        }
        assert_eq!(problems.len(), 4, "{all}");
    }

    #[test]
    fn a_file_that_is_not_toml_or_not_there_is_named() {
        let problems = settings(&[], "listen = \n").expect_err("not TOML");
        assert!(problems[0].contains("ivr.toml: not TOML (line 1)"), "{problems:?}");
        let missing = Settings::from_sources(|name| (name == "IVR_CONFIG").then(|| "/nonexistent/ivr.toml".to_owned()));
        assert!(missing.expect_err("no file")[0].starts_with("IVR_CONFIG: cannot read `/nonexistent/ivr.toml`"));
    }
}
