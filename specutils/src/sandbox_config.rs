//! From a bundle's spec to the [`sentry::Config`] that starts a sandbox.

use crate::bundle::Bundle;
use crate::rlimit::rlimit_type_number;
use sentry::{Config, MountConfig, MountKind, Rlimit};
use std::path::Path;

/// A mount of the spec the sandbox cannot serve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MountError {
    #[error("mount at {destination}: type {typ} is not supported (bind, tmpfs, proc, sysfs, devpts, mqueue, cgroup and cgroup2 are)")]
    UnsupportedType { destination: String, typ: String },
    #[error("mount at {destination}: a bind mount needs a source")]
    NoSource { destination: String },
    #[error("mount at {destination}: the destination must be an absolute path")]
    RelativeDestination { destination: String },
    #[error("mount at {destination}: bad option {option}")]
    BadOption { destination: String, option: String },
}

/// A size as tmpfs takes it: bytes, or with a `k`, `m` or `g` suffix.
fn parse_size(s: &str) -> Option<u64> {
    let (num, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().ok()?.checked_mul(mult)
}

/// The spec's `mounts`, as the sentry serves them. `bundle_dir` anchors
/// relative bind sources.
pub fn mount_configs(
    mounts: &[oci_spec::runtime::Mount],
    bundle_dir: &Path,
) -> Result<Vec<MountConfig>, MountError> {
    let mut out = Vec::new();
    for m in mounts {
        let destination = m.destination().to_string_lossy().into_owned();
        if !destination.starts_with('/') {
            return Err(MountError::RelativeDestination { destination });
        }
        let options = m.options().clone().unwrap_or_default();
        let bind = m.typ().as_deref() == Some("bind")
            || options.iter().any(|o| o == "bind" || o == "rbind");
        let kind = if bind {
            let source = m.source().clone().ok_or_else(|| MountError::NoSource {
                destination: destination.clone(),
            })?;
            MountKind::Bind {
                source: bundle_dir.join(source),
            }
        } else {
            match m.typ().as_deref().unwrap_or("") {
                "tmpfs" | "shm" => MountKind::Tmpfs,
                "proc" => MountKind::Proc,
                "sysfs" => MountKind::Sysfs,
                "devpts" => MountKind::Devpts,
                "mqueue" => MountKind::Mqueue,
                "cgroup" | "cgroup2" => MountKind::Cgroup,
                typ => {
                    return Err(MountError::UnsupportedType {
                        destination,
                        typ: typ.to_string(),
                    })
                }
            }
        };
        let mut c = MountConfig {
            destination,
            kind,
            readonly: false,
            nosuid: false,
            nodev: false,
            noexec: false,
            mode: None,
            size: None,
        };
        for o in &options {
            match o.as_str() {
                "ro" => c.readonly = true,
                "rw" => c.readonly = false,
                "nosuid" => c.nosuid = true,
                "nodev" => c.nodev = true,
                "noexec" => c.noexec = true,
                "suid" => c.nosuid = false,
                "dev" => c.nodev = false,
                "exec" => c.noexec = false,
                o if o.starts_with("mode=") => {
                    c.mode = Some(u32::from_str_radix(&o[5..], 8).map_err(|_| {
                        MountError::BadOption {
                            destination: c.destination.clone(),
                            option: o.to_string(),
                        }
                    })?)
                }
                o if o.starts_with("size=") => {
                    c.size = Some(parse_size(&o[5..]).ok_or_else(|| MountError::BadOption {
                        destination: c.destination.clone(),
                        option: o.to_string(),
                    })?)
                }
                // Propagation, atime and the like change nothing inside the
                // sandbox; devpts and mqueue options name host groups.
                _ => {}
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// What the sandbox's first process runs and sees, as the bundle asks.
/// Writes to the root stay in the sandbox (overlay) unless a later option
/// says otherwise; the hostname is the spec's, or the sentry's default.
pub fn sentry_config(bundle: &Bundle) -> Config {
    let defaults = Config::default();
    let spec = &bundle.spec;
    let process = spec.process().as_ref();
    let user = process.map(|p| p.user());
    let rlimits = process
        .and_then(|p| p.rlimits().as_ref())
        .map(|limits| {
            limits
                .iter()
                .map(|limit| Rlimit {
                    resource: rlimit_type_number(limit.typ()),
                    soft: limit.soft(),
                    hard: limit.hard(),
                })
                .collect()
        })
        .unwrap_or_default();
    Config {
        argv: process.and_then(|p| p.args().clone()).unwrap_or_default(),
        env: process.and_then(|p| p.env().clone()).unwrap_or_default(),
        cwd: process
            .map(|p| p.cwd().to_string_lossy().into_owned())
            .unwrap_or(defaults.cwd),
        root: bundle.root.clone(),
        overlay: true,
        readonly_root: spec
            .root()
            .as_ref()
            .and_then(|root| root.readonly())
            .unwrap_or(false),
        hostname: spec.hostname().clone().unwrap_or(defaults.hostname),
        uid: user.map_or(0, |u| u.uid()),
        gid: user.map_or(0, |u| u.gid()),
        additional_gids: user
            .and_then(|u| u.additional_gids().clone())
            .unwrap_or_default(),
        rlimits,
        strace: false,
        tmp_tmpfs: true,
        mounts: mount_configs(spec.mounts().as_deref().unwrap_or_default(), &bundle.dir)
            .unwrap_or_else(|e| {
                tracing::warn!("{e}; the spec's mounts are left out");
                Vec::new()
            }),
        masked_paths: spec
            .linux()
            .as_ref()
            .and_then(|l| l.masked_paths().clone())
            .unwrap_or_default(),
        readonly_paths: spec
            .linux()
            .as_ref()
            .and_then(|l| l.readonly_paths().clone())
            .unwrap_or_default(),
        capabilities: process.and_then(|p| p.capabilities().as_ref()).map(caps_of),
        network: defaults.network,
        platform: sentry::PlatformKind::default(),
    }
}

/// The spec's capability sets (names the sentry does not know are left
/// out).
pub fn caps_of(c: &oci_spec::runtime::LinuxCapabilities) -> sentry::kernel::caps::Caps {
    let set = |s: &Option<oci_spec::runtime::Capabilities>| -> u64 {
        s.iter()
            .flatten()
            .filter_map(|cap| sentry::kernel::caps::number(&cap.to_string()))
            .fold(0, |acc, n| acc | 1 << n)
    };
    sentry::kernel::caps::Caps {
        effective: set(c.effective()),
        permitted: set(c.permitted()),
        inheritable: set(c.inheritable()),
        bounding: set(c.bounding()),
        ambient: set(c.ambient()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    fn load(config: &str) -> (TempDir, Bundle) {
        let dir = TempDir::new();
        std::fs::create_dir(dir.path().join("rootfs")).unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let bundle = Bundle::load(dir.path()).unwrap();
        (dir, bundle)
    }

    #[test]
    fn every_field_is_carried_over() {
        let (dir, bundle) = load(
            r#"{
                "ociVersion": "1.1.0",
                "process": {
                    "args": ["/bin/echo", "hi"],
                    "env": ["PATH=/bin", "A=b"],
                    "cwd": "/tmp",
                    "user": { "uid": 1000, "gid": 100, "additionalGids": [10, 20] },
                    "rlimits": [
                        { "type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024 },
                        { "type": "RLIMIT_CORE", "soft": 0, "hard": 18446744073709551615 }
                    ]
                },
                "root": { "path": "rootfs", "readonly": true },
                "hostname": "box"
            }"#,
        );
        let config = sentry_config(&bundle);
        assert_eq!(config.argv, ["/bin/echo", "hi"]);
        assert_eq!(config.env, ["PATH=/bin", "A=b"]);
        assert_eq!(config.cwd, "/tmp");
        assert_eq!(config.root, dir.path().join("rootfs"));
        assert!(config.readonly_root);
        assert!(config.overlay);
        assert_eq!(config.hostname, "box");
        assert_eq!((config.uid, config.gid), (1000, 100));
        assert_eq!(config.additional_gids, [10, 20]);
        assert_eq!(
            config.rlimits,
            [
                Rlimit {
                    resource: 7,
                    soft: 512,
                    hard: 1024
                },
                Rlimit {
                    resource: 4,
                    soft: 0,
                    hard: u64::MAX
                }
            ]
        );
        assert!(!config.strace);
    }

    #[test]
    fn absent_fields_take_defaults() {
        let (_dir, bundle) = load(
            r#"{ "process": { "args": ["sh"], "cwd": "/", "user": { "uid": 0, "gid": 0 } }, "root": { "path": "rootfs" } }"#,
        );
        let config = sentry_config(&bundle);
        assert!(config.env.is_empty());
        assert!(!config.readonly_root);
        assert!(config.overlay);
        assert_eq!(config.hostname, Config::default().hostname);
        assert_eq!((config.uid, config.gid), (0, 0));
        assert!(config.additional_gids.is_empty() && config.rlimits.is_empty());
    }
}
