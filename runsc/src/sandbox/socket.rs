//! Unix socket paths of any length. A socket address holds at most 107
//! bytes of path, which a container directory under a deep `--root` with a
//! 64-character ID exceeds; such a path is reached through the directory's
//! descriptor (`/proc/self/fd/N/name`) instead.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Longest path used as it is in a socket address.
const MAX_DIRECT: usize = 100;

/// A socket path and, when the path goes through it, its directory.
struct Reachable {
    path: PathBuf,
    _dir: Option<OwnedFd>,
}

fn reachable(path: &Path) -> io::Result<Reachable> {
    if path.as_os_str().len() <= MAX_DIRECT {
        return Ok(Reachable {
            path: path.to_path_buf(),
            _dir: None,
        });
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} cannot name a socket", path.display()),
        ));
    };
    let dir: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(dir)?
        .into();
    let via = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
    Ok(Reachable {
        path: via,
        _dir: Some(dir),
    })
}

/// Connects to the stream socket at `path`.
pub fn connect(path: &Path) -> io::Result<UnixStream> {
    let r = reachable(path)?;
    UnixStream::connect(&r.path)
}

/// Binds and listens on a stream socket at `path`, readable and writable
/// by its owner only.
pub fn listen(path: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    let r = reachable(path)?;
    let listener = UnixListener::bind(&r.path)?;
    std::fs::set_permissions(&r.path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}
