//! Every command README.md, the pages of `docs/` and BENCHMARKS.md show works as written on
//! a fresh clone. For each page, the test links nothing but the bundled flow and prompts into an empty
//! folder and runs each `cargo run …` line of the page's `sh` blocks there, in order, with
//! the `ivr` binary of this build standing for `cargo run --` and a clean environment (no
//! `IVR_*` of the developer's shell). A command that starts the service (`cargo run`, with
//! or without settings before it) is started on a free port and must answer `/healthz`.
//! A page added to `docs/` is run without touching this file.
//!
//! Not run, and said so with the reason (on stderr, seen with `--nocapture` or on a
//! failure): `cargo test` (this is it), other cargo commands (a release build, a benchmark:
//! too slow for a test), commands that need a terminal (an interactive `simulate`) or a
//! sound build (`--features playback`), and lines that are not `cargo` commands (system
//! administration: `sqlite3` on an installed service; the benchmark scripts).
//!
//! README itself shows exactly the two commands a newcomer needs, near its top; the links
//! between the pages lead to files and headings that exist.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const IVR: &str = env!("CARGO_BIN_EXE_ivr");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README, every page of `docs/` by name, then BENCHMARKS.md: the pages whose commands are
/// run.
fn pages() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ folder")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    let readme = std::iter::once(root().join("README.md"));
    readme.chain(docs).chain([root().join("BENCHMARKS.md")]).collect()
}

fn read(page: &Path) -> String {
    std::fs::read_to_string(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()))
}

/// A page's name as the repository knows it: `README.md`, `docs/jambonz.md`.
fn name(page: &Path) -> String {
    page.strip_prefix(root()).unwrap_or(page).display().to_string()
}

/// The lines of a page's ```sh blocks, without their comments.
fn commands(page: &str) -> Vec<String> {
    let mut in_sh = false;
    let mut lines = Vec::new();
    for line in page.lines() {
        match line.trim() {
            "```sh" => in_sh = true,
            "```" => in_sh = false,
            text if in_sh && !text.is_empty() && !text.starts_with('#') => {
                let command = text.split("  #").next().unwrap_or(text).trim_end();
                lines.push(command.to_owned());
            }
            _ => {}
        }
    }
    lines
}

/// The settings a command gives before `cargo run` (`IVR_X=1 cargo run …`), and the rest.
fn settings_and_rest(command: &str) -> (Vec<&str>, &str) {
    let mut rest = command.trim_start();
    let mut settings = Vec::new();
    while let Some((word, after)) = rest.split_once(' ') {
        let is_setting = word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
        if !is_setting {
            break;
        }
        settings.push(word);
        rest = after.trim_start();
    }
    (settings, rest)
}

/// Whether the command starts the service (and runs until it is stopped).
fn serves(command: &str) -> bool {
    matches!(settings_and_rest(command).1, "cargo run" | "cargo run -- serve")
}

/// Why a command is not run here, if it is not.
fn not_run(command: &str) -> Option<&'static str> {
    if !command.contains("cargo ") && command != "cargo run" {
        return Some("not a cargo command");
    }
    if command.contains("cargo test") {
        return Some("the test run itself");
    }
    if command.contains("--features playback") {
        return Some("a sound build");
    }
    if !command.contains("cargo run") {
        return Some("a build or a benchmark, not `cargo run`");
    }
    if command.contains(" simulate") && !command.contains("--keys") {
        return Some("needs a terminal");
    }
    None
}

/// A program a command pipes into that this machine lacks (`dot` is graphviz), by name.
fn missing_program(command: &str) -> Option<String> {
    command.split('|').skip(1).filter_map(|part| part.split_whitespace().next()).find_map(|program| {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .is_ok_and(|o| o.status.success());
        (!found && program != "cargo").then(|| program.to_owned())
    })
}

/// A fresh clone's data: the flow and the prompts, nothing else.
fn fresh_clone() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for data in ["flows", "prompts"] {
        std::os::unix::fs::symlink(root().join(data), dir.path().join(data)).expect("linked");
    }
    dir
}

/// The command for `sh`, the build's `ivr` standing for `cargo run`.
fn as_shell(command: &str) -> String {
    let command = command.replace("cargo run --", "\"$IVR\"");
    match command.strip_suffix("cargo run") {
        Some(before) => format!("{before}\"$IVR\""),
        None => command,
    }
}

fn shell(command: &str, dir: &Path) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("IVR", IVR)
        .stdin(Stdio::null());
    shell
}

/// A command that starts the service: it starts with its settings (on a free port unless
/// it names one) and answers.
async fn starts_and_answers(command: &str, dir: &Path) -> Result<(), String> {
    let (settings, _) = settings_and_rest(command);
    let mut child = shell(&format!("{} exec \"$IVR\"", settings.join(" ")), dir)
        .env("IVR_LISTEN", "127.0.0.1:0")
        // FastAGI's default port may be another process's on a shared machine.
        .env("IVR_AGI_LISTEN", "off")
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let address = tokio::task::spawn_blocking(move || {
        stderr.lines().map_while(Result::ok).find_map(|line| {
            let at = line.find("listening address=")? + "listening address=".len();
            Some(line[at..].split_whitespace().next()?.to_owned())
        })
    });
    let address = tokio::time::timeout(Duration::from_secs(30), address).await;
    let answered = match address {
        Ok(Ok(Some(address))) => {
            reqwest::get(format!("http://{address}/healthz")).await.map_err(|e| e.to_string()).and_then(|r| {
                if r.status().is_success() { Ok(()) } else { Err(format!("/healthz answered {}", r.status())) }
            })
        }
        _ => Err("never said where it listens".to_owned()),
    };
    let _ = child.kill();
    let _ = child.wait();
    answered
}

/// What running one page's commands came to.
#[derive(Default)]
struct Run {
    ran: usize,
    not_run: Vec<String>,
    failures: Vec<String>,
}

/// Runs a page's commands, in order, in a fresh clone of its own.
async fn run_page(page: &str) -> Run {
    let dir = fresh_clone();
    let mut run = Run::default();
    for command in commands(page) {
        if let Some(why) = not_run(&command) {
            run.not_run.push(format!("`{command}`: {why}"));
            continue;
        }
        if let Some(program) = missing_program(&command) {
            let in_ci = std::env::var("CI").is_ok_and(|v| !v.trim().is_empty());
            assert!(!in_ci, "CI is set but `{program}` is not installed: `{command}` cannot run");
            let note = format!("\nSKIPPED: `{command}`: `{program}` is not installed here\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
            run.not_run.push(format!("`{command}`: `{program}` is not installed here"));
            continue;
        }
        run.ran += 1;
        if serves(&command) {
            if let Err(why) = starts_and_answers(&command, dir.path()).await {
                run.failures.push(format!("`{command}`: {why}"));
            }
            continue;
        }
        let output = tokio::task::block_in_place(|| shell(&as_shell(&command), dir.path()).output()).expect("sh runs");
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            run.failures.push(format!("`{command}` exited {}:\n{stderr}", output.status));
        }
    }
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_on_every_page_works_as_written_on_a_fresh_clone() {
    let (mut ran, mut failures) = (0, Vec::new());
    for page in pages() {
        let run = run_page(&read(&page)).await;
        let name = name(&page);
        eprintln!("{name}: {} run; not run: {:#?}", run.ran, run.not_run);
        ran += run.ran;
        failures.extend(run.failures.into_iter().map(|failure| format!("{name}: {failure}")));
    }
    assert!(ran >= 15, "the pages' commands were found and run: {ran}");
    assert!(failures.is_empty(), "commands that fail on a fresh clone:\n\n{}", failures.join("\n\n"));
}

#[test]
fn readme_shows_the_two_commands_near_its_top_and_no_other() {
    let readme = read(&root().join("README.md"));
    assert_eq!(commands(&readme), ["cargo run", "cargo test"], "README's sh blocks");
    let at = readme.lines().position(|line| line.trim() == "```sh").expect("an sh block");
    assert!(at < 30, "README's two commands begin at line {}: keep them near the top", at + 1);
    assert!(readme.lines().count() < 200, "README is read in ten minutes: under 200 lines");
}

/// The relative links of a page: `[text](target)`, without web addresses.
fn links(page: &str) -> Vec<&str> {
    let mut links = Vec::new();
    let mut in_code = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        }
        if in_code {
            continue;
        }
        for (at, _) in line.match_indices("](") {
            let target = line[at + 2..].split(')').next().unwrap_or_default();
            if !target.contains("://") && !target.starts_with("mailto:") {
                links.push(target);
            }
        }
    }
    links
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn links_between_the_pages_lead_to_files_and_headings_that_exist() {
    let pages = pages();
    let mut reached = std::collections::BTreeSet::new();
    let mut broken = Vec::new();
    for page in &pages {
        let text = read(page);
        for link in links(&text) {
            let (file, fragment) = link.split_once('#').unwrap_or((link, ""));
            let target = if file.is_empty() { page.clone() } else { page.parent().expect("a folder").join(file) };
            let Ok(target) = target.canonicalize() else {
                broken.push(format!("{}: `{link}`: no such file", name(page)));
                continue;
            };
            reached.insert(target.clone());
            let is_page = target.extension().is_some_and(|e| e == "md");
            if !fragment.is_empty() && is_page {
                let headings: Vec<String> = read(&target)
                    .lines()
                    .filter_map(|l| l.strip_prefix('#'))
                    .map(|h| anchor(h.trim_start_matches('#')))
                    .collect();
                if !headings.iter().any(|h| h == fragment) {
                    broken.push(format!("{}: `{link}`: no such heading", name(page)));
                }
            }
        }
    }
    for page in pages.iter().skip(1) {
        let page = page.canonicalize().expect("a page");
        if !reached.contains(&page) {
            broken.push(format!("{}: no other page links to it", name(&page)));
        }
    }
    assert!(broken.is_empty(), "links:\n{}", broken.join("\n"));
}

#[test]
fn commands_are_read_from_sh_blocks_without_their_comments() {
    let page = "text\n```sh\ncargo run       # the service\n# a comment\ncargo test\n```\n```toml\nx = 1\n```\n";
    assert_eq!(commands(page), ["cargo run", "cargo test"]);
    assert_eq!(not_run("cargo run -- simulate"), Some("needs a terminal"));
    assert_eq!(not_run("cargo run -- simulate --lang ru --keys \"1\""), None);
    assert_eq!(not_run("sqlite3 /var/lib/ivr/ivr.sqlite3 \"VACUUM INTO 'x'\""), Some("not a cargo command"));
    assert_eq!(not_run("cargo bench --bench webhooks"), Some("a build or a benchmark, not `cargo run`"));
    assert_eq!(not_run("cargo build --release"), Some("a build or a benchmark, not `cargo run`"));
    assert!(serves("cargo run") && serves("IVR_PUBLIC_URL=https://x.kz IVR_EMERGENCY_NUMBER=102 cargo run"));
    assert!(!serves("cargo run -- check") && !serves("IVR_X=1 cargo run -- report"));
    assert_eq!(as_shell("IVR_X=1 cargo run"), "IVR_X=1 \"$IVR\"");
    assert_eq!(as_shell("echo pw | cargo run -- users add"), "echo pw | \"$IVR\" users add");
    assert_eq!(anchor("Reviewing the flow"), "reviewing-the-flow");
    assert_eq!(links("[a](docs/x.md#y) [b](https://e.kz)\n```\n[c](d)\n```"), ["docs/x.md#y"]);
}
