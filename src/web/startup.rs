//! Builds the application from configuration: database, sessions, router, listener.
//!
//! Tests build it with `LEPTOS_SITE_ADDR=127.0.0.1:0` (a free port) and a fresh database, then
//! talk HTTP to it exactly as a browser would.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::middleware;
use http::{HeaderValue, header};
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::accounts::auth;
use crate::accounts::auth::rate_limit::LoginRateLimiter;
use crate::accounts::setup;
use crate::app::{App, shell};
use crate::connections;
use crate::platform::Context;
use crate::platform::clock::{self, Clock, OffsetClock, SystemClock};
use crate::platform::crypto::SecretKey;
use crate::platform::db;
use crate::platform::http::build_http_client;
use crate::platform::leases;
use crate::platform::signals::WorkSignals;
use crate::platform::smtp::Mailer;
use crate::sync::inbox::NotificationInbox;
use crate::sync::store;
use crate::web::calendar;
use crate::web::client_addr;
use crate::web::config::{Config, SecretKeySource};
use crate::web::csrf;
use crate::web::health;
use crate::web::page_guard;
use crate::web::state::AppState;
use crate::web::static_files::{self, SiteSource};
use crate::web::webhook;
use crate::worker;

pub const SESSION_COOKIE: &str = "fapi_bridge_session";

/// The largest request body the app takes (server functions take small forms; the largest, a
/// page of selected contacts, is a few KiB). Larger ones are answered 413 before any handler
/// runs. FAPI's webhook has its own limit.
pub const MAX_REQUEST_BODY: usize = 64 * 1024;

/// How long a stopping server waits for requests and work in hand, from the signal on (the
/// process must exit within 10 s; closing the database and the runtime take the rest).
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(7);

pub struct Application {
    listener: TcpListener,
    /// `GET /metrics`, on its own address, when `METRICS_ADDR` is set.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
    setup_link: Option<String>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        if !config.test_clock {
            return Application::build_with_clock(config, Arc::new(SystemClock)).await;
        }
        tracing::warn!(
            "TEST_CLOCK is on: anyone who reaches this server can move its clock (for end-to-end tests only)"
        );
        let clock = OffsetClock::default();
        let mut app = Application::build_with_clock(config, Arc::new(clock.clone())).await?;
        app.router = app.router.merge(clock::test_routes(clock));
        Ok(app)
    }

    pub async fn build_with_clock(
        mut config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("could not listen on {}", config.listen_addr))?;
        let local_addr = listener.local_addr()?;
        if config.public_url.port() == Some(0) {
            // A test asked for any free port: the public address is the one we got.
            config
                .public_url
                .set_port(Some(local_addr.port()))
                .map_err(|_| anyhow::anyhow!("PUBLIC_URL cannot take a port"))?;
        }

        let metrics_listener = match config.metrics_addr {
            Some(addr) => {
                crate::platform::metrics::install();
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("could not listen on {addr} (METRICS_ADDR)"))?,
                )
            }
            None => None,
        };

        let db = db::connect(&config.database_url).await?;
        // A key that does not match what is stored would make every stored API key unreadable:
        // refuse to start rather than run with it (or generate one in place of a lost file).
        let encrypted = connections::encrypted_sample(&db).await?;
        let secret_key = match &config.secret_key {
            SecretKeySource::Inline(key) => key.clone(),
            SecretKeySource::File(path) => SecretKey::load_or_create(path, encrypted.is_none())?,
        };
        if let Some(sample) = encrypted
            && secret_key.decrypt(&sample).is_err()
        {
            anyhow::bail!(
                "the secret key (SECRET_KEY or SECRET_KEY_FILE) is not the one the stored API keys were encrypted with; restore the original key"
            );
        }

        let site = SiteSource::choose(config.site_root.as_deref())?;
        let leptos_options = LeptosOptions::builder()
            .output_name(config.output_name.clone())
            .site_root(site.leptos_site_root())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .build();

        let session_store = SqliteStore::new(db.clone());
        session_store
            .migrate()
            .await
            .context("could not create the session table")?;
        let session_layer = SessionManagerLayer::new(session_store)
            .with_name(SESSION_COOKIE)
            .with_same_site(SameSite::Strict)
            .with_http_only(true)
            .with_secure(config.public_is_https())
            .with_expiry(Expiry::OnInactivity(
                time::Duration::try_from(config.session_idle_timeout)
                    .context("SESSION_IDLE_TIMEOUT is too large")?,
            ));

        let setup_link =
            setup::issue_link_if_needed(&db, &config.public_base(), clock.now()).await?;

        let (notifications, orders) = store::reset_in_flight(&db, clock.now()).await?;
        if notifications + orders > 0 {
            tracing::info!(
                notifications,
                orders,
                "resuming work interrupted by the last stop"
            );
        }
        let webhook_rate =
            NonZeroU32::new(config.sync.webhook_requests_per_second.max(1)).expect("positive");
        let emails = crate::mail::outbox::reset_in_flight(&db).await?;
        if emails > 0 {
            tracing::info!(
                emails,
                "e-mails interrupted by the last stop are queued again"
            );
        }
        let mailer = match &config.smtp {
            Some(smtp) => {
                tracing::info!(server = %smtp.server(), "e-mail is on");
                Some(Mailer::new(smtp.clone(), config.http.timeout).map_err(anyhow::Error::msg)?)
            }
            None => {
                tracing::info!("e-mail is off (SMTP_URL is not set): alerts show only in the app");
                None
            }
        };
        let ctx = Context {
            mailer,
            http: build_http_client(config.http.timeout),
            settings: Arc::new(config.domain_settings()),
            work: Arc::new(WorkSignals::default()),
            connections_changed: Default::default(),
            db: db.clone(),
            clock,
            secret_key,
        };
        let state = AppState {
            ctx,
            leptos_options,
            login_limiter: Arc::new(LoginRateLimiter::new(
                config.login_max_failures,
                config.login_failure_window,
            )),
            webhook_limiter: Arc::new(governor::RateLimiter::keyed(
                governor::Quota::per_second(webhook_rate)
                    .allow_burst(webhook_rate.saturating_mul(NonZeroU32::new(10).expect("ten"))),
            )),
            inbox: NotificationInbox::start(db),
            webhook_tokens: Default::default(),
            config: Arc::new(config),
        };
        let router = router(state.clone(), &site, session_layer);
        Ok(Application {
            listener,
            metrics_listener,
            router,
            state,
            setup_link,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Where `GET /metrics` is served, when it is.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// The public base URL (what users and FAPI reach), without a trailing slash.
    pub fn public_base(&self) -> String {
        self.state.config.public_base()
    }

    /// The one-time link that creates the first admin, when the database has no users.
    pub fn setup_link(&self) -> Option<&str> {
        self.setup_link.as_deref()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The domain context (database, clock, settings …) the app runs with.
    pub fn context(&self) -> &Context {
        &self.state.ctx
    }

    /// Serves and runs the sync workers until `shutdown` completes; then stops taking work,
    /// finishes the requests and work items in hand (waiting at most a few seconds) and returns.
    /// Work that did not finish is resumed at the next start.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        // One signal stops both: the server takes no new requests, the workers take no new
        // work; both finish what they hold, within one deadline.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let workers = worker::spawn(self.state.ctx.clone(), stopped.clone());
        if let Some(listener) = self.metrics_listener {
            let mut stopping = stopped.clone();
            let metrics = axum::serve(
                listener,
                crate::web::metrics::router(self.state.ctx.clone()),
            )
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            });
            tokio::spawn(async move {
                if let Err(error) = metrics.await {
                    tracing::error!(%error, "the metrics endpoint stopped");
                }
            });
        }
        let signalled_at = Arc::new(std::sync::OnceLock::new());
        let signal = {
            let signalled_at = signalled_at.clone();
            async move {
                shutdown.await;
                tracing::info!("stopping: finishing requests and work in hand");
                let _ = signalled_at.set(tokio::time::Instant::now());
                let _ = stop.send(true);
            }
        };
        let serve = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal)
        .into_future();
        let mut watcher = stopped;
        let served = tokio::select! {
            served = serve => served.context("the HTTP server stopped with an error"),
            () = async {
                let _ = watcher.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => {
                tracing::warn!("requests still open at the shutdown deadline were cut");
                Ok(())
            }
        };
        let deadline = signalled_at
            .get()
            .copied()
            .unwrap_or_else(tokio::time::Instant::now)
            + SHUTDOWN_GRACE;
        let aborts: Vec<_> = workers.iter().map(|w| w.abort_handle()).collect();
        let drained =
            tokio::time::timeout_at(deadline, futures_util::future::join_all(workers)).await;
        if drained.is_err() {
            // Stop them where they are: what they held goes back to the queue below.
            for abort in aborts {
                abort.abort();
            }
            tracing::warn!(
                "sync workers did not finish in time; their work goes back to the queue"
            );
            // Unclaim what they hold, so the queue is clean at the next start. (Re-sending an
            // order that did reach SmartEmailing only updates it: orders are keyed by code.)
            if let Err(error) =
                store::reset_in_flight(&self.state.ctx.db, self.state.ctx.now()).await
            {
                tracing::error!(%error, "could not re-queue work in flight");
            }
        }
        // Other replicas need not wait for this one's leases to expire.
        let ctx = &self.state.ctx;
        if let Err(error) = leases::release_all(&ctx.db, &ctx.settings.replica_id).await {
            tracing::warn!(%error, "could not release this replica's leases; they expire");
        }
        self.state.ctx.db.close().await;
        served
    }
}

fn router(
    state: AppState,
    site: &SiteSource,
    sessions: SessionManagerLayer<SqliteStore>,
) -> Router {
    let routes = generate_route_list(App);
    // Server functions reach the domain context and the login limiter through Leptos context.
    let (ctx, login_limiter) = (state.ctx.clone(), state.login_limiter.clone());
    let provide_state = move || {
        provide_context(ctx.clone());
        provide_context(login_limiter.clone());
    };
    let shell_options = state.leptos_options.clone();

    let pages = Router::new().leptos_routes_with_context(
        &state,
        routes,
        provide_state.clone(),
        move || shell(shell_options.clone()),
    );
    with_site_fallback(pages, site, provide_state, state.leptos_options.clone())
        .layer(middleware::from_fn(page_guard::guard_pages))
        .layer(middleware::from_fn(static_files::cache_headers))
        .layer(middleware::from_fn_with_state(
            state.ctx.clone(),
            auth::guard::load_request_user,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_addr::attach,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::verify_origin,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(sessions)
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY))
        // Probes, FAPI's notifications and calendar feeds: outside the session, CSRF and page
        // guards (they carry no cookie; the webhook and the feed are authenticated by their
        // secret URL).
        .merge(health::routes())
        .merge(webhook::routes())
        .merge(calendar::routes())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// What no route answers: a file of the site, else the app's 404 page.
fn with_site_fallback(
    pages: Router<AppState>,
    site: &SiteSource,
    provide_state: impl Fn() + Clone + Send + Sync + 'static,
    options: LeptosOptions,
) -> Router<AppState> {
    #[cfg(feature = "embed-site")]
    if *site == SiteSource::Embedded {
        let render_page =
            leptos_axum::render_app_to_stream_with_context(provide_state, move || {
                shell(options.clone())
            });
        return pages.fallback(move |request: axum::extract::Request| {
            static_files::embedded::serve_or_not_found(request, render_page.clone())
        });
    }
    let _ = (site, options);
    pages.fallback(leptos_axum::file_and_error_handler_with_context::<
        AppState,
        _,
    >(provide_state, shell))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
