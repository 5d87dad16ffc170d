//! The sentry: a Linux kernel in user space that serves every system call of
//! the applications it runs.
//!
//! Parts, as in the design: `platform` (how application code runs),
//! `memory` (the memory file), `mm` (address spaces), `loader` (ELF),
//! `kernel` (tasks, signals, futexes, time), `vfs` (files), `syscalls`
//! (the x86-64 table) and `state` (checkpoint and restore); `vdso` is the
//! vDSO every process gets, with the time data the sentry keeps current.

pub mod config;
pub mod control;

pub use config::{Config, MountConfig, MountKind, PlatformKind, Rlimit};
pub mod arch;
pub mod errno;
pub mod kernel;
pub mod loader;
pub mod memory;
pub mod mm;
pub mod net;
pub mod platform;
pub mod sandbox;
pub mod state;
pub mod syscalls;
pub mod vdso;
pub mod vfs;

pub use sandbox::{run, SandboxError};
