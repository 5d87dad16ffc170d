//! Host resource limits of the sandbox process itself.
//!
//! These are not the application's limits. The `process.rlimits` of the
//! spec belong to the sentry's kernel (they travel in the sentry's config
//! and are enforced there); none of them is ever applied to the host
//! process. What this module sets are the limits the sentry runs under on
//! the host.
//!
//! Only soft limits move, and only within the hard limit: the sandbox never
//! raises a hard limit on the host. Raising one needs `CAP_SYS_RESOURCE`,
//! which even root lacks on some hosts (on the development machines the
//! hard `RLIMIT_NOFILE` is 20000 and cannot go higher).
//!
//! Set them before [`crate::confine`]: the seccomp filter does not allow
//! `prlimit64`.

use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// `RLIM_INFINITY` as the kernel reports it.
pub const INFINITY: u64 = u64::MAX;

/// One host limit of the sandbox process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostLimit {
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

/// What the sandbox process needs from its host limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SandboxNeeds {
    /// Address space the sentry maps: the whole memory file plus its own
    /// heap, stacks and binary. The memory file alone is 1 TiB.
    pub address_space: u64,
}

impl Default for SandboxNeeds {
    fn default() -> Self {
        SandboxNeeds {
            // 1 TiB memory file plus 1 TiB for everything else.
            address_space: 2 << 40,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RlimitError {
    #[error("reading host limit {resource:?} failed: {errno}")]
    Get { resource: Resource, errno: Errno },
    #[error("setting host limit {resource:?} to soft {soft} / hard {hard} failed: {errno}")]
    Set {
        resource: Resource,
        soft: u64,
        hard: u64,
        errno: Errno,
    },
    #[error(
        "the hard RLIMIT_AS of {hard} bytes is below the {needed} bytes the sandbox maps; \
         raise it for the caller (runsc cannot raise hard limits)"
    )]
    AddressSpace { hard: u64, needed: u64 },
}

/// The resources this module looks at.
pub const MANAGED: [Resource; 4] = [
    Resource::RLIMIT_NOFILE,
    Resource::RLIMIT_NPROC,
    Resource::RLIMIT_AS,
    Resource::RLIMIT_CORE,
];

/// Computes the limits the sandbox process should run with, given the
/// current `(soft, hard)` of each resource in [`MANAGED`]. Returns only the
/// limits that change.
///
/// - `RLIMIT_NOFILE`: soft up to hard. The sentry holds a host descriptor
///   for every open host file of every application process.
/// - `RLIMIT_NPROC`: soft up to hard. Every application address space is a
///   stub process of the sandbox's uid, and without capabilities the kernel
///   counts them against this limit.
/// - `RLIMIT_AS`: soft up to hard, and an error if even the hard limit is
///   below [`SandboxNeeds::address_space`].
/// - `RLIMIT_CORE`: soft down to 0. A core dump of the sentry would hold
///   the application's memory (the memory file is a shared mapping, which
///   cores include) and could be 1 TiB.
///
/// Hard limits are never changed.
pub fn plan(
    needs: &SandboxNeeds,
    current: impl Fn(Resource) -> (u64, u64),
) -> Result<Vec<HostLimit>, RlimitError> {
    let mut changes = Vec::new();
    for resource in MANAGED {
        let (soft, hard) = current(resource);
        let want = match resource {
            Resource::RLIMIT_AS => {
                if hard < needs.address_space {
                    return Err(RlimitError::AddressSpace {
                        hard,
                        needed: needs.address_space,
                    });
                }
                hard
            }
            Resource::RLIMIT_CORE => 0,
            _ => hard,
        };
        if want != soft {
            changes.push(HostLimit {
                resource,
                soft: want,
                hard,
            });
        }
    }
    Ok(changes)
}

/// Reads the current limits of the calling process.
pub fn current() -> Result<Vec<HostLimit>, RlimitError> {
    MANAGED
        .iter()
        .map(|&resource| {
            getrlimit(resource)
                .map(|(soft, hard)| HostLimit {
                    resource,
                    soft,
                    hard,
                })
                .map_err(|errno| RlimitError::Get { resource, errno })
        })
        .collect()
}

/// Sets each limit in `limits` on the calling process.
pub fn apply(limits: &[HostLimit]) -> Result<(), RlimitError> {
    for l in limits {
        setrlimit(l.resource, l.soft, l.hard).map_err(|errno| RlimitError::Set {
            resource: l.resource,
            soft: l.soft,
            hard: l.hard,
            errno,
        })?;
    }
    Ok(())
}

/// Reads the current limits, computes the sandbox's with [`plan`] and sets
/// them. Returns what changed, for the log.
pub fn prepare_host_limits(needs: &SandboxNeeds) -> Result<Vec<HostLimit>, RlimitError> {
    let now = current()?;
    let lookup = |r: Resource| {
        now.iter()
            .find(|l| l.resource == r)
            .map(|l| (l.soft, l.hard))
            .unwrap_or((INFINITY, INFINITY))
    };
    let changes = plan(needs, lookup)?;
    apply(&changes)?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(
        nofile: (u64, u64),
        nproc: (u64, u64),
        asp: (u64, u64),
        core: (u64, u64),
    ) -> impl Fn(Resource) -> (u64, u64) {
        move |r| match r {
            Resource::RLIMIT_NOFILE => nofile,
            Resource::RLIMIT_NPROC => nproc,
            Resource::RLIMIT_AS => asp,
            Resource::RLIMIT_CORE => core,
            _ => unreachable!(),
        }
    }

    #[test]
    fn soft_limits_rise_to_hard_and_hard_never_moves() {
        let changes = plan(
            &SandboxNeeds::default(),
            table(
                (1024, 20000),
                (100, 1000),
                (INFINITY, INFINITY),
                (INFINITY, INFINITY),
            ),
        )
        .unwrap();
        assert_eq!(
            changes,
            vec![
                HostLimit {
                    resource: Resource::RLIMIT_NOFILE,
                    soft: 20000,
                    hard: 20000
                },
                HostLimit {
                    resource: Resource::RLIMIT_NPROC,
                    soft: 1000,
                    hard: 1000
                },
                HostLimit {
                    resource: Resource::RLIMIT_CORE,
                    soft: 0,
                    hard: INFINITY
                },
            ]
        );
    }

    #[test]
    fn nothing_changes_when_already_right() {
        let changes = plan(
            &SandboxNeeds::default(),
            table(
                (20000, 20000),
                (INFINITY, INFINITY),
                (INFINITY, INFINITY),
                (0, 0),
            ),
        )
        .unwrap();
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_small_hard_address_space_is_refused_with_numbers() {
        let err = plan(
            &SandboxNeeds::default(),
            table((1024, 1024), (1, 1), (1 << 30, 1 << 30), (0, 0)),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("RLIMIT_AS") && msg.contains(&(1u64 << 30).to_string()),
            "{msg}"
        );
    }

    #[test]
    fn a_soft_address_space_limit_rises_to_a_sufficient_hard_one() {
        let changes = plan(
            &SandboxNeeds {
                address_space: 1 << 41,
            },
            table((1, 1), (1, 1), (1 << 30, 1 << 42), (0, 0)),
        )
        .unwrap();
        assert_eq!(
            changes,
            vec![HostLimit {
                resource: Resource::RLIMIT_AS,
                soft: 1 << 42,
                hard: 1 << 42
            }]
        );
    }

    #[test]
    fn the_plan_for_this_process_never_raises_a_hard_limit() {
        let before = current().unwrap();
        let changes = match plan(&SandboxNeeds::default(), |r| {
            let l = before.iter().find(|l| l.resource == r).unwrap();
            (l.soft, l.hard)
        }) {
            Ok(changes) => changes,
            // A host whose hard RLIMIT_AS is too small: refused, nothing to check.
            Err(RlimitError::AddressSpace { .. }) => return,
            Err(e) => panic!("{e}"),
        };
        for c in &changes {
            let b = before.iter().find(|l| l.resource == c.resource).unwrap();
            assert_eq!(c.hard, b.hard);
            assert!(c.soft <= c.hard);
        }
    }
}
