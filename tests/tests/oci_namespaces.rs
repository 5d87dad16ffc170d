//! The sandbox's host namespaces: its own mount, PID, IPC and UTS
//! namespaces always; the network namespace created when the spec lists
//! one, joined when it names one by path (how podman and Docker hand over
//! a prepared network), and the host's when the spec lists none.

mod common;

use common::{can_run, Bundle};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The (device, inode) of a namespace file.
fn ns_id(path: &Path) -> (u64, u64) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.dev(), m.ino())
}

fn sandbox_ns(b: &Bundle, id: &str, kind: &str) -> (u64, u64) {
    let pid = b.state(id).unwrap()["pid"].as_i64().unwrap();
    ns_id(Path::new(&format!("/proc/{pid}/ns/{kind}")))
}

#[test]
fn the_sandbox_gets_its_own_namespaces_and_joins_a_named_network() {
    if !can_run("the_sandbox_gets_its_own_namespaces_and_joins_a_named_network") {
        return;
    }
    let host = |kind: &str| ns_id(Path::new(&format!("/proc/self/ns/{kind}")));

    // No network namespace listed: the host's network.
    let b = Bundle::new("ns-host", &["sleep", "100"]);
    b.create("n0", &[]).ok();
    for kind in ["mnt", "pid", "ipc", "uts"] {
        assert_ne!(sandbox_ns(&b, "n0", kind), host(kind), "{kind}");
    }
    assert_eq!(sandbox_ns(&b, "n0", "net"), host("net"));
    b.clean(&["n0"]);

    // Listed without a path: a new one.
    let mut b = Bundle::new("ns-new", &["sleep", "100"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "network" }));
    b.save();
    b.create("n1", &[]).ok();
    assert_ne!(sandbox_ns(&b, "n1", "net"), host("net"));
    b.clean(&["n1"]);

    // Named by path: joined.
    let name = format!("runsc-oci-test-{}", std::process::id());
    let made = std::process::Command::new("ip")
        .args(["netns", "add", &name])
        .status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("SKIP joining a named network namespace: `ip netns add` failed here");
        return;
    }
    let path = format!("/run/netns/{name}");
    let mut b = Bundle::new("ns-join", &["sleep", "100"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "network", "path": path }));
    b.save();
    let created = b.create("n2", &[]);
    let joined = created.code() == 0 && sandbox_ns(&b, "n2", "net") == ns_id(Path::new(&path));
    b.clean(&["n2"]);
    let _ = std::process::Command::new("ip")
        .args(["netns", "delete", &name])
        .status();
    assert!(joined, "not joined: {created:#?}");

    // A path that does not exist is named in the error.
    let mut b = Bundle::new("ns-missing", &["true"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "network", "path": "/run/netns/no-such-ns" }));
    b.save();
    let r = b.create("n3", &[]);
    assert_eq!(r.code(), 1);
    assert!(r.stderr.contains("/run/netns/no-such-ns"), "{}", r.stderr);
    assert!(!b.root().join("n3").exists());
}

#[test]
fn memory_and_pids_limits_go_to_the_sandboxs_cgroup() {
    if !can_run("memory_and_pids_limits_go_to_the_sandboxs_cgroup") {
        return;
    }
    let mut b = Bundle::new("cgroup", &["sleep", "100"]);
    let cgroup = format!("/runsc-oci-test-{}/limits", std::process::id());
    b.spec["linux"]["cgroupsPath"] = serde_json::json!(cgroup);
    b.spec["linux"]["resources"] = serde_json::json!({
        "memory": { "limit": 536870912 },
        "pids": { "limit": 64 }
    });
    b.save();
    b.create("cg", &[]).ok();
    let pid = b.state("cg").unwrap()["pid"].as_i64().unwrap();
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(membership.contains(&cgroup), "{membership}");
    let v1 = Path::new("/sys/fs/cgroup/memory").join(cgroup.trim_start_matches('/'));
    let v2 = Path::new("/sys/fs/cgroup").join(cgroup.trim_start_matches('/'));
    let (memory, pids) = if v1.exists() {
        (
            v1.join("memory.limit_in_bytes"),
            Path::new("/sys/fs/cgroup/pids")
                .join(cgroup.trim_start_matches('/'))
                .join("pids.max"),
        )
    } else {
        (v2.join("memory.max"), v2.join("pids.max"))
    };
    assert_eq!(
        std::fs::read_to_string(&memory).unwrap().trim(),
        "536870912"
    );
    assert_eq!(std::fs::read_to_string(&pids).unwrap().trim(), "64");
    // `update` changes them, from flags or from a resources document.
    b.runsc(&[
        "update",
        "--pids-limit",
        "42",
        "--memory",
        "268435456",
        "cg",
    ])
    .ok();
    assert_eq!(std::fs::read_to_string(&pids).unwrap().trim(), "42");
    assert_eq!(
        std::fs::read_to_string(&memory).unwrap().trim(),
        "268435456"
    );
    let doc = b.file("resources.json");
    std::fs::write(&doc, r#"{ "pids": { "limit": 17 } }"#).unwrap();
    b.runsc(&["update", "--resources", doc.to_str().unwrap(), "cg"])
        .ok();
    assert_eq!(std::fs::read_to_string(&pids).unwrap().trim(), "17");
    let bad = b.runsc(&["update", "--cpu-share", "many", "cg"]);
    assert_eq!(bad.code(), 1);
    assert!(bad.stderr.contains("--cpu-share"), "{}", bad.stderr);
    b.runsc(&["delete", "--force", "cg"]).ok();
    assert!(!memory.parent().unwrap().exists(), "cgroup left behind");
    // The test's parent cgroup.
    for root in [
        "memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "systemd", "",
    ] {
        let top = Path::new("/sys/fs/cgroup")
            .join(root)
            .join(format!("runsc-oci-test-{}", std::process::id()));
        let _ = std::fs::remove_dir(top);
    }
}

#[test]
fn a_user_namespace_maps_the_sandboxs_root_to_an_unprivileged_host_user() {
    if !can_run("a_user_namespace_maps_the_sandboxs_root_to_an_unprivileged_host_user") {
        return;
    }
    let mut b = Bundle::new("userns", &["sh", "-c", "id; sleep 100"]);
    b.spec["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "type": "user" }));
    b.spec["linux"]["uidMappings"] =
        serde_json::json!([{ "containerID": 0, "hostID": 200000, "size": 65536 }]);
    b.spec["linux"]["gidMappings"] =
        serde_json::json!([{ "containerID": 0, "hostID": 200000, "size": 65536 }]);
    b.save();
    b.create("u", &[]).ok();
    let pid = b.state("u").unwrap()["pid"].as_i64().unwrap() as i32;
    let uid = common::status_field(pid, "Uid").unwrap();
    assert!(uid.starts_with("200000\t"), "{uid}");
    b.runsc(&["start", "u"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !b.output_of("u").contains("uid=0") {
        assert!(std::time::Instant::now() < deadline, "{}", b.output_of("u"));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    b.runsc(&["delete", "--force", "u"]).ok();
}
