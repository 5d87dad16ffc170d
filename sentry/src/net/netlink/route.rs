//! The `NETLINK_ROUTE` responder: what Linux's rtnetlink answers to the
//! requests of one `sendmsg`, computed from a snapshot of the sandbox's
//! interfaces ([`Link`]) so that it needs no kernel and is tested alone.
//!
//! Served: `RTM_GETLINK` (a dump, or one link by index or `IFLA_IFNAME`),
//! `RTM_GETADDR` dumps, `RTM_GETROUTE` dumps (the main and local tables)
//! and IPv4 route lookups (`ip route get`; IPv6 ones are `EOPNOTSUPP`),
//! from the sandbox's interfaces ([`handle`]) or, with the host's
//! network, by the host's kernel (see `netlink::host`, through
//! [`handle_with`]). Requests that would change the stack (`RTM_NEW*`, `RTM_DEL*`,
//! `RTM_SET*`) fail with `EPERM` without `CAP_NET_ADMIN` as on Linux and
//! with `EOPNOTSUPP` with it: the sandbox's stack is configured by the
//! runtime from what the host gave the container, and the container may
//! not change it. Every other request type is `EOPNOTSUPP`.
//!
//! The walk over the requests is `netlink_rcv_skb`'s: a header shorter
//! than itself or longer than the data ends the walk silently; messages
//! without `NLM_F_REQUEST` and control types are only acknowledged (with
//! `NLM_F_ACK`); an error, or success with `NLM_F_ACK`, is answered by an
//! `NLMSG_ERROR` that echoes the request (the header alone for an
//! acknowledgement, or with `NETLINK_CAP_ACK`). A dump answers with
//! `NLM_F_MULTI` messages packed into datagrams of at most [`GOODSIZE`]
//! bytes, then `NLMSG_DONE`, and is never acknowledged.

use super::wire::{
    self, align4, Header, MsgBuilder, HDR_LEN, NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, NLM_F_ACK,
    NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST,
};
use crate::errno::Errno;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Bytes of one datagram of a dump (Linux's `NLMSG_GOODSIZE` with 4 KiB
/// pages).
pub const GOODSIZE: usize = 3776;

// Route message types.
pub const RTM_BASE: u16 = 16;
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_GETROUTE: u16 = 26;
/// The last type rtnetlink knows (Linux 6.x); above it every request is
/// `EOPNOTSUPP`, whatever its kind.
pub const RTM_MAX: u16 = 123;

/// Every link's transmit queue length (`IFLA_TXQLEN`).
pub const TXQLEN: i32 = 1000;

// Interface flags and types.
const IFF_UP: u32 = 0x1;
const IFF_BROADCAST: u32 = 0x2;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_RUNNING: u32 = 0x40;
const IFF_MULTICAST: u32 = 0x1000;
const IFF_LOWER_UP: u32 = 0x10000;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const IF_OPER_UNKNOWN: u8 = 0;
const IF_OPER_UP: u8 = 6;

// Link attributes.
const IFLA_ADDRESS: u16 = 1;
const IFLA_BROADCAST: u16 = 2;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
const IFLA_QDISC: u16 = 6;
const IFLA_STATS: u16 = 7;
pub const IFLA_TXQLEN: u16 = 13;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKMODE: u16 = 17;
const IFLA_STATS64: u16 = 23;
const IFLA_GROUP: u16 = 27;
const IFLA_PROMISCUITY: u16 = 30;
const IFLA_NUM_TX_QUEUES: u16 = 31;
const IFLA_NUM_RX_QUEUES: u16 = 32;
const IFLA_CARRIER: u16 = 33;

// Address attributes and flags.
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u8 = 0x80;

// Route attributes and values.
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const RTA_PREF: u16 = 20;
const RT_TABLE_MAIN: u8 = 254;
const RT_TABLE_LOCAL: u8 = 255;
const RTPROT_KERNEL: u8 = 2;
const RTPROT_BOOT: u8 = 3;
const RT_SCOPE_UNIVERSE: u8 = 0;
const RT_SCOPE_LINK: u8 = 253;
const RT_SCOPE_HOST: u8 = 254;
const RTN_UNICAST: u8 = 1;
const RTN_LOCAL: u8 = 2;
const RTN_BROADCAST: u8 = 3;

const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

/// Traffic counters of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_dropped: u64,
}

/// The IPv4 configuration of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V4 {
    pub addr: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
}

impl V4 {
    fn mask(&self) -> u32 {
        match self.prefix.min(32) {
            0 => 0,
            p => u32::MAX << (32 - p as u32),
        }
    }
    fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }
    fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
}

/// One interface of the sandbox as rtnetlink shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub loopback: bool,
    pub mtu: u32,
    pub mac: [u8; 6],
    pub stats: Counters,
    pub v4: Option<V4>,
    /// `::1` (the loopback).
    pub v6_loopback: bool,
}

/// Who sent the requests.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    /// The sender's port id: replies carry it.
    pub portid: u32,
    /// `CAP_NET_ADMIN`.
    pub admin: bool,
    /// `NETLINK_CAP_ACK`.
    pub cap_ack: bool,
}

/// Answers the requests in `req` (one `sendmsg`) from the sandbox's
/// interfaces: the datagrams to queue on the sender's socket, in order.
pub fn handle(req: &[u8], links: &[Link], ctx: &Ctx) -> Vec<Vec<u8>> {
    handle_with(req, ctx, &mut |h, body| {
        answer_get(h, body, links, ctx.portid)
    })
}

/// Answers the requests in `req` with `get` answering each request for
/// links, addresses or routes (header and what follows it); every other
/// request is refused here, as rtnetlink refuses it.
pub fn handle_with(req: &[u8], ctx: &Ctx, get: &mut GetFn<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (h, msg) in wire::messages(req) {
        let r = if h.flags & NLM_F_REQUEST == 0 || h.ty < NLMSG_MIN_TYPE {
            Ok(Answer::None)
        } else {
            answer(&h, &msg[HDR_LEN..], ctx, get)
        };
        match r {
            Ok(Answer::Dump(msgs)) => out.extend(pack_dump(msgs, &h, ctx)),
            Ok(Answer::One(m)) => {
                out.push(m);
                if h.flags & NLM_F_ACK != 0 {
                    out.push(error_msg(&h, msg, 0, ctx));
                }
            }
            Ok(Answer::None) => {
                if h.flags & NLM_F_ACK != 0 {
                    out.push(error_msg(&h, msg, 0, ctx));
                }
            }
            Err(e) => out.push(error_msg(&h, msg, -(e as i32), ctx)),
        }
    }
    out
}

/// What answers a request for links, addresses or routes: its header and
/// what follows it.
pub type GetFn<'a> = dyn FnMut(&Header, &[u8]) -> Result<Answer, Errno> + 'a;

/// The answer to one request.
pub enum Answer {
    None,
    One(Vec<u8>),
    /// The messages of a dump, `NLMSG_DONE` not included.
    Dump(Vec<Vec<u8>>),
}

/// The kind of a route message type (`rtnl_msgtype_kind`).
fn is_get(ty: u16) -> bool {
    ty.wrapping_sub(RTM_BASE) & 3 == 2
}

/// `rtnetlink_rcv_msg`: the checks every request passes, then `get`
/// for the requests served.
fn answer(h: &Header, body: &[u8], ctx: &Ctx, get: &mut GetFn<'_>) -> Result<Answer, Errno> {
    if h.ty > RTM_MAX {
        return Err(Errno::EOPNOTSUPP);
    }
    // Every request has at least the family byte; shorter ones are
    // ignored.
    if body.is_empty() {
        return Ok(Answer::None);
    }
    if !is_get(h.ty) {
        // The stack is the runtime's (or the host's) to configure, never
        // the container's: refused even with the capability.
        return Err(if ctx.admin {
            Errno::EOPNOTSUPP
        } else {
            Errno::EPERM
        });
    }
    match h.ty {
        RTM_GETLINK | RTM_GETADDR | RTM_GETROUTE => get(h, body),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// A request for links, addresses or routes, answered from `links`.
fn answer_get(h: &Header, body: &[u8], links: &[Link], pid: u32) -> Result<Answer, Errno> {
    let family = body.first().copied().unwrap_or(0);
    let dump = h.flags & NLM_F_DUMP != 0;
    match (h.ty, dump) {
        (RTM_GETLINK, true) => Ok(Answer::Dump(
            links
                .iter()
                .map(|l| link_msg(l, NLM_F_MULTI, h.seq, pid))
                .collect(),
        )),
        (RTM_GETLINK, false) => get_link(h, body, links, pid).map(Answer::One),
        (RTM_GETADDR, true) => Ok(Answer::Dump(addr_msgs(links, family, h.seq, pid))),
        (RTM_GETROUTE, true) => Ok(Answer::Dump(route_msgs(links, family, h.seq, pid))),
        (RTM_GETROUTE, false) => get_route(h, body, links, pid).map(Answer::One),
        _ => Err(Errno::EOPNOTSUPP),
    }
}

/// `rtnl_getlink`: one link by index, or by name.
fn get_link(h: &Header, body: &[u8], links: &[Link], pid: u32) -> Result<Vec<u8>, Errno> {
    if body.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let index = i32::from_ne_bytes(body[4..8].try_into().map_err(|_| Errno::EINVAL)?);
    let l = if index > 0 {
        links.iter().find(|l| l.index == index as u32)
    } else {
        let name = wire::attrs(&body[16..])
            .into_iter()
            .find(|(t, _)| *t == IFLA_IFNAME)
            .map(|(_, v)| v)
            .ok_or(Errno::EINVAL)?;
        let name = name.strip_suffix(&[0]).unwrap_or(name);
        if name.len() > 15 {
            return Err(Errno::ERANGE);
        }
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        links.iter().find(|l| l.name.as_bytes() == &name[..end])
    };
    let l = l.ok_or(Errno::ENODEV)?;
    Ok(link_msg(l, 0, h.seq, pid))
}

/// `NLMSG_ERROR` for request `msg` (`err` 0: an acknowledgement).
fn error_msg(h: &Header, msg: &[u8], err: i32, ctx: &Ctx) -> Vec<u8> {
    let whole = err != 0 && !ctx.cap_ack;
    let flags = if whole { 0 } else { NLM_F_CAPPED };
    let mut b = MsgBuilder::new(NLMSG_ERROR, flags, h.seq, ctx.portid);
    let mut body = err.to_ne_bytes().to_vec();
    if whole {
        body.extend_from_slice(msg);
    } else {
        body.extend_from_slice(&msg[..HDR_LEN]);
    }
    b.raw(&body);
    b.finish()
}

/// Packs the messages of a dump into datagrams, `NLMSG_DONE` last (in
/// the last datagram if it fits, as Linux does).
fn pack_dump(msgs: Vec<Vec<u8>>, h: &Header, ctx: &Ctx) -> Vec<Vec<u8>> {
    let mut done = MsgBuilder::new(NLMSG_DONE, NLM_F_MULTI, h.seq, ctx.portid);
    done.raw(&0i32.to_ne_bytes());
    let done = done.finish();
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    for m in msgs.into_iter().chain(std::iter::once(done)) {
        if !cur.is_empty() && cur.len() + align4(m.len()) > GOODSIZE {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend_from_slice(&m);
        cur.resize(align4(cur.len()), 0);
    }
    out.push(cur);
    out
}

// ---- Links ------------------------------------------------------------------

fn stats32(s: &Counters) -> Vec<u8> {
    let mut v = [0u32; 24];
    v[0] = s.rx_packets as u32;
    v[1] = s.tx_packets as u32;
    v[2] = s.rx_bytes as u32;
    v[3] = s.tx_bytes as u32;
    v[7] = s.tx_dropped as u32;
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

fn stats64(s: &Counters) -> Vec<u8> {
    let mut v = [0u64; 25];
    v[0] = s.rx_packets;
    v[1] = s.tx_packets;
    v[2] = s.rx_bytes;
    v[3] = s.tx_bytes;
    v[7] = s.tx_dropped;
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

/// The interface flags of `l` (`IFF_*`): up and running, as every
/// interface of the sandbox is.
pub fn flags(l: &Link) -> u32 {
    if l.loopback {
        IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP
    } else {
        IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP
    }
}

/// `RTM_NEWLINK` for `l` (`rtnl_fill_ifinfo`, attributes in its order).
pub fn link_msg(l: &Link, msg_flags: u16, seq: u32, pid: u32) -> Vec<u8> {
    let ifflags = flags(l);
    let (ty, oper, bcast) = if l.loopback {
        (ARPHRD_LOOPBACK, IF_OPER_UNKNOWN, [0u8; 6])
    } else {
        (ARPHRD_ETHER, IF_OPER_UP, [0xff; 6])
    };
    let mut b = MsgBuilder::new(RTM_NEWLINK, msg_flags, seq, pid);
    // struct ifinfomsg: family, pad, type, index, flags, change.
    let mut fixed = vec![libc::AF_UNSPEC as u8, 0];
    fixed.extend_from_slice(&ty.to_ne_bytes());
    fixed.extend_from_slice(&(l.index as i32).to_ne_bytes());
    fixed.extend_from_slice(&ifflags.to_ne_bytes());
    fixed.extend_from_slice(&0u32.to_ne_bytes());
    b.raw(&fixed)
        .str(IFLA_IFNAME, &l.name)
        .u32(IFLA_TXQLEN, TXQLEN as u32)
        .u8(IFLA_OPERSTATE, oper)
        .u8(IFLA_LINKMODE, 0)
        .u32(IFLA_MTU, l.mtu)
        .u32(IFLA_GROUP, 0)
        .u32(IFLA_PROMISCUITY, 0)
        .u32(IFLA_NUM_TX_QUEUES, 1)
        .u32(IFLA_NUM_RX_QUEUES, 1)
        .u8(IFLA_CARRIER, 1)
        .str(IFLA_QDISC, "noqueue")
        .attr(IFLA_ADDRESS, &l.mac)
        .attr(IFLA_BROADCAST, &bcast)
        .attr(IFLA_STATS64, &stats64(&l.stats))
        .attr(IFLA_STATS, &stats32(&l.stats));
    b.finish()
}

// ---- Addresses --------------------------------------------------------------

/// Wants family `want` of a dump request (unknown families: all, as
/// rtnetlink falls back to its `PF_UNSPEC` dump).
fn wants(request: u8, want: u8) -> bool {
    !(request == AF_INET || request == AF_INET6) || request == want
}

fn ifaddrmsg(family: u8, prefix: u8, scope: u8, index: u32) -> Vec<u8> {
    let mut v = vec![family, prefix, IFA_F_PERMANENT, scope];
    v.extend_from_slice(&index.to_ne_bytes());
    v
}

/// `struct ifa_cacheinfo` of a permanent address.
fn cacheinfo() -> Vec<u8> {
    [u32::MAX, u32::MAX, 0, 0]
        .iter()
        .flat_map(|x| x.to_ne_bytes())
        .collect()
}

/// `RTM_NEWADDR` messages of a dump: IPv4 addresses of every link, then
/// IPv6 ones.
fn addr_msgs(links: &[Link], family: u8, seq: u32, pid: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if wants(family, AF_INET) {
        for l in links {
            let Some(v4) = l.v4 else { continue };
            let scope = if l.loopback {
                RT_SCOPE_HOST
            } else {
                RT_SCOPE_UNIVERSE
            };
            let mut b = MsgBuilder::new(RTM_NEWADDR, NLM_F_MULTI, seq, pid);
            b.raw(&ifaddrmsg(AF_INET, v4.prefix, scope, l.index))
                .attr(IFA_ADDRESS, &v4.addr.octets())
                .attr(IFA_LOCAL, &v4.addr.octets());
            if !l.loopback && v4.prefix < 31 {
                b.attr(IFA_BROADCAST, &v4.broadcast().octets());
            }
            b.str(IFA_LABEL, &l.name)
                .u32(IFA_FLAGS, IFA_F_PERMANENT as u32)
                .attr(IFA_CACHEINFO, &cacheinfo());
            out.push(b.finish());
        }
    }
    if wants(family, AF_INET6) {
        for l in links.iter().filter(|l| l.v6_loopback) {
            let mut b = MsgBuilder::new(RTM_NEWADDR, NLM_F_MULTI, seq, pid);
            b.raw(&ifaddrmsg(AF_INET6, 128, RT_SCOPE_HOST, l.index))
                .attr(IFA_ADDRESS, &Ipv6Addr::LOCALHOST.octets())
                .attr(IFA_CACHEINFO, &cacheinfo())
                .u32(IFA_FLAGS, IFA_F_PERMANENT as u32);
            out.push(b.finish());
        }
    }
    out
}

// ---- Routes -----------------------------------------------------------------

/// One IPv4 route of the FIB.
struct Route4 {
    table: u8,
    dst: Ipv4Addr,
    dst_len: u8,
    protocol: u8,
    scope: u8,
    ty: u8,
    prefsrc: Option<Ipv4Addr>,
    gateway: Option<Ipv4Addr>,
    oif: u32,
}

/// The routes Linux derives from the links' addresses (`fib_add_ifaddr`)
/// and the default routes through their gateways: the main table, then
/// the local one, each in address order (as `inet_dump_fib` walks them).
fn routes4(links: &[Link]) -> Vec<Route4> {
    let mut main = Vec::new();
    let mut local = Vec::new();
    for l in links {
        let Some(v4) = l.v4 else { continue };
        let r = |table, dst, dst_len, protocol, scope, ty| Route4 {
            table,
            dst,
            dst_len,
            protocol,
            scope,
            ty,
            prefsrc: Some(v4.addr),
            gateway: None,
            oif: l.index,
        };
        if let Some(gw) = v4.gateway {
            main.push(Route4 {
                prefsrc: None,
                gateway: Some(gw),
                ..r(
                    RT_TABLE_MAIN,
                    Ipv4Addr::UNSPECIFIED,
                    0,
                    RTPROT_BOOT,
                    RT_SCOPE_UNIVERSE,
                    RTN_UNICAST,
                )
            });
        }
        if l.loopback {
            local.push(r(
                RT_TABLE_LOCAL,
                v4.network(),
                v4.prefix,
                RTPROT_KERNEL,
                RT_SCOPE_HOST,
                RTN_LOCAL,
            ));
        } else if v4.prefix < 32 {
            main.push(r(
                RT_TABLE_MAIN,
                v4.network(),
                v4.prefix,
                RTPROT_KERNEL,
                RT_SCOPE_LINK,
                RTN_UNICAST,
            ));
        }
        local.push(r(
            RT_TABLE_LOCAL,
            v4.addr,
            32,
            RTPROT_KERNEL,
            RT_SCOPE_HOST,
            RTN_LOCAL,
        ));
        if v4.prefix < 31 {
            local.push(r(
                RT_TABLE_LOCAL,
                v4.broadcast(),
                32,
                RTPROT_KERNEL,
                RT_SCOPE_LINK,
                RTN_BROADCAST,
            ));
        }
    }
    let key = |r: &Route4| (u32::from(r.dst), r.dst_len);
    main.sort_by_key(key);
    local.sort_by_key(key);
    main.dedup_by_key(|r| key(r));
    local.dedup_by_key(|r| key(r));
    main.extend(local);
    main
}

fn rtmsg(family: u8, dst_len: u8, table: u8, protocol: u8, scope: u8, ty: u8) -> Vec<u8> {
    let mut v = vec![family, dst_len, 0, 0, table, protocol, scope, ty];
    v.extend_from_slice(&0u32.to_ne_bytes());
    v
}

/// `RTM_NEWROUTE` messages of a dump.
fn route_msgs(links: &[Link], family: u8, seq: u32, pid: u32) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if wants(family, AF_INET) {
        for r in routes4(links) {
            let mut b = MsgBuilder::new(RTM_NEWROUTE, NLM_F_MULTI, seq, pid);
            b.raw(&rtmsg(
                AF_INET, r.dst_len, r.table, r.protocol, r.scope, r.ty,
            ))
            .u32(RTA_TABLE, r.table as u32);
            if r.dst_len > 0 {
                b.attr(RTA_DST, &r.dst.octets());
            }
            if let Some(src) = r.prefsrc {
                b.attr(RTA_PREFSRC, &src.octets());
            }
            if let Some(gw) = r.gateway {
                b.attr(RTA_GATEWAY, &gw.octets());
            }
            b.u32(RTA_OIF, r.oif);
            out.push(b.finish());
        }
    }
    if wants(family, AF_INET6) {
        for l in links.iter().filter(|l| l.v6_loopback) {
            // Linux keeps `::1` in the local table only.
            let mut b = MsgBuilder::new(RTM_NEWROUTE, NLM_F_MULTI, seq, pid);
            b.raw(&rtmsg(
                AF_INET6,
                128,
                RT_TABLE_LOCAL,
                RTPROT_KERNEL,
                RT_SCOPE_UNIVERSE,
                RTN_LOCAL,
            ))
            .u32(RTA_TABLE, RT_TABLE_LOCAL as u32)
            .attr(RTA_DST, &Ipv6Addr::LOCALHOST.octets())
            .u32(RTA_PRIORITY, 0)
            .u32(RTA_OIF, l.index)
            .u8(RTA_PREF, 0);
            out.push(b.finish());
        }
    }
    out
}

/// `RTM_F_CLONED`: a lookup's answer.
const RTM_F_CLONED: u32 = 0x200;

/// `inet_rtm_getroute`: the route `RTA_DST` takes (IPv4 only), as
/// `RTM_NEWROUTE` with `RTM_F_CLONED`.
fn get_route(h: &Header, body: &[u8], links: &[Link], pid: u32) -> Result<Vec<u8>, Errno> {
    if body.len() < 12 {
        return Err(Errno::EINVAL);
    }
    if body[0] != AF_INET {
        return Err(Errno::EOPNOTSUPP);
    }
    let dst = match wire::attrs(&body[12..])
        .into_iter()
        .find(|(t, _)| *t == RTA_DST)
    {
        Some((_, v)) if v.len() >= 4 => Ipv4Addr::new(v[0], v[1], v[2], v[3]),
        Some(_) => return Err(Errno::EINVAL),
        None => Ipv4Addr::UNSPECIFIED,
    };
    let lo = links.iter().find(|l| l.loopback).map_or(1, |l| l.index);
    let with_v4 = || links.iter().filter_map(|l| l.v4.map(|v| (l, v)));
    let local = with_v4().find(|(l, v)| {
        v.addr == dst || (l.loopback && v.network() == Ipv4Addr::from(u32::from(dst) & v.mask()))
    });
    // (type, table, oif, source, gateway)
    let (ty, table, oif, src, gw) = if dst.is_unspecified() {
        (RTN_LOCAL, RT_TABLE_LOCAL, lo, Ipv4Addr::LOCALHOST, None)
    } else if let Some((_, v)) = local {
        (RTN_LOCAL, RT_TABLE_LOCAL, lo, v.addr, None)
    } else if let Some((l, v)) = with_v4()
        .find(|(l, v)| !l.loopback && (v.prefix < 31 && v.broadcast() == dst || dst.is_broadcast()))
    {
        (RTN_BROADCAST, RT_TABLE_LOCAL, l.index, v.addr, None)
    } else if let Some((l, v)) = with_v4()
        .find(|(l, v)| !l.loopback && v.network() == Ipv4Addr::from(u32::from(dst) & v.mask()))
    {
        (RTN_UNICAST, RT_TABLE_MAIN, l.index, v.addr, None)
    } else if let Some((l, v)) = with_v4().find(|(_, v)| v.gateway.is_some()) {
        (RTN_UNICAST, RT_TABLE_MAIN, l.index, v.addr, v.gateway)
    } else {
        return Err(Errno::ENETUNREACH);
    };
    let mut fixed = rtmsg(AF_INET, 32, table, 0, RT_SCOPE_UNIVERSE, ty);
    fixed[8..12].copy_from_slice(&RTM_F_CLONED.to_ne_bytes());
    let mut b = MsgBuilder::new(RTM_NEWROUTE, 0, h.seq, pid);
    b.raw(&fixed)
        .u32(RTA_TABLE, table as u32)
        .attr(RTA_DST, &dst.octets())
        .u32(RTA_OIF, oif)
        .attr(RTA_PREFSRC, &src.octets());
    if let Some(gw) = gw {
        b.attr(RTA_GATEWAY, &gw.octets());
    }
    Ok(b.finish())
}
