//! `update`: change the resource limits of a container's sandbox cgroup,
//! from a `linux.resources` JSON document (`--resources FILE`, `-` for
//! standard input) or from the flags, as runc does. Limits the sentry
//! keeps itself (rlimits) are not resources and do not change.

use super::load;
use crate::cli::update::Update;
use crate::cli::GlobalOpts;
use anyhow::Context;
use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder,
};
use std::io::Read;

pub fn update(global: &GlobalOpts, args: Update) -> anyhow::Result<()> {
    let id = args.container_id.clone();
    let state = load(global, &id)?;
    let status = state.observed_status();
    if status == crate::container::ContainerStatus::Stopped {
        anyhow::bail!("cannot update container {id:?}: it is stopped");
    }
    let path = state
        .cgroup
        .as_ref()
        .with_context(|| format!("container {id:?} has no cgroup to update"))?;
    let resources = resources_of(&args)?;
    let path = boot::cgroups::CgroupPath::new(&path.to_string_lossy())
        .with_context(|| format!("the cgroup of container {id:?}"))?;
    boot::cgroups::Cgroups::detect()
        .context("cannot find the cgroup filesystems")?
        .update(&path, &resources)
        .with_context(|| format!("cannot update the resources of container {id:?}"))?;
    Ok(())
}

fn num<T: std::str::FromStr>(flag: &str, v: &Option<String>) -> anyhow::Result<Option<T>> {
    v.as_deref()
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| anyhow::anyhow!("--{flag}: {s:?} is not a number"))
        })
        .transpose()
}

/// The new resources: the JSON document, or what the flags say.
fn resources_of(a: &Update) -> anyhow::Result<LinuxResources> {
    if let Some(file) = &a.resources {
        let mut text = String::new();
        if file.as_os_str() == "-" {
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the resources from standard input")?;
        } else {
            text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
        }
        return serde_json::from_str(&text)
            .with_context(|| format!("{} is not a linux.resources document", file.display()));
    }
    let mut r = LinuxResourcesBuilder::default();
    let mut mem = LinuxMemoryBuilder::default();
    let mut any_mem = false;
    if let Some(v) = num::<i64>("memory", &a.memory)? {
        mem = mem.limit(v);
        any_mem = true;
    }
    if let Some(v) = num::<i64>("memory-reservation", &a.memory_reservation)? {
        mem = mem.reservation(v);
        any_mem = true;
    }
    if let Some(v) = num::<i64>("memory-swap", &a.memory_swap)? {
        mem = mem.swap(v);
        any_mem = true;
    }
    if any_mem {
        r = r.memory(mem.build()?);
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if let Some(v) = num::<u64>("cpu-share", &a.cpu_share)? {
        cpu = cpu.shares(v);
        any_cpu = true;
    }
    if let Some(v) = num::<i64>("cpu-quota", &a.cpu_quota)? {
        cpu = cpu.quota(v);
        any_cpu = true;
    }
    if let Some(v) = num::<u64>("cpu-period", &a.cpu_period)? {
        cpu = cpu.period(v);
        any_cpu = true;
    }
    if let Some(v) = num::<i64>("cpu-rt-runtime", &a.cpu_rt_runtime)? {
        cpu = cpu.realtime_runtime(v);
        any_cpu = true;
    }
    if let Some(v) = num::<u64>("cpu-rt-period", &a.cpu_rt_period)? {
        cpu = cpu.realtime_period(v);
        any_cpu = true;
    }
    if let Some(v) = &a.cpuset_cpus {
        cpu = cpu.cpus(v.clone());
        any_cpu = true;
    }
    if let Some(v) = &a.cpuset_mems {
        cpu = cpu.mems(v.clone());
        any_cpu = true;
    }
    if any_cpu {
        r = r.cpu(cpu.build()?);
    }
    if let Some(v) = a.pids_limit {
        r = r.pids(LinuxPidsBuilder::default().limit(v).build()?);
    }
    if let Some(w) = a.blkio_weight {
        r = r.block_io(LinuxBlockIoBuilder::default().weight(w).build()?);
    }
    for (flag, v) in [
        ("l3-cache-schema", &a.l3_cache_schema),
        ("mem-bw-schema", &a.mem_bw_schema),
        ("cpu-idle", &a.cpu_idle),
        ("cpu-burst", &a.cpu_burst),
    ] {
        if v.is_some() {
            anyhow::bail!("--{flag} is not supported by this runtime");
        }
    }
    Ok(r.build()?)
}
