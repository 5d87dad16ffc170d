//! Cgroups: on the host's real cgroupfs (as root, under a temporary name
//! that is removed again) and on fake v1/v2 trees in a scratch directory.

mod common;

use boot::cgroups::{CgroupPath, Cgroups};
use common::{root_or_skip, Sleeper, TempDir};
use nix::unistd::Pid;
use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn resources(cpus: Option<&str>) -> LinuxResources {
    let mut cpu = LinuxCpuBuilder::default()
        .shares(512u64)
        .quota(50_000i64)
        .period(100_000u64);
    if let Some(c) = cpus {
        cpu = cpu.cpus(c);
    }
    LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64i64 << 20)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(32).build().unwrap())
        .cpu(cpu.build().unwrap())
        .build()
        .unwrap()
}

fn read(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

fn test_name(tag: &str) -> String {
    format!("/runsc-boot-test-{tag}-{}", std::process::id())
}

/// Lines of /proc/<pid>/cgroup whose path is `path`.
fn membership(pid: Pid, path: &str) -> Vec<String> {
    read(format!("/proc/{pid}/cgroup"))
        .lines()
        .filter(|l| l.ends_with(&format!(":{path}")))
        .map(str::to_string)
        .collect()
}

#[test]
fn real_cgroup_gets_limits_and_the_process_then_is_removed() {
    if !root_or_skip("real_cgroup_gets_limits_and_the_process_then_is_removed") {
        return;
    }
    let cg = Cgroups::detect().unwrap();
    let top = test_name("real");
    let path = CgroupPath::new(&format!("{top}/ctr")).unwrap();
    let sleeper = Sleeper::start();
    let cpuset = cg.directory_of("cpuset", &path).is_some();
    let r = resources(cpuset.then_some("0"));
    cg.apply(&path, Some(&r), sleeper.0).unwrap();

    assert_eq!(cg.processes(&path).unwrap(), vec![sleeper.0]);
    match &cg {
        Cgroups::V1 { controllers } => {
            let dir = |c: &str| cg.directory_of(c, &path).unwrap();
            assert_eq!(
                read(dir("memory").join("memory.limit_in_bytes")),
                "67108864"
            );
            assert_eq!(read(dir("pids").join("pids.max")), "32");
            assert_eq!(read(dir("cpu").join("cpu.shares")), "512");
            assert_eq!(read(dir("cpu").join("cpu.cfs_quota_us")), "50000");
            assert_eq!(read(dir("cpu").join("cpu.cfs_period_us")), "100000");
            if cpuset {
                assert_eq!(read(dir("cpuset").join("cpuset.cpus")), "0");
                assert!(!read(dir("cpuset").join("cpuset.mems")).is_empty());
            }
            // In every hierarchy, the process is in the new cgroup.
            let joined = membership(sleeper.0, path.as_path().to_str().unwrap());
            let hierarchies: std::collections::BTreeSet<&PathBuf> = controllers.values().collect();
            assert_eq!(joined.len(), hierarchies.len(), "{joined:?}");
        }
        Cgroups::V2 { root } => {
            let dir = root.join(path.relative());
            assert_eq!(read(dir.join("memory.max")), "67108864");
            assert_eq!(read(dir.join("pids.max")), "32");
            assert_eq!(read(dir.join("cpu.weight")), "20");
            assert_eq!(read(dir.join("cpu.max")), "50000 100000");
            assert_eq!(
                membership(sleeper.0, path.as_path().to_str().unwrap()).len(),
                1
            );
        }
    }

    // While the process lives, removal is refused and says where.
    let busy = cg.remove(&path).unwrap_err().to_string();
    assert!(busy.contains(&top), "{busy}");

    drop(sleeper);
    let top_path = CgroupPath::new(&top).unwrap();
    cg.remove(&top_path).unwrap();
    for dir in cg.directories(&top_path) {
        assert!(!dir.exists(), "{} still there", dir.display());
    }
    // Removing again is fine.
    cg.remove(&top_path).unwrap();
}

#[test]
fn v1_swap_without_accounting_names_the_missing_file() {
    if !root_or_skip("v1_swap_without_accounting_names_the_missing_file") {
        return;
    }
    let cg = Cgroups::detect().unwrap();
    let Cgroups::V1 { .. } = cg else {
        common::skip(
            "v1_swap_without_accounting_names_the_missing_file",
            "host is not cgroup v1",
        );
        return;
    };
    let path = CgroupPath::new(&test_name("swap")).unwrap();
    let memsw = cg
        .directory_of("memory", &CgroupPath::new("/x").unwrap())
        .unwrap()
        .with_file_name("memory.memsw.limit_in_bytes");
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .limit(64i64 << 20)
                .swap(128i64 << 20)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let sleeper = Sleeper::start();
    let result = cg.apply(&path, Some(&r), sleeper.0);
    drop(sleeper);
    if memsw.exists() {
        result.unwrap();
        let dir = cg.directory_of("memory", &path).unwrap();
        assert_eq!(read(dir.join("memory.memsw.limit_in_bytes")), "134217728");
    } else {
        let err = result.unwrap_err().to_string();
        assert!(err.contains("memory.memsw.limit_in_bytes"), "{err}");
    }
    cg.remove(&path).unwrap();
}

#[test]
fn the_hybrid_unified_hierarchy_takes_a_process_without_controllers() {
    if !root_or_skip("the_hybrid_unified_hierarchy_takes_a_process_without_controllers") {
        return;
    }
    let unified = Path::new("/sys/fs/cgroup/unified");
    if !unified.join("cgroup.procs").exists() {
        common::skip(
            "the_hybrid_unified_hierarchy_takes_a_process_without_controllers",
            "no cgroup2 mount at /sys/fs/cgroup/unified",
        );
        return;
    }
    let cg = Cgroups::V2 {
        root: unified.into(),
    };
    let path = CgroupPath::new(&format!("{}/ctr", test_name("unified"))).unwrap();
    let sleeper = Sleeper::start();
    cg.apply(&path, None, sleeper.0).unwrap();
    let lines = membership(sleeper.0, path.as_path().to_str().unwrap());
    assert_eq!(lines, vec![format!("0::{path}")]);
    drop(sleeper);
    cg.remove(&CgroupPath::new(&test_name("unified")).unwrap())
        .unwrap();
    assert!(!unified.join(path.relative()).exists());
}

/// Writes the files of a fake cgroup directory.
fn fake_dir(dir: &Path, files: &[(&str, &str)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, content) in files {
        std::fs::write(dir.join(name), content).unwrap();
    }
}

const V2_FILES: &[(&str, &str)] = &[
    ("cgroup.controllers", "cpuset cpu io memory pids"),
    ("cgroup.subtree_control", ""),
    ("cgroup.procs", ""),
    ("memory.max", ""),
    ("memory.low", ""),
    ("memory.swap.max", ""),
    ("memory.high", ""),
    ("pids.max", ""),
    ("cpu.weight", ""),
    ("cpu.max", ""),
    ("cpuset.cpus", ""),
    ("cpuset.mems", ""),
];

#[test]
fn v2_writes_every_limit_and_enables_controllers_above() {
    let tmp = TempDir::new("v2");
    let root = tmp.path();
    fake_dir(root, V2_FILES);
    fake_dir(&root.join("runsc"), V2_FILES);
    fake_dir(&root.join("runsc/abc"), V2_FILES);
    let cg = Cgroups::V2 { root: root.into() };
    let path = CgroupPath::from_spec(None, "abc", false).unwrap();
    let mut r = resources(Some("0-1"));
    r.set_memory(Some(
        LinuxMemoryBuilder::default()
            .limit(64i64 << 20)
            .swap(96i64 << 20)
            .reservation(32i64 << 20)
            .build()
            .unwrap(),
    ));
    r.set_unified(Some(HashMap::from([(
        "memory.high".to_string(),
        "50000000".to_string(),
    )])));
    cg.apply(&path, Some(&r), Pid::from_raw(4242)).unwrap();

    let leaf = root.join("runsc/abc");
    let got: BTreeMap<&str, String> = [
        "memory.max",
        "memory.low",
        "memory.swap.max",
        "memory.high",
        "pids.max",
        "cpu.weight",
        "cpu.max",
        "cpuset.cpus",
        "cgroup.procs",
    ]
    .into_iter()
    .map(|f| (f, read(leaf.join(f))))
    .collect();
    let want: BTreeMap<&str, String> = [
        ("memory.max", "67108864"),
        ("memory.low", "33554432"),
        ("memory.swap.max", "33554432"),
        ("memory.high", "50000000"),
        ("pids.max", "32"),
        ("cpu.weight", "20"),
        ("cpu.max", "50000 100000"),
        ("cpuset.cpus", "0-1"),
        ("cgroup.procs", "4242"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect();
    assert_eq!(got, want);
    for dir in [root.to_path_buf(), root.join("runsc")] {
        assert_eq!(
            read(dir.join("cgroup.subtree_control")),
            "+cpu +cpuset +memory +pids"
        );
    }
    assert_eq!(read(leaf.join("cgroup.subtree_control")), "");
}

#[test]
fn v2_without_a_controller_names_the_file_that_lacks_it() {
    let tmp = TempDir::new("v2-missing");
    let root = tmp.path();
    fake_dir(
        root,
        &[
            ("cgroup.controllers", "cpu pids"),
            ("cgroup.subtree_control", ""),
        ],
    );
    let cg = Cgroups::V2 { root: root.into() };
    let path = CgroupPath::new("/runsc/abc").unwrap();
    let err = cg
        .apply(&path, Some(&resources(None)), Pid::from_raw(1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("memory controller"), "{err}");
    assert!(
        err.contains(&root.join("cgroup.controllers").display().to_string()),
        "{err}"
    );
}

#[test]
fn v2_swap_without_a_limit_is_refused() {
    let tmp = TempDir::new("v2-swap");
    let root = tmp.path();
    fake_dir(&root.join("runsc/abc"), V2_FILES);
    let cg = Cgroups::V2 { root: root.into() };
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .swap(1i64 << 20)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    fake_dir(root, V2_FILES);
    fake_dir(&root.join("runsc"), V2_FILES);
    let err = cg
        .apply(
            &CgroupPath::new("/runsc/abc").unwrap(),
            Some(&r),
            Pid::from_raw(1),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("memory.swap needs a memory.limit"), "{err}");
}

#[test]
fn v1_fake_tree_gets_values_and_a_missing_file_is_named() {
    let tmp = TempDir::new("v1");
    let mount = |c: &str| tmp.path().join(c);
    let leaf = |c: &str| mount(c).join("runsc/abc");
    fake_dir(
        &leaf("memory"),
        &[("memory.limit_in_bytes", ""), ("cgroup.procs", "")],
    );
    fake_dir(&leaf("pids"), &[("pids.max", ""), ("cgroup.procs", "")]);
    fake_dir(
        &leaf("cpu,cpuacct"),
        &[
            ("cpu.shares", ""),
            ("cpu.cfs_quota_us", ""),
            ("cpu.cfs_period_us", ""),
            ("cgroup.procs", ""),
        ],
    );
    let controllers = BTreeMap::from([
        ("memory".to_string(), mount("memory")),
        ("pids".to_string(), mount("pids")),
        ("cpu".to_string(), mount("cpu,cpuacct")),
        ("cpuacct".to_string(), mount("cpu,cpuacct")),
    ]);
    let cg = Cgroups::V1 { controllers };
    let path = CgroupPath::new("/runsc/abc").unwrap();
    cg.apply(&path, Some(&resources(None)), Pid::from_raw(77))
        .unwrap();
    assert_eq!(
        read(leaf("memory").join("memory.limit_in_bytes")),
        "67108864"
    );
    assert_eq!(read(leaf("pids").join("pids.max")), "32");
    assert_eq!(read(leaf("cpu,cpuacct").join("cpu.shares")), "512");
    assert_eq!(read(leaf("cpu,cpuacct").join("cpu.cfs_quota_us")), "50000");
    for c in ["memory", "pids", "cpu,cpuacct"] {
        assert_eq!(read(leaf(c).join("cgroup.procs")), "77");
    }

    std::fs::remove_file(leaf("pids").join("pids.max")).unwrap();
    let err = cg
        .apply(&path, Some(&resources(None)), Pid::from_raw(77))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&leaf("pids").join("pids.max").display().to_string()),
        "{err}"
    );

    // cpus asked for, but no cpuset hierarchy: said plainly.
    std::fs::write(leaf("pids").join("pids.max"), "").unwrap();
    let err = cg
        .apply(&path, Some(&resources(Some("0"))), Pid::from_raw(77))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "the cpuset controller is not mounted (cgroup v1); needed for linux.resources.cpu.cpus/mems"
    );
}

#[test]
fn unified_entries_are_refused_on_v1() {
    let tmp = TempDir::new("v1-unified");
    fake_dir(
        &tmp.path().join("memory/runsc/abc"),
        &[("cgroup.procs", "")],
    );
    let cg = Cgroups::V1 {
        controllers: BTreeMap::from([("memory".to_string(), tmp.path().join("memory"))]),
    };
    let r = LinuxResourcesBuilder::default()
        .unified(HashMap::from([(
            "memory.high".to_string(),
            "1".to_string(),
        )]))
        .build()
        .unwrap();
    let err = cg
        .apply(
            &CgroupPath::new("/runsc/abc").unwrap(),
            Some(&r),
            Pid::from_raw(1),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "linux.resources.unified is not supported with cgroup 1"
    );
}
