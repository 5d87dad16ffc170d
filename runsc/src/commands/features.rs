//! `features`: what this runtime supports, in the OCI features format.
//!
//! Only what a sandbox provides is claimed. Namespaces and capabilities are
//! the sentry's own, so all of them are known. Hooks that run on the host
//! are supported; `createContainer` and `startContainer`, which would run
//! a host program inside the container, are not. Cgroups, seccomp filters
//! from the spec, AppArmor, SELinux, Intel RDT and ID-mapped mounts are
//! not applied (yet), and say so.

use crate::cli::features::Features;
use oci_spec::runtime::{
    ApparmorBuilder, CgroupBuilder, FeaturesBuilder, IDMapBuilder, IntelRdtBuilder,
    LinuxFeatureBuilder, LinuxNamespaceType, MountExtensionsBuilder, SeccompBuilder,
    SelinuxBuilder,
};
use std::collections::HashMap;

const HOOKS: [&str; 4] = ["prestart", "createRuntime", "poststart", "poststop"];

const MOUNT_OPTIONS: [&str; 30] = [
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "exec",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "private",
    "rbind",
    "relatime",
    "ro",
    "rprivate",
    "rshared",
    "rslave",
    "runbindable",
    "rw",
    "shared",
    "slave",
    "strictatime",
    "suid",
    "sync",
    "tmpcopyup",
    "unbindable",
];

/// Every Linux capability, in number order.
const CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

pub fn features(_args: Features) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&document()?)?;
    super::print(&format!("{text}\n"))
}

/// The features document, without the fields that oci-spec leaves null.
fn document() -> anyhow::Result<serde_json::Value> {
    let no = false;
    let linux = LinuxFeatureBuilder::default()
        .namespaces(vec![
            LinuxNamespaceType::Cgroup,
            LinuxNamespaceType::Ipc,
            LinuxNamespaceType::Mount,
            LinuxNamespaceType::Network,
            LinuxNamespaceType::Pid,
            LinuxNamespaceType::User,
            LinuxNamespaceType::Uts,
        ])
        .capabilities(strings(&CAPABILITIES))
        .cgroup(
            CgroupBuilder::default()
                .v1(no)
                .v2(no)
                .systemd(no)
                .systemd_user(no)
                .rdma(no)
                .build()?,
        )
        .seccomp(SeccompBuilder::default().enabled(no).build()?)
        .apparmor(ApparmorBuilder::default().enabled(no).build()?)
        .selinux(SelinuxBuilder::default().enabled(no).build()?)
        .intel_rdt(IntelRdtBuilder::default().enabled(no).build()?)
        .mount_extensions(
            MountExtensionsBuilder::default()
                .idmap(IDMapBuilder::default().enabled(no).build()?)
                .build()?,
        )
        .build()?;
    let features = FeaturesBuilder::default()
        .oci_version_min(specutils::OCI_VERSION_MIN)
        .oci_version_max(specutils::OCI_VERSION)
        .hooks(strings(&HOOKS))
        .mount_options(strings(&MOUNT_OPTIONS))
        .linux(linux)
        .annotations(HashMap::from([(
            "io.github.runsc-rs.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        )]))
        .build()?;
    let mut value = serde_json::to_value(features)?;
    drop_nulls(&mut value);
    Ok(value)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            object.retain(|_, field| !field.is_null());
            object.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_parses_as_features_and_claims_little() {
        let value = document().unwrap();
        let text = value.to_string();
        assert!(!text.contains("null"), "{text}");
        let parsed: oci_spec::runtime::Features = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(parsed.oci_version_max(), specutils::OCI_VERSION);
        assert_eq!(parsed.oci_version_min(), "1.0.0");
        assert_eq!(value["linux"]["cgroup"]["v2"], false);
        assert_eq!(value["linux"]["seccomp"]["enabled"], false);
        assert_eq!(value["linux"]["namespaces"][1], "ipc");
        assert!(!value["hooks"]
            .as_array()
            .unwrap()
            .contains(&"startContainer".into()));
    }

    #[test]
    fn mount_options_are_sorted_and_unique() {
        let mut sorted = MOUNT_OPTIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, MOUNT_OPTIONS);
    }
}
