//! Frames on the control socket (a unix stream socket): a 4-byte
//! little-endian length, then that many bytes of JSON. Descriptors travel
//! as `SCM_RIGHTS` with the first bytes of the frame they belong to.
//!
//! The runtime's side uses the blocking [`send`] and [`recv`]; the
//! sandbox's side reads whatever has arrived with a [`FrameReader`] and
//! never blocks.

use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The largest frame either side accepts.
pub const MAX_FRAME: usize = 16 << 20;
/// The most descriptors one frame may carry.
pub const MAX_FDS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("control socket I/O failed: {0}")]
    Io(#[from] io::Error),
    #[error("the other end closed the control connection")]
    Closed,
    #[error("a control message of {0} bytes is larger than the {MAX_FRAME} allowed")]
    TooLarge(usize),
    #[error("a control message is not valid: {0}")]
    Json(#[from] serde_json::Error),
}

/// The bytes of one frame holding `msg`.
pub fn encode<T: Serialize>(msg: &T) -> Result<Vec<u8>, WireError> {
    let body = serde_json::to_vec(msg)?;
    if body.len() > MAX_FRAME {
        return Err(WireError::TooLarge(body.len()));
    }
    let mut frame = Vec::with_capacity(body.len() + 4);
    frame.extend_from_slice(&(body.len() as u32).to_le_bytes());
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Sends `bytes` on a stream socket, `fds` attached to the first part that
/// goes out. Returns how many bytes went out before the socket would
/// block (all of them on a blocking socket).
pub fn send_bytes(sock: RawFd, bytes: &[u8], fds: &[RawFd]) -> Result<usize, WireError> {
    let mut sent = 0;
    let mut fds = fds;
    while sent < bytes.len() {
        let iov = [IoSlice::new(&bytes[sent..])];
        let rights = [ControlMessage::ScmRights(fds)];
        let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &rights };
        match socket::sendmsg::<()>(sock, &iov, cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
            Ok(n) => {
                sent += n;
                fds = &[];
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) => return Ok(sent),
            Err(e) => return Err(WireError::Io(e.into())),
        }
    }
    Ok(sent)
}

/// Sends one message on a blocking socket, with `fds` attached.
pub fn send<T: Serialize>(sock: &impl AsRawFd, msg: &T, fds: &[RawFd]) -> Result<(), WireError> {
    let frame = encode(msg)?;
    send_bytes(sock.as_raw_fd(), &frame, fds)?;
    Ok(())
}

/// Receives one message on a blocking socket, with the descriptors that
/// came with it.
pub fn recv<T: DeserializeOwned>(sock: &impl AsRawFd) -> Result<(T, Vec<OwnedFd>), WireError> {
    let mut reader = FrameReader::default();
    loop {
        if let Some((body, fds)) = reader.next_frame()? {
            return Ok((serde_json::from_slice(&body)?, fds));
        }
        if !reader.fill(sock.as_raw_fd())? {
            return Err(WireError::Closed);
        }
    }
}

/// One frame's body and the descriptors that came with it.
pub type Frame = (Vec<u8>, Vec<OwnedFd>);

/// What has arrived on a connection, decoded frame by frame.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl FrameReader {
    /// Reads what the socket holds (once on a blocking socket, until it
    /// would block on a non-blocking one). Returns false at end of stream.
    pub fn fill(&mut self, sock: RawFd) -> Result<bool, WireError> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let mut space = nix::cmsg_space!([RawFd; MAX_FDS]);
            let mut iov = [IoSliceMut::new(&mut chunk)];
            let got = socket::recvmsg::<()>(
                sock,
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
            );
            let (n, fds) = match got {
                Ok(msg) => {
                    let mut fds = Vec::new();
                    for c in msg.cmsgs().map_err(|e| WireError::Io(e.into()))? {
                        if let ControlMessageOwned::ScmRights(list) = c {
                            // SAFETY: the kernel just installed these
                            // descriptors for us; nothing else owns them.
                            fds.extend(
                                list.into_iter()
                                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                            );
                        }
                    }
                    (msg.bytes, fds)
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(nix::errno::Errno::EAGAIN) => {
                    if self.blocking(sock) {
                        wait_readable(sock)?;
                        continue;
                    }
                    return Ok(true);
                }
                Err(e) => return Err(WireError::Io(e.into())),
            };
            self.fds.extend(fds);
            if n == 0 {
                return Ok(false);
            }
            self.buf.extend_from_slice(&chunk[..n]);
            if self.blocking(sock) {
                return Ok(true);
            }
        }
    }

    fn blocking(&self, sock: RawFd) -> bool {
        // SAFETY: F_GETFL on a descriptor the caller holds.
        let flags = unsafe { libc::fcntl(sock, libc::F_GETFL) };
        flags >= 0 && flags & libc::O_NONBLOCK == 0
    }

    /// The next complete frame, with every descriptor received so far.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, WireError> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len > MAX_FRAME {
            return Err(WireError::TooLarge(len));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let body = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some((body, std::mem::take(&mut self.fds))))
    }
}

/// Waits until a blocking socket has something to read (recvmsg with
/// MSG_DONTWAIT does not wait by itself).
fn wait_readable(sock: RawFd) -> Result<(), WireError> {
    let mut p = libc::pollfd {
        fd: sock,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: poll on one live pollfd.
        let r = unsafe { libc::poll(&mut p, 1, -1) };
        if r >= 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_message_and_its_descriptors_round_trip() {
        let (a, b) = UnixStream::pair().unwrap();
        let (r, w) = nix::unistd::pipe().unwrap();
        send(
            &a,
            &serde_json::json!({"hello": [1, 2, 3]}),
            &[r.as_raw_fd(), w.as_raw_fd()],
        )
        .unwrap();
        let (msg, fds): (serde_json::Value, _) = recv(&b).unwrap();
        assert_eq!(msg["hello"][2], 3);
        assert_eq!(fds.len(), 2);
        // The received write end writes into the same pipe.
        nix::unistd::write(&fds[1], b"x").unwrap();
        let mut buf = [0u8; 1];
        nix::unistd::read(r.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf, b"x");
    }

    #[test]
    fn frames_split_and_joined_are_decoded_in_order() {
        let mut bytes = encode(&"first").unwrap();
        bytes.extend(encode(&"second").unwrap());
        let mut reader = FrameReader::default();
        reader.buf.extend_from_slice(&bytes[..3]);
        assert!(reader.next_frame().unwrap().is_none());
        reader.buf.extend_from_slice(&bytes[3..]);
        let (one, _) = reader.next_frame().unwrap().unwrap();
        let (two, _) = reader.next_frame().unwrap().unwrap();
        assert_eq!(one, b"\"first\"");
        assert_eq!(two, b"\"second\"");
        assert!(reader.next_frame().unwrap().is_none());
    }

    #[test]
    fn an_oversized_length_is_refused() {
        let mut reader = FrameReader::default();
        reader.buf.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(reader.next_frame(), Err(WireError::TooLarge(_))));
    }

    #[test]
    fn end_of_stream_is_reported() {
        let (a, b) = UnixStream::pair().unwrap();
        drop(a);
        let err = recv::<serde_json::Value>(&b).unwrap_err();
        assert!(matches!(err, WireError::Closed), "{err}");
    }
}
