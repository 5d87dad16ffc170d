//! `--strace`: one log line per system call with its arguments and result.

use super::{name, SysErr, SysResult};
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};

/// Logs a finished (or blocked) system call.
pub fn log(k: &Kernel, tid: Tid, nr: u64, args: &[u64; 6], res: &SysResult) {
    let r = match res {
        Ok(v) if (*v as i64) < 0 && (*v as i64) > -4096 => {
            let e = Errno::from_raw(-(*v as i64) as i32).map_or("?", |e| e.name());
            format!("-1 {e}")
        }
        Ok(v) => format!("{v:#x}"),
        Err(SysErr::Errno(e)) => format!("-1 {} ({})", e.name(), *e as i32),
        Err(SysErr::Block(_)) => "? (blocked)".into(),
        Err(SysErr::Resume) => "? (resumed)".into(),
        Err(SysErr::Gone) => "? (exited)".into(),
    };
    tracing::info!(
        target: "strace",
        "[{tid:>5}] {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) = {r}{}",
        name(nr),
        args[0],
        args[1],
        args[2],
        args[3],
        args[4],
        args[5],
        if k.host.as_ref().is_some_and(|h| h.patch.last_fast) {
            " (patched)"
        } else {
            ""
        }
    );
}
