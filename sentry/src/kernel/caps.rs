//! Capabilities of a task, as Linux keeps them: five sets (effective,
//! permitted, inheritable, bounding, ambient) in the task's credentials,
//! started from the container's `process.capabilities`, changed by
//! `capset`, `prctl` and the set*id rules, and recomputed by `execve`.
//!
//! What the sentry enforces with them (`Creds::capable`):
//! - `CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH`: permission checks of files;
//! - `CAP_FOWNER`: owner-only operations (chmod, utimes, sticky
//!   directories, links to files one cannot use);
//! - `CAP_CHOWN`: chown; `CAP_FSETID`: keeping set-group-ID on chmod;
//! - `CAP_MKNOD`: device nodes; `CAP_SYS_CHROOT`: chroot;
//! - `CAP_SETUID`, `CAP_SETGID`: set*id and setgroups;
//! - `CAP_KILL`: signals to processes of other users;
//! - `CAP_SYS_ADMIN`: sethostname, setdomainname, `trusted.*` extended
//!   attributes (the sentry has no mount(2));
//! - `CAP_SYS_RESOURCE`: raising a hard resource limit;
//! - `CAP_NET_RAW`: raw (ICMP) sockets;
//! - `CAP_SYS_NICE`: a lower nice value, and the nice value of another
//!   user's processes (`setpriority`);
//! - `CAP_SYS_PTRACE`: `pidfd_getfd` of another user's process.
//!
//! Everything else the sentry does not gate on a capability.

use serde::{Deserialize, Serialize};

pub const CAP_CHOWN: u32 = 0;
pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_FOWNER: u32 = 3;
pub const CAP_FSETID: u32 = 4;
pub const CAP_KILL: u32 = 5;
pub const CAP_SETGID: u32 = 6;
pub const CAP_SETUID: u32 = 7;
pub const CAP_SETPCAP: u32 = 8;
pub const CAP_NET_BROADCAST: u32 = 11;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_CHROOT: u32 = 18;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_NICE: u32 = 23;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYS_RESOURCE: u32 = 24;
pub const CAP_MKNOD: u32 = 27;
pub const CAP_LINUX_IMMUTABLE: u32 = 9;
pub const CAP_MAC_OVERRIDE: u32 = 32;
/// The highest capability the sentry knows (`CAP_CHECKPOINT_RESTORE`).
pub const CAP_LAST_CAP: u32 = 40;
/// Every capability.
pub const ALL: u64 = (1 << (CAP_LAST_CAP + 1)) - 1;

/// The capabilities that follow the filesystem UID: cleared when it
/// leaves 0, given back (from the permitted set) when it returns.
const FS_MASK: u64 = (1 << CAP_CHOWN)
    | (1 << CAP_DAC_OVERRIDE)
    | (1 << CAP_DAC_READ_SEARCH)
    | (1 << CAP_FOWNER)
    | (1 << CAP_FSETID)
    | (1 << CAP_LINUX_IMMUTABLE)
    | (1 << CAP_MKNOD)
    | (1 << CAP_MAC_OVERRIDE);

/// The five capability sets, one bit per capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub bounding: u64,
    pub ambient: u64,
}

impl Caps {
    /// What a process of `uid` starts with: everything for root, nothing
    /// but the bounding set for others.
    pub fn for_uid(uid: u32) -> Caps {
        let all = if uid == 0 { ALL } else { 0 };
        Caps {
            effective: all,
            permitted: all,
            inheritable: 0,
            bounding: ALL,
            ambient: 0,
        }
    }

    pub fn has(&self, cap: u32) -> bool {
        cap <= CAP_LAST_CAP && self.effective & (1 << cap) != 0
    }

    /// `execve` without file capabilities: root (real or effective UID 0)
    /// gets its inheritable and bounding sets; others keep the ambient
    /// set only. Set-user-ID changes are not made by the sentry's exec.
    pub fn after_exec(&self, uid: u32, euid: u32) -> Caps {
        let ambient = self.ambient & self.permitted & self.inheritable;
        let permitted = if uid == 0 || euid == 0 {
            (self.inheritable | self.bounding) & self.bounding | ambient
        } else {
            ambient
        };
        let effective = if euid == 0 || ambient != 0 {
            permitted
        } else {
            0
        };
        Caps {
            effective,
            permitted,
            inheritable: self.inheritable,
            bounding: self.bounding,
            ambient,
        }
    }

    /// The set*uid rules (`cap_emulate_setxuid`, without keep-caps):
    /// losing every UID 0 drops the permitted, effective and ambient sets;
    /// an effective UID leaving 0 drops the effective set, one becoming 0
    /// takes the permitted set; the filesystem UID moves the fs set.
    pub fn after_setuid(&mut self, old: (u32, u32, u32, u32), new: (u32, u32, u32, u32)) {
        let (ouid, oeuid, osuid, ofsuid) = old;
        let (nuid, neuid, nsuid, nfsuid) = new;
        let had_root = ouid == 0 || oeuid == 0 || osuid == 0;
        let has_root = nuid == 0 || neuid == 0 || nsuid == 0;
        if had_root && !has_root {
            self.permitted = 0;
            self.effective = 0;
            self.ambient = 0;
        }
        if oeuid == 0 && neuid != 0 {
            self.effective = 0;
        }
        if oeuid != 0 && neuid == 0 {
            self.effective = self.permitted;
        }
        if ofsuid == 0 && nfsuid != 0 {
            self.effective &= !FS_MASK;
        }
        if ofsuid != 0 && nfsuid == 0 {
            self.effective |= self.permitted & FS_MASK;
        }
    }

    /// `capset` of the calling task: new sets within what Linux allows.
    pub fn set(&mut self, effective: u64, permitted: u64, inheritable: u64) -> bool {
        let (e, p, i) = (effective & ALL, permitted & ALL, inheritable & ALL);
        let inh_limit = if self.has(CAP_SETPCAP) {
            self.inheritable | self.bounding
        } else {
            self.inheritable | self.permitted
        };
        if p & !self.permitted != 0 || e & !p != 0 || i & !inh_limit != 0 {
            return false;
        }
        self.effective = e;
        self.permitted = p;
        self.inheritable = i;
        self.ambient &= p & i;
        true
    }

    /// `/proc/[pid]/status` lines.
    pub fn status_lines(&self) -> String {
        format!(
            "CapInh:\t{:016x}\nCapPrm:\t{:016x}\nCapEff:\t{:016x}\nCapBnd:\t{:016x}\nCapAmb:\t{:016x}\n",
            self.inheritable, self.permitted, self.effective, self.bounding, self.ambient
        )
    }
}

/// The number of a capability name (`CAP_SYS_ADMIN` or `sys_admin`).
pub fn number(name: &str) -> Option<u32> {
    const NAMES: [&str; 41] = [
        "chown",
        "dac_override",
        "dac_read_search",
        "fowner",
        "fsetid",
        "kill",
        "setgid",
        "setuid",
        "setpcap",
        "linux_immutable",
        "net_bind_service",
        "net_broadcast",
        "net_admin",
        "net_raw",
        "ipc_lock",
        "ipc_owner",
        "sys_module",
        "sys_rawio",
        "sys_chroot",
        "sys_ptrace",
        "sys_pacct",
        "sys_admin",
        "sys_boot",
        "sys_nice",
        "sys_resource",
        "sys_time",
        "sys_tty_config",
        "mknod",
        "lease",
        "audit_write",
        "audit_control",
        "setfcap",
        "mac_override",
        "mac_admin",
        "syslog",
        "wake_alarm",
        "block_suspend",
        "audit_read",
        "perfmon",
        "bpf",
        "checkpoint_restore",
    ];
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("cap_").unwrap_or(&lower);
    NAMES.iter().position(|n| *n == bare).map(|i| i as u32)
}

/// A set from capability names; unknown names are returned as errors.
pub fn set_of(names: &[String]) -> Result<u64, String> {
    let mut s = 0;
    for n in names {
        s |= 1u64 << number(n).ok_or_else(|| n.clone())?;
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_sets() {
        assert_eq!(number("CAP_SYS_ADMIN"), Some(CAP_SYS_ADMIN));
        assert_eq!(number("kill"), Some(CAP_KILL));
        assert_eq!(number("CAP_NOPE"), None);
        let s = set_of(&["CAP_CHOWN".into(), "CAP_KILL".into()]).unwrap();
        assert_eq!(s, 0b100001);
    }

    #[test]
    fn root_exec_takes_the_bounding_set_and_users_lose_all() {
        let mut c = Caps::for_uid(0);
        c.bounding = 1 << CAP_CHOWN | 1 << CAP_KILL;
        let after = c.after_exec(0, 0);
        assert_eq!(after.effective, c.bounding);
        assert_eq!(c.after_exec(1000, 1000).permitted, 0);
    }

    #[test]
    fn setuid_away_from_root_drops_everything() {
        let mut c = Caps::for_uid(0);
        c.after_setuid((0, 0, 0, 0), (1000, 1000, 1000, 1000));
        assert_eq!(c.effective | c.permitted, 0);
        let mut c = Caps::for_uid(0);
        c.after_setuid((0, 0, 0, 0), (0, 1000, 0, 1000));
        assert_eq!(c.effective, 0);
        c.after_setuid((0, 1000, 0, 1000), (0, 0, 0, 0));
        assert_eq!(c.effective, ALL);
    }

    #[test]
    fn capset_cannot_gain() {
        let mut c = Caps::for_uid(1000);
        assert!(!c.set(1, 1, 0));
        let mut r = Caps::for_uid(0);
        assert!(r.set(0, 1 << CAP_KILL, 0));
        assert!(!r.has(CAP_KILL));
        assert!(!r.set(1 << CAP_CHOWN, 1 << CAP_CHOWN, 0));
    }
}
