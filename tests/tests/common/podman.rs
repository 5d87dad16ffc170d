//! podman with scratch storage and our `runsc` as its OCI runtime
//! (`podman --runtime`), on an image imported from a busybox bundle's root
//! filesystem (no registry is reachable).

use super::{can_run, run, runsc_bin, Bundle, Run, TempDir};
use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

pub struct Podman {
    pub b: Bundle,
    /// podman refuses a run root longer than 50 characters.
    pub runroot: TempDir,
}

impl Podman {
    /// Scratch storage with the busybox root imported as `image`; `None`
    /// (having said why) where the test cannot run or podman is missing.
    pub fn new(tag: &str, image: &str, runroot_prefix: &str) -> Option<Podman> {
        if !can_run(tag) {
            return None;
        }
        if Command::new("podman").arg("--version").output().is_err() {
            eprintln!("SKIP {tag}: podman is not installed (apt-get install podman)");
            return None;
        }
        let p = Podman {
            b: Bundle::new(tag, &["true"]),
            runroot: TempDir::new(runroot_prefix),
        };
        let tar = p.b.file("rootfs.tar");
        let made = Command::new("tar")
            .arg("-C")
            .arg(p.b.dir().join("rootfs"))
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap();
        assert!(made.success());
        p.podman(&["import", tar.to_str().unwrap(), image]).ok();
        Some(p)
    }

    /// The podman command line up to its subcommand: scratch storage and
    /// our runtime.
    pub fn args(&self) -> Vec<OsString> {
        let dir = self.b.tmp.path();
        vec![
            "--root".into(),
            dir.join("storage").into(),
            "--runroot".into(),
            self.runroot.path().into(),
            "--storage-driver".into(),
            "vfs".into(),
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
            "--tmpdir".into(),
            self.runroot.path().join("tmp").into(),
            "--runtime".into(),
            runsc_bin().into(),
            "--runtime-flag".into(),
            format!("root={}", self.b.root().display()).into(),
        ]
    }

    pub fn podman(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new("podman");
        cmd.args(self.args()).args(args);
        run(&mut cmd, Duration::from_secs(120))
    }

    /// podman's status of container `name` (`running`, `exited`, ...).
    pub fn status(&self, name: &str) -> String {
        let r = self
            .podman(&["inspect", "--format", "{{.State.Status}}", name])
            .ok();
        r.stdout.trim().to_string()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        // Whatever podman left to the runtime goes too.
        let listed = self.b.runsc(&["list", "--quiet"]);
        for id in listed.stdout.lines() {
            let _ = self.b.runsc(&["delete", "--force", id]);
        }
    }
}
