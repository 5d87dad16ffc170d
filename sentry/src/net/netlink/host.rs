//! `NETLINK_ROUTE` with the host's network (`--network=host`): the
//! application's sockets use the host's interfaces, so its requests for
//! links, addresses and routes are answered by the host's kernel. The
//! sentry holds one host `NETLINK_ROUTE` socket, opened before the
//! sandbox is confined (the confined sentry may not open netlink
//! sockets), and passes each such request through it: the answers are
//! the host's own messages, their sequence number and port id made those
//! of the application's request. Only requests that read are passed
//! (see `route::handle_with`); the host socket joins no group.
//!
//! The host socket is not kernel state: a restored sandbox opens its own.

use super::route::Answer;
use super::wire::{self, Header, HDR_LEN, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP};
use crate::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Failures of the host socket itself (never the host's answer to a
/// request, which the application sees as rtnetlink's).
#[derive(Debug, thiserror::Error)]
pub enum HostRouteError {
    #[error("cannot open a host NETLINK_ROUTE socket: {0}")]
    Open(Errno),
    #[error("cannot send a request to the host's rtnetlink: {0}")]
    Send(Errno),
    #[error("cannot receive the host's rtnetlink answer: {0}")]
    Recv(Errno),
    #[error("the host's rtnetlink answer ended early")]
    Truncated,
}

/// How long the sentry waits for one datagram of the host's answer.
const RECV_TIMEOUT_SECS: i64 = 2;

/// Bytes of one receive: more than a datagram of a dump (the host packs
/// at most about 32 KiB) can hold.
const RECV_BUF: usize = 64 * 1024;

/// The host socket and the sequence numbers of its requests.
#[derive(Debug)]
pub struct HostRoute {
    fd: OwnedFd,
    seq: u32,
}

impl HostRoute {
    /// Opens the host socket (call before the seccomp filter is in place).
    pub fn open() -> Result<HostRoute, HostRouteError> {
        // SAFETY: socket(2) with plain integer arguments.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(HostRouteError::Open(Errno::last_host()));
        }
        // SAFETY: a descriptor we just made and own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let tv = libc::timeval {
            tv_sec: RECV_TIMEOUT_SECS,
            tv_usec: 0,
        };
        // SAFETY: the value is one timeval, as its length says.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const libc::timeval as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        if r < 0 {
            return Err(HostRouteError::Open(Errno::last_host()));
        }
        Ok(HostRoute { fd, seq: 0 })
    }

    /// Asks the host request `h` (its body `body`) and gives the answer
    /// as the application's: replies carry `h.seq` and port id `portid`.
    /// An error the host answers is the request's error.
    pub fn ask(&mut self, h: &Header, body: &[u8], portid: u32) -> Result<Answer, Errno> {
        match self.exchange(h, body) {
            Ok(HostAnswer::Error(e)) => Err(e),
            Ok(HostAnswer::Msgs(msgs)) => {
                let msgs: Vec<Vec<u8>> = msgs
                    .into_iter()
                    .map(|m| readdress(m, h.seq, portid))
                    .collect();
                if h.flags & NLM_F_DUMP != 0 {
                    Ok(Answer::Dump(msgs))
                } else {
                    msgs.into_iter()
                        .next()
                        .map(Answer::One)
                        .ok_or(Errno::ENODATA)
                }
            }
            Err(e) => {
                tracing::warn!("netlink: {e}");
                // What a reader sees when the kernel could not queue an
                // answer.
                Err(Errno::ENOBUFS)
            }
        }
    }

    /// The host's interfaces, for the interface requests of sockets
    /// (`SIOCGIFINDEX`...): an `RTM_GETLINK` dump.
    pub fn links(&mut self) -> Result<Vec<super::IfInfo>, Errno> {
        let h = Header {
            len: 0,
            ty: super::route::RTM_GETLINK,
            flags: wire::NLM_F_REQUEST | NLM_F_DUMP,
            seq: 0,
            pid: 0,
        };
        // struct ifinfomsg, all zero: every family, every link.
        let body = [0u8; 16];
        let msgs = match self.exchange(&h, &body) {
            Ok(HostAnswer::Msgs(m)) => m,
            Ok(HostAnswer::Error(e)) => return Err(e),
            Err(e) => {
                tracing::warn!("netlink: {e}");
                return Err(Errno::ENOBUFS);
            }
        };
        Ok(msgs.iter().filter_map(|m| if_info(m)).collect())
    }

    /// Sends the request with a sequence number of ours and collects the
    /// host's messages for it: every message of a dump up to
    /// `NLMSG_DONE` (not included), or the one answer.
    fn exchange(&mut self, h: &Header, body: &[u8]) -> Result<HostAnswer, HostRouteError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let len = HDR_LEN + body.len();
        let mut req = Vec::with_capacity(len);
        req.extend_from_slice(&(len as u32).to_ne_bytes());
        req.extend_from_slice(&h.ty.to_ne_bytes());
        req.extend_from_slice(&(h.flags & !NLM_F_ACK).to_ne_bytes());
        req.extend_from_slice(&seq.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(body);
        let kernel = kernel_addr();
        // SAFETY: the request and the address are live for the call and
        // their lengths are theirs.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                req.as_ptr() as *const libc::c_void,
                req.len(),
                0,
                &kernel as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r < 0 {
            return Err(HostRouteError::Send(Errno::last_host()));
        }
        let dump = h.flags & NLM_F_DUMP != 0;
        let mut out = Vec::new();
        let mut buf = vec![0u8; RECV_BUF];
        loop {
            // SAFETY: the buffer holds RECV_BUF bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                )
            };
            if n < 0 {
                let e = Errno::last_host();
                if e == Errno::EINTR {
                    continue;
                }
                return Err(HostRouteError::Recv(e));
            }
            if n == 0 {
                return Err(HostRouteError::Truncated);
            }
            for (mh, m) in wire::messages(&buf[..n as usize]) {
                if mh.seq != seq {
                    // What is left of an earlier request.
                    continue;
                }
                match mh.ty {
                    NLMSG_DONE => return Ok(HostAnswer::Msgs(out)),
                    NLMSG_ERROR => {
                        let code = m
                            .get(HDR_LEN..HDR_LEN + 4)
                            .and_then(|b| b.try_into().ok())
                            .map(i32::from_ne_bytes)
                            .ok_or(HostRouteError::Truncated)?;
                        if code == 0 {
                            return Ok(HostAnswer::Msgs(out));
                        }
                        let e = Errno::from_raw(-code).unwrap_or(Errno::EINVAL);
                        return Ok(HostAnswer::Error(e));
                    }
                    _ => {
                        out.push(m.to_vec());
                        if !dump {
                            return Ok(HostAnswer::Msgs(out));
                        }
                    }
                }
            }
        }
    }
}

/// The host kernel's `sockaddr_nl` (port id 0, no groups).
fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: all-zero bytes are a valid sockaddr_nl.
    let mut a: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    a.nl_family = libc::AF_NETLINK as u16;
    a
}

enum HostAnswer {
    Msgs(Vec<Vec<u8>>),
    Error(Errno),
}

/// The interface an `RTM_NEWLINK` message describes.
fn if_info(m: &[u8]) -> Option<super::IfInfo> {
    let body = m.get(HDR_LEN..)?;
    let fixed = body.get(..16)?;
    let index = i32::from_ne_bytes(fixed[4..8].try_into().ok()?);
    let flags = u32::from_ne_bytes(fixed[8..12].try_into().ok()?);
    let mut info = super::IfInfo {
        index: u32::try_from(index).ok()?,
        name: Vec::new(),
        flags,
        mtu: 0,
        txqlen: 0,
    };
    let u32_of = |v: &[u8]| {
        v.get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    };
    for (ty, v) in wire::attrs(&body[16..]) {
        match ty {
            super::route::IFLA_IFNAME => {
                let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
                info.name = v[..end].to_vec();
            }
            super::route::IFLA_MTU => info.mtu = u32_of(v)?,
            super::route::IFLA_TXQLEN => info.txqlen = u32_of(v)?,
            _ => {}
        }
    }
    Some(info)
}

/// Message `m` with sequence number `seq` and port id `pid`.
fn readdress(mut m: Vec<u8>, seq: u32, pid: u32) -> Vec<u8> {
    if m.len() >= HDR_LEN {
        m[8..12].copy_from_slice(&seq.to_ne_bytes());
        m[12..16].copy_from_slice(&pid.to_ne_bytes());
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readdress_sets_seq_and_pid_only() {
        let mut m = vec![0u8; 20];
        m[0] = 20;
        m[16] = 7;
        let r = readdress(m, 5, 9);
        assert_eq!(
            Header::parse(&r).map(|h| (h.seq, h.pid, h.len)),
            Some((5, 9, 20))
        );
        assert_eq!(r[16], 7);
        assert_eq!(readdress(vec![1, 2], 5, 9), vec![1, 2]);
    }
}
