//! The OCI runtime specification as the runtime uses it: loading and checking
//! a bundle's `config.json`, turning it into what the sentry runs, and the
//! small vocabularies a command line needs (signal and rlimit names, the
//! example spec that `spec` writes).

pub mod bundle;
pub mod example;
pub mod rlimit;
pub mod sandbox_config;
pub mod signal;

#[cfg(test)]
mod testutil;

pub use bundle::{Bundle, SpecError, CONFIG_FILE};
pub use example::{example_spec, rootless_spec};
pub use rlimit::{rlimit_number, rlimit_type_number};
pub use sandbox_config::{mount_configs, sentry_config, MountError};
pub use signal::{parse_signal, SignalError};

/// The newest version of the OCI runtime specification this runtime follows.
pub const OCI_VERSION: &str = "1.1.0";

/// The oldest version of the OCI runtime specification this runtime accepts.
pub const OCI_VERSION_MIN: &str = "1.0.0";
