//! `namespaces::spawn` with real namespaces: the sandbox process is PID 1
//! of its own PID namespace, sees fresh namespaces, joins one by path, gets
//! its user namespace's maps, and its cgroup namespace after release.

mod common;

use boot::namespaces::{self, IdMappings, NamespacePlan, Spawned};
use common::root_or_skip;
use nix::unistd::Pid;
use oci_spec::runtime::{
    LinuxIdMapping, LinuxIdMappingBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType as T,
};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

fn ns(typ: T, path: Option<String>) -> LinuxNamespace {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    b.build().unwrap()
}

fn map(inside: u32, outside: u32, size: u32) -> LinuxIdMapping {
    LinuxIdMappingBuilder::default()
        .container_id(inside)
        .host_id(outside)
        .size(size)
        .build()
        .unwrap()
}

fn ns_link(pid: &str, typ: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{typ}"))
        .unwrap()
        .display()
        .to_string()
}

/// Runs `body` as the sandbox process: writes what it returns to `out` and
/// exits, never returning into the test harness.
fn sandbox_main(out: OwnedFd, body: impl FnOnce() -> String) -> ! {
    let text = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or_else(|_| "panicked".into());
    let _ = File::from(out).write_all(text.as_bytes());
    // SAFETY: ends the sandbox process without returning to the harness.
    unsafe { libc::_exit(0) }
}

fn wait(pid: Pid) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid on our own child with a valid status pointer.
    let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, 0) };
    assert_eq!(r, pid.as_raw());
    status
}

/// Spawns with `plan`, runs `check` in the caller before release and `body`
/// in the sandbox; returns what the sandbox wrote and its wait status.
fn run(
    plan: &NamespacePlan,
    ids: Option<&IdMappings>,
    check: impl FnOnce(Pid),
    body: impl FnOnce() -> String,
) -> (String, i32) {
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the sandbox side only runs `body` and exits.
    match unsafe { namespaces::spawn(plan, ids) }.unwrap() {
        Spawned::Child => {
            drop(r);
            sandbox_main(w, body)
        }
        Spawned::Parent(sandbox) => {
            drop(w);
            let pid = sandbox.pid();
            check(pid);
            assert_eq!(sandbox.release().unwrap(), pid);
            let mut out = String::new();
            File::from(r).read_to_string(&mut out).unwrap();
            (out, wait(pid))
        }
    }
}

#[test]
fn the_sandbox_is_pid_1_of_fresh_namespaces_and_the_caller_gets_its_host_pid() {
    if !root_or_skip("the_sandbox_is_pid_1_of_fresh_namespaces") {
        return;
    }
    let plan = NamespacePlan::for_sandbox(&[ns(T::Network, None)]).unwrap();
    let mine: Vec<String> = ["pid", "mnt", "ipc", "uts", "net"]
        .iter()
        .map(|t| ns_link("self", t))
        .collect();
    let hostname = nix::unistd::gethostname().unwrap();
    let (out, status) = run(
        &plan,
        None,
        |pid| {
            assert!(pid.as_raw() > 1);
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
            let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
            assert_eq!(nspid, format!("NSpid:\t{pid}\t1"), "{status}");
        },
        || {
            nix::unistd::sethostname("sandbox-test").unwrap();
            let links: Vec<String> = ["pid_for_children", "mnt", "ipc", "uts", "net"]
                .iter()
                .map(|t| ns_link("self", t))
                .collect();
            format!(
                "pid={}\n{}\nhostname={}",
                nix::unistd::getpid(),
                links.join("\n"),
                nix::unistd::gethostname().unwrap().to_string_lossy()
            )
        },
    );
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert!(out.starts_with("pid=1\n"), "{out}");
    for link in &mine {
        assert!(
            !out.contains(link.as_str()),
            "{link} shared with the caller:\n{out}"
        );
    }
    assert!(out.contains("hostname=sandbox-test"), "{out}");
    assert_eq!(nix::unistd::gethostname().unwrap(), hostname);
}

#[test]
fn a_namespace_given_by_path_is_joined() {
    if !root_or_skip("a_namespace_given_by_path_is_joined") {
        return;
    }
    // A first sandbox holds a new network namespace until told to stop.
    let holder_plan = NamespacePlan::from_spec(&[ns(T::Network, None)]).unwrap();
    let (stop_r, stop_w) = nix::unistd::pipe().unwrap();
    // SAFETY: the sandbox side only waits on a pipe and exits.
    let holder = match unsafe { namespaces::spawn(&holder_plan, None) }.unwrap() {
        Spawned::Child => {
            drop(stop_w);
            let mut b = [0u8; 1];
            let _ = File::from(stop_r).read(&mut b);
            // SAFETY: ends the holder.
            unsafe { libc::_exit(0) }
        }
        Spawned::Parent(p) => p.release().unwrap(),
    };
    drop(stop_r);
    let path = format!("/proc/{holder}/ns/net");
    let want = ns_link(&holder.to_string(), "net");
    assert_ne!(want, ns_link("self", "net"));

    let plan = NamespacePlan::from_spec(&[ns(T::Network, Some(path)), ns(T::Uts, None)]).unwrap();
    let (out, status) = run(&plan, None, |_| {}, || ns_link("self", "net"));
    drop(stop_w);
    wait(holder);
    assert!(libc::WIFEXITED(status));
    assert_eq!(out, want);
}

#[test]
fn a_new_user_namespace_gets_its_maps_and_the_sandbox_is_root_in_it() {
    if !root_or_skip("a_new_user_namespace_gets_its_maps") {
        return;
    }
    let plan = NamespacePlan::for_sandbox(&[ns(T::User, None)]).unwrap();
    let ids = IdMappings::new(vec![map(0, 200000, 65536)], vec![map(0, 200000, 65536)]);
    let (out, status) = run(
        &plan,
        Some(&ids),
        |pid| {
            let uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).unwrap();
            assert_eq!(
                uid_map.split_whitespace().collect::<Vec<_>>(),
                ["0", "200000", "65536"]
            );
            let setgroups = std::fs::read_to_string(format!("/proc/{pid}/setgroups")).unwrap();
            assert_eq!(setgroups.trim(), "allow");
        },
        || {
            let status = std::fs::read_to_string("/proc/self/status").unwrap();
            let field = |k: &str| {
                status
                    .lines()
                    .find(|l| l.starts_with(k))
                    .unwrap_or("?")
                    .to_string()
            };
            format!(
                "uid={} gid={} groups={:?}\n{}\n{}",
                nix::unistd::getuid(),
                nix::unistd::getgid(),
                nix::unistd::getgroups().unwrap(),
                field("Uid:"),
                field("CapEff:")
            )
        },
    );
    assert!(libc::WIFEXITED(status), "{out}");
    assert!(out.starts_with("uid=0 gid=0 groups=[]"), "{out}");
    assert!(out.contains("Uid:\t0\t0\t0\t0"), "{out}");
    assert!(!out.contains("CapEff:\t0000000000000000"), "{out}");
}

#[test]
fn the_cgroup_namespace_is_made_after_release() {
    if !root_or_skip("the_cgroup_namespace_is_made_after_release") {
        return;
    }
    let plan = NamespacePlan::from_spec(&[ns(T::Cgroup, None)]).unwrap();
    let (out, status) = run(
        &plan,
        None,
        |pid| {
            // Before release the child still shares the caller's.
            assert_eq!(
                ns_link(&pid.to_string(), "cgroup"),
                ns_link("self", "cgroup")
            );
        },
        || {
            format!(
                "{}---\n{}",
                std::fs::read_to_string("/proc/self/cgroup").unwrap(),
                ns_link("self", "cgroup")
            )
        },
    );
    assert!(libc::WIFEXITED(status));
    let (cgroups, link) = out.split_once("---\n").unwrap();
    assert_ne!(link, ns_link("self", "cgroup"));
    for line in cgroups.lines() {
        assert!(line.ends_with(":/"), "not rooted at its own cgroup: {line}");
    }
}

#[test]
fn errors_name_the_namespace_and_path() {
    if !root_or_skip("errors_name_the_namespace_and_path") {
        return;
    }
    let missing =
        NamespacePlan::from_spec(&[ns(T::Network, Some("/nonexistent/netns".into()))]).unwrap();
    // SAFETY: fails before forking.
    let err = unsafe { namespaces::spawn(&missing, None) }.err().unwrap();
    assert!(
        err.to_string().contains("net namespace /nonexistent/netns"),
        "{err}"
    );

    // A UTS namespace file given as the network namespace.
    let wrong =
        NamespacePlan::from_spec(&[ns(T::Network, Some("/proc/self/ns/uts".into()))]).unwrap();
    // SAFETY: the intermediate fails before any sandbox process exists.
    let err = unsafe { namespaces::spawn(&wrong, None) }.err().unwrap();
    assert_eq!(
        err.to_string(),
        "joining the net namespace /proc/self/ns/uts failed: EINVAL: Invalid argument"
    );

    let user = NamespacePlan::from_spec(&[ns(T::User, None)]).unwrap();
    // SAFETY: fails before forking.
    let err = unsafe { namespaces::spawn(&user, None) }.err().unwrap();
    assert!(err.to_string().contains("uid and gid mappings"), "{err}");
}

#[test]
fn dropping_without_release_ends_and_reaps_the_sandbox() {
    if !root_or_skip("dropping_without_release_ends_and_reaps_the_sandbox") {
        return;
    }
    let plan = NamespacePlan::for_sandbox(&[]).unwrap();
    // SAFETY: the sandbox side never gets past its wait: it exits there.
    let pid = match unsafe { namespaces::spawn(&plan, None) }.unwrap() {
        Spawned::Child => {
            // Released by mistake: fail loudly without returning.
            // SAFETY: ends the process.
            unsafe { libc::_exit(3) }
        }
        Spawned::Parent(p) => {
            let pid = p.pid();
            drop(p);
            pid
        }
    };
    // Already reaped: no such child any more.
    let mut status = 0;
    // SAFETY: waitpid with a valid status pointer.
    let r = unsafe { libc::waitpid(pid.as_raw(), &mut status, libc::WNOHANG) };
    assert_eq!(r, -1);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn an_unprivileged_caller_maps_only_itself_with_setgroups_denied() {
    if !root_or_skip("an_unprivileged_caller_maps_only_itself") {
        return;
    }
    let outcome = common::in_child(|report| {
        // Become an ordinary user (nobody) that can still read its own
        // children's /proc files.
        nix::unistd::setgroups(&[]).unwrap();
        nix::unistd::setresgid(65534.into(), 65534.into(), 65534.into()).unwrap();
        nix::unistd::setresuid(65534.into(), 65534.into(), 65534.into()).unwrap();
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) };
        let plan = NamespacePlan::for_sandbox(&[ns(T::User, None)]).unwrap();
        let ids = IdMappings::new(vec![map(0, 65534, 1)], vec![map(0, 65534, 1)]);
        assert_eq!(ids.setgroups, namespaces::Setgroups::Deny);
        let (out, status) = run(
            &plan,
            Some(&ids),
            |_| {},
            || {
                format!(
                    "uid={} setgroups={}",
                    nix::unistd::getuid(),
                    std::fs::read_to_string("/proc/self/setgroups")
                        .unwrap()
                        .trim()
                )
            },
        );
        write!(report, "{out} exited={}", libc::WIFEXITED(status)).unwrap();
    });
    outcome.assert_success();
    assert_eq!(outcome.output, "uid=0 setgroups=deny exited=true");
}
