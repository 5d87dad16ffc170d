//! Dropping every capability, and `no_new_privs`.

use nix::errno::Errno;

/// The highest capability number any kernel may define; dropping stops at
/// the first number the running kernel does not know.
const CAP_NUMBER_LIMIT: u32 = 64;

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets as two 32-bit words.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum CapsError {
    #[error("dropping capability {cap} from the bounding set failed: {errno}")]
    Bounding { cap: u32, errno: Errno },
    #[error("clearing the ambient capability set failed: {0}")]
    Ambient(Errno),
    #[error("clearing the effective, permitted and inheritable sets (capset) failed: {0}")]
    Capset(Errno),
    #[error("reading capabilities back (capget) failed: {0}")]
    Capget(Errno),
    #[error("capability sets are not empty after dropping: {0}")]
    StillHeld(String),
    #[error("setting no_new_privs failed: {0}")]
    NoNewPrivs(Errno),
}

/// Empties all five capability sets of the calling thread: the bounding set
/// first (that needs `CAP_SETPCAP`, so it goes while the process still has
/// it), then the ambient set, then effective, permitted and inheritable at
/// once with `capset`. Then reads them back and fails if anything is left.
///
/// Capabilities are per thread: call this while the process has one thread
/// (threads created later inherit the empty sets). The process keeps its
/// uids; with the bounding set empty and `no_new_privs`, an `execve` can
/// never give capabilities back. Makes no allocation unless it fails.
pub fn drop_capabilities() -> Result<(), CapsError> {
    for cap in 0..CAP_NUMBER_LIMIT {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r != 0 {
            match Errno::last() {
                // Past the kernel's last capability.
                Errno::EINVAL => break,
                errno => return Err(CapsError::Bounding { cap, errno }),
            }
        }
    }
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r != 0 {
        return Err(CapsError::Ambient(Errno::last()));
    }
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [CapData::default(); 2];
    // SAFETY: header and data are live, correctly laid out for version 3
    // (two data structs), and only read by the kernel.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    };
    if r != 0 {
        return Err(CapsError::Capset(Errno::last()));
    }
    check_dropped()
}

/// Fails unless every capability set of the calling thread is empty.
fn check_dropped() -> Result<(), CapsError> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and data are live and laid out for version 3; the
    // kernel writes two data structs.
    let r = unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    };
    if r != 0 {
        return Err(CapsError::Capget(Errno::last()));
    }
    if data
        .iter()
        .any(|d| d.effective != 0 || d.permitted != 0 || d.inheritable != 0)
    {
        return Err(CapsError::StillHeld(
            "effective/permitted/inheritable".into(),
        ));
    }
    for cap in 0..CAP_NUMBER_LIMIT {
        // SAFETY: prctl with integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            break;
        }
        if r > 0 {
            return Err(CapsError::StillHeld(format!("bounding set holds {cap}")));
        }
        // SAFETY: prctl with integer arguments only.
        let r = unsafe {
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong,
                cap as libc::c_ulong,
                0,
                0,
            )
        };
        if r > 0 {
            return Err(CapsError::StillHeld(format!("ambient set holds {cap}")));
        }
    }
    Ok(())
}

/// Sets `no_new_privs`: from now on `execve` never grants privileges (set-user-ID
/// bits and file capabilities are ignored), and a seccomp filter can be
/// installed without `CAP_SYS_ADMIN`. It cannot be unset, and children
/// inherit it.
pub fn set_no_new_privs() -> Result<(), CapsError> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r != 0 {
        return Err(CapsError::NoNewPrivs(Errno::last()));
    }
    Ok(())
}
