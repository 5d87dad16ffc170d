//! The systrap platform: application threads are host threads of stub
//! processes that run under a seccomp filter returning `SECCOMP_RET_TRAP`
//! for every application system call. The kernel turns such a call (and any
//! fault) into a signal; a small handler in the stub's code page reports it
//! to the sentry through memory shared with it and waits there until the
//! sentry has served it. No ptrace request is made, on the fast path or
//! anywhere else.
//!
//! ## Memory shared with the stubs
//!
//! A `memfd` (the *message file*) laid out like the stub region
//! `[BASE, BASE + REGION_LEN)` that every stub process holds:
//!
//! - `BASE`: the stub code (an anonymous page, read and execute);
//! - `BASE + 0x1000`: the global page (read-only in stubs): the sentry's
//!   "sleeping" word and the seccomp filter of application threads;
//! - `BASE + 0x10000 + i * SLOT_SIZE`: slot `i`, one per stub thread: a
//!   header (state word, event, a request for a host call, the thread's
//!   `sigaltstack`) followed by the alternate signal stack, on which the
//!   kernel writes the signal frame (`ucontext` with every register and the
//!   XSAVE area). The sentry reads and writes the registers right there.
//!
//! A stub process maps only the slots of its own threads, so one
//! application process cannot reach the registers of another.
//!
//! ## Threads of a stub process
//!
//! - The *control thread* (the process leader) never runs application
//!   code. It waits on its slot for requests of the sentry and makes the
//!   host calls the sentry needs inside the stub: `mmap`/`munmap`/`mprotect`
//!   of the memory file, `clone` of a new application thread, and, in the
//!   master stub, `clone` of a new address space. Its seccomp filter allows
//!   any host call made from the stub code page.
//! - *Application threads* add a second filter that allows, from the stub
//!   code, only `futex`, `exit`, `write` to the wake-up eventfd and
//!   `rt_sigreturn`, each from one fixed instruction; everything else traps.
//!   Jumping into the stub code gains an application nothing.
//!
//! ## One round trip
//!
//! The handler stores the signal number and frame address, sets the slot's
//! state to `EVENT` (a locked exchange, a full barrier) and, if the sentry
//! sleeps, writes the eventfd. It then spins briefly and `FUTEX_WAIT`s on
//! the state word. The sentry finds the event by scanning the state words of
//! running threads (spinning briefly itself before it sleeps in `poll` on
//! the eventfd together with the run loop's descriptors), serves it, edits
//! the frame, sets `RESUME` and wakes the stub, whose handler returns
//! through `rt_sigreturn` into the application with the new registers.
//!
//! ## Patched system calls
//!
//! By default (`RUNSC_SYSTRAP_PATCH=0` turns it off), the kernel rewrites `mov $NR, %eax;
//! syscall` sites that trapped into jumps through a table in application
//! memory (see `mm::patch`) to the trampoline at the stub's first byte.
//! Application threads run with `%gs` at their slot; the trampoline saves
//! the flags below the stack's red zone, the registers into the slot's
//! message (`F_*`), sets `ST_FAST` and waits like the handler. The sentry
//! serves the call from the message (`get_regs`/`set_regs` read and write
//! it) and sets `ST_RESUME`; the trampoline restores the registers and
//! jumps to the return address: no signal, no `rt_sigreturn`. What needs
//! the full state (the FPU state, a `%gs` base) first converts the stop
//! (`ST_CONVERT`): the trampoline restores the registers and traps, and the
//! handler reports the frame with the message's rip. A host signal inside
//! the trampoline is remembered (`F_INTR`) and turned into such a trap on
//! the way out, or, in the tail, reported at the application's context.
//!
//! Stub processes are children of the sentry (the master forks them with
//! `CLONE_PARENT`), so their deaths arrive as `SIGCHLD` through the same
//! self-pipe as on the ptrace platform. Interrupting a running thread is a
//! `SIGURG` to it, which the handler reports like any other signal.

use super::{AddressSpaceId, Event, FaultInfo, Platform, PlatformError, Prot, ThreadId};
use crate::arch::{FpState, Regs};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Start of the stub region in every stub (and reserved in the sentry).
pub const BASE: u64 = super::SYSTRAP_ADDR;
/// Size of one thread's slot (header and alternate signal stack).
const SLOT_SIZE: u64 = 0x1_0000;
/// Offset of slot 0 from `BASE` (and in the message file).
const SLOTS_OFFSET: u64 = 0x1_0000;
/// How many stub threads a sandbox can have at once.
const MAX_SLOTS: u64 = 4096;
/// Size of the stub region.
pub const REGION_LEN: u64 = SLOTS_OFFSET + MAX_SLOTS * SLOT_SIZE;
const REGION_END: u64 = BASE + REGION_LEN;
const GLOBAL_ADDR: u64 = BASE + 0x1000;
/// Where the stub's spin count is, in the global page.
const GLOBAL_OFF_SPIN: u64 = 4;
/// Where the "patched system calls take the fast path" flag is, in the
/// global page (nonzero: application threads run with `%gs` at their slot).
const GLOBAL_OFF_FAST: u64 = 8;
/// Where the sock_fprog of the application filter is, in the global page.
const FPROG_OFF: u64 = 0x40;
/// Where the filter itself is, in the global page.
const FILTER_OFF: u64 = 0x100;

// Descriptors inside every stub.
const STUB_MEMFD: i32 = 3;
const SYSMSG_FD: i32 = 4;
const EVENTFD_FD: i32 = 5;

// Slot header layout.
const OFF_STATE: u64 = 0;
const OFF_TID: u64 = 4;
const OFF_SIGNO: u64 = 8;
/// Set while an application thread sleeps in `FUTEX_WAIT` for the sentry.
const OFF_WAITING: u64 = 12;
const OFF_SIGINFO: u64 = 16;
const OFF_UCTX: u64 = 24;
const OFF_FSBASE: u64 = 32;
const OFF_GSBASE: u64 = 40;
const OFF_OP: u64 = 48;
const OFF_NR: u64 = 56;
const OFF_ARGS: u64 = 64;
const OFF_RESULT: u64 = 112;
const OFF_SS: u64 = 128;
// The fast path's message: the registers of a patched system call (see
// "Patched system calls" above).
const F_RAX: u64 = 0x400;
const F_RBX: u64 = 0x408;
const F_RCX: u64 = 0x410;
const F_RDX: u64 = 0x418;
const F_RSI: u64 = 0x420;
const F_RDI: u64 = 0x428;
const F_RBP: u64 = 0x430;
const F_RSP: u64 = 0x438;
const F_R8: u64 = 0x440;
const F_R9: u64 = 0x448;
const F_R10: u64 = 0x450;
const F_R11: u64 = 0x458;
const F_R12: u64 = 0x460;
const F_R13: u64 = 0x468;
const F_R14: u64 = 0x470;
const F_R15: u64 = 0x478;
const F_RIP: u64 = 0x480;
const F_RFLAGS: u64 = 0x488;
const F_FSBASE: u64 = 0x490;
/// Set when a host signal interrupted the trampoline: it then leaves
/// through a trap, so that the sentry sees the thread stop.
const F_INTR: u64 = 0x498;
/// The patched site's table entry (its slow-path `syscall`), for
/// diagnostics.
const F_SITE: u64 = 0x4a0;
/// The alternate signal stack starts here, after the header page.
const STACK_OFF: u64 = 0x1000;

// Slot states.
const ST_RUNNING: u32 = 0;
const ST_EVENT: u32 = 1;
const ST_RESUME: u32 = 2;
const ST_REQUEST: u32 = 3;
const ST_DONE: u32 = 4;
const ST_EXIT: u32 = 5;
/// A patched system call waits in the trampoline (registers in `F_*`).
const ST_FAST: u32 = 6;
/// The sentry asks a thread waiting in the trampoline to stop with its
/// full state (through a trap), instead of returning.
const ST_CONVERT: u32 = 7;

// Requests to a control thread.
const OP_SYSCALL: u64 = 0;
const OP_FORK: u64 = 1;
const OP_THREAD: u64 = 2;

/// Most iterations of the stub's spin loop before it sleeps in
/// `FUTEX_WAIT` (adapted down to `STUB_SPIN_MIN` when spinning does not pay).
const STUB_SPIN: u32 = 1000;
const STUB_SPIN_MIN: u32 = 16;
/// Longest the sentry spins for events before it sleeps (adapted down to
/// `SENTRY_SPIN_MIN`).
const SENTRY_SPIN: Duration = Duration::from_micros(20);
const SENTRY_SPIN_MIN: Duration = Duration::from_micros(1);
/// A stub that slept through a service shorter than this would have been
/// better off spinning (see `adapt_stub_spin_slept`).
const STUB_SERVICE_SPIN: Duration = Duration::from_micros(10);

const FORK_FLAGS: u64 = (libc::CLONE_PARENT | libc::SIGCHLD) as u64;
const THREAD_FLAGS: u64 = (libc::CLONE_VM
    | libc::CLONE_FS
    | libc::CLONE_FILES
    | libc::CLONE_SIGHAND
    | libc::CLONE_THREAD
    | libc::CLONE_SYSVSEM
    | libc::CLONE_CHILD_CLEARTID) as u64;

/// Signals the stub handles and reports.
const HANDLED: [i32; 7] = [
    libc::SIGSYS,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGURG,
];

// .Ltramp_rax sends clone, fork, vfork and execve to the slow path with
// one range check.
const _: () = assert!(libc::SYS_execve - libc::SYS_clone == 3);

// The stub code. Position-independent: it is copied to `BASE` and runs
// there with no libc, no TLS, and only the registers and its slot.
std::arch::global_asm!(
    ".pushsection .text.systrap_stub,\"ax\",@progbits",
    ".balign 4096",
    ".globl systrap_stub_start",
    "systrap_stub_start:",
    // The fast entries, at fixed places (the stub's first byte, and 8
    // bytes on for sites whose number is in rax) so that patch tables stay
    // valid across builds: see `Patched system calls` and `mm::patch`.
    "    jmp .Ltramp",
    ".balign 8",
    "    jmp .Ltramp_rax",
    ".balign 16",
    // Control thread loop; r15 holds the slot base.
    ".Lctl_loop:",
    "    movabs rax, {global_addr}",
    "    mov ecx, dword ptr [rax + {off_spin}]",
    ".Lctl_spin:",
    "    mov eax, dword ptr [r15]",
    "    cmp eax, {st_request}",
    "    je .Lctl_go",
    "    pause",
    "    dec ecx",
    "    jg .Lctl_spin",
    "    mov edx, eax",
    "    mov rdi, r15",
    "    xor esi, esi",
    "    xor r10d, r10d",
    "    mov eax, {sys_futex}",
    "    syscall",
    "    jmp .Lctl_loop",
    ".Lctl_go:",
    "    mov rax, qword ptr [r15 + {off_op}]",
    "    cmp rax, {op_fork}",
    "    je .Lctl_fork",
    "    cmp rax, {op_thread}",
    "    je .Lctl_thread",
    "    mov rax, qword ptr [r15 + {off_nr}]",
    "    mov rdi, qword ptr [r15 + {off_args}]",
    "    mov rsi, qword ptr [r15 + {off_args} + 8]",
    "    mov rdx, qword ptr [r15 + {off_args} + 16]",
    "    mov r10, qword ptr [r15 + {off_args} + 24]",
    "    mov r8, qword ptr [r15 + {off_args} + 32]",
    "    mov r9, qword ptr [r15 + {off_args} + 40]",
    "    syscall",
    ".Lctl_done:",
    "    mov qword ptr [r15 + {off_result}], rax",
    "    mov eax, {st_done}",
    "    xchg dword ptr [r15], eax",
    "    mov rdi, r15",
    "    mov esi, {futex_wake}",
    "    mov edx, 1",
    "    mov eax, {sys_futex}",
    "    syscall",
    "    jmp .Lctl_loop",
    // A new address space: fork (as a sibling of the master, a child of
    // the sentry), then in the child move to the new slot (in r12) using
    // registers only, since the old slot is shared with the parent.
    ".Lctl_fork:",
    "    mov r12, qword ptr [r15 + {off_args}]",
    "    mov edi, {fork_flags}",
    "    xor esi, esi",
    "    xor edx, edx",
    "    xor r10d, r10d",
    "    xor r8d, r8d",
    "    mov eax, {sys_clone}",
    "    syscall",
    "    test rax, rax",
    "    jnz .Lctl_done",
    "    mov edi, {pr_set_pdeathsig}",
    "    mov esi, {sigkill}",
    "    mov eax, {sys_prctl}",
    "    syscall",
    "    mov rdi, r12",
    "    mov esi, {slot_size}",
    "    mov edx, {prot_rw}",
    "    mov r10d, {map_shared_fixed}",
    "    mov r8d, {sysmsg_fd}",
    "    movabs r9, {base}",
    "    neg r9",
    "    add r9, r12",
    "    mov eax, {sys_mmap}",
    "    syscall",
    "    cmp rax, r12",
    "    jne .Ldie",
    "    mov rdi, r15",
    "    mov esi, {slot_size}",
    "    mov eax, {sys_munmap}",
    "    syscall",
    "    mov r15, r12",
    "    lea rsp, [r12 + {slot_size}]",
    "    jmp .Lctl_loop",
    // A new application thread on the slot in r12 (already mapped): it
    // takes the slot's stack as its alternate signal stack, adds the
    // application filter, and traps once so the sentry holds it stopped.
    ".Lctl_thread:",
    "    mov r12, qword ptr [r15 + {off_args}]",
    "    mov edi, {thread_flags}",
    "    lea rsi, [r12 + {slot_size}]",
    "    xor edx, edx",
    "    lea r10, [r12 + {off_tid}]",
    "    xor r8d, r8d",
    "    mov eax, {sys_clone}",
    "    syscall",
    "    test rax, rax",
    "    jnz .Lctl_done",
    "    lea rdi, [r12 + {off_ss}]",
    "    xor esi, esi",
    "    mov eax, {sys_sigaltstack}",
    "    syscall",
    "    test rax, rax",
    "    jnz .Ldie",
    "    mov edi, 1",
    "    xor esi, esi",
    "    movabs rdx, {fprog_addr}",
    "    mov eax, {sys_seccomp}",
    "    syscall",
    "    test rax, rax",
    "    jnz .Ldie",
    ".Lfirst_trap:",
    "    mov eax, {sys_getpid}",
    "    syscall",
    "    jmp .Lfirst_trap",
    ".Ldie:",
    "    mov edi, 111",
    "    mov eax, {sys_exit_group}",
    "    syscall",
    "    ud2",
    // The signal handler of every stub thread (on the slot's stack):
    // rdi = signal, rsi = siginfo, rdx = ucontext.
    ".globl systrap_handler",
    "systrap_handler:",
    "    mov rax, rsp",
    "    and rax, {slot_mask}",
    "    mov r15, rax",
    // A signal inside the trampoline: in its body, an interruption is
    // remembered (the thread is about to stop anyway, or leaves through
    // a trap); in its tail, the application's registers are all in place
    // but rip, rsp and rflags, which the frame gets from the message.
    "    mov rax, qword ptr [rdx + {uc_rip}]",
    // The trampoline's own host calls (its futex wait) run at .Lhsys on
    // the slot's header page, where the handler's never do: the body.
    "    lea rcx, [rip + .Lhsys_ret]",
    "    cmp rax, rcx",
    "    jne 2f",
    "    mov rcx, qword ptr [rdx + {uc_rsp}]",
    "    sub rcx, r15",
    "    cmp rcx, {stack_off}",
    "    jb .Lh_body",
    "2:",
    "    lea rcx, [rip + .Ltramp_rax]",
    "    cmp rax, rcx",
    "    jb .Lh_report",
    "    lea rcx, [rip + .Lt_end]",
    "    cmp rax, rcx",
    "    ja .Lh_report",
    "    lea rcx, [rip + .Lt_tail]",
    "    cmp rax, rcx",
    "    jae .Lh_tail",
    ".Lh_body:",
    "    cmp edi, {sigurg}",
    "    jne .Lh_report",
    "    mov dword ptr [r15 + {f_intr}], 1",
    "    ret",
    ".Lh_tail:",
    "    mov rax, qword ptr [r15 + {f_rip}]",
    "    mov qword ptr [rdx + {uc_rip}], rax",
    "    mov rax, qword ptr [r15 + {f_rsp}]",
    "    mov qword ptr [rdx + {uc_rsp}], rax",
    "    mov rax, qword ptr [r15 + {f_rflags}]",
    "    mov qword ptr [rdx + {uc_efl}], rax",
    "    mov dword ptr [r15 + {f_intr}], 0",
    "    mov edi, {sigurg}",
    ".Lh_report:",
    "    mov dword ptr [r15 + {off_signo}], edi",
    "    mov qword ptr [r15 + {off_siginfo}], rsi",
    "    mov qword ptr [r15 + {off_uctx}], rdx",
    "    rdfsbase rax",
    "    mov qword ptr [r15 + {off_fsbase}], rax",
    // A %gs base at the slot is the fast path's, not the application's.
    "    rdgsbase rax",
    "    cmp rax, r15",
    "    jne 2f",
    "    xor eax, eax",
    "2:",
    "    mov qword ptr [r15 + {off_gsbase}], rax",
    "    mov eax, {st_event}",
    "    xchg dword ptr [r15], eax",
    "    movabs rax, {global_addr}",
    "    cmp dword ptr [rax], 0",
    "    je .Lh_wait",
    "    mov edi, {eventfd_fd}",
    "    lea rsi, [rip + .Lone]",
    "    mov edx, 8",
    "    mov eax, {sys_write}",
    "    call .Lhsys",
    ".Lh_wait:",
    "    movabs rax, {global_addr}",
    "    mov ecx, dword ptr [rax + {off_spin}]",
    ".Lh_spin:",
    "    mov eax, dword ptr [r15]",
    "    cmp eax, {st_resume}",
    "    je .Lh_resume",
    "    cmp eax, {st_exit}",
    "    je .Lh_exit",
    "    pause",
    "    dec ecx",
    "    jg .Lh_spin",
    // Tell the sentry a wake-up is needed (a locked exchange: the sentry
    // reads this flag after it sets the state), then sleep unless the
    // state moved on meanwhile.
    "    mov edx, eax",
    "    mov esi, 1",
    "    xchg dword ptr [r15 + {off_waiting}], esi",
    "    mov rdi, r15",
    "    xor esi, esi",
    "    xor r10d, r10d",
    "    mov eax, {sys_futex}",
    "    call .Lhsys",
    "    mov dword ptr [r15 + {off_waiting}], 0",
    "    jmp .Lh_wait",
    ".Lh_resume:",
    "    mov rax, qword ptr [r15 + {off_fsbase}]",
    "    wrfsbase rax",
    "    mov rax, qword ptr [r15 + {off_gsbase}]",
    "    test rax, rax",
    "    jnz 2f",
    "    movabs rcx, {global_addr}",
    "    cmp dword ptr [rcx + {off_fast}], 0",
    "    je 2f",
    "    mov rax, r15",
    "2:",
    "    wrgsbase rax",
    "    mov dword ptr [r15], {st_running}",
    "    ret",
    ".Lh_exit:",
    "    xor edi, edi",
    "    mov eax, {sys_exit}",
    "    call .Lhsys",
    "    ud2",
    // The trampoline of patched system calls. A patched site jumps to
    // its table entry, which jumps here with r11 = the entry's slow path
    // (the site's own bytes, then `jmp RET`; RET at r11 + 13); rcx is
    // free (a system call clobbers it).
    //
    // glibc's syscall(3) site (`mov r9, [rsp + 8]; syscall`) enters at
    // .Ltramp_rax with the number in rax. The calls the fast path never
    // serves (see `mm::patch::NEVER`: rt_sigreturn, clone, fork, vfork,
    // execve, execveat, clone3) take the slow path at once; the others
    // load the sixth argument as the site would have.
    ".Ltramp_rax:",
    "    cmp eax, {sys_rt_sigreturn}",
    "    je .Lt_raw",
    "    cmp eax, {sys_clone}",
    "    jb 3f",
    "    cmp eax, {sys_execve}",
    "    jbe .Lt_raw",
    "3:",
    "    cmp eax, {sys_execveat}",
    "    je .Lt_raw",
    "    cmp eax, {sys_clone3}",
    "    je .Lt_raw",
    "    mov r9, qword ptr [rsp + 8]",
    "    jmp .Lt_common",
    ".Lt_raw:",
    "    jmp r11",
    // `mov eax, NR; syscall` sites: the number is the entry's copy of the
    // immediate, at r11 + 1.
    ".Ltramp:",
    "    mov eax, dword ptr [r11 + 1]",
    // The number and the flags are saved below the red zone of the
    // application's stack; everything else goes to the message in the
    // slot that %gs points to.
    ".Lt_common:",
    "    lea rsp, [rsp - 128]",
    "    pushfq",
    "    push rax",
    "    rdgsbase rax",
    "    movabs rcx, {slots_start}",
    "    sub rax, rcx",
    "    cmp rax, {slots_len}",
    "    jae .Lt_slow",
    "    test eax, {slot_low}",
    "    jnz .Lt_slow",
    "    rdgsbase rax",
    "    pop qword ptr [rax + {f_rax}]",
    "    pop qword ptr [rax + {f_rflags}]",
    "    lea rsp, [rsp + 128]",
    "    mov qword ptr [rax + {f_rsp}], rsp",
    "    mov qword ptr [rax + {f_rbx}], rbx",
    "    mov qword ptr [rax + {f_rdx}], rdx",
    "    mov qword ptr [rax + {f_rsi}], rsi",
    "    mov qword ptr [rax + {f_rdi}], rdi",
    "    mov qword ptr [rax + {f_rbp}], rbp",
    "    mov qword ptr [rax + {f_r8}], r8",
    "    mov qword ptr [rax + {f_r9}], r9",
    "    mov qword ptr [rax + {f_r10}], r10",
    "    mov qword ptr [rax + {f_r12}], r12",
    "    mov qword ptr [rax + {f_r13}], r13",
    "    mov qword ptr [rax + {f_r14}], r14",
    "    mov qword ptr [rax + {f_r15}], r15",
    "    mov qword ptr [rax + {f_site}], r11",
    // What `syscall` leaves: rcx = the return address, r11 = rflags.
    "    mov rcx, qword ptr [rax + {f_rflags}]",
    "    mov qword ptr [rax + {f_r11}], rcx",
    "    mov rcx, qword ptr [r11 + 13]",
    "    mov qword ptr [rax + {f_rip}], rcx",
    "    mov qword ptr [rax + {f_rcx}], rcx",
    "    rdfsbase rcx",
    "    mov qword ptr [rax + {f_fsbase}], rcx",
    "    mov r15, rax",
    "    lea rsp, [r15 + {stack_off}]",
    "    mov eax, {st_fast}",
    "    xchg dword ptr [r15], eax",
    "    mov dword ptr [r15 + {f_intr}], 0",
    "    movabs rax, {global_addr}",
    "    cmp dword ptr [rax], 0",
    "    je .Lt_wait",
    "    mov edi, {eventfd_fd}",
    "    lea rsi, [rip + .Lone]",
    "    mov edx, 8",
    "    mov eax, {sys_write}",
    "    call .Lhsys",
    ".Lt_wait:",
    "    movabs rax, {global_addr}",
    "    mov ecx, dword ptr [rax + {off_spin}]",
    ".Lt_spin:",
    "    mov eax, dword ptr [r15]",
    "    cmp eax, {st_resume}",
    "    je .Lt_resume",
    "    cmp eax, {st_convert}",
    "    je .Lt_convert",
    "    cmp eax, {st_exit}",
    "    je .Lh_exit",
    "    pause",
    "    dec ecx",
    "    jg .Lt_spin",
    "    mov edx, eax",
    "    mov esi, 1",
    "    xchg dword ptr [r15 + {off_waiting}], esi",
    "    mov rdi, r15",
    "    xor esi, esi",
    "    xor r10d, r10d",
    "    mov eax, {sys_futex}",
    "    call .Lhsys",
    "    mov dword ptr [r15 + {off_waiting}], 0",
    "    jmp .Lt_wait",
    // Not our slot in %gs (the application set its own): the entry's
    // slow path makes the system call, which traps.
    ".Lt_slow:",
    "    pop rax",
    "    popfq",
    "    lea rsp, [rsp + 128]",
    "    jmp r11",
    ".Lt_convert:",
    "    mov dword ptr [r15 + {f_intr}], 1",
    ".Lt_resume:",
    "    mov rax, qword ptr [r15 + {f_fsbase}]",
    "    rdfsbase rcx",
    "    cmp rax, rcx",
    "    je 2f",
    "    wrfsbase rax",
    "2:",
    "    mov dword ptr [r15], {st_running}",
    "    push qword ptr [r15 + {f_rflags}]",
    "    mov rax, qword ptr [r15 + {f_rax}]",
    "    mov rbx, qword ptr [r15 + {f_rbx}]",
    "    mov rcx, qword ptr [r15 + {f_rcx}]",
    "    mov rdx, qword ptr [r15 + {f_rdx}]",
    "    mov rsi, qword ptr [r15 + {f_rsi}]",
    "    mov rdi, qword ptr [r15 + {f_rdi}]",
    "    mov rbp, qword ptr [r15 + {f_rbp}]",
    "    mov r8, qword ptr [r15 + {f_r8}]",
    "    mov r9, qword ptr [r15 + {f_r9}]",
    "    mov r10, qword ptr [r15 + {f_r10}]",
    "    mov r11, qword ptr [r15 + {f_r11}]",
    "    mov r12, qword ptr [r15 + {f_r12}]",
    "    mov r13, qword ptr [r15 + {f_r13}]",
    "    mov r14, qword ptr [r15 + {f_r14}]",
    "    mov r15, qword ptr [r15 + {f_r15}]",
    // The tail: only rflags, rsp and rip are left (see the handler).
    ".Lt_tail:",
    "    cmp dword ptr gs:[{f_intr}], 0",
    "    jne .Lt_intr",
    "    popfq",
    "    mov rsp, qword ptr gs:[{f_rsp}]",
    "    jmp qword ptr gs:[{f_rip}]",
    ".Lt_intr:",
    "    popfq",
    "    mov rsp, qword ptr gs:[{f_rsp}]",
    "    int3",
    ".Lt_end:",
    ".globl systrap_hsys",
    "systrap_hsys:",
    ".Lhsys:",
    "    syscall",
    ".Lhsys_ret:",
    "    ret",
    ".globl systrap_restorer",
    "systrap_restorer:",
    "    mov eax, {sys_rt_sigreturn}",
    ".globl systrap_restorer_sys",
    "systrap_restorer_sys:",
    "    syscall",
    "    ud2",
    ".balign 8",
    ".Lone:",
    "    .quad 1",
    // The master's first steps in the stub: drop every mapping outside the
    // stub region and serve requests. rdi = the master's slot.
    ".globl systrap_master_entry",
    "systrap_master_entry:",
    "    mov r15, rdi",
    "    lea rsp, [r15 + {slot_size}]",
    "    xor edi, edi",
    "    movabs rsi, {base}",
    "    mov eax, {sys_munmap}",
    "    syscall",
    "    movabs rdi, {region_end}",
    "    movabs rsi, {above_len}",
    "    mov eax, {sys_munmap}",
    "    syscall",
    "    jmp .Lctl_loop",
    ".globl systrap_stub_end",
    "systrap_stub_end:",
    ".popsection",
    off_spin = const GLOBAL_OFF_SPIN,
    st_request = const ST_REQUEST,
    st_done = const ST_DONE,
    st_event = const ST_EVENT,
    st_resume = const ST_RESUME,
    st_exit = const ST_EXIT,
    st_running = const ST_RUNNING,
    sys_futex = const libc::SYS_futex,
    sys_clone = const libc::SYS_clone,
    sys_prctl = const libc::SYS_prctl,
    sys_mmap = const libc::SYS_mmap,
    sys_munmap = const libc::SYS_munmap,
    sys_sigaltstack = const libc::SYS_sigaltstack,
    sys_seccomp = const libc::SYS_seccomp,
    sys_getpid = const libc::SYS_getpid,
    sys_exit_group = const libc::SYS_exit_group,
    sys_exit = const libc::SYS_exit,
    sys_write = const libc::SYS_write,
    sys_rt_sigreturn = const libc::SYS_rt_sigreturn,
    sys_execve = const libc::SYS_execve,
    sys_execveat = const libc::SYS_execveat,
    sys_clone3 = const libc::SYS_clone3,
    futex_wake = const libc::FUTEX_WAKE,
    off_op = const OFF_OP,
    off_nr = const OFF_NR,
    off_args = const OFF_ARGS,
    off_result = const OFF_RESULT,
    off_tid = const OFF_TID,
    off_ss = const OFF_SS,
    off_signo = const OFF_SIGNO,
    off_waiting = const OFF_WAITING,
    off_siginfo = const OFF_SIGINFO,
    off_uctx = const OFF_UCTX,
    off_fsbase = const OFF_FSBASE,
    off_gsbase = const OFF_GSBASE,
    op_fork = const OP_FORK,
    op_thread = const OP_THREAD,
    fork_flags = const FORK_FLAGS,
    thread_flags = const THREAD_FLAGS,
    pr_set_pdeathsig = const libc::PR_SET_PDEATHSIG,
    sigkill = const libc::SIGKILL,
    slot_size = const SLOT_SIZE,
    slot_mask = const -(SLOT_SIZE as i64),
    prot_rw = const libc::PROT_READ | libc::PROT_WRITE,
    map_shared_fixed = const libc::MAP_SHARED | libc::MAP_FIXED,
    sysmsg_fd = const SYSMSG_FD,
    eventfd_fd = const EVENTFD_FD,
    base = const BASE,
    region_end = const REGION_END,
    above_len = const super::ptrace::TASK_SIZE - REGION_END,
    global_addr = const GLOBAL_ADDR,
    fprog_addr = const GLOBAL_ADDR + FPROG_OFF,
    off_fast = const GLOBAL_OFF_FAST,
    sigurg = const libc::SIGURG,
    uc_rip = const UC_GREGS + 8 * G_RIP as u64,
    uc_rsp = const UC_GREGS + 8 * G_RSP as u64,
    uc_efl = const UC_GREGS + 8 * G_EFL as u64,
    slots_start = const BASE + SLOTS_OFFSET,
    slots_len = const MAX_SLOTS * SLOT_SIZE,
    slot_low = const SLOT_SIZE - 1,
    stack_off = const STACK_OFF,
    st_fast = const ST_FAST,
    st_convert = const ST_CONVERT,
    f_rax = const F_RAX,
    f_rbx = const F_RBX,
    f_rcx = const F_RCX,
    f_rdx = const F_RDX,
    f_rsi = const F_RSI,
    f_rdi = const F_RDI,
    f_rbp = const F_RBP,
    f_rsp = const F_RSP,
    f_r8 = const F_R8,
    f_r9 = const F_R9,
    f_r10 = const F_R10,
    f_r11 = const F_R11,
    f_r12 = const F_R12,
    f_r13 = const F_R13,
    f_r14 = const F_R14,
    f_r15 = const F_R15,
    f_rip = const F_RIP,
    f_rflags = const F_RFLAGS,
    f_fsbase = const F_FSBASE,
    f_intr = const F_INTR,
    f_site = const F_SITE,
);

extern "C" {
    static systrap_stub_start: u8;
    static systrap_stub_end: u8;
    static systrap_handler: u8;
    static systrap_hsys: u8;
    static systrap_restorer: u8;
    static systrap_restorer_sys: u8;
    static systrap_master_entry: u8;
}

/// Offset of a stub code symbol from the start of the code.
fn code_off(sym: *const u8) -> u64 {
    let start = std::ptr::addr_of!(systrap_stub_start) as u64;
    sym as u64 - start
}

/// The stub code as bytes.
fn stub_code() -> &'static [u8] {
    // SAFETY: the two symbols delimit the stub code in our text section.
    unsafe {
        let s = std::ptr::addr_of!(systrap_stub_start);
        let e = std::ptr::addr_of!(systrap_stub_end);
        std::slice::from_raw_parts(s, e as usize - s as usize)
    }
}

fn err(e: nix::errno::Errno) -> PlatformError {
    PlatformError::StubCreate(e)
}

fn last() -> nix::errno::Errno {
    nix::errno::Errno::last()
}

/// Stub address of slot `i`.
fn slot_addr(i: usize) -> u64 {
    BASE + SLOTS_OFFSET + i as u64 * SLOT_SIZE
}

/// A stub thread as the sentry sees it.
struct Thread {
    slot: usize,
    space: AddressSpaceId,
    /// Running application code (its events are scanned for).
    running: bool,
    /// The system call number of the last syscall event, else -1.
    orig_rax: u64,
    /// Offset of the signal frame's ucontext in the slot (validated).
    uctx: u64,
    /// When the sentry last let it run.
    resumed: Option<Instant>,
    /// When its last event was found, and whether the sentry was spinning
    /// then (not woken from its sleep).
    seen: Option<(Instant, bool)>,
    /// Stopped in the trampoline of a patched system call: its registers
    /// are in the slot's message, not in a signal frame.
    fast: bool,
}

struct Space {
    /// Slot of the control thread (whose TID is the space's ID).
    ctl_slot: usize,
    threads: Vec<ThreadId>,
    /// Slots of exited threads, still mapped in this process only: the
    /// next thread here takes one without a host call.
    spare: Vec<usize>,
}

/// The shared mapping of the message file in the sentry.
struct Shared {
    ptr: *mut u8,
}

impl Shared {
    fn at(&self, off: u64) -> *mut u8 {
        debug_assert!(off < REGION_LEN);
        // SAFETY: `off` is inside the mapping of REGION_LEN bytes.
        unsafe { self.ptr.add(off as usize) }
    }
    fn u32_at(&self, off: u64) -> &AtomicU32 {
        // SAFETY: aligned, inside the mapping, which lives as long as self.
        unsafe { &*(self.at(off) as *const AtomicU32) }
    }
    fn u64_at(&self, off: u64) -> &AtomicU64 {
        // SAFETY: aligned, inside the mapping, which lives as long as self.
        unsafe { &*(self.at(off) as *const AtomicU64) }
    }
    fn read(&self, off: u64, buf: &mut [u8]) {
        debug_assert!(off + buf.len() as u64 <= REGION_LEN);
        // SAFETY: the range is inside the mapping; the memory is shared with
        // stubs, so a volatile-free byte copy may see torn data, which only
        // the application owning the slot can cause and suffer.
        unsafe { std::ptr::copy_nonoverlapping(self.at(off), buf.as_mut_ptr(), buf.len()) }
    }
    fn write(&self, off: u64, buf: &[u8]) {
        debug_assert!(off + buf.len() as u64 <= REGION_LEN);
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), self.at(off), buf.len()) }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping of REGION_LEN bytes.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, REGION_LEN as usize) };
    }
}

fn futex_wake(w: &AtomicU32) {
    // SAFETY: futex on a live word of shared memory (not private: stubs
    // wait on it from other processes).
    unsafe { libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAKE, 1) };
}

fn futex_wait(w: &AtomicU32, val: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: as in futex_wake, with a live timespec.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            w.as_ptr(),
            libc::FUTEX_WAIT,
            val,
            &ts as *const libc::timespec,
        )
    };
}

/// The systrap platform's host state. Not serialized: restore builds a new
/// one.
pub struct SystrapPlatform {
    shm: Shared,
    /// The message file; kept for the stubs' sake (they hold copies).
    _sysmsg: OwnedFd,
    /// Written by stubs when the sentry sleeps.
    eventfd: OwnedFd,
    master: ThreadId,
    master_slot: usize,
    free_slots: Vec<usize>,
    next_slot: usize,
    threads: HashMap<ThreadId, Thread>,
    spaces: HashMap<AddressSpaceId, Space>,
    /// Readable when a stub process exited (SIGCHLD self-pipe).
    sigchld: RawFd,
    /// Events found but not yet returned (while waiting for another).
    queued: Vec<(ThreadId, Event)>,
    /// How long `wait` spins before it sleeps (adapted, up to the max).
    sentry_spin: Duration,
    sentry_spin_max: Duration,
    /// The stubs' spin count (adapted, up to the max).
    stub_spin: u32,
    stub_spin_max: u32,
    /// Patched system call sites may use the fast entry.
    patch: bool,
    /// System calls served through the trampoline.
    fast_calls: u64,
}

/// Whether system call sites are patched to take the fast path: yes,
/// unless `RUNSC_SYSTRAP_PATCH` is `0`, `false`, `off` or `no` (the whole
/// test suite runs both ways: `scripts/test`).
pub fn patching_enabled() -> bool {
    !matches!(
        std::env::var("RUNSC_SYSTRAP_PATCH").as_deref(),
        Ok("0" | "false" | "off" | "no")
    )
}

/// Spin counts: the stub's iterations and the sentry's time, from
/// `RUNSC_SYSTRAP_SPIN=STUB,SENTRY_US` when set (for tuning on a given
/// machine), else the defaults.
fn spin_tuning() -> (u32, Duration) {
    let v = std::env::var("RUNSC_SYSTRAP_SPIN").unwrap_or_default();
    let mut it = v.split(',').map(|s| s.trim().parse::<u64>().ok());
    let stub = it
        .next()
        .flatten()
        .map_or(STUB_SPIN, |n| n.min(1 << 20) as u32);
    let sentry = it
        .next()
        .flatten()
        .map_or(SENTRY_SPIN, |us| Duration::from_micros(us.min(10_000)));
    (stub, sentry)
}

/// Whether the calling CPU and kernel let user code use `rdfsbase` and
/// friends, which the stub needs to keep the application's TLS base.
fn have_fsgsbase() -> bool {
    const HWCAP2_FSGSBASE: u64 = 1 << 1;
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_HWCAP2) & HWCAP2_FSGSBASE != 0 }
}

impl SystrapPlatform {
    /// Builds the stub region and the master stub. `memfd` is the memory
    /// file; stubs keep it open as descriptor 3.
    pub fn new(memfd: RawFd) -> Result<SystrapPlatform, PlatformError> {
        if !have_fsgsbase() {
            tracing::error!("systrap needs the FSGSBASE instructions, which this host lacks");
            return Err(err(nix::errno::Errno::ENOSYS));
        }
        let sigchld = super::ptrace::sigchld_pipe().map_err(err)?;
        // SAFETY: creating descriptors and mappings; every result is checked.
        let (sysmsg, eventfd, ptr) = unsafe {
            let fd = libc::memfd_create(c"runsc-systrap".as_ptr(), libc::MFD_CLOEXEC);
            if fd < 0 {
                return Err(err(last()));
            }
            let sysmsg = OwnedFd::from_raw_fd(fd);
            if libc::ftruncate(fd, REGION_LEN as libc::off_t) != 0 {
                return Err(err(last()));
            }
            let ev = libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK);
            if ev < 0 {
                return Err(err(last()));
            }
            let eventfd = OwnedFd::from_raw_fd(ev);
            let p = libc::mmap(
                std::ptr::null_mut(),
                REGION_LEN as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            if p == libc::MAP_FAILED {
                return Err(err(last()));
            }
            (sysmsg, eventfd, p as *mut u8)
        };
        let shm = Shared { ptr };
        map_region(sysmsg.as_raw_fd()).map_err(err)?;
        // The application threads' filter, in the global page.
        let filter = app_filter();
        let foff = GLOBAL_ADDR - BASE + FILTER_OFF;
        for (i, f) in filter.iter().enumerate() {
            let mut b = [0u8; 8];
            b[0..2].copy_from_slice(&f.code.to_ne_bytes());
            b[2] = f.jt;
            b[3] = f.jf;
            b[4..8].copy_from_slice(&f.k.to_ne_bytes());
            shm.write(foff + 8 * i as u64, &b);
        }
        let (stub_spin, sentry_spin) = spin_tuning();
        shm.u32_at(GLOBAL_ADDR - BASE + GLOBAL_OFF_SPIN)
            .store(stub_spin, Ordering::SeqCst);
        let patch = patching_enabled();
        shm.u32_at(GLOBAL_ADDR - BASE + GLOBAL_OFF_FAST)
            .store(patch as u32, Ordering::SeqCst);
        let poff = GLOBAL_ADDR - BASE + FPROG_OFF;
        shm.write(poff, &(filter.len() as u16).to_ne_bytes());
        shm.write(poff + 8, &(GLOBAL_ADDR + FILTER_OFF).to_ne_bytes());

        let mut p = SystrapPlatform {
            shm,
            _sysmsg: sysmsg,
            eventfd,
            master: 0,
            master_slot: 0,
            free_slots: Vec::new(),
            next_slot: 0,
            threads: HashMap::new(),
            spaces: HashMap::new(),
            sigchld,
            queued: Vec::new(),
            sentry_spin,
            sentry_spin_max: sentry_spin,
            stub_spin,
            stub_spin_max: stub_spin,
            patch,
            fast_calls: 0,
        };
        let slot = p.alloc_slot()?;
        p.init_slot(slot);
        p.master_slot = slot;
        // The master's slot is mapped in the sentry only for the fork.
        // SAFETY: replacing a part of our own reserved region.
        let r = unsafe {
            libc::mmap(
                slot_addr(slot) as *mut libc::c_void,
                SLOT_SIZE as usize,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_FIXED,
                p._sysmsg.as_raw_fd(),
                (slot_addr(slot) - BASE) as libc::off_t,
            )
        };
        if r == libc::MAP_FAILED {
            return Err(err(last()));
        }
        let ctl = ctl_filter();
        let prog = libc::sock_fprog {
            len: ctl.len() as u16,
            filter: ctl.as_ptr() as *mut libc::sock_filter,
        };
        let parent = std::process::id() as i32;
        let fds = [memfd, p._sysmsg.as_raw_fd(), p.eventfd.as_raw_fd()];
        // SAFETY: the child runs only async-signal-safe raw system calls
        // and then jumps into the stub code for good.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(err(last()));
        }
        if pid == 0 {
            // SAFETY: in the forked child.
            unsafe { master_child(parent, fds, slot_addr(slot), &prog) };
        }
        p.master = pid;
        drop(ctl);
        // Check that the master serves requests.
        let r = p.request(slot, pid, OP_SYSCALL, libc::SYS_getpid as u64, [0; 6])?;
        if r as i32 != pid {
            tracing::error!("the master stub answered {r:#x} to getpid");
            return Err(err(nix::errno::Errno::EPROTO));
        }
        Ok(p)
    }

    fn alloc_slot(&mut self) -> Result<usize, PlatformError> {
        if let Some(s) = self.free_slots.pop() {
            return Ok(s);
        }
        if self.next_slot as u64 >= MAX_SLOTS {
            return Err(err(nix::errno::Errno::EAGAIN));
        }
        self.next_slot += 1;
        Ok(self.next_slot - 1)
    }

    fn free_slot(&mut self, s: usize) {
        // Give the pages back; the slot is zero when used again.
        let off = slot_addr(s) - BASE;
        // SAFETY: fallocate on our own message file.
        unsafe {
            libc::fallocate(
                self._sysmsg.as_raw_fd(),
                libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                off as libc::off_t,
                SLOT_SIZE as libc::off_t,
            )
        };
        self.free_slots.push(s);
    }

    /// Fills in a fresh slot's header: its `sigaltstack` description.
    fn init_slot(&self, s: usize) {
        let off = slot_addr(s) - BASE;
        self.shm
            .u32_at(off + OFF_STATE)
            .store(ST_RUNNING, Ordering::SeqCst);
        self.shm.u32_at(off + OFF_TID).store(1, Ordering::SeqCst);
        let ss = off + OFF_SS;
        self.shm
            .write(ss, &(slot_addr(s) + STACK_OFF).to_ne_bytes());
        self.shm.write(ss + 8, &0u64.to_ne_bytes());
        self.shm
            .write(ss + 16, &(SLOT_SIZE - STACK_OFF).to_ne_bytes());
    }

    fn state(&self, s: usize) -> &AtomicU32 {
        self.shm.u32_at(slot_addr(s) - BASE + OFF_STATE)
    }

    /// Asks the control thread on slot `s` (of process `pid`) to make a
    /// host call, and waits for its result.
    fn request(
        &mut self,
        s: usize,
        pid: i32,
        op: u64,
        nr: u64,
        args: [u64; 6],
    ) -> Result<u64, PlatformError> {
        let off = slot_addr(s) - BASE;
        self.shm.u64_at(off + OFF_OP).store(op, Ordering::Relaxed);
        self.shm.u64_at(off + OFF_NR).store(nr, Ordering::Relaxed);
        for (i, a) in args.iter().enumerate() {
            self.shm
                .u64_at(off + OFF_ARGS + 8 * i as u64)
                .store(*a, Ordering::Relaxed);
        }
        let st = self.state(s);
        st.store(ST_REQUEST, Ordering::SeqCst);
        futex_wake(st);
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            if st.load(Ordering::SeqCst) == ST_DONE {
                break;
            }
            if spins < 200 {
                spins += 1;
                std::hint::spin_loop();
                continue;
            }
            futex_wait(st, ST_REQUEST, Duration::from_millis(50));
            if st.load(Ordering::SeqCst) == ST_DONE {
                break;
            }
            if start.elapsed() > Duration::from_millis(100) && !process_alive(pid) {
                return Err(PlatformError::ThreadGone(pid));
            }
            if start.elapsed() > Duration::from_secs(10) {
                tracing::error!("stub {pid} does not answer a request");
                return Err(PlatformError::ThreadGone(pid));
            }
        }
        let r = self.shm.u64_at(off + OFF_RESULT).load(Ordering::SeqCst);
        st.store(ST_RUNNING, Ordering::SeqCst);
        Ok(r)
    }

    /// A request whose host errno is a platform failure.
    fn request_ok(
        &mut self,
        s: usize,
        pid: i32,
        nr: u64,
        args: [u64; 6],
        op: &'static str,
    ) -> Result<u64, PlatformError> {
        let r = self.request(s, pid, OP_SYSCALL, nr, args)?;
        if (r as i64) < 0 && (r as i64) > -4096 {
            return Err(PlatformError::Ptrace {
                op,
                tid: pid,
                err: nix::errno::Errno::from_raw(-(r as i64) as i32),
            });
        }
        Ok(r)
    }

    fn space_of(&self, t: ThreadId) -> Result<(AddressSpaceId, usize), PlatformError> {
        let th = self.threads.get(&t).ok_or(PlatformError::ThreadGone(t))?;
        let sp = self
            .spaces
            .get(&th.space)
            .ok_or(PlatformError::ThreadGone(t))?;
        Ok((th.space, sp.ctl_slot))
    }

    /// Creates an application thread in the space whose control thread is
    /// on slot `ctl` (process `pid`), and waits for its first stop.
    fn spawn_thread(&mut self, pid: i32, ctl: usize) -> Result<ThreadId, PlatformError> {
        // A spare slot is free once the kernel has cleared its TID word:
        // the thread that had it is gone and never touches it again.
        let spare = self.spaces.get(&pid).and_then(|s| {
            s.spare.iter().position(|&slot| {
                let off = slot_addr(slot) - BASE + OFF_TID;
                self.shm.u32_at(off).load(Ordering::SeqCst) == 0
            })
        });
        let spare = spare.map(|i| {
            self.spaces
                .get_mut(&pid)
                .expect("found")
                .spare
                .swap_remove(i)
        });
        if let Some(slot) = spare {
            self.init_slot(slot);
            return self.clone_thread(pid, ctl, slot);
        }
        let slot = self.alloc_slot()?;
        self.init_slot(slot);
        let addr = slot_addr(slot);
        let mapped = self.request_ok(
            ctl,
            pid,
            libc::SYS_mmap as u64,
            [
                addr,
                SLOT_SIZE,
                (libc::PROT_READ | libc::PROT_WRITE) as u64,
                (libc::MAP_SHARED | libc::MAP_FIXED) as u64,
                SYSMSG_FD as u64,
                addr - BASE,
            ],
            "mmap of a slot in stub",
        );
        if let Err(e) = mapped {
            self.free_slot(slot);
            return Err(e);
        }
        self.clone_thread(pid, ctl, slot)
    }

    /// Clones an application thread onto `slot`, mapped in process `pid`.
    fn clone_thread(
        &mut self,
        pid: i32,
        ctl: usize,
        slot: usize,
    ) -> Result<ThreadId, PlatformError> {
        let addr = slot_addr(slot);
        let r = self.request(ctl, pid, OP_THREAD, 0, [addr, 0, 0, 0, 0, 0])?;
        if (r as i64) <= 0 {
            self.free_slot(slot);
            return Err(err(nix::errno::Errno::from_raw(-(r as i64) as i32)));
        }
        let tid = r as ThreadId;
        // Wait for its first trap.
        if !self.wait_slot_event(slot, pid, Duration::from_secs(10), false) {
            tracing::error!("new stub thread {tid} did not start");
            return Err(PlatformError::ThreadGone(tid));
        }
        let mut th = Thread {
            slot,
            space: pid,
            running: false,
            orig_rax: u64::MAX,
            uctx: 0,
            resumed: None,
            seen: None,
            fast: false,
        };
        if self.read_event(&mut th).is_none() {
            return Err(PlatformError::UnexpectedStop { tid, status: 0 });
        }
        self.threads.insert(tid, th);
        self.spaces.entry(pid).or_insert(Space {
            ctl_slot: ctl,
            threads: Vec::new(),
            spare: Vec::new(),
        });
        self.spaces
            .get_mut(&pid)
            .expect("inserted")
            .threads
            .push(tid);
        Ok(tid)
    }

    /// Decodes the event a stopped thread reported in its slot; records
    /// where its frame is. None if the slot's contents are not a valid
    /// frame (the application scribbled over it).
    fn read_event(&self, th: &mut Thread) -> Option<Event> {
        let sbase = slot_addr(th.slot);
        let off = sbase - BASE;
        let signo = self.shm.u32_at(off + OFF_SIGNO).load(Ordering::SeqCst) as i32;
        let si = self.shm.u64_at(off + OFF_SIGINFO).load(Ordering::SeqCst);
        let uc = self.shm.u64_at(off + OFF_UCTX).load(Ordering::SeqCst);
        let in_stack = |a: u64, len: u64| {
            a >= sbase + STACK_OFF && a.checked_add(len).is_some_and(|e| e <= sbase + SLOT_SIZE)
        };
        if !in_stack(si, 128)
            || !in_stack(uc, UC_SIZE)
            || !uc.is_multiple_of(8)
            || !si.is_multiple_of(8)
        {
            return None;
        }
        th.uctx = uc - sbase;
        let mut b = [0u8; 24];
        self.shm.read(si - BASE, &mut b);
        let code = i32::from_ne_bytes(b[8..12].try_into().expect("4 bytes"));
        let addr = u64::from_ne_bytes(b[16..24].try_into().expect("8 bytes"));
        th.orig_rax = u64::MAX;
        let ev = match signo {
            libc::SIGSYS if code == 1 => {
                // SYS_SECCOMP: the kernel put the call number back in rax.
                th.orig_rax = self.greg(th, G_RAX);
                Event::Syscall
            }
            libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP
                if code > 0 =>
            {
                Event::Fault(FaultInfo { signo, code, addr })
            }
            _ => Event::Interrupted,
        };
        Some(ev)
    }

    /// The word at byte `off` of thread `th`'s slot.
    fn slot_word(&self, th: &Thread, off: u64) -> &AtomicU64 {
        self.shm.u64_at(slot_addr(th.slot) - BASE + off)
    }

    /// General register `i` of the signal frame in the slot.
    fn greg(&self, th: &Thread, i: usize) -> u64 {
        self.slot_word(th, th.uctx + UC_GREGS + 8 * i as u64)
            .load(Ordering::Relaxed)
    }

    fn set_greg(&self, th: &Thread, i: usize, v: u64) {
        self.slot_word(th, th.uctx + UC_GREGS + 8 * i as u64)
            .store(v, Ordering::Relaxed)
    }

    /// Register field `f` (`F_*`) of the trampoline's message in the slot.
    fn fast_reg(&self, th: &Thread, f: u64) -> u64 {
        self.slot_word(th, f).load(Ordering::Relaxed)
    }

    fn set_fast_reg(&self, th: &Thread, f: u64, v: u64) {
        self.slot_word(th, f).store(v, Ordering::Relaxed)
    }

    /// Makes a thread stopped in the trampoline stop with its full state
    /// instead: it restores the message's registers and traps, and the
    /// handler reports the frame with the message's rip. Needed for what
    /// the message lacks (the FPU state, a `%gs` base of its own).
    fn convert(&mut self, t: ThreadId) -> Result<(), PlatformError> {
        let th = self.stopped(t)?;
        if !th.fast {
            return Ok(());
        }
        let (slot, space, orig) = (th.slot, th.space, th.orig_rax);
        let st = self.state(slot);
        st.store(ST_CONVERT, Ordering::SeqCst);
        futex_wake(st);
        if !self.wait_slot_event(slot, space, Duration::from_secs(10), false) {
            tracing::error!("stub thread {t} did not leave the trampoline");
            return Err(PlatformError::ThreadGone(t));
        }
        let mut th = self.threads.remove(&t).expect("stopped");
        let ev = self.read_event(&mut th);
        th.fast = false;
        th.orig_rax = orig;
        self.threads.insert(t, th);
        match ev {
            Some(Event::Interrupted) => Ok(()),
            other => {
                tracing::error!("stub thread {t} left the trampoline with {other:?}");
                Err(PlatformError::UnexpectedStop { tid: t, status: 0 })
            }
        }
    }

    /// The stopped thread `t`, or an error.
    fn stopped(&self, t: ThreadId) -> Result<&Thread, PlatformError> {
        let th = self.threads.get(&t).ok_or(PlatformError::ThreadGone(t))?;
        if th.running {
            return Err(PlatformError::UnexpectedStop { tid: t, status: 0 });
        }
        Ok(th)
    }

    /// Where the XSAVE area of a stopped thread's frame is (message file
    /// offset) and its length; None if the frame does not hold a valid one.
    fn fp_area(&self, th: &Thread) -> Option<(u64, usize)> {
        let sbase = slot_addr(th.slot);
        let p = self.greg(th, G_FPREGS);
        if !p.is_multiple_of(64) || p < sbase + STACK_OFF || p > sbase + SLOT_SIZE - 1024 {
            return None;
        }
        let off = p - BASE;
        let mut sw = [0u8; 24];
        self.shm.read(off + 464, &mut sw);
        let magic = u32::from_ne_bytes(sw[0..4].try_into().expect("4 bytes"));
        let size = u32::from_ne_bytes(sw[16..20].try_into().expect("4 bytes")) as u64;
        let len = if magic == FP_XSTATE_MAGIC1 {
            size
        } else {
            crate::arch::FXSAVE_SIZE as u64
        };
        if len < crate::arch::FXSAVE_SIZE as u64 || p + len > sbase + SLOT_SIZE {
            return None;
        }
        Some((off, len as usize))
    }

    /// Scans running threads for reported events and dead threads.
    /// `spinning`: the sentry did not sleep since it last scanned.
    /// Returns the shortest time from a resume to its thread's event found
    /// now, if any.
    fn scan(&mut self, out: &mut Vec<(ThreadId, Event)>, spinning: bool) -> Option<Duration> {
        let mut found: Vec<(ThreadId, Option<Event>)> = Vec::new();
        for (&tid, th) in self.threads.iter() {
            if !th.running {
                continue;
            }
            let off = slot_addr(th.slot) - BASE;
            let st = self.shm.u32_at(off + OFF_STATE).load(Ordering::Acquire);
            if st == ST_EVENT {
                found.push((tid, Some(Event::Interrupted)));
            } else if st == ST_FAST {
                found.push((tid, Some(Event::Syscall)));
            } else if self.shm.u32_at(off + OFF_TID).load(Ordering::Acquire) == 0 {
                found.push((tid, None));
            }
        }
        let mut shortest: Option<Duration> = None;
        let now = if found.is_empty() {
            None
        } else {
            Some(Instant::now())
        };
        for (tid, ev) in found {
            if ev.is_none() {
                self.forget_thread(tid);
                out.push((tid, Event::Died));
                continue;
            }
            let mut th = self.threads.remove(&tid).expect("found above");
            th.running = false;
            if let Some(now) = now {
                th.seen = Some((now, spinning));
                if let Some(r) = th.resumed.take() {
                    let d = now.saturating_duration_since(r);
                    shortest = Some(shortest.map_or(d, |s| s.min(d)));
                }
            }
            let ev = if ev == Some(Event::Syscall) {
                // A patched system call: its registers are in the message.
                th.fast = true;
                th.orig_rax = self.fast_reg(&th, F_RAX);
                self.fast_calls += 1;
                Some(Event::Syscall)
            } else {
                self.read_event(&mut th)
            };
            self.threads.insert(tid, th);
            match ev {
                Some(ev) => out.push((tid, ev)),
                None => {
                    tracing::warn!("stub thread {tid} reported a corrupt frame");
                    let space = self.threads[&tid].space;
                    // SAFETY: kill of our own stub process.
                    unsafe { libc::kill(space, libc::SIGKILL) };
                }
            }
        }
        shortest
    }

    /// Collects exits of stub processes.
    fn reap(&mut self, out: &mut Vec<(ThreadId, Event)>) {
        loop {
            let mut status = 0;
            // SAFETY: waitpid with a valid status pointer.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::__WALL | libc::WNOHANG) };
            if r <= 0 {
                break;
            }
            if r == self.master {
                tracing::error!("the master stub died (status {status:#x})");
                continue;
            }
            if let Some(sp) = self.spaces.remove(&r) {
                for t in sp.threads {
                    if let Some(th) = self.threads.remove(&t) {
                        self.free_slot(th.slot);
                        out.push((t, Event::Died));
                    }
                }
                for s in sp.spare {
                    self.free_slot(s);
                }
                self.free_slot(sp.ctl_slot);
            }
        }
    }

    fn forget_thread(&mut self, tid: ThreadId) {
        if let Some(th) = self.threads.remove(&tid) {
            if let Some(sp) = self.spaces.get_mut(&th.space) {
                sp.threads.retain(|&t| t != tid);
            }
        }
    }

    /// Lengthens the stubs' spin after a round trip their spin caught,
    /// halves it after one it missed, within the configured bound.
    fn adapt_stub_spin(&mut self, caught: bool) {
        let cur = self.stub_spin;
        let next = if caught {
            (cur + cur / 8 + 1).min(self.stub_spin_max)
        } else {
            (cur / 2).max(self.stub_spin_max.min(STUB_SPIN_MIN))
        };
        if next != cur {
            self.stub_spin = next;
            self.shm
                .u32_at(GLOBAL_ADDR - BASE + GLOBAL_OFF_SPIN)
                .store(next, Ordering::Relaxed);
        }
    }

    /// After the stub slept waiting for a reply: if the sentry was already
    /// spinning when the event came and served it quickly, a longer stub
    /// spin would have caught the reply, so spin longer; if the service was
    /// long, spin less. A reply delayed by the sentry's own sleep says
    /// nothing about the stub's spin.
    fn adapt_stub_spin_slept(&mut self, seen: Option<(Instant, bool)>) {
        match seen {
            Some((at, true)) if at.elapsed() < STUB_SERVICE_SPIN => {
                let cur = self.stub_spin;
                let next = cur.saturating_mul(2).clamp(1, self.stub_spin_max.max(1));
                if next != cur && self.stub_spin_max != 0 {
                    self.stub_spin = next;
                    self.shm
                        .u32_at(GLOBAL_ADDR - BASE + GLOBAL_OFF_SPIN)
                        .store(next, Ordering::Relaxed);
                }
            }
            Some((_, true)) => self.adapt_stub_spin(false),
            _ => {}
        }
    }

    /// After a sleep in `wait` that ended with an event `latency` after
    /// its thread was resumed: a spin that long would have caught it, so
    /// the spin grows back (within the bound) instead of staying short
    /// after one long wait.
    fn adapt_sentry_spin_slept(&mut self, latency: Option<Duration>) {
        if let Some(l) = latency {
            if l <= self.sentry_spin_max {
                let want = (l + l / 4).min(self.sentry_spin_max);
                self.sentry_spin = self.sentry_spin.max(want);
            }
        }
    }

    /// Same for the sentry's own spin in `wait`.
    fn adapt_sentry_spin(&mut self, caught: bool) {
        let cur = self.sentry_spin;
        self.sentry_spin = if caught {
            (cur + cur / 8 + Duration::from_nanos(100)).min(self.sentry_spin_max)
        } else {
            (cur / 2).max(self.sentry_spin_max.min(SENTRY_SPIN_MIN))
        };
    }

    /// Waits until the thread on `slot` (of process `pid`) reports an
    /// event, without the run loop: through the eventfd, which stubs write
    /// while the sentry says it sleeps.
    fn wait_slot_event(
        &mut self,
        slot: usize,
        pid: i32,
        limit: Duration,
        accept_fast: bool,
    ) -> bool {
        let start = Instant::now();
        self.set_sleeping(1);
        let ok = loop {
            let st = self.state(slot).load(Ordering::SeqCst);
            if st == ST_EVENT || (accept_fast && st == ST_FAST) {
                break true;
            }
            if start.elapsed() > limit || !process_alive(pid) {
                break false;
            }
            let mut pfd = libc::pollfd {
                fd: self.eventfd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: poll on one live pollfd, then a read of 8 bytes from
            // our non-blocking eventfd. Wake-ups meant for the run loop are
            // not lost: it scans every running thread before it sleeps.
            unsafe {
                libc::poll(&mut pfd, 1, 10);
                let mut v = 0u64;
                libc::read(pfd.fd, &mut v as *mut u64 as *mut libc::c_void, 8);
            }
        };
        self.set_sleeping(0);
        ok
    }

    /// Tells stubs whether to write the eventfd when they report.
    fn set_sleeping(&self, v: u32) {
        self.shm
            .u32_at(GLOBAL_ADDR - BASE)
            .store(v, Ordering::SeqCst);
    }

    fn any_running(&self) -> bool {
        self.threads.values().any(|t| t.running)
    }

    /// Threads of an address space, for tests and diagnostics.
    pub fn threads_of(&self, a: AddressSpaceId) -> Vec<ThreadId> {
        self.spaces
            .get(&a)
            .map(|s| s.threads.clone())
            .unwrap_or_default()
    }
}

// Layout of the signal frame's ucontext (x86-64).
const UC_GREGS: u64 = 40;
const UC_SIZE: u64 = 40 + 8 * 32;
const G_R8: usize = 0;
const G_RDI: usize = 8;
const G_RSI: usize = 9;
const G_RBP: usize = 10;
const G_RBX: usize = 11;
const G_RDX: usize = 12;
const G_RAX: usize = 13;
const G_RCX: usize = 14;
const G_RSP: usize = 15;
const G_RIP: usize = 16;
const G_EFL: usize = 17;
const G_CSGSFS: usize = 18;
const G_FPREGS: usize = 23;
const FP_XSTATE_MAGIC1: u32 = 0x4650_5853;

fn process_alive(pid: i32) -> bool {
    // SAFETY: siginfo_t is plain data; waitid peeks without reaping.
    unsafe {
        let mut si: libc::siginfo_t = std::mem::zeroed();
        let r = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut si,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL,
        );
        r == 0 && si.si_pid() == 0
    }
}

impl Platform for SystrapPlatform {
    fn new_address_space(&mut self) -> Result<(AddressSpaceId, ThreadId), PlatformError> {
        let ctl = self.alloc_slot()?;
        self.init_slot(ctl);
        let (master, mslot) = (self.master, self.master_slot);
        let r = self.request(mslot, master, OP_FORK, 0, [slot_addr(ctl), 0, 0, 0, 0, 0])?;
        if (r as i64) <= 0 {
            self.free_slot(ctl);
            return Err(err(nix::errno::Errno::from_raw(-(r as i64) as i32)));
        }
        let pid = r as i32;
        self.spaces.insert(
            pid,
            Space {
                ctl_slot: ctl,
                threads: Vec::new(),
                spare: Vec::new(),
            },
        );
        match self.spawn_thread(pid, ctl) {
            Ok(t) => Ok((pid, t)),
            Err(e) => {
                self.release_address_space(pid);
                Err(e)
            }
        }
    }

    fn new_thread(&mut self, sibling: ThreadId) -> Result<ThreadId, PlatformError> {
        let (pid, ctl) = self.space_of(sibling)?;
        self.spawn_thread(pid, ctl)
    }

    fn release_thread(&mut self, t: ThreadId) {
        let Some(th) = self.threads.get(&t) else {
            return;
        };
        let (space, slot, running) = (th.space, th.slot, th.running);
        let last = self.spaces.get(&space).is_none_or(|s| s.threads.len() <= 1);
        if last {
            self.release_address_space(space);
            return;
        }
        if running {
            // Stop it first: interrupt and wait for the report.
            // SAFETY: tkill of a stub thread of ours.
            unsafe { libc::syscall(libc::SYS_tkill, t, libc::SIGURG) };
            self.wait_slot_event(slot, space, Duration::from_secs(1), true);
        }
        let st = self.state(slot);
        st.store(ST_EXIT, Ordering::SeqCst);
        futex_wake(st);
        self.forget_thread(t);
        // The slot stays mapped in this process, for its next thread once
        // this one is gone (see `spawn_thread`); no need to wait here.
        if let Some(sp) = self.spaces.get_mut(&space) {
            sp.spare.push(slot);
        }
    }

    fn release_address_space(&mut self, a: AddressSpaceId) {
        let Some(sp) = self.spaces.remove(&a) else {
            return;
        };
        // SAFETY: kill and reap our own stub process (a child of ours).
        unsafe {
            libc::kill(a, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(a, &mut status, libc::__WALL);
        }
        for t in sp.threads {
            if let Some(th) = self.threads.remove(&t) {
                self.free_slot(th.slot);
            }
        }
        for s in sp.spare {
            self.free_slot(s);
        }
        self.free_slot(sp.ctl_slot);
    }

    fn map(
        &mut self,
        via: ThreadId,
        addr: u64,
        len: u64,
        prot: Prot,
        offset: u64,
    ) -> Result<(), PlatformError> {
        let (pid, ctl) = self.space_of(via)?;
        let flags = (libc::MAP_SHARED | libc::MAP_FIXED) as u64;
        self.request_ok(
            ctl,
            pid,
            libc::SYS_mmap as u64,
            [addr, len, prot as u64, flags, STUB_MEMFD as u64, offset],
            "mmap in stub",
        )?;
        Ok(())
    }

    fn unmap(&mut self, via: ThreadId, addr: u64, len: u64) -> Result<(), PlatformError> {
        let (pid, ctl) = self.space_of(via)?;
        self.request_ok(
            ctl,
            pid,
            libc::SYS_munmap as u64,
            [addr, len, 0, 0, 0, 0],
            "munmap in stub",
        )?;
        Ok(())
    }

    fn protect(
        &mut self,
        via: ThreadId,
        addr: u64,
        len: u64,
        prot: Prot,
    ) -> Result<(), PlatformError> {
        let (pid, ctl) = self.space_of(via)?;
        self.request_ok(
            ctl,
            pid,
            libc::SYS_mprotect as u64,
            [addr, len, prot as u64, 0, 0, 0],
            "mprotect in stub",
        )?;
        Ok(())
    }

    fn get_regs(&mut self, t: ThreadId) -> Result<Regs, PlatformError> {
        let th = self.stopped(t)?;
        if th.fast {
            let f = |o| self.fast_reg(th, o);
            return Ok(Regs {
                r8: f(F_R8),
                r9: f(F_R9),
                r10: f(F_R10),
                r11: f(F_R11),
                r12: f(F_R12),
                r13: f(F_R13),
                r14: f(F_R14),
                r15: f(F_R15),
                rdi: f(F_RDI),
                rsi: f(F_RSI),
                rbp: f(F_RBP),
                rbx: f(F_RBX),
                rdx: f(F_RDX),
                rax: f(F_RAX),
                rcx: f(F_RCX),
                rsp: f(F_RSP),
                rip: f(F_RIP),
                eflags: f(F_RFLAGS),
                orig_rax: th.orig_rax,
                cs: 0x33,
                ss: 0x2b,
                fs_base: f(F_FSBASE),
                // %gs holds the slot: the application's base is zero (else
                // the trampoline would have taken the slow path).
                gs_base: 0,
                ds: 0,
                es: 0,
                fs: 0,
                gs: 0,
            });
        }
        let g = |i| self.greg(th, i);
        let off = slot_addr(th.slot) - BASE;
        let csgsfs = g(G_CSGSFS);
        let ss = (csgsfs >> 48) & 0xffff;
        Ok(Regs {
            r8: g(G_R8),
            r9: g(G_R8 + 1),
            r10: g(G_R8 + 2),
            r11: g(G_R8 + 3),
            r12: g(G_R8 + 4),
            r13: g(G_R8 + 5),
            r14: g(G_R8 + 6),
            r15: g(G_R8 + 7),
            rdi: g(G_RDI),
            rsi: g(G_RSI),
            rbp: g(G_RBP),
            rbx: g(G_RBX),
            rdx: g(G_RDX),
            rax: g(G_RAX),
            rcx: g(G_RCX),
            rsp: g(G_RSP),
            rip: g(G_RIP),
            eflags: g(G_EFL),
            orig_rax: th.orig_rax,
            cs: csgsfs & 0xffff,
            ss: if ss == 0 { 0x2b } else { ss },
            fs_base: self.shm.u64_at(off + OFF_FSBASE).load(Ordering::Relaxed),
            gs_base: self.shm.u64_at(off + OFF_GSBASE).load(Ordering::Relaxed),
            ds: 0,
            es: 0,
            fs: 0,
            gs: 0,
        })
    }

    fn set_regs(&mut self, t: ThreadId, r: &Regs) -> Result<(), PlatformError> {
        let canon = |v: u64| if v < (1 << 47) { v } else { 0 };
        if self.stopped(t)?.fast && r.gs_base != 0 {
            // Only a full frame can give the thread a %gs base.
            self.convert(t)?;
        }
        let th = self.stopped(t)?;
        if th.fast {
            let vals = [
                (F_R8, r.r8),
                (F_R9, r.r9),
                (F_R10, r.r10),
                (F_R11, r.r11),
                (F_R12, r.r12),
                (F_R13, r.r13),
                (F_R14, r.r14),
                (F_R15, r.r15),
                (F_RDI, r.rdi),
                (F_RSI, r.rsi),
                (F_RBP, r.rbp),
                (F_RBX, r.rbx),
                (F_RDX, r.rdx),
                (F_RAX, r.rax),
                (F_RCX, r.rcx),
                (F_RSP, r.rsp),
                (F_RIP, r.rip),
                (F_FSBASE, canon(r.fs_base)),
            ];
            for (o, v) in vals {
                self.set_fast_reg(th, o, v);
            }
            // popfq in user mode leaves the privileged bits alone.
            self.set_fast_reg(th, F_RFLAGS, r.eflags);
            self.threads.get_mut(&t).expect("stopped").orig_rax = r.orig_rax;
            return Ok(());
        }
        let vals = [
            (G_R8, r.r8),
            (G_R8 + 1, r.r9),
            (G_R8 + 2, r.r10),
            (G_R8 + 3, r.r11),
            (G_R8 + 4, r.r12),
            (G_R8 + 5, r.r13),
            (G_R8 + 6, r.r14),
            (G_R8 + 7, r.r15),
            (G_RDI, r.rdi),
            (G_RSI, r.rsi),
            (G_RBP, r.rbp),
            (G_RBX, r.rbx),
            (G_RDX, r.rdx),
            (G_RAX, r.rax),
            (G_RCX, r.rcx),
            (G_RSP, r.rsp),
            (G_RIP, r.rip),
            (G_EFL, r.eflags),
        ];
        for (i, v) in vals {
            self.set_greg(th, i, v);
        }
        // `wrfsbase` faults on a non-canonical address; Linux refuses
        // those too (arch_prctl), so only a bug could bring one.
        let off = slot_addr(th.slot) - BASE;
        self.shm
            .u64_at(off + OFF_FSBASE)
            .store(canon(r.fs_base), Ordering::Relaxed);
        self.shm
            .u64_at(off + OFF_GSBASE)
            .store(canon(r.gs_base), Ordering::Relaxed);
        let orig = r.orig_rax;
        self.threads.get_mut(&t).expect("stopped").orig_rax = orig;
        Ok(())
    }

    fn get_fpstate(&mut self, t: ThreadId) -> Result<FpState, PlatformError> {
        self.convert(t)?;
        let th = self.stopped(t)?;
        let (off, len) = self
            .fp_area(th)
            .ok_or(PlatformError::UnexpectedStop { tid: t, status: 0 })?;
        let mut buf = vec![0u8; len];
        self.shm.read(off, &mut buf);
        Ok(FpState(buf))
    }

    fn set_fpstate(&mut self, t: ThreadId, fp: &FpState) -> Result<(), PlatformError> {
        self.convert(t)?;
        let th = self.stopped(t)?;
        let (off, len) = self
            .fp_area(th)
            .ok_or(PlatformError::UnexpectedStop { tid: t, status: 0 })?;
        let fx = crate::arch::FXSAVE_SIZE;
        let n = fp.0.len().min(len);
        let mut buf = vec![0u8; len];
        self.shm.read(off, &mut buf);
        let sw: Vec<u8> = buf[464..512].to_vec();
        buf[..n].copy_from_slice(&fp.0[..n]);
        // The software-reserved bytes describe this frame to rt_sigreturn.
        buf[464..512].copy_from_slice(&sw);
        if n <= fx && len > fx + 8 {
            // Only the legacy area given: mark x87 and SSE as in use, as
            // PTRACE_SETFPREGS does.
            buf[fx] |= 3;
        }
        // MXCSR reserved bits make rt_sigreturn fail; Linux masks them.
        let mxcsr = u32::from_ne_bytes(buf[24..28].try_into().expect("4 bytes")) & 0xffff;
        buf[24..28].copy_from_slice(&mxcsr.to_ne_bytes());
        self.shm.write(off, &buf);
        Ok(())
    }

    fn resume(&mut self, t: ThreadId) -> Result<(), PlatformError> {
        let th = self
            .threads
            .get_mut(&t)
            .ok_or(PlatformError::ThreadGone(t))?;
        if th.running {
            return Ok(());
        }
        th.running = true;
        th.fast = false;
        th.resumed = Some(Instant::now());
        let seen = th.seen.take();
        let off = slot_addr(th.slot) - BASE;
        let st = self.shm.u32_at(off + OFF_STATE);
        st.store(ST_RESUME, Ordering::SeqCst);
        // A stub still spinning sees the new state by itself. Whether it was
        // tunes how long stubs spin: there is no point spinning longer than
        // the sentry usually takes, nor on a machine too busy to run both.
        let slept = self.shm.u32_at(off + OFF_WAITING).load(Ordering::SeqCst) != 0;
        if slept {
            futex_wake(st);
            self.adapt_stub_spin_slept(seen);
        } else {
            self.adapt_stub_spin(true);
        }
        Ok(())
    }

    fn patch_entry(&self) -> Option<u64> {
        self.patch.then_some(BASE)
    }

    fn stopped_fast(&self, t: ThreadId) -> bool {
        self.threads.get(&t).is_some_and(|th| th.fast)
    }

    fn fast_calls(&self) -> u64 {
        self.fast_calls
    }

    fn wait(
        &mut self,
        timeout: Option<Duration>,
        fds: &[(i32, i16)],
    ) -> Result<Vec<(ThreadId, Event)>, PlatformError> {
        let mut events = std::mem::take(&mut self.queued);
        self.scan(&mut events, true);
        if !events.is_empty() {
            // The fast path makes a host call for exits only after a
            // SIGCHLD.
            if super::ptrace::SIGCHLD_SEEN.swap(false, Ordering::SeqCst) {
                self.reap(&mut events);
            }
            return Ok(events);
        }
        if timeout == Some(Duration::ZERO) {
            self.reap(&mut events);
            return Ok(events);
        }
        // Spin a little: a running thread often reports within microseconds.
        if self.any_running() && !self.sentry_spin.is_zero() {
            let start = Instant::now();
            let spin = timeout.map_or(self.sentry_spin, |t| t.min(self.sentry_spin));
            while start.elapsed() < spin {
                // A `pause` takes tens of ns on recent CPUs: look often,
                // each look is a few loads per running thread.
                for _ in 0..2 {
                    std::hint::spin_loop();
                }
                self.scan(&mut events, true);
                if !events.is_empty() {
                    self.adapt_sentry_spin(true);
                    return Ok(events);
                }
            }
            self.adapt_sentry_spin(false);
        }
        self.set_sleeping(1);
        let latency = self.scan(&mut events, true);
        if !events.is_empty() {
            self.set_sleeping(0);
            self.adapt_sentry_spin_slept(latency);
            return Ok(events);
        }
        let mut pfds = Vec::with_capacity(fds.len() + 2);
        for fd in [self.eventfd.as_raw_fd(), self.sigchld] {
            pfds.push(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        for &(fd, ev) in fds {
            pfds.push(libc::pollfd {
                fd,
                events: ev,
                revents: 0,
            });
        }
        // Threads killed from outside clear their TID word without waking
        // anyone: never sleep very long without scanning.
        let cap = Duration::from_millis(200);
        let t = timeout.map_or(cap, |d| d.min(cap));
        let ms = t.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: poll over a live array of pollfds.
        unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        self.set_sleeping(0);
        if pfds[0].revents != 0 {
            let mut v = 0u64;
            // SAFETY: read of 8 bytes from our non-blocking eventfd.
            unsafe { libc::read(pfds[0].fd, &mut v as *mut u64 as *mut libc::c_void, 8) };
        }
        let latency = self.scan(&mut events, false);
        self.adapt_sentry_spin_slept(latency);
        if pfds[1].revents != 0 || super::ptrace::SIGCHLD_SEEN.swap(false, Ordering::SeqCst) {
            super::ptrace::drain_pipe(self.sigchld);
            self.reap(&mut events);
        }
        Ok(events)
    }
}

impl Drop for SystrapPlatform {
    fn drop(&mut self) {
        let spaces: Vec<AddressSpaceId> = self.spaces.keys().copied().collect();
        for a in spaces {
            self.release_address_space(a);
        }
        // SAFETY: kill and reap our own master stub.
        unsafe {
            libc::kill(self.master, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.master, &mut status, libc::__WALL);
        }
    }
}

/// Reserves the stub region in the sentry and maps the code and the global
/// page there, so that the forked master inherits them. A second platform
/// in the same process reuses the reservation.
fn map_region(sysmsg: RawFd) -> nix::Result<()> {
    static RESERVED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    // SAFETY: mappings inside the region this module reserves for itself
    // (MAP_FIXED_NOREPLACE the first time, so nothing of the sentry's is
    // replaced), then a copy of the stub code into its page.
    unsafe {
        if !RESERVED.load(Ordering::SeqCst) {
            let p = libc::mmap(
                BASE as *mut libc::c_void,
                REGION_LEN as usize,
                libc::PROT_NONE,
                libc::MAP_PRIVATE
                    | libc::MAP_ANONYMOUS
                    | libc::MAP_NORESERVE
                    | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return Err(nix::errno::Errno::last());
            }
            RESERVED.store(true, Ordering::SeqCst);
        }
        let code = stub_code();
        assert!(code.len() <= 0x1000, "the stub code fits its page");
        let p = libc::mmap(
            BASE as *mut libc::c_void,
            0x1000,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err(nix::errno::Errno::last());
        }
        std::ptr::copy_nonoverlapping(code.as_ptr(), p as *mut u8, code.len());
        if libc::mprotect(p, 0x1000, libc::PROT_READ | libc::PROT_EXEC) != 0 {
            return Err(nix::errno::Errno::last());
        }
        let g = libc::mmap(
            GLOBAL_ADDR as *mut libc::c_void,
            0x1000,
            libc::PROT_READ,
            libc::MAP_SHARED | libc::MAP_FIXED,
            sysmsg,
            (GLOBAL_ADDR - BASE) as libc::off_t,
        );
        if g == libc::MAP_FAILED {
            return Err(nix::errno::Errno::last());
        }
    }
    Ok(())
}

/// A BPF program with symbolic jump targets.
enum Bpf {
    Ld(u32),
    /// Jump to the first label if A == k, else to the second.
    Jeq(u32, &'static str, &'static str),
    /// Jump to the first label if A >= k, else to the second.
    Jge(u32, &'static str, &'static str),
    Ret(u32),
    Label(&'static str),
}

fn assemble(prog: &[Bpf]) -> Vec<libc::sock_filter> {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let mut labels = HashMap::new();
    let mut n = 0usize;
    for i in prog {
        match i {
            Bpf::Label(l) => {
                labels.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::new();
    for i in prog {
        let pc = out.len();
        let rel = |l: &str| (labels[l] - pc - 1) as u8;
        let f = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
        match i {
            Bpf::Label(_) => continue,
            Bpf::Ld(off) => out.push(f(LD_W_ABS, *off, 0, 0)),
            Bpf::Jeq(k, t, e) => out.push(f(JEQ_K, *k, rel(t), rel(e))),
            Bpf::Jge(k, t, e) => out.push(f(JGE_K, *k, rel(t), rel(e))),
            Bpf::Ret(k) => out.push(f(RET_K, *k, 0, 0)),
        }
    }
    out
}

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// The filter of every stub thread: host calls made from the stub code page
/// run; any other traps (and reaches the sentry as `SIGSYS`).
fn ctl_filter() -> Vec<libc::sock_filter> {
    use Bpf::*;
    let lo = BASE as u32;
    assemble(&[
        Ld(4),
        Jeq(AUDIT_ARCH_X86_64, "arch", "kill"),
        Label("arch"),
        Ld(12),
        Jeq((BASE >> 32) as u32, "hi", "trap"),
        Label("hi"),
        Ld(8),
        Jge(lo, "above", "trap"),
        Label("above"),
        Jge(lo + 0x1000, "trap", "allow"),
        Label("allow"),
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("trap"),
        Ret(libc::SECCOMP_RET_TRAP),
        Label("kill"),
        Ret(libc::SECCOMP_RET_KILL_PROCESS),
    ])
}

/// The extra filter of application threads: from the handler's one system
/// call instruction only `futex`, `exit` and a `write` to the eventfd; from
/// the restorer only `rt_sigreturn`. Everything else traps.
fn app_filter() -> Vec<libc::sock_filter> {
    use Bpf::*;
    let hsys = code_off(std::ptr::addr_of!(systrap_hsys));
    let rsys = code_off(std::ptr::addr_of!(systrap_restorer_sys));
    let hsys_ip = (BASE + hsys + 2) as u32;
    let rsys_ip = (BASE + rsys + 2) as u32;
    assemble(&[
        Ld(4),
        Jeq(AUDIT_ARCH_X86_64, "arch", "kill"),
        Label("arch"),
        Ld(12),
        Jeq((BASE >> 32) as u32, "hi", "trap"),
        Label("hi"),
        Ld(8),
        Jeq(hsys_ip, "handler", "not_handler"),
        Label("not_handler"),
        Jeq(rsys_ip, "restorer", "trap"),
        Label("restorer"),
        Ld(0),
        Jeq(libc::SYS_rt_sigreturn as u32, "allow", "trap"),
        Label("handler"),
        Ld(0),
        Jeq(libc::SYS_futex as u32, "allow", "not_futex"),
        Label("not_futex"),
        Jeq(libc::SYS_exit as u32, "allow", "not_exit"),
        Label("not_exit"),
        Jeq(libc::SYS_write as u32, "write", "trap"),
        Label("write"),
        Ld(20),
        Jeq(0, "write_lo", "trap"),
        Label("write_lo"),
        Ld(16),
        Jeq(EVENTFD_FD as u32, "allow", "trap"),
        Label("allow"),
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("trap"),
        Ret(libc::SECCOMP_RET_TRAP),
        Label("kill"),
        Ret(libc::SECCOMP_RET_KILL_PROCESS),
    ])
}

const SA_RESTORER: i32 = 0x0400_0000;

/// Kernel `struct sigaction` for rt_sigaction.
#[repr(C)]
struct KernelSigaction {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

/// The master stub's setup after fork: die with the sentry, leave its
/// session, keep only the memory file, the message file and the eventfd,
/// install the stub's signal handlers and filter, and jump into the stub
/// code, which drops every other mapping.
///
/// # Safety
/// Must be called only in a freshly forked child; never returns.
unsafe fn master_child(parent: i32, fds: [RawFd; 3], slot: u64, prog: &libc::sock_fprog) -> ! {
    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    if libc::getppid() != parent {
        libc::_exit(1);
    }
    libc::setsid();
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    // Move the three descriptors out of the way, then to 3, 4, 5.
    let mut high = [0; 3];
    for (i, &fd) in fds.iter().enumerate() {
        high[i] = libc::fcntl(fd, libc::F_DUPFD, 100);
        if high[i] < 0 {
            libc::_exit(1);
        }
    }
    for (i, &fd) in high.iter().enumerate() {
        if libc::dup2(fd, STUB_MEMFD + i as i32) < 0 {
            libc::_exit(1);
        }
    }
    libc::syscall(libc::SYS_close_range, 0, STUB_MEMFD - 1, 0);
    libc::syscall(libc::SYS_close_range, EVENTFD_FD + 1, u32::MAX, 0);
    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    super::ptrace::unregister_rseq();
    let handler = BASE + code_off(std::ptr::addr_of!(systrap_handler));
    let restorer = BASE + code_off(std::ptr::addr_of!(systrap_restorer));
    for sig in HANDLED {
        let sa = KernelSigaction {
            handler,
            flags: (libc::SA_SIGINFO | libc::SA_ONSTACK | SA_RESTORER) as u64,
            restorer,
            mask: !0,
        };
        let r = libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            &sa as *const KernelSigaction,
            0usize,
            8usize,
        );
        if r != 0 {
            libc::_exit(1);
        }
    }
    let entry = BASE + code_off(std::ptr::addr_of!(systrap_master_entry));
    if libc::syscall(libc::SYS_seccomp, 1, 0, prog as *const libc::sock_fprog) != 0 {
        libc::_exit(1);
    }
    // From here on only the stub code may make host calls.
    std::arch::asm!("jmp {e}", e = in(reg) entry, in("rdi") slot, options(noreturn));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryFile;

    fn wait_one(p: &mut SystrapPlatform, t: ThreadId) -> Event {
        for _ in 0..200 {
            for (tid, ev) in p.wait(Some(Duration::from_millis(50)), &[]).unwrap() {
                if tid == t {
                    return ev;
                }
            }
        }
        panic!("no event from thread {t}");
    }

    #[test]
    fn the_fast_entries_are_where_patch_tables_expect_them() {
        let code = stub_code();
        // Where the jump at `at` goes.
        let target = |at: usize| match code[at] {
            0xeb => (at as i64 + 2 + code[at + 1] as i8 as i64) as usize,
            0xe9 => {
                let d = i32::from_le_bytes(code[at + 1..at + 5].try_into().unwrap());
                (at as i64 + 5 + d as i64) as usize
            }
            other => panic!("no jump at {at}: {other:#x}"),
        };
        // The first entry reads the number from the table entry
        // (`mov eax, [r11 + 1]`); the second checks the number in eax
        // (`cmp eax, 15`, rt_sigreturn).
        let imm = target(0);
        assert_eq!(code[imm..imm + 4], [0x41, 0x8b, 0x43, 0x01]);
        let rax = target(crate::mm::patch::RAX_ENTRY_OFF as usize);
        assert_eq!(
            code[rax..rax + 3],
            [0x83, 0xf8, libc::SYS_rt_sigreturn as u8]
        );
    }

    #[test]
    fn syscalls_are_caught_not_run() {
        let _one_platform = crate::sandbox::TEST_BOOT_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mf = MemoryFile::new().unwrap();
        // mov eax, 39 (getpid); syscall; int3
        mf.write(0, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xcc]);
        let mut p = SystrapPlatform::new(mf.raw_fd()).unwrap();
        let (a, t) = p.new_address_space().unwrap();
        p.map(t, 0x400000, 0x1000, libc::PROT_READ | libc::PROT_EXEC, 0)
            .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rip = 0x400000;
        r.fs_base = 0x1234_5000;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        assert_eq!(wait_one(&mut p, t), Event::Syscall);
        let mut r = p.get_regs(t).unwrap();
        assert_eq!(r.orig_rax, 39);
        assert_eq!(r.rip, 0x400007);
        assert_eq!(r.fs_base, 0x1234_5000);
        r.rax = 1234;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        match wait_one(&mut p, t) {
            Event::Fault(f) => assert_eq!(f.signo, libc::SIGTRAP),
            e => panic!("unexpected {e:?}"),
        }
        assert_eq!(p.get_regs(t).unwrap().rax, 1234);
        // The FPU state reads and writes back.
        let mut fp = p.get_fpstate(t).unwrap();
        assert!(fp.0.len() >= 512);
        fp.0[160] = 0x5a; // xmm0's first byte
        p.set_fpstate(t, &fp).unwrap();
        assert_eq!(p.get_fpstate(t).unwrap().0[160], 0x5a);
        // A second thread in the same address space sees the same memory.
        let t2 = p.new_thread(t).unwrap();
        assert_eq!(p.threads_of(a).len(), 2);
        let mut r = p.get_regs(t2).unwrap();
        r.rip = 0x400000;
        p.set_regs(t2, &r).unwrap();
        p.resume(t2).unwrap();
        assert_eq!(wait_one(&mut p, t2), Event::Syscall);
        p.release_thread(t2);
        assert_eq!(p.threads_of(a).len(), 1);
        // Touching unmapped memory is a fault reported to the sentry.
        mf.write(0x1000, &[0x8b, 0x04, 0x25, 0x00, 0x00, 0x50, 0x00]); // mov eax, [0x500000]
        p.map(
            t,
            0x401000,
            0x1000,
            libc::PROT_READ | libc::PROT_EXEC,
            0x1000,
        )
        .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rip = 0x401000;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        match wait_one(&mut p, t) {
            Event::Fault(f) => {
                assert_eq!(f.signo, libc::SIGSEGV);
                assert_eq!(f.addr, 0x500000);
            }
            e => panic!("unexpected {e:?}"),
        }
        // An application jumping to the stub's own system call instruction
        // still only traps.
        let mut r = p.get_regs(t).unwrap();
        r.rip = BASE + code_off(std::ptr::addr_of!(systrap_hsys));
        r.rax = libc::SYS_getppid as u64;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        assert_eq!(wait_one(&mut p, t), Event::Syscall);
        assert_eq!(p.get_regs(t).unwrap().orig_rax, libc::SYS_getppid as u64);
        // A kick interrupts a thread spinning in application code.
        mf.write(0x2000, &[0xeb, 0xfe]); // jmp .
        p.map(
            t,
            0x402000,
            0x1000,
            libc::PROT_READ | libc::PROT_EXEC,
            0x2000,
        )
        .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rip = 0x402000;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: tkill of our own stub thread.
        unsafe { libc::syscall(libc::SYS_tkill, t, libc::SIGURG) };
        assert_eq!(wait_one(&mut p, t), Event::Interrupted);
        assert_eq!(p.get_regs(t).unwrap().rip, 0x402000);
        let (b, tb) = p.new_address_space().unwrap();
        // Killing a stub from outside is reported as a death.
        // SAFETY: kill of our own stub process.
        unsafe { libc::kill(b, libc::SIGKILL) };
        assert_eq!(wait_one(&mut p, tb), Event::Died);
        p.release_address_space(a);
    }
}
