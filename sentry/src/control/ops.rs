//! What each control request does to the kernel. Every function checks
//! what it is given (the request comes from outside the sandbox) and says
//! in its error what was wrong.

use super::protocol::{Checkpointed, ExecSpec, ProcessInfo, SignalTarget, Stats};
use crate::kernel::signal::{default_action, DefaultAction, SigInfo, NSIG, SIGKILL, SI_USER};
use crate::kernel::spawn::{rlimits_with, NewProcess};
use crate::kernel::task::{Creds, ExitStatus, TaskState};
use crate::kernel::{Kernel, Tid};
use crate::state::image;
use crate::state::{KernelSummary, Meta};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Instant;

/// Exited processes started by `exec` whose status is kept for a late
/// `Wait`; the oldest are forgotten beyond this many.
const KEPT_EXITS: usize = 1024;

/// Sends `signal` to `target`; signal 0 only checks that it exists.
/// Before `start` (`started` false) no handler is installed yet, so a
/// signal whose default action ends a process ends it at once, as it ends
/// a runc container's init waiting to be started.
pub fn signal(
    k: &mut Kernel,
    signal: i32,
    target: SignalTarget,
    started: bool,
) -> Result<(), String> {
    if !(0..=NSIG).contains(&signal) {
        return Err(format!("{signal} is not a signal number (1 to {NSIG})"));
    }
    let live = |k: &Kernel, pid: Tid| {
        k.thread_groups
            .get(&pid)
            .is_some_and(|g| g.zombie.is_none() && g.exiting.is_none())
    };
    let pids: Vec<Tid> = match target {
        SignalTarget::Init => {
            if k.init_status.is_some() || !live(k, k.init) {
                return Err("the container's init process has exited".into());
            }
            vec![k.init]
        }
        SignalTarget::All => k
            .thread_groups
            .iter()
            .filter(|(_, g)| g.zombie.is_none())
            .map(|(&pid, _)| pid)
            .collect(),
        SignalTarget::Process(pid) => {
            if !live(k, pid) {
                return Err(format!("no process {pid} in the sandbox"));
            }
            vec![pid]
        }
        SignalTarget::ForegroundOf(pid) => {
            if !live(k, pid) {
                return Err(format!("no process {pid} in the sandbox"));
            }
            // The sandbox's one session terminal is its console.
            let sid = k.thread_groups[&pid].sid;
            let fg = k
                .console_foreground()
                .filter(|_| sid == k.vfs.stdio.session);
            match fg {
                Some(fg) => k
                    .thread_groups
                    .iter()
                    .filter(|(_, g)| g.pgid == fg && g.zombie.is_none())
                    .map(|(&p, _)| p)
                    .collect(),
                None => vec![pid],
            }
        }
    };
    if signal == 0 {
        return Ok(());
    }
    let fatal = matches!(
        default_action(signal),
        DefaultAction::Terminate | DefaultAction::CoreDump
    );
    if !started && fatal {
        for pid in pids {
            k.kill_group(
                pid,
                ExitStatus::Signaled {
                    sig: signal,
                    core: false,
                },
            );
        }
        return Ok(());
    }
    for pid in pids {
        k.send_to_group(pid, SigInfo::new(signal, SI_USER).with_sender(0, 0));
    }
    // Threads of a paused sandbox only die once they run again.
    if signal == SIGKILL && k.paused {
        k.resume_all();
    }
    Ok(())
}

/// Memory a checkpoint gave back to the host, and the image it is in.
pub struct ReleasedMemory {
    pages: image::Released,
    file: std::fs::File,
}

impl ReleasedMemory {
    /// Reads the memory back from the image, for the tasks to go on (they
    /// are still stopped); if it cannot be, every process ends and the
    /// error says so.
    pub fn restore(self, k: &mut Kernel) -> Result<(), String> {
        let result = match k.host.as_ref() {
            Some(host) => self.pages.restore(&self.file, &host.mf),
            None => Err(std::io::Error::other("the sandbox has no memory file")),
        };
        result.map_err(|e| {
            end_all(k);
            format!(
                "the container's memory could not be read back from its checkpoint image \
                 ({e}); every process of the container was ended"
            )
        })
    }
}

/// Stops every task where it can be saved and writes the image of the
/// sandbox (container `id`) into `file`, a new empty file that the runtime
/// puts in place as `image`. The tasks go on afterwards as the kernel's
/// loop lets them (not while it is paused).
///
/// With `release` (the container is to stop), the memory is given back to
/// the host as it is written, and returned with the image's descriptor:
/// the tasks must not run again before [`ReleasedMemory::restore`].
pub fn checkpoint(
    k: &mut Kernel,
    id: &str,
    image: &Path,
    file: std::fs::File,
    release: bool,
) -> Result<(Checkpointed, Option<ReleasedMemory>), String> {
    let start = Instant::now();
    k.quiesce()
        .map_err(|e| format!("the container's tasks could not be stopped to be saved: {e}"))?;
    let quiesced = start.elapsed();
    k.vfs.note_host_sizes();
    let state = crate::state::encode(k).map_err(|e| e.to_string())?;
    let meta = Meta::new(id, KernelSummary::of(k));
    let Some(host) = k.host.as_ref() else {
        return Err("the sandbox has no memory file".into());
    };
    let written = match image::write_to(
        &file,
        image,
        &meta,
        &state,
        &host.mf,
        k.frames.top(),
        release,
    ) {
        Ok(w) => w,
        Err(e @ image::ImageError::MemoryLost { .. }) => {
            end_all(k);
            return Err(format!("{e}; every process of the container was ended"));
        }
        Err(e) => return Err(e.to_string()),
    };
    let (stats, meta) = (written.stats, written.meta);
    let released = written.released.map(|pages| ReleasedMemory { pages, file });
    tracing::debug!(
        bytes = stats.bytes,
        pages = stats.pages_saved,
        ?quiesced,
        written = ?stats.elapsed,
        "checkpoint written"
    );
    let done = Checkpointed {
        meta,
        bytes: stats.bytes,
        pages_saved: stats.pages_saved,
        zero_pages_skipped: stats.zero_pages_skipped,
        quiesce_us: quiesced.as_micros() as u64,
        write_us: stats.elapsed.as_micros() as u64,
    };
    Ok((done, released))
}

/// Ends every process at once, as after a checkpoint that stops the
/// container (they end as if killed by `SIGKILL`, as with runc's CRIU).
pub fn end_all(k: &mut Kernel) {
    k.resume_all();
    let groups: Vec<Tid> = k
        .thread_groups
        .iter()
        .filter(|(_, g)| g.zombie.is_none())
        .map(|(&pid, _)| pid)
        .collect();
    for pid in groups {
        k.kill_group(
            pid,
            ExitStatus::Signaled {
                sig: SIGKILL,
                core: false,
            },
        );
    }
}

/// Starts the process `spec` describes with `stdio` as its descriptors
/// 0, 1 and 2. The host may wait for it (see [`take_exit`]).
pub fn exec(k: &mut Kernel, spec: ExecSpec, stdio: Vec<OwnedFd>) -> Result<Tid, String> {
    let Ok(stdio) = <[OwnedFd; 3]>::try_from(stdio) else {
        return Err("exec needs exactly three descriptors (stdin, stdout, stderr)".into());
    };
    if k.init_status.is_some() {
        return Err("the container's init process has exited".into());
    }
    let mut rlimits = match k.thread_groups.get(&k.init) {
        Some(g) => g.rlimits.clone(),
        None => rlimits_with(&[]),
    };
    for r in &spec.rlimits {
        if let Some(slot) = rlimits.get_mut(r.resource as usize) {
            *slot = (r.soft, r.hard);
        } else {
            return Err(format!("resource limit {} does not exist", r.resource));
        }
    }
    let fdtable = k
        .vfs
        .new_fdtable_from_host(stdio)
        .map_err(|e| format!("the sandbox cannot take the process's stdio: {e}"))?;
    let mut creds = Creds::new(spec.uid, spec.gid, spec.additional_gids);
    if let Some(caps) = spec.capabilities {
        creds.caps = caps;
    }
    let pid = k
        .spawn_process(NewProcess {
            argv: spec.argv,
            env: spec.env,
            cwd: spec.cwd,
            creds,
            rlimits,
            fdtable,
            no_new_privs: spec.no_new_privs,
        })
        .map_err(|e| e.to_string())?;
    k.host_waited.insert(pid, None);
    Ok(pid)
}

/// The exit status of `pid`, a process started by `exec` that has exited.
/// `Err` if the host cannot wait for it.
pub fn exit_of(k: &Kernel, pid: Tid) -> Result<Option<crate::kernel::task::ExitStatus>, String> {
    match k.host_waited.get(&pid) {
        Some(status) => Ok(*status),
        None if k.thread_groups.contains_key(&pid) => Err(format!(
            "process {pid} was not started by exec: only init and exec'd processes can be waited for"
        )),
        None => Err(format!("no process {pid} in the sandbox")),
    }
}

/// Forgets the oldest exit statuses beyond [`KEPT_EXITS`].
pub fn trim_exits(k: &mut Kernel) {
    let exited: Vec<Tid> = k
        .host_waited
        .iter()
        .filter(|(_, s)| s.is_some())
        .map(|(&p, _)| p)
        .collect();
    if exited.len() > KEPT_EXITS {
        for p in &exited[..exited.len() - KEPT_EXITS] {
            k.host_waited.remove(p);
        }
    }
}

/// Every process of the sandbox, by PID.
pub fn processes(k: &mut Kernel) -> Vec<ProcessInfo> {
    let now_mono = k.clock.monotonic();
    let now_real = k.clock.realtime();
    let pids: Vec<Tid> = k.thread_groups.keys().copied().collect();
    let mut out = Vec::with_capacity(pids.len());
    for pid in pids {
        let g = &k.thread_groups[&pid];
        let leader = g
            .threads
            .first()
            .and_then(|t| k.tasks.get(t))
            .or_else(|| k.tasks.get(&pid));
        let state = if g.zombie.is_some() {
            'Z'
        } else if g.stopped {
            'T'
        } else if g.threads.iter().any(|t| {
            k.tasks
                .get(t)
                .is_some_and(|t| matches!(t.state, TaskState::Running | TaskState::Ready(_)))
        }) {
            'R'
        } else {
            'S'
        };
        let cpu_time = g
            .threads
            .iter()
            .filter_map(|t| k.tasks.get(t))
            .map(|t| t.utime + t.stime)
            .sum();
        let (name, uid, start, mm) = match leader {
            Some(t) => (t.name.clone(), t.creds.uid, t.start_time, Some(t.mm)),
            None => ("<defunct>".into(), 0, now_mono, None),
        };
        let args = match (mm, g.zombie) {
            (Some(mm), None) => read_args(k, mm),
            _ => Vec::new(),
        };
        let g = &k.thread_groups[&pid];
        out.push(ProcessInfo {
            pid,
            ppid: g.parent,
            pgid: g.pgid,
            sid: g.sid,
            uid,
            state,
            threads: g.threads.len(),
            start_time: now_real.saturating_sub(now_mono.saturating_sub(start)),
            cpu_time,
            tty: k.vfs.stdio.tty_nr(g.sid) != 0,
            name,
            args,
        });
    }
    out
}

/// The arguments of the program running in address space `mm`, read
/// straight from the memory file; empty unless every page of them is
/// populated (nothing is faulted in on behalf of `ps`).
fn read_args(k: &mut Kernel, mm: u64) -> Vec<String> {
    const MAX_ARGS_BYTES: u64 = 4096;
    let Some(m) = k.mms.get(&mm) else {
        return Vec::new();
    };
    let (start, end) = m.argv;
    let end = end.min(start.saturating_add(MAX_ARGS_BYTES));
    let mut bytes = Vec::new();
    let mut addr = start;
    while addr < end {
        let Some((pstart, pma)) = m.pma_at(addr) else {
            return Vec::new();
        };
        let upto = pma.end.min(end);
        let off = pma.frame + (addr - pstart);
        let mut buf = vec![0u8; (upto - addr) as usize];
        let Some(host) = k.host.as_ref() else {
            return Vec::new();
        };
        host.mf.read(off, &mut buf);
        bytes.extend_from_slice(&buf);
        addr = upto;
    }
    bytes
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Resource usage of the sandbox.
pub fn stats(k: &Kernel) -> Stats {
    let live = k
        .tasks
        .values()
        .filter(|t| !matches!(t.state, TaskState::Dead));
    let (mut user, mut system, mut pids) = (0, 0, 0);
    for t in live {
        user += t.utime;
        system += t.stime;
        pids += 1;
    }
    Stats {
        memory_usage: k.frames.used(),
        pids,
        processes: k
            .thread_groups
            .values()
            .filter(|g| g.zombie.is_none())
            .count() as u64,
        cpu_user: user,
        cpu_system: system,
    }
}
