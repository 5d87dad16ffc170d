//! `update`: change the resource limits of a running container.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct Update {
    /// JSON file (or - for standard input) with the new linux.resources
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<PathBuf>,

    /// Block IO weight, 10 to 1000
    #[arg(long, value_name = "WEIGHT")]
    pub blkio_weight: Option<u16>,

    /// CPU CFS period in microseconds
    #[arg(long, value_name = "US")]
    pub cpu_period: Option<String>,

    /// CPU CFS quota in microseconds
    #[arg(long, value_name = "US", allow_negative_numbers = true)]
    pub cpu_quota: Option<String>,

    /// CPU CFS burst in microseconds
    #[arg(long, value_name = "US")]
    pub cpu_burst: Option<String>,

    /// CPU shares (relative weight)
    #[arg(long, value_name = "SHARES")]
    pub cpu_share: Option<String>,

    /// CPU realtime period in microseconds
    #[arg(long, value_name = "US")]
    pub cpu_rt_period: Option<String>,

    /// CPU realtime runtime in microseconds
    #[arg(long, value_name = "US")]
    pub cpu_rt_runtime: Option<String>,

    /// CPUs the container may use (0-3, 0,1)
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,

    /// Memory nodes the container may use (0-3, 0,1)
    #[arg(long, value_name = "NODES")]
    pub cpuset_mems: Option<String>,

    /// Accepted for compatibility with runc; ignored as by runc
    #[arg(long, value_name = "BYTES")]
    pub kernel_memory: Option<String>,

    /// Accepted for compatibility with runc; ignored as by runc
    #[arg(long, value_name = "BYTES")]
    pub kernel_memory_tcp: Option<String>,

    /// Memory limit in bytes
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub memory: Option<String>,

    /// SCHED_IDLE for the container's CPU cgroup (0 or 1)
    #[arg(long, value_name = "0|1")]
    pub cpu_idle: Option<String>,

    /// Memory reservation (soft limit) in bytes
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub memory_reservation: Option<String>,

    /// Memory plus swap limit in bytes
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub memory_swap: Option<String>,

    /// Maximum number of processes, -1 for no limit
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub pids_limit: Option<i64>,

    /// Intel RDT L3 cache schema
    #[arg(long, value_name = "SCHEMA")]
    pub l3_cache_schema: Option<String>,

    /// Intel RDT memory bandwidth schema
    #[arg(long, value_name = "SCHEMA")]
    pub mem_bw_schema: Option<String>,

    /// The container's ID
    pub container_id: String,
}
