//! The sentry's ptrace platform keeps working once the sandbox is confined
//! in the documented order: empty root and capabilities gone, master stub
//! forked, then `no_new_privs` and the sentry's seccomp filter.
//!
//! This is the check that the policy table covers what the platform does:
//! a missing call shows up here as a child killed by SIGSYS.

mod common;

use boot::confine::{self, DEFAULT_MOUNT_POINT};
use common::{in_child, root_or_skip};
use sentry::memory::MemoryFile;
use sentry::platform::ptrace::PtracePlatform;
use sentry::platform::{Event, Platform, ThreadId};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

fn wait_for(p: &mut PtracePlatform, t: ThreadId) -> Event {
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
fn the_ptrace_platform_runs_under_full_confinement() {
    if !root_or_skip("the_ptrace_platform_runs_under_full_confinement") {
        return;
    }
    let filter = confine::sentry_filter();
    let outcome = in_child(|out| {
        // Step 5: descriptors, here just the memory file.
        let mf = MemoryFile::new().unwrap();
        // mov eax, 39 (getpid); syscall; int3
        mf.write(0, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xcc]);
        // Steps 6 and 7.
        confine::enter_empty_root(Path::new(DEFAULT_MOUNT_POINT)).unwrap();
        confine::drop_capabilities().unwrap();
        // Step 8: the master stub, without capabilities and with no root.
        let mut p = PtracePlatform::new(mf.raw_fd()).unwrap();
        // Steps 9 and 10.
        confine::set_no_new_privs().unwrap();
        confine::install(&filter).unwrap();
        writeln!(out, "confined").unwrap();

        let (a, t) = p.new_address_space().unwrap();
        p.map(t, 0x400000, 0x1000, libc::PROT_READ | libc::PROT_EXEC, 0)
            .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rip = 0x400000;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        let ev = wait_for(&mut p, t);
        writeln!(
            out,
            "first stop {ev:?} orig_rax={}",
            p.get_regs(t).unwrap().orig_rax
        )
        .unwrap();
        let mut r = p.get_regs(t).unwrap();
        r.rax = 1234;
        p.set_regs(t, &r).unwrap();
        p.resume(t).unwrap();
        let ev = wait_for(&mut p, t);
        writeln!(out, "second stop {ev:?} rax={}", p.get_regs(t).unwrap().rax).unwrap();
        let fp = p.get_fpstate(t).unwrap();
        p.set_fpstate(t, &fp).unwrap();
        let t2 = p.new_thread(t).unwrap();
        let mut r = p.get_regs(t2).unwrap();
        r.rip = 0x400000;
        p.set_regs(t2, &r).unwrap();
        p.resume(t2).unwrap();
        let ev = wait_for(&mut p, t2);
        writeln!(out, "thread stop {ev:?}").unwrap();
        p.release_thread(t2);
        let (b, _) = p.new_address_space().unwrap();
        p.release_address_space(a);
        p.release_address_space(b);
        writeln!(out, "done").unwrap();
    });
    outcome.assert_success();
    let o = &outcome.output;
    assert!(o.contains("first stop Syscall orig_rax=39"), "{o}");
    assert!(o.contains("rax=1234"), "{o}");
    assert!(o.contains("thread stop Syscall"), "{o}");
    assert!(o.contains("done"), "{o}");
}
