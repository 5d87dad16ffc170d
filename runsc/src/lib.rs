//! The `runsc` command line: engines call it as they call runc; people call
//! it by hand (`runsc do CMD`).

pub mod cli;
pub mod container;
pub mod logging;
pub mod timefmt;

#[cfg(test)]
mod testutil;
