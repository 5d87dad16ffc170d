//! From a bundle's spec to the [`sentry::Config`] that starts a sandbox.

use crate::bundle::Bundle;
use crate::rlimit::rlimit_type_number;
use sentry::{Config, Rlimit};

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
        platform: sentry::PlatformKind::default(),
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
