//! x86-64 machine state of a task: general registers and the FPU/SSE/AVX
//! area, in forms that serialize.

use serde::{Deserialize, Serialize};

/// The general registers, laid out as the kernel's `user_regs_struct`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct Regs {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub orig_rax: u64,
    pub rip: u64,
    pub cs: u64,
    pub eflags: u64,
    pub rsp: u64,
    pub ss: u64,
    pub fs_base: u64,
    pub gs_base: u64,
    pub ds: u64,
    pub es: u64,
    pub fs: u64,
    pub gs: u64,
}

const _: () = assert!(std::mem::size_of::<Regs>() == std::mem::size_of::<libc::user_regs_struct>());

impl Regs {
    /// The `i`th system call argument (0-based), in the x86-64 order
    /// rdi, rsi, rdx, r10, r8, r9.
    pub fn arg(&self, i: usize) -> u64 {
        match i {
            0 => self.rdi,
            1 => self.rsi,
            2 => self.rdx,
            3 => self.r10,
            4 => self.r8,
            5 => self.r9,
            _ => 0,
        }
    }

    /// The system call number of a syscall stop.
    pub fn syscall_nr(&self) -> u64 {
        self.orig_rax
    }

    /// Registers of a fresh user thread starting at `entry` with stack `sp`.
    pub fn initial(entry: u64, sp: u64) -> Regs {
        Regs {
            rip: entry,
            rsp: sp,
            cs: 0x33,
            ss: 0x2b,
            eflags: 0x202,
            ..Regs::default()
        }
    }
}

/// Size of the FXSAVE area (x87, MMX, SSE).
pub const FXSAVE_SIZE: usize = 512;

/// The floating point and vector state (XSAVE layout; the first 512 bytes are
/// the FXSAVE area). Its length is what the host reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FpState(pub Vec<u8>);

impl FpState {
    /// The state of a fresh thread: default control words, everything zero.
    pub fn initial() -> FpState {
        let mut v = vec![0u8; FXSAVE_SIZE];
        // fcw = 0x37f, mxcsr = 0x1f80 (as after FNINIT / reset).
        v[0..2].copy_from_slice(&0x37fu16.to_le_bytes());
        v[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        FpState(v)
    }
}

impl Default for FpState {
    fn default() -> Self {
        FpState::initial()
    }
}
