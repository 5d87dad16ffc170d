//! `boot`: the sandbox process, started by `create` (see
//! `crate::sandbox::boot`).

use crate::cli::boot::Boot;
use crate::cli::GlobalOpts;
use crate::sandbox::boot::{self, BootArgs};

pub fn boot(global: &GlobalOpts, args: Boot) -> anyhow::Result<i32> {
    boot::boot(BootArgs {
        id: args.container_id,
        bundle: args.bundle,
        exit_fd: args.exit_fd,
        control_fd: args.control_fd,
        sync_fd: args.sync_fd,
        console: args.console,
        restore: args.restore_fd.zip(args.restore_path),
        restore_eager: args.restore_eager,
        strace: global.strace,
        network: global.network.sentry(),
        platform: global.platform.kind()?,
    })
}
