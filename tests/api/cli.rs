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

/// Issue 14, item 6: an admin locked out of the web sets a new password on the server.
#[test]
fn user_reset_password_sets_a_new_password_read_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        dir.path(),
        &[
            "user",
            "add",
            "--email",
            "jana@example.cz",
            "--role",
            "admin",
        ],
        &[],
        "modry-kopec-trakar-58\n",
    );
    assert!(output.status.success(), "{}", text(&output));
    let reset = |email: &str, password: &str| {
        run(
            dir.path(),
            &["user", "reset-password", "--email", email],
            &[],
            &format!("{password}\n"),
        )
    };

    let output = reset("Jana@example.cz", "novy-dlouhy-kopec-77");
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("New password set for jana@example.cz"),
        "{}",
        text(&output)
    );

    let output = reset("jana@example.cz", "password123");
    assert!(!output.status.success());
    assert!(
        text(&output).contains("too easy to guess"),
        "{}",
        text(&output)
    );

    let output = reset("petr@example.cz", "novy-dlouhy-kopec-77");
    assert!(!output.status.success());
    assert!(
        text(&output).contains("No user has the e-mail petr@example.cz"),
        "{}",
        text(&output)
    );

    // The new password is the one that works, and the reset is in the audit log.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = sqlx::SqlitePool::connect(&format!(
            "sqlite://{}",
            dir.path().join("data/fapi-bridge.db").display()
        ))
        .await
        .unwrap();
        let hash: String =
            sqlx::query_scalar("SELECT password_hash FROM users WHERE email = 'jana@example.cz'")
                .fetch_one(&db)
                .await
                .unwrap();
        use fapi_bridge::accounts::auth::password::verify;
        assert!(
            verify("novy-dlouhy-kopec-77".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("modry-kopec-trakar-58".into(), Some(hash))
                .await
                .unwrap()
        );
        let resets: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.password_reset'",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        assert_eq!(resets, 1);
    });
}

/// `backup` writes a consistent copy of the database while the app runs: the same rows in
/// every table, an intact file readable by its owner alone; it never overwrites a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_the_database_of_a_running_app() {
    let app = crate::helpers::spawn_app().await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let invoice = app.new_fapi_order(None);
    app.fapi.notify(&webhook, invoice).await.unwrap();
    let url = format!("sqlite://{}", app.data_dir.path().join("test.db").display());
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy.db");
    let output = run(
        out.path(),
        &["backup", "--to", copy.to_str().unwrap()],
        &[("DATABASE_URL", &url)],
        "",
    );
    assert!(output.status.success(), "{}", text(&output));

    let copied = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copied)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(&copied)
    .await
    .unwrap();
    assert!(tables.len() > 10, "{tables:?}");
    for table in ["users", "connections", "audit_log", "_sqlx_migrations"] {
        let count = |db: sqlx::SqlitePool| async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&db)
                .await
                .unwrap()
        };
        let original = count(app.db.clone()).await;
        assert!(original > 0, "{table} has rows");
        assert_eq!(count(copied.clone()).await, original, "{table}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    let again = run(
        out.path(),
        &["backup", "--to", copy.to_str().unwrap()],
        &[("DATABASE_URL", &url)],
        "",
    );
    assert!(!again.status.success());
    assert!(text(&again).contains("already exists"), "{}", text(&again));
}
