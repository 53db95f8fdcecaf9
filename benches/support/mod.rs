//! Shared set-up of the benchmarks: the real app on a fresh database in a temporary folder,
//! configured against simulator URLs, and a connection to the simulators' default accounts.

use fapi_bridge::accounts::audit::Actor;
use fapi_bridge::connections::{self, ConnectionForm};
use fapi_bridge::platform::Context;
use fapi_bridge::simulators::fapi as fapi_sim;
use fapi_bridge::simulators::smartemailing as se_sim;
use fapi_bridge::web::config::Config;
use fapi_bridge::web::startup::Application;

/// Builds the app (not yet serving) with its database in `dir`.
pub async fn build_app(
    dir: &std::path::Path,
    fapi_url: &str,
    smartemailing_url: &str,
    extra: &[(&str, &str)],
) -> Application {
    let mut vars: Vec<(String, String)> = vec![
        (
            "DATABASE_URL".into(),
            format!("sqlite://{}", dir.join("bench.db").display()),
        ),
        ("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into()),
        (
            "SECRET_KEY_FILE".into(),
            dir.join("key").display().to_string(),
        ),
        ("FAPI_API_URL".into(), fapi_url.into()),
        (
            "SMARTEMAILING_API_URL".into(),
            format!("{smartemailing_url}/api/v3"),
        ),
        // The simulators have no rate limit; the benchmarks measure the bridge, not the pace.
        ("SMARTEMAILING_REQUESTS_PER_SECOND".into(), "1000".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config =
        // The last value of a name wins, so `extra` overrides the defaults above.
        Config::from_lookup(|name| {
            vars.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
            .expect("benchmark configuration is valid");
    Application::build(config).await.expect("the app builds")
}

/// Connects the simulators' default accounts (checked live, like a user would); its id.
pub async fn connect(state: &Context, name: &str) -> i64 {
    let form = ConnectionForm {
        name: name.into(),
        eshop_name: String::new(),
        fapi_login: fapi_sim::DEFAULT_LOGIN.into(),
        fapi_api_key: fapi_sim::DEFAULT_API_KEY.into(),
        se_username: se_sim::DEFAULT_USERNAME.into(),
        se_api_key: se_sim::DEFAULT_API_KEY.into(),
    };
    connections::create(state, &Actor::system("bench"), form)
        .await
        .expect("the connection is created")
}
