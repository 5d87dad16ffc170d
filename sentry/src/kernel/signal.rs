//! Signals: sets, queues, actions, and delivery onto the application's
//! stack (the x86-64 `rt_sigframe`, laid out as Linux does).

use crate::arch::Regs;
use serde::{Deserialize, Serialize};

pub const SIGHUP: i32 = 1;
pub const SIGINT: i32 = 2;
pub const SIGQUIT: i32 = 3;
pub const SIGILL: i32 = 4;
pub const SIGTRAP: i32 = 5;
pub const SIGABRT: i32 = 6;
pub const SIGBUS: i32 = 7;
pub const SIGFPE: i32 = 8;
pub const SIGKILL: i32 = 9;
pub const SIGUSR1: i32 = 10;
pub const SIGSEGV: i32 = 11;
pub const SIGUSR2: i32 = 12;
pub const SIGPIPE: i32 = 13;
pub const SIGALRM: i32 = 14;
pub const SIGTERM: i32 = 15;
pub const SIGSTKFLT: i32 = 16;
pub const SIGCHLD: i32 = 17;
pub const SIGCONT: i32 = 18;
pub const SIGSTOP: i32 = 19;
pub const SIGTSTP: i32 = 20;
pub const SIGTTIN: i32 = 21;
pub const SIGTTOU: i32 = 22;
pub const SIGURG: i32 = 23;
pub const SIGXCPU: i32 = 24;
pub const SIGXFSZ: i32 = 25;
pub const SIGVTALRM: i32 = 26;
pub const SIGPROF: i32 = 27;
pub const SIGWINCH: i32 = 28;
pub const SIGIO: i32 = 29;
pub const SIGPWR: i32 = 30;
pub const SIGSYS: i32 = 31;
pub const SIGRTMIN: i32 = 32;
/// Highest signal number.
pub const NSIG: i32 = 64;

/// The `si_code` values the sentry produces.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_TKILL: i32 = -6;
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_TRAPPED: i32 = 4;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// A set of signals; bit `n-1` is signal `n`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const fn bit(sig: i32) -> u64 {
        1u64 << (sig - 1)
    }
    pub fn has(self, sig: i32) -> bool {
        (1..=NSIG).contains(&sig) && self.0 & Self::bit(sig) != 0
    }
    pub fn add(&mut self, sig: i32) {
        self.0 |= Self::bit(sig);
    }
    pub fn remove(&mut self, sig: i32) {
        self.0 &= !Self::bit(sig);
    }
    /// The set with `SIGKILL` and `SIGSTOP` removed (they cannot be blocked).
    pub fn blockable(self) -> SigSet {
        SigSet(self.0 & !(Self::bit(SIGKILL) | Self::bit(SIGSTOP)))
    }
}

/// The `siginfo_t` of a signal, as its 128 raw bytes (sixteen words).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigInfo(pub [u64; 16]);

impl SigInfo {
    pub fn new(signo: i32, code: i32) -> SigInfo {
        let mut s = SigInfo([0; 16]);
        s.0[0] = signo as u32 as u64;
        s.0[1] = code as u32 as u64;
        s
    }
    pub fn signo(&self) -> i32 {
        self.0[0] as u32 as i32
    }
    pub fn code(&self) -> i32 {
        self.0[1] as u32 as i32
    }
    /// Sender PID and UID (`kill`, `SIGCHLD`, `sigqueue`).
    pub fn with_sender(mut self, pid: i32, uid: u32) -> SigInfo {
        self.0[2] = (pid as u32 as u64) | ((uid as u64) << 32);
        self
    }
    /// Fault address (`SIGSEGV`, `SIGBUS`, ...).
    pub fn with_addr(mut self, addr: u64) -> SigInfo {
        self.0[2] = addr;
        self
    }
    /// Child status and times (`SIGCHLD`).
    pub fn with_child(mut self, status: i32, utime: u64, stime: u64) -> SigInfo {
        self.0[3] = status as u32 as u64;
        self.0[4] = utime;
        self.0[5] = stime;
        self
    }
    /// `sigval` of `sigqueue`/timers.
    pub fn with_value(mut self, v: u64) -> SigInfo {
        self.0[3] = v;
        self
    }
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        for (i, w) in self.0.iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }
    pub fn from_bytes(b: &[u8; 128]) -> SigInfo {
        let mut s = SigInfo([0; 16]);
        for i in 0..16 {
            s.0[i] = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        }
        s
    }
}

/// Pending signals: at most one of each standard signal, any number of
/// real-time ones, in order.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SignalQueue {
    pub set: SigSet,
    pub infos: Vec<SigInfo>,
}

impl SignalQueue {
    /// Queues a signal; a standard signal already pending is not queued
    /// twice. Returns false if dropped as a duplicate.
    pub fn push(&mut self, info: SigInfo) -> bool {
        let sig = info.signo();
        if sig < SIGRTMIN && self.set.has(sig) {
            return false;
        }
        self.set.add(sig);
        self.infos.push(info);
        true
    }

    /// Removes and returns the lowest-numbered pending signal not in `mask`.
    pub fn pop(&mut self, mask: SigSet) -> Option<SigInfo> {
        let avail = self.set.0 & !mask.blockable().0;
        if avail == 0 {
            return None;
        }
        // Synchronous-looking standard signals first, by number.
        let sig = avail.trailing_zeros() as i32 + 1;
        self.take(sig)
    }

    /// Removes and returns the first pending instance of `sig`.
    pub fn take(&mut self, sig: i32) -> Option<SigInfo> {
        let i = self.infos.iter().position(|s| s.signo() == sig)?;
        let info = self.infos.remove(i);
        if !self.infos.iter().any(|s| s.signo() == sig) {
            self.set.remove(sig);
        }
        Some(info)
    }

    /// Discards every pending instance of `sig`.
    pub fn discard(&mut self, sig: i32) {
        self.infos.retain(|s| s.signo() != sig);
        self.set.remove(sig);
    }
}

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;
pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_NOCLDWAIT: u64 = 2;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

/// One signal's disposition, in the layout of the kernel's
/// `struct sigaction` on x86-64.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

// SAFETY: four integers, valid for any bit pattern.
unsafe impl crate::mm::Pod for SigAction {}

/// The handler table of a thread group (shared with `CLONE_SIGHAND`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SigHand {
    pub actions: Vec<SigAction>,
    pub refs: u32,
}

impl Default for SigHand {
    fn default() -> Self {
        SigHand {
            actions: vec![SigAction::default(); NSIG as usize],
            refs: 1,
        }
    }
}

impl SigHand {
    pub fn get(&self, sig: i32) -> SigAction {
        self.actions[(sig - 1) as usize]
    }
}

/// What a signal does when its handler is `SIG_DFL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Ignore,
    Terminate,
    CoreDump,
    Stop,
    Continue,
}

pub fn default_action(sig: i32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ
        | SIGSYS => DefaultAction::CoreDump,
        _ if sig >= SIGRTMIN => DefaultAction::Terminate,
        _ => DefaultAction::Terminate,
    }
}

/// Size of the kernel's `struct sigcontext` on x86-64.
pub const SIGCONTEXT_SIZE: u64 = 256;
/// Offsets inside `struct rt_sigframe` (after the return address).
pub const UC_OFFSET: u64 = 8;
pub const UC_STACK_OFFSET: u64 = UC_OFFSET + 16;
pub const UC_MCONTEXT_OFFSET: u64 = UC_OFFSET + 40;
pub const UC_SIGMASK_OFFSET: u64 = UC_MCONTEXT_OFFSET + SIGCONTEXT_SIZE;
pub const SIGINFO_OFFSET: u64 = UC_SIGMASK_OFFSET + 8;
pub const RT_SIGFRAME_SIZE: u64 = SIGINFO_OFFSET + 128;
/// Magic numbers marking an extended (XSAVE) state in a signal frame.
pub const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;
pub const FP_XSTATE_MAGIC2: u32 = 0x4650_5845;

/// The `struct sigcontext` words for `regs` (without the fpstate pointer).
pub fn sigcontext_of(
    regs: &Regs,
    fpstate: u64,
    mask: u64,
    trapno: u64,
    err: u64,
    cr2: u64,
) -> [u64; 32] {
    let mut w = [0u64; 32];
    let order = [
        regs.r8,
        regs.r9,
        regs.r10,
        regs.r11,
        regs.r12,
        regs.r13,
        regs.r14,
        regs.r15,
        regs.rdi,
        regs.rsi,
        regs.rbp,
        regs.rbx,
        regs.rdx,
        regs.rax,
        regs.rcx,
        regs.rsp,
        regs.rip,
        regs.eflags,
    ];
    w[..18].copy_from_slice(&order);
    // cs, gs, fs, ss as four u16 in one word.
    w[18] = (regs.cs & 0xffff)
        | ((regs.gs & 0xffff) << 16)
        | ((regs.fs & 0xffff) << 32)
        | ((regs.ss & 0xffff) << 48);
    w[19] = err;
    w[20] = trapno;
    w[21] = mask;
    w[22] = cr2;
    w[23] = fpstate;
    w
}

/// Restores the general registers from a `struct sigcontext`. Segment and
/// flag bits the application may not change are kept.
pub fn regs_from_sigcontext(w: &[u64; 32], cur: &Regs) -> Regs {
    let mut r = *cur;
    r.r8 = w[0];
    r.r9 = w[1];
    r.r10 = w[2];
    r.r11 = w[3];
    r.r12 = w[4];
    r.r13 = w[5];
    r.r14 = w[6];
    r.r15 = w[7];
    r.rdi = w[8];
    r.rsi = w[9];
    r.rbp = w[10];
    r.rbx = w[11];
    r.rdx = w[12];
    r.rax = w[13];
    r.rcx = w[14];
    r.rsp = w[15];
    r.rip = w[16];
    // Only the arithmetic and direction flags, TF, AC, and similar user flags.
    const FIX: u64 = 0x40dd5;
    r.eflags = (cur.eflags & !FIX) | (w[17] & FIX);
    r.orig_rax = u64::MAX;
    r
}
