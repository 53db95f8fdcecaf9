// `sqlx::migrate!` embeds the migrations at compile time; rebuild when one is added.
// With `embed-site`, the site folder is compiled in too: rebuild when the site build changes it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    if std::env::var_os("CARGO_FEATURE_EMBED_SITE").is_some() {
        println!("cargo:rerun-if-changed=target/site");
    }
}
