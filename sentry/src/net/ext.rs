//! The container's external interface in the sandbox's own stack: a
//! user-space TCP/IP stack (`smoltcp`: Ethernet, ARP, IPv4, TCP, UDP, ICMP
//! echo replies) over raw frames of the interface the container's network
//! namespace holds (`host_if`), whose addresses the runtime took from the
//! host and whose packet socket it handed to the sandbox.
//!
//! Application sockets stay [`super::Socket`]s: what the stack adds is
//! kept here beside them, keyed by socket, and is not kernel state (it is
//! not serializable). A TCP connection over the interface is a socket in
//! `State::Connected { peer: EXT_PEER }` whose smoltcp socket lives here;
//! received data is moved from smoltcp into the socket's receive queue
//! ([`poll`]), so reads, `MSG_PEEK`, `FIONREAD` and readiness work as for
//! loopback connections. UDP sockets bound to any address or to the
//! interface's get a smoltcp UDP socket whose datagrams go to the same
//! queue. A listening socket bound to any address or the interface's has a
//! pool of smoltcp listening sockets (smoltcp has one connection per
//! listening socket, no accept queue): an established one is handed to
//! `accept` and replaced; loopback connections keep going through the
//! listener's own accept queue, so a listener on 0.0.0.0 takes both.
//!
//! The run loop polls the packet socket and calls [`poll`] whenever it
//! wakes (and every `HOST_POLL_INTERVAL` while busy), and sleeps no longer
//! than the stack's next timer ([`deadline`]). Socket calls poll at once
//! after they queue data, so what they send leaves without waiting.
//!
//! What smoltcp lacks and how it is handled: no listen backlog (the pool
//! above, of `min(backlog + 1, POOL)` sockets; more simultaneous handshakes
//! wait for the peer's SYN retransmission); no `SO_REUSEADDR` (port sharing
//! is decided by the sandbox's own port table before smoltcp sees a
//! socket); `TIME_WAIT` is smoltcp's own short one, kept by closed sockets
//! until smoltcp is done with them; no IPv4 fragmentation here (a UDP
//! datagram larger than the MTU is `EMSGSIZE`); no urgent data; no IPv6 on
//! the external interface (IPv6 sockets reach it through v4-mapped
//! addresses). ICMP sockets (`ping` from inside) send and receive echo
//! messages through smoltcp ICMP sockets bound to their identifier (see
//! `net::icmp`); the stack itself answers pings.
//!
//! Checkpoint: the interface configuration ([`IfaceConf`]) is saved with
//! the kernel so that a restore into the same namespace (whose host
//! interface no longer has the address) still knows it. On restore
//! ([`attach`]) listening sockets get new pools and keep listening, bound
//! UDP sockets are bound again, and established external TCP connections
//! are reset: the application's next read fails with `ECONNRESET`, and the
//! peer's next segment is answered with a reset by the new stack, which
//! has no such connection.

use super::host_if::Found;
use super::{Addr, Domain, Kind, Msg, Net, SockId, State};
use crate::errno::Errno;
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use crate::vfs::{poll as vpoll, Vfs};
use serde::{Deserialize, Serialize};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{Checksum, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{icmp, tcp, udp};
use smoltcp::time::{Duration as SDuration, Instant as SInstant};
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpListenEndpoint,
};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd};

/// The peer of a socket connected over the external interface.
pub const EXT_PEER: SockId = 0;

/// Largest pool of listening smoltcp sockets per listener.
const POOL: usize = 8;
/// smoltcp buffer sizes per TCP socket.
const TCP_RX: usize = 256 * 1024;
const TCP_TX: usize = 256 * 1024;
/// UDP buffers per socket.
const UDP_BYTES: usize = 256 * 1024;
const UDP_PACKETS: usize = 128;
/// ICMP buffers per socket.
const ICMP_BYTES: usize = 64 * 1024;
const ICMP_PACKETS: usize = 32;
/// How long a connect waits for the handshake (Linux gives up after
/// about two minutes of SYN retransmissions).
const CONNECT_TIMEOUT: u64 = 120;

/// An interface of the container's network namespace (serialized with the
/// kernel: see the module's notes on checkpoint).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfaceConf {
    pub name: String,
    /// The interface's index in the container's namespace (what
    /// rtnetlink reports); 0 if unknown.
    #[serde(default)]
    pub index: u32,
    pub mac: [u8; 6],
    pub mtu: u32,
    /// Unspecified when the interface has no IPv4 address.
    pub addr: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
}

impl IfaceConf {
    fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = if self.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix.min(32) as u32)
        };
        u32::from(ip) & mask == u32::from(self.addr) & mask
    }
}

/// Traffic counters of the interface (`/proc/net/dev`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_dropped: u64,
}

/// The packet socket as a smoltcp device.
struct Dev {
    fd: OwnedFd,
    mtu: usize,
    buf: Vec<u8>,
    stats: Stats,
}

struct Rx(Vec<u8>);

struct Tx<'a> {
    fd: i32,
    stats: &'a mut Stats,
}

impl smoltcp::phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl smoltcp::phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut b = vec![0u8; len];
        let r = f(&mut b);
        // SAFETY: the buffer is valid for its length.
        let n = unsafe {
            libc::send(
                self.fd,
                b.as_ptr() as *const libc::c_void,
                b.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            // A full device queue drops the frame; TCP sends it again.
            self.stats.tx_dropped += 1;
        } else {
            self.stats.tx_packets += 1;
            self.stats.tx_bytes += len as u64;
        }
        r
    }
}

impl Device for Dev {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _t: SInstant) -> Option<(Rx, Tx<'_>)> {
        loop {
            // SAFETY: zero is a valid sockaddr_ll; recvfrom writes at most
            // the buffer's and the address's sizes.
            let (n, sll) = unsafe {
                let mut sll: libc::sockaddr_ll = std::mem::zeroed();
                let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                let n = libc::recvfrom(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr() as *mut libc::c_void,
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                    &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                    &mut len,
                );
                (n, sll)
            };
            if n <= 0 {
                return None;
            }
            // Frames the host itself sends on the link are not ours.
            if sll.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            let n = n as usize;
            self.stats.rx_packets += 1;
            self.stats.rx_bytes += n as u64;
            let fd = self.fd.as_raw_fd();
            return Some((
                Rx(self.buf[..n].to_vec()),
                Tx {
                    fd,
                    stats: &mut self.stats,
                },
            ));
        }
    }

    fn transmit(&mut self, _t: SInstant) -> Option<Tx<'_>> {
        Some(Tx {
            fd: self.fd.as_raw_fd(),
            stats: &mut self.stats,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut c = DeviceCapabilities::default();
        c.medium = Medium::Ethernet;
        c.max_transmission_unit = self.mtu + 14;
        // Frames from the host side of a veth may carry partial checksums
        // (checksum offload): verify none, compute all.
        c.checksum.ipv4 = Checksum::Tx;
        c.checksum.tcp = Checksum::Tx;
        c.checksum.udp = Checksum::Tx;
        c.checksum.icmpv4 = Checksum::Tx;
        c
    }
}

/// A TCP socket over the interface.
struct Conn {
    /// None once smoltcp closed it.
    h: Option<SocketHandle>,
    established: bool,
    started: std::time::Instant,
    sig: u64,
}

/// The listening smoltcp sockets of one listener.
struct Pool {
    at: IpListenEndpoint,
    handles: Vec<SocketHandle>,
    ready: bool,
}

/// The stack of the external interface.
pub struct Stack {
    pub conf: IfaceConf,
    dev: Dev,
    iface: Interface,
    set: SocketSet<'static>,
    conns: BTreeMap<SockId, Conn>,
    pools: BTreeMap<SockId, Pool>,
    udp: BTreeMap<SockId, SocketHandle>,
    /// ICMP sockets: the echo identifier their smoltcp socket is bound to.
    icmp: BTreeMap<SockId, (u16, SocketHandle)>,
    /// Closed sockets smoltcp still finishes (FIN, TIME_WAIT).
    orphans: Vec<SocketHandle>,
    start: std::time::Instant,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("conf", &self.conf)
            .field("conns", &self.conns.len())
            .field("pools", &self.pools.len())
            .finish()
    }
}

impl Stack {
    fn new(conf: IfaceConf, fd: OwnedFd) -> Stack {
        let mut dev = Dev {
            fd,
            mtu: conf.mtu as usize,
            buf: vec![0; 65536 + 256],
            stats: Stats::default(),
        };
        let start = std::time::Instant::now();
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(conf.mac)));
        let mut seed = [0u8; 8];
        let _ = getrandom(&mut seed);
        cfg.random_seed = u64::from_ne_bytes(seed);
        let mut iface = Interface::new(cfg, &mut dev, SInstant::from_micros(0));
        iface.update_ip_addrs(|a| {
            let _ = a.push(IpCidr::new(IpAddress::Ipv4(conf.addr), conf.prefix));
        });
        if let Some(gw) = conf.gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        Stack {
            conf,
            dev,
            iface,
            set: SocketSet::new(Vec::new()),
            conns: BTreeMap::new(),
            pools: BTreeMap::new(),
            udp: BTreeMap::new(),
            icmp: BTreeMap::new(),
            orphans: Vec::new(),
            start,
        }
    }

    fn now(&self) -> SInstant {
        SInstant::from_micros(self.start.elapsed().as_micros() as i64)
    }

    fn tcp(&mut self, h: SocketHandle) -> &mut tcp::Socket<'static> {
        self.set.get_mut::<tcp::Socket>(h)
    }

    fn new_tcp(&mut self) -> tcp::Socket<'static> {
        tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; TCP_RX]),
            tcp::SocketBuffer::new(vec![0; TCP_TX]),
        )
    }

    /// A new listening smoltcp socket at `at`.
    fn listener(&mut self, at: IpListenEndpoint) -> Option<SocketHandle> {
        let mut t = self.new_tcp();
        t.listen(at).ok()?;
        Some(self.set.add(t))
    }

    fn run(&mut self) {
        let now = self.now();
        self.iface.poll(now, &mut self.dev, &mut self.set);
    }

    /// Traffic counters.
    pub fn stats(&self) -> Stats {
        self.dev.stats
    }
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    // SAFETY: the buffer is valid for its length.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

// ---- Setting up ---------------------------------------------------------------

/// Gives the kernel the interfaces `found` in its network namespace (see
/// `host_if::take_in`; the control socket's `Network` request brings
/// them, or none come: an empty `found`); the first with an IPv4 address (its own, or the one
/// saved in a checkpoint for an interface of that name) is served by the
/// stack. Then, after a restore, the sockets the stack served are brought
/// back: listeners and UDP sockets are served again, established
/// connections are reset.
pub fn attach(k: &mut Kernel, found: Vec<Found>) {
    let saved = std::mem::take(&mut k.vfs.net.ifaces);
    let mut confs = Vec::new();
    let mut chosen = None;
    for f in found {
        let mut c = f.conf;
        if !f.has_addr {
            if let Some(s) = saved.iter().find(|s| s.name == c.name) {
                c.addr = s.addr;
                c.prefix = s.prefix;
                c.gateway = s.gateway;
            }
        }
        if !c.addr.is_unspecified() && chosen.is_none() {
            chosen = Some((c.clone(), f.fd));
        }
        confs.push(c);
    }
    if confs.is_empty() {
        confs = saved;
    }
    k.vfs.net.ifaces = confs;
    if let Some((c, fd)) = chosen {
        tracing::debug!(
            "serving {} ({}/{}) in the sandbox",
            c.name,
            c.addr,
            c.prefix
        );
        k.vfs.net.ext = Some(Box::new(Stack::new(c, fd)));
    }
    let ids: Vec<SockId> = k.vfs.net.socks.keys().copied().collect();
    for s in ids {
        let Some(x) = k.vfs.net.get_mut(s) else {
            continue;
        };
        if !x.is_inet() || x.host {
            continue;
        }
        let (listening, dgram) = (x.listening(), x.kind == Kind::Dgram);
        match x.state {
            State::Connected { peer: EXT_PEER } => {
                x.reset = true;
                x.rcv_shut = true;
                x.snd_shut = true;
                x.gen += 1;
                let q = x.queue;
                k.notify(q);
            }
            _ if listening => listen(k, s),
            _ if dgram => bound(k, s),
            _ => {}
        }
    }
}

/// The host descriptor the run loop waits on.
pub fn fd(net: &Net) -> Option<i32> {
    net.ext.as_ref().map(|s| s.dev.fd.as_raw_fd())
}

fn ext_ip(net: &Net) -> Option<Ipv4Addr> {
    net.ext.as_ref().map(|s| s.conf.addr)
}

fn as_v4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(a) => Some(a),
        IpAddr::V6(a) => a.to_ipv4_mapped(),
    }
}

/// True if `ip` is the external interface's address.
pub fn is_ext_addr(net: &Net, ip: IpAddr) -> bool {
    ext_ip(net).is_some_and(|e| as_v4(ip) == Some(e))
}

/// True if a socket bound to `ip` is reached through the interface.
fn serves(net: &Net, ip: IpAddr) -> bool {
    net.ext.is_some() && (super::is_local(ip) && !super::is_loopback(ip) || is_ext_addr(net, ip))
}

/// True if the stack has a route to `ip`.
pub fn routable(net: &Net, ip: IpAddr) -> bool {
    let Some(st) = &net.ext else {
        return false;
    };
    let Some(v4) = as_v4(ip) else {
        return false;
    };
    !v4.is_loopback()
        && !v4.is_unspecified()
        && (st.conf.contains(v4) || st.conf.gateway.is_some() || v4 == st.conf.addr)
}

/// `addr` as a socket of `domain` shows it.
fn shown(domain: Domain, addr: SocketAddr) -> SocketAddr {
    match (domain, addr) {
        (Domain::Inet6, SocketAddr::V4(a)) => {
            SocketAddr::new(IpAddr::V6(a.ip().to_ipv6_mapped()), a.port())
        }
        _ => addr,
    }
}

fn to_std(e: IpEndpoint) -> SocketAddr {
    let ip = match e.addr {
        IpAddress::Ipv4(a) => IpAddr::V4(a),
        IpAddress::Ipv6(a) => IpAddr::V6(a),
    };
    SocketAddr::new(ip, e.port)
}

fn local_ip(x: &super::Socket) -> Option<SocketAddr> {
    match &x.local {
        Some(Addr::Inet(a)) => Some(*a),
        _ => None,
    }
}

// ---- Listening and accepting ----------------------------------------------------

/// A listener `s` bound to any address or the interface's gets its pool.
pub fn listen(k: &mut Kernel, s: SockId) {
    let net = &mut k.vfs.net;
    let Some(x) = net.socks.get(&s) else {
        return;
    };
    let (Some(local), State::Listening { backlog, .. }) = (local_ip(x), &x.state) else {
        return;
    };
    if x.kind != Kind::Stream || !serves(net, local.ip()) {
        return;
    }
    let size = (*backlog as usize + 1).clamp(1, POOL);
    let addr = as_v4(local.ip()).filter(|a| !a.is_unspecified());
    let Some(st) = net.ext.as_mut() else {
        return;
    };
    if st.pools.contains_key(&s) {
        return;
    }
    let at = IpListenEndpoint {
        addr: addr.map(IpAddress::Ipv4),
        port: local.port(),
    };
    let handles = (0..size).filter_map(|_| st.listener(at)).collect();
    st.pools.insert(
        s,
        Pool {
            at,
            handles,
            ready: false,
        },
    );
}

fn established(t: &tcp::Socket) -> bool {
    !matches!(
        t.state(),
        tcp::State::Closed | tcp::State::Listen | tcp::State::SynSent | tcp::State::SynReceived
    )
}

/// True if listener `s` has an external connection to accept.
pub fn pool_ready(net: &Net, s: SockId) -> bool {
    let Some(st) = &net.ext else {
        return false;
    };
    st.pools.get(&s).is_some_and(|p| {
        p.handles
            .iter()
            .any(|&h| established(st.set.get::<tcp::Socket>(h)))
    })
}

/// Takes an established external connection of listener `s`, as a new
/// socket (without an open file yet).
pub fn accept(k: &mut Kernel, s: SockId) -> Option<SockId> {
    let (domain, owner) = {
        let x = k.vfs.net.get(s)?;
        (x.domain, x.owner)
    };
    let st = k.vfs.net.ext.as_mut()?;
    let pool = st.pools.get_mut(&s)?;
    let i = pool
        .handles
        .iter()
        .position(|&h| established(st.set.get::<tcp::Socket>(h)))?;
    let h = pool.handles.remove(i);
    let at = pool.at;
    if let Some(n) = st.listener(at) {
        if let Some(p) = st.pools.get_mut(&s) {
            p.handles.push(n);
        }
    }
    let t = st.tcp(h);
    let (local, remote) = (t.local_endpoint()?, t.remote_endpoint()?);
    let q = k.new_id();
    let c = k.vfs.net.create(domain, Kind::Stream, 0, q, owner);
    let x = k.vfs.net.get_mut(c)?;
    x.local = Some(Addr::Inet(shown(domain, to_std(local))));
    x.remote = Some(Addr::Inet(shown(domain, to_std(remote))));
    x.state = State::Connected { peer: EXT_PEER };
    let st = k.vfs.net.ext.as_mut()?;
    st.conns.insert(
        c,
        Conn {
            h: Some(h),
            established: true,
            started: std::time::Instant::now(),
            sig: 0,
        },
    );
    sync_conn(k, c);
    Some(c)
}

// ---- Connecting -------------------------------------------------------------------

/// True if socket `s` has (or had) a TCP connection over the interface.
pub fn has_conn(net: &Net, s: SockId) -> bool {
    net.ext.as_ref().is_some_and(|st| st.conns.contains_key(&s))
}

fn sock_mut(k: &mut Kernel, s: SockId) -> Result<&mut super::Socket, Errno> {
    k.vfs.net.get_mut(s).ok_or(Errno::EBADF)
}

fn timeout(k: &mut Kernel, tid: Tid, ns: u64) -> Result<Option<u64>, Errno> {
    if ns == 0 {
        return Ok(None);
    }
    let d = k.syscall_deadline(tid, ns);
    if k.deadline_passed(tid) {
        return Err(Errno::EAGAIN);
    }
    Ok(Some(d))
}

/// Gives socket `s` the interface's address for reaching `to` (binding an
/// ephemeral port if it has none).
fn bind_for(k: &mut Kernel, s: SockId) -> Result<SocketAddr, Errno> {
    let ext = ext_ip(&k.vfs.net).ok_or(Errno::ENETUNREACH)?;
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    let domain = x.domain;
    let me = shown(domain, SocketAddr::new(IpAddr::V4(ext), 0));
    match local_ip(x) {
        None => {
            k.vfs.net.bind_inet(s, me)?;
        }
        Some(l) if l.ip().is_unspecified() || as_v4(l.ip()).is_some_and(|a| a.is_unspecified()) => {
            let x = sock_mut(k, s)?;
            x.local = Some(Addr::Inet(SocketAddr::new(me.ip(), l.port())));
        }
        Some(l) if is_ext_addr(&k.vfs.net, l.ip()) => {}
        Some(_) => return Err(Errno::ENETUNREACH),
    }
    local_ip(k.vfs.net.get(s).ok_or(Errno::EBADF)?).ok_or(Errno::EINVAL)
}

/// `connect` of a TCP socket to `to` over the interface (and every call
/// again until its outcome is known).
pub fn connect(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    to: SocketAddr,
    nonblock: bool,
) -> Result<(), SysErr> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    let (q, sndtimeo) = (x.queue, x.opts.sndtimeo);
    let st = k.vfs.net.ext.as_mut().ok_or(Errno::ENETUNREACH)?;
    if let Some(c) = st.conns.get(&s) {
        let est = c.established;
        let x = sock_mut(k, s)?;
        if est {
            if x.connecting {
                x.connecting = false;
                return Ok(());
            }
            return Err(Errno::EISCONN.into());
        }
        if x.error != 0 {
            let e = std::mem::take(&mut x.error);
            x.connecting = false;
            if let Some(st) = k.vfs.net.ext.as_mut() {
                st.conns.remove(&s);
            }
            return Err(Errno::from_raw(e).unwrap_or(Errno::ECONNREFUSED).into());
        }
        if nonblock {
            return Err(Errno::EALREADY.into());
        }
        let d = timeout(k, tid, sndtimeo)?;
        return Err(SysErr::Block(Block::on(vec![q]).with_deadline(d)));
    }
    if to.port() == 0 {
        return Err(Errno::ECONNREFUSED.into());
    }
    let remote = as_v4(to.ip()).ok_or(Errno::ENETUNREACH)?;
    let local = bind_for(k, s)?;
    let nodelay = k.vfs.net.get(s).is_some_and(|x| x.opts.nodelay);
    let st = k.vfs.net.ext.as_mut().ok_or(Errno::ENETUNREACH)?;
    let mut t = st.new_tcp();
    t.set_nagle_enabled(!nodelay);
    t.set_timeout(Some(SDuration::from_secs(CONNECT_TIMEOUT)));
    let local_ep = IpListenEndpoint {
        addr: Some(IpAddress::Ipv4(as_v4(local.ip()).ok_or(Errno::EINVAL)?)),
        port: local.port(),
    };
    let remote_ep = IpEndpoint::new(IpAddress::Ipv4(remote), to.port());
    if t.connect(st.iface.context(), remote_ep, local_ep).is_err() {
        return Err(Errno::ENETUNREACH.into());
    }
    let h = st.set.add(t);
    st.conns.insert(
        s,
        Conn {
            h: Some(h),
            established: false,
            started: std::time::Instant::now(),
            sig: 0,
        },
    );
    let x = sock_mut(k, s)?;
    x.remote = Some(Addr::Inet(to));
    x.connecting = true;
    poll(k);
    if nonblock {
        return Err(Errno::EINPROGRESS.into());
    }
    // Connected already (the peer answered at once) or wait.
    connect(k, tid, s, to, false)
}

// ---- Data --------------------------------------------------------------------------

/// Sends on a TCP connection over the interface. A blocking send that
/// queued part of the data keeps its progress in the task.
pub fn send(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    data: &[u8],
    flags: i32,
    nonblock: bool,
) -> Result<usize, SysErr> {
    let x = k.vfs.net.get(s).ok_or(Errno::EBADF)?;
    if x.error != 0 {
        let e = std::mem::take(&mut sock_mut(k, s)?.error);
        return Err(Errno::from_raw(e).unwrap_or(Errno::EIO).into());
    }
    if x.reset && x.rx.is_empty() {
        sock_mut(k, s)?.reset = false;
        return Err(Errno::ECONNRESET.into());
    }
    if x.snd_shut {
        return Err(super::io::epipe(k, tid, flags));
    }
    let (q, timeo, nodelay, keepalive, idle) = (
        x.queue,
        x.opts.sndtimeo,
        x.opts.nodelay,
        x.opts.keepalive,
        x.opts.keepidle,
    );
    let mut done = crate::vfs::file::progress(k, tid);
    let st = k.vfs.net.ext.as_mut().ok_or(Errno::EPIPE)?;
    let Some(h) = st.conns.get(&s).and_then(|c| c.h) else {
        return Err(super::io::epipe(k, tid, flags));
    };
    let mut t = st.tcp(h);
    if !established(t) {
        return Err(if t.state() == tcp::State::SynSent {
            Errno::EAGAIN
        } else {
            Errno::ENOTCONN
        }
        .into());
    }
    t.set_nagle_enabled(!nodelay);
    t.set_keep_alive(keepalive.then(|| SDuration::from_secs(idle.max(1) as u64)));
    if !t.may_send() {
        return Err(super::io::epipe(k, tid, flags));
    }
    // Queue what fits, let it out, and go on while the stack takes more
    // (what it received meanwhile may have freed room): block only when
    // it takes no more, so that the next acknowledgement wakes us.
    loop {
        let rest = &data[done.min(data.len())..];
        let n = t.send_slice(rest).unwrap_or(0);
        done += n;
        poll(k);
        if done >= data.len() {
            break;
        }
        let st = k.vfs.net.ext.as_mut().ok_or(Errno::EPIPE)?;
        let Some(h) = st.conns.get(&s).and_then(|c| c.h) else {
            break;
        };
        t = st.tcp(h);
        if !t.can_send() {
            break;
        }
    }
    if done >= data.len() || (nonblock || flags & libc::MSG_DONTWAIT != 0) && done > 0 {
        return Ok(done);
    }
    if nonblock || flags & libc::MSG_DONTWAIT != 0 {
        return Err(Errno::EAGAIN.into());
    }
    let d = match timeout(k, tid, timeo) {
        Ok(d) => d,
        Err(e) => return if done > 0 { Ok(done) } else { Err(e.into()) },
    };
    let b = Block::on(vec![q]).with_deadline(d);
    if done > 0 {
        // A signal ends the call with what went out (see `write_block`).
        crate::vfs::file::set_progress(k, tid, done);
    }
    Err(SysErr::Block(b))
}

/// Moves received data of connection `s` from smoltcp into the socket's
/// receive queue while it has room; returns true if some moved.
fn pump(net: &mut Net, s: SockId) -> bool {
    let Some(st) = net.ext.as_mut() else {
        return false;
    };
    let Some(h) = st.conns.get(&s).and_then(|c| c.h) else {
        return false;
    };
    let Some(x) = net.socks.get_mut(&s) else {
        return false;
    };
    let t = st.set.get_mut::<tcp::Socket>(h);
    let from = x.remote.clone().unwrap_or(Addr::Unnamed);
    let mut moved = false;
    while t.can_recv() && x.rx_len < x.capacity() {
        let room = x.capacity() - x.rx_len;
        let Ok(data) = t.recv(|b| {
            let n = b.len().min(room);
            (n, b[..n].to_vec())
        }) else {
            break;
        };
        if data.is_empty() {
            break;
        }
        x.push(Msg {
            data,
            pos: 0,
            from: from.clone(),
            files: Vec::new(),
            cred: super::Cred::default(),
            ip: None,
        });
        moved = true;
    }
    moved
}

/// The application read from connection `s`: refill its queue from
/// smoltcp and open the window.
pub fn after_read(k: &mut Kernel, s: SockId) {
    if has_conn(&k.vfs.net, s) && pump(&mut k.vfs.net, s) {
        poll(k);
    }
}

/// Brings socket `s` up to date with its smoltcp socket, waking its
/// waiters if its readiness changed.
fn sync_conn(k: &mut Kernel, s: SockId) {
    pump(&mut k.vfs.net, s);
    let net = &mut k.vfs.net;
    let Some(st) = net.ext.as_mut() else {
        return;
    };
    let Some(c) = st.conns.get_mut(&s) else {
        return;
    };
    let Some(x) = net.socks.get_mut(&s) else {
        return;
    };
    if let Some(h) = c.h {
        let t = st.set.get_mut::<tcp::Socket>(h);
        let state = t.state();
        if established(t) && !c.established {
            c.established = true;
            x.state = State::Connected { peer: EXT_PEER };
            t.set_timeout(None);
        }
        if c.established && !t.may_recv() && !t.can_recv() && state != tcp::State::Closed {
            // The peer's FIN.
            x.rcv_shut = true;
        }
        if state == tcp::State::Closed {
            if !c.established {
                let waited = c.started.elapsed().as_secs() + 1 >= CONNECT_TIMEOUT;
                x.error = if waited {
                    libc::ETIMEDOUT
                } else {
                    libc::ECONNREFUSED
                };
            } else if !x.rcv_shut {
                x.reset = true;
            }
            x.rcv_shut = true;
            x.snd_shut = true;
            st.set.remove(h);
            c.h = None;
        }
    }
    let can_send = c.h.is_some_and(|h| st.set.get::<tcp::Socket>(h).can_send());
    let sig = (x.rx_len as u64)
        ^ ((can_send as u64) << 40)
        ^ ((x.rcv_shut as u64) << 41)
        ^ ((x.snd_shut as u64) << 42)
        ^ ((x.reset as u64) << 43)
        ^ ((c.established as u64) << 44)
        ^ ((x.error as u64) << 48);
    if sig != c.sig {
        c.sig = sig;
        x.gen += 1;
        let q = x.queue;
        k.notify(q);
    }
}

/// Readiness of connection `s`, if it is one.
pub fn ready(net: &Net, s: SockId) -> Option<(u32, Vec<u64>, u64)> {
    let st = net.ext.as_ref()?;
    let c = st.conns.get(&s)?;
    let x = net.get(s)?;
    let mut m = 0;
    if x.error != 0 {
        m |= vpoll::ERR;
    }
    if !c.established {
        if c.h.is_none() {
            m |= vpoll::OUT | vpoll::WRNORM | vpoll::HUP;
        }
        return Some((m, vec![x.queue], x.gen));
    }
    if !x.rx.is_empty() {
        m |= vpoll::IN | vpoll::RDNORM;
    }
    if x.rcv_shut {
        m |= vpoll::IN | vpoll::RDNORM | vpoll::RDHUP;
    }
    if x.rcv_shut && x.snd_shut {
        m |= vpoll::HUP;
    }
    let can_send = c.h.is_some_and(|h| st.set.get::<tcp::Socket>(h).can_send());
    if can_send || x.snd_shut || c.h.is_none() {
        m |= vpoll::OUT | vpoll::WRNORM;
    }
    Some((m, vec![x.queue], x.gen))
}

/// `shutdown` of a connection over the interface: a write shutdown sends
/// FIN.
pub fn shutdown(net: &mut Net, s: SockId, wr: bool) {
    if !wr {
        return;
    }
    let Some(st) = net.ext.as_mut() else {
        return;
    };
    if let Some(h) = st.conns.get(&s).and_then(|c| c.h) {
        st.tcp(h).close();
        st.run();
    }
}

// ---- UDP ----------------------------------------------------------------------------

/// A UDP socket `s` bound to any address or the interface's gets a
/// smoltcp socket on its port.
pub fn bound(k: &mut Kernel, s: SockId) {
    let net = &mut k.vfs.net;
    let Some(x) = net.socks.get(&s) else {
        return;
    };
    let Some(local) = local_ip(x) else {
        return;
    };
    if x.kind != Kind::Dgram || super::icmp::is_icmp(x) || !serves(net, local.ip()) {
        return;
    }
    let addr = as_v4(local.ip()).filter(|a| !a.is_unspecified());
    let Some(st) = net.ext.as_mut() else {
        return;
    };
    if st.udp.contains_key(&s) {
        return;
    }
    let mut u = udp::Socket::new(
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_BYTES],
        ),
        udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; UDP_PACKETS],
            vec![0; UDP_BYTES],
        ),
    );
    let at = IpListenEndpoint {
        addr: addr.map(IpAddress::Ipv4),
        port: local.port(),
    };
    if u.bind(at).is_ok() {
        let h = st.set.add(u);
        st.udp.insert(s, h);
    }
}

/// Sends a UDP datagram from socket `s` to `to` over the interface.
pub fn send_udp(k: &mut Kernel, s: SockId, to: SocketAddr, data: &[u8]) -> Result<usize, SysErr> {
    let remote = as_v4(to.ip()).ok_or(Errno::ENETUNREACH)?;
    let mtu = k.vfs.net.ext.as_ref().map_or(0, |st| st.conf.mtu as usize);
    if data.len() + 28 > mtu {
        return Err(Errno::EMSGSIZE.into());
    }
    if local_ip(k.vfs.net.get(s).ok_or(Errno::EBADF)?).is_none() {
        let any = shown(
            k.vfs.net.get(s).ok_or(Errno::EBADF)?.domain,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        );
        k.vfs.net.bind_inet(s, any)?;
    }
    let local = local_ip(k.vfs.net.get(s).ok_or(Errno::EBADF)?).ok_or(Errno::EINVAL)?;
    if super::is_loopback(local.ip()) {
        return Err(Errno::ENETUNREACH.into());
    }
    bound(k, s);
    let st = k.vfs.net.ext.as_mut().ok_or(Errno::ENETUNREACH)?;
    let h = *st.udp.get(&s).ok_or(Errno::ENETUNREACH)?;
    let meta = udp::UdpMetadata::from(IpEndpoint::new(IpAddress::Ipv4(remote), to.port()));
    let mut r = st.set.get_mut::<udp::Socket>(h).send_slice(data, meta);
    if r.is_err() {
        // Full: let what is queued go out first.
        st.run();
        r = st.set.get_mut::<udp::Socket>(h).send_slice(data, meta);
    }
    match r {
        Ok(()) => {
            poll(k);
            Ok(data.len())
        }
        Err(udp::SendError::BufferFull) => Err(Errno::ENOBUFS.into()),
        Err(udp::SendError::Unaddressable) => Err(Errno::ENETUNREACH.into()),
    }
}

/// Moves received datagrams of UDP socket `s` into its receive queue.
fn pump_udp(k: &mut Kernel, s: SockId, h: SocketHandle) {
    let net = &mut k.vfs.net;
    let Some(st) = net.ext.as_mut() else {
        return;
    };
    let Some(x) = net.socks.get_mut(&s) else {
        return;
    };
    let u = st.set.get_mut::<udp::Socket>(h);
    let mut got = false;
    while let Ok((data, meta)) = u.recv() {
        let from = shown(x.domain, to_std(meta.endpoint));
        // A connected socket takes datagrams from its peer only.
        if let Some(Addr::Inet(r)) = &x.remote {
            if as_v4(r.ip()) != as_v4(from.ip()) || r.port() != from.port() {
                continue;
            }
        }
        if x.rcv_shut || !x.has_room(data.len()) {
            continue;
        }
        x.push(Msg {
            data: data.to_vec(),
            pos: 0,
            from: Addr::Inet(from),
            files: Vec::new(),
            cred: super::Cred::default(),
            ip: None,
        });
        got = true;
    }
    if got {
        let q = x.queue;
        k.notify(q);
    }
}

// ---- ICMP ------------------------------------------------------------------------------

/// Sends ICMP echo message `m` (identifier `ident`) from socket `s` to `to`
/// over the interface; the replies with that identifier come back to `s`.
pub fn send_icmp(
    k: &mut Kernel,
    s: SockId,
    ident: u16,
    to: Ipv4Addr,
    m: &[u8],
) -> Result<(), SysErr> {
    let st = k.vfs.net.ext.as_mut().ok_or(Errno::ENETUNREACH)?;
    if m.len() + 20 > st.conf.mtu as usize {
        return Err(Errno::EMSGSIZE.into());
    }
    let h = match st.icmp.get(&s) {
        Some(&(id, h)) if id == ident => h,
        old => {
            if let Some(&(_, h)) = old {
                st.set.remove(h);
            }
            let mut sock = icmp::Socket::new(
                icmp::PacketBuffer::new(
                    vec![icmp::PacketMetadata::EMPTY; ICMP_PACKETS],
                    vec![0; ICMP_BYTES],
                ),
                icmp::PacketBuffer::new(
                    vec![icmp::PacketMetadata::EMPTY; ICMP_PACKETS],
                    vec![0; ICMP_BYTES],
                ),
            );
            sock.bind(icmp::Endpoint::Ident(ident))
                .map_err(|_| Errno::EINVAL)?;
            let h = st.set.add(sock);
            st.icmp.insert(s, (ident, h));
            h
        }
    };
    let dst = IpAddress::Ipv4(to);
    let mut r = st.set.get_mut::<icmp::Socket>(h).send_slice(m, dst);
    if r.is_err() {
        st.run();
        r = st.set.get_mut::<icmp::Socket>(h).send_slice(m, dst);
    }
    match r {
        Ok(()) => {
            poll(k);
            Ok(())
        }
        Err(icmp::SendError::BufferFull) => Err(Errno::ENOBUFS.into()),
        Err(icmp::SendError::Unaddressable) => Err(Errno::ENETUNREACH.into()),
    }
}

/// Moves the ICMP messages smoltcp received for socket `s` into its
/// receive queue (a raw socket's with their IP header).
fn pump_icmp(k: &mut Kernel, s: SockId, h: SocketHandle) {
    let Some(st) = k.vfs.net.ext.as_mut() else {
        return;
    };
    let me = st.conf.addr;
    let sock = st.set.get_mut::<icmp::Socket>(h);
    let mut got = Vec::new();
    while let Ok((data, from)) = sock.recv() {
        let IpAddress::Ipv4(from) = from else {
            continue;
        };
        got.push((from, data.to_vec()));
    }
    let raw = k.vfs.net.get(s).is_some_and(|x| x.kind == Kind::Raw);
    for (from, m) in got {
        let data = if raw {
            let mut d = super::icmp::ip_header(from, me, m.len()).to_vec();
            d.extend_from_slice(&m);
            d
        } else {
            m
        };
        super::icmp::queue(k, s, from, me, data);
    }
}

// ---- Closing -----------------------------------------------------------------------

/// Socket `s` is gone: its connection closes (with a reset if data was
/// left unread, as Linux does), its listening sockets and UDP socket go.
pub fn close(v: &mut Vfs, s: SockId, unread: bool) {
    let Some(st) = v.net.ext.as_mut() else {
        return;
    };
    if let Some(c) = st.conns.remove(&s) {
        if let Some(h) = c.h {
            let t = st.tcp(h);
            if unread || t.recv_queue() > 0 {
                t.abort();
            } else {
                t.close();
            }
            st.orphans.push(h);
        }
    }
    if let Some(p) = st.pools.remove(&s) {
        for h in p.handles {
            st.tcp(h).abort();
            st.orphans.push(h);
        }
    }
    if let Some(h) = st.udp.remove(&s) {
        st.set.remove(h);
    }
    if let Some((_, h)) = st.icmp.remove(&s) {
        st.set.remove(h);
    }
    st.run();
}

// ---- The loop ------------------------------------------------------------------------

/// Processes what arrived and what is due, and brings every socket the
/// stack serves up to date.
pub fn poll(k: &mut Kernel) {
    let Some(st) = k.vfs.net.ext.as_mut() else {
        return;
    };
    st.run();
    let conns: Vec<SockId> = st.conns.keys().copied().collect();
    let udps: Vec<(SockId, SocketHandle)> = st.udp.iter().map(|(&s, &h)| (s, h)).collect();
    let icmps: Vec<(SockId, SocketHandle)> = st.icmp.iter().map(|(&s, &(_, h))| (s, h)).collect();
    let pools: Vec<SockId> = st.pools.keys().copied().collect();
    // Orphans smoltcp is done with.
    let set = &mut st.set;
    st.orphans.retain(|&h| {
        if set.get::<tcp::Socket>(h).state() == tcp::State::Closed {
            set.remove(h);
            false
        } else {
            true
        }
    });
    for s in conns {
        sync_conn(k, s);
    }
    for (s, h) in udps {
        pump_udp(k, s, h);
    }
    for (s, h) in icmps {
        pump_icmp(k, s, h);
    }
    for s in pools {
        let r = pool_ready(&k.vfs.net, s);
        let Some(st) = k.vfs.net.ext.as_mut() else {
            return;
        };
        let Some(p) = st.pools.get_mut(&s) else {
            continue;
        };
        // Listening sockets that went back to Closed (a reset handshake).
        let at = p.at;
        let dead: Vec<usize> = p
            .handles
            .iter()
            .enumerate()
            .filter(|(_, &h)| st.set.get::<tcp::Socket>(h).state() == tcp::State::Closed)
            .map(|(i, _)| i)
            .collect();
        for i in dead.into_iter().rev() {
            let h = st.pools.get_mut(&s).map(|p| p.handles.remove(i));
            if let Some(h) = h {
                st.set.remove(h);
            }
            if let Some(n) = st.listener(at) {
                if let Some(p) = st.pools.get_mut(&s) {
                    p.handles.push(n);
                }
            }
        }
        let Some(p) = st.pools.get_mut(&s) else {
            continue;
        };
        if r != p.ready {
            p.ready = r;
            if let Some(x) = k.vfs.net.get_mut(s) {
                x.gen += 1;
                let q = x.queue;
                k.notify(q);
            }
        }
    }
    // Reading moved data out of smoltcp: window updates go out now.
    if let Some(st) = k.vfs.net.ext.as_mut() {
        let now = st.now();
        st.iface.poll_egress(now, &mut st.dev, &mut st.set);
    }
}

/// When the stack next needs [`poll`], as a monotonic deadline of the
/// kernel's clock.
pub fn deadline(k: &mut Kernel) -> Option<u64> {
    let st = k.vfs.net.ext.as_mut()?;
    let now = st.now();
    let d = st.iface.poll_delay(now, &st.set)?;
    Some(k.clock.monotonic() + d.total_micros() * 1000)
}

// ---- /proc -----------------------------------------------------------------------------

/// The `/proc/net/dev` line of the interface.
pub fn proc_dev_line(net: &Net) -> Option<String> {
    let st = net.ext.as_ref()?;
    let s = st.stats();
    Some(format!(
        "{:>6}: {:8} {:7}    0    0    0     0          0         0 {:8} {:7}    0 {:4}    0     0       0          0\n",
        st.conf.name, s.rx_bytes, s.rx_packets, s.tx_bytes, s.tx_packets, s.tx_dropped
    ))
}

/// `/proc/net/route`.
pub fn proc_route(net: &Net) -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT \n",
    );
    let hex = |a: Ipv4Addr| format!("{:08X}", u32::from_le_bytes(a.octets()));
    for c in &net.ifaces {
        if c.addr.is_unspecified() {
            continue;
        }
        let mask = if c.prefix == 0 {
            0
        } else {
            u32::MAX << (32 - c.prefix.min(32) as u32)
        };
        let mask = Ipv4Addr::from(mask);
        if let Some(gw) = c.gateway {
            let _ = writeln!(
                s,
                "{}\t00000000\t{}\t0003\t0\t0\t0\t00000000\t0\t0\t0",
                c.name,
                hex(gw)
            );
        }
        let net_addr = Ipv4Addr::from(u32::from(c.addr) & u32::from(mask));
        let _ = writeln!(
            s,
            "{}\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0",
            c.name,
            hex(net_addr),
            hex(mask)
        );
    }
    s
}
