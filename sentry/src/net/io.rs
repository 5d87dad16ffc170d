//! What sockets do: naming (`bind`, `listen`), connecting and accepting,
//! sending and receiving, shutting down, and readiness. The system call
//! layer (`syscalls::socket`) decodes addresses and messages and calls
//! these.

use super::{
    is_loopback, source_for, Addr, Cred, Domain, IpMeta, Kind, Msg, Proto, SockId, Socket, State,
};
use crate::errno::Errno;
use crate::kernel::signal::{SigInfo, SIGPIPE, SI_USER};
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use crate::vfs::file::{self, FileKind, OpenFile};
use crate::vfs::node::{AnonNode, Loc, Node};
use crate::vfs::perm;
use crate::vfs::poll;
use crate::vfs::FileId;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The credentials of `tid` as messages and `SO_PEERCRED` carry them.
pub fn cred_of(k: &Kernel, tid: Tid) -> Cred {
    let c = &k.task(tid).creds;
    Cred {
        pid: k.tgid(tid),
        uid: c.uid,
        gid: c.gid,
    }
}

/// Credentials for `SO_PEERCRED` (effective IDs).
fn peer_cred_of(k: &Kernel, tid: Tid) -> Cred {
    let c = &k.task(tid).creds;
    Cred {
        pid: k.tgid(tid),
        uid: c.euid,
        gid: c.egid,
    }
}

/// Makes a socket and an open file for it (one reference).
pub fn new_socket(
    k: &mut Kernel,
    tid: Tid,
    domain: Domain,
    kind: Kind,
    protocol: i32,
    nonblock: bool,
) -> (SockId, FileId) {
    let q = k.new_id();
    let owner = peer_cred_of(k, tid);
    let s = k.vfs.net.create(domain, kind, protocol, q, owner);
    let f = open_file(k, s, nonblock);
    (s, f)
}

/// An open file for socket `s`.
fn open_file(k: &mut Kernel, s: SockId, nonblock: bool) -> FileId {
    let ino = k.new_id();
    let flags = libc::O_RDWR | if nonblock { libc::O_NONBLOCK } else { 0 };
    let f = k.vfs.add_file(OpenFile::new(
        Loc {
            mount: k.vfs.mounts.anon,
            node: Node::Anon(AnonNode::File(0)),
        },
        FileKind::Socket(s),
        flags,
        format!("socket:[{ino}]").into_bytes(),
    ));
    if let Some(of) = k.vfs.files.get_mut(&f) {
        of.loc.node = Node::Anon(AnonNode::File(f));
    }
    if let Some(sock) = k.vfs.net.get_mut(s) {
        sock.file = Some(f);
        sock.ino = ino;
    }
    f
}

fn sock(k: &Kernel, s: SockId) -> Result<&super::Socket, Errno> {
    k.vfs.net.get(s).ok_or(Errno::EBADF)
}

fn sock_mut(k: &mut Kernel, s: SockId) -> Result<&mut super::Socket, Errno> {
    k.vfs.net.get_mut(s).ok_or(Errno::EBADF)
}

/// Marks a change of socket `s` and wakes its waiters.
fn touch(k: &mut Kernel, s: SockId) {
    if let Some(x) = k.vfs.net.get_mut(s) {
        x.gen += 1;
        let q = x.queue;
        k.notify(q);
    }
}

// ---- Names -------------------------------------------------------------------

/// The (device, inode) of the socket node at `path`, for `connect` and
/// `sendto`: it must be a socket the caller may write to.
fn unix_node(k: &mut Kernel, tid: Tid, path: &[u8]) -> Result<(u64, u64), Errno> {
    let loc = crate::vfs::ops::lookup_at(k, tid, libc::AT_FDCWD, path, 0)?;
    let st = crate::vfs::path::stat(k, loc)?;
    if st.mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(Errno::ECONNREFUSED);
    }
    let creds = k.task(tid).creds.clone();
    perm::check(&creds, st.mode, st.uid, st.gid, perm::MAY_WRITE)?;
    Ok((st.dev, st.ino))
}

/// The unix socket of type `kind` named `addr`. A socket of another type
/// is `EPROTOTYPE` by path and unseen (`ECONNREFUSED`) by abstract name,
/// as in Linux.
fn find_unix(k: &mut Kernel, tid: Tid, addr: &Addr, kind: Kind) -> Result<SockId, Errno> {
    let (found, mismatch) = match addr {
        Addr::Path(p) => {
            let key = unix_node(k, tid, p)?;
            (k.vfs.net.unix_paths.get(&key).copied(), Errno::EPROTOTYPE)
        }
        Addr::Abstract(n) => (k.vfs.net.unix_abstract.get(n).copied(), Errno::ECONNREFUSED),
        _ => return Err(Errno::EINVAL),
    };
    let s = found.ok_or(Errno::ECONNREFUSED)?;
    if sock(k, s)?.kind != kind {
        return Err(mismatch);
    }
    Ok(s)
}

/// `bind`.
pub fn bind(k: &mut Kernel, tid: Tid, s: SockId, addr: Addr) -> Result<(), Errno> {
    let x = sock(k, s)?;
    match (x.domain, addr) {
        (Domain::Netlink, Addr::Netlink { pid, groups }) => {
            super::netlink::bind(k, tid, s, pid, groups as u32)
        }
        (Domain::Netlink, _) => Err(Errno::EINVAL),
        (Domain::Unix, addr) => {
            let bound = x.local.is_some();
            if bound && !matches!(addr, Addr::Path(_)) {
                return Err(Errno::EINVAL);
            }
            let name = match addr {
                Addr::Unnamed => return autobind(k, s),
                Addr::Path(p) => {
                    let mode = libc::S_IFSOCK | 0o777;
                    match crate::vfs::ops::mknod(k, tid, libc::AT_FDCWD, &p, mode, 0) {
                        Ok(()) => {}
                        Err(Errno::EEXIST) => return Err(Errno::EADDRINUSE),
                        Err(e) => return Err(e),
                    }
                    // Linux makes the node before it looks at the socket.
                    if bound {
                        let _ = crate::vfs::ops::unlink(k, tid, libc::AT_FDCWD, &p, false);
                        return Err(Errno::EINVAL);
                    }
                    let loc = crate::vfs::ops::lookup_at(
                        k,
                        tid,
                        libc::AT_FDCWD,
                        &p,
                        libc::AT_SYMLINK_NOFOLLOW,
                    )?;
                    let st = crate::vfs::path::stat(k, loc)?;
                    k.vfs.net.unix_paths.insert((st.dev, st.ino), s);
                    Addr::Path(p)
                }
                Addr::Abstract(n) => {
                    if k.vfs.net.unix_abstract.contains_key(&n) {
                        return Err(Errno::EADDRINUSE);
                    }
                    k.vfs.net.unix_abstract.insert(n.clone(), s);
                    Addr::Abstract(n)
                }
                Addr::Inet(_) | Addr::Netlink { .. } => return Err(Errno::EINVAL),
            };
            sock_mut(k, s)?.local = Some(name);
            Ok(())
        }
        (_, Addr::Inet(a)) if super::icmp::is_icmp(x) => super::icmp::bind(k, s, a),
        (_, Addr::Inet(a)) => {
            k.vfs.net.bind_inet(s, a)?;
            super::ext::bound(k, s);
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// Gives an unbound unix socket an abstract name of five hex digits.
fn autobind(k: &mut Kernel, s: SockId) -> Result<(), Errno> {
    for i in 0..0x10_0000u32 {
        let n = format!("{:05x}", (s as u32).wrapping_add(i) & 0xf_ffff).into_bytes();
        if !k.vfs.net.unix_abstract.contains_key(&n) {
            k.vfs.net.unix_abstract.insert(n.clone(), s);
            sock_mut(k, s)?.local = Some(Addr::Abstract(n));
            return Ok(());
        }
    }
    Err(Errno::ENOSPC)
}

/// Binds an unbound inet socket to an ephemeral port on the address it
/// would send to `to` from.
fn autobind_inet(k: &mut Kernel, s: SockId, to: Option<IpAddr>) -> Result<(), Errno> {
    let x = sock(k, s)?;
    if x.local.is_some() {
        return Ok(());
    }
    let ip = match (x.domain, to) {
        (d, Some(t)) => source_for(d, t),
        (Domain::Inet6, None) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        (_, None) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    };
    k.vfs.net.bind_inet(s, SocketAddr::new(ip, 0))?;
    super::ext::bound(k, s);
    Ok(())
}

/// `listen`.
pub fn listen(k: &mut Kernel, tid: Tid, s: SockId, backlog: i32) -> Result<(), Errno> {
    let x = sock(k, s)?;
    if x.kind.datagrams() {
        return Err(Errno::EOPNOTSUPP);
    }
    if matches!(x.state, State::Connected { .. }) {
        return Err(Errno::EINVAL);
    }
    if x.local.is_none() {
        if x.domain == Domain::Unix {
            return Err(Errno::EINVAL);
        }
        autobind_inet(k, s, None)?;
    }
    let backlog = if backlog < 0 || backlog as u32 > super::SOMAXCONN {
        super::SOMAXCONN
    } else {
        backlog as u32
    };
    let owner = peer_cred_of(k, tid);
    let x = sock_mut(k, s)?;
    x.owner = owner;
    match &mut x.state {
        State::Listening { backlog: b, .. } => *b = backlog,
        st => {
            *st = State::Listening {
                backlog,
                pending: Default::default(),
            }
        }
    }
    touch(k, s);
    super::ext::listen(k, s);
    Ok(())
}

/// The receive timeout of a blocking call on `s`, as a deadline kept
/// across re-runs; `Err(EAGAIN)` once it passed.
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

/// `connect`. `None` disconnects a datagram socket (`AF_UNSPEC`).
pub fn connect(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    addr: Option<Addr>,
    nonblock: bool,
) -> Result<(), SysErr> {
    let x = sock(k, s)?;
    let (domain, kind) = (x.domain, x.kind);
    if domain == Domain::Netlink {
        return Ok(super::netlink::connect(k, tid, s, addr)?);
    }
    if super::icmp::is_icmp(x) {
        return Ok(super::icmp::connect(k, s, addr)?);
    }
    if kind == Kind::Dgram {
        let Some(addr) = addr else {
            let x = sock_mut(k, s)?;
            x.dgram_peer = None;
            x.remote = None;
            return Ok(());
        };
        if domain == Domain::Unix {
            let t = find_unix(k, tid, &addr, Kind::Dgram)?;
            let x = sock_mut(k, s)?;
            x.dgram_peer = Some(t);
            x.remote = Some(addr);
            return Ok(());
        }
        let Addr::Inet(mut a) = addr else {
            return Err(Errno::EAFNOSUPPORT.into());
        };
        if a.ip().is_unspecified() {
            a.set_ip(loopback_of(a.ip()));
        }
        if !is_loopback(a.ip()) {
            if !super::ext::routable(&k.vfs.net, a.ip()) {
                return Err(Errno::ENETUNREACH.into());
            }
            // Over the external interface: a port on every address, the
            // interface's address as the name.
            autobind_inet(k, s, None)?;
            let ext = k.vfs.net.ifaces.iter().find(|c| !c.addr.is_unspecified());
            let ext = ext.map(|c| c.addr);
            let x = sock_mut(k, s)?;
            if let (Some(Addr::Inet(l)), Some(e)) = (&mut x.local, ext) {
                if l.ip().is_unspecified() {
                    let ip = match domain {
                        Domain::Inet6 => IpAddr::V6(e.to_ipv6_mapped()),
                        _ => IpAddr::V4(e),
                    };
                    l.set_ip(ip);
                }
            }
            x.remote = Some(Addr::Inet(a));
            x.error = 0;
            return Ok(());
        }
        autobind_inet(k, s, Some(a.ip()))?;
        let domain = sock(k, s)?.domain;
        let x = sock_mut(k, s)?;
        // Connecting picks the source address of a socket bound to any.
        if let Some(Addr::Inet(l)) = &mut x.local {
            if l.ip().is_unspecified() {
                l.set_ip(source_for(domain, a.ip()));
            }
        }
        x.remote = Some(Addr::Inet(a));
        x.error = 0;
        return Ok(());
    }
    match x.state {
        State::Connected { .. } if x.connecting => {
            // The first connect after EINPROGRESS reports the outcome.
            sock_mut(k, s)?.connecting = false;
            return Ok(());
        }
        State::Connected { .. } => return Err(Errno::EISCONN.into()),
        State::Listening { .. } => return Err(Errno::EINVAL.into()),
        State::Idle => {}
    }
    let rcvtimeo = x.opts.sndtimeo;
    let addr = addr.ok_or(Errno::EAFNOSUPPORT)?;
    let (listener, remote_seen, local_seen) = if domain == Domain::Unix {
        let l = find_unix(k, tid, &addr, kind)?;
        let lx = sock(k, l)?;
        if !lx.listening() {
            return Err(Errno::ECONNREFUSED.into());
        }
        let me = sock(k, s)?.local.clone().unwrap_or(Addr::Unnamed);
        (l, lx.local.clone(), me)
    } else {
        let Addr::Inet(mut a) = addr else {
            return Err(Errno::EAFNOSUPPORT.into());
        };
        if a.ip().is_unspecified() {
            a.set_ip(loopback_of(a.ip()));
        }
        if !is_loopback(a.ip()) {
            if super::ext::has_conn(&k.vfs.net, s) || super::ext::routable(&k.vfs.net, a.ip()) {
                return super::ext::connect(k, tid, s, a, nonblock);
            }
            return Err(Errno::ENETUNREACH.into());
        }
        if a.port() == 0 {
            return Err(Errno::ECONNREFUSED.into());
        }
        autobind_inet(k, s, Some(a.ip()))?;
        let l = k
            .vfs
            .net
            .find_inet(Proto::Tcp, a, true)
            .ok_or(Errno::ECONNREFUSED)?;
        let me = sock(k, s)?.local.clone().ok_or(Errno::EINVAL)?;
        // The accepted socket's address is the one the client reached, in
        // the listener's family.
        let ldom = sock(k, l)?.domain;
        let seen = match (ldom, a) {
            (Domain::Inet6, SocketAddr::V4(v4)) => {
                SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), a.port())
            }
            _ => a,
        };
        let me = match (ldom, &me) {
            (Domain::Inet6, Addr::Inet(SocketAddr::V4(v4))) => Addr::Inet(SocketAddr::new(
                IpAddr::V6(v4.ip().to_ipv6_mapped()),
                v4.port(),
            )),
            _ => me,
        };
        // The client sees the address it connected to.
        sock_mut(k, s)?.remote = Some(Addr::Inet(a));
        (l, Some(Addr::Inet(seen)), me)
    };
    // A full accept queue: wait (Linux's unix sockets; a TCP client
    // would retransmit its SYN meanwhile).
    let lx = sock(k, listener)?;
    if let State::Listening { backlog, pending } = &lx.state {
        if pending.len() > *backlog as usize && (domain == Domain::Unix || !nonblock) {
            if nonblock {
                return Err(Errno::EAGAIN.into());
            }
            let q = lx.queue;
            let d = timeout(k, tid, rcvtimeo)?;
            return Err(SysErr::Block(Block::on(vec![q]).with_deadline(d)));
        }
    }
    let (lq, lpass, lowner) = (lx.queue, lx.opts.passcred, lx.owner);
    // A TCP connection is a copy of its listener, options and all (as
    // Linux clones it): buffer sizes set on the listener hold for it.
    let lopts = (domain != Domain::Unix).then(|| lx.opts.clone());
    // The server side of the connection, waiting in the accept queue.
    let cred = peer_cred_of(k, tid);
    let sq = k.new_id();
    let srv = k
        .vfs
        .net
        .create(domain_of_listener(k, listener), kind, 0, sq, lowner);
    {
        let sx = sock_mut(k, srv)?;
        sx.local = remote_seen.clone();
        sx.remote = Some(local_seen);
        sx.state = State::Connected { peer: s };
        sx.peer_cred = Some(cred);
        if let Some(o) = lopts {
            sx.opts = o;
        }
        sx.opts.passcred = lpass;
    }
    {
        let x = sock_mut(k, s)?;
        x.state = State::Connected { peer: srv };
        if domain == Domain::Unix {
            x.remote = remote_seen;
        }
        x.peer_cred = Some(lowner);
    }
    if let Some(State::Listening { pending, .. }) =
        k.vfs.net.get_mut(listener).map(|l| &mut l.state)
    {
        pending.push_back(srv);
    }
    touch(k, listener);
    let _ = lq;
    touch(k, s);
    if domain != Domain::Unix && nonblock {
        // Linux reports a non-blocking TCP connect as in progress even on
        // loopback; it is complete by the time the caller polls.
        sock_mut(k, s)?.connecting = true;
        return Err(Errno::EINPROGRESS.into());
    }
    Ok(())
}

fn domain_of_listener(k: &Kernel, l: SockId) -> Domain {
    k.vfs.net.get(l).map_or(Domain::Unix, |x| x.domain)
}

fn loopback_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
    }
}

/// `accept`: the next connection as a new open file, and its peer's
/// address.
pub fn accept(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    nonblock: bool,
    new_nonblock: bool,
) -> Result<(FileId, Option<Addr>), SysErr> {
    let x = sock(k, s)?;
    if x.kind.datagrams() {
        return Err(Errno::EOPNOTSUPP.into());
    }
    let State::Listening { pending, .. } = &x.state else {
        return Err(Errno::EINVAL.into());
    };
    if pending.is_empty() {
        if let Some(c) = super::ext::accept(k, s) {
            touch(k, s);
            let f = open_file(k, c, new_nonblock);
            let remote = sock(k, c)?.remote.clone();
            return Ok((f, remote));
        }
        let x = sock(k, s)?;
        if nonblock {
            return Err(Errno::EAGAIN.into());
        }
        let (q, t) = (x.queue, x.opts.rcvtimeo);
        let d = timeout(k, tid, t)?;
        return Err(SysErr::Block(Block::on(vec![q]).with_deadline(d)));
    }
    let Some(State::Listening { pending, .. }) = k.vfs.net.get_mut(s).map(|x| &mut x.state) else {
        return Err(Errno::EINVAL.into());
    };
    let c = pending.pop_front().ok_or(Errno::EAGAIN)?;
    touch(k, s);
    let f = open_file(k, c, new_nonblock);
    let remote = sock(k, c)?.remote.clone();
    Ok((f, remote))
}

/// `shutdown`.
pub fn shutdown(k: &mut Kernel, s: SockId, how: i32) -> Result<(), Errno> {
    let (rd, wr) = match how {
        libc::SHUT_RD => (true, false),
        libc::SHUT_WR => (false, true),
        libc::SHUT_RDWR => (true, true),
        _ => return Err(Errno::EINVAL),
    };
    let x = sock(k, s)?;
    if x.domain == Domain::Netlink {
        return Err(Errno::EOPNOTSUPP);
    }
    let peer = match x.state {
        State::Connected { peer } => Some(peer),
        _ => None,
    };
    if x.is_inet() && peer.is_none() && !(x.kind.datagrams() && x.remote.is_some()) {
        return Err(Errno::ENOTCONN);
    }
    let unix = !x.is_inet();
    let x = sock_mut(k, s)?;
    x.rcv_shut |= rd;
    x.snd_shut |= wr;
    touch(k, s);
    if peer == Some(super::ext::EXT_PEER) {
        super::ext::shutdown(&mut k.vfs.net, s, wr);
        return Ok(());
    }
    if let Some(p) = peer {
        if let Some(px) = k.vfs.net.get_mut(p) {
            if wr {
                px.rcv_shut = true;
            }
            if rd && unix {
                px.snd_shut = true;
            }
        }
        touch(k, p);
    }
    Ok(())
}

// ---- Sending -----------------------------------------------------------------

/// What a send carries besides data.
#[derive(Default)]
pub struct Extra {
    pub to: Option<Addr>,
    /// Files for `SCM_RIGHTS`, one reference each (released on failure).
    pub files: Vec<FileId>,
    /// Credentials given with `SCM_CREDENTIALS`.
    pub cred: Option<Cred>,
    /// `IPV6_HOPLIMIT` given with the datagram (-1: the socket's).
    pub hop_limit: Option<i32>,
    /// `IPV6_TCLASS` given with the datagram (-1: the socket's).
    pub tclass: Option<i32>,
}

fn release(k: &mut Kernel, files: Vec<FileId>) {
    for f in files {
        k.vfs.file_release(f);
    }
}

/// `EPIPE`, with `SIGPIPE` unless `MSG_NOSIGNAL`.
pub(crate) fn epipe(k: &mut Kernel, tid: Tid, flags: i32) -> SysErr {
    if flags & libc::MSG_NOSIGNAL == 0 {
        let uid = k.task(tid).creds.uid;
        let tgid = k.tgid(tid);
        k.send_to_thread(tid, SigInfo::new(SIGPIPE, SI_USER).with_sender(tgid, uid));
    }
    Errno::EPIPE.into()
}

/// Sends `data` on socket `s`. A stream send that blocks after part of the
/// data went out keeps its progress in the task (see `file::progress`).
pub fn send(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    data: &[u8],
    mut extra: Extra,
    flags: i32,
    nonblock: bool,
) -> Result<usize, SysErr> {
    if let Some(fd) = super::host::fd(k, s) {
        release(k, std::mem::take(&mut extra.files));
        return super::host::send(k, tid, fd?, data, None, &[], flags, nonblock);
    }
    let r = send_inner(k, tid, s, data, &mut extra, flags, nonblock);
    release(k, std::mem::take(&mut extra.files));
    // A later message of sendmmsg starts afresh.
    if r.is_ok() && file::progress(k, tid) != 0 {
        file::set_progress(k, tid, 0);
    }
    r
}

fn send_inner(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    data: &[u8],
    extra: &mut Extra,
    flags: i32,
    nonblock: bool,
) -> Result<usize, SysErr> {
    let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
    let x = sock(k, s)?;
    if x.domain == Domain::Netlink {
        return super::netlink::send(k, tid, s, data, extra.to.as_ref());
    }
    let cred = extra.cred.unwrap_or_else(|| cred_of(k, tid));
    if super::icmp::is_icmp(x) {
        if !extra.files.is_empty() {
            return Err(Errno::EINVAL.into());
        }
        return super::icmp::send(k, s, data, extra.to.as_ref());
    }
    if x.kind == Kind::Dgram {
        return send_dgram(k, tid, s, data, extra, cred, nonblock);
    }
    if x.error != 0 && x.is_inet() {
        let e = std::mem::take(&mut sock_mut(k, s)?.error);
        if e == libc::EPIPE {
            return Err(epipe(k, tid, flags));
        }
        return Err(Errno::from_raw(e).unwrap_or(Errno::EIO).into());
    }
    if super::ext::has_conn(&k.vfs.net, s) {
        return super::ext::send(k, tid, s, data, flags, nonblock);
    }
    let peer = match x.state {
        State::Connected { peer } => peer,
        _ => {
            if x.is_inet() {
                return Err(epipe(k, tid, flags));
            }
            return Err(if extra.to.is_some() && x.kind == Kind::Stream {
                Errno::EOPNOTSUPP
            } else {
                Errno::ENOTCONN
            }
            .into());
        }
    };
    if extra.to.is_some() && !x.is_inet() && x.kind == Kind::Stream {
        return Err(Errno::EISCONN.into());
    }
    if x.snd_shut {
        return Err(epipe(k, tid, flags));
    }
    let from = x.local.clone().unwrap_or(Addr::Unnamed);
    let (kind, sndbuf, timeo, inet) = (x.kind, x.opts.sndbuf, x.opts.sndtimeo, x.is_inet());
    if kind == Kind::SeqPacket && data.len() > sndbuf.max(super::UNIX_BUF) {
        return Err(Errno::EMSGSIZE.into());
    }
    let mut done = file::progress(k, tid);
    loop {
        let Some(p) = k.vfs.net.get_mut(peer) else {
            if done > 0 {
                return Ok(done);
            }
            if inet && kind == Kind::Stream {
                // The peer closed its socket after its FIN reached us.
                // Linux sends the data anyway, as much as the send buffer
                // takes; the peer answers with a reset, which the next
                // call sees as EPIPE (the error of a reset in CLOSE_WAIT),
                // and every one after it too.
                if !data.is_empty() {
                    let x = sock_mut(k, s)?;
                    x.error = libc::EPIPE;
                    x.snd_shut = true;
                }
                return Ok(data.len().min(sndbuf));
            }
            return Err(epipe(k, tid, flags));
        };
        if p.rcv_shut && !inet {
            return if done > 0 {
                Ok(done)
            } else {
                Err(epipe(k, tid, flags))
            };
        }
        let rest = &data[done.min(data.len())..];
        if rest.is_empty() && (done > 0 || kind == Kind::Stream) {
            return Ok(done);
        }
        let seq_room = kind == Kind::SeqPacket && p.unix_room(s, sndbuf);
        let room = if kind == Kind::Stream {
            p.capacity().saturating_sub(p.rx_len).min(rest.len())
        } else if seq_room {
            rest.len()
        } else {
            0
        };
        if room > 0 || seq_room {
            // Files go with the first part of the data.
            let files = if done == 0 {
                std::mem::take(&mut extra.files)
            } else {
                Vec::new()
            };
            p.push(Msg {
                data: rest[..room].to_vec(),
                pos: 0,
                from: from.clone(),
                files,
                cred,
                ip: None,
            });
            let q = p.queue;
            k.notify(q);
            if inet {
                k.vfs.net.lo_packets += 1;
                k.vfs.net.lo_bytes += room as u64;
            }
            done += room;
            if kind == Kind::SeqPacket {
                return Ok(done);
            }
            continue;
        }
        let q = p.queue;
        if nonblock {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EAGAIN.into())
            };
        }
        let d = match timeout(k, tid, timeo) {
            Ok(d) => d,
            Err(e) => return if done > 0 { Ok(done) } else { Err(e.into()) },
        };
        let b = Block::on(vec![q]).with_deadline(d);
        if done > 0 {
            // A signal ends the call with what went out (see
            // `file::write_block`).
            file::set_progress(k, tid, done);
        }
        return Err(SysErr::Block(b));
    }
}

fn send_dgram(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    data: &[u8],
    extra: &mut Extra,
    cred: Cred,
    nonblock: bool,
) -> Result<usize, SysErr> {
    let x = sock(k, s)?;
    if x.snd_shut {
        return Err(epipe(k, tid, 0));
    }
    if x.is_inet() {
        return send_udp(k, tid, s, data, extra);
    }
    let (timeo, sndbuf) = (x.opts.sndtimeo, x.opts.sndbuf);
    let target = match &extra.to {
        Some(a) => find_unix(k, tid, a, Kind::Dgram)?,
        None => {
            let t = x.dgram_peer.ok_or(Errno::ENOTCONN)?;
            if k.vfs.net.get(t).is_none() {
                // The peer is gone: this send learns it, and the socket is
                // no longer connected.
                let x = sock_mut(k, s)?;
                x.dgram_peer = None;
                x.remote = None;
                return Err(Errno::ECONNREFUSED.into());
            }
            t
        }
    };
    if data.len() > super::UNIX_BUF - 32 {
        return Err(Errno::EMSGSIZE.into());
    }
    let from = sock(k, s)?.local.clone().unwrap_or(Addr::Unnamed);
    let t = sock(k, target).map_err(|_| Errno::ECONNREFUSED)?;
    if t.kind != Kind::Dgram {
        return Err(Errno::EPROTOTYPE.into());
    }
    if t.dgram_peer.is_some_and(|p| p != s) {
        return Err(Errno::EPERM.into());
    }
    if t.rcv_shut {
        return Err(epipe(k, tid, 0));
    }
    if !t.unix_room(s, sndbuf) {
        let q = t.queue;
        if nonblock {
            return Err(Errno::EAGAIN.into());
        }
        let d = timeout(k, tid, timeo)?;
        return Err(SysErr::Block(Block::on(vec![q]).with_deadline(d)));
    }
    let files = std::mem::take(&mut extra.files);
    let t = sock_mut(k, target)?;
    t.push(Msg {
        data: data.to_vec(),
        pos: 0,
        from,
        files,
        cred,
        ip: None,
    });
    touch(k, target);
    Ok(data.len())
}

fn send_udp(
    k: &mut Kernel,
    _tid: Tid,
    s: SockId,
    data: &[u8],
    extra: &mut Extra,
) -> Result<usize, SysErr> {
    if !extra.files.is_empty() {
        return Err(Errno::EINVAL.into());
    }
    let x = sock(k, s)?;
    if x.error != 0 {
        let e = std::mem::take(&mut sock_mut(k, s)?.error);
        return Err(Errno::from_raw(e).unwrap_or(Errno::EIO).into());
    }
    let to = match &extra.to {
        Some(Addr::Inet(a)) => *a,
        Some(_) => return Err(Errno::EAFNOSUPPORT.into()),
        None => match &x.remote {
            Some(Addr::Inet(a)) => *a,
            _ => return Err(Errno::EDESTADDRREQ.into()),
        },
    };
    let connected = extra.to.is_none();
    if data.len() > super::UDP_MAX {
        return Err(Errno::EMSGSIZE.into());
    }
    let mut to = to;
    if to.ip().is_unspecified() {
        to.set_ip(loopback_of(to.ip()));
    }
    let proto = super::Net::proto(sock(k, s)?);
    if !is_loopback(to.ip()) {
        // The external interface's stack speaks plain UDP only.
        if proto == Proto::Udp && super::ext::routable(&k.vfs.net, to.ip()) && to.port() != 0 {
            return super::ext::send_udp(k, s, to, data);
        }
        return Err(Errno::ENETUNREACH.into());
    }
    if to.port() == 0 {
        return Err(Errno::EINVAL.into());
    }
    // An unconnected send binds a port only, on every address.
    autobind_inet(k, s, None)?;
    let Some(Addr::Inet(mut from)) = sock(k, s)?.local.clone() else {
        return Err(Errno::EINVAL.into());
    };
    if from.ip().is_unspecified() {
        from.set_ip(source_for(sock(k, s)?.domain, to.ip()));
    }
    k.vfs.net.lo_packets += 1;
    k.vfs.net.lo_bytes += data.len() as u64;
    let Some(t) = k.vfs.net.find_inet(proto, to, false) else {
        // The port is closed: a connected socket learns it from the ICMP
        // error, as its next call's ECONNREFUSED.
        if connected {
            sock_mut(k, s)?.error = libc::ECONNREFUSED;
            touch(k, s);
        }
        return Ok(data.len());
    };
    let tx = sock(k, t)?;
    // A connected receiver takes datagrams from its peer only.
    if let Some(Addr::Inet(r)) = &tx.remote {
        if !same_endpoint(*r, from) {
            return Ok(data.len());
        }
    }
    if tx.rcv_shut || !tx.has_room(data.len()) {
        // A full receiver drops the datagram.
        return Ok(data.len());
    }
    let from = match (tx.domain, from) {
        (Domain::Inet6, SocketAddr::V4(v4)) => {
            SocketAddr::new(IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        (Domain::Inet, SocketAddr::V6(v6)) => match v6.ip().to_ipv4_mapped() {
            Some(a) => SocketAddr::new(IpAddr::V4(a), v6.port()),
            None => from,
        },
        _ => from,
    };
    let ip = ip_meta(sock(k, s)?, extra, to.ip(), tx.domain);
    let cred = Cred::default();
    sock_mut(k, t)?.push(Msg {
        data: data.to_vec(),
        pos: 0,
        from: Addr::Inet(from),
        files: Vec::new(),
        cred,
        ip: Some(ip),
    });
    touch(k, t);
    Ok(data.len())
}

/// The IP header of a loopback datagram that socket `x` sends to `dst`,
/// as a receiver of `domain` sees it: the hop limit and traffic class
/// given with the datagram, or the sender's options (`IPV6_UNICAST_HOPS`
/// and `IPV6_TCLASS` over IPv6, `IP_TTL` and `IP_TOS` over IPv4).
fn ip_meta(x: &Socket, extra: &Extra, dst: IpAddr, domain: Domain) -> IpMeta {
    let v4 = match dst {
        IpAddr::V4(_) => true,
        IpAddr::V6(a) => a.to_ipv4_mapped().is_some(),
    };
    let opt = |name: i32, default: i32| {
        x.opts
            .other
            .get(&(libc::IPPROTO_IPV6, name))
            .copied()
            .unwrap_or(default)
    };
    let own_hops = if v4 {
        x.opts.ttl
    } else {
        match opt(libc::IPV6_UNICAST_HOPS, -1) {
            -1 => 64,
            h => h,
        }
    };
    let own_tclass = if v4 {
        x.opts.tos
    } else {
        opt(libc::IPV6_TCLASS, 0)
    };
    let hop_limit = match extra.hop_limit {
        Some(h) if h >= 0 => h,
        _ => own_hops,
    };
    let tclass = match extra.tclass {
        Some(t) if t >= 0 => t,
        _ => own_tclass,
    };
    let dst = match (domain, dst) {
        (Domain::Inet6, IpAddr::V4(a)) => IpAddr::V6(a.to_ipv6_mapped()),
        (Domain::Inet, IpAddr::V6(a)) => a.to_ipv4_mapped().map_or(dst, IpAddr::V4),
        _ => dst,
    };
    IpMeta {
        hop_limit: hop_limit.clamp(0, 255) as u8,
        tclass: tclass.clamp(0, 255) as u8,
        dst,
        ifindex: 1,
    }
}

fn same_endpoint(a: SocketAddr, b: SocketAddr) -> bool {
    let norm = |x: SocketAddr| match x.ip() {
        IpAddr::V6(v) => v.to_ipv4_mapped().map_or(x.ip(), IpAddr::V4),
        ip => ip,
    };
    a.port() == b.port() && norm(a) == norm(b)
}

// ---- Receiving -----------------------------------------------------------------

/// What a receive found (nothing taken yet).
#[derive(Debug, Default)]
pub struct Got {
    pub data: Vec<u8>,
    /// The whole length of the datagram (`MSG_TRUNC`).
    pub full: usize,
    pub from: Option<Addr>,
    /// Files of the message, one reference each for the caller to install
    /// (taken from the message, or added for a peek).
    pub files: Vec<FileId>,
    pub cred: Option<Cred>,
    /// The IP header of a datagram (see [`IpMeta`]).
    pub ip: Option<IpMeta>,
    /// Bytes to consume (stream) or 1 to drop the first message.
    used: usize,
    peek: bool,
}

/// Finds up to `max` bytes to receive on `s`; the caller copies them out
/// and then calls [`take`]. No data and no error is the end of the
/// stream.
pub fn look(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    max: usize,
    flags: i32,
    nonblock: bool,
) -> Result<Got, SysErr> {
    let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
    let peek = flags & libc::MSG_PEEK != 0;
    let x = sock(k, s)?;
    if flags & libc::MSG_OOB != 0 {
        return Err(if x.domain == Domain::Netlink {
            Errno::EOPNOTSUPP
        } else {
            Errno::EINVAL
        }
        .into());
    }
    if x.listening() {
        return Err(if x.is_inet() {
            Errno::ENOTCONN
        } else {
            Errno::EINVAL
        }
        .into());
    }
    if x.rx.is_empty() {
        if x.reset {
            let x = sock_mut(k, s)?;
            x.reset = false;
            return Err(Errno::ECONNRESET.into());
        }
        if x.error != 0 {
            let e = std::mem::take(&mut sock_mut(k, s)?.error);
            return Err(Errno::from_raw(e).unwrap_or(Errno::EIO).into());
        }
        if x.rcv_shut {
            return Ok(Got::default());
        }
        if x.kind.connected() && !matches!(x.state, State::Connected { .. }) {
            return Err(if x.is_inet() || x.kind == Kind::SeqPacket {
                Errno::ENOTCONN
            } else {
                Errno::EINVAL
            }
            .into());
        }
        if max == 0 && x.kind == Kind::Stream {
            return Ok(Got::default());
        }
        if nonblock {
            return Err(Errno::EAGAIN.into());
        }
        let (q, t) = (x.queue, x.opts.rcvtimeo);
        let d = timeout(k, tid, t)?;
        return Err(SysErr::Block(Block::on(vec![q]).with_deadline(d)));
    }
    let passcred = x.opts.passcred;
    let from = x.rx.front().map(|m| m.from.clone());
    let mut g = Got {
        from,
        peek,
        ..Default::default()
    };
    if x.kind == Kind::Stream {
        let first_cred = x.rx.front().map(|m| m.cred);
        for (i, m) in x.rx.iter().enumerate() {
            if g.data.len() >= max {
                break;
            }
            if i > 0 && (!m.files.is_empty() || (passcred && Some(m.cred) != first_cred)) {
                break;
            }
            let avail = &m.data[m.pos..];
            let n = avail.len().min(max - g.data.len());
            g.data.extend_from_slice(&avail[..n]);
            g.used += n;
            if i == 0 && !m.files.is_empty() {
                // A message that carried descriptors ends the read.
                g.files = m.files.clone();
                break;
            }
        }
        g.full = g.data.len();
        g.cred = first_cred;
    } else {
        let m = x.rx.front().expect("not empty");
        g.full = m.data.len();
        g.data = m.data[..m.data.len().min(max)].to_vec();
        g.files = m.files.clone();
        g.cred = Some(m.cred);
        g.ip = m.ip;
        g.used = 1;
    }
    if peek {
        for &f in &g.files {
            k.vfs.file_hold(f);
        }
    }
    Ok(g)
}

/// Consumes what [`look`] found (nothing for a peek); the files of the
/// message become the caller's.
pub fn take(k: &mut Kernel, s: SockId, g: &mut Got) {
    if g.peek {
        return;
    }
    let Some(x) = k.vfs.net.get_mut(s) else {
        return;
    };
    if x.kind == Kind::Stream {
        let mut n = g.used;
        let mut first = true;
        while n > 0 || first {
            let Some(m) = x.rx.front_mut() else { break };
            if first {
                m.files.clear();
                first = false;
            }
            let k2 = (m.data.len() - m.pos).min(n);
            m.pos += k2;
            x.rx_len -= k2;
            n -= k2;
            if m.pos == m.data.len() {
                x.pop();
            } else {
                break;
            }
        }
    } else {
        x.pop();
    }
    touch(k, s);
    super::ext::after_read(k, s);
}

/// Receives into one buffer: `read` on a socket.
pub fn read(
    k: &mut Kernel,
    tid: Tid,
    s: SockId,
    len: usize,
    nonblock: bool,
) -> Result<Vec<u8>, SysErr> {
    if let Some(fd) = super::host::fd(k, s) {
        return match fd {
            Ok(fd) => Ok(super::host::recv(fd, len, 0, 0, nonblock)?.data),
            Err(_) => Ok(Vec::new()),
        };
    }
    let mut g = look(k, tid, s, len, 0, nonblock)?;
    take(k, s, &mut g);
    release(k, std::mem::take(&mut g.files));
    Ok(g.data)
}

// ---- Readiness -----------------------------------------------------------------

/// Readiness of socket `s`: (events, wait queues, generation).
pub fn ready(k: &Kernel, s: SockId) -> (u32, Vec<u64>, u64) {
    if let Some(r) = super::ext::ready(&k.vfs.net, s) {
        return r;
    }
    let Some(x) = k.vfs.net.get(s) else {
        return (poll::ERR | poll::HUP, Vec::new(), 0);
    };
    let mut m = 0;
    let mut queues = vec![x.queue];
    let mut gen = x.gen;
    if x.error != 0 {
        m |= poll::ERR;
    }
    match &x.state {
        State::Listening { pending, .. } => {
            if !pending.is_empty() || super::ext::pool_ready(&k.vfs.net, s) {
                m |= poll::IN | poll::RDNORM;
            }
            return (m, queues, gen);
        }
        State::Idle if x.kind.connected() => {
            m |= poll::OUT | poll::WRNORM | poll::HUP;
        }
        _ => {}
    }
    if !x.rx.is_empty() {
        m |= poll::IN | poll::RDNORM;
    }
    if x.rcv_shut {
        m |= poll::IN | poll::RDNORM | poll::RDHUP;
    }
    if x.rcv_shut && x.snd_shut {
        m |= poll::HUP;
    }
    match x.peer() {
        Some(p) => {
            if let Some(px) = k.vfs.net.get(p) {
                queues.push(px.queue);
                gen = gen.wrapping_add(px.gen);
                let room = if x.kind == Kind::Stream {
                    px.rx_len < px.capacity()
                } else if x.is_inet() {
                    true
                } else {
                    // Linux: writable while a quarter of the send buffer
                    // at most is in flight.
                    px.rx_charge * 4 <= x.opts.sndbuf
                        && (px.peer() == Some(s) || px.rx.len() < super::DGRAM_QLEN)
                };
                if room || x.snd_shut || px.rcv_shut {
                    m |= poll::OUT | poll::WRNORM;
                }
            } else {
                m |= poll::OUT | poll::WRNORM;
            }
        }
        None => {
            if x.kind.datagrams() {
                m |= poll::OUT | poll::WRNORM;
            }
        }
    }
    (m, queues, gen)
}
