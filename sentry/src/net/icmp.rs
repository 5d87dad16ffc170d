//! ICMP sockets over IPv4, so that `ping` works inside the sandbox: ping
//! sockets (`SOCK_DGRAM`, `IPPROTO_ICMP`: the application writes an echo
//! request's ICMP header and data, the kernel sets its identifier, the
//! socket's port, and its checksum, and reads back the matching echo
//! replies without their IP header) and raw ICMP sockets (`SOCK_RAW`,
//! for tasks with `CAP_NET_RAW`: the application writes the whole ICMP
//! message and reads every ICMP packet it may see with its IP header).
//!
//! Ping sockets are open to every group: Linux gates them on
//! `net.ipv4.ping_group_range`, which container engines open to all.
//!
//! To a loopback address (or the interface's own), the sentry answers an
//! echo request itself: the request and then the reply are delivered, as
//! Linux's loopback device would, to the raw ICMP sockets, and the reply
//! to the ping socket of that identifier. Over the external interface the
//! message goes out through a smoltcp ICMP socket bound to its identifier
//! (`ext::send_icmp`), and what comes back for that identifier is queued
//! on the socket that sent it.
//!
//! Known gaps: a raw socket sees only the echo replies of identifiers it
//! sent requests with over the external interface (not the host's other
//! ICMP traffic there); ICMP errors are not reported (`IP_RECVERR`);
//! messages other than echo requests are sent on loopback only (smoltcp
//! sends the echo kinds); no ICMPv6.

use super::{Addr, Domain, Kind, Msg, SockId, Socket};
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::syscalls::SysErr;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// ICMP message types.
const ECHO_REPLY: u8 = 0;
const ECHO_REQUEST: u8 = 8;
/// Largest ICMP message in one IPv4 packet.
const ICMP_MAX: usize = 65_535 - 20;

/// True if `x` is an ICMP socket (ping or raw).
pub fn is_icmp(x: &Socket) -> bool {
    x.domain == Domain::Inet
        && x.protocol == libc::IPPROTO_ICMP
        && matches!(x.kind, Kind::Dgram | Kind::Raw)
        && !x.host
}

fn v4(a: &SocketAddr) -> Result<Ipv4Addr, Errno> {
    match a.ip() {
        IpAddr::V4(ip) => Ok(ip),
        IpAddr::V6(_) => Err(Errno::EAFNOSUPPORT),
    }
}

/// `bind`: a ping socket takes the port as its identifier (0: a free
/// one); a raw socket takes the address alone (its "port" is its
/// protocol, as Linux shows it), and may be bound again.
pub fn bind(k: &mut Kernel, s: SockId, a: SocketAddr) -> Result<(), Errno> {
    let ip = v4(&a)?;
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    if x.kind == Kind::Dgram {
        return k.vfs.net.bind_inet(s, a);
    }
    let ip = IpAddr::V4(ip);
    if !super::is_local(ip) && !super::ext::is_ext_addr(&k.vfs.net, ip) {
        return Err(Errno::EADDRNOTAVAIL);
    }
    if let Some(x) = k.vfs.net.get_mut(s) {
        x.local = Some(Addr::Inet(SocketAddr::new(ip, x.protocol as u16)));
    }
    Ok(())
}

/// `connect`: the default destination, and the only source whose
/// messages the socket reads (`None`: disconnects).
pub fn connect(k: &mut Kernel, s: SockId, to: Option<Addr>) -> Result<(), Errno> {
    let remote = match to {
        None => None,
        Some(Addr::Inet(a)) => {
            let mut ip = v4(&a)?;
            if ip.is_unspecified() {
                ip = Ipv4Addr::LOCALHOST;
            }
            let ip = IpAddr::V4(ip);
            if !super::is_loopback(ip) && !super::ext::routable(&k.vfs.net, ip) {
                return Err(Errno::ENETUNREACH);
            }
            Some(Addr::Inet(SocketAddr::new(ip, a.port())))
        }
        Some(_) => return Err(Errno::EAFNOSUPPORT),
    };
    if remote.is_some() {
        autobind(k, s)?;
    }
    let x = k.vfs.net.get_mut(s).ok_or(Errno::EBADF)?;
    x.remote = remote;
    Ok(())
}

/// Gives an unbound ping socket a free identifier.
fn autobind(k: &mut Kernel, s: SockId) -> Result<(), Errno> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    if x.kind != Kind::Dgram || x.local.is_some() {
        return Ok(());
    }
    k.vfs
        .net
        .bind_inet(s, SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0))
}

/// The Internet checksum of `b`.
pub fn checksum(b: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in b.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += w as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sets the checksum of ICMP message `m`.
fn seal(m: &mut [u8]) {
    m[2] = 0;
    m[3] = 0;
    let c = checksum(m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
}

/// An IPv4 header for an ICMP message of `len` bytes.
pub fn ip_header(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> [u8; 20] {
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&((20 + len).min(65_535) as u16).to_be_bytes());
    h[6] = 0x40; // don't fragment
    h[8] = 64; // TTL
    h[9] = libc::IPPROTO_ICMP as u8;
    h[12..16].copy_from_slice(&src.octets());
    h[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h
}

/// `send`/`sendto` on ICMP socket `s`.
pub fn send(k: &mut Kernel, s: SockId, data: &[u8], to: Option<&Addr>) -> Result<usize, SysErr> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    if x.snd_shut {
        return Err(Errno::EPIPE.into());
    }
    let dst = match to {
        Some(Addr::Inet(a)) => v4(a)?,
        Some(_) => return Err(Errno::EAFNOSUPPORT.into()),
        None => match &x.remote {
            Some(Addr::Inet(a)) => v4(a)?,
            _ => return Err(Errno::EDESTADDRREQ.into()),
        },
    };
    let dst = if dst.is_unspecified() {
        Ipv4Addr::LOCALHOST
    } else {
        dst
    };
    if data.len() > ICMP_MAX {
        return Err(Errno::EMSGSIZE.into());
    }
    let ping = x.kind == Kind::Dgram;
    let mut m = data.to_vec();
    if ping {
        // Linux takes echo requests only, and writes the identifier and
        // the checksum itself.
        if m.len() < 8 {
            return Err(Errno::EINVAL.into());
        }
        if m[0] != ECHO_REQUEST || m[1] != 0 {
            return Err(Errno::EINVAL.into());
        }
        autobind(k, s)?;
        let ident = match &k.vfs.net.get(s).ok_or(Errno::EBADF)?.local {
            Some(Addr::Inet(a)) => a.port(),
            _ => return Err(Errno::EINVAL.into()),
        };
        m[4..6].copy_from_slice(&ident.to_be_bytes());
        seal(&mut m);
    }
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    let bound = match &x.local {
        Some(Addr::Inet(SocketAddr::V4(a))) if !a.ip().is_unspecified() => Some(*a.ip()),
        _ => None,
    };
    let dip = IpAddr::V4(dst);
    if super::is_loopback(dip) || super::ext::is_ext_addr(&k.vfs.net, dip) {
        let src = bound.unwrap_or(dst);
        k.vfs.net.lo_packets += 1;
        k.vfs.net.lo_bytes += (m.len() + 20) as u64;
        deliver(k, src, dst, &m);
        if m.len() >= 8 && m[0] == ECHO_REQUEST && m[1] == 0 {
            let mut reply = m.clone();
            reply[0] = ECHO_REPLY;
            seal(&mut reply);
            k.vfs.net.lo_packets += 1;
            k.vfs.net.lo_bytes += (reply.len() + 20) as u64;
            deliver(k, dst, src, &reply);
        }
        return Ok(data.len());
    }
    if !super::ext::routable(&k.vfs.net, dip) || bound.is_some_and(|b| b.is_loopback()) {
        return Err(Errno::ENETUNREACH.into());
    }
    if m.len() < 8 || !matches!(m[0], ECHO_REQUEST | ECHO_REPLY) {
        // Only the echo kinds leave through the interface (see the notes).
        return Err(Errno::EINVAL.into());
    }
    let ident = u16::from_be_bytes([m[4], m[5]]);
    super::ext::send_icmp(k, s, ident, dst, &m)?;
    Ok(data.len())
}

/// Queues ICMP message `m` from `src` to `dst` (a local address) on every
/// socket that sees it: raw ICMP sockets, with the IP header; the ping
/// socket of its identifier, for an echo reply.
fn deliver(k: &mut Kernel, src: Ipv4Addr, dst: Ipv4Addr, m: &[u8]) {
    let ids: Vec<SockId> = k
        .vfs
        .net
        .socks
        .iter()
        .filter(|(_, x)| is_icmp(x))
        .map(|(&s, _)| s)
        .collect();
    let reply_ident =
        (m.len() >= 8 && m[0] == ECHO_REPLY && m[1] == 0).then(|| u16::from_be_bytes([m[4], m[5]]));
    for s in ids {
        let Some(x) = k.vfs.net.get(s) else {
            continue;
        };
        let data = match x.kind {
            Kind::Raw => {
                let mut d = ip_header(src, dst, m.len()).to_vec();
                d.extend_from_slice(m);
                d
            }
            _ => {
                let ident = match &x.local {
                    Some(Addr::Inet(a)) => a.port(),
                    _ => continue,
                };
                if reply_ident != Some(ident) {
                    continue;
                }
                m.to_vec()
            }
        };
        queue(k, s, src, dst, data);
    }
}

/// Queues `data`, a message from `src` to `dst`, on socket `s` if it takes
/// it (its bound address and its connected peer match, and it has room).
pub fn queue(k: &mut Kernel, s: SockId, src: Ipv4Addr, dst: Ipv4Addr, data: Vec<u8>) {
    let Some(x) = k.vfs.net.get_mut(s) else {
        return;
    };
    if let Some(Addr::Inet(l)) = &x.local {
        if !l.ip().is_unspecified() && l.ip() != IpAddr::V4(dst) {
            return;
        }
    }
    if let Some(Addr::Inet(r)) = &x.remote {
        if r.ip() != IpAddr::V4(src) {
            return;
        }
    }
    if x.rcv_shut || !x.has_room(data.len()) {
        return;
    }
    x.push(Msg {
        data,
        pos: 0,
        from: Addr::Inet(SocketAddr::new(IpAddr::V4(src), 0)),
        files: Vec::new(),
        cred: super::Cred::default(),
        ip: None,
    });
    let q = x.queue;
    k.notify(q);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_as_the_internet_does() {
        // An echo request with identifier 1, sequence 1 and "ab".
        let mut m = vec![8, 0, 0, 0, 0, 1, 0, 1, b'a', b'b'];
        seal(&mut m);
        assert_eq!(checksum(&m), 0, "a sealed message sums to zero");
        assert_eq!(&m[2..4], &[0x96, 0x9b]);
        let h = ip_header(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), 10);
        assert_eq!(checksum(&h), 0);
        assert_eq!(u16::from_be_bytes([h[2], h[3]]), 30);
    }
}
