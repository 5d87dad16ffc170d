//! The spec's `mounts`, `root.readonly`, `linux.maskedPaths` and
//! `linux.readonlyPaths` as the container sees them: bind mounts of host
//! directories and files written through to the host, read-only binds,
//! tmpfs with its mode, proc, sysfs, mqueue.

mod common;

use common::{can_run, Bundle};
use serde_json::json;

/// Runs the bundle's process with `runsc run`; returns (code, stdout,
/// stderr).
fn run(b: &Bundle, id: &str) -> (i32, String, String) {
    let r = b.runsc(&["run", "--bundle", b.dir().to_str().unwrap(), id]);
    (r.code(), r.stdout, r.stderr)
}

#[test]
fn a_bind_mount_writes_through_to_the_host_both_ways() {
    if !can_run("a_bind_mount_writes_through_to_the_host_both_ways") {
        return;
    }
    let mut b = Bundle::new(
        "bind",
        &[
            "sh",
            "-c",
            "cat /data/from-host && echo from the container > /data/made-inside \
             && mkdir /data/dir && echo x > /data/dir/f && mv /data/dir/f /data/dir/g \
             && rm /data/gone && ls /data && cat /etc/extra && echo appended >> /etc/extra \
             && echo nope > /ro/f; echo status $?; cat /ro/f /etc/resolv.conf",
        ],
    );
    let host = b.file("vol");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("from-host"), "written on the host\n").unwrap();
    std::fs::write(host.join("gone"), "").unwrap();
    let file = b.file("extra.conf");
    std::fs::write(&file, "a host file\n").unwrap();
    let ro = b.file("ro");
    std::fs::create_dir_all(&ro).unwrap();
    std::fs::write(ro.join("f"), "read-only\n").unwrap();
    // As in images whose /etc/resolv.conf points into /run.
    std::fs::create_dir_all(b.dir().join("rootfs/etc")).unwrap();
    std::os::unix::fs::symlink(
        "../run/resolve/resolv.conf",
        b.dir().join("rootfs/etc/resolv.conf"),
    )
    .unwrap();
    let resolv = b.file("resolv.conf");
    std::fs::write(&resolv, "nameserver 10.0.0.1\n").unwrap();
    b.spec["mounts"] = json!([
        { "destination": "/data", "type": "bind", "source": host, "options": ["rbind", "rw"] },
        { "destination": "/etc/resolv.conf", "type": "bind", "source": resolv, "options": ["bind"] },
        { "destination": "/etc/extra", "type": "bind", "source": file, "options": ["bind"] },
        { "destination": "/ro", "type": "none", "source": ro, "options": ["bind", "ro"] },
    ]);
    b.save();
    let (code, out, err) = run(&b, "bind");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "written on the host\ndir\nfrom-host\nmade-inside\na host file\n\
         status 1\nread-only\nnameserver 10.0.0.1\n",
        "{err}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(
        std::fs::read_to_string(host.join("made-inside")).unwrap(),
        "from the container\n"
    );
    assert_eq!(std::fs::read_to_string(host.join("dir/g")).unwrap(), "x\n");
    assert!(!host.join("dir/f").exists() && !host.join("gone").exists());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "a host file\nappended\n"
    );
    assert_eq!(
        std::fs::read_to_string(ro.join("f")).unwrap(),
        "read-only\n"
    );
}

#[test]
fn tmpfs_proc_sysfs_and_mqueue_mounts_are_served() {
    if !can_run("tmpfs_proc_sysfs_and_mqueue_mounts_are_served") {
        return;
    }
    let mut b = Bundle::new(
        "kinds",
        &[
            "sh",
            "-c",
            "ls -ld /scratch | cut -c1-10; echo hi > /scratch/f && cat /scratch/f; \
             test -d /sys/fs/cgroup && echo sys ok; touch /sys/x 2>/dev/null || echo sys ro; \
             test -d /dev/mqueue && echo mqueue ok; cat /proc/self/stat >/dev/null && echo proc ok; \
             cat /proc/mounts | while read src at typ rest; do echo $at $typ; done \
             | grep -E '^/(scratch|sys|dev/mqueue) '; touch /x 2>/dev/null || echo root ro",
        ],
    );
    b.spec["mounts"] = json!([
        { "destination": "/proc", "type": "proc", "source": "proc" },
        { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"] },
        { "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["gid=5"] },
        { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue" },
        { "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro", "nosuid"] },
        { "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["mode=700", "size=1m"] },
    ]);
    b.save();
    let (code, out, err) = run(&b, "kinds");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "drwx------\nhi\nsys ok\nsys ro\nmqueue ok\nproc ok\n\
         /dev/mqueue mqueue\n/sys sysfs\n/scratch tmpfs\nroot ro\n",
        "{err}"
    );
}

#[test]
fn masked_and_readonly_paths_hide_and_protect() {
    if !can_run("masked_and_readonly_paths_hide_and_protect") {
        return;
    }
    let mut b = Bundle::new(
        "mask",
        &[
            "sh",
            "-c",
            "wc -c < /proc/uptime; ls /proc/acpi | wc -l; \
             cat /secret/key; ls /hidden | wc -l; echo x > /hidden/f 2>/dev/null || echo hidden ro; \
             echo 1 > /proc/sys/kernel/hostname 2>/dev/null || echo sys ro; \
             echo y > /data/f 2>/dev/null || echo data ro",
        ],
    );
    let host = b.file("vol");
    std::fs::create_dir_all(host.join("hidden")).unwrap();
    std::fs::write(host.join("hidden/f"), "x").unwrap();
    let secret = b.file("secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("key"), "do not show").unwrap();
    b.spec["mounts"] = json!([
        { "destination": "/hidden", "type": "bind", "source": host.join("hidden"), "options": ["bind"] },
        { "destination": "/secret", "type": "bind", "source": secret, "options": ["bind"] },
        { "destination": "/data", "type": "bind", "source": host, "options": ["bind"] },
    ]);
    b.spec["linux"]["maskedPaths"] = json!([
        "/proc/uptime",
        "/proc/acpi",
        "/secret/key",
        "/hidden",
        "/nonexistent"
    ]);
    b.spec["linux"]["readonlyPaths"] = json!(["/proc/sys", "/data", "/nonexistent"]);
    b.save();
    let (code, out, err) = run(&b, "mask");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "0\n0\n0\nhidden ro\nsys ro\ndata ro\n", "{err}");
    assert!(!host.join("f").exists());
}

#[test]
fn an_unsupported_mount_type_is_refused_by_name() {
    if !can_run("an_unsupported_mount_type_is_refused_by_name") {
        return;
    }
    let mut b = Bundle::new("badmount", &["true"]);
    b.spec["mounts"] = json!([
        { "destination": "/x", "type": "nfs", "source": "server:/export" },
    ]);
    b.save();
    let r = b.create("badmount", &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr.contains("type nfs is not supported"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_missing_bind_source_fails_create_with_its_path() {
    if !can_run("a_missing_bind_source_fails_create_with_its_path") {
        return;
    }
    let mut b = Bundle::new("nosrc", &["true"]);
    b.spec["mounts"] = json!([
        { "destination": "/x", "type": "bind", "source": "/does/not/exist", "options": ["bind"] },
    ]);
    b.save();
    let r = b.create("nosrc", &[]);
    assert_eq!(r.code(), 1);
    assert!(
        r.stderr.contains("/does/not/exist") && r.stderr.contains("/x"),
        "{}",
        r.stderr
    );
}
