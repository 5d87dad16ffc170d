//! Pseudo-terminals: `/dev/ptmx` makes a pair, whose slave is
//! `/dev/pts/N` in devtmpfs, with a line discipline in between.
//!
//! Input written to the master goes through input processing (`ICRNL`,
//! `INLCR`, `IGNCR`), signal characters (`ISIG`: `^C`, `^\`, `^Z` signal the
//! foreground process group), canonical line editing (`ICANON`: erase,
//! kill, end of file, lines) and echo, then is read from the slave. Output
//! written to the slave goes through output processing (`OPOST`, `ONLCR`,
//! `OCRNL`) and is read from the master. The terminal settings are the
//! pair's (the master's `TCGETS` sees the slave's). A session leader that
//! opens a slave without `O_NOCTTY` makes it its controlling terminal.

use super::file::{FileKind, OpenFile};
use super::mem::{MemData, MemInode};
use super::node::{makedev, InodeId, Loc};
use super::{FileId, Vfs};
use crate::errno::Errno;
use crate::kernel::wait::{Block, WaitQueueId};
use crate::kernel::{Kernel, Tid};
use crate::syscalls::SysErr;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Major number of pty slaves (`/dev/pts/N`).
pub const SLAVE_MAJOR: u32 = 136;
/// Bytes a line or queue holds before input is dropped or writers wait.
const CANON_MAX: usize = 4095;
const QUEUE_MAX: usize = 64 * 1024;

// termios bits (x86-64).
const IGNCR: u32 = 0o200;
const ICRNL: u32 = 0o400;
const INLCR: u32 = 0o100;
const ISTRIP: u32 = 0o40;
const IUCLC: u32 = 0o1000;
const IXON: u32 = 0o2000;
const IXANY: u32 = 0o4000;
const OPOST: u32 = 0o1;
const ONLCR: u32 = 0o4;
const OCRNL: u32 = 0o10;
const ONLRET: u32 = 0o40;
const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHONL: u32 = 0o100;
const NOFLSH: u32 = 0o200;
const TOSTOP: u32 = 0o400;
const ECHOCTL: u32 = 0o1000;
const IEXTEN: u32 = 0o100000;
const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
const VTIME: usize = 5;
const VMIN: usize = 6;
const VSTART: usize = 8;
const VSTOP: usize = 9;
const VSUSP: usize = 10;
const VEOL: usize = 11;
const VWERASE: usize = 14;
const VLNEXT: usize = 15;
const VEOL2: usize = 16;

/// The kernel's `struct termios` (36 bytes) plus the speeds of `termios2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; 19],
    pub ispeed: u32,
    pub ospeed: u32,
}

impl Default for Termios {
    /// Linux's `tty_std_termios`.
    fn default() -> Self {
        let mut cc = [0u8; 19];
        cc[..17].copy_from_slice(
            b"\x03\x1c\x7f\x15\x04\x00\x01\x00\x11\x13\x1a\x00\x12\x0f\x17\x16\x00",
        );
        Termios {
            iflag: ICRNL | 0o2000,
            oflag: OPOST | ONLCR,
            cflag: 0o17 | 0o60 | 0o200 | 0o2000,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | 0o4000 | IEXTEN,
            line: 0,
            cc,
            ispeed: 38400,
            ospeed: 38400,
        }
    }
}

impl Termios {
    /// The 36-byte `struct termios` (or the 44-byte `termios2`).
    pub fn to_bytes(&self, two: bool) -> Vec<u8> {
        let mut b = Vec::with_capacity(44);
        for v in [self.iflag, self.oflag, self.cflag, self.lflag] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.push(self.line);
        b.extend_from_slice(&self.cc);
        if two {
            b.extend_from_slice(&self.ispeed.to_le_bytes());
            b.extend_from_slice(&self.ospeed.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8], two: bool) -> Termios {
        let w = |i: usize| u32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
        let mut cc = [0u8; 19];
        cc.copy_from_slice(&b[17..36]);
        let mut t = Termios {
            iflag: w(0),
            oflag: w(1),
            cflag: w(2),
            lflag: w(3),
            line: b[16],
            cc,
            ispeed: 38400,
            ospeed: 38400,
        };
        if two && b.len() >= 44 {
            t.ispeed = w(9);
            t.ospeed = w(10);
        }
        t
    }

    /// The old 18-byte `struct termio`.
    pub fn to_termio(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(18);
        for v in [self.iflag, self.oflag, self.cflag, self.lflag] {
            b.extend_from_slice(&(v as u16).to_le_bytes());
        }
        b.push(self.line);
        b.extend_from_slice(&self.cc[..8]);
        b.push(0);
        b
    }

    pub fn set_from_termio(&mut self, b: &[u8]) {
        let h = |i: usize| u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]) as u32;
        self.iflag = (self.iflag & 0xffff_0000) | h(0);
        self.oflag = (self.oflag & 0xffff_0000) | h(1);
        self.cflag = (self.cflag & 0xffff_0000) | h(2);
        self.lflag = (self.lflag & 0xffff_0000) | h(3);
        self.line = b[8];
        self.cc[..8].copy_from_slice(&b[9..17]);
    }

    fn canon(&self) -> bool {
        self.lflag & ICANON != 0
    }
}

/// A signal the line discipline raises for the foreground group.
pub type Raised = Vec<i32>;

/// A pseudo-terminal pair.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pty {
    pub index: u32,
    pub termios: Termios,
    /// rows, cols, xpixel, ypixel.
    pub winsize: [u16; 4],
    /// `TIOCSPTLCK`: the slave cannot be opened while locked.
    pub locked: bool,
    /// Complete input for the slave: lines in canonical mode (an empty one
    /// is end of file), or bytes.
    pub input: VecDeque<Vec<u8>>,
    /// The line being edited (canonical mode).
    pub line: Vec<u8>,
    /// Output for the master.
    pub output: VecDeque<u8>,
    pub masters: u32,
    pub slaves: u32,
    /// A slave was opened since the master was made (master reads give
    /// `EIO` once every slave closed).
    pub slave_seen: bool,
    /// The next byte is taken literally (`VLNEXT`).
    pub lnext: bool,
    pub queue: WaitQueueId,
    pub gen: u64,
    /// The controlling session (0: none) and its foreground group.
    pub session: Tid,
    pub fg_pgrp: Tid,
    /// The `/dev/pts/N` inode.
    pub node: InodeId,
    /// The slave's output is stopped (the STOP character with `IXON`, or
    /// `tcflow(TCOOFF)`): its writes wait.
    #[serde(default)]
    pub stopped: bool,
    /// Stopped by `tcflow(TCOOFF)`, which only `TCOON` undoes.
    #[serde(default)]
    pub tco_stopped: bool,
    /// The master's output (the slave's input) is stopped by
    /// `tcflow(TCOOFF)` on the master.
    #[serde(default)]
    pub master_stopped: bool,
}

impl Pty {
    pub fn new(index: u32, queue: WaitQueueId, node: InodeId) -> Pty {
        Pty {
            index,
            termios: Termios::default(),
            winsize: [0; 4],
            locked: true,
            input: VecDeque::new(),
            line: Vec::new(),
            output: VecDeque::new(),
            masters: 1,
            slaves: 0,
            slave_seen: false,
            lnext: false,
            queue,
            gen: 0,
            session: 0,
            fg_pgrp: 0,
            node,
            stopped: false,
            tco_stopped: false,
            master_stopped: false,
        }
    }

    /// The master has gone: the slave is hung up.
    pub fn hung_up(&self) -> bool {
        self.masters == 0
    }

    fn input_len(&self) -> usize {
        self.input.iter().map(|l| l.len().max(1)).sum()
    }

    /// Bytes (or lines) the slave may read now.
    pub fn slave_readable(&self) -> bool {
        if self.termios.canon() {
            !self.input.is_empty()
        } else {
            self.input.iter().any(|c| !c.is_empty())
        }
    }

    /// Room for the master to write input.
    pub fn master_writable(&self) -> bool {
        !self.master_stopped && self.input_len() + self.line.len() < QUEUE_MAX
    }

    /// Room for the slave to write output.
    pub fn slave_writable(&self) -> bool {
        !self.stopped && self.output.len() < QUEUE_MAX
    }

    /// `tcflow` (`TCXONC`) on the slave or on the master: `TCOOFF` (0)
    /// and `TCOON` (1) stop and restart that side's output, `TCIOFF` (2)
    /// and `TCION` (3) send the STOP or START character the other way.
    pub fn tcflow(&mut self, master: bool, action: u64) -> Result<(), Errno> {
        const TCOOFF: u64 = 0;
        const TCOON: u64 = 1;
        const TCIOFF: u64 = 2;
        const TCION: u64 = 3;
        match (action, master) {
            (TCOOFF, false) => {
                self.tco_stopped = true;
                self.stopped = true;
            }
            (TCOON, false) => {
                if self.tco_stopped {
                    self.tco_stopped = false;
                    self.stopped = false;
                }
            }
            (TCOOFF, true) => self.master_stopped = true,
            (TCOON, true) => self.master_stopped = false,
            (TCIOFF | TCION, _) => {
                let c = self.termios.cc[if action == TCIOFF { VSTOP } else { VSTART }];
                // A disabled character (0) is not sent.
                if c != 0 {
                    if master {
                        let mut raised = Vec::new();
                        self.input_byte(c, &mut raised);
                    } else {
                        self.output.push_back(c);
                    }
                }
            }
            _ => return Err(Errno::EINVAL),
        }
        self.gen += 1;
        Ok(())
    }

    /// Output processing of bytes the slave writes (or echoes).
    fn put_output(&mut self, data: &[u8]) {
        let t = self.termios;
        for &c in data {
            if t.oflag & OPOST != 0 {
                if c == b'\n' && t.oflag & ONLCR != 0 {
                    self.output.push_back(b'\r');
                    self.output.push_back(b'\n');
                    continue;
                }
                if c == b'\r' && t.oflag & OCRNL != 0 {
                    self.output.push_back(b'\n');
                    continue;
                }
                if c == b'\r' && t.oflag & ONLRET != 0 {
                    continue;
                }
            }
            self.output.push_back(c);
        }
        self.gen += 1;
    }

    fn echo(&mut self, c: u8) {
        let t = self.termios;
        if t.lflag & ECHO == 0 {
            if c == b'\n' && t.lflag & ECHONL != 0 && t.canon() {
                self.put_output(b"\n");
            }
            return;
        }
        if t.lflag & ECHOCTL != 0 && (c < 0x20 && c != b'\n' && c != b'\t' || c == 0x7f) {
            self.put_output(&[b'^', c ^ 0x40]);
        } else {
            self.put_output(&[c]);
        }
    }

    /// The slave writes: returns how much was taken.
    pub fn slave_write(&mut self, data: &[u8]) -> usize {
        if self.stopped {
            return 0;
        }
        let room = QUEUE_MAX.saturating_sub(self.output.len());
        let n = data
            .len()
            .min(room.max(if data.is_empty() { 0 } else { 1 }));
        self.put_output(&data[..n]);
        n
    }

    /// The master reads output.
    pub fn master_read(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.output.len());
        let out: Vec<u8> = self.output.drain(..n).collect();
        if n > 0 {
            self.gen += 1;
        }
        out
    }

    /// Restarts output the STOP character stopped (not what `TCOOFF` did).
    fn start_output(&mut self) {
        if !self.tco_stopped {
            self.stopped = false;
        }
    }

    /// The slave reads input; `None` means nothing to read yet.
    pub fn slave_read(&mut self, max: usize) -> Option<Vec<u8>> {
        if self.termios.canon() {
            let first = self.input.front_mut()?;
            if first.is_empty() {
                // End of file (^D on an empty line).
                self.input.pop_front();
                self.gen += 1;
                return Some(Vec::new());
            }
            let n = max.min(first.len());
            let out: Vec<u8> = first.drain(..n).collect();
            if first.is_empty() {
                self.input.pop_front();
            }
            self.gen += 1;
            return Some(out);
        }
        let mut out = Vec::new();
        while out.len() < max {
            let Some(c) = self.input.front_mut() else {
                break;
            };
            let n = (max - out.len()).min(c.len());
            out.extend(c.drain(..n));
            if c.is_empty() {
                self.input.pop_front();
            }
        }
        if out.is_empty() {
            // Empty chunks (end of file in canonical mode) mean nothing raw.
            self.input.retain(|c| !c.is_empty());
            return None;
        }
        self.gen += 1;
        Some(out)
    }

    /// `VMIN`/`VTIME` of noncanonical reads: (min bytes, timeout ds).
    pub fn vmin_vtime(&self) -> (u8, u8) {
        (self.termios.cc[VMIN], self.termios.cc[VTIME])
    }

    /// The master writes input; returns the bytes taken and the signals
    /// raised for the foreground process group.
    pub fn master_write(&mut self, data: &[u8]) -> (usize, Raised) {
        let mut raised = Vec::new();
        let mut taken = 0;
        for &raw in data {
            if !self.master_writable() {
                break;
            }
            taken += 1;
            self.input_byte(raw, &mut raised);
        }
        self.gen += 1;
        (taken, raised)
    }

    fn input_byte(&mut self, raw: u8, raised: &mut Raised) {
        let t = self.termios;
        let mut c = raw;
        if t.iflag & ISTRIP != 0 {
            c &= 0x7f;
        }
        if self.lnext {
            self.lnext = false;
            self.store(c, true);
            return;
        }
        if c == b'\r' {
            if t.iflag & IGNCR != 0 {
                return;
            }
            if t.iflag & ICRNL != 0 {
                c = b'\n';
            }
        } else if c == b'\n' && t.iflag & INLCR != 0 {
            c = b'\r';
        }
        if t.iflag & IUCLC != 0 && t.lflag & IEXTEN != 0 {
            c = c.to_ascii_lowercase();
        }
        let is = |i: usize| t.cc[i] != 0 && c == t.cc[i];
        // Output flow control: STOP and START stop and restart the slave's
        // output and are not input (one character for both toggles);
        // with IXANY any other character restarts it too, and is input.
        if t.iflag & IXON != 0 {
            if is(VSTART) && (!is(VSTOP) || self.stopped) {
                self.start_output();
                return;
            }
            if is(VSTOP) {
                self.stopped = true;
                return;
            }
            if self.stopped && t.iflag & IXANY != 0 {
                self.start_output();
            }
        }
        if t.lflag & ISIG != 0 {
            let sig = if is(VINTR) {
                Some(crate::kernel::signal::SIGINT)
            } else if is(VQUIT) {
                Some(crate::kernel::signal::SIGQUIT)
            } else if is(VSUSP) {
                Some(crate::kernel::signal::SIGTSTP)
            } else {
                None
            };
            if let Some(s) = sig {
                if t.lflag & NOFLSH == 0 {
                    self.input.clear();
                    self.line.clear();
                }
                self.echo(c);
                raised.push(s);
                return;
            }
        }
        if t.canon() {
            if t.lflag & IEXTEN != 0 && is(VLNEXT) {
                self.lnext = true;
                return;
            }
            if is(VERASE) {
                if self.line.pop().is_some() && t.lflag & ECHO != 0 {
                    if t.lflag & ECHOE != 0 {
                        self.put_output(b"\x08 \x08");
                    } else {
                        self.echo(c);
                    }
                }
                return;
            }
            if t.lflag & IEXTEN != 0 && is(VWERASE) {
                while self.line.last().is_some_and(|b| b.is_ascii_whitespace()) {
                    self.line.pop();
                    if t.lflag & ECHO != 0 && t.lflag & ECHOE != 0 {
                        self.put_output(b"\x08 \x08");
                    }
                }
                while self.line.last().is_some_and(|b| !b.is_ascii_whitespace()) {
                    self.line.pop();
                    if t.lflag & ECHO != 0 && t.lflag & ECHOE != 0 {
                        self.put_output(b"\x08 \x08");
                    }
                }
                return;
            }
            if is(VKILL) {
                let n = self.line.len();
                self.line.clear();
                if t.lflag & ECHO != 0 {
                    if t.lflag & ECHOK != 0 && t.lflag & ECHOE != 0 {
                        for _ in 0..n {
                            self.put_output(b"\x08 \x08");
                        }
                    } else {
                        self.echo(c);
                        if t.lflag & ECHOK != 0 {
                            self.put_output(b"\n");
                        }
                    }
                }
                return;
            }
            if is(VEOF) {
                // Ends the line without a newline; on an empty line, end of
                // file.
                let line = std::mem::take(&mut self.line);
                self.input.push_back(line);
                return;
            }
            self.store(c, false);
            return;
        }
        self.echo(c);
        match self.input.back_mut() {
            Some(last) if !last.is_empty() => last.push(c),
            _ => self.input.push_back(vec![c]),
        }
    }

    /// Stores a character of a canonical line (or raw input).
    fn store(&mut self, c: u8, literal: bool) {
        let t = self.termios;
        if !t.canon() {
            self.echo(c);
            self.input.push_back(vec![c]);
            return;
        }
        let eol = !literal
            && (c == b'\n'
                || (t.cc[VEOL] != 0 && c == t.cc[VEOL])
                || (t.cc[VEOL2] != 0 && c == t.cc[VEOL2]));
        if self.line.len() >= CANON_MAX && !eol {
            return;
        }
        self.echo(c);
        self.line.push(c);
        if eol {
            let line = std::mem::take(&mut self.line);
            self.input.push_back(line);
        }
    }

    /// Switching out of canonical mode makes the edited line readable.
    pub fn set_termios(&mut self, t: Termios) {
        let was_canon = self.termios.canon();
        self.termios = t;
        if was_canon && !t.canon() && !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.input.push_back(line);
        }
        self.gen += 1;
    }

    /// `TCFLSH`: 0 input, 1 output, 2 both.
    pub fn flush(&mut self, which: i32) {
        if which == 0 || which == 2 {
            self.input.clear();
            self.line.clear();
        }
        if which == 1 || which == 2 {
            self.output.clear();
        }
        self.gen += 1;
    }

    /// Bytes the slave could read (`FIONREAD`).
    pub fn slave_pending(&self) -> usize {
        self.input.iter().map(|l| l.len()).sum()
    }
}

// ---- Open files of pseudo-terminals ---------------------------------------------

/// Most pseudo-terminals at once (`/proc/sys/kernel/pty/max`, smaller).
const MAX_PTYS: u32 = 4096;

/// Makes a new pair; the master's open file is at `ptmx` (the node that
/// was opened).
pub fn open_master(k: &mut Kernel, tid: Tid, ptmx: Loc, flags: i32) -> Result<FileId, Errno> {
    let (dir, fs) = k.vfs.pts_dir.ok_or(Errno::ENODEV)?;
    let host_minor = (super::node::major(k.vfs.stdio.tty_rdev) == SLAVE_MAJOR)
        .then(|| super::node::minor(k.vfs.stdio.tty_rdev));
    let index = (0..MAX_PTYS)
        .find(|i| {
            !k.vfs.ptys.contains_key(i)
                && Some(*i) != host_minor
                && k.vfs.mem.lookup(dir, i.to_string().as_bytes()).is_none()
        })
        .ok_or(Errno::ENOSPC)?;
    let c = k.task(tid).creds.clone();
    let ino = k.vfs.mounts.alloc_ino(fs);
    let mut inode = MemInode::new(fs, ino, libc::S_IFCHR | 0o620, c.fsuid, 5, MemData::Special);
    inode.rdev = makedev(SLAVE_MAJOR, index);
    let node = k.vfs.mem.insert(inode);
    k.vfs.mem.add_entry(dir, index.to_string().as_bytes(), node);
    let q = k.new_id();
    k.vfs.ptys.insert(index, Pty::new(index, q, node));
    k.vfs.node_hold(ptmx.node);
    let of = OpenFile::new(
        ptmx,
        FileKind::PtyMaster(index),
        (flags
            & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC))
            | libc::O_LARGEFILE,
        b"/dev/ptmx".to_vec(),
    );
    Ok(k.vfs.add_file(of))
}

/// Opens the slave of pair `index` (at `loc`, its node).
pub fn open_slave(
    k: &mut Kernel,
    tid: Tid,
    index: u32,
    loc: Loc,
    flags: i32,
) -> Result<FileId, Errno> {
    let p = k.vfs.ptys.get(&index).ok_or(Errno::EIO)?;
    if p.locked || p.hung_up() {
        return Err(Errno::EIO);
    }
    let (sid, pgid, tgid) = {
        let g = k.tg(tid);
        (g.sid, g.pgid, g.tgid)
    };
    // A session leader without a controlling terminal gets this one.
    let has_ctty = k.vfs.ptys.values().any(|p| p.session == sid)
        || (k.vfs.stdio.tty_slot().is_some() && k.vfs.stdio.session == sid);
    let p = k.vfs.ptys.get_mut(&index).ok_or(Errno::EIO)?;
    if flags & libc::O_NOCTTY == 0 && sid == tgid && !has_ctty && p.session == 0 {
        p.session = sid;
        p.fg_pgrp = pgid;
    }
    p.slaves += 1;
    p.slave_seen = true;
    p.gen += 1;
    let q = p.queue;
    k.notify(q);
    k.vfs.node_hold(loc.node);
    let of = OpenFile::new(
        loc,
        FileKind::PtySlave(index),
        (flags
            & !(libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_TRUNC | libc::O_CLOEXEC))
            | libc::O_LARGEFILE,
        format!("/dev/pts/{index}").into_bytes(),
    );
    Ok(k.vfs.add_file(of))
}

/// The pair whose controlling session is `sid`.
pub fn of_session(v: &Vfs, sid: Tid) -> Option<u32> {
    v.ptys
        .values()
        .find(|p| p.session == sid && !p.hung_up())
        .map(|p| p.index)
}

/// Sends `sig` to every process of group `pgrp`.
pub fn signal_group(k: &mut Kernel, pgrp: Tid, sig: i32) {
    if pgrp <= 0 {
        return;
    }
    let groups: Vec<Tid> = k
        .thread_groups
        .values()
        .filter(|g| g.pgid == pgrp && g.zombie.is_none())
        .map(|g| g.tgid)
        .collect();
    for g in groups {
        k.send_to_group(
            g,
            crate::kernel::signal::SigInfo::new(sig, crate::kernel::signal::SI_KERNEL),
        );
    }
}

/// Job control on a terminal owned by `session` with foreground group
/// `fg`: a process of a background group of that session that reads (or
/// writes with `TOSTOP`, or changes settings) gets `sig` (`SIGTTIN` or
/// `SIGTTOU`) sent to its group and the call restarts once it continues.
/// With the signal ignored or blocked, a read fails with `EIO` and the
/// rest is allowed; an orphaned group gets `EIO`.
pub fn job_control(
    k: &mut Kernel,
    tid: Tid,
    session: Tid,
    fg: Tid,
    sig: i32,
) -> Result<(), SysErr> {
    let g = k.tg(tid);
    let (sid, pgid) = (g.sid, g.pgid);
    if session == 0 || sid != session || fg == 0 || pgid == fg {
        return Ok(());
    }
    let t = k.task(tid);
    let handler = k.sighands.get(&t.sighand).map(|h| h.get(sig).handler);
    let ignored = t.sigmask.has(sig) || handler == Some(crate::kernel::signal::SIG_IGN);
    if ignored {
        return if sig == crate::kernel::signal::SIGTTIN {
            Err(Errno::EIO.into())
        } else {
            Ok(())
        };
    }
    // Orphaned: no member has a parent in another group of the session.
    let orphaned = !k.thread_groups.values().any(|m| {
        m.pgid == pgid
            && m.zombie.is_none()
            && k.thread_groups
                .get(&m.parent)
                .is_some_and(|p| p.pgid != pgid && p.sid == sid)
    });
    if orphaned {
        return Err(Errno::EIO.into());
    }
    signal_group(k, pgid, sig);
    Err(SysErr::Block(
        Block::on(vec![]).with_restart(crate::kernel::wait::Restart::Sys),
    ))
}

/// Reads from either side.
pub fn read(
    k: &mut Kernel,
    tid: Tid,
    index: u32,
    master: bool,
    len: usize,
    nonblock: bool,
) -> Result<Vec<u8>, SysErr> {
    if !master {
        let p = k.vfs.ptys.get(&index).ok_or(Errno::EIO)?;
        let (session, fg) = (p.session, p.fg_pgrp);
        job_control(k, tid, session, fg, crate::kernel::signal::SIGTTIN)?;
    }
    let p = k.vfs.ptys.get_mut(&index).ok_or(Errno::EIO)?;
    if len == 0 {
        return Ok(Vec::new());
    }
    let q = p.queue;
    if master {
        let out = p.master_read(len);
        if !out.is_empty() {
            k.notify(q);
            return Ok(out);
        }
        if p.slave_seen && p.slaves == 0 {
            return Err(Errno::EIO.into());
        }
    } else {
        if p.hung_up() {
            return Ok(Vec::new());
        }
        if let Some(out) = p.slave_read(len) {
            k.notify(q);
            return Ok(out);
        }
        if !p.termios.canon() {
            let (vmin, vtime) = p.vmin_vtime();
            if vmin == 0 {
                if vtime == 0 {
                    return Ok(Vec::new());
                }
                let d = k.syscall_deadline(tid, vtime as u64 * 100_000_000);
                if k.deadline_passed(tid) {
                    return Ok(Vec::new());
                }
                return Err(SysErr::Block(Block::on(vec![q]).with_deadline(Some(d))));
            }
        }
    }
    if nonblock {
        return Err(Errno::EAGAIN.into());
    }
    Err(SysErr::Block(Block::on(vec![q])))
}

/// Writes to either side; a blocking write waits until all of it is taken.
pub fn write(
    k: &mut Kernel,
    tid: Tid,
    index: u32,
    master: bool,
    data: &[u8],
    nonblock: bool,
) -> Result<usize, SysErr> {
    let mut done = super::file::progress(k, tid);
    if !master && done == 0 {
        let p = k.vfs.ptys.get(&index).ok_or(Errno::EIO)?;
        if p.termios.lflag & TOSTOP != 0 {
            let (session, fg) = (p.session, p.fg_pgrp);
            job_control(k, tid, session, fg, crate::kernel::signal::SIGTTOU)?;
        }
    }
    loop {
        let p = k.vfs.ptys.get_mut(&index).ok_or(Errno::EIO)?;
        if !master && p.hung_up() {
            return Err(Errno::EIO.into());
        }
        let rest = &data[done.min(data.len())..];
        if rest.is_empty() {
            return Ok(done);
        }
        let q = p.queue;
        let (n, raised, fg) = if master {
            let (n, r) = p.master_write(rest);
            (n, r, p.fg_pgrp)
        } else {
            (p.slave_write(rest), Vec::new(), 0)
        };
        if n > 0 {
            done += n;
            k.notify(q);
            for s in raised {
                signal_group(k, fg, s);
            }
            continue;
        }
        if nonblock {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EAGAIN.into())
            };
        }
        if done > 0 {
            // A signal ends the call with what went out (see
            // `file::write_block`).
            super::file::set_progress(k, tid, done);
        }
        return Err(SysErr::Block(Block::on(vec![q])));
    }
}

/// Readiness of one side: (events, queue, generation).
pub fn ready(v: &Vfs, index: u32, master: bool) -> (u32, WaitQueueId, u64) {
    use super::poll::{ERR, HUP, IN, OUT, RDNORM, WRNORM};
    let Some(p) = v.ptys.get(&index) else {
        return (ERR | HUP, 0, 0);
    };
    let mut m = 0;
    if master {
        if !p.output.is_empty() {
            m |= IN | RDNORM;
        }
        if p.slave_seen && p.slaves == 0 {
            m |= IN | HUP;
        }
        if p.master_writable() {
            m |= OUT | WRNORM;
        }
    } else {
        if p.slave_readable() {
            m |= IN | RDNORM;
        }
        if p.hung_up() {
            m |= IN | HUP;
        } else if p.slave_writable() {
            m |= OUT | WRNORM;
        }
    }
    (m, p.queue, p.gen)
}

/// One side closed (only the VFS at hand: signals go through `pending`).
pub fn closed(v: &mut Vfs, index: u32, master: bool) {
    let Some(p) = v.ptys.get_mut(&index) else {
        return;
    };
    if master {
        p.masters = p.masters.saturating_sub(1);
    } else {
        p.slaves = p.slaves.saturating_sub(1);
    }
    p.gen += 1;
    let (q, node, session, fg) = (p.queue, p.node, p.session, p.fg_pgrp);
    let gone = p.masters == 0 && p.slaves == 0;
    let hangup = master && p.masters == 0;
    v.pending.notify.push(q);
    if hangup {
        // The session hears SIGHUP (and SIGCONT); the slave's name goes.
        if session != 0 {
            v.pending.signals.push((fg, crate::kernel::signal::SIGHUP));
            v.pending.signals.push((fg, crate::kernel::signal::SIGCONT));
        }
        let name = index.to_string();
        if let Some((dir, _)) = v.pts_dir {
            if v.mem.lookup(dir, name.as_bytes()) == Some(node) {
                v.mem.remove_entry(dir, name.as_bytes());
                v.mem_free_if_unused(node);
            }
        }
    }
    if gone {
        v.ptys.remove(&index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pty() -> Pty {
        Pty::new(0, 1, 1)
    }

    #[test]
    fn canonical_lines_echo_and_erase() {
        let mut p = pty();
        let (n, sig) = p.master_write(b"helo\x7fo\r");
        assert_eq!((n, sig.len()), (7, 0));
        assert_eq!(p.slave_read(100).unwrap(), b"helo\n");
        let echoed = p.master_read(100);
        assert_eq!(echoed, b"helo\x08 \x08o\r\n");
        // No complete line: nothing to read.
        p.master_write(b"abc");
        assert!(p.slave_read(100).is_none());
        // ^D ends the line; on an empty line it is end of file.
        p.master_write(b"\x04\x04");
        assert_eq!(p.slave_read(100).unwrap(), b"abc");
        assert_eq!(p.slave_read(100).unwrap(), b"");
    }

    #[test]
    fn signals_and_raw_mode() {
        let mut p = pty();
        p.master_write(b"partial");
        let (_, sig) = p.master_write(b"\x03");
        assert_eq!(sig, vec![crate::kernel::signal::SIGINT]);
        assert!(p.line.is_empty(), "^C flushes the line");
        let mut t = p.termios;
        t.lflag &= !(ICANON | ECHO | ISIG);
        p.set_termios(t);
        p.master_read(1000);
        p.master_write(b"\x03x");
        assert_eq!(p.slave_read(1).unwrap(), b"\x03");
        assert_eq!(p.slave_read(10).unwrap(), b"x");
        assert!(p.master_read(10).is_empty(), "no echo");
    }

    #[test]
    fn output_processing() {
        let mut p = pty();
        p.slave_write(b"a\nb");
        assert_eq!(p.master_read(10), b"a\r\nb");
        let mut t = p.termios;
        t.oflag &= !OPOST;
        p.set_termios(t);
        p.slave_write(b"a\n");
        assert_eq!(p.master_read(10), b"a\n");
    }

    #[test]
    fn termios_bytes_round_trip() {
        let t = Termios::default();
        assert_eq!(t.to_bytes(false).len(), 36);
        assert_eq!(Termios::from_bytes(&t.to_bytes(true), true), t);
        let mut u = Termios {
            lflag: 0,
            ..Termios::default()
        };
        u.set_from_termio(&t.to_termio());
        assert_eq!(u.lflag, t.lflag);
    }
}
