//! `boot`: the sandbox process, started by `create` (see
//! `crate::sandbox::boot`).

use super::state_dir;
use crate::cli::boot::Boot;
use crate::cli::GlobalOpts;
use crate::sandbox::boot::{self, BootArgs};

pub fn boot(global: &GlobalOpts, args: Boot) -> anyhow::Result<i32> {
    let dir = state_dir(global).container_dir(&args.container_id)?;
    boot::boot(BootArgs {
        id: args.container_id,
        bundle: args.bundle,
        dir,
        control_fd: args.control_fd,
        sync_fd: args.sync_fd,
        console: args.console,
        strace: global.strace,
    })
}
