//! System call patching: `mov $NR, %eax; syscall` sequences in application
//! text become jumps into a table of small entries that reach the
//! platform's fast entry (systrap's trampoline), so that the call is served
//! without a signal. gVisor's systrap does the same ("usertrap").
//!
//! A second sequence is patched too: the end of glibc's `syscall(3)`,
//! `mov 8(%rsp), %r9; syscall` (also 7 bytes, the first instruction also 5),
//! whose number is in `%rax`. Its entries go to the platform's second fast
//! entry ([`RAX_ENTRY_OFF`] bytes after the first), which loads `%r9` as
//! the site would have and takes the number from `%rax`; the calls in
//! [`NEVER`] go on to the slow path there, at run time.
//!
//! ## The table
//!
//! A private VMA `[patch]` at [`TABLE_ADDR`] (below 2 GiB, so that a patched
//! site can reach it with a 7-byte `jmp *abs32`). Entry 0 is a header:
//!
//! ```text
//! +0   u64  where entries jump: the platform's fast entry, or +8
//! +8        jmp *%r11                (the entry's slow path, for platforms
//!                                     without a fast entry)
//! +16  u32  index of the next free entry
//! +24  u64  where entries of `syscall(3)` sites jump: the platform's
//!           entry for numbers in %rax, or +8
//! ```
//!
//! Each further entry (`ENTRY_SIZE` bytes, at E) serves one site:
//!
//! ```text
//! E+0   lea 6(%rip), %r11            r11 = E+13, the slow path
//! E+7   jmp *TABLE(%rip)             to the fast entry (TABLE+24 for a
//!                                    `syscall(3)` site)
//! E+13  mov $NR, %eax                slow path: the site's own 7 bytes,
//! E+18  syscall                      which trap as before
//! E+20  jmp *E+26(%rip)
//! E+26  u64 RET                      the address after the site
//! E+34  u64 E                        what the site's jmp reads
//! ```
//!
//! The site becomes `jmp *(E+34)` (`ff 24 25` and the 32-bit address).
//! The address is in `0x6xxxx`, so the site's sixth byte, where the
//! `syscall` began, is `0x06`: an invalid instruction in 64-bit mode. The
//! patch is written in three steps (that byte, then the rest but the
//! first, then the first), so a thread that ran the old `mov` and then
//! meets the new bytes traps with `SIGILL` there; so does a restarted
//! system call (rip moved back by two). [`MemoryManager::patched_sigill`]
//! recognises both. A jump into the middle of a patched site would run
//! garbage: like gVisor, we accept that risk for this sequence, which
//! compilers and libcs emit as a unit.
//!
//! The text is written like `PTRACE_POKETEXT`: the page gets a private
//! copy in this address space (copy-on-write), so `fork` shares it and
//! checkpoints save it; the table is ordinary application memory, saved
//! and restored with it. After a restore, [`MemoryManager::patch_retarget`]
//! points the header at the new platform's entry.

use super::{Backing, MemoryManager, MmHost, MmapOpts};
use crate::errno::Errno;
use crate::memory::{page_down, PAGE_SIZE};

/// Where the patch table is in every address space that has one.
pub const TABLE_ADDR: u64 = 0x6_0000;
/// Its length: 64 KiB, so every address in it is `0x6xxxx`.
pub const TABLE_LEN: u64 = 0x1_0000;
/// Its name in `/proc/[pid]/maps`.
pub const TABLE_NAME: &str = "[patch]";
const ENTRY_SIZE: u64 = 48;
const HDR_NEXT: u64 = 16;
/// The header's target for `syscall(3)` sites.
const HDR_RAX: u64 = 24;
/// Where the platform's fast entry for numbers in `%rax` is, from its
/// first fast entry.
pub const RAX_ENTRY_OFF: u64 = 8;
/// The end of glibc's `syscall(3)`: `mov 8(%rsp), %r9; syscall`.
const SYSCALL3_SITE: [u8; 7] = [0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05];
/// The pointer the site's jmp reads, relative to the entry.
const PTR_OFF: u64 = 34;

/// System calls never served by the fast path: they replace or rebuild the
/// whole register state, which the fast path would only have to hand over.
/// Their `mov $NR` sites are not patched; the trampoline sends them on to
/// the slow path when they come through a `syscall(3)` site.
pub const NEVER: [u64; 7] = [
    libc::SYS_rt_sigreturn as u64,
    libc::SYS_clone as u64,
    libc::SYS_fork as u64,
    libc::SYS_vfork as u64,
    libc::SYS_clone3 as u64,
    libc::SYS_execve as u64,
    libc::SYS_execveat as u64,
];

/// The sequences that are patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchedSite {
    /// `mov $NR, %eax; syscall`.
    MovImm,
    /// glibc's `syscall(3)`: `mov 8(%rsp), %r9; syscall`.
    Syscall3,
}

/// What a `SIGILL` at a patched site means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchedTrap {
    /// Not a patched site.
    No,
    /// Run the site again (from its start, `site`).
    Rerun(u64),
}

impl MemoryManager {
    /// Writes `data` at `addr` whatever the protections, as a debugger's
    /// `PTRACE_POKETEXT` does: a private page gets its own copy first.
    /// Shared mappings are refused (`EFAULT`).
    pub fn poke(&mut self, addr: u64, data: &[u8], h: &mut MmHost) -> Result<(), Errno> {
        addr.checked_add(data.len() as u64).ok_or(Errno::EFAULT)?;
        let mut done = 0usize;
        while done < data.len() {
            let a = addr + done as u64;
            let n = ((PAGE_SIZE - a % PAGE_SIZE) as usize).min(data.len() - done);
            let page = page_down(a);
            let (_, v) = self.vma_at(page).ok_or(Errno::EFAULT)?;
            if v.shared || v.prot == libc::PROT_NONE {
                return Err(Errno::EFAULT);
            }
            if self.pma_at(page).is_none() {
                self.populate(page, false, h)?;
            }
            if self.pma_at(page).is_some_and(|(_, p)| p.cow) {
                self.break_cow(page, h)?;
            }
            let (s, p) = self.pma_at(page).ok_or(Errno::EFAULT)?;
            h.mf.write(p.frame + (a - s), &data[done..done + n]);
            done += n;
        }
        Ok(())
    }

    /// Patches the system call that just trapped with return address
    /// `ret` and number `nr`, if its instruction bytes are a patchable
    /// sequence and it is safe to. `entry` is the platform's fast entry.
    /// Returns the kind of site it patched.
    pub fn patch_syscall(
        &mut self,
        ret: u64,
        nr: u64,
        entry: u64,
        h: &mut MmHost,
    ) -> Option<PatchedSite> {
        let site = ret.checked_sub(7)?;
        if page_down(site) != page_down(ret - 1) {
            return None;
        }
        let (_, v) = self.vma_at(site)?;
        if v.shared
            || v.prot & libc::PROT_EXEC == 0
            || v.prot & libc::PROT_READ == 0
            || v.name == "[vdso]"
            || v.name == TABLE_NAME
        {
            return None;
        }
        let mut b = [0u8; 7];
        self.copy_in(site, &mut b, h).ok()?;
        let imm = u32::from_le_bytes(b[1..5].try_into().expect("4 bytes"));
        let kind = if b == SYSCALL3_SITE {
            PatchedSite::Syscall3
        } else if b[0] == 0xb8
            && b[5..7] == [0x0f, 0x05]
            && imm as u64 == nr
            && !NEVER.contains(&nr)
        {
            PatchedSite::MovImm
        } else {
            return None;
        };
        let target = match kind {
            PatchedSite::MovImm => TABLE_ADDR,
            PatchedSite::Syscall3 => TABLE_ADDR + HDR_RAX,
        };
        let e = self.new_entry(entry, h)?;
        // The entry first, then the site (see the module comment).
        let mut code = Vec::with_capacity(ENTRY_SIZE as usize);
        code.extend_from_slice(&[0x4c, 0x8d, 0x1d, 6, 0, 0, 0]);
        let to_hdr = (target as i64 - (e + 13) as i64) as i32;
        code.extend_from_slice(&[0xff, 0x25]);
        code.extend_from_slice(&to_hdr.to_le_bytes());
        code.extend_from_slice(&b);
        code.extend_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
        code.extend_from_slice(&ret.to_le_bytes());
        code.extend_from_slice(&e.to_le_bytes());
        debug_assert_eq!(code.len() as u64, PTR_OFF + 8);
        self.poke(e, &code, h).ok()?;
        let p = ((e + PTR_OFF) as u32).to_le_bytes();
        debug_assert_eq!(p[2], 0x06);
        let steps: [(u64, &[u8]); 3] = [
            (site + 5, &p[2..3]),
            (site + 1, &[0x24, 0x25, p[0], p[1], p[2], p[3]]),
            (site, &[0xff]),
        ];
        for (a, bytes) in steps {
            self.poke(a, bytes, h).ok()?;
            std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        }
        Some(kind)
    }

    /// A fresh table entry (creating the table if needed); None when the
    /// table is full or its place is taken.
    fn new_entry(&mut self, entry: u64, h: &mut MmHost) -> Option<u64> {
        if !self.has_patch_table() {
            if self.vma_at(TABLE_ADDR).is_some()
                || self
                    .vmas
                    .range(TABLE_ADDR..TABLE_ADDR + TABLE_LEN)
                    .next()
                    .is_some()
            {
                return None;
            }
            let rx = libc::PROT_READ | libc::PROT_EXEC;
            let opts = MmapOpts {
                addr: TABLE_ADDR,
                len: TABLE_LEN,
                prot: rx,
                max_prot: rx | libc::PROT_WRITE,
                shared: false,
                fixed: true,
                noreplace: true,
                grows_down: false,
                backing: Backing::Anon,
                name: TABLE_NAME.to_string(),
                dev_ino: (0, 0),
            };
            self.mmap(opts, h).ok()?;
            let mut hdr = [0u8; 32];
            hdr[0..8].copy_from_slice(&entry.to_le_bytes());
            hdr[8..11].copy_from_slice(&[0x41, 0xff, 0xe3]);
            hdr[16..20].copy_from_slice(&1u32.to_le_bytes());
            hdr[24..32].copy_from_slice(&(entry + RAX_ENTRY_OFF).to_le_bytes());
            self.poke(TABLE_ADDR, &hdr, h).ok()?;
        }
        let mut b = [0u8; 4];
        self.copy_in(TABLE_ADDR + HDR_NEXT, &mut b, h).ok()?;
        let next = u32::from_le_bytes(b) as u64;
        if next == 0 || (next + 1) * ENTRY_SIZE > TABLE_LEN {
            return None;
        }
        self.poke(TABLE_ADDR + HDR_NEXT, &((next + 1) as u32).to_le_bytes(), h)
            .ok()?;
        Some(TABLE_ADDR + next * ENTRY_SIZE)
    }

    fn has_patch_table(&self) -> bool {
        self.vmas
            .get(&TABLE_ADDR)
            .is_some_and(|v| v.name == TABLE_NAME && !v.shared)
    }

    /// Points the table's entries at `entry` (the platform's fast entry),
    /// or at their slow paths when the platform has none. For an address
    /// space restored onto another platform.
    pub fn patch_retarget(&mut self, entry: Option<u64>, h: &mut MmHost) {
        if !self.has_patch_table() {
            return;
        }
        let slow = TABLE_ADDR + 8;
        let targets = [
            (TABLE_ADDR, entry.unwrap_or(slow)),
            (
                TABLE_ADDR + HDR_RAX,
                entry.map_or(slow, |e| e + RAX_ENTRY_OFF),
            ),
        ];
        for (at, target) in targets {
            if let Err(e) = self.poke(at, &target.to_le_bytes(), h) {
                tracing::warn!("patch table: cannot retarget: {e:?}");
            }
        }
    }

    /// What a `SIGILL` at `rip` means: a patched site whose old `mov` ran
    /// (or whose `syscall` was restarted) is run again from its start.
    pub fn patched_sigill(&mut self, rip: u64, h: &mut MmHost) -> PatchedTrap {
        let Some(site) = rip.checked_sub(5) else {
            return PatchedTrap::No;
        };
        if !self.has_patch_table() {
            return PatchedTrap::No;
        }
        let mut b = [0u8; 7];
        if self.copy_in(site, &mut b, h).is_err() {
            return PatchedTrap::No;
        }
        let ptr = u32::from_le_bytes(b[3..7].try_into().expect("4 bytes")) as u64;
        let ours = b[0..3] == [0xff, 0x24, 0x25]
            && (TABLE_ADDR + ENTRY_SIZE..TABLE_ADDR + TABLE_LEN).contains(&ptr)
            && (ptr - TABLE_ADDR) % ENTRY_SIZE == PTR_OFF;
        if ours {
            PatchedTrap::Rerun(site)
        } else {
            PatchedTrap::No
        }
    }
}
