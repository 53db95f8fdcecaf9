//! A full disk, for real: the database lives on a small filesystem (a size-limited tmpfs the
//! test mounts) that the test fills up, then frees.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use fapi_bridge::platform::clock::ManualClock;

use crate::helpers::{eventually, spawn_app_in, start_time};

/// A tmpfs of `size` mounted for the test, unmounted when dropped. Needs root (as the test
/// command runs on CI machines); without it the test fails saying so, rather than pass untried.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let path = std::env::temp_dir().join(format!("fapi-bridge-disk-{}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "could not mount a small tmpfs at {} (the disk-full test needs root)",
            path.display()
        );
        SmallDisk { path }
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Writes a file until the filesystem is full; deleting it frees the space.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// With the disk full, FAPI's notifications are answered 503 (FAPI sends them again, and
/// reconciliation would catch what it gave up on); nothing that was answered 200 is lost; and
/// once space is free the bridge carries on without a restart: every order arrives in
/// SmartEmailing exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_notifications_loses_none_and_recovers_without_a_restart() {
    let disk = SmallDisk::mount("24m");
    let data_dir = Arc::new(tempfile::tempdir_in(disk.path()).unwrap());
    let app = spawn_app_in(data_dir.clone(), ManualClock::new(start_time()), 0).await;
    let (_admin, _connection, webhook) = app.forwarding_connection().await;
    let invoices: Vec<i64> = (0..30).map(|_| app.new_fapi_order(None)).collect();
    let client = reqwest::Client::new();
    // FAPI sends `id`, `time` and `security`; the padding makes each stored notification big
    // enough that the log's spare room cannot absorb them all.
    let padding = "x".repeat(50_000);
    let notify = |invoice: i64| {
        let (client, webhook, padding) = (client.clone(), webhook.clone(), padding.clone());
        let (time, security) = app
            .fapi
            .store
            .lock()
            .unwrap()
            .notification(invoice, start_time().timestamp())
            .unwrap();
        async move {
            client
                .post(&webhook)
                .form(&[
                    ("id", invoice.to_string()),
                    ("time", time),
                    ("security", security),
                    ("padding", padding),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    // Some arrive before the disk fills up…
    let mut accepted = Vec::new();
    for invoice in &invoices[..5] {
        assert_eq!(notify(*invoice).await.as_u16(), 200);
        accepted.push(*invoice);
    }
    // …the rest while it is full.
    let filler = disk.fill();
    let mut refused = Vec::new();
    for invoice in &invoices[5..] {
        match notify(*invoice).await.as_u16() {
            200 => accepted.push(*invoice),
            503 => refused.push(*invoice),
            other => panic!("a notification on a full disk was answered {other}"),
        }
    }
    assert!(
        !refused.is_empty(),
        "the full disk refused notifications ({} accepted)",
        accepted.len()
    );
    // The workers meet the full disk too (claims, ingests, outcomes fail) and keep trying.
    app.wake();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // Space comes back; the same process goes on.
    std::fs::remove_file(&filler).unwrap();
    for invoice in &accepted {
        let stored: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE invoice_id = ?")
                .bind(invoice)
                .fetch_one(&app.db)
                .await
                .unwrap();
        assert_eq!(stored, 1, "an accepted notification was kept");
    }
    // FAPI sends the refused ones again.
    for invoice in &refused {
        assert_eq!(notify(*invoice).await.as_u16(), 200);
    }
    app.advance(chrono::Duration::hours(1));
    let codes: Vec<String> = invoices
        .iter()
        .map(|invoice| {
            app.fapi.store.lock().unwrap().invoices[invoice]
                .new_order
                .to_string()
        })
        .collect();
    eventually("every order is in SmartEmailing", || async {
        app.wake();
        let store = app.smartemailing.store.lock().unwrap();
        codes
            .iter()
            .all(|code| store.orders.keys().any(|(_, c)| c == code))
    })
    .await;
    let store = app.smartemailing.store.lock().unwrap();
    assert_eq!(
        store.orders.len(),
        invoices.len(),
        "each order exactly once"
    );
    drop(store);
    drop(app);
}
