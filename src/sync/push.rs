//! The push step: due orders go to SmartEmailing in batches (contacts first, then orders),
//! each push recorded as an attempt; failures are retried with backoff, then marked failed.

use std::future::Future;
use std::pin::Pin;

use crate::connections::{self, ConnectionRecord};
use crate::contacts::suppression;
use crate::error::AppError;
use crate::model::{AttemptOutcome, System};
use crate::platform::Context;
use crate::smartemailing::{
    CancelledSpelling, ImportSettings, OrderStatus, SeError, SmartEmailingClient,
};
use crate::sync::field_mapping;
use crate::sync::store::{self, Attempt, Payload, PushJob};

/// How long a claimed batch stays claimed before another worker may take it.
const LOCK_FOR: chrono::Duration = chrono::Duration::minutes(10);

/// Pushes one batch for each connection with due orders; how many orders it sent.
///
/// SmartEmailing is paced per account: the step first waits until the batch's two requests
/// (contacts, then orders) may go, and only then claims the batch, so that under a stream of
/// notifications the batch carries every order that became due meanwhile (up to 500) instead
/// of one request pair per handful of orders.
pub async fn push_due_orders(ctx: &Context) -> anyhow::Result<usize> {
    let mut pushed = 0;
    for connection_id in store::connections_with_due_orders(&ctx.db, ctx.now()).await? {
        // Only a deleted connection fails its orders; a database error is the worker's (the
        // orders stay due and the step is tried again).
        let connection = match connections::find(&ctx.db, connection_id).await {
            Ok(connection) => connection,
            Err(AppError::NotFound) => {
                let jobs = claim_batch(ctx, connection_id).await?;
                pushed += jobs.len();
                fail_all(ctx, &jobs, None, "the connection was deleted").await?;
                continue;
            }
            Err(error) => anyhow::bail!("could not read connection {connection_id}: {error}"),
        };
        let client = match connection.smartemailing_client(ctx) {
            Ok(client) => client,
            Err(_) => {
                // Like SmartEmailing refusing the key: the orders wait for a retry.
                let jobs = claim_batch(ctx, connection_id).await?;
                pushed += jobs.len();
                let reason = "the connection's SmartEmailing key cannot be read";
                retry_or_fail(ctx, &jobs, None, reason).await?;
                continue;
            }
        };
        client.reserve(2).await;
        let jobs = claim_batch(ctx, connection_id).await?;
        if jobs.is_empty() {
            continue;
        }
        pushed += jobs.len();
        deliver(ctx, &connection, &client, jobs, FieldCheck::Needed).await?;
    }
    Ok(pushed)
}

async fn claim_batch(ctx: &Context, connection_id: i64) -> Result<Vec<PushJob>, sqlx::Error> {
    store::claim_push_batch(
        &ctx.db,
        connection_id,
        ctx.now(),
        LOCK_FOR,
        ctx.settings.sync.batch_size.min(500) as i64,
    )
    .await
}

/// Sends a batch: contacts first, then orders. A batch SmartEmailing rejects is split into
/// single orders so one bad order does not hold back the others. Returns SmartEmailing's
/// message when it refused the credentials (the historical sync stops on that).
pub async fn push_batch(
    ctx: &Context,
    connection: &ConnectionRecord,
    jobs: Vec<PushJob>,
) -> anyhow::Result<Option<String>> {
    let client = connection
        .smartemailing_client(ctx)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    deliver(ctx, connection, &client, jobs, FieldCheck::Needed).await
}

/// Whether a batch's custom-field values still have to be checked against the account's
/// fields (a split batch's orders were checked with the batch: no second read per order).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldCheck {
    Needed,
    Done,
}

/// [`push_batch`] with a client at hand (the one that waited for the pace).
fn deliver<'a>(
    ctx: &'a Context,
    connection: &'a ConnectionRecord,
    client: &'a SmartEmailingClient,
    jobs: Vec<PushJob>,
    fields: FieldCheck,
) -> Pin<Box<dyn Future<Output = anyhow::Result<Option<String>>> + Send + 'a>> {
    Box::pin(async move {
        let mut payloads = Vec::with_capacity(jobs.len());
        let mut sendable = Vec::with_capacity(jobs.len());
        for job in jobs {
            match serde_json::from_str::<Payload>(&job.payload) {
                Ok(payload) => {
                    payloads.push(payload);
                    sendable.push(job);
                }
                Err(error) => {
                    fail_all(
                        ctx,
                        &[job],
                        None,
                        &format!("the stored payload is unreadable: {error}"),
                    )
                    .await?
                }
            }
        }
        // A buyer forgotten after the order was queued: dropped here, never sent.
        let hashes: Vec<String> = payloads
            .iter()
            .map(|p| suppression::email_hash(&ctx.secret_key, &p.contact.emailaddress))
            .collect();
        let forgotten = {
            let mut conn = ctx.db.acquire().await?;
            suppression::forgotten(&mut conn, connection.id, &hashes).await?
        };
        if !forgotten.is_empty() {
            let now = ctx.clock.now();
            let mut tx = ctx.db.begin().await?;
            let mut kept = (Vec::new(), Vec::new());
            for ((payload, job), hash) in payloads.into_iter().zip(sendable).zip(&hashes) {
                match forgotten.get(hash) {
                    Some(marker) => {
                        store::mark_forgotten(
                            &mut tx,
                            job.id,
                            marker,
                            crate::sync::ingest::SKIPPED_FORGOTTEN,
                            now,
                        )
                        .await?
                    }
                    None => {
                        kept.0.push(payload);
                        kept.1.push(job);
                    }
                }
            }
            tx.commit().await?;
            (payloads, sendable) = kept;
        }
        // Custom fields deleted in SmartEmailing since the mapping was saved: those orders fail
        // with the field's name; the others go.
        if fields == FieldCheck::Needed
            && payloads.iter().any(|p| !p.contact.customfields.is_empty())
        {
            (payloads, sendable) = check_custom_fields(ctx, client, payloads, sendable).await?;
        }
        if sendable.is_empty() {
            return Ok(None);
        }
        let spelling = store::cancelled_spelling(&ctx.db, &connection.se_username).await?;
        let started = std::time::Instant::now();
        let mut result = send(client, &payloads, spelling).await;
        // SmartEmailing's documentation and its PHP clients disagree on how "cancelled" is
        // spelled: an order whose status it refuses goes once more with the other spelling,
        // and the account's answer is remembered.
        if let Err(error) = &result
            && error.refuses_status()
            && payloads.len() == 1
            && payloads[0].order.status == OrderStatus::Cancelled
        {
            let other = spelling.other();
            result = send(client, &payloads, other).await;
            if result.is_ok() {
                tracing::info!(account = %connection.se_username, spelling = other.as_str(), "SmartEmailing accepts this spelling of the cancelled status");
                store::remember_cancelled_spelling(&ctx.db, &connection.se_username, other).await?;
            }
        }
        record_push(&result, sendable.len(), started.elapsed());
        match result {
            Ok(contact_ids) => {
                let now = ctx.clock.now();
                connection
                    .note_credentials(&ctx.db, System::SmartEmailing, None, now)
                    .await?;
                let mut tx = ctx.db.begin().await?;
                let buyers: Vec<_> = payloads
                    .iter()
                    .map(|p| crate::contacts::SyncedBuyer {
                        email: &p.contact.emailaddress,
                        name: full_name(&p.contact),
                    })
                    .collect();
                crate::contacts::record_synced(&mut tx, connection.id, &buyers, &contact_ids)
                    .await?;
                store::mark_synced(&mut tx, &sendable, now).await?;
                tx.commit().await?;
                ctx.work.contacts.notify_one();
            }
            Err(error) if error.is_validation() && sendable.len() > 1 => {
                let mut refused = None;
                for job in sendable {
                    refused =
                        refused.or(
                            deliver(ctx, connection, client, vec![job], FieldCheck::Done).await?,
                        );
                }
                return Ok(refused);
            }
            Err(error) if error.is_transient() => {
                retry_or_fail(ctx, &sendable, error.status(), &error.to_string()).await?
            }
            Err(error @ SeError::Unauthorized { .. }) => {
                // Not the orders' fault: they wait for a retry once the key is fixed.
                if let SeError::Unauthorized { message, .. } = &error {
                    connection
                        .note_credentials(&ctx.db, System::SmartEmailing, Some(message), ctx.now())
                        .await?;
                }
                retry_or_fail(ctx, &sendable, error.status(), &error.to_string()).await?;
                return Ok(Some(error.to_string()));
            }
            Err(error) => fail_all(ctx, &sendable, error.status(), &error.to_string()).await?,
        }
        Ok(None)
    })
}

/// Keeps the payloads whose custom-field values fit the account's fields as they are now, and
/// fails the others. When the fields cannot be read, all go (SmartEmailing's answer decides).
async fn check_custom_fields(
    ctx: &Context,
    client: &SmartEmailingClient,
    payloads: Vec<Payload>,
    sendable: Vec<PushJob>,
) -> anyhow::Result<(Vec<Payload>, Vec<PushJob>)> {
    let definitions = match client.custom_fields().await {
        Ok(definitions) => definitions,
        Err(error) => {
            tracing::warn!(%error, "SmartEmailing's custom fields not read; the batch goes unchecked");
            return Ok((payloads, sendable));
        }
    };
    let fields: std::collections::HashMap<i64, _> = definitions.iter().map(|d| (d.id, d)).collect();
    let mut kept = (Vec::new(), Vec::new());
    let mut refused: std::collections::BTreeMap<String, Vec<PushJob>> = Default::default();
    for (payload, job) in payloads.into_iter().zip(sendable) {
        match field_mapping::check_against(&payload.contact, &fields) {
            Ok(()) => {
                kept.0.push(payload);
                kept.1.push(job);
            }
            Err(reason) => refused.entry(reason).or_default().push(job),
        }
    }
    // One write per reason (few), not one per order.
    for (reason, jobs) in refused {
        fail_all(ctx, &jobs, None, &reason).await?;
    }
    Ok(kept)
}

/// Counts a push by outcome (batches and orders) and records its duration.
fn record_push<T>(result: &Result<T, SeError>, orders: usize, took: std::time::Duration) {
    use crate::platform::metrics::{PUSH_DURATION, PUSHED_ORDERS, PUSHES};
    let outcome = match result {
        Ok(_) => "synced",
        Err(error) if error.is_transient() => "retry",
        Err(SeError::Unauthorized { .. }) => "unauthorized",
        Err(_) => "refused",
    };
    metrics::counter!(PUSHES, "outcome" => outcome).increment(1);
    metrics::counter!(PUSHED_ORDERS, "outcome" => outcome).increment(orders as u64);
    metrics::histogram!(PUSH_DURATION).record(took.as_secs_f64());
}

async fn send(
    client: &SmartEmailingClient,
    payloads: &[Payload],
    cancelled: CancelledSpelling,
) -> Result<Vec<crate::smartemailing::ContactMapEntry>, SeError> {
    // One contact per buyer, even when they placed several orders in the batch.
    let mut contacts: Vec<_> = Vec::with_capacity(payloads.len());
    let mut seen = std::collections::HashSet::new();
    for payload in payloads.iter().rev() {
        if seen.insert(payload.contact.emailaddress.clone()) {
            contacts.push(payload.contact.clone());
        }
    }
    let contact_ids = client
        .import_contacts(&contacts, &ImportSettings::default())
        .await?;
    let orders: Vec<_> = payloads.iter().map(|p| p.order.clone()).collect();
    client.import_orders(&orders, cancelled).await?;
    Ok(contact_ids)
}

fn full_name(contact: &crate::smartemailing::ContactImport) -> Option<String> {
    let name = [contact.name.as_deref(), contact.surname.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

async fn retry_or_fail(
    ctx: &Context,
    jobs: &[PushJob],
    http_status: Option<u16>,
    message: &str,
) -> anyhow::Result<()> {
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
    for job in jobs {
        let exhausted = job.attempts as u32 >= ctx.settings.sync.max_attempts;
        let next = (!exhausted).then(|| ctx.settings.sync.next_attempt(now, job.attempts as u32));
        store::record_attempt(
            &mut tx,
            Attempt {
                order_id: job.id,
                outcome: if exhausted {
                    AttemptOutcome::Failed
                } else {
                    AttemptOutcome::Retry
                },
                http_status,
                message: Some(message),
                payload_hash: &job.payload_hash,
            },
            now,
        )
        .await?;
        let reason = if exhausted {
            format!("gave up after {} attempts: {message}", job.attempts)
        } else {
            message.to_string()
        };
        store::mark_retry_or_failed(&mut tx, job.id, next, &reason, now).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn fail_all(
    ctx: &Context,
    jobs: &[PushJob],
    status: Option<u16>,
    message: &str,
) -> anyhow::Result<()> {
    let now = ctx.clock.now();
    let mut tx = ctx.db.begin().await?;
    for job in jobs {
        store::record_attempt(
            &mut tx,
            Attempt {
                order_id: job.id,
                outcome: AttemptOutcome::Failed,
                http_status: status,
                message: Some(message),
                payload_hash: &job.payload_hash,
            },
            now,
        )
        .await?;
        store::mark_retry_or_failed(&mut tx, job.id, None, message, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
