//! Alerts by e-mail, against a real SMTP server (aiosmtpd, `tests/support/smtp_sink.py`): the
//! test e-mail and SMTP's refusals, each alert triggered through the simulators and the test
//! clock, the digest limit, "resolved", the reminders' invitations and calendar feed parsed
//! with Python's `icalendar`, and the outbox surviving a restart while SMTP is down.

use std::sync::Arc;

use chrono::Duration;
use fapi_bridge::connections;
use fapi_bridge::model::Role;
use fapi_bridge::platform::clock::ManualClock;
use fapi_bridge::simulators::fapi::FapiSimulator;
use fapi_bridge::simulators::smartemailing::SmartEmailingSimulator;
use fapi_bridge::sync::reconcile;
use serde_json::Value;

use crate::helpers::{TestApp, error_of, eventually, spawn_app_full, start_time};
use crate::mail::{FROM, SmtpSink, parse_ics};

const ADMIN: &str = "admin@example.cz";

fn mail_vars(smtp_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_URL", smtp_url.to_string()),
        ("EMAIL_FROM", FROM.to_string()),
        ("ALERT_CHECK_INTERVAL", "100ms".to_string()),
    ]
}

async fn app_at(
    clock: ManualClock,
    data_dir: Arc<tempfile::TempDir>,
    vars: &[(&'static str, String)],
) -> TestApp {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_full(
        data_dir,
        clock,
        0,
        FapiSimulator::with_default_account(11),
        SmartEmailingSimulator::with_default_account(),
        &vars,
    )
    .await
}

async fn app_with_mail(smtp_url: &str) -> TestApp {
    app_at(
        ManualClock::new(start_time()),
        Arc::new(tempfile::tempdir().unwrap()),
        &mail_vars(smtp_url),
    )
    .await
}

fn text(mail: &Value) -> &str {
    mail["text"].as_str().unwrap_or_default()
}

fn subject(mail: &Value) -> &str {
    mail["subject"].as_str().unwrap_or_default()
}

async fn order_statuses(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT sync_status FROM orders ORDER BY id")
        .fetch_all(&app.db)
        .await
        .unwrap()
}

/// What the bell shows `client`.
async fn bell_of(app: &TestApp, client: &reqwest::Client) -> Value {
    app.call(client, "my_alerts", &[])
        .await
        .json()
        .await
        .unwrap()
}

/// Lets the alert worker (every 100 ms) evaluate a few more times.
async fn let_alerts_run() {
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_email_arrives_and_smtp_refusals_are_said_in_plain_words() {
    let sink = SmtpSink::with_login("bridge", "spravne-heslo").await;
    let app = app_with_mail(&sink.url()).await;
    let admin = app.signed_in(ADMIN, Role::Admin).await;
    let response = app
        .call(&admin, "send_test_email", &[("to", "jana@example.cz")])
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let mail = &sink.wait_for("jana@example.cz", 1).await[0];
    assert_eq!(subject(mail), "fapi-bridge: zkušební e-mail");
    assert_eq!(mail["from"], "bridge@example.cz");
    assert!(
        text(mail).contains(&format!("127.0.0.1:{}", sink.port)),
        "{mail}"
    );
    assert!(mail["html"].as_str().unwrap().contains(&app.base), "{mail}");

    // Only admins send test e-mails.
    let viewer = app.signed_in("viewer@example.cz", Role::Viewer).await;
    let response = app.call(&viewer, "send_test_email", &[]).await;
    assert_eq!(response.status(), 403);

    // The wrong password: SMTP's 535, in words, and in the outbox.
    let wrong = app_with_mail(&sink.url_with_password(Some("spatne"))).await;
    let admin = wrong.signed_in(ADMIN, Role::Admin).await;
    let response = wrong.call(&admin, "send_test_email", &[]).await;
    assert_eq!(response.status(), 502);
    let error = error_of(response).await;
    assert_eq!(error["Smtp"][0], "login_refused", "{error}");
    assert!(
        error["Smtp"][1].as_str().unwrap().contains("535"),
        "{error}"
    );
    let outbox: Value = wrong
        .call(&admin, "email_outbox", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["rows"][0]["status"], "failed", "{outbox}");
    assert!(
        outbox["rows"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("535")
    );

    // A password over a server that offers no TLS: refused before it is sent.
    let no_tls = app_with_mail(&format!(
        "smtp://bridge:spravne-heslo@127.0.0.1:{}",
        sink.port
    ))
    .await;
    let admin = no_tls.signed_in(ADMIN, Role::Admin).await;
    let error = error_of(no_tls.call(&admin, "send_test_email", &[]).await).await;
    assert_eq!(error["Smtp"][0], "tls", "{error}");

    // Nothing listens.
    let mut gone = SmtpSink::start().await;
    gone.stop().await;
    let unreachable = app_with_mail(&gone.url()).await;
    let admin = unreachable.signed_in(ADMIN, Role::Admin).await;
    let error = error_of(unreachable.call(&admin, "send_test_email", &[]).await).await;
    assert_eq!(error["Smtp"][0], "unreachable", "{error}");
    assert_eq!(
        sink.messages().len(),
        1,
        "only the first test e-mail went out"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_alert_once_while_they_last_and_once_when_fixed() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink.url()).await;
    let (_admin, connection, webhook) = app.forwarding_connection().await;
    let viewer = app.signed_in("viewer@example.cz", Role::Viewer).await;
    let key = app.smartemailing.store.lock().unwrap().api_key.clone();
    app.smartemailing.store.lock().unwrap().api_key = "revoked".into();

    let first = app.new_fapi_order(None);
    app.fapi.notify(&webhook, first).await.unwrap();
    let mails = sink.wait_for(ADMIN, 1).await;
    assert_eq!(
        subject(&mails[0]),
        "fapi-bridge: SmartEmailing odmítá přístupové údaje (Obchod)"
    );
    assert!(
        text(&mails[0]).contains(&format!("{}/connections/{connection}", app.base)),
        "{}",
        text(&mails[0])
    );

    // Another refused push while the condition lasts: no second e-mail.
    let second = app.new_fapi_order(None);
    app.fapi.notify(&webhook, second).await.unwrap();
    eventually("the second order was tried", || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(DISTINCT order_id) FROM order_attempts")
            .fetch_one(&app.db)
            .await
            .unwrap()
            == 2
    })
    .await;
    let_alerts_run().await;
    assert_eq!(sink.messages_to(ADMIN).len(), 1);

    // A viewer gets no e-mail by default, but sees it under the bell.
    assert!(sink.messages_to("viewer@example.cz").is_empty());
    let bell = bell_of(&app, &viewer).await;
    assert_eq!(bell["unread"], 1, "{bell}");
    assert_eq!(bell["items"][0]["kind"], "credentials");
    assert_eq!(bell["items"][0]["summary"]["system"], "SmartEmailing");
    let shown = bell["items"][0]["id"].as_i64().unwrap().to_string();
    let read = app
        .call(&viewer, "mark_alerts_read", &[("up_to", &shown)])
        .await;
    assert_eq!(read.status(), 200);
    let bell = bell_of(&app, &viewer).await;
    assert_eq!(bell["unread"], 0, "{bell}");

    // The key works again: the waiting orders go, and one "resolved" e-mail.
    app.smartemailing.store.lock().unwrap().api_key = key;
    app.advance(Duration::minutes(10));
    let mails = sink.wait_for(ADMIN, 2).await;
    assert_eq!(
        subject(&mails[1]),
        "fapi-bridge: přístupové údaje opět fungují (Obchod)"
    );
    assert_eq!(order_statuses(&app).await, ["synced", "synced"]);
    let_alerts_run().await;
    assert_eq!(sink.messages_to(ADMIN).len(), 2);
    // The viewer read up to the first; the "resolved" one is new to them.
    let bell = bell_of(&app, &viewer).await;
    assert_eq!(bell["unread"], 1, "{bell}");
    assert_eq!(bell["items"][0]["resolved"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_orders_come_in_a_digest_at_most_once_an_hour() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink.url()).await;
    let (_admin, connection, webhook) = app.forwarding_connection().await;
    // SmartEmailing refuses an import whose buyer has no usable address (a 4xx: not retried).
    let refused = || {
        let invoice = app.new_fapi_order(Some("jana.novakova@@example"));
        (invoice, app.fapi.clone(), webhook.clone())
    };
    let (invoice, fapi, url) = refused();
    fapi.notify(&url, invoice).await.unwrap();
    let mails = sink.wait_for(ADMIN, 1).await;
    assert_eq!(
        subject(&mails[0]),
        "fapi-bridge: selhala 1 objednávka (Obchod)"
    );
    assert!(
        text(&mails[0]).contains(&format!(
            "{}/orders?connection={connection}&status=failed",
            app.base
        )),
        "{}",
        text(&mails[0])
    );
    assert!(text(&mails[0]).contains("(1×)"), "the reason is listed");

    // Within the hour (here: at the same instant of the test clock): no second digest.
    let (invoice, fapi, url) = refused();
    fapi.notify(&url, invoice).await.unwrap();
    eventually("the second order failed", || async {
        order_statuses(&app).await == ["failed", "failed"]
    })
    .await;
    let_alerts_run().await;
    assert_eq!(sink.messages_to(ADMIN).len(), 1);

    // An hour later the digest tells only what no digest told before.
    app.advance(Duration::minutes(61));
    let mails = sink.wait_for(ADMIN, 2).await;
    assert_eq!(
        subject(&mails[1]),
        "fapi-bridge: selhala 1 objednávka (Obchod)"
    );
    let_alerts_run().await;
    assert_eq!(sink.messages_to(ADMIN).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_notifications_alert_with_the_url_for_admins_and_resolve_when_one_arrives() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink.url()).await;
    let (_admin, connection_id, webhook) = app.forwarding_connection().await;
    app.add_user("operator@example.cz", Role::Operator).await;
    // Three orders whose notifications never came; reconciliation finds them.
    for _ in 0..3 {
        app.new_fapi_order(None);
    }
    let connection = connections::find(&app.db, connection_id).await.unwrap();
    let counts = reconcile::run(&app.ctx, &connection, "test").await.unwrap();
    assert_eq!(counts.created, 3);

    let admin_mail = &sink.wait_for(ADMIN, 1).await[0];
    assert_eq!(
        subject(admin_mail),
        "fapi-bridge: notifikace z FAPI nechodí (Obchod)"
    );
    assert!(text(admin_mail).contains(&webhook), "{}", text(admin_mail));
    // The URL is a secret only admins see in the app.
    let operator_mail = &sink.wait_for("operator@example.cz", 1).await[0];
    assert!(!text(operator_mail).contains("/webhooks/fapi/"));

    // A day later notifications arrive again: one "resolved".
    app.advance(Duration::hours(25));
    let_alerts_run().await;
    assert_eq!(
        sink.messages_to(ADMIN).len(),
        1,
        "no news is not a resolution"
    );
    let invoice = app.new_fapi_order(None);
    app.fapi.notify(&webhook, invoice).await.unwrap();
    let mails = sink.wait_for(ADMIN, 2).await;
    assert_eq!(
        subject(&mails[1]),
        "fapi-bridge: notifikace z FAPI opět chodí (Obchod)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_historical_sync_is_told_to_the_person_who_started_it() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink.url()).await;
    let (_admin, connection, _webhook) = app.forwarding_connection().await;
    let operator = app.signed_in("operator@example.cz", Role::Operator).await;
    let response = app
        .call(
            &operator,
            "start_historical_sync",
            &[("connection", &connection.to_string()), ("confirm", "yes")],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let run: i64 = response.json().await.unwrap();
    let mail = &sink.wait_for("operator@example.cz", 1).await[0];
    assert_eq!(
        subject(mail),
        "fapi-bridge: historická synchronizace je hotová (Obchod)"
    );
    assert!(text(mail).contains(&format!("{}/sync-history/{run}", app.base)));
    let_alerts_run().await;
    assert!(
        sink.messages_to(ADMIN).is_empty(),
        "the admin did not start it"
    );
}

/// The invitation when a reminder is scheduled (in summer time, for a Monday in winter time),
/// the e-mail when it falls due, the cancellation of the next one, and the personal feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_reach_the_calendar_at_prague_time_across_the_dst_change() {
    let sink = SmtpSink::start().await;
    let clock = ManualClock::new("2026-10-21T10:00:00Z".parse().unwrap());
    let app = app_at(
        clock,
        Arc::new(tempfile::tempdir().unwrap()),
        &mail_vars(&sink.url()),
    )
    .await;
    let (admin, connection, _webhook) = app.forwarding_connection().await;
    app.add_user("viewer@example.cz", Role::Viewer).await;
    let schedule = || async {
        app.call(
            &admin,
            "schedule_reminder",
            &[
                ("connection", &connection.to_string()),
                ("note", "Segment VIP"),
            ],
        )
        .await
    };
    let response = schedule().await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let first: i64 = response.json().await.unwrap();

    // Everyone gets reminders by default, viewers too.
    let invitation = &sink.wait_for("viewer@example.cz", 1).await[0];
    let calendars = invitation["calendars"].as_array().unwrap();
    assert_eq!(
        calendars.len(),
        2,
        "inline for calendar clients, and attached"
    );
    for calendar in calendars {
        assert_eq!(calendar["method"], "REQUEST");
        assert_eq!(calendar["timezones"][0], "Europe/Prague");
        let event = &calendar["events"][0];
        assert_eq!(event["tzid"], "Europe/Prague");
        // The Monday after Sunday's recalculation, 09:00 in Prague: winter time (UTC+1).
        assert_eq!(event["start_local"], "2026-10-26T09:00:00");
        assert_eq!(event["start_utc"], "2026-10-26T08:00:00Z");
        assert_eq!(event["start_utc_by_vtimezone"], "2026-10-26T08:00:00Z");
        assert_eq!(event["sequence"], 0);
        assert_eq!(event["status"], "CONFIRMED");
        assert!(event["summary"].as_str().unwrap().contains("Obchod"));
        assert_eq!(event["attendees"][0], "mailto:viewer@example.cz");
    }
    assert_eq!(calendars[0]["content_type_method"], "REQUEST");
    let uid = calendars[0]["events"][0]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text(invitation).contains("Segment VIP"));

    // It falls due: an e-mail to everyone, with the same event.
    app.clock.set("2026-10-26T08:00:30Z".parse().unwrap());
    let due = &sink.wait_for(ADMIN, 2).await[1];
    assert_eq!(
        subject(due),
        "fapi-bridge: je čas připravit scénář engagementu (Obchod)"
    );
    assert_eq!(due["calendars"][0]["events"][0]["uid"], uid.as_str());
    let_alerts_run().await;
    assert_eq!(sink.messages_to(ADMIN).len(), 2, "due once");

    // Done; the next one is scheduled, appears in the feed, and is cancelled.
    let finish = |id: i64, action: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            app.call(
                &admin,
                "finish_reminder",
                &[("id", &id.to_string()), ("action", action)],
            )
            .await
        }
    };
    assert_eq!(finish(first, "done").await.status(), 200);
    let second: i64 = schedule().await.json().await.unwrap();
    sink.wait_for(ADMIN, 3).await;

    let feed_url: String = app
        .call(&admin, "new_calendar_feed", &[])
        .await
        .json()
        .await
        .unwrap();
    let anonymous = reqwest::Client::new();
    let feed = anonymous.get(&feed_url).send().await.unwrap();
    assert_eq!(feed.status(), 200);
    assert!(
        feed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let feed = parse_ics(&feed.text().await.unwrap()).await;
    assert_eq!(feed["method"], "PUBLISH");
    assert_eq!(feed["events"].as_array().unwrap().len(), 1, "{feed}");
    assert_eq!(feed["events"][0]["start_utc"], "2026-11-02T08:00:00Z");
    assert_eq!(
        feed["events"][0]["start_utc_by_vtimezone"],
        "2026-11-02T08:00:00Z"
    );

    assert_eq!(finish(second, "cancel").await.status(), 200);
    let cancel = &sink.wait_for(ADMIN, 4).await[3];
    let event = &cancel["calendars"][0]["events"][0];
    assert_eq!(cancel["calendars"][0]["method"], "CANCEL");
    assert_eq!(event["sequence"], 1);
    assert_eq!(event["status"], "CANCELLED");
    assert_eq!(
        event["uid"],
        format!("reminder-{second}@127.0.0.1").as_str()
    );

    // The feed no longer lists it; a revoked feed is gone.
    let feed = parse_ics(
        &anonymous
            .get(&feed_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .await;
    assert!(feed["events"].as_array().unwrap().is_empty());
    assert_eq!(
        app.call(&admin, "revoke_calendar_feed", &[]).await.status(),
        200
    );
    assert_eq!(anonymous.get(&feed_url).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_survives_a_restart_while_smtp_is_down() {
    let mut sink = SmtpSink::start().await;
    sink.stop().await;
    let clock = ManualClock::new(start_time());
    let vars = mail_vars(&sink.url());
    let app = app_at(clock.clone(), Arc::new(tempfile::tempdir().unwrap()), &vars).await;
    let (admin, connection, _webhook) = app.forwarding_connection().await;
    let response = app
        .call(
            &admin,
            "schedule_reminder",
            &[("connection", &connection.to_string())],
        )
        .await;
    assert_eq!(response.status(), 200);
    eventually("the invitation was tried and is queued again", || async {
        let row: Option<(String, i64, Option<String>)> =
            sqlx::query_as("SELECT status, attempts, last_error FROM emails")
                .fetch_optional(&app.db)
                .await
                .unwrap();
        matches!(row, Some((status, 1, Some(error))) if status == "queued" && error.starts_with("unreachable"))
    })
    .await;

    let data_dir = app.stop().await;
    sink.restart().await;
    let app = app_at(clock.clone(), data_dir, &vars).await;
    app.clock.advance(Duration::minutes(2));
    app.ctx.work.mail.notify_one();
    let mail = &sink.wait_for(ADMIN, 1).await[0];
    assert!(subject(mail).contains("připomínka engagementu"), "{mail}");
    // The SMTP server has it before the app records the outcome.
    eventually(
        "the e-mail is recorded as sent on the second attempt",
        || async {
            let (status, attempts): (String, i64) =
                sqlx::query_as("SELECT status, attempts FROM emails")
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
            status == "sent" && attempts == 2
        },
    )
    .await;
}
