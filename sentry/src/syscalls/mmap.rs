//! Memory system calls: decode, validate, and call `mm`.

use super::{Args, Support, SysResult, Table};
use crate::errno::Errno;
use crate::kernel::{Kernel, Tid};
use crate::mm::{Backing, MmapOpts};

pub fn register(t: &mut Table) {
    use libc::*;
    t.add(
        SYS_mmap,
        sys_mmap,
        Support::Partial("MAP_SHARED of host files is private to the sandbox"),
    );
    t.add(SYS_munmap, sys_munmap, Support::Full);
    t.add(SYS_mprotect, sys_mprotect, Support::Full);
    t.add(SYS_brk, sys_brk, Support::Full);
    t.add(
        SYS_mremap,
        sys_mremap,
        Support::Partial("MREMAP_DONTUNMAP and old_size 0 fail with EINVAL"),
    );
    t.add(SYS_madvise, sys_madvise, Support::Full);
    t.add(SYS_mincore, sys_mincore, Support::Full);
    t.add(SYS_msync, sys_msync, Support::Full);
    t.add(
        SYS_mlock,
        sys_mlock,
        Support::Partial("accepted; sandbox memory is never swapped by us"),
    );
    t.add(SYS_munlock, sys_mlock, Support::Partial("accepted"));
    t.add(SYS_mlockall, sys_mlockall, Support::Partial("accepted"));
    t.add(SYS_munlockall, sys_mlockall, Support::Partial("accepted"));
}

fn sys_mmap(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let (addr, len, prot, flags, fd, off) =
        (a.u64(0), a.u64(1), a.i32(2), a.i32(3), a.fd(4), a.u64(5));
    let kind = flags & libc::MAP_TYPE;
    let shared = match kind {
        libc::MAP_SHARED | libc::MAP_SHARED_VALIDATE => true,
        libc::MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL.into()),
    };
    if prot
        & !(libc::PROT_READ
            | libc::PROT_WRITE
            | libc::PROT_EXEC
            | libc::PROT_GROWSDOWN
            | libc::PROT_GROWSUP)
        != 0
    {
        return Err(Errno::EINVAL.into());
    }
    let prot = prot & (libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC);
    if off % crate::memory::PAGE_SIZE != 0 {
        return Err(Errno::EINVAL.into());
    }
    // A mapping of /dev/zero is anonymous memory.
    let anon = flags & libc::MAP_ANONYMOUS != 0 || k.vfs.maps_as_anonymous(k.task(tid).fdtable, fd);
    let (backing, name, dev_ino, max_prot) = if anon {
        if shared {
            let size = crate::memory::page_up(len).ok_or(Errno::ENOMEM)?;
            let obj = k.objects.create(size);
            (
                Backing::Object {
                    object: obj,
                    offset: 0,
                },
                "/dev/zero (deleted)".to_string(),
                (0, 0),
                7,
            )
        } else {
            (Backing::Anon, String::new(), (0, 0), 7)
        }
    } else {
        let table = k.task(tid).fdtable;
        let f = k.vfs.get_fd(table, fd)?;
        let (name, dev_ino, max_prot) = k.vfs.mmap_check(f, shared, prot)?;
        // The VMA takes a reference on the open file (or its memory).
        match k.vfs.file_memory_object(f) {
            Some(obj) if shared => {
                k.objects.hold(obj);
                (
                    Backing::Object {
                        object: obj,
                        offset: off,
                    },
                    name,
                    dev_ino,
                    max_prot,
                )
            }
            _ => {
                k.vfs.file_hold(f);
                (
                    Backing::File {
                        file: f,
                        offset: off,
                    },
                    name,
                    dev_ino,
                    max_prot,
                )
            }
        }
    };
    let opts = MmapOpts {
        addr,
        len,
        prot,
        max_prot,
        shared,
        fixed: flags & libc::MAP_FIXED != 0,
        noreplace: flags & libc::MAP_FIXED_NOREPLACE != 0,
        grows_down: flags & libc::MAP_GROWSDOWN != 0,
        backing: backing.clone(),
        name,
        dev_ino,
    };
    // RLIMIT_AS bounds the address space (a MAP_FIXED that replaces
    // mappings is counted as growth too; Linux subtracts the overlap).
    let limit = k.rlimit(tid, libc::RLIMIT_AS as usize).0;
    let size = crate::memory::page_up(len).unwrap_or(u64::MAX);
    let r = if limit != u64::MAX
        && k.mms[&k.task(tid).mm].virtual_size().saturating_add(size) > limit
    {
        Err(Errno::ENOMEM)
    } else {
        k.with_mm(tid, |m, h| m.mmap(opts, h))
    };
    if r.is_err() {
        // Give back the reference the VMA would have held.
        match backing {
            Backing::File { file, .. } => k.vfs.file_release(file),
            Backing::Object { object, .. } => {
                let host = k.host.as_mut().expect("host attached");
                k.objects.release(object, &mut k.frames, &host.mf);
            }
            Backing::Anon => {}
        }
    }
    Ok(r?)
}

fn sys_munmap(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.with_mm(tid, |m, h| m.munmap(a.u64(0), a.u64(1), h))?;
    Ok(0)
}

fn sys_mprotect(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.with_mm(tid, |m, h| m.mprotect(a.u64(0), a.u64(1), a.i32(2), h))?;
    Ok(0)
}

fn sys_brk(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    Ok(k.with_mm(tid, |m, h| m.set_brk(a.u64(0), h)))
}

fn sys_mremap(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    Ok(k.with_mm(tid, |m, h| {
        m.mremap(a.u64(0), a.u64(1), a.u64(2), a.i32(3), a.u64(4), h)
    })?)
}

fn sys_madvise(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.with_mm(tid, |m, h| m.madvise(a.u64(0), a.u64(1), a.i32(2), h))?;
    Ok(0)
}

fn sys_mincore(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let v = k.with_mm(tid, |m, h| m.mincore(a.u64(0), a.u64(1), h))?;
    k.copy_out(tid, a.ptr(2), &v)?;
    Ok(0)
}

fn sys_msync(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    k.with_mm(tid, |m, _| m.msync(a.u64(0), a.u64(1), a.i32(2)))?;
    Ok(0)
}

fn sys_mlock(k: &mut Kernel, tid: Tid, a: &Args) -> SysResult {
    let end = a.u64(0).checked_add(a.u64(1)).ok_or(Errno::EINVAL)?;
    let start = a.u64(0) & !(crate::memory::PAGE_SIZE - 1);
    if !k.mms[&k.task(tid).mm].fully_mapped(start, end) {
        return Err(Errno::ENOMEM.into());
    }
    Ok(0)
}

fn sys_mlockall(_: &mut Kernel, _: Tid, _: &Args) -> SysResult {
    Ok(0)
}
