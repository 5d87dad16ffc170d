//! `--network=host`: an application's inet socket is a host socket of the
//! sentry (non-blocking, in the sandbox process's network namespace).
//! Addresses, options, data and control messages (`IPV6_PKTINFO`,
//! `IP_TTL`...) pass through as the application gave them;
//! a call that would block waits on the host descriptor through the run
//! loop. Host descriptors are not part of the kernel state: after a
//! restore such a socket is gone, and every call on it fails with
//! `ENOTCONN` (reads see the end of the stream).

use super::SockId;
use crate::errno::Errno;
use crate::kernel::signal::{SigInfo, SIGPIPE, SI_USER};
use crate::kernel::wait::Block;
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use crate::vfs::poll;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// The host descriptor of socket `s`, if it is a host socket.
pub fn fd(k: &Kernel, s: SockId) -> Option<Result<i32, Errno>> {
    let x = k.vfs.net.get(s)?;
    if !x.host {
        return None;
    }
    Some(
        k.vfs
            .net
            .host_fds
            .get(&s)
            .map(|f| f.as_raw_fd())
            .ok_or(Errno::ENOTCONN),
    )
}

fn check(r: isize) -> Result<usize, Errno> {
    if r < 0 {
        Err(Errno::last_host())
    } else {
        Ok(r as usize)
    }
}

/// A new host socket.
pub fn socket(domain: i32, ty: i32, protocol: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: socket(2) with plain integer arguments.
    let fd = unsafe {
        libc::socket(
            domain,
            ty | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            protocol,
        )
    };
    check(fd as isize)?;
    // SAFETY: a descriptor we just made and own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn bind(fd: i32, addr: &[u8]) -> Result<(), Errno> {
    // SAFETY: the address buffer is valid for its length.
    check(unsafe {
        libc::bind(
            fd,
            addr.as_ptr() as *const libc::sockaddr,
            addr.len() as u32,
        )
    } as isize)
    .map(|_| ())
}

pub fn listen(fd: i32, backlog: i32) -> Result<(), Errno> {
    // SAFETY: listen(2) on a descriptor we own.
    check(unsafe { libc::listen(fd, backlog) } as isize).map(|_| ())
}

pub fn shutdown(fd: i32, how: i32) -> Result<(), Errno> {
    // SAFETY: shutdown(2) on a descriptor we own.
    check(unsafe { libc::shutdown(fd, how) } as isize).map(|_| ())
}

/// A block until `fd` has `events`.
fn wait(fd: i32, events: i16) -> SysErr {
    SysErr::Block(Block::on(vec![]).with_host_fd(fd, events))
}

/// `connect`; a blocking caller waits for the outcome.
pub fn connect(
    k: &mut Kernel,
    s: SockId,
    fd: i32,
    addr: &[u8],
    nonblock: bool,
) -> Result<(), SysErr> {
    // SAFETY: the address buffer is valid for its length.
    let r = unsafe {
        libc::connect(
            fd,
            addr.as_ptr() as *const libc::sockaddr,
            addr.len() as u32,
        )
    };
    let e = if r < 0 {
        Some(Errno::last_host())
    } else {
        None
    };
    let connecting = k.vfs.net.get(s).is_some_and(|x| x.connecting);
    let set = |k: &mut Kernel, v: bool| {
        if let Some(x) = k.vfs.net.get_mut(s) {
            x.connecting = v;
        }
    };
    match e {
        None => {
            set(k, false);
            Ok(())
        }
        Some(Errno::EISCONN) if connecting => {
            set(k, false);
            Ok(())
        }
        Some(Errno::EINPROGRESS | Errno::EALREADY) => {
            set(k, true);
            if nonblock {
                return Err(e.unwrap_or(Errno::EINPROGRESS).into());
            }
            Err(wait(fd, libc::POLLOUT))
        }
        Some(err) => {
            set(k, false);
            // The outcome of a connect that was in progress.
            if connecting {
                let pending = getsockopt(fd, libc::SOL_SOCKET, libc::SO_ERROR, 4)
                    .ok()
                    .and_then(|v| {
                        v.get(..4)
                            .map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    })
                    .and_then(Errno::from_raw);
                if let Some(p) = pending {
                    return Err(p.into());
                }
            }
            Err(err.into())
        }
    }
}

/// `accept4`: the host descriptor of the new connection and the peer's
/// address.
pub fn accept(fd: i32, nonblock: bool) -> Result<(OwnedFd, Vec<u8>), SysErr> {
    let mut addr = [0u8; 128];
    let mut len: libc::socklen_t = 128;
    // SAFETY: the address buffer is 128 bytes, as `len` says.
    let r = unsafe {
        libc::accept4(
            fd,
            addr.as_mut_ptr() as *mut libc::sockaddr,
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    };
    if r < 0 {
        let e = Errno::last_host();
        if e == Errno::EAGAIN && !nonblock {
            return Err(wait(fd, libc::POLLIN));
        }
        return Err(e.into());
    }
    // SAFETY: a descriptor the host just gave us.
    let owned = unsafe { OwnedFd::from_raw_fd(r) };
    Ok((owned, addr[..(len as usize).min(128)].to_vec()))
}

/// Sends `data` (to `addr` if given) with the control messages in
/// `control`, passed to the host as they are: the host kernel refuses
/// malformed ones (`EINVAL`) and those an inet socket does not take
/// (`SCM_RIGHTS`, `SCM_CREDENTIALS`) exactly as Linux does, and never
/// reads a descriptor number of an inet socket's message.
#[allow(clippy::too_many_arguments)]
pub fn send(
    k: &mut Kernel,
    tid: Tid,
    fd: i32,
    data: &[u8],
    addr: Option<&[u8]>,
    control: &[u8],
    flags: i32,
    nonblock: bool,
) -> Result<usize, SysErr> {
    let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
    let host_flags = (flags & !libc::MSG_DONTWAIT) | libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT;
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: zero is a valid msghdr.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(a) = addr {
        m.msg_name = a.as_ptr() as *mut libc::c_void;
        m.msg_namelen = a.len() as u32;
    }
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    if !control.is_empty() {
        m.msg_control = control.as_ptr() as *mut libc::c_void;
        m.msg_controllen = control.len();
    }
    // SAFETY: the msghdr points at live buffers of the sizes it gives;
    // the host only reads them.
    let r = unsafe { libc::sendmsg(fd, &m, host_flags) };
    if r >= 0 {
        return Ok(r as usize);
    }
    match Errno::last_host() {
        Errno::EAGAIN if !nonblock => Err(wait(fd, libc::POLLOUT)),
        Errno::EPIPE => {
            if flags & libc::MSG_NOSIGNAL == 0 {
                let uid = k.task(tid).creds.uid;
                let tgid = k.tgid(tid);
                k.send_to_thread(tid, SigInfo::new(SIGPIPE, SI_USER).with_sender(tgid, uid));
            }
            Err(Errno::EPIPE.into())
        }
        e => Err(e.into()),
    }
}

/// What one receive on a host socket got.
pub struct Received {
    pub data: Vec<u8>,
    /// The datagram's full length.
    pub full: usize,
    /// The sender's address.
    pub name: Vec<u8>,
    /// The control messages, as the host wrote them (at most the room
    /// asked for; `MSG_CTRUNC` in `flags` if some did not fit).
    pub control: Vec<u8>,
    /// `msg_flags`.
    pub flags: i32,
}

/// The most control bytes one receive asks the host for.
const MAX_CONTROL: usize = 1 << 16;

/// Receives up to `len` bytes, and up to `control_room` bytes of
/// control messages (`IP_PKTINFO`, `IPV6_HOPLIMIT`, timestamps... what
/// the socket's options ask the host for; an inet socket never receives
/// descriptors).
pub fn recv(
    fd: i32,
    len: usize,
    control_room: usize,
    flags: i32,
    nonblock: bool,
) -> Result<Received, SysErr> {
    let nonblock = nonblock || flags & libc::MSG_DONTWAIT != 0;
    let mut buf = vec![0u8; len];
    let mut addr = [0u8; 128];
    let mut control = vec![0u8; control_room.min(MAX_CONTROL)];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: zero is a valid msghdr.
    let mut m: libc::msghdr = unsafe { std::mem::zeroed() };
    m.msg_name = addr.as_mut_ptr() as *mut libc::c_void;
    m.msg_namelen = 128;
    m.msg_iov = &mut iov;
    m.msg_iovlen = 1;
    if !control.is_empty() {
        m.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        m.msg_controllen = control.len();
    }
    let host_flags =
        (flags & (libc::MSG_PEEK | libc::MSG_TRUNC | libc::MSG_WAITALL)) | libc::MSG_DONTWAIT;
    // SAFETY: the msghdr points at live buffers of the sizes it gives.
    let r = unsafe { libc::recvmsg(fd, &mut m, host_flags) };
    if r < 0 {
        let e = Errno::last_host();
        if e == Errno::EAGAIN && !nonblock {
            return Err(wait(fd, libc::POLLIN));
        }
        return Err(e.into());
    }
    let full = r as usize;
    buf.truncate(full.min(len));
    control.truncate(if m.msg_control.is_null() {
        0
    } else {
        m.msg_controllen.min(control.len())
    });
    Ok(Received {
        data: buf,
        full,
        name: addr[..(m.msg_namelen as usize).min(128)].to_vec(),
        control,
        flags: m.msg_flags,
    })
}

pub fn getsockopt(fd: i32, level: i32, name: i32, cap: usize) -> Result<Vec<u8>, Errno> {
    let mut v = vec![0u8; cap.min(1024)];
    let mut len = v.len() as libc::socklen_t;
    // SAFETY: the buffer holds `len` bytes.
    check(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            v.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    } as isize)?;
    v.truncate(len as usize);
    Ok(v)
}

pub fn setsockopt(fd: i32, level: i32, name: i32, val: &[u8]) -> Result<(), Errno> {
    // SAFETY: the value buffer holds its length.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            val.as_ptr() as *const libc::c_void,
            val.len() as u32,
        )
    } as isize)
    .map(|_| ())
}

/// `getsockname` (`peer` false) or `getpeername`.
pub fn name(fd: i32, peer: bool) -> Result<Vec<u8>, Errno> {
    let mut addr = [0u8; 128];
    let mut len: libc::socklen_t = 128;
    let p = addr.as_mut_ptr() as *mut libc::sockaddr;
    // SAFETY: the address buffer is 128 bytes, as `len` says.
    let r = unsafe {
        if peer {
            libc::getpeername(fd, p, &mut len)
        } else {
            libc::getsockname(fd, p, &mut len)
        }
    };
    check(r as isize)?;
    Ok(addr[..(len as usize).min(128)].to_vec())
}

/// Bytes readable (`FIONREAD`).
pub fn readable(fd: i32) -> Result<i32, Errno> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    check(unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } as isize)?;
    Ok(n)
}

/// Readiness now, for `events`.
pub fn ready(fd: i32, events: u32) -> u32 {
    let want = (events
        & (poll::IN | poll::OUT | poll::PRI | poll::RDHUP | poll::RDNORM | poll::WRNORM))
        as i16;
    let mut p = libc::pollfd {
        fd,
        events: want | libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one pollfd, no waiting.
    unsafe { libc::poll(&mut p, 1, 0) };
    p.revents as u16 as u32
}
