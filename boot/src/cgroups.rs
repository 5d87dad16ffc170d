//! Cgroups of the sandbox process.
