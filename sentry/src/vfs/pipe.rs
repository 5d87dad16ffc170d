//! Pipes and FIFOs: a bounded byte buffer with reader and writer counts.
//!
//! Writes of at most `PIPE_BUF` bytes are atomic; larger ones may be split.
//! A pipe whose write end came from an `O_DIRECT` file keeps each write as a
//! packet, and a read returns at most one packet. Every change (data in or
//! out, an end opened or closed) notifies the pipe's one wait queue and bumps
//! its generation, which edge-triggered epoll compares.

use crate::kernel::wait::WaitQueueId;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;
/// Capacity of a new pipe.
pub const DEFAULT_CAPACITY: usize = 16 * 4096;
/// `/proc/sys/fs/pipe-max-size`: largest capacity an unprivileged task may
/// set.
pub const MAX_SIZE: usize = 1 << 20;
/// Largest capacity anyone may set (Linux limits by memory; we bound it).
pub const ABSOLUTE_MAX_SIZE: usize = 1 << 28;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Chunk {
    data: Vec<u8>,
    pos: usize,
    packet: bool,
}

/// A pipe's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pipe {
    chunks: VecDeque<Chunk>,
    len: usize,
    pub capacity: usize,
    pub readers: u32,
    pub writers: u32,
    pub queue: WaitQueueId,
    /// Opens of each end so far (a FIFO reader waits for a writer's open).
    pub r_opens: u64,
    pub w_opens: u64,
    /// Bumped on every change.
    pub gen: u64,
    /// The buffer of a FIFO (kept with its inode) rather than `pipe()`'s.
    pub fifo: bool,
    /// Inode number shown as `pipe:[N]`.
    pub ino: u64,
}

impl Pipe {
    pub fn new(queue: WaitQueueId, ino: u64, fifo: bool) -> Pipe {
        Pipe {
            chunks: VecDeque::new(),
            len: 0,
            capacity: DEFAULT_CAPACITY,
            readers: 0,
            writers: 0,
            queue,
            r_opens: 0,
            w_opens: 0,
            gen: 0,
            fifo,
            ino,
        }
    }

    /// Bytes buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free space.
    pub fn space(&self) -> usize {
        self.capacity.saturating_sub(self.len)
    }

    /// Takes up to `max` bytes (one packet at most in packet mode).
    pub fn read(&mut self, max: usize) -> Vec<u8> {
        let (out, used) = self.view(max);
        self.consume(used);
        out
    }

    /// What [`Pipe::read`] would return, and how many buffered bytes it
    /// would use up (a packet read in part is used up whole).
    pub fn view(&self, max: usize) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let mut used = 0;
        for c in &self.chunks {
            if out.len() >= max {
                break;
            }
            let avail = c.data.len() - c.pos;
            if c.packet {
                if !out.is_empty() {
                    break;
                }
                let n = avail.min(max);
                out.extend_from_slice(&c.data[c.pos..c.pos + n]);
                used += avail;
                break;
            }
            let n = avail.min(max - out.len());
            out.extend_from_slice(&c.data[c.pos..c.pos + n]);
            used += n;
        }
        (out, used)
    }

    /// Drops `n` buffered bytes from the front.
    pub fn consume(&mut self, mut n: usize) {
        if n > 0 {
            self.gen += 1;
        }
        while n > 0 {
            let Some(c) = self.chunks.front_mut() else {
                break;
            };
            let avail = c.data.len() - c.pos;
            let k = avail.min(n);
            c.pos += k;
            self.len -= k;
            n -= k;
            if c.pos == c.data.len() {
                self.chunks.pop_front();
            }
        }
    }

    /// Copies up to `max` bytes without taking them (`tee`).
    pub fn peek(&self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &self.chunks {
            if out.len() >= max {
                break;
            }
            let n = (c.data.len() - c.pos).min(max - out.len());
            out.extend_from_slice(&c.data[c.pos..c.pos + n]);
        }
        out
    }

    /// Appends `data` (the caller checked the space). In packet mode each
    /// `PIPE_BUF` piece is a packet.
    pub fn push(&mut self, data: &[u8], packet: bool) {
        if data.is_empty() {
            return;
        }
        if packet {
            for p in data.chunks(PIPE_BUF) {
                self.chunks.push_back(Chunk {
                    data: p.to_vec(),
                    pos: 0,
                    packet: true,
                });
            }
        } else {
            match self.chunks.back_mut() {
                Some(c) if !c.packet && c.data.len() < 64 * 1024 => c.data.extend_from_slice(data),
                _ => self.chunks.push_back(Chunk {
                    data: data.to_vec(),
                    pos: 0,
                    packet: false,
                }),
            }
        }
        self.len += data.len();
        self.gen += 1;
    }

    /// How many bytes of a `len`-byte write fit now, honouring atomicity:
    /// a small write fits whole or not at all.
    pub fn writable(&self, len: usize) -> usize {
        let space = self.space();
        if len <= PIPE_BUF {
            if space >= len {
                len
            } else {
                0
            }
        } else {
            space.min(len)
        }
    }

    /// Drops buffered data (the last opener of a FIFO went away).
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
    }
}

/// `F_SETPIPE_SZ` rounding: a power of two of pages, at least one page.
pub fn round_size(n: u64) -> Option<usize> {
    let n = n.max(4096);
    let p = n.checked_next_power_of_two()?;
    usize::try_from(p).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_in_order() {
        let mut p = Pipe::new(1, 1, false);
        p.push(b"hello ", false);
        p.push(b"world", false);
        assert_eq!(p.len(), 11);
        assert_eq!(p.read(3), b"hel");
        assert_eq!(p.peek(100), b"lo world");
        assert_eq!(p.read(100), b"lo world");
        assert!(p.is_empty());
        assert_eq!(p.read(10), b"");
    }

    #[test]
    fn atomic_small_writes() {
        let mut p = Pipe::new(1, 1, false);
        p.capacity = 8192;
        p.push(&[1u8; 5000], false);
        assert_eq!(p.writable(4000), 0);
        assert_eq!(p.writable(3192), 3192);
        assert_eq!(p.writable(10000), 3192);
        p.read(5000);
        assert_eq!(p.writable(10000), 8192);
    }

    #[test]
    fn packets() {
        let mut p = Pipe::new(1, 1, false);
        p.push(b"abc", true);
        p.push(b"defgh", true);
        assert_eq!(p.read(100), b"abc");
        assert_eq!(p.read(2), b"de");
        assert!(p.is_empty());
        p.push(&[7u8; 5000], true);
        assert_eq!(p.read(10000).len(), PIPE_BUF);
        assert_eq!(p.read(10000).len(), 5000 - PIPE_BUF);
    }

    #[test]
    fn sizes() {
        assert_eq!(round_size(1), Some(4096));
        assert_eq!(round_size(4097), Some(8192));
        assert_eq!(round_size(65536), Some(65536));
    }
}
