//! Clocks. `CLOCK_MONOTONIC` of the sandbox is the host's plus an offset
//! that a restore adjusts, so monotonic time continues across a checkpoint;
//! `CLOCK_REALTIME` is the host's. While the TSC is usable both are read
//! from it, with the parameters the vDSO uses too, kept close to the
//! host's clocks (see `crate::vdso::tsc`).

use serde::{Deserialize, Serialize};

/// The host's `CLOCK_MONOTONIC` in ns (for accounting, not for the
/// application: it sees `Clock::monotonic`).
pub fn host_monotonic() -> u64 {
    host_clock(libc::CLOCK_MONOTONIC)
}

pub(crate) fn host_clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime with a valid timespec pointer.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The sandbox's clocks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Clock {
    /// Added to the host's monotonic clock.
    pub mono_offset: i64,
    /// Sandbox monotonic time at boot (for uptime and process start times).
    pub boot: u64,
    /// Monotonic time saved at checkpoint.
    pub saved_mono: u64,
    /// The vDSO's memory object (image and time data page), once made.
    pub vdso: Option<crate::vdso::VdsoObject>,
    /// The TSC time base shared with the vDSO; host state, started anew
    /// after a restore.
    #[serde(skip)]
    pub tsc: crate::vdso::Timekeeper,
}

impl Clock {
    pub fn new() -> Clock {
        let now = host_clock(libc::CLOCK_MONOTONIC);
        Clock {
            mono_offset: 0,
            boot: now,
            saved_mono: 0,
            vdso: None,
            tsc: crate::vdso::Timekeeper::start(),
        }
    }

    /// Sandbox `CLOCK_MONOTONIC` in ns.
    pub fn monotonic(&self) -> u64 {
        match self.tsc.monotonic() {
            Some(ns) => ns,
            None => (host_clock(libc::CLOCK_MONOTONIC) as i64 + self.mono_offset) as u64,
        }
    }

    /// `CLOCK_REALTIME` in ns.
    pub fn realtime(&self) -> u64 {
        match self.tsc.realtime() {
            Some(ns) => ns,
            None => host_clock(libc::CLOCK_REALTIME),
        }
    }

    /// Nanoseconds since the sandbox booted.
    pub fn uptime(&self) -> u64 {
        self.monotonic().saturating_sub(self.boot)
    }

    /// Makes monotonic time continue from `saved_mono` (after restore).
    pub fn resume_from_saved(&mut self) {
        let host = host_clock(libc::CLOCK_MONOTONIC) as i64;
        self.mono_offset = self.saved_mono as i64 - host;
    }

    /// The value of clock `id` in ns, or `None` for an unknown clock.
    pub fn read(&self, id: i32) -> Option<u64> {
        match id {
            libc::CLOCK_REALTIME | libc::CLOCK_REALTIME_COARSE | libc::CLOCK_TAI => {
                Some(self.realtime())
            }
            libc::CLOCK_MONOTONIC
            | libc::CLOCK_MONOTONIC_COARSE
            | libc::CLOCK_MONOTONIC_RAW
            | libc::CLOCK_BOOTTIME => Some(self.monotonic()),
            libc::CLOCK_PROCESS_CPUTIME_ID | libc::CLOCK_THREAD_CPUTIME_ID => Some(self.uptime()),
            _ => None,
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// Converts nanoseconds to a `timespec`.
pub fn to_timespec(ns: u64) -> libc::timespec {
    libc::timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    }
}

/// Converts a `timespec` to nanoseconds; `None` if it is invalid.
pub fn from_timespec(ts: &libc::timespec) -> Option<u64> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return None;
    }
    (ts.tv_sec as u64)
        .checked_mul(1_000_000_000)?
        .checked_add(ts.tv_nsec as u64)
}

/// CPU time of one thread at host monotonic time `now`: what it has used,
/// and the time it has been running since it last started.
fn task_cpu(t: &super::Task, now: u64) -> u64 {
    let running = if t.run_start != 0 {
        now.saturating_sub(t.run_start)
    } else {
        0
    };
    t.utime + t.stime + running
}

impl super::Kernel {
    /// CPU time of a thread (`CLOCK_THREAD_CPUTIME_ID`) or of its whole
    /// process (`CLOCK_PROCESS_CPUTIME_ID`), in ns, counting time spent
    /// running application code.
    pub fn cpu_time(&self, tid: super::Tid, process: bool) -> u64 {
        if !process {
            return task_cpu(&self.tasks[&tid], host_monotonic());
        }
        self.group_cpu(self.tg(tid))
    }

    /// CPU time of a whole thread group, its exited threads included.
    pub fn group_cpu(&self, g: &super::ThreadGroup) -> u64 {
        let now = host_monotonic();
        g.dead_cpu
            + g.threads
                .iter()
                .filter_map(|t| self.tasks.get(t))
                .map(|t| task_cpu(t, now))
                .sum::<u64>()
    }

    /// The earliest pending interval timer (`alarm`, `setitimer`). For the
    /// CPU-time timers, the earliest moment the group's running threads
    /// can use up what is left.
    pub fn next_timer(&self) -> Option<u64> {
        let now = self.clock.monotonic();
        self.thread_groups
            .values()
            .flat_map(|g| {
                let cpu =
                    [g.itimer_virtual, g.itimer_prof]
                        .into_iter()
                        .flatten()
                        .map(|(expiry, _)| {
                            let running = g
                                .threads
                                .iter()
                                .filter(|t| self.tasks.get(t).is_some_and(|t| t.run_start != 0))
                                .count()
                                .max(1) as u64;
                            now + expiry.saturating_sub(self.group_cpu(g)) / running
                        });
                g.itimer_real
                    .map(|(d, _)| d)
                    .into_iter()
                    .chain(g.timers.values().filter_map(|t| t.deadline))
                    .chain(cpu)
            })
            .min()
    }

    /// Fires every interval timer due at `now` (sends `SIGALRM`).
    pub fn fire_timers(&mut self, now: u64) {
        let due: Vec<super::Tid> = self
            .thread_groups
            .iter()
            .filter(|(_, g)| g.zombie.is_none() && g.itimer_real.is_some_and(|(d, _)| d <= now))
            .map(|(&t, _)| t)
            .collect();
        for tgid in due {
            let g = self.thread_groups.get_mut(&tgid).expect("live");
            let (_, interval) = g.itimer_real.expect("due");
            g.itimer_real = (interval > 0).then(|| (now.saturating_add(interval), interval));
            let info =
                super::signal::SigInfo::new(super::signal::SIGALRM, super::signal::SI_KERNEL);
            self.send_to_group(tgid, info);
        }
        self.fire_cpu_timers();
        self.fire_posix_timers(now);
    }

    /// Fires the `ITIMER_VIRTUAL` (`SIGVTALRM`) and `ITIMER_PROF`
    /// (`SIGPROF`) timers whose group has used up their time.
    fn fire_cpu_timers(&mut self) {
        let mut due = Vec::new();
        for (&tgid, g) in &self.thread_groups {
            if g.zombie.is_some() || (g.itimer_virtual.is_none() && g.itimer_prof.is_none()) {
                continue;
            }
            let cpu = self.group_cpu(g);
            for (which, t) in [(0, g.itimer_virtual), (1, g.itimer_prof)] {
                if t.is_some_and(|(expiry, _)| expiry <= cpu) {
                    due.push((tgid, which, cpu));
                }
            }
        }
        for (tgid, which, cpu) in due {
            let g = self.thread_groups.get_mut(&tgid).expect("live");
            let (timer, signo) = if which == 0 {
                (&mut g.itimer_virtual, super::signal::SIGVTALRM)
            } else {
                (&mut g.itimer_prof, super::signal::SIGPROF)
            };
            let (_, interval) = timer.expect("due");
            *timer = (interval > 0).then(|| (cpu.saturating_add(interval), interval));
            let info = super::signal::SigInfo::new(signo, super::signal::SI_KERNEL);
            self.send_to_group(tgid, info);
        }
    }

    fn fire_posix_timers(&mut self, now: u64) {
        let mut due = Vec::new();
        for (&tgid, g) in &self.thread_groups {
            if g.zombie.is_some() {
                continue;
            }
            for (&id, t) in &g.timers {
                if t.deadline.is_some_and(|d| d <= now) {
                    due.push((tgid, id));
                }
            }
        }
        for (tgid, id) in due {
            let g = self.thread_groups.get_mut(&tgid).expect("live");
            let t = g.timers.get_mut(&id).expect("listed");
            let d = t.deadline.expect("due");
            match (now - d).checked_div(t.interval) {
                Some(missed) => {
                    t.overrun = t.overrun.saturating_add(missed.min(i32::MAX as u64) as i32);
                    t.deadline = Some(d.saturating_add((missed + 1).saturating_mul(t.interval)));
                }
                None => t.deadline = None,
            }
            let (notify, signo, value, target) = (t.notify, t.signo, t.value, t.target);
            if notify == libc::SIGEV_NONE {
                continue;
            }
            // si_timerid, si_overrun, si_value.
            let mut info = super::signal::SigInfo::new(signo, super::signal::SI_TIMER);
            info.0[2] = id as u32 as u64;
            info.0[3] = value;
            if notify & 4 != 0 && self.tasks.get(&target).is_some_and(|x| x.tgid == tgid) {
                self.send_to_thread(target, info);
            } else {
                self.send_to_group(tgid, info);
            }
        }
    }
}
