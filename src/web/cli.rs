//! The command line: `serve` (default), `demo`, `backup`, `migrate`, `user add`,
//! `user reset-password`, `simulate`.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::accounts::audit::Actor;
use crate::accounts::team::{self, NewMember};
use crate::accounts::users;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::model::Role;
use crate::platform::db;
use crate::web::config::Config;
use crate::web::demo;
use crate::web::startup::{Application, shutdown_signal};

#[derive(Debug, Parser)]
#[command(
    name = "fapi-bridge",
    version,
    about = "Moves orders from FAPI into SmartEmailing"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web app (the default). Configuration comes from the environment.
    Serve,
    /// Serve the app with a throw-away database and a demo admin, and print the login.
    Demo,
    /// Write a consistent copy of the database (SQLite) while the app may be running.
    Backup {
        /// The file to write (must not exist yet).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Copy this installation's SQLite database (DATABASE_URL) into an empty PostgreSQL
    /// database, for the PostgreSQL engine. Stop the app first: later changes are not copied.
    Migrate {
        /// The PostgreSQL database to copy into: postgres://user:password@host/database.
        #[arg(long)]
        to: String,
    },
    /// Manage team members.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Serve a simulator of FAPI or SmartEmailing, to try the bridge without real accounts.
    Simulate {
        #[arg(value_enum)]
        api: SimulatedApi,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3190")]
        listen: std::net::SocketAddr,
        /// FAPI: how many past orders to generate.
        #[arg(long, default_value_t = 200)]
        orders: usize,
        /// FAPI: seed of the generated data (the same seed gives the same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// FAPI: the largest page (`limit`) a list request may ask for; more is refused.
        #[arg(long, default_value_t = crate::simulators::fapi::DEFAULT_MAX_PAGE_SIZE)]
        max_page_size: usize,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SimulatedApi {
    Fapi,
    Smartemailing,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a team member; the password is read from standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Display name (defaults to the part of the e-mail before @).
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Set a new password for a team member (e.g. an admin locked out of the web); it is read
    /// from standard input. Their sessions end, and the e-mail's sign-in limit starts afresh.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| "the role must be admin, operator or viewer".to_string())
}

pub async fn run() -> ExitCode {
    // A missing .env file is normal; a malformed one is reported.
    if let Err(error) = dotenvy::dotenv()
        && !error.not_found()
    {
        eprintln!("error: could not read .env: {error}");
        return ExitCode::FAILURE;
    }
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Demo => demo::run().await,
        Command::Backup { to } => backup(&to).await,
        Command::Migrate { to } => migrate(&to).await,
        Command::User {
            command: UserCommand::Add { email, role, name },
        } => add_user(&email, role, &name).await,
        Command::User {
            command: UserCommand::ResetPassword { email },
        } => reset_password(&email).await,
        Command::Simulate {
            api,
            listen,
            orders,
            seed,
            max_page_size,
        } => simulate(api, listen, orders, seed, max_page_size).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

async fn backup(to: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let bytes = db::backup(&config.database_url, to).await?;
    println!(
        "Copied {} to {} ({bytes} bytes). Keep the secret key with it: without the key the stored API keys cannot be read.",
        config.database_url,
        to.display()
    );
    Ok(())
}

async fn migrate(to: &str) -> anyhow::Result<()> {
    let target = url::Url::parse(to)
        .ok()
        .filter(|url| matches!(url.scheme(), "postgres" | "postgresql"))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--to must be a PostgreSQL URL like postgres://user:password@host/database"
            )
        })?;
    let config = Config::from_env()?;
    let sqlite = db::connect(&config.database_url).await?;
    let report = crate::platform::postgres_copy::copy_to_postgres(&sqlite, to).await?;
    for (table, rows) in &report.tables {
        println!("{table:>24}  {rows} rows");
    }
    // The URL's password is not printed.
    println!(
        "Copied {} rows from {} into PostgreSQL at {}{}. Keep the secret key: the stored API keys are copied encrypted with it.",
        report.rows(),
        config.database_url,
        target.host_str().unwrap_or("localhost"),
        target.path()
    );
    Ok(())
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let app = Application::build(config).await?;
    println!("fapi-bridge is listening on {}", app.public_base());
    if let Some(link) = app.setup_link() {
        println!("No users yet. Create the first admin within one hour at:\n  {link}");
    }
    app.run_until_stopped(shutdown_signal()).await
}

async fn simulate(
    api: SimulatedApi,
    listen: std::net::SocketAddr,
    orders: usize,
    seed: u64,
    max_page_size: usize,
) -> anyhow::Result<()> {
    use crate::simulators::{RunningSimulator, fapi, smartemailing};
    let (router, description) = match api {
        SimulatedApi::Fapi => {
            let simulator = fapi::FapiSimulator::with_default_account(seed);
            let now = chrono::Utc::now();
            let mut store = simulator.store.lock().expect("fresh store");
            store.max_page_size = max_page_size.max(1);
            store.generate(orders, now - chrono::Duration::days(365), now);
            drop(store);
            (
                simulator.router(),
                format!(
                    "FAPI simulator ({orders} orders, pages of at most {max_page_size})\n  login:   {}\n  API key: {}",
                    fapi::DEFAULT_LOGIN,
                    fapi::DEFAULT_API_KEY
                ),
            )
        }
        SimulatedApi::Smartemailing => (
            smartemailing::SmartEmailingSimulator::with_default_account().router(),
            format!(
                "SmartEmailing simulator (API under /api/v3)\n  user name: {}\n  API key:   {}",
                smartemailing::DEFAULT_USERNAME,
                smartemailing::DEFAULT_API_KEY
            ),
        ),
    };
    let running = RunningSimulator::start(router, listen).await?;
    println!("{description}\n  listening on {}", running.base_url());
    shutdown_signal().await;
    Ok(())
}

/// One line of standard input, without its line break.
fn read_password() -> anyhow::Result<String> {
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    Ok(password.trim_end_matches(['\n', '\r']).to_string())
}

/// An error of a team command, in English words.
fn team_error(error: AppError) -> anyhow::Error {
    match error {
        AppError::Invalid(invalid) => anyhow::anyhow!(Lang::En.texts().invalid(&invalid)),
        other => anyhow::anyhow!(Lang::En.texts().error(&other)),
    }
}

async fn add_user(email: &str, role: Role, name: &str) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let db = db::connect(&config.database_url).await?;
    eprintln!("Password for {email} (read from standard input):");
    let password = read_password()?;
    let actor = Actor::system("command line");
    let input = NewMember {
        email,
        name,
        role,
        password: &password,
    };
    team::add_member(&db, chrono::Utc::now(), &actor, input)
        .await
        .map_err(team_error)?;
    println!("Added {} as {role}.", email.trim().to_lowercase());
    Ok(())
}

async fn reset_password(email: &str) -> anyhow::Result<()> {
    let config = Config::from_env()?;
    let db = db::connect(&config.database_url).await?;
    let email = email.trim().to_lowercase();
    let Some(user) = users::find_by_email(&db, &email).await? else {
        anyhow::bail!("No user has the e-mail {email}.");
    };
    eprintln!("New password for {email} (read from standard input):");
    let password = read_password()?;
    let actor = Actor::system("command line");
    team::reset_password(&db, chrono::Utc::now(), &actor, user.id, &password)
        .await
        .map_err(team_error)?;
    println!("New password set for {email}; their sessions have ended.");
    Ok(())
}
