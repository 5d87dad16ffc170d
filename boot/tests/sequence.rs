//! The whole order of operations of the crate documentation, as `runsc
//! create` and `runsc boot` will run it: namespaces, cgroups, release,
//! host limits, descriptors, empty root, capabilities, master stub,
//! `no_new_privs`, seccomp; then the sentry's platform runs application
//! code in the confined sandbox.

mod common;

use boot::cgroups::{CgroupPath, Cgroups};
use boot::confine::{self, DEFAULT_MOUNT_POINT};
use boot::namespaces::{self, NamespacePlan, Spawned};
use boot::rlimits::{self, SandboxNeeds};
use common::{read_at_start, root_or_skip, status_field};
use oci_spec::runtime::{
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder,
    LinuxResourcesBuilder,
};
use sentry::memory::MemoryFile;
use sentry::platform::ptrace::PtracePlatform;
use sentry::platform::{Event, Platform};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// What the sandbox process does after release (`runsc boot`).
fn sandbox(filter: &seccompiler::BpfProgram) -> String {
    let mut out = String::new();
    let changed = rlimits::prepare_host_limits(&SandboxNeeds::default()).unwrap();
    writeln!(out, "rlimits changed={}", changed.len()).unwrap();
    // Descriptors.
    let status = File::open("/proc/self/status").unwrap();
    let mf = MemoryFile::new().unwrap();
    mf.write(0, &[0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xcc]); // getpid; int3
                                                         // Confinement around the master stub's fork.
    confine::enter_empty_root(Path::new(DEFAULT_MOUNT_POINT)).unwrap();
    confine::drop_capabilities().unwrap();
    let mut platform = PtracePlatform::new(mf.raw_fd()).unwrap();
    confine::set_no_new_privs().unwrap();
    confine::install(filter).unwrap();

    let text = read_at_start(&status);
    for key in ["NSpid", "Seccomp", "NoNewPrivs", "CapEff", "CapBnd"] {
        writeln!(out, "{key}={}", status_field(&text, key).unwrap_or("?")).unwrap();
    }
    let (space, t) = platform.new_address_space().unwrap();
    platform
        .map(t, 0x400000, 0x1000, libc::PROT_READ | libc::PROT_EXEC, 0)
        .unwrap();
    let mut regs = platform.get_regs(t).unwrap();
    regs.rip = 0x400000;
    platform.set_regs(t, &regs).unwrap();
    platform.resume(t).unwrap();
    let mut event = None;
    for _ in 0..200 {
        if let Some((_, ev)) = platform
            .wait(Some(Duration::from_millis(50)), &[])
            .unwrap()
            .into_iter()
            .find(|(tid, _)| *tid == t)
        {
            event = Some(ev);
            break;
        }
    }
    writeln!(
        out,
        "stub={} event={:?} nr={}",
        space,
        event,
        platform.get_regs(t).unwrap().orig_rax
    )
    .unwrap();
    platform.release_address_space(space);
    out
}

#[test]
fn create_then_boot_in_the_documented_order() {
    if !root_or_skip("create_then_boot_in_the_documented_order") {
        return;
    }
    let filter = confine::sentry_filter();
    let spec_namespaces = [LinuxNamespaceBuilder::default()
        .typ(LinuxNamespaceType::Network)
        .build()
        .unwrap()];
    let plan = NamespacePlan::for_sandbox(&spec_namespaces).unwrap();
    let cg = Cgroups::detect().unwrap();
    let path = CgroupPath::from_spec(
        Some(Path::new(&format!(
            "/runsc-boot-seq-{}",
            std::process::id()
        ))),
        "seq",
        false,
    )
    .unwrap();
    let resources = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(512i64 << 20)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(16).build().unwrap())
        .build()
        .unwrap();
    let (r, w) = nix::unistd::pipe().unwrap();

    // SAFETY: the sandbox side runs `sandbox` and exits without returning.
    match unsafe { namespaces::spawn(&plan, None) }.unwrap() {
        Spawned::Child => {
            drop(r);
            let out = std::panic::catch_unwind(|| sandbox(&filter))
                .unwrap_or_else(|_| "sandbox panicked".into());
            let _ = File::from(w).write_all(out.as_bytes());
            // SAFETY: end the sandbox without returning into the harness.
            unsafe { libc::_exit(0) };
        }
        Spawned::Parent(child) => {
            drop(w);
            let pid = child.pid();
            cg.apply(&path, Some(&resources), pid).unwrap();
            child.release().unwrap();
            let mut out = String::new();
            File::from(r).read_to_string(&mut out).unwrap();
            let status = nix::sys::wait::waitpid(pid, None).unwrap();
            cg.remove(&path).unwrap();

            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(pid, 0),
                "sandbox said:\n{out}"
            );
            for want in [
                format!("NSpid={pid}\t1"),
                "Seccomp=2".into(),
                "NoNewPrivs=1".into(),
                "CapEff=0000000000000000".into(),
                "CapBnd=0000000000000000".into(),
                // The master stub is PID 2, so the first address space is 3.
                format!("stub=3 event={:?} nr=39", Some(Event::Syscall)),
            ] {
                assert!(out.contains(&want), "missing {want:?} in:\n{out}");
            }
        }
    }
}
