//! `linux.resources` as cgroupfs file writes, for v1 and v2.

use super::{read_file, write_file, CgroupError, CgroupPath, Cgroups};
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxResources};
use std::path::Path;

/// The default CFS period, used on v2 when only a quota is given.
const DEFAULT_PERIOD_US: u64 = 100_000;

/// cgroup v1's "no limit" for memory files.
const V1_UNLIMITED: i64 = -1;

/// The `cpu.weight` (v2, 1 to 10000) for a `cpu.shares` value (v1, 2 to
/// 262144), by the linear map between the two ranges that other runtimes
/// use too, so a spec gives the same weight whichever runtime applies it
/// (the v1 default 1024 becomes 39, not v2's default 100).
pub fn shares_to_weight(shares: u64) -> u64 {
    let shares = shares.clamp(2, 262_144);
    1 + ((shares - 2) * 9999) / 262_142
}

/// The v2 controllers `r` needs enabled in the parent's `subtree_control`.
pub fn v2_controllers(r: &LinuxResources) -> Vec<&'static str> {
    let mut out = Vec::new();
    if let Some(cpu) = r.cpu() {
        if cpu.shares().is_some() || cpu.quota().is_some() || cpu.period().is_some() {
            out.push("cpu");
        }
        if cpu.cpus().is_some() || cpu.mems().is_some() {
            out.push("cpuset");
        }
    }
    if r.memory().is_some() {
        out.push("memory");
    }
    if r.pids().is_some() {
        out.push("pids");
    }
    if let Some(unified) = r.unified() {
        for key in unified.keys() {
            let controller = key.split('.').next().unwrap_or_default();
            for known in [
                "cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma", "misc",
            ] {
                if controller == known && !out.contains(&known) {
                    out.push(known);
                }
            }
        }
    }
    out
}

/// Writes `r` into the v1 hierarchies of `path`.
pub fn write_v1(cg: &Cgroups, path: &CgroupPath, r: &LinuxResources) -> Result<(), CgroupError> {
    let dir = |controller: &'static str, what: &'static str| {
        cg.directory_of(controller, path)
            .ok_or(CgroupError::NotMounted { controller, what })
    };
    if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        return Err(CgroupError::Unsupported {
            what: "linux.resources.unified".into(),
            version: 1,
        });
    }
    if let Some(mem) = r.memory() {
        write_v1_memory(&dir("memory", "linux.resources.memory")?, mem)?;
    }
    if let Some(pids) = r.pids() {
        let value = if pids.limit() > 0 {
            pids.limit().to_string()
        } else {
            "max".to_string()
        };
        write_file(
            &dir("pids", "linux.resources.pids")?.join("pids.max"),
            &value,
        )?;
    }
    if let Some(cpu) = r.cpu() {
        write_v1_cpu(cg, path, cpu)?;
    }
    Ok(())
}

fn write_v1_memory(dir: &Path, mem: &LinuxMemory) -> Result<(), CgroupError> {
    let limit_file = dir.join("memory.limit_in_bytes");
    let swap_file = dir.join("memory.memsw.limit_in_bytes");
    let v1_value = |v: i64| if v < 0 { V1_UNLIMITED } else { v }.to_string();
    if let Some(swap) = mem.swap() {
        if !swap_file.exists() {
            return Err(CgroupError::Unsupported {
                what: format!(
                    "linux.resources.memory.swap ({} is missing: swap accounting is off)",
                    swap_file.display()
                ),
                version: 1,
            });
        }
        if let Some(limit) = mem.limit() {
            if swap >= 0 && limit >= 0 && swap < limit {
                return Err(CgroupError::BadResource(format!(
                    "memory.swap ({swap}) is below memory.limit ({limit}); on v1 it counts memory plus swap"
                )));
            }
        }
        // memsw may never be below the memory limit: when the new limit is
        // above the current memsw, memsw goes first.
        let current_swap: i64 = read_file(&swap_file)?.trim().parse().unwrap_or(i64::MAX);
        let raise_first = mem.limit().is_some_and(|l| l < 0 || l > current_swap);
        if raise_first {
            write_file(&swap_file, &v1_value(swap))?;
        }
        if let Some(limit) = mem.limit() {
            write_file(&limit_file, &v1_value(limit))?;
        }
        if !raise_first {
            write_file(&swap_file, &v1_value(swap))?;
        }
    } else if let Some(limit) = mem.limit() {
        write_file(&limit_file, &v1_value(limit))?;
    }
    if let Some(reservation) = mem.reservation() {
        write_file(
            &dir.join("memory.soft_limit_in_bytes"),
            &v1_value(reservation),
        )?;
    }
    if let Some(swappiness) = mem.swappiness() {
        if swappiness > 100 {
            return Err(CgroupError::BadResource(format!(
                "memory.swappiness {swappiness} is above 100"
            )));
        }
        write_file(&dir.join("memory.swappiness"), &swappiness.to_string())?;
    }
    if mem.disable_oom_killer() == Some(true) {
        write_file(&dir.join("memory.oom_control"), "1")?;
    }
    Ok(())
}

fn write_v1_cpu(cg: &Cgroups, path: &CgroupPath, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    let dir = |controller: &'static str, what: &'static str| {
        cg.directory_of(controller, path)
            .ok_or(CgroupError::NotMounted { controller, what })
    };
    let wants_cpu = cpu.shares().is_some()
        || cpu.period().is_some()
        || cpu.quota().is_some()
        || cpu.realtime_period().is_some()
        || cpu.realtime_runtime().is_some();
    if wants_cpu {
        let d = dir("cpu", "linux.resources.cpu")?;
        if let Some(shares) = cpu.shares().filter(|&s| s != 0) {
            write_file(&d.join("cpu.shares"), &shares.to_string())?;
        }
        if let Some(period) = cpu.period().filter(|&p| p != 0) {
            write_file(&d.join("cpu.cfs_period_us"), &period.to_string())?;
        }
        if let Some(quota) = cpu.quota().filter(|&q| q != 0) {
            let value = if quota < 0 { -1 } else { quota };
            write_file(&d.join("cpu.cfs_quota_us"), &value.to_string())?;
        }
        if let Some(period) = cpu.realtime_period().filter(|&p| p != 0) {
            write_file(&d.join("cpu.rt_period_us"), &period.to_string())?;
        }
        if let Some(runtime) = cpu.realtime_runtime().filter(|&r| r != 0) {
            write_file(&d.join("cpu.rt_runtime_us"), &runtime.to_string())?;
        }
    }
    if cpu.cpus().is_some() || cpu.mems().is_some() {
        let d = dir("cpuset", "linux.resources.cpu.cpus/mems")?;
        write_cpuset(&d, cpu)?;
    }
    Ok(())
}

fn write_cpuset(dir: &Path, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        write_file(&dir.join("cpuset.cpus"), cpus)?;
    }
    if let Some(mems) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
        write_file(&dir.join("cpuset.mems"), mems)?;
    }
    Ok(())
}

/// Writes `r` into the v2 cgroup directory `dir`.
pub fn write_v2(dir: &Path, r: &LinuxResources) -> Result<(), CgroupError> {
    let max_or = |v: i64| {
        if v < 0 {
            "max".to_string()
        } else {
            v.to_string()
        }
    };
    if let Some(mem) = r.memory() {
        if let Some(limit) = mem.limit() {
            write_file(&dir.join("memory.max"), &max_or(limit))?;
        }
        if let Some(reservation) = mem.reservation() {
            write_file(&dir.join("memory.low"), &max_or(reservation))?;
        }
        if let Some(swap) = mem.swap() {
            // The spec's swap is memory plus swap (v1's memsw); v2 limits
            // swap alone.
            let value = match mem.limit() {
                _ if swap < 0 => "max".to_string(),
                Some(limit) if limit >= 0 => {
                    if swap < limit {
                        return Err(CgroupError::BadResource(format!(
                            "memory.swap ({swap}) is below memory.limit ({limit})"
                        )));
                    }
                    (swap - limit).to_string()
                }
                _ => {
                    return Err(CgroupError::BadResource(
                        "memory.swap needs a memory.limit on cgroup v2".into(),
                    ))
                }
            };
            write_file(&dir.join("memory.swap.max"), &value)?;
        }
    }
    if let Some(pids) = r.pids() {
        let value = if pids.limit() > 0 {
            pids.limit().to_string()
        } else {
            "max".to_string()
        };
        write_file(&dir.join("pids.max"), &value)?;
    }
    if let Some(cpu) = r.cpu() {
        if cpu.realtime_period().is_some() || cpu.realtime_runtime().is_some() {
            return Err(CgroupError::Unsupported {
                what: "linux.resources.cpu.realtimePeriod/realtimeRuntime".into(),
                version: 2,
            });
        }
        if let Some(shares) = cpu.shares().filter(|&s| s != 0) {
            write_file(
                &dir.join("cpu.weight"),
                &shares_to_weight(shares).to_string(),
            )?;
        }
        if cpu.quota().is_some() || cpu.period().is_some() {
            let quota = match cpu.quota() {
                Some(q) if q > 0 => q.to_string(),
                _ => "max".to_string(),
            };
            let period = cpu
                .period()
                .filter(|&p| p != 0)
                .unwrap_or(DEFAULT_PERIOD_US);
            write_file(&dir.join("cpu.max"), &format!("{quota} {period}"))?;
        }
        write_cpuset(dir, cpu)?;
    }
    if let Some(unified) = r.unified() {
        let mut keys: Vec<&String> = unified.keys().collect();
        keys.sort();
        for key in keys {
            if key.is_empty() || key.contains('/') || key.starts_with('.') {
                return Err(CgroupError::BadResource(format!(
                    "unified key {key:?} is not a cgroup file name"
                )));
            }
            write_file(&dir.join(key), &unified[key])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_map_onto_weights_at_both_ends_and_the_default() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(0), 1);
        assert_eq!(shares_to_weight(1 << 30), 10_000);
    }
}
