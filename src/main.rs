//! The `fapi-bridge` binary: parses the command line and hands over to the library.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fapi_bridge::web::cli::run().await
}
