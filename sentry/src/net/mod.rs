//! Sockets: unix domain sockets (stream, datagram, seqpacket; path,
//! abstract and unnamed addresses; descriptors and credentials passed in
//! messages) and inet sockets on the sandbox's own loopback network
//! (TCP and UDP on 127.0.0.0/8 and ::1; ICMP echo over IPv4: [`icmp`]),
//! and netlink sockets that describe the sandbox's network ([`netlink`]).
//!
//! Every socket lives in [`Net`] (kept in the VFS, so that closing the last
//! open file of a socket reaches it) under a [`SockId`]; its open file is
//! `FileKind::Socket(id)`. A socket owns its receive queue: senders put
//! [`Msg`]s straight into the queue of the receiving socket. Each socket
//! has one wait queue, notified whenever its receive queue or its state
//! changes; a sender short of room waits on the queue of its peer (which
//! consuming data notifies).
//!
//! Loopback inet traffic never leaves the sentry and never becomes packets:
//! a TCP connection is a pair of connected stream sockets, a UDP datagram is
//! put in the receive queue of the socket bound to its port. This keeps the
//! whole state serializable: listening sockets, unix sockets and even
//! established loopback connections survive a checkpoint as they are.
//!
//! A closed socket's pending wakeups go through `Vfs::pending`, so every
//! function here needs only the VFS.
//!
//! Network modes (`--network`): `sandbox` (the default) is the loopback
//! described above plus, when the container has a network namespace with
//! an interface (what podman or Docker prepared), that interface served by
//! the sandbox's own TCP/IP stack ([`ext`], over raw frames: [`host_if`]);
//! a connection to an address no interface reaches fails with
//! `ENETUNREACH`. `none` is the loopback alone (the container's namespace
//! then has no interface). `host` makes inet sockets host sockets of the
//! sentry ([`host`]).
//!
//! Checkpoint: everything here is kernel state and is saved as it is, so
//! a listening socket keeps listening after a restore, queued connections
//! and unread data survive, and an established loopback TCP connection is
//! restored whole (both ends live in the sandbox). Host sockets are not
//! restored (see [`host`]); connections over the external interface are
//! reset, its listeners keep listening (see [`ext`]).
//!
//! A UDP datagram over the loopback carries what its IP header would
//! say ([`IpMeta`]: hop limit, traffic class, destination), for the
//! receiver's `IPV6_RECVHOPLIMIT`, `IPV6_RECVTCLASS`, `IPV6_RECVPKTINFO`,
//! `IP_PKTINFO`, `IP_RECVTTL` and `IP_RECVTOS`; a sender sets them with
//! its options or with `IPV6_HOPLIMIT`/`IPV6_TCLASS`/`IP_TTL`/`IP_TOS`
//! control messages. UDP-Lite sockets are UDP sockets with ports of
//! their own, on the loopback only.
//!
//! Known gaps: datagrams from the external interface carry no IP
//! control messages; no `TIME_WAIT` (a closed port is free at once), no urgent
//! data (`MSG_OOB`), unix sockets in flight that reference each other in
//! a cycle are only freed with the sandbox (Linux has a collector), and
//! the buffer charges of unix datagrams estimate Linux's.

pub mod ext;
pub mod host;
pub mod host_if;
pub mod icmp;
pub mod io;
pub mod netlink;
#[cfg(test)]
mod tests;

use crate::vfs::file::FileKind;
use crate::vfs::{FileId, Vfs};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Identifies a socket.
pub type SockId = u64;

/// Linux's default socket buffer sizes (`net.core.[rw]mem_default`).
pub const UNIX_BUF: usize = 212_992;
/// What `SO_SNDBUF` and `SO_RCVBUF` report for a new TCP socket.
pub const TCP_SNDBUF: usize = 16_384;
pub const TCP_RCVBUF: usize = 131_072;
/// Bytes a loopback TCP connection buffers per direction.
pub const TCP_WINDOW: usize = 1 << 20;
/// Datagrams a unix datagram or seqpacket receive queue holds beyond
/// which senders wait (`net.unix.max_dgram_qlen` + 1).
pub const DGRAM_QLEN: usize = 11;
/// `net.core.somaxconn`.
pub const SOMAXCONN: u32 = 4096;
/// Largest UDP payload.
pub const UDP_MAX: usize = 65_507;
/// Ephemeral ports (`net.ipv4.ip_local_port_range`).
pub const EPHEMERAL: (u16, u16) = (32768, 60999);

/// Address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Domain {
    Unix,
    Inet,
    Inet6,
    /// `AF_NETLINK` (`NETLINK_ROUTE`: see [`netlink`]).
    Netlink,
}

impl Domain {
    pub fn af(self) -> i32 {
        match self {
            Domain::Unix => libc::AF_UNIX,
            Domain::Inet => libc::AF_INET,
            Domain::Inet6 => libc::AF_INET6,
            Domain::Netlink => libc::AF_NETLINK,
        }
    }
}

/// Socket type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Stream,
    Dgram,
    SeqPacket,
    /// `SOCK_RAW` (ICMP only: see [`icmp`]).
    Raw,
}

impl Kind {
    pub fn linux(self) -> i32 {
        match self {
            Kind::Stream => libc::SOCK_STREAM,
            Kind::Dgram => libc::SOCK_DGRAM,
            Kind::SeqPacket => libc::SOCK_SEQPACKET,
            Kind::Raw => libc::SOCK_RAW,
        }
    }
    /// Connection-oriented.
    pub fn connected(self) -> bool {
        !self.datagrams()
    }
    /// Message-oriented without connections: datagram and raw sockets.
    pub fn datagrams(self) -> bool {
        matches!(self, Kind::Dgram | Kind::Raw)
    }
}

/// A socket address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Addr {
    /// An unbound unix socket.
    Unnamed,
    Path(Vec<u8>),
    /// A name in the abstract namespace (without the leading NUL).
    Abstract(Vec<u8>),
    Inet(SocketAddr),
    /// A netlink port id (0: the kernel) and multicast groups (bit `n-1`
    /// for group `n`).
    Netlink {
        pid: u32,
        groups: u64,
    },
}

/// Credentials carried by a message or taken at connect time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cred {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
}

/// One message (a datagram, or a write of a stream).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Msg {
    pub data: Vec<u8>,
    /// Bytes already read (streams).
    pub pos: usize,
    pub from: Addr,
    /// Open files in flight (`SCM_RIGHTS`), one reference each.
    pub files: Vec<FileId>,
    pub cred: Cred,
    /// What the IP header of a datagram between inet sockets said (for
    /// the receiver's `IPV6_RECVHOPLIMIT`... options).
    pub ip: Option<IpMeta>,
}

/// The IP header of a datagram as its receiver may ask for it: the hop
/// limit (TTL), the traffic class (TOS), and the destination address
/// with the interface it came in on (`IPV6_PKTINFO`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpMeta {
    pub hop_limit: u8,
    pub tclass: u8,
    pub dst: IpAddr,
    pub ifindex: u32,
}

/// Where a socket stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// New, bound or not.
    Idle,
    Listening {
        backlog: u32,
        /// Connected sockets not accepted yet.
        pending: VecDeque<SockId>,
    },
    /// Connected to a peer (stream, seqpacket), which may be gone since.
    Connected { peer: SockId },
}

/// Socket options kept as they are set (most only reported back).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Opts {
    pub passcred: bool,
    pub reuseaddr: bool,
    pub reuseport: bool,
    pub keepalive: bool,
    pub broadcast: bool,
    pub oobinline: bool,
    pub nodelay: bool,
    pub cork: bool,
    pub v6only: bool,
    pub linger: Option<i32>,
    pub sndbuf: usize,
    pub rcvbuf: usize,
    pub rcvlowat: i32,
    /// Timeouts in ns (0: none).
    pub rcvtimeo: u64,
    pub sndtimeo: u64,
    pub keepidle: i32,
    pub keepintvl: i32,
    pub keepcnt: i32,
    pub priority: i32,
    pub mark: u32,
    pub tos: i32,
    pub ttl: i32,
    /// Every other integer option that was set: (level, name) -> value.
    pub other: BTreeMap<(i32, i32), i32>,
}

impl Opts {
    fn new(domain: Domain, kind: Kind) -> Opts {
        let tcp = matches!(domain, Domain::Inet | Domain::Inet6) && kind == Kind::Stream;
        Opts {
            passcred: false,
            reuseaddr: false,
            reuseport: false,
            keepalive: false,
            broadcast: false,
            oobinline: false,
            nodelay: false,
            cork: false,
            v6only: false,
            linger: None,
            sndbuf: if tcp { TCP_SNDBUF } else { UNIX_BUF },
            rcvbuf: if tcp { TCP_RCVBUF } else { UNIX_BUF },
            rcvlowat: 1,
            rcvtimeo: 0,
            sndtimeo: 0,
            keepidle: 7200,
            keepintvl: 75,
            keepcnt: 9,
            priority: 0,
            mark: 0,
            tos: 0,
            ttl: 64,
            other: BTreeMap::new(),
        }
    }
}

/// A socket.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Socket {
    pub domain: Domain,
    pub kind: Kind,
    pub protocol: i32,
    pub state: State,
    pub local: Option<Addr>,
    /// The peer's address (connected sockets, and a datagram socket's
    /// default destination).
    pub remote: Option<Addr>,
    /// A datagram socket's connected peer.
    pub dgram_peer: Option<SockId>,
    pub rx: VecDeque<Msg>,
    pub rx_len: usize,
    /// Memory the queued messages are charged (Linux's `truesize`), which
    /// unix senders are limited by.
    pub rx_charge: usize,
    /// Linux's `RCV_SHUTDOWN` and `SEND_SHUTDOWN`.
    pub rcv_shut: bool,
    pub snd_shut: bool,
    /// The peer closed with data unread (TCP): the next read fails.
    pub reset: bool,
    /// Pending `SO_ERROR`.
    pub error: i32,
    /// A non-blocking connect returned `EINPROGRESS` and no connect call
    /// has seen its outcome yet.
    pub connecting: bool,
    pub opts: Opts,
    /// Credentials of the peer (`SO_PEERCRED`).
    pub peer_cred: Option<Cred>,
    /// Credentials of the process that created the socket, given to the
    /// peers of a listening socket.
    pub owner: Cred,
    /// The open file of the socket; none for a connection not accepted yet.
    pub file: Option<FileId>,
    /// Inode number (`socket:[N]`).
    pub ino: u64,
    /// A host socket (`--network=host`; see [`host`]).
    pub host: bool,
    pub queue: u64,
    /// Bumped on every change (edge-triggered epoll).
    pub gen: u64,
}

impl Socket {
    /// Bytes the socket may hold in its receive queue.
    pub fn capacity(&self) -> usize {
        match (self.domain, self.kind) {
            (Domain::Unix, _) => self.opts.rcvbuf.max(UNIX_BUF),
            (_, Kind::Stream) => self.opts.rcvbuf * (TCP_WINDOW / TCP_RCVBUF),
            _ => self.opts.rcvbuf.max(UNIX_BUF),
        }
    }

    /// True if one more UDP datagram of `len` bytes fits.
    pub fn has_room(&self, len: usize) -> bool {
        self.rx_charge + charge(len) <= self.capacity()
    }

    /// True if unix socket `sender` with send buffer `sndbuf` may queue
    /// one more message here now: Linux charges a sender for what it has
    /// queued, and limits the queue length of a receiver that is not
    /// connected back to the sender.
    pub fn unix_room(&self, sender: SockId, sndbuf: usize) -> bool {
        let back = self.peer() == Some(sender);
        (back || self.rx.len() < DGRAM_QLEN) && self.rx_charge < sndbuf
    }

    /// Takes the first message off the queue.
    pub fn pop(&mut self) -> Option<Msg> {
        let m = self.rx.pop_front()?;
        self.rx_len -= m.data.len() - m.pos;
        self.rx_charge -= charge(m.data.len());
        Some(m)
    }

    pub fn is_inet(&self) -> bool {
        matches!(self.domain, Domain::Inet | Domain::Inet6)
    }

    pub fn listening(&self) -> bool {
        matches!(self.state, State::Listening { .. })
    }

    pub fn peer(&self) -> Option<SockId> {
        match self.state {
            State::Connected { peer } => Some(peer),
            _ => self.dgram_peer,
        }
    }

    pub fn push(&mut self, m: Msg) {
        self.rx_len += m.data.len() - m.pos;
        self.rx_charge += charge(m.data.len());
        self.rx.push_back(m);
        self.gen += 1;
    }

    /// Bytes ready to read (`FIONREAD`): all of a stream, the first
    /// datagram otherwise.
    pub fn readable_bytes(&self) -> usize {
        match self.kind {
            Kind::Stream => self.rx_len,
            _ => self.rx.front().map_or(0, |m| m.data.len()),
        }
    }
}

/// What a queued message of `len` bytes is charged (an estimate of
/// Linux's buffer overhead: 768 bytes for a small message).
pub fn charge(len: usize) -> usize {
    768 + len.next_multiple_of(64).saturating_sub(64)
}

/// Inet protocols, for the port tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proto {
    Tcp,
    Udp,
    /// Ping sockets, whose port is the echo identifier.
    Icmp,
    /// UDP-Lite (`IPPROTO_UDPLITE`): UDP whose checksum may cover part
    /// of a datagram, with ports of its own. Over the loopback there is
    /// no checksum, so it is UDP in all but its ports.
    UdpLite,
}

/// All sockets of a sandbox and their names.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Net {
    pub socks: BTreeMap<SockId, Socket>,
    /// Unix sockets bound to a path: the (device, inode) of the socket
    /// node.
    pub unix_paths: BTreeMap<(u64, u64), SockId>,
    pub unix_abstract: BTreeMap<Vec<u8>, SockId>,
    /// Inet sockets by (protocol, port).
    pub ports: BTreeMap<(Proto, u16), Vec<SockId>>,
    /// Bytes and packets (writes, datagrams) sent over the loopback
    /// interface.
    pub lo_bytes: u64,
    pub lo_packets: u64,
    /// Inet sockets are host sockets (`--network=host`).
    pub host_mode: bool,
    /// The interfaces of the container's network namespace (see [`ext`]).
    pub ifaces: Vec<ext::IfaceConf>,
    /// The stack of the external interface; rebuilt on restore.
    #[serde(skip)]
    pub ext: Option<Box<ext::Stack>>,
    /// The host descriptors of host sockets; not kept across a restore.
    #[serde(skip)]
    pub host_fds: BTreeMap<SockId, std::os::fd::OwnedFd>,
    /// With `--network=host`: the host `NETLINK_ROUTE` socket that
    /// answers the application's netlink requests; opened anew by a
    /// restored sandbox.
    #[serde(skip)]
    pub host_route: Option<netlink::host::HostRoute>,
    /// Files in flight of closed sockets, released by the outermost
    /// [`closed`] (a socket in flight may hold more sockets: no recursion).
    #[serde(skip)]
    deferred: Vec<FileId>,
    #[serde(skip)]
    draining: bool,
    next_port: u16,
    next: u64,
}

/// Loopback addresses of the sandbox.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || a.to_ipv4_mapped().is_some_and(|x| x.is_loopback()),
    }
}

/// Addresses a socket may bind to.
pub fn is_local(ip: IpAddr) -> bool {
    ip.is_unspecified()
        || is_loopback(ip)
        || matches!(ip, IpAddr::V6(a) if a.to_ipv4_mapped().is_some_and(|x| x.is_unspecified()))
}

impl Net {
    /// A new socket.
    pub fn create(
        &mut self,
        domain: Domain,
        kind: Kind,
        protocol: i32,
        queue: u64,
        owner: Cred,
    ) -> SockId {
        self.next += 1;
        let id = self.next;
        self.socks.insert(
            id,
            Socket {
                domain,
                kind,
                protocol,
                state: State::Idle,
                local: None,
                remote: None,
                dgram_peer: None,
                rx: VecDeque::new(),
                rx_len: 0,
                rx_charge: 0,
                rcv_shut: false,
                snd_shut: false,
                reset: false,
                error: 0,
                connecting: false,
                opts: Opts::new(domain, kind),
                peer_cred: None,
                owner,
                file: None,
                ino: 0,
                host: false,
                queue,
                gen: 0,
            },
        );
        id
    }

    pub fn get(&self, s: SockId) -> Option<&Socket> {
        self.socks.get(&s)
    }

    pub fn get_mut(&mut self, s: SockId) -> Option<&mut Socket> {
        self.socks.get_mut(&s)
    }

    /// With `--network=host`, opens the host `NETLINK_ROUTE` socket that
    /// answers the application's netlink requests ([`netlink::host`]).
    /// Runs before the sandbox is confined; without it netlink sockets
    /// are not offered (`EAFNOSUPPORT`).
    pub fn open_host_route(&mut self) {
        if !self.host_mode || self.host_route.is_some() {
            return;
        }
        match netlink::host::HostRoute::open() {
            Ok(h) => self.host_route = Some(h),
            Err(e) => tracing::warn!("{e}: no netlink sockets in the sandbox"),
        }
    }

    pub fn proto(s: &Socket) -> Proto {
        if s.kind == Kind::Stream {
            Proto::Tcp
        } else if icmp::is_icmp(s) {
            Proto::Icmp
        } else if s.protocol == libc::IPPROTO_UDPLITE {
            Proto::UdpLite
        } else {
            Proto::Udp
        }
    }

    /// A free ephemeral port for `proto`.
    pub fn ephemeral(&mut self, proto: Proto) -> Option<u16> {
        let (lo, hi) = EPHEMERAL;
        let span = (hi - lo + 1) as u32;
        for _ in 0..span {
            if self.next_port < lo || self.next_port > hi {
                self.next_port = lo;
            }
            let p = self.next_port;
            self.next_port = self.next_port.wrapping_add(1);
            if self.ports.get(&(proto, p)).is_none_or(|v| v.is_empty()) {
                return Some(p);
            }
        }
        None
    }

    /// Binds inet socket `s` to `addr` (port 0: an ephemeral one).
    pub fn bind_inet(
        &mut self,
        s: SockId,
        mut addr: SocketAddr,
    ) -> Result<(), crate::errno::Errno> {
        use crate::errno::Errno;
        let sock = self.socks.get(&s).ok_or(Errno::EBADF)?;
        if sock.local.is_some() {
            return Err(Errno::EINVAL);
        }
        if !is_local(addr.ip()) && !ext::is_ext_addr(self, addr.ip()) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let proto = Self::proto(sock);
        let reuse = sock.opts.reuseaddr || sock.opts.reuseport;
        if addr.port() == 0 {
            addr.set_port(self.ephemeral(proto).ok_or(Errno::EADDRINUSE)?);
        } else {
            for o in self.ports.get(&(proto, addr.port())).into_iter().flatten() {
                let Some(os) = self.socks.get(o) else {
                    continue;
                };
                let Some(Addr::Inet(oa)) = &os.local else {
                    continue;
                };
                if !overlaps(oa.ip(), os.opts.v6only, addr.ip(), sock.opts.v6only) {
                    continue;
                }
                // SO_REUSEADDR lets sockets share a port unless one of them
                // listens; SO_REUSEPORT lets them share it anyway.
                let both_port = sock.opts.reuseport && os.opts.reuseport;
                let both_addr =
                    reuse && (os.opts.reuseaddr || os.opts.reuseport) && !os.listening();
                if !(both_port || both_addr && proto == Proto::Tcp) {
                    return Err(Errno::EADDRINUSE);
                }
            }
        }
        self.ports.entry((proto, addr.port())).or_default().push(s);
        if let Some(sock) = self.socks.get_mut(&s) {
            sock.local = Some(Addr::Inet(addr));
        }
        Ok(())
    }

    /// The socket of `proto` that receives what is sent to `to`
    /// (listening for TCP).
    pub fn find_inet(&self, proto: Proto, to: SocketAddr, listening: bool) -> Option<SockId> {
        let list = self.ports.get(&(proto, to.port()))?;
        let mut best: Option<(SockId, bool)> = None;
        for &id in list {
            let Some(s) = self.socks.get(&id) else {
                continue;
            };
            if listening && !s.listening() {
                continue;
            }
            if proto == Proto::Tcp && !listening {
                continue;
            }
            let Some(Addr::Inet(a)) = &s.local else {
                continue;
            };
            if !accepts(a.ip(), s.opts.v6only, to.ip()) {
                continue;
            }
            let exact = !a.ip().is_unspecified();
            if best.is_none_or(|(_, e)| exact && !e) {
                best = Some((id, exact));
            }
        }
        best.map(|b| b.0)
    }

    /// Forgets the names of socket `s`.
    fn unbind(&mut self, s: SockId) {
        let Some(sock) = self.socks.get(&s) else {
            return;
        };
        match &sock.local {
            Some(Addr::Path(_)) => self.unix_paths.retain(|_, v| *v != s),
            Some(Addr::Abstract(n)) if self.unix_abstract.get(n) == Some(&s) => {
                self.unix_abstract.remove(n);
            }
            _ => {}
        }
        if let Some(Addr::Inet(a)) = &sock.local {
            let key = (Self::proto(sock), a.port());
            if let Some(v) = self.ports.get_mut(&key) {
                v.retain(|x| *x != s);
                if v.is_empty() {
                    self.ports.remove(&key);
                }
            }
        }
    }
}

/// True if a socket bound to `bound` receives traffic for `to`.
fn accepts(bound: IpAddr, v6only: bool, to: IpAddr) -> bool {
    let to4 = match to {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    };
    match bound {
        IpAddr::V4(b) => to4.is_some_and(|t| b.is_unspecified() || b == t || t.is_unspecified()),
        IpAddr::V6(b) => {
            if let Some(b4) = b.to_ipv4_mapped() {
                return to4.is_some_and(|t| b4.is_unspecified() || b4 == t);
            }
            if b.is_unspecified() {
                return !(v6only && to.is_ipv4());
            }
            matches!(to, IpAddr::V6(t) if t == b || t.is_unspecified())
        }
    }
}

/// True if two bindings of one port collide.
fn overlaps(a: IpAddr, a6only: bool, b: IpAddr, b6only: bool) -> bool {
    let norm = |ip: IpAddr| match ip {
        IpAddr::V6(x) => x.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v => v,
    };
    let (a, b) = (norm(a), norm(b));
    if a == b {
        return true;
    }
    match (a, b) {
        (IpAddr::V6(x), o) | (o, IpAddr::V6(x)) if x.is_unspecified() => {
            let only = if a.is_ipv6() && a.is_unspecified() {
                a6only
            } else {
                b6only
            };
            o.is_ipv6() || !only
        }
        (x, y) if x.is_unspecified() || y.is_unspecified() => x.is_ipv4() == y.is_ipv4(),
        _ => false,
    }
}

/// The address a socket connected to `to` sends from.
pub fn source_for(domain: Domain, to: IpAddr) -> IpAddr {
    match (domain, to) {
        (Domain::Inet, IpAddr::V4(a)) if a.is_loopback() => IpAddr::V4(a),
        (Domain::Inet, _) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        (Domain::Inet6, IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(v4) if v4.is_unspecified() => IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()),
            Some(_) => IpAddr::V6(a),
            None => IpAddr::V6(Ipv6Addr::LOCALHOST),
        },
        (Domain::Inet6, IpAddr::V4(a)) => IpAddr::V6(a.to_ipv6_mapped()),
        (Domain::Unix | Domain::Netlink, ip) => ip,
    }
}

// ---- Closing ---------------------------------------------------------------

/// The last open file of socket `s` closed (or a connection that was never
/// accepted went away with its listener).
pub fn closed(v: &mut Vfs, s: SockId) {
    close_one(v, s);
    if v.net.draining {
        return;
    }
    v.net.draining = true;
    while let Some(f) = v.net.deferred.pop() {
        v.file_release(f);
    }
    v.net.draining = false;
}

fn close_one(v: &mut Vfs, s: SockId) {
    v.net.host_fds.remove(&s);
    v.net.unbind(s);
    let Some(sock) = v.net.socks.remove(&s) else {
        return;
    };
    v.pending.notify.push(sock.queue);
    let unread = sock.rx_len > 0;
    ext::close(v, s, unread);
    for m in sock.rx {
        v.net.deferred.extend(m.files);
    }
    match sock.state {
        State::Listening { pending, .. } => {
            for p in pending {
                close_one(v, p);
            }
        }
        State::Connected { peer } => {
            if let Some(p) = v.net.socks.get_mut(&peer) {
                p.rcv_shut = true;
                // A unix peer's sends fail at once. A TCP peer's first send
                // still goes out (and meets a reset: see `io::send_inner`),
                // unless this side's unread data made it reset already.
                if !p.is_inet() || unread {
                    p.snd_shut = true;
                }
                if unread && p.is_inet() {
                    p.reset = true;
                }
                p.gen += 1;
                v.pending.notify.push(p.queue);
            }
        }
        State::Idle => {}
    }
    // Datagram sockets connected to this one learn it at their next send
    // (their readiness does not change: they stay writable).
}

/// The socket of open file `f`.
pub fn of_file(v: &Vfs, f: FileId) -> Option<SockId> {
    match v.files.get(&f)?.kind {
        FileKind::Socket(s) => Some(s),
        _ => None,
    }
}

// ---- /proc/net -------------------------------------------------------------

/// `/proc/net/unix`.
pub fn proc_unix(v: &Vfs) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("Num       RefCount Protocol Flags    Type St Inode Path\n");
    for (id, k) in &v.net.socks {
        if k.domain != Domain::Unix {
            continue;
        }
        let (flags, st) = match &k.state {
            State::Listening { .. } => (0x10000, 1),
            State::Connected { .. } => (0, 3),
            State::Idle => (0, 1),
        };
        let path = match &k.local {
            Some(Addr::Path(p)) => format!(" {}", String::from_utf8_lossy(p)),
            Some(Addr::Abstract(p)) => format!(" @{}", String::from_utf8_lossy(p)),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "{:016x}: {:08X} {:08X} {:08X} {:04X} {:02X} {:5}{}",
            id,
            2,
            0,
            flags,
            k.kind.linux(),
            st,
            k.ino,
            path
        );
    }
    s
}

fn hex_addr(a: &Option<Addr>, v6: bool) -> String {
    let sa = match a {
        Some(Addr::Inet(sa)) => *sa,
        _ => {
            if v6 {
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
            } else {
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
            }
        }
    };
    match sa.ip() {
        IpAddr::V4(ip) => format!("{:08X}:{:04X}", u32::from_ne_bytes(ip.octets()), sa.port()),
        IpAddr::V6(ip) => {
            let o = ip.octets();
            let mut h = String::new();
            for w in o.chunks(4) {
                h.push_str(&format!(
                    "{:08X}",
                    u32::from_ne_bytes([w[0], w[1], w[2], w[3]])
                ));
            }
            format!("{h}:{:04X}", sa.port())
        }
    }
}

/// `/proc/net/{tcp,udp,tcp6,udp6}`.
pub fn proc_inet(v: &Vfs, proto: Proto, v6: bool) -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n",
    );
    if v6 {
        s = String::from("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n");
    }
    let mut n = 0;
    for k in v.net.socks.values() {
        let want = if v6 { Domain::Inet6 } else { Domain::Inet };
        if k.domain != want || Net::proto(k) != proto || k.local.is_none() {
            continue;
        }
        let st = match (&k.state, proto) {
            (State::Listening { .. }, _) => 0x0A,
            (State::Connected { .. }, _) if k.rcv_shut => 0x08,
            (State::Connected { .. }, _) => 0x01,
            (_, Proto::Udp) => 0x07,
            _ => 0x07,
        };
        let _ = writeln!(
            s,
            "{:4}: {} {} {:02X} {:08X}:{:08X} 00:00000000 00000000 {:5} {:8} {}",
            n,
            hex_addr(&k.local, v6),
            hex_addr(&k.remote, v6),
            st,
            0,
            k.rx_len,
            k.owner.uid,
            0,
            k.ino
        );
        n += 1;
    }
    s
}

/// `/proc/net/dev`: the loopback interface and the external one.
pub fn proc_dev(v: &Vfs) -> String {
    let (bytes, packets) = (v.net.lo_bytes, v.net.lo_packets);
    let ext = ext::proc_dev_line(&v.net).unwrap_or_default();
    format!(
        "Inter-|   Receive                                                |  Transmit\n \
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
         lo: {bytes:8} {packets:7}    0    0    0     0          0         0 {bytes:8} {packets:7}    0    0    0     0       0          0\n{ext}"
    )
}
