//! The sandbox process and the ways to it: starting it (`launch`, run by
//! `create`), being it (`boot`, run as `runsc boot`), talking to it
//! (`client`, over its control socket), giving it the container's
//! interfaces (`network`), and the terminals and sockets these need. `runsc do` runs a sandbox in its own process instead.

pub mod boot;
pub mod client;
pub mod console;
pub mod launch;
pub mod network;
pub mod signals;
pub mod socket;

pub use client::{Client, ClientError};

/// Runs `cfg` in a sandbox until its first process exits, and returns the
/// status to exit with (128 + N when the process was killed by signal N).
pub fn run_do(cfg: sentry::Config) -> anyhow::Result<i32> {
    tracing::debug!(argv = ?cfg.argv, "starting sandbox");
    Ok(sentry::run(cfg)?)
}
