//! ELF64 headers: just what loading a program needs.

use crate::errno::Errno;

pub const PT_LOAD: u32 = 1;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const ET_EXEC: u16 = 2;
pub const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;
pub const PHDR_SIZE: usize = 56;

/// A program header.
#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    pub p_type: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// The parts of an ELF file header that loading uses.
#[derive(Clone, Debug)]
pub struct ElfInfo {
    pub e_type: u16,
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub phdrs: Vec<Phdr>,
}

fn u16_at(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}
fn u32_at(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

/// True if `head` starts like an ELF file.
pub fn is_elf(head: &[u8]) -> bool {
    head.len() >= 4 && &head[..4] == b"\x7fELF"
}

/// Parses the ELF header in `head` (the first 64 bytes or more); program
/// headers are parsed from `ph`, read by the caller at `phoff`.
pub fn parse_header(head: &[u8]) -> Result<(u16, u64, u64, u16, u16), Errno> {
    if head.len() < 64 || !is_elf(head) {
        return Err(Errno::ENOEXEC);
    }
    // 64-bit, little-endian, current version, x86-64.
    if head[4] != 2 || head[5] != 1 || head[6] != 1 || u16_at(head, 18) != EM_X86_64 {
        return Err(Errno::ENOEXEC);
    }
    let e_type = u16_at(head, 16);
    if e_type != ET_EXEC && e_type != ET_DYN {
        return Err(Errno::ENOEXEC);
    }
    let entry = u64_at(head, 24);
    let phoff = u64_at(head, 32);
    let phentsize = u16_at(head, 54);
    let phnum = u16_at(head, 56);
    if phentsize as usize != PHDR_SIZE || phnum == 0 || phnum > 512 {
        return Err(Errno::ENOEXEC);
    }
    Ok((e_type, entry, phoff, phnum, phentsize))
}

/// Parses `phnum` program headers.
pub fn parse_phdrs(b: &[u8], phnum: u16) -> Result<Vec<Phdr>, Errno> {
    if b.len() < phnum as usize * PHDR_SIZE {
        return Err(Errno::ENOEXEC);
    }
    Ok((0..phnum as usize)
        .map(|i| {
            let o = i * PHDR_SIZE;
            Phdr {
                p_type: u32_at(b, o),
                flags: u32_at(b, o + 4),
                offset: u64_at(b, o + 8),
                vaddr: u64_at(b, o + 16),
                filesz: u64_at(b, o + 32),
                memsz: u64_at(b, o + 40),
                align: u64_at(b, o + 48),
            }
        })
        .collect())
}

/// `PF_*` flags to `PROT_*`.
pub fn prot_of(flags: u32) -> i32 {
    let mut p = 0;
    if flags & 4 != 0 {
        p |= libc::PROT_READ;
    }
    if flags & 2 != 0 {
        p |= libc::PROT_WRITE;
    }
    if flags & 1 != 0 {
        p |= libc::PROT_EXEC;
    }
    p
}
