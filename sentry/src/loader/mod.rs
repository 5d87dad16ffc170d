//! Loading programs: ELF executables (static, static-PIE, dynamic with an
//! interpreter) into a fresh address space, and the initial stack with
//! argv, envp and the auxiliary vector. The host never `exec`s anything:
//! segments are mapped from the file through the VFS like any `mmap`.

pub mod elf;

use crate::errno::Errno;
use crate::memory::{page_down, page_up, PAGE_SIZE};
use crate::mm::{Backing, MemoryManager, MmHost, MmapOpts, Vma, TASK_SIZE};
use crate::vfs::{FileId, Vfs};
use elf::{Phdr, ET_DYN, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_PHDR};

/// Where the main program of a position-independent executable goes
/// (Linux `ELF_ET_DYN_BASE` without randomization).
pub const PIE_BASE: u64 = 0x5555_5555_4000;
/// Top of the initial stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// Initial size of the stack VMA (it grows down on faults).
const STACK_INITIAL: u64 = 132 * 1024;

/// What the loaded program needs to start.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
}

/// The process-level inputs of a load.
pub struct LoadArgs<'a> {
    pub argv: &'a [Vec<u8>],
    pub envp: &'a [Vec<u8>],
    /// The path as given to execve (`AT_EXECFN`).
    pub execfn: &'a [u8],
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub stack_limit: u64,
    /// 16 random bytes for `AT_RANDOM`.
    pub random: [u8; 16],
    /// The vDSO's memory objects, mapped into the new address space and
    /// passed as `AT_SYSINFO_EHDR`; `None` runs the program without one.
    pub vdso: Option<crate::vdso::VdsoObject>,
}

struct Image {
    bias: u64,
    entry: u64,
    phdr_addr: u64,
    phnum: u16,
    end: u64,
    interp: Option<Vec<u8>>,
}

fn read_exact(vfs: &mut Vfs, f: FileId, off: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut b = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let n = vfs.read_at(f, off + got as u64, &mut b[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    b.truncate(got);
    Ok(b)
}

/// Maps one ELF object. `main` selects the main program's placement (PIE
/// base) over the interpreter's (anywhere in the mmap area).
fn map_object(
    mm: &mut MemoryManager,
    f: FileId,
    main: bool,
    h: &mut MmHost,
) -> Result<Image, Errno> {
    let head = {
        let mut b = vec![0u8; 64];
        let n = h.read_file(f, 0, &mut b)?;
        b.truncate(n);
        b
    };
    let (e_type, entry, phoff, phnum, _) = elf::parse_header(&head)?;
    let mut ph = vec![0u8; phnum as usize * elf::PHDR_SIZE];
    let mut got = 0;
    while got < ph.len() {
        let n = h.read_file(f, phoff + got as u64, &mut ph[got..])?;
        if n == 0 {
            return Err(Errno::ENOEXEC);
        }
        got += n;
    }
    let phdrs = elf::parse_phdrs(&ph, phnum)?;
    let loads: Vec<&Phdr> = phdrs
        .iter()
        .filter(|p| p.p_type == PT_LOAD && p.memsz > 0)
        .collect();
    if loads.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let mut interp = None;
    for p in &phdrs {
        if p.p_type == PT_INTERP && main {
            if p.filesz == 0 || p.filesz > 4096 {
                return Err(Errno::ENOEXEC);
            }
            let mut b = vec![0u8; p.filesz as usize];
            let n = h.read_file(f, p.offset, &mut b)?;
            b.truncate(n);
            if let Some(i) = b.iter().position(|&c| c == 0) {
                b.truncate(i);
            }
            interp = Some(b);
        }
    }
    let lo = page_down(loads.iter().map(|p| p.vaddr).min().expect("non-empty"));
    let hi = loads
        .iter()
        .map(|p| p.vaddr.checked_add(p.memsz))
        .try_fold(0u64, |acc, x| x.map(|x| acc.max(x)))
        .ok_or(Errno::ENOEXEC)?;
    let hi = page_up(hi).ok_or(Errno::ENOEXEC)?;
    let span = hi - lo;
    let bias = if e_type == ET_DYN {
        let want = if main { PIE_BASE } else { 0 };
        let start = mm.find_free(span, want).ok_or(Errno::ENOMEM)?;
        start - lo
    } else {
        0
    };
    if lo
        .checked_add(bias)
        .and_then(|x| x.checked_add(span))
        .is_none_or(|e| e > TASK_SIZE)
    {
        return Err(Errno::ENOEXEC);
    }
    let (name, dev_ino) = h.files.mapping_info(f);
    let mut end = 0;
    for p in &loads {
        if p.filesz > p.memsz || p.offset % PAGE_SIZE != p.vaddr % PAGE_SIZE {
            return Err(Errno::ENOEXEC);
        }
        let prot = elf::prot_of(p.flags);
        let start = page_down(p.vaddr + bias);
        let file_end = p.vaddr + bias + p.filesz;
        let mem_end = page_up(p.vaddr + bias + p.memsz).ok_or(Errno::ENOEXEC)?;
        let map_end = page_up(file_end).ok_or(Errno::ENOEXEC)?;
        if map_end > start {
            h.files.hold_file(f, true);
            mm.mmap(
                MmapOpts {
                    addr: start,
                    len: map_end - start,
                    prot,
                    max_prot: libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                    shared: false,
                    fixed: true,
                    noreplace: false,
                    grows_down: false,
                    backing: Backing::File {
                        file: f,
                        offset: page_down(p.offset),
                    },
                    name: name.clone(),
                    dev_ino,
                },
                h,
            )?;
            // The bytes after the file data on the last page are bss.
            if p.memsz > p.filesz && file_end < map_end && prot & libc::PROT_WRITE != 0 {
                mm.zero_out(file_end, map_end - file_end, h)?;
            }
        }
        if mem_end > map_end {
            mm.mmap(
                MmapOpts {
                    addr: map_end,
                    len: mem_end - map_end,
                    prot,
                    max_prot: libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
                    shared: false,
                    fixed: true,
                    noreplace: false,
                    grows_down: false,
                    backing: Backing::Anon,
                    name: String::new(),
                    dev_ino: (0, 0),
                },
                h,
            )?;
        }
        end = end.max(mem_end);
    }
    // Where the program headers are in memory.
    let phdr_addr = match phdrs.iter().find(|p| p.p_type == PT_PHDR) {
        Some(p) => p.vaddr + bias,
        None => loads
            .iter()
            .find(|p| p.offset <= phoff && phoff < p.offset + p.filesz)
            .map(|p| p.vaddr + bias + (phoff - p.offset))
            .unwrap_or(0),
    };
    let _ = phdrs.iter().any(|p| p.p_type == PT_GNU_STACK);
    Ok(Image {
        bias,
        entry: entry + bias,
        phdr_addr,
        phnum,
        end,
        interp,
    })
}

/// Loads the program `f` (and its interpreter, opened through `open_interp`)
/// into the empty address space `mm` and builds the initial stack.
pub fn load(
    mm: &mut MemoryManager,
    f: FileId,
    args: &LoadArgs,
    fs: u64,
    h: &mut MmHost,
) -> Result<Loaded, Errno> {
    let stack_gap = args.stack_limit.clamp(128 << 20, TASK_SIZE / 6 * 5);
    mm.mmap_base = page_down(STACK_TOP - stack_gap);
    let main = map_object(mm, f, true, h)?;
    let mut base = 0;
    let mut entry = main.entry;
    if let Some(path) = &main.interp {
        let fi = h.files.open_exec(fs, path)?;
        let r = map_object(mm, fi, false, h);
        h.files.hold_file(fi, false);
        let interp = r?;
        if interp.interp.is_some() {
            return Err(Errno::ELIBBAD);
        }
        base = interp.bias;
        entry = interp.entry;
    }
    mm.brk_start = main.end;
    mm.brk = main.end;
    let vdso = args
        .vdso
        .and_then(|obj| match crate::vdso::map(mm, &obj, h) {
            Ok(addr) => Some(addr),
            Err(e) => {
                tracing::warn!("mapping the vDSO failed ({e:?}); the program runs without");
                None
            }
        });
    let sp = build_stack(mm, args, &main, base, vdso, h)?;
    Ok(Loaded { entry, sp })
}

const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_SYSINFO_EHDR: u64 = 33;
const AT_MINSIGSTKSZ: u64 = 51;

/// Writes argv, envp and auxv onto a new stack VMA; returns the initial
/// stack pointer (pointing at argc).
fn build_stack(
    mm: &mut MemoryManager,
    a: &LoadArgs,
    main: &Image,
    base: u64,
    vdso: Option<u64>,
    h: &mut MmHost,
) -> Result<u64, Errno> {
    let strings: usize = a
        .argv
        .iter()
        .chain(a.envp.iter())
        .map(|s| s.len() + 1)
        .sum::<usize>()
        + a.execfn.len()
        + 1;
    let ptrs = (a.argv.len() + a.envp.len() + 3) * 8 + 40 * 8;
    let need = page_up((strings + ptrs + 256) as u64).ok_or(Errno::E2BIG)?;
    if need > a.stack_limit / 4 {
        return Err(Errno::E2BIG);
    }
    let size = need.max(STACK_INITIAL);
    let stack_lo = STACK_TOP - size;
    mm.insert_vma(
        stack_lo,
        Vma {
            end: STACK_TOP,
            prot: libc::PROT_READ | libc::PROT_WRITE,
            max_prot: libc::PROT_READ | libc::PROT_WRITE | libc::PROT_EXEC,
            shared: false,
            grows_down: true,
            backing: Backing::Anon,
            name: "[stack]".into(),
            dev_ino: (0, 0),
            dont_fork: false,
            locked: false,
        },
        h,
    )?;
    // Strings at the top, highest first: execfn, then envp, then argv.
    let mut sp = STACK_TOP - 8;
    let push_str =
        |mm: &mut MemoryManager, s: &[u8], sp: &mut u64, h: &mut MmHost| -> Result<u64, Errno> {
            *sp -= s.len() as u64 + 1;
            let mut v = s.to_vec();
            v.push(0);
            mm.copy_out(*sp, &v, h)?;
            Ok(*sp)
        };
    let execfn = push_str(mm, a.execfn, &mut sp, h)?;
    let env_end = sp;
    let mut envp_addrs: Vec<u64> = Vec::with_capacity(a.envp.len());
    for e in a.envp.iter().rev() {
        envp_addrs.push(push_str(mm, e, &mut sp, h)?);
    }
    envp_addrs.reverse();
    let arg_end = sp;
    let mut argv_addrs: Vec<u64> = Vec::with_capacity(a.argv.len());
    for s in a.argv.iter().rev() {
        argv_addrs.push(push_str(mm, s, &mut sp, h)?);
    }
    argv_addrs.reverse();
    mm.argv = (sp, arg_end);
    mm.envp = (arg_end, env_end);
    let platform = push_str(mm, b"x86_64", &mut sp, h)?;
    sp &= !15;
    sp -= 16;
    let random = sp;
    mm.copy_out(random, &a.random, h)?;

    let (hwcap, hwcap2) = host_hwcaps();
    let mut auxv: Vec<(u64, u64)> = vdso.map(|a| (AT_SYSINFO_EHDR, a)).into_iter().collect();
    auxv.extend([
        (AT_MINSIGSTKSZ, 2048),
        (AT_HWCAP, hwcap),
        (AT_PAGESZ, PAGE_SIZE),
        (AT_CLKTCK, 100),
        (AT_PHDR, main.phdr_addr),
        (AT_PHENT, elf::PHDR_SIZE as u64),
        (AT_PHNUM, main.phnum as u64),
        (AT_BASE, base),
        (AT_FLAGS, 0),
        (AT_ENTRY, main.entry),
        (AT_UID, a.uid as u64),
        (AT_EUID, a.euid as u64),
        (AT_GID, a.gid as u64),
        (AT_EGID, a.egid as u64),
        (AT_SECURE, 0),
        (AT_RANDOM, random),
        (AT_HWCAP2, hwcap2),
        (AT_EXECFN, execfn),
        (AT_PLATFORM, platform),
        (AT_NULL, 0),
    ]);
    mm.auxv = auxv.clone();
    let words = 1 + argv_addrs.len() + 1 + envp_addrs.len() + 1 + auxv.len() * 2;
    sp -= words as u64 * 8;
    sp &= !15;
    let mut v: Vec<u64> = Vec::with_capacity(words);
    v.push(a.argv.len() as u64);
    v.extend(&argv_addrs);
    v.push(0);
    v.extend(&envp_addrs);
    v.push(0);
    for (k, val) in auxv {
        v.push(k);
        v.push(val);
    }
    let bytes: Vec<u8> = v.iter().flat_map(|w| w.to_le_bytes()).collect();
    mm.copy_out(sp, &bytes, h)?;
    Ok(sp)
}

/// The host's `AT_HWCAP` and `AT_HWCAP2`: the application runs on the same
/// CPU, so it may use what the host CPU offers.
fn host_hwcaps() -> (u64, u64) {
    // SAFETY: getauxval has no preconditions.
    unsafe {
        (
            libc::getauxval(libc::AT_HWCAP),
            libc::getauxval(libc::AT_HWCAP2),
        )
    }
}

/// Parses a `#!` line: the interpreter and its optional single argument.
pub fn parse_shebang(head: &[u8]) -> Option<(Vec<u8>, Option<Vec<u8>>)> {
    if !head.starts_with(b"#!") {
        return None;
    }
    let line = &head[2..];
    let line = &line[..line.iter().position(|&c| c == b'\n').unwrap_or(line.len())];
    let trimmed: &[u8] = {
        let s = line
            .iter()
            .position(|&c| c != b' ' && c != b'\t')
            .unwrap_or(line.len());
        let e = line
            .iter()
            .rposition(|&c| c != b' ' && c != b'\t' && c != b'\r')
            .map_or(s, |e| e + 1);
        if s >= e {
            &[]
        } else {
            &line[s..e]
        }
    };
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.iter().position(|&c| c == b' ' || c == b'\t') {
        None => Some((trimmed.to_vec(), None)),
        Some(i) => {
            let rest = &trimmed[i..];
            let s = rest
                .iter()
                .position(|&c| c != b' ' && c != b'\t')
                .unwrap_or(rest.len());
            let arg = &rest[s..];
            Some((
                trimmed[..i].to_vec(),
                (!arg.is_empty()).then(|| arg.to_vec()),
            ))
        }
    }
}

/// Reads the first bytes of a file (to recognize ELF or `#!`).
pub fn read_head(vfs: &mut Vfs, f: FileId) -> Result<Vec<u8>, Errno> {
    read_exact(vfs, f, 0, 256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        assert_eq!(
            parse_shebang(b"#!/bin/sh\necho"),
            Some((b"/bin/sh".to_vec(), None))
        );
        assert_eq!(
            parse_shebang(b"#! /usr/bin/env  python3 -u \n"),
            Some((b"/usr/bin/env".to_vec(), Some(b"python3 -u".to_vec())))
        );
        assert_eq!(parse_shebang(b"#!\n"), None);
        assert_eq!(parse_shebang(b"\x7fELF"), None);
    }
}
