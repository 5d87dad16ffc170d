//! The example spec that `runsc spec` writes: the same shape as the one
//! `runc spec` writes, so that a bundle made for one works with the other.

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

const CAPABILITIES: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// The spec for a container run by root: a shell on `rootfs`, read-only,
/// with the usual mounts and namespaces.
pub fn example_spec() -> Spec {
    from_json(example_json())
}

/// The example spec changed for a container run by an unprivileged user:
/// a user namespace mapping root to `uid`/`gid`, no network namespace,
/// `/sys` bound from the host, no `uid=`/`gid=` mount options and no
/// cgroup resources (as `runc spec --rootless`).
pub fn rootless_spec(uid: u32, gid: u32) -> Spec {
    let mut spec = example_json();
    let linux = &mut spec["linux"];
    if let Some(namespaces) = linux["namespaces"].as_array_mut() {
        namespaces.retain(|ns| ns["type"] != "network" && ns["type"] != "user");
        namespaces.push(json!({ "type": "user" }));
    }
    linux["uidMappings"] = json!([{ "containerID": 0, "hostID": uid, "size": 1 }]);
    linux["gidMappings"] = json!([{ "containerID": 0, "hostID": gid, "size": 1 }]);
    if let Some(linux) = linux.as_object_mut() {
        linux.remove("resources");
    }
    if let Some(mounts) = spec["mounts"].as_array_mut() {
        for mount in mounts.iter_mut() {
            if mount["destination"] == "/sys" {
                *mount = json!({
                    "destination": "/sys",
                    "type": "none",
                    "source": "/sys",
                    "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]
                });
            } else if let Some(options) = mount["options"].as_array_mut() {
                options.retain(|option| {
                    let option = option.as_str().unwrap_or_default();
                    !option.starts_with("uid=") && !option.starts_with("gid=")
                });
            }
        }
    }
    from_json(spec)
}

fn from_json(value: Value) -> Spec {
    // The input is a constant of this file, checked by the tests below.
    serde_json::from_value(value).expect("the example spec is a valid spec")
}

fn example_json() -> Value {
    json!({
        "ociVersion": crate::OCI_VERSION,
        "process": {
            "terminal": true,
            "user": { "uid": 0, "gid": 0 },
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": CAPABILITIES,
                "effective": CAPABILITIES,
                "permitted": CAPABILITIES
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "runsc",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            {
                "destination": "/dev",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]
            },
            {
                "destination": "/dev/pts",
                "type": "devpts",
                "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
            },
            {
                "destination": "/dev/shm",
                "type": "tmpfs",
                "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]
            },
            {
                "destination": "/dev/mqueue",
                "type": "mqueue",
                "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"]
            },
            {
                "destination": "/sys",
                "type": "sysfs",
                "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", "ro"]
            }
        ],
        "linux": {
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" },
                { "type": "network" },
                { "type": "ipc" },
                { "type": "uts" },
                { "type": "mount" }
            ],
            "maskedPaths": [
                "/proc/acpi",
                "/proc/asound",
                "/proc/kcore",
                "/proc/keys",
                "/proc/latency_stats",
                "/proc/timer_list",
                "/proc/timer_stats",
                "/proc/sched_debug",
                "/sys/firmware",
                "/proc/scsi",
                "/sys/devices/virtual/tpm"
            ],
            "readonlyPaths": [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{Capability, LinuxNamespaceType, PosixRlimitType};

    fn namespaces(spec: &Spec) -> Vec<LinuxNamespaceType> {
        let linux = spec.linux().as_ref().unwrap();
        let namespaces = linux.namespaces().as_ref().unwrap();
        namespaces.iter().map(|ns| ns.typ()).collect()
    }

    #[test]
    fn example_has_runc_shape() {
        let spec = example_spec();
        assert_eq!(spec.version(), crate::OCI_VERSION);
        let process = spec.process().as_ref().unwrap();
        assert_eq!(process.terminal(), Some(true));
        assert_eq!(process.args().as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(process.env().as_ref().unwrap().len(), 2);
        assert_eq!(process.cwd().to_str(), Some("/"));
        assert_eq!(process.no_new_privileges(), Some(true));
        let caps = process.capabilities().as_ref().unwrap();
        let bounding = caps.bounding().as_ref().unwrap();
        assert!(bounding.contains(&Capability::Kill));
        assert!(caps.inheritable().is_none() && caps.ambient().is_none());
        let rlimit = process.rlimits().as_ref().unwrap()[0];
        assert_eq!(rlimit.typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((rlimit.soft(), rlimit.hard()), (1024, 1024));

        let root = spec.root().as_ref().unwrap();
        assert_eq!(root.path().to_str(), Some("rootfs"));
        assert_eq!(root.readonly(), Some(true));
        assert_eq!(spec.hostname().as_deref(), Some("runsc"));

        let mounts = spec.mounts().as_ref().unwrap();
        let destinations: Vec<_> = mounts
            .iter()
            .map(|m| m.destination().to_str().unwrap())
            .collect();
        assert_eq!(
            destinations,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/dev/shm",
                "/dev/mqueue",
                "/sys"
            ]
        );
        assert_eq!(
            namespaces(&spec),
            [
                LinuxNamespaceType::Pid,
                LinuxNamespaceType::Network,
                LinuxNamespaceType::Ipc,
                LinuxNamespaceType::Uts,
                LinuxNamespaceType::Mount
            ]
        );
        let linux = spec.linux().as_ref().unwrap();
        assert!(linux
            .masked_paths()
            .as_ref()
            .unwrap()
            .contains(&"/proc/kcore".to_string()));
        assert_eq!(linux.readonly_paths().as_ref().unwrap().len(), 5);
    }

    #[test]
    fn example_serializes_with_runc_field_names() {
        let text = serde_json::to_string(&example_spec()).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["ociVersion"], crate::OCI_VERSION);
        assert_eq!(value["process"]["noNewPrivileges"], true);
        assert_eq!(value["linux"]["maskedPaths"][0], "/proc/acpi");
        assert_eq!(value["mounts"][2]["options"][5], "gid=5");
    }

    #[test]
    fn rootless_maps_the_user_and_drops_the_network_namespace() {
        let spec = rootless_spec(1000, 100);
        let found = namespaces(&spec);
        assert!(!found.contains(&LinuxNamespaceType::Network));
        assert_eq!(found.last(), Some(&LinuxNamespaceType::User));
        let linux = spec.linux().as_ref().unwrap();
        assert_eq!(linux.uid_mappings().as_ref().unwrap()[0].host_id(), 1000);
        assert_eq!(linux.gid_mappings().as_ref().unwrap()[0].host_id(), 100);
        assert!(linux.resources().is_none());
        let mounts = spec.mounts().as_ref().unwrap();
        let sys = mounts
            .iter()
            .find(|m| m.destination().to_str() == Some("/sys"))
            .unwrap();
        assert_eq!(sys.typ().as_deref(), Some("none"));
        for mount in mounts {
            for option in mount.options().iter().flatten() {
                assert!(!option.starts_with("gid="), "{option}");
            }
        }
    }
}
