//! Handing the container's interfaces to its sandbox (see
//! `sentry::net::host_if`): the runtime enters the sandbox process's
//! network namespace, takes each Ethernet link there (a packet socket on
//! it, its address removed from the host side) and sends what it took
//! over the control socket. `create` (so `run` and `restore` too) does it
//! after the `prestart` and `createRuntime` hooks, which is when an engine
//! such as Docker has put the container's veth in the namespace, and
//! before the container's init may run.

use super::Client;
use crate::container::State;
use anyhow::Context;
use sentry::control::protocol::{NetInterface, Reply, Request};
use sentry::control::wire::MAX_FDS;
use std::os::fd::AsRawFd;

/// Takes the interfaces of the namespace of `state`'s sandbox and hands
/// them to it.
pub fn hand_over(state: &State) -> anyhow::Result<()> {
    let pid = state
        .pid
        .with_context(|| format!("container {:?} has no sandbox process", state.id))?;
    let ns = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
    let mut found = if same_namespace(&ns, std::path::Path::new("/proc/self/ns/net")) {
        // A spec that joins the runtime's own namespace (the host's):
        // its links are not the container's to take.
        tracing::warn!(
            "container {:?} is in the runtime's own network namespace: \
             its interfaces stay with the host, the sandbox has loopback only",
            state.id
        );
        Vec::new()
    } else {
        sentry::net::host_if::take_in(&ns).with_context(|| {
            format!(
                "cannot read the network interfaces of container {:?} in {}",
                state.id,
                ns.display()
            )
        })?
    };
    if found.len() > MAX_FDS {
        let left: Vec<String> = found[MAX_FDS..]
            .iter()
            .map(|f| f.conf.name.clone())
            .collect();
        tracing::warn!(
            "container {:?}: only the first {MAX_FDS} interfaces are served; not {}",
            state.id,
            left.join(", ")
        );
        found.truncate(MAX_FDS);
    }
    tracing::debug!(
        id = %state.id,
        interfaces = ?found.iter().map(|f| &f.conf).collect::<Vec<_>>(),
        "handing the network to the sandbox"
    );
    let fds: Vec<i32> = found.iter().map(|f| f.fd.as_raw_fd()).collect();
    let req = Request::Network {
        interfaces: found
            .iter()
            .map(|f| NetInterface {
                conf: f.conf.clone(),
                has_addr: f.has_addr,
            })
            .collect(),
    };
    let mut client = Client::connect(state)?;
    match client.call(&req, &fds)? {
        Reply::Done => Ok(()),
        r => Err(super::client::unexpected("the network hand-over", &r)),
    }
}

/// True if the namespace files `a` and `b` name the same namespace.
fn same_namespace(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}
