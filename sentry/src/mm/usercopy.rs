//! Copying between the sentry and application memory. Accesses go through
//! the sentry's mapping of the memory file; absent pages are populated first,
//! exactly as an application access would populate them.

use super::{MemoryManager, MmHost};
use crate::errno::Errno;
use crate::memory::{page_down, PAGE_SIZE};

/// Plain data that can be copied to and from application memory as bytes.
///
/// # Safety
/// Implementors must have no padding-dependent invariants, no pointers the
/// sentry would follow, and be valid for every bit pattern.
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($t:ty),*) => { $(
        // SAFETY: integer and plain C types are valid for any bit pattern.
        unsafe impl Pod for $t {}
    )* };
}
pod!(u8, u16, u32, u64, i8, i16, i32, i64, usize, isize);
pod!(
    libc::timespec,
    libc::timeval,
    libc::iovec,
    libc::stat,
    libc::statfs,
    libc::rlimit,
    libc::rusage
);
pod!(
    libc::sigaction,
    libc::sigset_t,
    libc::utsname,
    libc::sysinfo,
    libc::pollfd,
    libc::winsize
);
pod!(
    libc::termios,
    libc::itimerval,
    libc::itimerspec,
    libc::tms,
    libc::statx,
    libc::siginfo_t
);
pod!(
    libc::epoll_event,
    libc::sched_param,
    libc::stack_t,
    libc::linger
);
pod!(
    libc::sockaddr_storage,
    libc::msghdr,
    libc::cmsghdr,
    libc::ucred,
    libc::flock
);
// SAFETY: arrays of Pod are Pod.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Views a Pod value as bytes.
pub fn bytes_of<T: Pod>(v: &T) -> &[u8] {
    // SAFETY: T is Pod, so every byte of it may be read.
    unsafe { std::slice::from_raw_parts(v as *const T as *const u8, std::mem::size_of::<T>()) }
}

/// Views a Pod value as mutable bytes.
pub fn bytes_of_mut<T: Pod>(v: &mut T) -> &mut [u8] {
    // SAFETY: T is Pod, so any bytes written form a valid T.
    unsafe { std::slice::from_raw_parts_mut(v as *mut T as *mut u8, std::mem::size_of::<T>()) }
}

/// A zeroed Pod value.
pub fn zeroed<T: Pod>() -> T {
    // SAFETY: T is Pod, valid for the all-zero pattern.
    unsafe { std::mem::zeroed() }
}

impl MemoryManager {
    /// The frame offset of the byte at `addr`, after making its page present
    /// (writable too, if `write`). Fails with `EFAULT` where the application
    /// itself would fault.
    fn frame_for(&mut self, addr: u64, write: bool, h: &mut MmHost) -> Result<u64, Errno> {
        let page = page_down(addr);
        let (_, v) = self.vma_at(page).ok_or(Errno::EFAULT)?;
        let ok = if write {
            v.prot & libc::PROT_WRITE != 0
        } else {
            v.prot & (libc::PROT_READ | libc::PROT_WRITE) != 0
        };
        if !ok {
            return Err(Errno::EFAULT);
        }
        let need_fault = match self.pma_at(page) {
            None => true,
            Some((_, p)) => write && p.cow && !v.shared,
        };
        if need_fault {
            self.populate(page, write, h)?;
        }
        let (s, p) = self.pma_at(page).ok_or(Errno::EFAULT)?;
        let frame = p.frame + (addr - s);
        if h.mf.has_pending() {
            // After a lazy restore: a page that cannot be loaded is never
            // passed on (the kernel's loop ends the sandbox next).
            h.mf.ensure_loaded(page_down(frame), PAGE_SIZE);
            if h.mf.pages_lost() {
                return Err(Errno::EFAULT);
            }
        }
        Ok(frame)
    }

    /// Walks `[addr, addr+len)` page by page, giving `each` the frame
    /// behind each piece (made present, and writable if `write`), the
    /// piece's offset from `addr` and its length. Stops at the first page
    /// that cannot be had: returns the bytes walked, and the error that
    /// stopped it, if one did.
    fn walk(
        &mut self,
        addr: u64,
        len: usize,
        write: bool,
        h: &mut MmHost,
        mut each: impl FnMut(&mut MmHost, u64, usize, usize),
    ) -> (usize, Option<Errno>) {
        if addr.checked_add(len as u64).is_none() {
            return (0, Some(Errno::EFAULT));
        }
        let mut done = 0usize;
        while done < len {
            let a = addr + done as u64;
            let n = ((PAGE_SIZE - a % PAGE_SIZE) as usize).min(len - done);
            match self.frame_for(a, write, h) {
                Ok(f) => each(h, f, done, n),
                Err(e) => return (done, Some(e)),
            }
            done += n;
        }
        (done, None)
    }

    /// The frames behind the first `len` bytes of the buffers `iov`, made
    /// present and writable (copy-on-write broken), as runs (frame,
    /// length) in order: for the host to write into directly. Stops at the
    /// first page that cannot be written; fails only if that is the first.
    pub fn frames_for_write(
        &mut self,
        iov: &[(u64, usize)],
        len: usize,
        h: &mut MmHost,
    ) -> Result<Vec<(u64, usize)>, Errno> {
        let mut runs: Vec<(u64, usize)> = Vec::new();
        let mut left = len;
        for &(base, blen) in iov {
            let blen = blen.min(left);
            let (_, err) = self.walk(base, blen, true, h, |_, f, _, n| match runs.last_mut() {
                Some((rf, rl)) if *rf + *rl as u64 == f => *rl += n,
                _ => runs.push((f, n)),
            });
            match err {
                Some(e) if runs.is_empty() => return Err(e),
                Some(_) => break,
                None => {}
            }
            left -= blen;
            if left == 0 {
                break;
            }
        }
        Ok(runs)
    }

    /// Copies application memory at `addr` into `buf`.
    pub fn copy_in(&mut self, addr: u64, buf: &mut [u8], h: &mut MmHost) -> Result<(), Errno> {
        let len = buf.len();
        match self.walk(addr, len, false, h, |h, f, d, n| {
            h.mf.read(f, &mut buf[d..d + n])
        }) {
            (_, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Copies `data` into application memory at `addr`.
    pub fn copy_out(&mut self, addr: u64, data: &[u8], h: &mut MmHost) -> Result<(), Errno> {
        match self.copy_out_partial(addr, data, h) {
            (_, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Copies as much of `data` into application memory at `addr` as can
    /// be written, up to the first page that cannot: returns how many
    /// bytes were, and the error that stopped it, if one did.
    pub fn copy_out_partial(
        &mut self,
        addr: u64,
        data: &[u8],
        h: &mut MmHost,
    ) -> (usize, Option<Errno>) {
        self.walk(addr, data.len(), true, h, |h, f, d, n| {
            h.mf.write(f, &data[d..d + n])
        })
    }

    /// Fills application memory with zeros.
    pub fn zero_out(&mut self, addr: u64, len: u64, h: &mut MmHost) -> Result<(), Errno> {
        match self.walk(addr, len as usize, true, h, |h, f, _, n| h.mf.zero(f, n)) {
            (_, Some(e)) => Err(e),
            _ => Ok(()),
        }
    }

    /// Reads `len` bytes into a new vector.
    pub fn read_bytes(&mut self, addr: u64, len: usize, h: &mut MmHost) -> Result<Vec<u8>, Errno> {
        let mut v = vec![0u8; len];
        self.copy_in(addr, &mut v, h)?;
        Ok(v)
    }

    /// Reads a NUL-terminated string of at most `max` bytes (without the
    /// NUL). Longer strings fail with `ENAMETOOLONG`.
    pub fn read_cstr(&mut self, addr: u64, max: usize, h: &mut MmHost) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        let mut a = addr;
        loop {
            let n = (PAGE_SIZE - a % PAGE_SIZE) as usize;
            let f = self.frame_for(a, false, h)?;
            let mut chunk = vec![0u8; n];
            h.mf.read(f, &mut chunk);
            if let Some(i) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..i]);
                if out.len() > max {
                    return Err(Errno::ENAMETOOLONG);
                }
                return Ok(out);
            }
            out.extend_from_slice(&chunk);
            if out.len() > max {
                return Err(Errno::ENAMETOOLONG);
            }
            a = a.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        }
    }

    /// Reads a Pod value.
    pub fn read_val<T: Pod>(&mut self, addr: u64, h: &mut MmHost) -> Result<T, Errno> {
        let mut v: T = zeroed();
        self.copy_in(addr, bytes_of_mut(&mut v), h)?;
        Ok(v)
    }

    /// Writes a Pod value.
    pub fn write_val<T: Pod>(&mut self, addr: u64, v: &T, h: &mut MmHost) -> Result<(), Errno> {
        self.copy_out(addr, bytes_of(v), h)
    }
}
