//! Shrinking the sandbox process once it holds every descriptor it needs:
//! an empty root, no capabilities, `no_new_privs`, and a seccomp filter
//! that allows only the host calls the sentry makes.
//!
//! Each step is a function of its own so the caller can put the sentry's
//! master-stub fork between the capability drop and the seccomp filter (see
//! the crate documentation); [`confine`] runs them all in order.
//!
//! Every step acts on the calling thread (seccomp on all threads, with
//! TSYNC) and none can be undone. Run them while the process has one thread.

mod caps;
pub mod policy;
mod root;
pub mod seccomp;

pub use caps::{drop_capabilities, set_no_new_privs, CapsError};
pub use root::{enter_empty_root, RootError, DEFAULT_MOUNT_POINT};
pub use seccomp::{build_filter, install, sentry_filter, sentry_filter_host_network, SeccompError};

use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Caps(#[from] CapsError),
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
}

/// Runs every confinement step in order: [`enter_empty_root`] at
/// `mount_point` (use [`DEFAULT_MOUNT_POINT`]), [`drop_capabilities`],
/// [`set_no_new_privs`], then [`install`] of `filter`.
///
/// Build `filter` (e.g. with [`sentry_filter`]) before calling: after this
/// returns only the calls in the filter work, and the process sees no host
/// path.
pub fn confine(mount_point: &Path, filter: &seccompiler::BpfProgram) -> Result<(), ConfineError> {
    enter_empty_root(mount_point)?;
    drop_capabilities()?;
    set_no_new_privs()?;
    install(filter)?;
    Ok(())
}
