//! Files and folders that only their owner may read: the database and the key that encrypts
//! stored API keys (and the folders they are created in).

use std::io::Write;
use std::path::Path;

/// Creates `dir` and any missing parents, each new one with mode 700. Existing ones are left.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates the file `path` (it must not exist yet) with mode 600, its folder as [`create_dir`],
/// and writes `contents` to it.
pub fn create_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// `Err` with the file's mode when users other than its owner may read or change it.
pub fn check(path: &Path) -> std::io::Result<Result<(), u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Ok(Err(mode));
        }
    }
    Ok(Ok(()))
}
