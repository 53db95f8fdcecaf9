//! The notification inbox: one writer stores incoming webhook notifications in batches, one
//! transaction per batch (group commit).
//!
//! Each request still waits until its own row is committed before it is answered, so nothing
//! accepted can be lost; but under load one commit serves many requests, and the requests do
//! not contend for SQLite's write lock (whose busy wait would add tens of milliseconds).

use tokio::sync::{mpsc, oneshot};

use crate::sync::store::{self, OwnedNotification};

/// Notifications stored per transaction at most.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<i64, String>>;

#[derive(Debug, Clone)]
pub struct NotificationInbox {
    queue: mpsc::Sender<(OwnedNotification, Reply)>,
}

impl NotificationInbox {
    /// Starts the writer; it runs until every handle is dropped.
    pub fn start(db: sqlx::SqlitePool) -> NotificationInbox {
        let (queue, incoming) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(db, incoming));
        NotificationInbox { queue }
    }

    /// Stores a notification durably; its id once committed.
    pub async fn store(&self, notification: OwnedNotification) -> Result<i64, String> {
        let (reply, stored) = oneshot::channel();
        self.queue
            .send((notification, reply))
            .await
            .map_err(|_| "the notification writer has stopped".to_string())?;
        stored
            .await
            .map_err(|_| "the notification writer has stopped".to_string())?
    }
}

async fn write_batches(
    db: sqlx::SqlitePool,
    mut incoming: mpsc::Receiver<(OwnedNotification, Reply)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (notifications, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        match store::insert_notifications(&db, &notifications).await {
            Ok(ids) => {
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
            }
            Err(error) => {
                tracing::error!(%error, count = notifications.len(), "could not store notifications");
                for reply in replies {
                    let _ = reply.send(Err(error.to_string()));
                }
            }
        }
    }
}
