//! The `fapi-bridge` command line.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_fapi-bridge");

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn user_add_reads_the_password_from_stdin_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let add = |email: &str, role: &str, password: &str| {
        run(
            dir.path(),
            &["user", "add", "--email", email, "--role", role],
            &[],
            &format!("{password}\n"),
        )
    };

    let output = add("jana@example.cz", "admin", "modry-kopec-trakar-58");
    assert!(output.status.success(), "{}", text(&output));
    assert!(text(&output).contains("Added jana@example.cz as admin"));
    assert!(
        dir.path().join("data/fapi-bridge.db").exists(),
        "default database created with its folder"
    );

    let output = add("jana@example.cz", "viewer", "jiny-dlouhy-kopec-99");
    assert!(!output.status.success());
    assert!(
        text(&output).contains("already exists"),
        "{}",
        text(&output)
    );

    let output = add("petr@example.cz", "viewer", "");
    assert!(!output.status.success());
    assert!(
        text(&output).contains("Enter a password"),
        "{}",
        text(&output)
    );

    let output = add("petr@example.cz", "viewer", "password123");
    assert!(!output.status.success());
    assert!(
        text(&output).contains("too easy to guess"),
        "{}",
        text(&output)
    );

    let output = add("petr@example.cz", "boss", "modry-kopec-trakar-58");
    assert!(!output.status.success());
    assert!(
        text(&output).contains("admin, operator or viewer"),
        "{}",
        text(&output)
    );

    let output = add("not-an-email", "viewer", "modry-kopec-trakar-58");
    assert!(!output.status.success());
    assert!(text(&output).contains("valid e-mail"), "{}", text(&output));
}

#[test]
fn bad_configuration_is_reported_per_variable() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &["serve"],
        &[
            ("LEPTOS_SITE_ADDR", "somewhere"),
            ("SESSION_IDLE_TIMEOUT", "soon"),
        ],
        "",
    );
    assert!(!output.status.success());
    let text = text(&output);
    assert!(text.contains("LEPTOS_SITE_ADDR"), "{text}");
    assert!(text.contains("SESSION_IDLE_TIMEOUT"), "{text}");
}
