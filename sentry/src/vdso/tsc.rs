//! The TSC time base that the sentry and the vDSO share.
//!
//! While the TSC is usable, the sandbox's clocks are computed from it, by
//! the sentry and by the vDSO alike, with the same [`Params`]:
//!
//! ```text
//! monotonic = mono_base + (((tsc - tsc_base) * mult) >> SHIFT)
//! realtime  = monotonic + wall_offset
//! ```
//!
//! so that a time read through the vDSO and a deadline the sentry computes
//! are on the same scale. The parameters follow the host's clocks:
//!
//! - **Calibration.** [`Timekeeper::start`] reads the TSC and the host's
//!   clocks together; once [`CALIBRATION`] has passed, the next update
//!   derives the TSC frequency from the two readings and starts using the
//!   TSC. Every later update derives it again from the first reading, over
//!   an ever longer interval, so the estimate keeps improving.
//! - **Updates** (every [`UPDATE_INTERVAL`] or so, from the main loop)
//!   continue monotonic time exactly where the old parameters had it at the
//!   update instant and never below: the new base is the old parameters'
//!   value there. The difference to the host's clock (plus the sandbox's
//!   offset) is slewed away over [`SLEW_HORIZON`] by adjusting `mult`; a
//!   difference beyond [`STEP`] is stepped instead, forward by moving the
//!   base, backward by moving the sandbox's offset to the host (time stays
//!   monotonic; the sandbox's clock is simply further from the host's).
//! - **Realtime** keeps its offset to monotonic time unless the host's
//!   offset moved by more than [`WALL_STEP`] (someone set the host's
//!   clock): then it follows the host in one step, as Linux's does.
//! - **Invariant checks.** Without constant and non-stop TSC flags, or if an
//!   update finds the TSC going backwards or its frequency out of range or
//!   changed (by more than the samples' own uncertainty explains), the TSC
//!   is given up for good: the clocks go back to the
//!   host's (with the offset raised if needed so monotonic time does not go
//!   back) and the vDSO makes system calls.

use crate::kernel::time::host_clock;
use std::sync::OnceLock;
use std::time::Duration;

/// Fixed-point shift of [`Params::mult`].
pub const SHIFT: u32 = 32;
/// How long the first calibration measures before the TSC is used, in ns.
pub const CALIBRATION: u64 = 2_000_000;
/// Least time between two updates of the parameters, in ns.
pub const UPDATE_INTERVAL: u64 = 50_000_000;
/// Longest the main loop may sleep while the TSC is in use, so that
/// updates keep coming when applications make no system calls.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);
/// Differences to the host's clock up to this many ns are slewed away.
pub const STEP: u64 = 1_000_000;
/// Time over which a difference is slewed away, in ns.
pub const SLEW_HORIZON: u64 = 1_000_000_000;
/// A change of the host's realtime-to-monotonic offset beyond this many ns
/// is a step of the host's realtime clock.
pub const WALL_STEP: u64 = 100_000;
/// Readings of the host's clocks that took longer than this (ns) are noise.
const MAX_SAMPLE_SPREAD: u64 = 20_000;
/// TSC frequencies believed, in Hz.
const MIN_HZ: u128 = 100_000_000;
const MAX_HZ: u128 = 20_000_000_000;
/// How far (in parts per million) a refined frequency may differ from the
/// one in use, beyond what the samples' own uncertainty explains, before
/// the TSC is deemed unreliable.
const MAX_FREQ_CHANGE_PPM: u128 = 1_000;

/// What the sentry and the vDSO compute time from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pub tsc_base: u64,
    /// Sandbox monotonic time at `tsc_base`, in ns.
    pub mono_base: u64,
    /// Realtime minus monotonic time, in ns (wrapping).
    pub wall_offset: u64,
    /// ns per TSC tick, times `2^SHIFT`.
    pub mult: u64,
}

impl Params {
    /// Monotonic time at TSC value `tsc`. A TSC behind the base counts as
    /// the base (as in the vDSO).
    pub fn mono_at(&self, tsc: u64) -> u64 {
        let delta = tsc.wrapping_sub(self.tsc_base);
        let delta = if (delta as i64) > 0 { delta } else { 0 };
        let ns = (delta as u128 * self.mult as u128) >> SHIFT;
        self.mono_base.wrapping_add(ns as u64)
    }

    /// Realtime at TSC value `tsc`.
    pub fn real_at(&self, tsc: u64) -> u64 {
        self.mono_at(tsc).wrapping_add(self.wall_offset)
    }
}

/// The TSC and the host's clocks, read together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub tsc: u64,
    /// Host `CLOCK_MONOTONIC`, ns.
    pub mono: u64,
    /// Host `CLOCK_REALTIME`, ns.
    pub real: u64,
    /// How long the host clock reads took, ns: `tsc` and `mono` may be
    /// this far apart.
    pub spread: u64,
}

#[derive(Clone, Debug, Default)]
enum State {
    /// Not started (a kernel just decoded from an image): host clocks.
    #[default]
    Off,
    /// The TSC is not used: host clocks.
    Unusable,
    /// Measuring the TSC's frequency: host clocks meanwhile.
    Calibrating { first: Sample },
    /// Time comes from the TSC.
    Running {
        first: Sample,
        last: Sample,
        /// The frequency estimate of the last update, before slewing.
        nominal: u64,
        params: Params,
    },
}

/// The sentry's TSC time base. Host state: never serialized, started anew
/// after a restore.
#[derive(Clone, Debug, Default)]
pub struct Timekeeper {
    state: State,
    /// Host monotonic time of the next update, ns.
    next_update: u64,
}

/// True if the TSC can be used: decided once per sentry process, from
/// `/proc/cpuinfo` when it can be read (call this before the sandbox
/// loses it), else from CPUID.
pub fn tsc_usable() -> bool {
    static USABLE: OnceLock<bool> = OnceLock::new();
    *USABLE.get_or_init(|| {
        if std::env::var_os("RUNSC_VDSO_NO_TSC").is_some() {
            tracing::info!("vDSO: TSC disabled by RUNSC_VDSO_NO_TSC; clocks make system calls");
            return false;
        }
        let ok = match std::fs::read_to_string("/proc/cpuinfo") {
            Ok(info) => cpuinfo_has_invariant_tsc(&info),
            Err(_) => cpuid_invariant_tsc(),
        };
        if !ok {
            tracing::info!("vDSO: no constant and non-stop TSC; clocks make system calls");
        }
        ok
    })
}

/// True if every CPU's flags in `/proc/cpuinfo` text include `tsc`,
/// `constant_tsc` and `nonstop_tsc`.
pub fn cpuinfo_has_invariant_tsc(info: &str) -> bool {
    let mut cpus = 0;
    for line in info.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if key.trim() != "flags" {
            continue;
        }
        cpus += 1;
        let flags: Vec<&str> = value.split_whitespace().collect();
        if !["tsc", "constant_tsc", "nonstop_tsc"]
            .iter()
            .all(|f| flags.contains(f))
        {
            return false;
        }
    }
    cpus > 0
}

/// The invariant TSC bit of CPUID (leaf 0x8000_0007, EDX bit 8), for when
/// `/proc/cpuinfo` cannot be read.
fn cpuid_invariant_tsc() -> bool {
    // SAFETY: CPUID is available on every x86-64 CPU; the extended leaf is
    // read only if the CPU reports it. (`__cpuid` is a safe function in
    // newer Rust, an unsafe one in older.)
    #[allow(unused_unsafe)]
    unsafe {
        let max = std::arch::x86_64::__cpuid(0x8000_0000).eax;
        max >= 0x8000_0007 && std::arch::x86_64::__cpuid(0x8000_0007).edx & (1 << 8) != 0
    }
}

/// The TSC, read after every earlier instruction has completed.
pub fn rdtsc() -> u64 {
    // SAFETY: LFENCE and RDTSC have no preconditions on x86-64 (SSE2 is
    // part of the base architecture).
    unsafe {
        std::arch::x86_64::_mm_lfence();
        std::arch::x86_64::_rdtsc()
    }
}

/// Reads the TSC and the host's clocks together: the best of a few tries
/// (the one whose clock reads took least), or `None` if all were slow.
fn sample() -> Option<Sample> {
    let mut best: Option<(u64, Sample)> = None;
    for _ in 0..4 {
        let t0 = rdtsc();
        let m0 = host_clock(libc::CLOCK_MONOTONIC);
        let real = host_clock(libc::CLOCK_REALTIME);
        let m1 = host_clock(libc::CLOCK_MONOTONIC);
        let t1 = rdtsc();
        if t1 <= t0 || m1 < m0 {
            continue;
        }
        let spread = m1 - m0;
        let s = Sample {
            tsc: t0 + (t1 - t0) / 2,
            mono: m0 + spread / 2,
            real,
            spread,
        };
        if best.is_none_or(|(b, _)| spread < b) {
            best = Some((spread, s));
        }
    }
    best.filter(|&(spread, _)| spread <= MAX_SAMPLE_SPREAD)
        .map(|(_, s)| s)
}

/// The `mult` that turns TSC ticks into ns between two samples, if the
/// frequency is believable.
pub fn mult_between(a: &Sample, b: &Sample) -> Option<u64> {
    let ticks = b.tsc.checked_sub(a.tsc).filter(|&t| t > 0)? as u128;
    let ns = b.mono.checked_sub(a.mono).filter(|&n| n > 0)? as u128;
    let hz = ticks * 1_000_000_000 / ns;
    if !(MIN_HZ..=MAX_HZ).contains(&hz) {
        return None;
    }
    u64::try_from((ns << SHIFT) / ticks).ok()
}

/// `v + offset`, for sandbox times from host times.
fn offset_by(v: u64, offset: i64) -> u64 {
    v.wrapping_add(offset as u64)
}

/// Signed `a - b` of two wrapping times.
fn diff(a: u64, b: u64) -> i64 {
    a.wrapping_sub(b) as i64
}

/// The parameters that follow `old` at sample `s`, with frequency
/// estimate `mult`, and the amount (ns) by which the sandbox's offset to
/// the host's monotonic clock must grow. `offset` is that offset.
pub fn follow(old: &Params, s: &Sample, mult: u64, offset: i64) -> (Params, u64) {
    let carried = old.mono_at(s.tsc);
    let target = offset_by(s.mono, offset);
    let err = diff(target, carried);
    let (mono_base, mult, raise) = if err > STEP as i64 {
        // Far behind the host: step forward.
        (target, mult, 0)
    } else if err < -(STEP as i64) {
        // Far ahead: time cannot go back, so the sandbox's offset moves.
        (carried, mult, err.unsigned_abs())
    } else {
        // Close: continue exactly, and slew the difference away.
        let adj = mult as i128 * err as i128 / SLEW_HORIZON as i128;
        let m = (mult as i128 + adj).clamp(1, u64::MAX as i128) as u64;
        (carried, m, 0)
    };
    let host_wall = s
        .real
        .wrapping_sub(offset_by(s.mono, offset.wrapping_add(raise as i64)));
    let wall_offset = if diff(host_wall, old.wall_offset).unsigned_abs() > WALL_STEP {
        host_wall
    } else {
        old.wall_offset
    };
    (
        Params {
            tsc_base: s.tsc,
            mono_base,
            wall_offset,
            mult,
        },
        raise,
    )
}

/// How uncertain (ppm) a frequency measured between `a` and `b` is, from
/// how long their clock reads took.
fn uncertainty_ppm(a: &Sample, b: &Sample) -> u128 {
    let ns = b.mono.saturating_sub(a.mono).max(1) as u128;
    (a.spread as u128 + b.spread as u128) * 1_000_000 / ns
}

/// True if estimate `new` differs from `old` by more than the TSC may
/// drift plus `uncertainty_ppm` (that of both estimates).
fn freq_changed(new: u64, old: u64, uncertainty_ppm: u128) -> bool {
    let d = new.abs_diff(old) as u128;
    d * 1_000_000 > old as u128 * (MAX_FREQ_CHANGE_PPM + uncertainty_ppm)
}

impl Timekeeper {
    /// Starts measuring the TSC, if it can be used.
    pub fn start() -> Timekeeper {
        let state = if tsc_usable() {
            match sample() {
                Some(first) => State::Calibrating { first },
                None => State::Unusable,
            }
        } else {
            State::Unusable
        };
        Timekeeper {
            state,
            next_update: host_clock(libc::CLOCK_MONOTONIC) + CALIBRATION,
        }
    }

    /// True while the TSC's frequency is being measured.
    pub fn calibrating(&self) -> bool {
        matches!(self.state, State::Calibrating { .. })
    }

    /// The parameters in use, if time comes from the TSC.
    pub fn params(&self) -> Option<&Params> {
        match &self.state {
            State::Running { params, .. } => Some(params),
            _ => None,
        }
    }

    /// Sandbox monotonic time from the TSC, if it is in use.
    pub fn monotonic(&self) -> Option<u64> {
        self.params().map(|p| p.mono_at(rdtsc()))
    }

    /// Realtime from the TSC, if it is in use.
    pub fn realtime(&self) -> Option<u64> {
        self.params().map(|p| p.real_at(rdtsc()))
    }

    /// True if an update is due.
    pub fn due(&self) -> bool {
        matches!(
            self.state,
            State::Calibrating { .. } | State::Running { .. }
        ) && host_clock(libc::CLOCK_MONOTONIC) >= self.next_update
    }

    /// How long the main loop may sleep at most: until calibration ends,
    /// then [`MAX_SLEEP`].
    pub fn max_sleep(&self) -> Option<Duration> {
        match self.state {
            State::Calibrating { .. } => {
                let left = self
                    .next_update
                    .saturating_sub(host_clock(libc::CLOCK_MONOTONIC));
                Some(Duration::from_nanos(left).min(MAX_SLEEP))
            }
            State::Running { .. } => Some(MAX_SLEEP),
            _ => None,
        }
    }

    /// Recomputes the parameters from a new sample. `offset` is the
    /// sandbox's offset to the host's monotonic clock; it may grow.
    pub fn update(&mut self, offset: &mut i64) {
        let now = host_clock(libc::CLOCK_MONOTONIC);
        self.next_update = now + UPDATE_INTERVAL;
        let Some(s) = sample() else {
            // The reads were slow (preempted): try again soon.
            self.next_update = now + CALIBRATION;
            return;
        };
        match self.state.clone() {
            State::Calibrating { first } => {
                if s.mono.saturating_sub(first.mono) < CALIBRATION {
                    self.next_update = first.mono + CALIBRATION;
                    return;
                }
                let Some(mult) = mult_between(&first, &s) else {
                    tracing::info!("vDSO: implausible TSC frequency; clocks make system calls");
                    self.state = State::Unusable;
                    return;
                };
                let mono = offset_by(s.mono, *offset);
                let params = Params {
                    tsc_base: s.tsc,
                    mono_base: mono,
                    wall_offset: s.real.wrapping_sub(mono),
                    mult,
                };
                tracing::debug!(
                    hz = (1u128 << SHIFT) * 1_000_000_000 / mult as u128,
                    "vDSO: clocks come from the TSC"
                );
                self.state = State::Running {
                    first,
                    last: s,
                    nominal: mult,
                    params,
                };
            }
            State::Running {
                first,
                last,
                nominal,
                params: old,
            } => {
                let uncertainty = uncertainty_ppm(&first, &last) + uncertainty_ppm(&first, &s);
                let mult = mult_between(&first, &s)
                    .filter(|_| s.tsc > last.tsc)
                    .filter(|&m| !freq_changed(m, nominal, uncertainty));
                let Some(mult) = mult else {
                    tracing::warn!("vDSO: the TSC is not steady; clocks make system calls");
                    self.give_up(offset, &old, &s);
                    return;
                };
                let (params, raise) = follow(&old, &s, mult, *offset);
                if raise > 0 {
                    tracing::debug!(ns = raise, "vDSO: clock ahead of the host; offset raised");
                    *offset = offset.wrapping_add(raise as i64);
                }
                self.state = State::Running {
                    first,
                    last: s,
                    nominal: mult,
                    params,
                };
            }
            State::Off | State::Unusable => {}
        }
    }

    /// Stops using the TSC; host time plus `offset` must not fall below
    /// what the old parameters give now.
    fn give_up(&mut self, offset: &mut i64, old: &Params, s: &Sample) {
        let carried = old.mono_at(s.tsc);
        let host = offset_by(s.mono, *offset);
        if diff(carried, host) > 0 {
            *offset = offset.wrapping_add(diff(carried, host));
        }
        self.state = State::Unusable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(mult: u64) -> Params {
        Params {
            tsc_base: 1_000_000,
            mono_base: 5_000_000_000,
            wall_offset: 1_700_000_000_000_000_000,
            mult,
        }
    }

    /// 3 GHz: a third of a ns per tick.
    const MULT_3GHZ: u64 = (1u64 << SHIFT) / 3;

    #[test]
    fn mono_at_counts_ticks_and_never_goes_below_the_base() {
        let p = params(MULT_3GHZ);
        assert_eq!(p.mono_at(p.tsc_base), p.mono_base);
        assert_eq!(p.mono_at(p.tsc_base - 5), p.mono_base);
        let one_sec = p.mono_at(p.tsc_base + 3_000_000_000);
        assert!((one_sec - p.mono_base).abs_diff(1_000_000_000) < 10);
        // Hours later the product does not overflow.
        let later = p.mono_at(p.tsc_base + 3_000_000_000 * 3600 * 24);
        assert!((later - p.mono_base).abs_diff(86_400_000_000_000) < 2_000_000);
        assert_eq!(p.real_at(p.tsc_base), p.mono_base + p.wall_offset);
    }

    #[test]
    fn cpuinfo_flags() {
        let good = "processor\t: 0\nflags\t\t: fpu tsc msr constant_tsc nonstop_tsc\n\n\
                    processor\t: 1\nflags\t\t: fpu tsc constant_tsc nonstop_tsc rdtscp\n";
        assert!(cpuinfo_has_invariant_tsc(good));
        let one_bad = "flags : tsc constant_tsc nonstop_tsc\nflags : tsc constant_tsc\n";
        assert!(!cpuinfo_has_invariant_tsc(one_bad));
        assert!(!cpuinfo_has_invariant_tsc("processor : 0\n"));
    }

    #[test]
    fn frequency_from_two_samples() {
        let a = Sample {
            tsc: 0,
            mono: 0,
            real: 0,
            spread: 0,
        };
        let b = Sample {
            tsc: 3_000_000,
            mono: 1_000_000,
            real: 1_000_000,
            spread: 0,
        };
        assert_eq!(mult_between(&a, &b), Some(MULT_3GHZ));
        // 3 kHz is no TSC; neither is time standing still.
        let slow = Sample { tsc: 3, ..b };
        assert_eq!(mult_between(&a, &slow), None);
        assert_eq!(mult_between(&b, &a), None);
    }

    #[test]
    fn frequency_check_allows_for_sample_uncertainty() {
        // Reads of 10 µs around a 2 ms calibration: 1% either way.
        let a = Sample {
            tsc: 0,
            mono: 0,
            real: 0,
            spread: 10_000,
        };
        let b = Sample {
            tsc: 6_000_000,
            mono: 2_000_000,
            real: 2_000_000,
            spread: 10_000,
        };
        assert_eq!(uncertainty_ppm(&a, &b), 10_000);
        let half_percent = MULT_3GHZ + MULT_3GHZ / 200;
        assert!(!freq_changed(half_percent, MULT_3GHZ, 10_000));
        assert!(freq_changed(half_percent, MULT_3GHZ, 0));
        // Precise samples still leave room for a small error.
        assert!(!freq_changed(MULT_3GHZ + MULT_3GHZ / 2000, MULT_3GHZ, 0));
    }

    /// An update continues time exactly where the old parameters had it,
    /// slews small differences, steps big ones forward, and moves the
    /// offset for big ones backward.
    #[test]
    fn updates_keep_monotonic_time() {
        let old = params(MULT_3GHZ);
        let tsc = old.tsc_base + 300_000_000; // 100 ms later
        let carried = old.mono_at(tsc);
        let at = |host_mono: u64| Sample {
            tsc,
            mono: host_mono,
            real: host_mono.wrapping_add(old.wall_offset),
            spread: 0,
        };
        // The host is 2 µs ahead: continue from `carried`, run faster.
        let (p, raise) = follow(&old, &at(carried + 2_000), MULT_3GHZ, 0);
        assert_eq!((p.mono_base, p.tsc_base, raise), (carried, tsc, 0));
        assert!(p.mult > MULT_3GHZ);
        // After a second at the new rate the difference is gone.
        let caught = p.mono_at(tsc + 3_000_000_000);
        assert!(caught.abs_diff(carried + 2_000 + 1_000_000_000) < 10);
        // The host is 2 µs behind: continue from `carried`, run slower.
        let (p, raise) = follow(&old, &at(carried - 2_000), MULT_3GHZ, 0);
        assert_eq!((p.mono_base, raise), (carried, 0));
        assert!(p.mult < MULT_3GHZ);
        assert_eq!(p.wall_offset, old.wall_offset);
        // 5 ms behind the host: step forward.
        let (p, raise) = follow(&old, &at(carried + 5_000_000), MULT_3GHZ, 0);
        assert_eq!(
            (p.mono_base, p.mult, raise),
            (carried + 5_000_000, MULT_3GHZ, 0)
        );
        // 5 ms ahead of the host: stay, and the offset grows by 5 ms;
        // realtime keeps following the host's.
        let (p, raise) = follow(&old, &at(carried - 5_000_000), MULT_3GHZ, 0);
        assert_eq!((p.mono_base, raise), (carried, 5_000_000));
        assert_eq!(
            p.real_at(tsc),
            (carried - 5_000_000).wrapping_add(old.wall_offset)
        );
    }

    #[test]
    fn realtime_follows_host_steps_only() {
        let old = params(MULT_3GHZ);
        let tsc = old.tsc_base + 300_000_000;
        let carried = old.mono_at(tsc);
        let s = |wall_shift: u64| Sample {
            tsc,
            mono: carried,
            real: carried
                .wrapping_add(old.wall_offset)
                .wrapping_add(wall_shift),
            spread: 0,
        };
        let (p, _) = follow(&old, &s(50), MULT_3GHZ, 0);
        assert_eq!(p.wall_offset, old.wall_offset);
        let (p, _) = follow(&old, &s(3_600_000_000_000), MULT_3GHZ, 0);
        assert_eq!(p.wall_offset, old.wall_offset + 3_600_000_000_000);
    }

    /// On this machine: calibrate, then read the clock through several
    /// updates; it never goes back and stays close to the host's.
    #[test]
    fn live_clock_is_monotonic_and_close_to_the_host() {
        let mut tk = Timekeeper::start();
        if !matches!(tk.state, State::Calibrating { .. }) {
            eprintln!("no usable TSC here; skipping");
            return;
        }
        let mut offset = 0i64;
        std::thread::sleep(Duration::from_nanos(CALIBRATION));
        tk.update(&mut offset);
        let Some(_) = tk.params() else {
            eprintln!("calibration did not finish (noisy machine); skipping");
            return;
        };
        let mut last = 0;
        for round in 0..20 {
            for _ in 0..1000 {
                let now = tk.monotonic().expect("running");
                assert!(now >= last, "went back by {} ns", last - now);
                last = now;
            }
            let host = offset_by(host_clock(libc::CLOCK_MONOTONIC), offset);
            let ours = tk.monotonic().expect("running");
            assert!(
                ours.abs_diff(host) < 1_000_000,
                "round {round}: {ours} vs host {host}"
            );
            let real = tk.realtime().expect("running");
            let host_real = host_clock(libc::CLOCK_REALTIME);
            assert!(real.abs_diff(host_real) < 1_000_000);
            std::thread::sleep(Duration::from_millis(5));
            tk.update(&mut offset);
        }
    }
}
