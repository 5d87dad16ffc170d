//! Netlink sockets (`AF_NETLINK`), of the `NETLINK_ROUTE` protocol only:
//! what `getifaddrs`, `if_nameindex` and `ip` ask the kernel about its
//! interfaces, addresses and routes, answered from the sandbox's own
//! network (the loopback and the container's interfaces, see `ext`)
//! by [`route`].
//!
//! A netlink socket is a [`Socket`] of `Domain::Netlink`: its name
//! (`Addr::Netlink`) is its port id and its multicast groups, and the
//! replies to its requests are datagrams of its receive queue, queued
//! while the request is sent (rtnetlink answers in `sendmsg` too), so
//! receiving, `MSG_PEEK`, `MSG_TRUNC`, readiness and checkpoint are those
//! of every datagram socket. A dump is computed whole at once, where
//! Linux fills it as it is read: its messages are the same.
//!
//! Port ids are assigned as Linux's `netlink_autobind` does: the thread
//! group id first, then negative numbers. Messages to another socket's
//! port id or to groups need `CAP_NET_ADMIN` (rtnetlink does not let
//! others send); the sandbox never sends notifications to groups, since
//! its interfaces never change once the container runs.
//!
//! With `--network=host` the interfaces are the host's: the same
//! requests are answered by the host's kernel ([`host`]), and so are the
//! interface requests of sockets ([`ifreq`]).
//!
//! Known gaps: other netlink protocols (`NETLINK_GENERIC`, `SOCK_DIAG`,
//! `AUDIT`, `KOBJECT_UEVENT`...) are `EPROTONOSUPPORT`; no extended-ack
//! messages; no notifications to groups, not even of the host's changes
//! with `--network=host`; no strict checking of requests (`NETLINK_GET_STRICT_CHK` is recorded only); a veth shows no
//! `IFLA_LINK` peer; neighbours, rules, qdiscs and the other `RTM_GET*`
//! requests are `EOPNOTSUPP`; a dump is computed when it is asked for,
//! so a reader never sees `NLM_F_DUMP_INTR`.

pub mod host;
pub mod route;
#[cfg(test)]
mod tests;
pub mod wire;

use super::{Addr, Cred, Domain, Msg, Net, SockId, Socket};
use crate::errno::Errno;
use crate::kernel::{caps, Kernel, Tid};
use crate::syscalls::SysErr;

/// `NETLINK_ROUTE`.
pub const NETLINK_ROUTE: i32 = 0;
/// `SOL_NETLINK`.
pub const SOL_NETLINK: i32 = 270;

// Socket options of SOL_NETLINK.
const NETLINK_ADD_MEMBERSHIP: i32 = 1;
const NETLINK_DROP_MEMBERSHIP: i32 = 2;
pub const NETLINK_PKTINFO: i32 = 3;
const NETLINK_BROADCAST_ERROR: i32 = 4;
const NETLINK_NO_ENOBUFS: i32 = 5;
const NETLINK_LISTEN_ALL_NSID: i32 = 8;
const NETLINK_LIST_MEMBERSHIPS: i32 = 9;
const NETLINK_CAP_ACK: i32 = 10;
const NETLINK_EXT_ACK: i32 = 11;
const NETLINK_GET_STRICT_CHK: i32 = 12;

/// The options that are a flag, recorded as set or not.
const FLAG_OPTIONS: [i32; 7] = [
    NETLINK_PKTINFO,
    NETLINK_BROADCAST_ERROR,
    NETLINK_NO_ENOBUFS,
    NETLINK_LISTEN_ALL_NSID,
    NETLINK_CAP_ACK,
    NETLINK_EXT_ACK,
    NETLINK_GET_STRICT_CHK,
];

/// Multicast groups of rtnetlink (`RTNLGRP_MAX`).
const GROUPS: u32 = 36;

/// The name of the kernel, as a message's sender.
const KERNEL: Addr = Addr::Netlink { pid: 0, groups: 0 };

/// The interfaces of the sandbox as rtnetlink shows them: the loopback
/// (index 1), then the container's interfaces (`Net::ifaces`, the same
/// source as `/proc/net/dev` and `/proc/net/route`).
pub fn links(net: &Net) -> Vec<route::Link> {
    let mut out = vec![route::Link {
        index: 1,
        name: "lo".into(),
        loopback: true,
        mtu: 65536,
        mac: [0; 6],
        stats: route::Counters {
            rx_bytes: net.lo_bytes,
            rx_packets: net.lo_packets,
            tx_bytes: net.lo_bytes,
            tx_packets: net.lo_packets,
            tx_dropped: 0,
        },
        v4: Some(route::V4 {
            addr: std::net::Ipv4Addr::LOCALHOST,
            prefix: 8,
            gateway: None,
        }),
        v6_loopback: true,
    }];
    for (i, c) in net.ifaces.iter().enumerate() {
        let stats = net
            .ext
            .as_ref()
            .filter(|st| st.conf.name == c.name)
            .map(|st| st.stats())
            .map(|s| route::Counters {
                rx_bytes: s.rx_bytes,
                rx_packets: s.rx_packets,
                tx_bytes: s.tx_bytes,
                tx_packets: s.tx_packets,
                tx_dropped: s.tx_dropped,
            })
            .unwrap_or_default();
        out.push(route::Link {
            index: if c.index > 1 { c.index } else { i as u32 + 2 },
            name: c.name.clone(),
            loopback: false,
            mtu: c.mtu,
            mac: c.mac,
            stats,
            v4: (!c.addr.is_unspecified()).then_some(route::V4 {
                addr: c.addr,
                prefix: c.prefix,
                gateway: c.gateway,
            }),
            v6_loopback: false,
        });
    }
    out
}

/// `socket(AF_NETLINK, type, protocol)`: the protocols served.
pub fn check_protocol(protocol: i32) -> Result<(), Errno> {
    match protocol {
        NETLINK_ROUTE => Ok(()),
        _ => Err(Errno::EPROTONOSUPPORT),
    }
}

fn pid_of(a: &Option<Addr>) -> u32 {
    match a {
        Some(Addr::Netlink { pid, .. }) => *pid,
        _ => 0,
    }
}

fn groups_of(a: &Option<Addr>) -> u64 {
    match a {
        Some(Addr::Netlink { groups, .. }) => *groups,
        _ => 0,
    }
}

/// The netlink socket bound to port id `pid`.
fn find(net: &Net, pid: u32) -> Option<SockId> {
    net.socks
        .iter()
        .find(|(_, x)| x.domain == Domain::Netlink && pid != 0 && pid_of(&x.local) == pid)
        .map(|(id, _)| *id)
}

fn set_name(net: &mut Net, s: SockId, pid: u32, groups: u64) -> Result<(), Errno> {
    let x = net.get_mut(s).ok_or(Errno::EBADF)?;
    x.local = Some(Addr::Netlink { pid, groups });
    x.gen += 1;
    Ok(())
}

/// Gives unbound socket `s` a port id (`netlink_autobind`); returns it.
pub fn autobind(k: &mut Kernel, tid: Tid, s: SockId) -> Result<u32, Errno> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    let (pid, groups) = (pid_of(&x.local), groups_of(&x.local));
    if pid != 0 {
        return Ok(pid);
    }
    let mut want = k.tgid(tid) as u32;
    let mut rover: i32 = -4097;
    while find(&k.vfs.net, want).is_some() {
        want = rover as u32;
        rover = rover.checked_sub(1).ok_or(Errno::EADDRINUSE)?;
    }
    set_name(&mut k.vfs.net, s, want, groups)?;
    Ok(want)
}

/// `bind`: port id `pid` (0: one assigned) and multicast `groups` (the
/// first 32).
pub fn bind(k: &mut Kernel, tid: Tid, s: SockId, pid: u32, groups: u32) -> Result<(), Errno> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    let (bound, old) = (pid_of(&x.local), groups_of(&x.local));
    if bound != 0 {
        if pid != bound {
            return Err(Errno::EINVAL);
        }
    } else if pid == 0 {
        autobind(k, tid, s)?;
    } else {
        if find(&k.vfs.net, pid).is_some() {
            return Err(Errno::EADDRINUSE);
        }
        set_name(&mut k.vfs.net, s, pid, old)?;
    }
    // Linux keeps the groups above the first 32 as they were.
    let groups = (old & !0xffff_ffff) | groups as u64;
    let pid = pid_of(&k.vfs.net.get(s).ok_or(Errno::EBADF)?.local);
    set_name(&mut k.vfs.net, s, pid, groups)
}

/// `connect`: the default destination (`None`: none, `AF_UNSPEC`).
pub fn connect(k: &mut Kernel, tid: Tid, s: SockId, to: Option<Addr>) -> Result<(), Errno> {
    let Some(Addr::Netlink { pid, groups }) = to else {
        let x = k.vfs.net.get_mut(s).ok_or(Errno::EBADF)?;
        x.remote = None;
        return Ok(());
    };
    if groups != 0 && !k.task(tid).creds.capable(caps::CAP_NET_ADMIN) {
        return Err(Errno::EPERM);
    }
    autobind(k, tid, s)?;
    let x = k.vfs.net.get_mut(s).ok_or(Errno::EBADF)?;
    x.remote = Some(Addr::Netlink { pid, groups });
    Ok(())
}

/// Queues `data` on socket `s` as a datagram from `from`: false if the
/// queue is over `SO_RCVBUF` (the message is dropped and, unless
/// `NETLINK_NO_ENOBUFS`, the socket's next receive fails with
/// `ENOBUFS`, as Linux's `netlink_overrun`). `always`: queued anyway
/// (the parts of a dump, which Linux produces only as there is room).
fn deliver(k: &mut Kernel, s: SockId, data: Vec<u8>, from: Addr, cred: Cred, always: bool) -> bool {
    let Some(x) = k.vfs.net.get_mut(s) else {
        return false;
    };
    if !always && x.rx_charge > x.opts.rcvbuf {
        if opt(x, NETLINK_NO_ENOBUFS) == 0 {
            x.error = libc::ENOBUFS;
            x.gen += 1;
            let q = x.queue;
            k.notify(q);
        }
        return false;
    }
    x.push(Msg {
        data,
        pos: 0,
        from,
        files: Vec::new(),
        cred,
        ip: None,
    });
    let q = x.queue;
    k.notify(q);
    true
}

/// `sendmsg` on netlink socket `s`: requests to the kernel (`to` none or
/// port id 0) are answered at once into the socket's own queue.
pub fn send(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    data: &[u8],
    to: Option<&Addr>,
) -> Result<usize, SysErr> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    if data.len() > x.opts.sndbuf.saturating_sub(32) {
        return Err(Errno::EMSGSIZE.into());
    }
    let (dst, dst_groups) = match to.or(x.remote.as_ref()) {
        Some(Addr::Netlink { pid, groups }) => (*pid, *groups),
        _ => (0, 0),
    };
    let admin = k.task(tid).creds.capable(caps::CAP_NET_ADMIN);
    if to.is_some() && (dst != 0 || dst_groups != 0) && !admin {
        return Err(Errno::EPERM.into());
    }
    let me = autobind(k, tid, s)?;
    let cred = super::io::cred_of(k, tid);
    let from = Addr::Netlink { pid: me, groups: 0 };
    if dst_groups != 0 {
        // Other members of the lowest group named (`ffs`).
        let bit = 1u64 << dst_groups.trailing_zeros();
        let members: Vec<SockId> = k
            .vfs
            .net
            .socks
            .iter()
            .filter(|(id, x)| {
                **id != s && x.domain == Domain::Netlink && groups_of(&x.local) & bit != 0
            })
            .map(|(id, _)| *id)
            .collect();
        for m in members {
            deliver(k, m, data.to_vec(), from.clone(), cred, false);
        }
    }
    if dst != 0 {
        let t = find(&k.vfs.net, dst).ok_or(Errno::ECONNREFUSED)?;
        if !deliver(k, t, data.to_vec(), from, cred, false) {
            return Err(Errno::EAGAIN.into());
        }
        return Ok(data.len());
    }
    if dst_groups != 0 {
        return Ok(data.len());
    }
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    let ctx = route::Ctx {
        portid: me,
        admin,
        cap_ack: opt(x, NETLINK_CAP_ACK) != 0,
    };
    let replies = match k.vfs.net.host_route.as_mut() {
        Some(h) => route::handle_with(data, &ctx, &mut |h_, body| h.ask(h_, body, me)),
        None => route::handle(data, &links(&k.vfs.net), &ctx),
    };
    tracing::trace!(
        "netlink: {} bytes of requests, {} replies",
        data.len(),
        replies.len()
    );
    let kernel = Cred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    for r in replies {
        let dump = wire::Header::parse(&r).is_some_and(|h| h.flags & wire::NLM_F_MULTI != 0);
        deliver(k, s, r, KERNEL, kernel, dump);
    }
    Ok(data.len())
}

/// The value of flag option `name`.
fn opt(x: &Socket, name: i32) -> i32 {
    x.opts.other.get(&(SOL_NETLINK, name)).copied().unwrap_or(0)
}

/// True if `NETLINK_PKTINFO` is on (receives carry the group).
pub fn pktinfo(x: &Socket) -> bool {
    opt(x, NETLINK_PKTINFO) != 0
}

/// `setsockopt(SOL_NETLINK)`; `val` is the option's int (0 when shorter,
/// as Linux takes it). `broadcast`: the caller has `CAP_NET_BROADCAST`.
pub fn setsockopt(x: &mut Socket, name: i32, val: i32, broadcast: bool) -> Result<(), Errno> {
    match name {
        NETLINK_ADD_MEMBERSHIP | NETLINK_DROP_MEMBERSHIP => {
            if val <= 0 || val as u32 > GROUPS {
                return Err(Errno::EINVAL);
            }
            let bit = 1u64 << (val - 1);
            let mut groups = groups_of(&x.local);
            if name == NETLINK_ADD_MEMBERSHIP {
                groups |= bit;
            } else {
                groups &= !bit;
            }
            x.local = Some(Addr::Netlink {
                pid: pid_of(&x.local),
                groups,
            });
        }
        NETLINK_LISTEN_ALL_NSID if !broadcast => return Err(Errno::EPERM),
        n if FLAG_OPTIONS.contains(&n) => {
            x.opts.other.insert((SOL_NETLINK, name), (val != 0) as i32);
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(())
}

/// `getsockopt(SOL_NETLINK)` with a buffer of `cap` bytes: the value.
pub fn getsockopt(x: &Socket, name: i32, cap: usize) -> Result<Vec<u8>, Errno> {
    match name {
        NETLINK_LIST_MEMBERSHIPS => {
            let g = groups_of(&x.local);
            let mut v = (g as u32).to_ne_bytes().to_vec();
            v.extend_from_slice(&((g >> 32) as u32).to_ne_bytes());
            Ok(v)
        }
        n if FLAG_OPTIONS.contains(&n) => {
            if cap < 4 {
                return Err(Errno::EINVAL);
            }
            Ok(opt(x, name).to_ne_bytes().to_vec())
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// `sockaddr_nl` of a name.
pub fn encode(a: Option<&Addr>) -> Vec<u8> {
    let (pid, groups) = match a {
        Some(Addr::Netlink { pid, groups }) => (*pid, *groups as u32),
        _ => (0, 0),
    };
    let mut v = (libc::AF_NETLINK as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&pid.to_ne_bytes());
    v.extend_from_slice(&groups.to_ne_bytes());
    v
}

/// A `sockaddr_nl` (family already checked to be `AF_NETLINK`).
pub fn decode(b: &[u8]) -> Result<Addr, Errno> {
    if b.len() < 12 {
        return Err(Errno::EINVAL);
    }
    let pid = u32::from_ne_bytes(b[4..8].try_into().map_err(|_| Errno::EINVAL)?);
    let groups = u32::from_ne_bytes(b[8..12].try_into().map_err(|_| Errno::EINVAL)?);
    Ok(Addr::Netlink {
        pid,
        groups: groups as u64,
    })
}

// ---- Interface requests of sockets --------------------------------------------

const SIOCGIFNAME: u64 = 0x8910;
const SIOCGIFFLAGS: u64 = 0x8913;
const SIOCGIFMTU: u64 = 0x8921;
const SIOCGIFINDEX: u64 = 0x8933;
const SIOCGIFTXQLEN: u64 = 0x8942;

/// True for the interface requests [`ifreq`] answers.
pub fn is_ifreq(req: u64) -> bool {
    [
        SIOCGIFNAME,
        SIOCGIFFLAGS,
        SIOCGIFMTU,
        SIOCGIFINDEX,
        SIOCGIFTXQLEN,
    ]
    .contains(&req)
}

/// What the interface requests of sockets tell of one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfInfo {
    pub index: u32,
    pub name: Vec<u8>,
    /// `IFF_*`.
    pub flags: u32,
    pub mtu: u32,
    pub txqlen: u32,
}

/// The interfaces the interface requests answer about: the host's with
/// `--network=host`, the sandbox's otherwise.
pub fn interfaces(net: &mut Net) -> Result<Vec<IfInfo>, Errno> {
    if let Some(h) = net.host_route.as_mut() {
        return h.links();
    }
    Ok(links(net)
        .iter()
        .map(|l| IfInfo {
            index: l.index,
            name: l.name.as_bytes().to_vec(),
            flags: route::flags(l),
            mtu: l.mtu,
            txqlen: route::TXQLEN as u32,
        })
        .collect())
}

/// `SIOCGIFNAME`, `SIOCGIFINDEX`, `SIOCGIFFLAGS`, `SIOCGIFMTU`,
/// `SIOCGIFTXQLEN` on any socket (what `if_nametoindex`,
/// `if_indextoname` and `ip` use), given the 40-byte `struct ifreq` and
/// the interfaces: the `ifreq` to write back.
pub fn ifreq(links: &[IfInfo], req: u64, r: &[u8]) -> Result<Vec<u8>, Errno> {
    if r.len() < 40 {
        return Err(Errno::EFAULT);
    }
    let mut out = r[..40].to_vec();
    let found = if req == SIOCGIFNAME {
        let index = i32::from_ne_bytes([r[16], r[17], r[18], r[19]]);
        links.iter().find(|l| index > 0 && l.index == index as u32)
    } else {
        let end = r[..16].iter().position(|&c| c == 0).unwrap_or(16);
        links.iter().find(|l| l.name == r[..end])
    };
    let l = found.ok_or(Errno::ENODEV)?;
    match req {
        SIOCGIFNAME => {
            out[..16].fill(0);
            let n = l.name.len().min(15);
            out[..n].copy_from_slice(&l.name[..n]);
        }
        SIOCGIFINDEX => out[16..20].copy_from_slice(&(l.index as i32).to_ne_bytes()),
        SIOCGIFMTU => out[16..20].copy_from_slice(&(l.mtu as i32).to_ne_bytes()),
        SIOCGIFTXQLEN => out[16..20].copy_from_slice(&(l.txqlen as i32).to_ne_bytes()),
        _ => {
            // ifr_flags is a short: the low 16 bits of the link's flags.
            let f = l.flags as u16;
            out[16..18].copy_from_slice(&f.to_ne_bytes());
        }
    }
    Ok(out)
}
