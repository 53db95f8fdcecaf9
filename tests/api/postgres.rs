//! A fresh PostgreSQL database for a test: on the cluster `TEST_POSTGRES_URL` names (scripts/test
//! starts one), else on a throw-away cluster of the test's own (`scripts/postgres-cluster`),
//! stopped when the test ends.

use std::path::Path;
use std::process::Command;

use sqlx::{Connection, PgConnection, PgPool};
use tempfile::TempDir;

pub struct TestPostgres {
    pub pool: PgPool,
    /// The database's URL.
    pub url: String,
    _cluster: Option<PrivateCluster>,
}

/// A cluster started for one test; stopped on drop.
struct PrivateCluster {
    dir: TempDir,
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new(cluster_script())
            .arg("stop")
            .arg(self.dir.path().join("pg"))
            .status();
    }
}

fn cluster_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres-cluster")
}

/// A new, empty database (named after a random suffix) on the test cluster.
pub async fn fresh_database() -> TestPostgres {
    let (server_url, cluster) = match std::env::var("TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => (url, None),
        _ => {
            let dir = tempfile::tempdir().unwrap();
            let output = Command::new(cluster_script())
                .arg("start")
                .arg(dir.path().join("pg"))
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "could not start a PostgreSQL cluster (scripts/setup --postgres installs it; or set TEST_POSTGRES_URL): {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let url = String::from_utf8(output.stdout).unwrap().trim().to_owned();
            (url, Some(PrivateCluster { dir }))
        }
    };
    let name = format!(
        "fapi_bridge_test_{}",
        hex::encode(rand::random::<[u8; 6]>())
    );
    let mut admin = PgConnection::connect(&server_url)
        .await
        .unwrap_or_else(|error| {
            panic!("could not reach the test PostgreSQL at {server_url}: {error}")
        });
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let mut url = url::Url::parse(&server_url).unwrap();
    url.set_path(&name);
    let pool = PgPool::connect(url.as_str()).await.unwrap();
    TestPostgres {
        pool,
        url: url.to_string(),
        _cluster: cluster,
    }
}

/// One column of the database's `public` schema (migrations' own table left out).
pub struct PgColumn {
    pub table: String,
    pub name: String,
    /// `information_schema`'s `data_type`, e.g. `bigint`, `timestamp with time zone`.
    pub kind: String,
    pub not_null: bool,
}

/// The schema's columns, by table and in column order.
pub async fn columns(pool: &PgPool) -> Vec<PgColumn> {
    let rows: Vec<(String, String, String, bool)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable = 'NO'
         FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations'
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(table, name, kind, not_null)| PgColumn {
            table,
            name,
            kind,
            not_null,
        })
        .collect()
}
