//! The socket family: `socket`, `socketpair`, `bind`, `listen`, `accept`,
//! `connect`, `shutdown`, the names, the options, and the send and receive
//! calls with their messages (`SCM_RIGHTS`, `SCM_CREDENTIALS`). Addresses
//! and messages are decoded here; `net::io` does the work.

use super::{Args, Support, SysErr, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::{caps, Kernel, Tid};
use crate::net::host;
use crate::net::io::{self, Extra, Got};
use crate::net::netlink;
use crate::net::{Addr, Cred, Domain, Kind, Net, Proto, SockId, State};
use crate::vfs::file::{self, FileKind};
use crate::vfs::FileId;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(
        SYS_socket,
        sys_socket,
        Support::Partial(
            "AF_UNIX; AF_INET/AF_INET6 TCP, UDP and UDP-Lite on the sandbox loopback; AF_NETLINK NETLINK_ROUTE",
        ),
    );
    t.add(SYS_socketpair, sys_socketpair, Support::Full);
    t.add(SYS_bind, sys_bind, Support::Full);
    t.add(SYS_listen, sys_listen, Support::Full);
    t.add(SYS_accept, sys_accept, Support::Full);
    t.add(SYS_accept4, sys_accept4, Support::Full);
    t.add(SYS_connect, sys_connect, Support::Full);
    t.add(SYS_shutdown, sys_shutdown, Support::Full);
    t.add(SYS_getsockname, sys_getsockname, Support::Full);
    t.add(SYS_getpeername, sys_getpeername, Support::Full);
    t.add(
        SYS_setsockopt,
        sys_setsockopt,
        Support::Partial("most options are stored and reported only"),
    );
    t.add(
        SYS_getsockopt,
        sys_getsockopt,
        Support::Partial("TCP_INFO reports the state only"),
    );
    t.add(SYS_sendto, sys_sendto, Support::Full);
    t.add(
        SYS_recvfrom,
        sys_recvfrom,
        Support::Partial("no MSG_OOB, MSG_ERRQUEUE"),
    );
    t.add(SYS_sendmsg, sys_sendmsg, Support::Full);
    t.add(
        SYS_recvmsg,
        sys_recvmsg,
        Support::Partial("no MSG_OOB, MSG_ERRQUEUE"),
    );
    t.add(
        SYS_sendmmsg,
        sys_sendmmsg,
        Support::Partial("messages after the first never block"),
    );
    t.add(
        SYS_recvmmsg,
        sys_recvmmsg,
        Support::Partial("messages after the first never block"),
    );
}

/// The socket behind descriptor `fd` (`ENOTSOCK` for other files), and
/// whether its file is non-blocking.
fn sock_fd(k: &Kernel, tid: Tid, fd: i32) -> Result<(SockId, bool), Errno> {
    let f = file::get_io(k, tid, fd)?;
    let of = k.vfs.files.get(&f).ok_or(Errno::EBADF)?;
    match of.kind {
        FileKind::Socket(s) => Ok((s, of.nonblocking())),
        _ => Err(Errno::ENOTSOCK),
    }
}

fn parse_type(ty: i32) -> Result<(Kind, bool, bool), Errno> {
    if ty & !(0xf | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    let kind = match ty & 0xf {
        libc::SOCK_STREAM => Kind::Stream,
        libc::SOCK_DGRAM => Kind::Dgram,
        libc::SOCK_SEQPACKET => Kind::SeqPacket,
        libc::SOCK_RAW => Kind::Raw,
        libc::SOCK_RDM | 10 => return Err(Errno::ESOCKTNOSUPPORT),
        _ => return Err(Errno::EINVAL),
    };
    Ok((
        kind,
        ty & libc::SOCK_NONBLOCK != 0,
        ty & libc::SOCK_CLOEXEC != 0,
    ))
}

fn parse_domain(family: i32, kind: Kind, protocol: i32) -> Result<Domain, Errno> {
    let d = match family {
        libc::AF_UNIX => Domain::Unix,
        libc::AF_INET => Domain::Inet,
        libc::AF_INET6 => Domain::Inet6,
        libc::AF_NETLINK => {
            if !matches!(kind, Kind::Raw | Kind::Dgram) {
                return Err(Errno::ESOCKTNOSUPPORT);
            }
            netlink::check_protocol(protocol)?;
            return Ok(Domain::Netlink);
        }
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    match (d, kind, protocol) {
        (Domain::Unix, _, 0) | (Domain::Unix, _, libc::PF_UNIX) => Ok(d),
        (Domain::Unix, _, _) => Err(Errno::EPROTONOSUPPORT),
        (_, Kind::Stream, 0 | libc::IPPROTO_TCP) => Ok(d),
        (_, Kind::Dgram, 0 | libc::IPPROTO_UDP) => Ok(d),
        // UDP-Lite: UDP with its own ports (see `net::Proto`).
        (_, Kind::Dgram, libc::IPPROTO_UDPLITE) => Ok(d),
        (_, Kind::SeqPacket, 0) => Err(Errno::ESOCKTNOSUPPORT),
        // Ping sockets, open to every group (the `net.ipv4.ping_group_range`
        // container engines set) and raw ICMP sockets, for CAP_NET_RAW
        // (checked by the caller): see `net::icmp`. Not for IPv6 yet.
        (Domain::Inet, Kind::Dgram | Kind::Raw, libc::IPPROTO_ICMP) => Ok(d),
        (_, Kind::Dgram, libc::IPPROTO_ICMP | libc::IPPROTO_ICMPV6) => Err(Errno::EACCES),
        _ => Err(Errno::EPROTONOSUPPORT),
    }
}

fn install(k: &mut Kernel, tid: Tid, f: FileId, cloexec: bool) -> Result<i32, Errno> {
    file::install_fd(k, tid, f, cloexec, 0)
}

fn sys_socket(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (mut kind, nb, cloexec) = parse_type(a.i32(1))?;
    if kind == Kind::Raw {
        match a.i32(0) {
            // Linux makes a raw unix socket a datagram one.
            libc::AF_UNIX => kind = Kind::Dgram,
            libc::AF_INET | libc::AF_INET6 if !k.task(tid).creds.capable(caps::CAP_NET_RAW) => {
                return Err(Errno::EPERM.into());
            }
            _ => {}
        }
    }
    let domain = parse_domain(a.i32(0), kind, a.i32(2))?;
    if domain == Domain::Netlink && k.vfs.net.host_mode && k.vfs.net.host_route.is_none() {
        // With host sockets the interfaces are the host's, which only
        // the host's rtnetlink describes: no netlink at all rather than
        // a wrong picture when the sandbox could not reach it.
        return Err(Errno::EAFNOSUPPORT.into());
    }
    let inet = matches!(domain, Domain::Inet | Domain::Inet6);
    let hostfd = if inet && k.vfs.net.host_mode {
        Some(host::socket(domain.af(), kind.linux(), a.i32(2))?)
    } else {
        None
    };
    let (s, f) = io::new_socket(k, tid, domain, kind, a.i32(2), nb);
    if let Some(fd) = hostfd {
        if let Some(x) = k.vfs.net.get_mut(s) {
            x.host = true;
        }
        k.vfs.net.host_fds.insert(s, fd);
    }
    Ok(install(k, tid, f, cloexec)? as u64)
}

fn sys_socketpair(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (mut kind, nb, cloexec) = parse_type(a.i32(1))?;
    let family = a.i32(0);
    if kind == Kind::Raw && family == libc::AF_UNIX {
        // Linux makes a raw unix socket a datagram one.
        kind = Kind::Dgram;
    }
    if family == libc::AF_INET || family == libc::AF_INET6 {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let domain = parse_domain(family, kind, a.i32(2))?;
    if domain == Domain::Netlink {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let (s1, f1) = io::new_socket(k, tid, domain, kind, a.i32(2), nb);
    let (s2, f2) = io::new_socket(k, tid, domain, kind, a.i32(2), nb);
    let cred = k.vfs.net.get(s1).map(|x| x.owner).unwrap_or_default();
    for (me, other) in [(s1, s2), (s2, s1)] {
        if let Some(x) = k.vfs.net.get_mut(me) {
            if kind == Kind::Dgram {
                x.dgram_peer = Some(other);
            } else {
                x.state = State::Connected { peer: other };
            }
            x.remote = Some(Addr::Unnamed);
            x.peer_cred = Some(cred);
        }
    }
    let fd1 = match install(k, tid, f1, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            k.vfs.file_release(f2);
            return Err(e.into());
        }
    };
    let fd2 = match install(k, tid, f2, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = super::file::close_fd(k, tid, fd1);
            return Err(e.into());
        }
    };
    if let Err(e) = k.write_val(tid, a.ptr(3), &[fd1, fd2]) {
        let _ = super::file::close_fd(k, tid, fd1);
        let _ = super::file::close_fd(k, tid, fd2);
        return Err(e.into());
    }
    Ok(0)
}

// ---- Addresses -------------------------------------------------------------------

/// Decodes a `sockaddr` for a socket of `domain`. `Ok(None)` is
/// `AF_UNSPEC`.
fn read_addr(
    k: &mut Kernel,
    tid: Tid,
    domain: Domain,
    ptr: u64,
    len: usize,
) -> Result<Option<Addr>, Errno> {
    if len > 128 {
        return Err(Errno::EINVAL);
    }
    if len < 2 {
        return Err(Errno::EINVAL);
    }
    let b = k.read_bytes(tid, ptr, len)?;
    let family = u16::from_ne_bytes([b[0], b[1]]) as i32;
    decode_addr(domain, family, &b)
}

fn decode_addr(domain: Domain, family: i32, b: &[u8]) -> Result<Option<Addr>, Errno> {
    if family == libc::AF_UNSPEC {
        return Ok(None);
    }
    match domain {
        Domain::Netlink => {
            if family != libc::AF_NETLINK {
                return Err(Errno::EINVAL);
            }
            Ok(Some(netlink::decode(b)?))
        }
        Domain::Unix => {
            if family != libc::AF_UNIX {
                return Err(Errno::EINVAL);
            }
            let p = &b[2..];
            if p.is_empty() {
                return Ok(Some(Addr::Unnamed));
            }
            if p[0] == 0 {
                return Ok(Some(Addr::Abstract(p[1..].to_vec())));
            }
            let end = p.iter().position(|&c| c == 0).unwrap_or(p.len());
            Ok(Some(Addr::Path(p[..end].to_vec())))
        }
        Domain::Inet => {
            if family != libc::AF_INET {
                return Err(Errno::EAFNOSUPPORT);
            }
            if b.len() < 16 {
                return Err(Errno::EINVAL);
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Ok(Some(Addr::Inet(SocketAddr::new(IpAddr::V4(ip), port))))
        }
        Domain::Inet6 => {
            if family == libc::AF_INET {
                return Err(Errno::EAFNOSUPPORT);
            }
            if family != libc::AF_INET6 {
                return Err(Errno::EAFNOSUPPORT);
            }
            if b.len() < 24 {
                return Err(Errno::EINVAL);
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut o = [0u8; 16];
            o.copy_from_slice(&b[8..24]);
            Ok(Some(Addr::Inet(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(o)),
                port,
            ))))
        }
    }
}

/// Encodes an address as the `sockaddr` of `domain`.
fn encode_addr(domain: Domain, a: Option<&Addr>) -> Vec<u8> {
    let fam = |f: i32| (f as u16).to_ne_bytes().to_vec();
    match (domain, a) {
        (Domain::Unix, Some(Addr::Path(p))) => {
            let mut v = fam(libc::AF_UNIX);
            v.extend_from_slice(p);
            v.push(0);
            v
        }
        (Domain::Unix, Some(Addr::Abstract(n))) => {
            let mut v = fam(libc::AF_UNIX);
            v.push(0);
            v.extend_from_slice(n);
            v
        }
        (Domain::Unix, _) => fam(libc::AF_UNIX),
        (Domain::Netlink, a) => netlink::encode(a),
        (d, a) => {
            let sa = match a {
                Some(Addr::Inet(sa)) => *sa,
                _ if d == Domain::Inet6 => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
                _ => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            };
            match (d, sa.ip()) {
                (Domain::Inet, IpAddr::V4(ip)) => {
                    let mut v = fam(libc::AF_INET);
                    v.extend_from_slice(&sa.port().to_be_bytes());
                    v.extend_from_slice(&ip.octets());
                    v.resize(16, 0);
                    v
                }
                (_, ip) => {
                    let ip6 = match ip {
                        IpAddr::V4(x) => x.to_ipv6_mapped(),
                        IpAddr::V6(x) => x,
                    };
                    let mut v = fam(libc::AF_INET6);
                    v.extend_from_slice(&sa.port().to_be_bytes());
                    v.extend_from_slice(&[0; 4]);
                    v.extend_from_slice(&ip6.octets());
                    v.resize(28, 0);
                    v
                }
            }
        }
    }
}

/// Writes an address to a `sockaddr` buffer whose size is at `len_ptr`
/// (truncating), and its full length back there.
fn write_addr(k: &mut Kernel, tid: Tid, ptr: u64, len_ptr: u64, b: &[u8]) -> Result<(), Errno> {
    if len_ptr == 0 {
        return Ok(());
    }
    let cap: i32 = k.read_val(tid, len_ptr)?;
    if cap < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (cap as usize).min(b.len());
    if n > 0 {
        k.copy_out(tid, ptr, &b[..n])?;
    }
    k.write_val(tid, len_ptr, &(b.len() as u32))
}

/// The bytes of an address for a host socket.
fn raw_addr(k: &mut Kernel, tid: Tid, ptr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    if len > 128 {
        return Err(Errno::EINVAL);
    }
    k.read_bytes(tid, ptr, len)
}

fn domain_of(k: &Kernel, s: SockId) -> Result<Domain, Errno> {
    Ok(k.vfs.net.get(s).ok_or(Errno::EBADF)?.domain)
}

fn kind_of(k: &Kernel, s: SockId) -> Result<Kind, Errno> {
    Ok(k.vfs.net.get(s).ok_or(Errno::EBADF)?.kind)
}

fn sys_bind(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    if let Some(fd) = host::fd(k, s) {
        let b = raw_addr(k, tid, a.ptr(1), a.usize(2))?;
        host::bind(fd?, &b)?;
        return Ok(0);
    }
    let d = domain_of(k, s)?;
    let addr = read_addr(k, tid, d, a.ptr(1), a.usize(2))?;
    let addr = match (d, addr) {
        (_, Some(x)) => x,
        (Domain::Inet, None) => {
            // Linux takes AF_UNSPEC with INADDR_ANY as AF_INET.
            Addr::Inet(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), {
                let b = k.read_bytes(tid, a.ptr(1), 4)?;
                u16::from_be_bytes([b[2], b[3]])
            }))
        }
        _ => return Err(Errno::EINVAL.into()),
    };
    io::bind(k, tid, s, addr)?;
    Ok(0)
}

fn sys_listen(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    if let Some(fd) = host::fd(k, s) {
        host::listen(fd?, a.i32(1))?;
        return Ok(0);
    }
    io::listen(k, tid, s, a.i32(1))?;
    Ok(0)
}

fn accept(k: &mut Kernel, tid: Tid, a: &Args, flags: i32) -> SysResult {
    if flags & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) != 0 {
        return Err(Errno::EINVAL.into());
    }
    let (s, nb) = sock_fd(k, tid, a.fd(0))?;
    let d = domain_of(k, s)?;
    if let Some(fd) = host::fd(k, s) {
        let (owned, addr) = host::accept(fd?, nb)?;
        let kind = k.vfs.net.get(s).ok_or(Errno::EBADF)?.kind;
        let (c, f) = io::new_socket(k, tid, d, kind, 0, flags & libc::SOCK_NONBLOCK != 0);
        if let Some(x) = k.vfs.net.get_mut(c) {
            x.host = true;
        }
        k.vfs.net.host_fds.insert(c, owned);
        let nfd = install(k, tid, f, flags & libc::SOCK_CLOEXEC != 0)?;
        if a.ptr(1) != 0 {
            if let Err(e) = write_addr(k, tid, a.ptr(1), a.ptr(2), &addr) {
                let _ = super::file::close_fd(k, tid, nfd);
                return Err(e.into());
            }
        }
        return Ok(nfd as u64);
    }
    let (f, remote) = io::accept(k, tid, s, nb, flags & libc::SOCK_NONBLOCK != 0)?;
    let fd = install(k, tid, f, flags & libc::SOCK_CLOEXEC != 0)?;
    if a.ptr(1) != 0 {
        let b = encode_addr(d, remote.as_ref());
        if let Err(e) = write_addr(k, tid, a.ptr(1), a.ptr(2), &b) {
            let _ = super::file::close_fd(k, tid, fd);
            return Err(e.into());
        }
    }
    Ok(fd as u64)
}

fn sys_accept(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    accept(k, tid, a, 0)
}

fn sys_accept4(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    accept(k, tid, a, a.i32(3))
}

fn sys_connect(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, nb) = sock_fd(k, tid, a.fd(0))?;
    if let Some(fd) = host::fd(k, s) {
        let b = raw_addr(k, tid, a.ptr(1), a.usize(2))?;
        host::connect(k, s, fd?, &b, nb)?;
        return Ok(0);
    }
    let d = domain_of(k, s)?;
    let addr = read_addr(k, tid, d, a.ptr(1), a.usize(2))?;
    if d == Domain::Unix && addr == Some(Addr::Unnamed) {
        return Err(Errno::EINVAL.into());
    }
    io::connect(k, tid, s, addr, nb)?;
    Ok(0)
}

fn sys_shutdown(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    if let Some(fd) = host::fd(k, s) {
        host::shutdown(fd?, a.i32(1))?;
        return Ok(0);
    }
    io::shutdown(k, s, a.i32(1))?;
    Ok(0)
}

fn sys_getsockname(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    if let Some(fd) = host::fd(k, s) {
        let b = host::name(fd?, false)?;
        write_addr(k, tid, a.ptr(1), a.ptr(2), &b)?;
        return Ok(0);
    }
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    // A raw socket's "port" is its protocol, bound or not.
    let unbound_raw = (x.is_inet() && x.kind == Kind::Raw && x.local.is_none()).then(|| {
        Addr::Inet(SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            x.protocol as u16,
        ))
    });
    let b = encode_addr(x.domain, x.local.as_ref().or(unbound_raw.as_ref()));
    write_addr(k, tid, a.ptr(1), a.ptr(2), &b)?;
    Ok(0)
}

fn sys_getpeername(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    if let Some(fd) = host::fd(k, s) {
        let b = host::name(fd?, true)?;
        write_addr(k, tid, a.ptr(1), a.ptr(2), &b)?;
        return Ok(0);
    }
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    if x.domain == Domain::Netlink {
        // The default destination; the kernel's (0) without one.
        let b = encode_addr(x.domain, x.remote.as_ref());
        write_addr(k, tid, a.ptr(1), a.ptr(2), &b)?;
        return Ok(0);
    }
    let connected = match x.kind {
        Kind::Dgram | Kind::Raw => x.remote.is_some(),
        _ => matches!(x.state, State::Connected { .. }),
    };
    if !connected {
        return Err(Errno::ENOTCONN.into());
    }
    let b = encode_addr(x.domain, x.remote.as_ref());
    write_addr(k, tid, a.ptr(1), a.ptr(2), &b)?;
    Ok(0)
}

// ---- Options ---------------------------------------------------------------------

fn timeval_ns(b: &[u8]) -> Result<u64, Errno> {
    if b.len() < 16 {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_ne_bytes(b[..8].try_into().expect("8 bytes"));
    let usec = i64::from_ne_bytes(b[8..16].try_into().expect("8 bytes"));
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(0);
    }
    Ok((sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(usec as u64 * 1000))
}

fn ns_timeval(ns: u64) -> Vec<u8> {
    let mut v = ((ns / 1_000_000_000) as i64).to_ne_bytes().to_vec();
    v.extend_from_slice(&(((ns % 1_000_000_000) / 1000) as i64).to_ne_bytes());
    v
}

/// Integer options of the IP and TCP levels that are kept and reported,
/// with their defaults.
const STORED: &[(i32, i32, i32)] = &[
    (libc::IPPROTO_TCP, libc::TCP_MAXSEG, 536),
    (libc::IPPROTO_TCP, libc::TCP_SYNCNT, 6),
    (libc::IPPROTO_TCP, libc::TCP_LINGER2, 60),
    (libc::IPPROTO_TCP, libc::TCP_DEFER_ACCEPT, 0),
    (libc::IPPROTO_TCP, libc::TCP_WINDOW_CLAMP, 0),
    (libc::IPPROTO_TCP, libc::TCP_QUICKACK, 1),
    (libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, 0),
    (libc::IPPROTO_TCP, libc::TCP_FASTOPEN, 0),
    (libc::IPPROTO_TCP, libc::TCP_NOTSENT_LOWAT, -1),
    (libc::IPPROTO_IP, libc::IP_RECVERR, 0),
    (libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, 1),
    (libc::IPPROTO_IP, libc::IP_PKTINFO, 0),
    (libc::IPPROTO_IP, libc::IP_RECVTOS, 0),
    (libc::IPPROTO_IP, libc::IP_FREEBIND, 0),
    (libc::IPPROTO_IP, libc::IP_MULTICAST_TTL, 1),
    (libc::IPPROTO_IP, libc::IP_MULTICAST_LOOP, 1),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 0),
    (libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 64),
    (libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, 1),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 0),
    (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, 1),
    (libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 1),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, 0),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS, 0),
    (libc::IPPROTO_IPV6, libc::IPV6_TCLASS, 0),
    (libc::IPPROTO_IP, libc::IP_RECVTTL, 0),
];

/// UDP-Lite's checksum coverage options (`IPPROTO_UDPLITE` level).
const UDPLITE_SEND_CSCOV: i32 = 10;
const UDPLITE_RECV_CSCOV: i32 = 11;

/// The options of [`STORED`] that are a flag: Linux keeps (and reports)
/// whether they are set, not the value given.
const STORED_FLAGS: &[(i32, i32)] = &[
    (libc::IPPROTO_IP, libc::IP_PKTINFO),
    (libc::IPPROTO_IP, libc::IP_RECVTOS),
    (libc::IPPROTO_IP, libc::IP_RECVTTL),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT),
    (libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS),
];

fn stored_default(level: i32, name: i32) -> Option<i32> {
    STORED
        .iter()
        .find(|(l, n, _)| *l == level && *n == name)
        .map(|x| x.2)
}

fn sys_setsockopt(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    let (level, name, ptr, len) = (a.i32(1), a.i32(2), a.ptr(3), a.usize(4));
    if (len as i32) < 0 {
        return Err(Errno::EINVAL.into());
    }
    let b = k.read_bytes(tid, ptr, len.min(256))?;
    if let Some(fd) = host::fd(k, s) {
        host::setsockopt(fd?, level, name, &b)?;
        return Ok(0);
    }
    let int = || -> Result<i32, Errno> {
        if b.len() < 4 {
            return Err(Errno::EINVAL);
        }
        Ok(i32::from_ne_bytes(b[..4].try_into().expect("4 bytes")))
    };
    let broadcast = k.task(tid).creds.capable(caps::CAP_NET_BROADCAST);
    let x = k.vfs.net.get_mut(s).ok_or(Errno::EBADF)?;
    let inet = x.is_inet();
    let tcp = inet && x.kind == Kind::Stream;
    if x.domain == Domain::Netlink && level != libc::SOL_SOCKET {
        if level != netlink::SOL_NETLINK {
            return Err(Errno::ENOPROTOOPT.into());
        }
        // Linux reads the int when there is one, and takes 0 otherwise.
        let v = int().unwrap_or(0);
        netlink::setsockopt(x, name, v, broadcast)?;
        return Ok(0);
    }
    let o = &mut x.opts;
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => o.reuseaddr = int()? != 0,
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => o.reuseport = int()? != 0,
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => o.keepalive = int()? != 0,
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => o.broadcast = int()? != 0,
        (libc::SOL_SOCKET, libc::SO_OOBINLINE) => o.oobinline = int()? != 0,
        (libc::SOL_SOCKET, libc::SO_PASSCRED) => o.passcred = int()? != 0,
        (libc::SOL_SOCKET, libc::SO_PRIORITY) => o.priority = int()?,
        (libc::SOL_SOCKET, libc::SO_MARK) => o.mark = int()? as u32,
        (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => o.rcvlowat = int()?.max(1),
        (libc::SOL_SOCKET, libc::SO_SNDBUF | libc::SO_SNDBUFFORCE) => {
            let v = (int()?.max(0) as usize).min(super::super::net::UNIX_BUF);
            o.sndbuf = (v * 2).max(4608);
        }
        (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_RCVBUFFORCE) => {
            let v = (int()?.max(0) as usize).min(super::super::net::UNIX_BUF);
            o.rcvbuf = (v * 2).max(2304);
        }
        (libc::SOL_SOCKET, libc::SO_LINGER) => {
            if b.len() < 8 {
                return Err(Errno::EINVAL.into());
            }
            let on = i32::from_ne_bytes(b[..4].try_into().expect("4 bytes"));
            let secs = i32::from_ne_bytes(b[4..8].try_into().expect("4 bytes"));
            o.linger = (on != 0).then_some(secs);
        }
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => o.rcvtimeo = timeval_ns(&b)?,
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => o.sndtimeo = timeval_ns(&b)?,
        (
            libc::SOL_SOCKET,
            libc::SO_DEBUG
            | libc::SO_DONTROUTE
            | libc::SO_TIMESTAMP
            | libc::SO_TIMESTAMPNS
            | libc::SO_PASSSEC
            | libc::SO_RXQ_OVFL
            | libc::SO_ZEROCOPY
            | libc::SO_BUSY_POLL,
        ) => {
            let v = int()?;
            o.other.insert((level, name), v);
        }
        (
            libc::SOL_SOCKET,
            libc::SO_TYPE | libc::SO_ERROR | libc::SO_PROTOCOL | libc::SO_DOMAIN,
        ) => return Err(Errno::ENOPROTOOPT.into()),
        (libc::SOL_SOCKET, _) => return Err(Errno::ENOPROTOOPT.into()),
        (_, _) if !inet => return Err(Errno::EOPNOTSUPP.into()),
        (libc::IPPROTO_TCP, _) if !tcp => return Err(Errno::EOPNOTSUPP.into()),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => o.nodelay = int()? != 0,
        (libc::IPPROTO_TCP, libc::TCP_CORK) => o.cork = int()? != 0,
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => {
            let v = int()?;
            if !(1..=32767).contains(&v) {
                return Err(Errno::EINVAL.into());
            }
            o.keepidle = v;
        }
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => {
            let v = int()?;
            if !(1..=32767).contains(&v) {
                return Err(Errno::EINVAL.into());
            }
            o.keepintvl = v;
        }
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => {
            let v = int()?;
            if !(1..=127).contains(&v) {
                return Err(Errno::EINVAL.into());
            }
            o.keepcnt = v;
        }
        (libc::IPPROTO_IP, libc::IP_TOS) => o.tos = int()? & 0xfc,
        (libc::IPPROTO_IP, libc::IP_TTL) => {
            let v = int()?;
            if !(-1..=255).contains(&v) || v == 0 {
                return Err(Errno::EINVAL.into());
            }
            o.ttl = if v == -1 { 64 } else { v };
        }
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => {
            if x.domain != Domain::Inet6 {
                return Err(Errno::ENOPROTOOPT.into());
            }
            if x.local.is_some() {
                return Err(Errno::EINVAL.into());
            }
            x.opts.v6only = int()? != 0;
        }
        (libc::IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV) => {
            if x.protocol != libc::IPPROTO_UDPLITE {
                return Err(Errno::ENOPROTOOPT.into());
            }
            // Coverage below the 8 bytes of the header is the header;
            // 0 is the whole datagram.
            let v = match int()? {
                0 => 0,
                v if v < 8 => 8,
                v => v.min(0xffff),
            };
            o.other.insert((level, name), v);
        }
        (libc::IPPROTO_IPV6, libc::IPV6_TCLASS | libc::IPV6_UNICAST_HOPS) => {
            let v = int()?;
            if !(-1..=255).contains(&v) {
                return Err(Errno::EINVAL.into());
            }
            // -1: the default (no class; the route's hop limit).
            let v = match (name, v) {
                (libc::IPV6_TCLASS, -1) => 0,
                (libc::IPV6_UNICAST_HOPS, -1) => 64,
                _ => v,
            };
            o.other.insert((level, name), v);
        }
        (l, n) if STORED_FLAGS.contains(&(l, n)) => {
            let v = int()?;
            o.other.insert((l, n), (v != 0) as i32);
        }
        (l, n) if stored_default(l, n).is_some() => {
            let v = int()?;
            o.other.insert((l, n), v);
        }
        _ => return Err(Errno::ENOPROTOOPT.into()),
    }
    Ok(0)
}

fn sys_getsockopt(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (s, _) = sock_fd(k, tid, a.fd(0))?;
    let (level, name, ptr, len_ptr) = (a.i32(1), a.i32(2), a.ptr(3), a.ptr(4));
    let cap: i32 = k.read_val(tid, len_ptr)?;
    if cap < 0 {
        return Err(Errno::EINVAL.into());
    }
    if let Some(fd) = host::fd(k, s) {
        let v = host::getsockopt(fd?, level, name, cap as usize)?;
        k.copy_out(tid, ptr, &v)?;
        k.write_val(tid, len_ptr, &(v.len() as u32))?;
        return Ok(0);
    }
    let x = k.vfs.net.get_mut(s).ok_or(Errno::EBADF)?;
    let inet = x.is_inet();
    let tcp = inet && x.kind == Kind::Stream;
    if x.domain == Domain::Netlink && level != libc::SOL_SOCKET {
        if level != netlink::SOL_NETLINK {
            return Err(Errno::ENOPROTOOPT.into());
        }
        let val = netlink::getsockopt(x, name, cap as usize)?;
        let n = (cap as usize).min(val.len());
        k.copy_out(tid, ptr, &val[..n])?;
        k.write_val(tid, len_ptr, &(n as u32))?;
        return Ok(0);
    }
    let b = |v: i32| v.to_ne_bytes().to_vec();
    let o = &x.opts;
    let val: Vec<u8> = match (level, name) {
        (libc::SOL_SOCKET, libc::SO_TYPE) => b(x.kind.linux()),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => b(x.domain.af()),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => b(match (x.domain, x.kind) {
            (Domain::Unix, _) => 0,
            (Domain::Netlink, _) => x.protocol,
            (_, Kind::Stream) => libc::IPPROTO_TCP,
            _ if x.protocol == libc::IPPROTO_ICMP => libc::IPPROTO_ICMP,
            _ if x.protocol == libc::IPPROTO_UDPLITE => libc::IPPROTO_UDPLITE,
            _ => libc::IPPROTO_UDP,
        }),
        (libc::SOL_SOCKET, libc::SO_ERROR) => {
            let e = std::mem::take(&mut x.error);
            b(e)
        }
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => b(x.listening() as i32),
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => b(o.reuseaddr as i32),
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => b(o.reuseport as i32),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => b(o.keepalive as i32),
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => b(o.broadcast as i32),
        (libc::SOL_SOCKET, libc::SO_OOBINLINE) => b(o.oobinline as i32),
        (libc::SOL_SOCKET, libc::SO_PASSCRED) => b(o.passcred as i32),
        (libc::SOL_SOCKET, libc::SO_PRIORITY) => b(o.priority),
        (libc::SOL_SOCKET, libc::SO_MARK) => b(o.mark as i32),
        (libc::SOL_SOCKET, libc::SO_RCVLOWAT) => b(o.rcvlowat),
        (libc::SOL_SOCKET, libc::SO_SNDLOWAT) => b(1),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => b(o.sndbuf as i32),
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => b(o.rcvbuf as i32),
        (libc::SOL_SOCKET, libc::SO_LINGER) => {
            let mut v = b(o.linger.is_some() as i32);
            v.extend(b(o.linger.unwrap_or(0)));
            v
        }
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => ns_timeval(o.rcvtimeo),
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => ns_timeval(o.sndtimeo),
        (libc::SOL_SOCKET, libc::SO_PEERCRED) => {
            let c = match x.peer_cred {
                Some(c) if !inet => c,
                _ => Cred {
                    pid: 0,
                    uid: u32::MAX,
                    gid: u32::MAX,
                },
            };
            let mut v = c.pid.to_ne_bytes().to_vec();
            v.extend_from_slice(&c.uid.to_ne_bytes());
            v.extend_from_slice(&c.gid.to_ne_bytes());
            v
        }
        (
            libc::SOL_SOCKET,
            libc::SO_DEBUG
            | libc::SO_DONTROUTE
            | libc::SO_TIMESTAMP
            | libc::SO_TIMESTAMPNS
            | libc::SO_PASSSEC
            | libc::SO_RXQ_OVFL
            | libc::SO_ZEROCOPY
            | libc::SO_BUSY_POLL,
        ) => b(o.other.get(&(level, name)).copied().unwrap_or(0)),
        (libc::SOL_SOCKET, _) => return Err(Errno::ENOPROTOOPT.into()),
        (_, _) if !inet => return Err(Errno::EOPNOTSUPP.into()),
        (libc::IPPROTO_TCP, _) if !tcp => return Err(Errno::EOPNOTSUPP.into()),
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => b(o.nodelay as i32),
        (libc::IPPROTO_TCP, libc::TCP_CORK) => b(o.cork as i32),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => b(o.keepidle),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => b(o.keepintvl),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => b(o.keepcnt),
        (libc::IPPROTO_TCP, libc::TCP_INFO) => {
            // struct tcp_info: the state in its first byte (TCP_ESTABLISHED
            // 1, TCP_CLOSE_WAIT 8, TCP_LISTEN 10, TCP_CLOSE 7).
            let mut v = vec![0u8; 232];
            v[0] = match x.state {
                State::Connected { .. } if x.rcv_shut => 8,
                State::Connected { .. } => 1,
                State::Listening { .. } => 10,
                State::Idle => 7,
            };
            v
        }
        (libc::IPPROTO_TCP, libc::TCP_CONGESTION) => b"cubic\0\0\0\0\0\0\0\0\0\0\0".to_vec(),
        (libc::IPPROTO_IP, libc::IP_TOS) => b(o.tos),
        (libc::IPPROTO_IP, libc::IP_TTL) => b(o.ttl),
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) if x.domain == Domain::Inet6 => b(o.v6only as i32),
        // Every UDP socket reads them (0 but for UDP-Lite ones).
        (libc::IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV | UDPLITE_RECV_CSCOV)
            if matches!(Net::proto(x), Proto::Udp | Proto::UdpLite) =>
        {
            b(o.other.get(&(level, name)).copied().unwrap_or(0))
        }
        (l, n) => match stored_default(l, n) {
            Some(d) => b(o.other.get(&(l, n)).copied().unwrap_or(d)),
            None => return Err(Errno::ENOPROTOOPT.into()),
        },
    };
    let n = (cap as usize).min(val.len());
    k.copy_out(tid, ptr, &val[..n])?;
    k.write_val(tid, len_ptr, &(n as u32))?;
    Ok(0)
}

// ---- Sending ---------------------------------------------------------------------

/// A decoded `msghdr`.
struct MsgHdr {
    name: u64,
    namelen: u32,
    iov: Vec<(u64, usize)>,
    control: u64,
    controllen: usize,
}

fn read_msghdr(k: &mut Kernel, tid: Tid, at: u64) -> Result<MsgHdr, Errno> {
    let m: libc::msghdr = k.read_val(tid, at)?;
    if m.msg_iovlen > 1024 {
        return Err(Errno::EMSGSIZE);
    }
    let iov = super::file::iovecs(k, tid, m.msg_iov as u64, m.msg_iovlen)?;
    user_ranges(&iov)?;
    Ok(MsgHdr {
        name: m.msg_name as u64,
        namelen: m.msg_namelen,
        iov,
        control: m.msg_control as u64,
        controllen: m.msg_controllen,
    })
}

/// Buffers must lie in the user half of the address space (Linux's
/// `access_ok`), checked before anything else happens.
fn user_ranges(iov: &[(u64, usize)]) -> Result<(), Errno> {
    const TASK_SIZE: u64 = 0x7fff_ffff_f000;
    for &(b, l) in iov {
        if b.checked_add(l as u64).is_none_or(|e| e > TASK_SIZE) {
            return Err(Errno::EFAULT);
        }
    }
    Ok(())
}

fn gather(k: &mut Kernel, tid: Tid, iov: &[(u64, usize)]) -> Result<Vec<u8>, Errno> {
    let mut data = Vec::new();
    for &(base, len) in iov {
        let len = len.min(file::MAX_RW - data.len());
        if len > 0 {
            data.extend(k.read_bytes(tid, base, len)?);
        }
    }
    Ok(data)
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

/// The control buffer of a send, as the application gave it (Linux
/// refuses one longer than `optmem_max` allows with `ENOBUFS`).
fn control_bytes(k: &mut Kernel, tid: Tid, ptr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    if len == 0 {
        return Ok(Vec::new());
    }
    if len > 1 << 16 {
        return Err(Errno::ENOBUFS);
    }
    k.read_bytes(tid, ptr, len)
}

/// The control messages of a send's control buffer, in order: (level,
/// type, data). A header whose length is below a header's or runs past
/// the buffer is `EINVAL`, and ends the walk; a tail shorter than a
/// header is ignored, as Linux ignores it.
fn control_messages(b: &[u8]) -> impl Iterator<Item = Result<(i32, i32, &[u8]), Errno>> + '_ {
    let mut off = 0;
    std::iter::from_fn(move || {
        if off + 16 > b.len() {
            return None;
        }
        let clen = u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes")) as usize;
        let level = i32::from_ne_bytes(b[off + 8..off + 12].try_into().expect("4 bytes"));
        let ty = i32::from_ne_bytes(b[off + 12..off + 16].try_into().expect("4 bytes"));
        if clen < 16 || clen > b.len() - off {
            off = b.len();
            return Some(Err(Errno::EINVAL));
        }
        let data = &b[off + 16..off + clen];
        off += align8(clen);
        Some(Ok((level, ty, data)))
    })
}

/// The IP-level control messages of a send on a UDP socket of `domain`,
/// checked as Linux's `ip6_datagram_send_ctl` and `ip_cmsg_send` check
/// them: (hop limit, traffic class), each -1 for the socket's own.
/// Messages of other levels are left to [`read_control`].
fn ip_control(domain: Domain, b: &[u8]) -> Result<(Option<i32>, Option<i32>), Errno> {
    let (mut hops, mut tclass) = (None, None);
    for msg in control_messages(b) {
        let (level, ty, data) = msg?;
        let int = || -> Result<i32, Errno> {
            let v: [u8; 4] = data.try_into().map_err(|_| Errno::EINVAL)?;
            Ok(i32::from_ne_bytes(v))
        };
        match (domain, level, ty) {
            (Domain::Inet6, libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                let v = int()?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                hops = Some(v);
            }
            (Domain::Inet6, libc::IPPROTO_IPV6, libc::IPV6_TCLASS) => {
                let v = int()?;
                if !(-1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                tclass = Some(v);
            }
            (Domain::Inet6, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // struct in6_pktinfo: the source address and the
                // interface. The loopback (index 1) and its address are
                // the only ones of the sandbox's loopback network.
                if data.len() < 20 {
                    return Err(Errno::EINVAL);
                }
                let ifindex = i32::from_ne_bytes(data[16..20].try_into().expect("4 bytes"));
                if ifindex != 0 && ifindex != 1 {
                    return Err(Errno::ENODEV);
                }
                let src: [u8; 16] = data[..16].try_into().expect("16 bytes");
                let src = Ipv6Addr::from(src);
                if !src.is_unspecified() && !src.is_loopback() {
                    return Err(Errno::EINVAL);
                }
            }
            (Domain::Inet6, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG)
                if !(-1..=1).contains(&int()?) =>
            {
                return Err(Errno::EINVAL)
            }
            (Domain::Inet6, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG) => {}
            // Every other IPv6 message is refused, as Linux does.
            (Domain::Inet6, libc::IPPROTO_IPV6, _) => return Err(Errno::EINVAL),
            (Domain::Inet, libc::IPPROTO_IP, libc::IP_TTL) => {
                let v = int()?;
                if !(1..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                hops = Some(v);
            }
            (Domain::Inet, libc::IPPROTO_IP, libc::IP_TOS) => {
                // An int, or a single byte.
                let v = match data.len() {
                    1 => data[0] as i32,
                    _ => int()?,
                };
                if !(0..=255).contains(&v) {
                    return Err(Errno::EINVAL);
                }
                tclass = Some(v);
            }
            _ => {}
        }
    }
    Ok((hops, tclass))
}

/// Decodes the control messages of a send: files (held) and credentials.
fn read_control(
    k: &mut Kernel,
    tid: Tid,
    domain: Domain,
    b: &[u8],
) -> Result<(Vec<FileId>, Option<Cred>), Errno> {
    let mut files = Vec::new();
    let mut cred = None;
    let fail = |k: &mut Kernel, files: Vec<FileId>, e: Errno| {
        for f in files {
            k.vfs.file_release(f);
        }
        Err(e)
    };
    for msg in control_messages(b) {
        let (level, ty, data) = match msg {
            Ok(m) => m,
            Err(e) => return fail(k, files, e),
        };
        if level == libc::SOL_SOCKET {
            if domain != Domain::Unix {
                return fail(k, files, Errno::EINVAL);
            }
            match ty {
                libc::SCM_RIGHTS => {
                    let n = data.len() / 4;
                    if n + files.len() > 253 {
                        return fail(k, files, Errno::EINVAL);
                    }
                    for c in data.chunks_exact(4) {
                        let fd = i32::from_ne_bytes(c.try_into().expect("4 bytes"));
                        match file::get(k, tid, fd) {
                            Ok(f) => {
                                k.vfs.file_hold(f);
                                files.push(f);
                            }
                            Err(e) => return fail(k, files, e),
                        }
                    }
                }
                libc::SCM_CREDENTIALS => {
                    if data.len() < 12 {
                        return fail(k, files, Errno::EINVAL);
                    }
                    let c = Cred {
                        pid: i32::from_ne_bytes(data[..4].try_into().expect("4 bytes")),
                        uid: u32::from_ne_bytes(data[4..8].try_into().expect("4 bytes")),
                        gid: u32::from_ne_bytes(data[8..12].try_into().expect("4 bytes")),
                    };
                    let me = &k.task(tid).creds;
                    let root = me.euid == 0;
                    let ok = root
                        || (c.pid == k.tgid(tid)
                            && [me.uid, me.euid, me.suid].contains(&c.uid)
                            && [me.gid, me.egid, me.sgid].contains(&c.gid));
                    if !ok {
                        return fail(k, files, Errno::EPERM);
                    }
                    cred = Some(c);
                }
                _ => return fail(k, files, Errno::EINVAL),
            }
        }
    }
    Ok((files, cred))
}

#[allow(clippy::too_many_arguments)]
fn do_send(
    k: &mut Kernel,
    tid: Tid,
    fd: i32,
    iov: &[(u64, usize)],
    name: u64,
    namelen: usize,
    control: Option<(u64, usize)>,
    flags: i32,
) -> SysResult {
    let (s, nb) = sock_fd(k, tid, fd)?;
    if let Some(hfd) = host::fd(k, s) {
        let hfd = hfd?;
        let to = if name != 0 && namelen > 0 {
            Some(raw_addr(k, tid, name, namelen)?)
        } else {
            None
        };
        let data = gather(k, tid, iov)?;
        let control = match control {
            Some((p, l)) => control_bytes(k, tid, p, l)?,
            None => Vec::new(),
        };
        return Ok(host::send(k, tid, hfd, &data, to.as_deref(), &control, flags, nb)? as u64);
    }
    let d = domain_of(k, s)?;
    let to = if name != 0 && namelen > 0 {
        match read_addr(k, tid, d, name, namelen)? {
            Some(a) => Some(a),
            None if d == Domain::Netlink => return Err(Errno::EINVAL.into()),
            None if d != Domain::Unix => None,
            None => return Err(Errno::EINVAL.into()),
        }
    } else {
        None
    };
    let data = gather(k, tid, iov)?;
    let b = match control {
        Some((p, l)) => control_bytes(k, tid, p, l)?,
        None => Vec::new(),
    };
    let udp = matches!(d, Domain::Inet | Domain::Inet6) && kind_of(k, s)? == Kind::Dgram;
    let (hop_limit, tclass) = if udp {
        ip_control(d, &b)?
    } else {
        (None, None)
    };
    let (files, cred) = read_control(k, tid, d, &b)?;
    let extra = Extra {
        to,
        files,
        cred,
        hop_limit,
        tclass,
    };
    Ok(io::send(k, tid, s, &data, extra, flags, nb)? as u64)
}

fn sys_sendto(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    user_ranges(&[(a.ptr(1), a.usize(2))])?;
    do_send(
        k,
        tid,
        a.fd(0),
        &[(a.ptr(1), a.usize(2))],
        a.ptr(4),
        a.usize(5),
        None,
        a.i32(3),
    )
}

fn sys_sendmsg(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let m = read_msghdr(k, tid, a.ptr(1))?;
    do_send(
        k,
        tid,
        a.fd(0),
        &m.iov,
        m.name,
        m.namelen as usize,
        Some((m.control, m.controllen)),
        a.i32(2),
    )
}

fn sys_sendmmsg(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (fd, vec, n, flags) = (a.fd(0), a.ptr(1), a.usize(2).min(1024), a.i32(3));
    let mut sent = 0;
    for i in 0..n {
        let at = vec.wrapping_add((i as u64) * 64);
        let f = if i == 0 {
            flags
        } else {
            flags | libc::MSG_DONTWAIT
        };
        let r = read_msghdr(k, tid, at).map_err(SysErr::from).and_then(|m| {
            do_send(
                k,
                tid,
                fd,
                &m.iov,
                m.name,
                m.namelen as usize,
                Some((m.control, m.controllen)),
                f,
            )
        });
        match r {
            Ok(len) => {
                k.write_val(tid, at.wrapping_add(56), &(len as u32))?;
                sent += 1;
            }
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
}

// ---- Receiving -------------------------------------------------------------------

/// Copies received data into the iovecs; returns the count copied.
fn scatter(k: &mut Kernel, tid: Tid, iov: &[(u64, usize)], data: &[u8]) -> Result<usize, Errno> {
    let mut done = 0;
    for &(base, len) in iov {
        if done >= data.len() {
            break;
        }
        let n = len.min(data.len() - done);
        k.copy_out(tid, base, &data[done..done + n])?;
        done += n;
    }
    Ok(done)
}

/// Appends one control message, as much as fits in `cap`; sets
/// `MSG_CTRUNC` in `flags` if it did not fit whole.
fn put_cmsg(out: &mut Vec<u8>, cap: usize, level: i32, ty: i32, data: &[u8], flags: &mut i32) {
    let room = cap.saturating_sub(out.len());
    if room < 16 {
        *flags |= libc::MSG_CTRUNC;
        return;
    }
    let mut clen = 16 + data.len();
    if clen > room {
        *flags |= libc::MSG_CTRUNC;
        clen = room;
    }
    let start = out.len();
    out.extend_from_slice(&(clen as u64).to_ne_bytes());
    out.extend_from_slice(&level.to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&data[..clen - 16]);
    let next = (start + align8(clen)).min(cap);
    out.resize(next, 0);
}

/// The control messages a datagram's IP header gives a receiver of
/// `domain` whose options are `opts`, in Linux's order
/// (`ip6_datagram_recv_ctl`, `ip_cmsg_recv`): (level, type, data).
fn ip_cmsgs(
    opts: &std::collections::BTreeMap<(i32, i32), i32>,
    domain: Domain,
    ip: &crate::net::IpMeta,
) -> Vec<(i32, i32, Vec<u8>)> {
    let on = |level: i32, name: i32| opts.get(&(level, name)).is_some_and(|&v| v != 0);
    let mut out = Vec::new();
    match domain {
        Domain::Inet6 => {
            if on(libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) {
                // struct in6_pktinfo.
                let addr = match ip.dst {
                    IpAddr::V6(a) => a,
                    IpAddr::V4(a) => a.to_ipv6_mapped(),
                };
                let mut v = addr.octets().to_vec();
                v.extend_from_slice(&ip.ifindex.to_ne_bytes());
                out.push((libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, v));
            }
            if on(libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT) {
                let v = (ip.hop_limit as i32).to_ne_bytes().to_vec();
                out.push((libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, v));
            }
            if on(libc::IPPROTO_IPV6, libc::IPV6_RECVTCLASS) {
                let v = (ip.tclass as i32).to_ne_bytes().to_vec();
                out.push((libc::IPPROTO_IPV6, libc::IPV6_TCLASS, v));
            }
        }
        Domain::Inet => {
            if on(libc::IPPROTO_IP, libc::IP_PKTINFO) {
                // struct in_pktinfo: interface, local address, destination.
                let addr = match ip.dst {
                    IpAddr::V4(a) => a,
                    IpAddr::V6(a) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
                };
                let mut v = (ip.ifindex as i32).to_ne_bytes().to_vec();
                v.extend_from_slice(&addr.octets());
                v.extend_from_slice(&addr.octets());
                out.push((libc::IPPROTO_IP, libc::IP_PKTINFO, v));
            }
            if on(libc::IPPROTO_IP, libc::IP_RECVTTL) {
                let v = (ip.hop_limit as i32).to_ne_bytes().to_vec();
                out.push((libc::IPPROTO_IP, libc::IP_TTL, v));
            }
            if on(libc::IPPROTO_IP, libc::IP_RECVTOS) {
                out.push((libc::IPPROTO_IP, libc::IP_TOS, vec![ip.tclass]));
            }
        }
        _ => {}
    }
    out
}

/// One `recvmsg`: returns the byte count (the datagram length with
/// `MSG_TRUNC`).
fn do_recv(
    k: &mut Kernel,
    tid: Tid,
    fd: i32,
    hdr: &mut MsgHdr,
    flags: i32,
    out_flags: &mut i32,
    control_out: &mut Vec<u8>,
) -> SysResult {
    loop {
        if let Some(n) = recv_round(k, tid, fd, hdr, flags, out_flags, control_out)? {
            // A later message of recvmmsg starts afresh.
            if file::progress(k, tid) != 0 {
                file::set_progress(k, tid, 0);
            }
            return Ok(n);
        }
    }
}

/// One round of [`do_recv`]; `None`: `MSG_WAITALL` wants more and some may
/// be there already.
fn recv_round(
    k: &mut Kernel,
    tid: Tid,
    fd: i32,
    hdr: &mut MsgHdr,
    flags: i32,
    out_flags: &mut i32,
    control_out: &mut Vec<u8>,
) -> Result<Option<u64>, SysErr> {
    let (s, nb) = sock_fd(k, tid, fd)?;
    if let Some(hfd) = host::fd(k, s) {
        let total: usize = hdr
            .iov
            .iter()
            .map(|&(_, l)| l)
            .sum::<usize>()
            .min(file::MAX_RW);
        let got = match hfd {
            Ok(hfd) => host::recv(hfd, total, hdr.controllen, flags, nb)?,
            Err(_) => host::Received {
                data: Vec::new(),
                full: 0,
                name: Vec::new(),
                control: Vec::new(),
                flags: 0,
            },
        };
        let (full, name) = (got.full, got.name);
        let copied = scatter(k, tid, &hdr.iov, &got.data)?;
        *out_flags |= got.flags;
        control_out.extend_from_slice(&got.control);
        if hdr.name != 0 {
            let n = (hdr.namelen as usize).min(name.len());
            if n > 0 {
                k.copy_out(tid, hdr.name, &name[..n])?;
            }
            hdr.namelen = name.len() as u32;
        }
        if flags & libc::MSG_TRUNC != 0 {
            return Ok(Some(full as u64));
        }
        return Ok(Some(copied as u64));
    }
    let (d, kind, passcred, nl_pktinfo) = {
        let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
        (x.domain, x.kind, x.opts.passcred, netlink::pktinfo(x))
    };
    let total: usize = hdr
        .iov
        .iter()
        .map(|&(_, l)| l)
        .sum::<usize>()
        .min(file::MAX_RW);
    let waitall = flags & libc::MSG_WAITALL != 0
        && kind == Kind::Stream
        && flags & (libc::MSG_PEEK | libc::MSG_DONTWAIT) == 0
        && !nb;
    let mut done = if waitall { file::progress(k, tid) } else { 0 };
    let mut g: Got = match io::look(k, tid, s, total - done.min(total), flags, nb) {
        Ok(g) => g,
        Err(SysErr::Block(b)) if done > 0 => {
            // A signal ends the call with what was read (see
            // `file::write_block`).
            file::set_progress(k, tid, done);
            return Err(SysErr::Block(b));
        }
        Err(_) if done > 0 => return Ok(Some(done as u64)),
        Err(e) => return Err(e),
    };
    // Copy the data where the previous rounds of MSG_WAITALL stopped.
    let mut iov = Vec::new();
    let mut skip = done;
    for &(b, l) in &hdr.iov {
        if skip >= l {
            skip -= l;
            continue;
        }
        iov.push((b.wrapping_add(skip as u64), l - skip));
        skip = 0;
    }
    let copied = match scatter(k, tid, &iov, &g.data) {
        Ok(n) => n,
        Err(e) => {
            for f in std::mem::take(&mut g.files) {
                k.vfs.file_release(f);
            }
            if done > 0 {
                return Ok(Some(done as u64));
            }
            return Err(e.into());
        }
    };
    io::take(k, s, &mut g);
    done += copied;
    if kind != Kind::Stream && g.full > g.data.len() {
        *out_flags |= libc::MSG_TRUNC;
    }
    // Control messages: credentials, then descriptors.
    if d == Domain::Unix {
        if passcred {
            let c = g.cred.unwrap_or(Cred {
                pid: 0,
                uid: u32::MAX,
                gid: u32::MAX,
            });
            let mut v = c.pid.to_ne_bytes().to_vec();
            v.extend_from_slice(&c.uid.to_ne_bytes());
            v.extend_from_slice(&c.gid.to_ne_bytes());
            if !g.data.is_empty() || g.full > 0 || g.cred.is_some() {
                put_cmsg(
                    control_out,
                    hdr.controllen,
                    libc::SOL_SOCKET,
                    libc::SCM_CREDENTIALS,
                    &v,
                    out_flags,
                );
            }
        }
        let files = std::mem::take(&mut g.files);
        if !files.is_empty() {
            let room = hdr.controllen.saturating_sub(control_out.len());
            let fit = if room > 16 { (room - 16) / 4 } else { 0 };
            let cloexec = flags & libc::MSG_CMSG_CLOEXEC != 0;
            let mut fds = Vec::new();
            for (i, f) in files.into_iter().enumerate() {
                if i >= fit {
                    k.vfs.file_release(f);
                    *out_flags |= libc::MSG_CTRUNC;
                    continue;
                }
                match file::install_fd(k, tid, f, cloexec, 0) {
                    Ok(fd) => fds.push(fd),
                    Err(_) => *out_flags |= libc::MSG_CTRUNC,
                }
            }
            if !fds.is_empty() {
                let v: Vec<u8> = fds.iter().flat_map(|x| x.to_ne_bytes()).collect();
                put_cmsg(
                    control_out,
                    hdr.controllen,
                    libc::SOL_SOCKET,
                    libc::SCM_RIGHTS,
                    &v,
                    out_flags,
                );
            }
        }
    } else {
        for f in std::mem::take(&mut g.files) {
            k.vfs.file_release(f);
        }
        if let Some(ip) = g.ip {
            let wanted = k
                .vfs
                .net
                .get(s)
                .map(|x| ip_cmsgs(&x.opts.other, d, &ip))
                .unwrap_or_default();
            for (level, ty, data) in wanted {
                put_cmsg(control_out, hdr.controllen, level, ty, &data, out_flags);
            }
        }
        if d == Domain::Netlink && nl_pktinfo && g.full > 0 {
            // struct nl_pktinfo: the group the message went to (none:
            // every message here is unicast).
            put_cmsg(
                control_out,
                hdr.controllen,
                netlink::SOL_NETLINK,
                netlink::NETLINK_PKTINFO,
                &0u32.to_ne_bytes(),
                out_flags,
            );
        }
    }
    // The sender's address: for datagrams, and for unix streams.
    if hdr.name != 0 {
        let show = kind.datagrams() || d == Domain::Unix;
        if show && g.from == Some(Addr::Unnamed) {
            hdr.namelen = 0;
        } else if show {
            let b = encode_addr(d, g.from.as_ref());
            let n = (hdr.namelen as usize).min(b.len());
            k.copy_out(tid, hdr.name, &b[..n])?;
            hdr.namelen = b.len() as u32;
        } else {
            hdr.namelen = 0;
        }
    }
    // MSG_WAITALL: keep reading until the buffer is full or the stream
    // ends.
    if waitall && done < total && !g.data.is_empty() {
        file::set_progress(k, tid, done);
        return Ok(None);
    }
    if flags & libc::MSG_TRUNC != 0 && kind != Kind::Stream {
        return Ok(Some(g.full as u64));
    }
    Ok(Some(done as u64))
}

fn sys_recvfrom(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    user_ranges(&[(a.ptr(1), a.usize(2))])?;
    let mut hdr = MsgHdr {
        name: a.ptr(4),
        namelen: 0,
        iov: vec![(a.ptr(1), a.usize(2))],
        control: 0,
        controllen: 0,
    };
    if hdr.name != 0 {
        let l: i32 = k.read_val(tid, a.ptr(5))?;
        if l < 0 {
            return Err(Errno::EINVAL.into());
        }
        hdr.namelen = l as u32;
    }
    let mut fl = 0;
    let mut ctl = Vec::new();
    let n = do_recv(k, tid, a.fd(0), &mut hdr, a.i32(3), &mut fl, &mut ctl)?;
    if hdr.name != 0 {
        k.write_val(tid, a.ptr(5), &hdr.namelen)?;
    }
    Ok(n)
}

fn recvmsg_at(k: &mut Kernel, tid: Tid, fd: i32, at: u64, flags: i32) -> SysResult {
    let mut hdr = read_msghdr(k, tid, at)?;
    let mut fl = 0;
    let mut ctl = Vec::new();
    let n = do_recv(k, tid, fd, &mut hdr, flags, &mut fl, &mut ctl)?;
    if !ctl.is_empty() {
        k.copy_out(tid, hdr.control, &ctl)?;
    }
    // msghdr: name 0, namelen 8, iov 16, iovlen 24, control 32,
    // controllen 40, flags 48.
    k.write_val(tid, at.wrapping_add(8), &hdr.namelen)?;
    k.write_val(tid, at.wrapping_add(40), &(ctl.len() as u64))?;
    k.write_val(tid, at.wrapping_add(48), &fl)?;
    Ok(n)
}

fn sys_recvmsg(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    recvmsg_at(k, tid, a.fd(0), a.ptr(1), a.i32(2))
}

fn sys_recvmmsg(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (fd, vec, n, flags) = (a.fd(0), a.ptr(1), a.usize(2).min(1024), a.i32(3));
    let flags = flags & !libc::MSG_WAITFORONE;
    let mut got = 0;
    for i in 0..n {
        let at = vec.wrapping_add((i as u64) * 64);
        let f = if i == 0 {
            flags
        } else {
            flags | libc::MSG_DONTWAIT
        };
        match recvmsg_at(k, tid, fd, at, f) {
            Ok(len) => {
                k.write_val(tid, at.wrapping_add(56), &(len as u32))?;
                got += 1;
            }
            Err(e) if got == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmsg(len: u64, level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
        let mut v = len.to_ne_bytes().to_vec();
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(data);
        v.resize(align8(v.len()), 0);
        v
    }

    #[test]
    fn ip_control_reads_hop_limit_and_class() {
        let mut b = cmsg(
            20,
            libc::IPPROTO_IPV6,
            libc::IPV6_TCLASS,
            &0x44i32.to_ne_bytes(),
        );
        b.extend(cmsg(
            20,
            libc::IPPROTO_IPV6,
            libc::IPV6_HOPLIMIT,
            &3i32.to_ne_bytes(),
        ));
        assert_eq!(ip_control(Domain::Inet6, &b), Ok((Some(3), Some(0x44))));
        // Other levels are not IPv6's business.
        let b = cmsg(20, libc::IPPROTO_IP, libc::IP_TTL, &0i32.to_ne_bytes());
        assert_eq!(ip_control(Domain::Inet6, &b), Ok((None, None)));
        let b = cmsg(17, libc::IPPROTO_IP, libc::IP_TOS, &[0x10]);
        assert_eq!(ip_control(Domain::Inet, &b), Ok((None, Some(0x10))));
    }

    #[test]
    fn ip_control_refuses_what_linux_refuses() {
        let hop = |len: u64, v: &[u8]| cmsg(len, libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT, v);
        for b in [
            hop(21, &[0, 0, 0, 0, 0]),
            hop(20, &256i32.to_ne_bytes()),
            hop(20, &(-2i32).to_ne_bytes()),
            hop(15, &[]),
            hop(u64::MAX, &[0; 8]),
            hop(40, &[0; 4]),
            cmsg(20, libc::IPPROTO_IPV6, 4242, &[0; 4]),
            cmsg(35, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &[0; 19]),
        ] {
            assert_eq!(ip_control(Domain::Inet6, &b), Err(Errno::EINVAL), "{b:?}");
        }
        let mut pi = [0u8; 20];
        pi[16..].copy_from_slice(&7i32.to_ne_bytes());
        let b = cmsg(36, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pi);
        assert_eq!(ip_control(Domain::Inet6, &b), Err(Errno::ENODEV));
        // Fewer bytes than a header: no message at all.
        assert_eq!(ip_control(Domain::Inet6, &[1, 2, 3]), Ok((None, None)));
    }
}
