//! CRC32C (Castagnoli), the checksum of every part of a checkpoint image.
//!
//! CRC32C rather than the CRC-32 of zip and Ethernet because x86-64 computes
//! it in hardware (SSE4.2 `crc32`), several bytes per cycle, which matters
//! when a gigabyte of memory passes through it. Machines without SSE4.2 use
//! a table-driven software path that gives the same results.
//!
//! The parameters are the usual ones (reflected polynomial `0x82F63B78`,
//! initial value and final XOR `0xFFFFFFFF`), so any CRC32C tool agrees:
//! the checksum of `b"123456789"` is `0xE3069283`.
//!
//! [`combine`] joins the checksums of two adjacent pieces of data into the
//! checksum of their concatenation without reading the data again; the image
//! writer uses it to checksum the whole memory section from the checksums of
//! its extents.

/// The reflected CRC32C polynomial.
const POLY: u32 = 0x82F6_3B78;

/// Tables for the software path, eight bytes at a time ("slicing by 8"):
/// `TABLES[k][b]` is the CRC contribution of byte `b` followed by `k` zero
/// bytes.
static TABLES: [[u32; 256]; 8] = build_tables();

const fn build_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut b = 0;
    while b < 256 {
        let mut crc = b as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        t[0][b] = crc;
        b += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut b = 0;
        while b < 256 {
            let prev = t[k - 1][b];
            t[k][b] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

/// A running CRC32C over data that arrives in pieces.
#[derive(Clone, Copy, Debug)]
pub struct Crc32c {
    /// The register, before the final XOR.
    state: u32,
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32c {
    pub const fn new() -> Crc32c {
        Crc32c { state: !0 }
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.state = update(self.state, data);
    }

    /// The checksum of everything fed so far.
    pub const fn finish(&self) -> u32 {
        !self.state
    }
}

/// The CRC32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = Crc32c::new();
    c.update(data);
    c.finish()
}

/// Advances the register over `data`, in hardware where the CPU can.
fn update(state: u32, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU supports SSE4.2, checked just above, which is
            // all `update_sse42` requires.
            return unsafe { update_sse42(state, data) };
        }
    }
    update_soft(state, data)
}

/// The software path: eight bytes per step through [`TABLES`].
fn update_soft(mut crc: u32, data: &[u8]) -> u32 {
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let lo = crc ^ u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        crc = TABLES[7][(lo & 0xff) as usize]
            ^ TABLES[6][((lo >> 8) & 0xff) as usize]
            ^ TABLES[5][((lo >> 16) & 0xff) as usize]
            ^ TABLES[4][(lo >> 24) as usize]
            ^ TABLES[3][w[4] as usize]
            ^ TABLES[2][w[5] as usize]
            ^ TABLES[1][w[6] as usize]
            ^ TABLES[0][w[7] as usize];
    }
    for &b in words.remainder() {
        crc = (crc >> 8) ^ TABLES[0][((crc ^ b as u32) & 0xff) as usize];
    }
    crc
}

/// Bytes of each of the three streams the hardware path runs at once in
/// a short round. 1360 = 4080 / 3: a page is one round and 16 bytes.
const STREAM: usize = 1360;

/// Bytes of each stream in a long round, for data of at least three of
/// them. Three streams a page apart restart the CPU's prefetcher at every
/// page, and a gigabyte checksummed in short rounds takes over twice as
/// long as in long ones, which read three long stretches of memory.
const LONG_STREAM: usize = 32 << 10;

/// `SHIFTS[k][b]`: byte `b`, in byte position `k` of a register, advanced
/// over one stream of zeros (multiplication by `x^(8 * stream)` is linear,
/// so a register is shifted byte by byte, see [`shift`]).
type Shifts = [[u32; 256]; 4];

static SHIFT_STREAM: Shifts = build_shifts(STREAM as u64);
static SHIFT_LONG_STREAM: Shifts = build_shifts(LONG_STREAM as u64);

const fn build_shifts(stream: u64) -> Shifts {
    let by = shift_for(stream);
    let mut t = [[0u32; 256]; 4];
    let mut k = 0;
    while k < 4 {
        let mut b = 0;
        while b < 256 {
            t[k][b] = mul_mod(by, (b as u32) << (8 * k));
            b += 1;
        }
        k += 1;
    }
    t
}

/// The register `crc` advanced over as many zero bytes as `shifts` is for.
fn shift(shifts: &Shifts, crc: u32) -> u32 {
    shifts[0][(crc & 0xff) as usize]
        ^ shifts[1][((crc >> 8) & 0xff) as usize]
        ^ shifts[2][((crc >> 16) & 0xff) as usize]
        ^ shifts[3][(crc >> 24) as usize]
}

/// The hardware path: the SSE4.2 `crc32` instruction, eight bytes a step.
/// The instruction takes three cycles but can start every cycle, so long
/// data runs as three independent streams whose registers are then joined
/// (the register over `A ++ B` is that over `A` shifted by `B`'s length,
/// XOR that of `B` from zero): about three times the speed of one stream.
/// Rounds of [`LONG_STREAM`]s first, then of [`STREAM`]s, then one stream.
///
/// # Safety
///
/// The CPU must support SSE4.2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn update_sse42(crc: u32, data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    let mut wide = u64::from(crc);
    let mut long = data.chunks_exact(3 * LONG_STREAM);
    for r in &mut long {
        wide = round(wide, r, LONG_STREAM, &SHIFT_LONG_STREAM);
    }
    let mut short = long.remainder().chunks_exact(3 * STREAM);
    for r in &mut short {
        wide = round(wide, r, STREAM, &SHIFT_STREAM);
    }
    let mut words = short.remainder().chunks_exact(8);
    for w in &mut words {
        wide = _mm_crc32_u64(wide, word(w));
    }
    // The instruction leaves the 32-bit register zero-extended.
    let mut crc = wide as u32;
    for &b in words.remainder() {
        crc = _mm_crc32_u8(crc, b);
    }
    crc
}

/// Eight bytes as the `crc32` instruction takes them.
#[cfg(target_arch = "x86_64")]
fn word(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The register `wide` advanced over `round`: three streams of `stream`
/// bytes, run at once and joined through `shifts` (made for `stream`).
///
/// # Safety
///
/// The CPU must support SSE4.2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn round(wide: u64, round: &[u8], stream: usize, shifts: &Shifts) -> u64 {
    use std::arch::x86_64::_mm_crc32_u64;
    let (a, rest) = round.split_at(stream);
    let (b, c) = rest.split_at(stream);
    let (mut ra, mut rb, mut rc) = (wide, 0u64, 0u64);
    for ((wa, wb), wc) in a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .zip(c.chunks_exact(8))
    {
        ra = _mm_crc32_u64(ra, word(wa));
        rb = _mm_crc32_u64(rb, word(wb));
        rc = _mm_crc32_u64(rc, word(wc));
    }
    let ab = shift(shifts, ra as u32) ^ rb as u32;
    u64::from(shift(shifts, ab) ^ rc as u32)
}

/// Multiplies two polynomials modulo the CRC polynomial (bit-reflected, so
/// `1 << 31` is the polynomial `1`).
const fn mul_mod(a: u32, mut b: u32) -> u32 {
    let mut product = 0;
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
        bit >>= 1;
    }
    product
}

/// `x^(8 * len)` modulo the CRC polynomial: what appending `len` zero bytes
/// multiplies a register by.
const fn shift_for(len: u64) -> u32 {
    // `power` runs through x^(2^k), starting at x^8 (one byte).
    let mut power = 1u32 << (31 - 8);
    let mut result = 1u32 << 31;
    let mut n = len;
    while n != 0 {
        if n & 1 != 0 {
            result = mul_mod(result, power);
        }
        power = mul_mod(power, power);
        n >>= 1;
    }
    result
}

/// The CRC32C of `A ++ B`, given `crc_a = crc32c(A)`, `crc_b = crc32c(B)`
/// and the length of `B`.
pub fn combine(crc_a: u32, crc_b: u32, len_b: u64) -> u32 {
    mul_mod(shift_for(len_b), crc_a) ^ crc_b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that look random enough, without a dependency.
    fn noise(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn known_values() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62A8_AB43);
    }

    #[test]
    fn hardware_and_software_agree() {
        for len in [
            0,
            1,
            7,
            8,
            9,
            63,
            64,
            65,
            4079,
            4080,
            4081,
            4096,
            8160,
            10_001,
            100_003,
            3 * LONG_STREAM - 1,
            3 * LONG_STREAM,
            3 * LONG_STREAM + 4081,
            7 * LONG_STREAM + 13,
            1 << 20,
        ] {
            let data = noise(len, len as u64 + 3);
            assert_eq!(!update_soft(!0, &data), crc32c(&data), "length {len}");
        }
    }

    #[test]
    fn pieces_give_the_same_checksum() {
        let data = noise(9000, 11);
        let mut c = Crc32c::new();
        for piece in data.chunks(777) {
            c.update(piece);
        }
        assert_eq!(c.finish(), crc32c(&data));
    }

    #[test]
    fn combine_matches_concatenation() {
        let data = noise(20_000, 5);
        for cut in [0, 1, 8, 4096, 12_345, 20_000] {
            let (a, b) = data.split_at(cut);
            assert_eq!(
                combine(crc32c(a), crc32c(b), b.len() as u64),
                crc32c(&data),
                "cut at {cut}"
            );
        }
    }
}
