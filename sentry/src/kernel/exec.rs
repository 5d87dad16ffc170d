//! `execve`: replacing a process's program.

use super::exit::vfork_wait_queue;
use super::signal::{SigHand, SIG_IGN};
use super::task::{Pending, TaskState};
use super::{Kernel, Tid};
use crate::arch::Regs;
use crate::errno::Errno;
use crate::loader::{self, LoadArgs};
use crate::mm::{MemoryManager, MmHost};

/// `#!` interpreters may nest this deep.
const MAX_SHEBANG_DEPTH: usize = 4;

impl Kernel {
    /// Replaces `tid`'s program. On success the task's registers point at
    /// the new program's entry; on failure nothing changed.
    pub fn execve(
        &mut self,
        tid: Tid,
        path: Vec<u8>,
        mut argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
    ) -> Result<Tid, Errno> {
        let mut file_path = path.clone();
        let mut f = crate::vfs::open_exec(self, tid, &file_path)?;
        let mut depth = 0;
        loop {
            let head = match crate::vfs::read_head(self, f) {
                Ok(h) => h,
                Err(e) => {
                    self.vfs.file_release(f);
                    return Err(e);
                }
            };
            if loader::elf::is_elf(&head) {
                break;
            }
            let Some((interp, arg)) = loader::parse_shebang(&head) else {
                self.vfs.file_release(f);
                return Err(Errno::ENOEXEC);
            };
            self.vfs.file_release(f);
            depth += 1;
            if depth > MAX_SHEBANG_DEPTH {
                return Err(Errno::ELOOP);
            }
            // argv becomes: interp [arg] path argv[1..]
            let mut nargv = vec![interp.clone()];
            if let Some(a) = arg {
                nargv.push(a);
            }
            nargv.push(file_path.clone());
            nargv.extend(argv.into_iter().skip(1));
            argv = nargv;
            file_path = interp;
            f = crate::vfs::open_exec(self, tid, &file_path)?;
        }
        let r = self.exec_elf(tid, f, &path, &argv, &envp);
        self.vfs.file_release(f);
        r
    }

    fn exec_elf(
        &mut self,
        tid: Tid,
        f: u64,
        execfn: &[u8],
        argv: &[Vec<u8>],
        envp: &[Vec<u8>],
    ) -> Result<Tid, Errno> {
        let creds = self.tasks[&tid].creds.clone();
        let stack_limit = self
            .rlimit(tid, libc::RLIMIT_STACK as usize)
            .0
            .clamp(128 * 1024, 1 << 32);
        let mut random = [0u8; 16];
        // SAFETY: getrandom into a local buffer.
        unsafe { libc::getrandom(random.as_mut_ptr() as *mut libc::c_void, 16, 0) };
        let vdso = self.vdso_object();
        let args = LoadArgs {
            argv,
            envp,
            execfn,
            uid: creds.uid,
            euid: creds.euid,
            gid: creds.gid,
            egid: creds.egid,
            stack_limit,
            random,
            vdso,
        };
        let (asid, thread) = self.host().platform.new_address_space().map_err(|e| {
            tracing::warn!("execve: {e}");
            Errno::ENOMEM
        })?;
        let fs = self.tasks[&tid].fs;
        let mut mm = MemoryManager::new(0);
        mm.host = Some(asid);
        mm.users = 1;
        let loaded = {
            let host = self.host.as_mut().expect("host attached");
            let mut h = MmHost {
                frames: &mut self.frames,
                mf: &host.mf,
                objects: &mut self.objects,
                platform: host.platform.as_mut(),
                files: &mut self.vfs,
                via: thread,
            };
            let r = loader::load(&mut mm, f, &args, fs, &mut h);
            if r.is_err() {
                h.platform.release_address_space(asid);
                mm.host = None;
                mm.release_all(&mut h);
            }
            r?
        };
        mm.exe = self.vfs.file_path(f);
        // Point of no return. Other threads of the group go away.
        let tgid = self.tasks[&tid].tgid;
        let others: Vec<Tid> = self.thread_groups[&tgid]
            .threads
            .iter()
            .copied()
            .filter(|&t| t != tid)
            .collect();
        for o in others {
            match self.tasks[&o].state {
                TaskState::Running => {
                    // It dies with the old address space's stub below.
                    self.task_mut(o).state = TaskState::Ready(Pending::User);
                    self.exit_thread_quiet(o);
                }
                _ => self.exit_thread_quiet(o),
            }
        }
        // CLONE_CHILD_CLEARTID is honoured as at exit (mm_release).
        let ctid = self.tasks[&tid].clear_child_tid;
        if ctid != 0
            && self.mms[&self.tasks[&tid].mm].users > 1
            && self.write_val(tid, ctid, &0u32).is_ok()
        {
            self.futex_wake_addr(tid, ctid, 1);
        }
        let old_mm = self.tasks[&tid].mm;
        let old_host = self.tasks[&tid].host;
        let id = self.new_id();
        self.mms.insert(id, mm);
        self.host().threads.remove(&old_host);
        if self.mms.get(&old_mm).is_some_and(|m| m.users > 1) {
            self.host().platform.release_thread(old_host);
        }
        self.drop_mm_user(old_mm);
        self.host().threads.insert(thread, tid);
        if let Some(p) = self.task_mut(tid).vfork_parent.take() {
            self.notify(vfork_wait_queue(p));
        }
        // Handlers reset to default (ignored stay ignored); a shared table
        // is unshared.
        let sh = self.tasks[&tid].sighand;
        let mut table: SigHand = self.sighands[&sh].clone();
        for a in table.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = Default::default();
            }
            a.flags = 0;
            a.mask = 0;
            a.restorer = 0;
        }
        table.refs = 1;
        if self.sighands[&sh].refs > 1 {
            self.sighands.get_mut(&sh).expect("live").refs -= 1;
            let nid = self.new_id();
            self.sighands.insert(nid, table);
            self.task_mut(tid).sighand = nid;
        } else {
            self.sighands.insert(sh, table);
        }
        let fdt = self.tasks[&tid].fdtable;
        let fdt = self.vfs.unshare_fdtable(fdt);
        self.vfs.close_on_exec(fdt);
        let name = {
            let base = execfn.rsplit(|&c| c == b'/').next().unwrap_or(execfn);
            String::from_utf8_lossy(&base[..base.len().min(15)]).into_owned()
        };
        let t = self.task_mut(tid);
        t.fdtable = fdt;
        t.mm = id;
        t.host = thread;
        t.regs = Regs::initial(loaded.entry, loaded.sp);
        t.fp = None;
        t.clear_child_tid = 0;
        t.robust_list = (0, 0);
        t.altstack = (0, libc::SS_DISABLE, 0);
        t.name = name;
        t.creds.caps = t.creds.caps.after_exec(t.creds.uid, t.creds.euid);
        if tid == tgid {
            return Ok(tid);
        }
        // A thread other than the leader takes over the leader's TID.
        self.tasks.remove(&tgid);
        let mut t = self.tasks.remove(&tid).expect("live task");
        t.tid = tgid;
        self.tasks.insert(tgid, t);
        self.thread_groups.get_mut(&tgid).expect("live").threads = vec![tgid];
        self.host().threads.insert(thread, tgid);
        Ok(tgid)
    }

    /// Ends a thread without the exit-time side effects meant for the
    /// program (used by `execve` for the other threads).
    fn exit_thread_quiet(&mut self, tid: Tid) {
        self.task_mut(tid).clear_child_tid = 0;
        self.task_mut(tid).robust_list = (0, 0);
        self.exit_thread(tid);
    }
}
