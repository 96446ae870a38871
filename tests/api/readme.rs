//! Every command README.md shows works as written on a fresh clone: the test copies nothing
//! but the bundled flow and prompts into an empty folder and runs each `cargo run …` line of
//! README's `sh` blocks there, in order, with the `ivr` binary of this build standing for
//! `cargo run --` and a clean environment (no `IVR_*` of the developer's shell). `cargo run`
//! alone (the service) is started and must answer `/healthz`.
//!
//! Not run, and said so: `cargo test` (this is it), commands that need a terminal (an
//! interactive `simulate`) or a sound build (`--features playback`), and lines that are not
//! `cargo` commands (system administration: `systemctl`, `sqlite3` on an installed service).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const IVR: &str = env!("CARGO_BIN_EXE_ivr");

/// The lines of README's ```sh blocks, without their comments.
fn commands(readme: &str) -> Vec<String> {
    let mut in_sh = false;
    let mut lines = Vec::new();
    for line in readme.lines() {
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

/// Why a README command is not run here, if it is not.
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
    if command.contains(" simulate") && !command.contains("--keys") {
        return Some("needs a terminal");
    }
    None
}

/// A program a command pipes into that this machine lacks (`dot` is graphviz), by name.
fn missing_program(command: &str) -> Option<String> {
    let (_, after) = command.split_once('|')?;
    let program = after.split_whitespace().next()?;
    let found =
        Command::new("sh").args(["-c", &format!("command -v {program}")]).output().is_ok_and(|o| o.status.success());
    (!found).then(|| program.to_owned())
}

/// A fresh clone's data: the flow and the prompts, nothing else.
fn fresh_clone() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    for data in ["flows", "prompts"] {
        std::os::unix::fs::symlink(root.join(data), dir.path().join(data)).expect("linked");
    }
    dir
}

fn shell(command: &str, dir: &Path) -> Command {
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(command.replace("cargo run --", "\"$IVR\""))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("IVR", IVR)
        .stdin(Stdio::null());
    shell
}

/// `cargo run`: the service starts on its defaults (on a free port) and answers.
async fn serves(dir: &Path) -> Result<(), String> {
    let mut child = shell("exec \"$IVR\"", dir)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_in_readme_works_as_written_on_a_fresh_clone() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).expect("README");
    let commands = commands(&readme);
    assert!(commands.iter().any(|c| c == "cargo run") && commands.iter().any(|c| c == "cargo test"), "{commands:?}");
    let dir = fresh_clone();
    let (mut ran, mut failures) = (0, Vec::new());
    for command in &commands {
        if not_run(command).is_some() {
            continue;
        }
        if let Some(program) = missing_program(command) {
            let in_ci = std::env::var("CI").is_ok_and(|v| !v.trim().is_empty());
            assert!(!in_ci, "CI is set but `{program}` is not installed: `{command}` cannot run");
            let note = format!("\nSKIPPED: `{command}`: `{program}` is not installed here\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), note.as_bytes());
            continue;
        }
        ran += 1;
        if command == "cargo run" {
            if let Err(why) = serves(dir.path()).await {
                failures.push(format!("`{command}`: {why}"));
            }
            continue;
        }
        let output = tokio::task::block_in_place(|| shell(command, dir.path()).output()).expect("sh runs");
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            failures.push(format!("`{command}` exited {}:\n{stderr}", output.status));
        }
    }
    assert!(ran >= 10, "README's commands were found and run: {commands:#?}");
    assert!(failures.is_empty(), "README commands that fail on a fresh clone:\n\n{}", failures.join("\n\n"));
}

#[test]
fn commands_are_read_from_sh_blocks_without_their_comments() {
    let readme = "text\n```sh\ncargo run       # the service\n# a comment\ncargo test\n```\n```toml\nx = 1\n```\n";
    assert_eq!(commands(readme), ["cargo run", "cargo test"]);
    assert_eq!(not_run("cargo run -- simulate"), Some("needs a terminal"));
    assert_eq!(not_run("cargo run -- simulate --lang ru --keys \"1\""), None);
    assert_eq!(not_run("sqlite3 /var/lib/ivr/ivr.sqlite3 \"VACUUM INTO 'x'\""), Some("not a cargo command"));
}
