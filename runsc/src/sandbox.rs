//! The door to the sentry: where a command hands a sandbox configuration
//! over to the user-space kernel and gets back an exit status.

/// Runs `cfg` in a sandbox until its first process exits, and returns the
/// status to exit with (128 + N when the process was killed by signal N).
pub fn run_do(cfg: sentry::Config) -> anyhow::Result<i32> {
    tracing::debug!(argv = ?cfg.argv, "starting sandbox");
    Ok(sentry::run(cfg)?)
}
