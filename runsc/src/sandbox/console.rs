//! Terminals for containers that ask for one (`process.terminal`, `exec
//! --tty`): a host pseudo-terminal whose slave end becomes the process's
//! stdio and whose master end goes to the engine over `--console-socket`,
//! as runc sends it (one `SCM_RIGHTS` message whose data is the master's
//! name, `/dev/ptmx`).

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// What runc writes beside the master descriptor.
const MASTER_NAME: &[u8] = b"/dev/ptmx";

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("cannot open a pseudo-terminal")]
    Open(#[source] nix::Error),
    #[error("cannot connect to the console socket {}", path.display())]
    Connect {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot send the terminal to the console socket {}", path.display())]
    Send {
        path: std::path::PathBuf,
        #[source]
        source: nix::Error,
    },
}

/// A pseudo-terminal pair.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Opens a pseudo-terminal pair; both ends close on exec.
pub fn open_pty() -> Result<Pty, ConsoleError> {
    let pair = nix::pty::openpty(None, None).map_err(ConsoleError::Open)?;
    for fd in [&pair.master, &pair.slave] {
        nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(ConsoleError::Open)?;
    }
    Ok(Pty {
        master: pair.master,
        slave: pair.slave,
    })
}

/// Sets the window size of the terminal `fd`.
pub fn set_window_size(fd: std::os::fd::RawFd, rows: u16, cols: u16) {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from a valid pointer.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// Sends `master` to the engine listening on `socket`.
pub fn send_master(socket: &Path, master: &OwnedFd) -> Result<(), ConsoleError> {
    let stream = super::socket::connect(socket).map_err(|source| ConsoleError::Connect {
        path: socket.to_path_buf(),
        source,
    })?;
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(MASTER_NAME)];
    sendmsg::<()>(
        stream.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|source| ConsoleError::Send {
        path: socket.to_path_buf(),
        source,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    use std::io::IoSliceMut;
    use std::os::unix::net::UnixListener;

    #[test]
    fn the_master_arrives_with_runcs_name() {
        let dir = TempDir::new();
        let path = dir.path().join("console.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let pty = open_pty().unwrap();
        send_master(&path, &pty.master).unwrap();
        let (conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .unwrap();
        let got: Vec<_> = msg.cmsgs().unwrap().collect();
        let n = msg.bytes;
        assert_eq!(&buf[..n], MASTER_NAME);
        assert!(matches!(&got[..], [ControlMessageOwned::ScmRights(fds)] if fds.len() == 1));
        // The slave end is a terminal.
        assert!(nix::unistd::isatty(pty.slave.as_raw_fd()).unwrap());
    }
}
