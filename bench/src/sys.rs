//! The few OS facts and knobs the sweep needs: the file-descriptor limit, CPU pinning, and a
//! process's memory, thread count and CPU time read from `/proc`.
//!
//! Linux only (`/proc`, `sched_setaffinity`); on other systems the calls report an error and
//! the sweep runs without pinning or server statistics.

use std::fs;
use std::io;

/// Raise this process's soft `RLIMIT_NOFILE` to its hard limit and return the new soft limit.
///
/// Child processes spawned afterwards inherit it, so the server children get it too.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct for getrlimit to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit struct; setrlimit only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    Ok(lim.rlim_cur)
}

/// The CPUs this process may run on (its affinity mask), ascending. Read it before pinning.
pub fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: cpu_set_t is a plain bit array; all-zero is the valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 means the calling thread; `set` is a writable cpu_set_t of the size passed.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` < CPU_SETSIZE, so CPU_ISSET reads inside `set`.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect())
}

/// Pin the calling thread (every thread it creates afterwards inherits it) to CPU `cpu`.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    pin_to_cpus(&[cpu])
}

/// Pin the calling thread (and the threads it creates afterwards) to the set `cpus`: the
/// scheduler may move it between them (`taskset -c 0,1`). An empty set is an error.
pub fn pin_to_cpus(cpus: &[usize]) -> io::Result<()> {
    if cpus.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "an empty CPU set",
        ));
    }
    // SAFETY: cpu_set_t is a plain bit array; all-zero is the valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    for &cpu in cpus {
        if cpu >= libc::CPU_SETSIZE as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("CPU {cpu} is out of range"),
            ));
        }
        // SAFETY: `cpu` < CPU_SETSIZE (checked above), so CPU_SET stays inside `set`.
        unsafe { libc::CPU_SET(cpu, &mut set) };
    }
    // SAFETY: pid 0 means the calling thread; `set` is a valid cpu_set_t of the size passed.
    let rc = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Ask the kernel to SIGKILL this process when its parent dies (Linux), so a server child
/// never outlives a sweep that was killed; if the parent is already gone, exit now.
pub fn die_with_parent() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory of ours.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } == 1 {
            std::process::exit(1);
        }
    }
}

/// A snapshot of one process, from `/proc/<pid>/status` and `/proc/<pid>/stat`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcStats {
    /// Peak resident set size so far (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
    /// Anonymous resident memory now (`RssAnon`: heap and stacks, not the binary's mapped
    /// code, which every variant shares as the same executable), KiB.
    pub anon_rss_kib: u64,
    /// Live threads (`Threads`).
    pub threads: u64,
    /// User + system CPU time of all its threads so far, seconds.
    pub cpu_secs: f64,
}

/// Read [`ProcStats`] for `pid` (use `std::process::id()` for this process).
pub fn proc_stats(pid: u32) -> io::Result<ProcStats> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> io::Result<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("/proc/{pid}/status has no {name}"),
                )
            })
    };
    let peak_rss_kib = field("VmHWM:")?;
    let anon_rss_kib = field("RssAnon:")?;
    let threads = field("Threads:")?;
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    Ok(ProcStats {
        peak_rss_kib,
        anon_rss_kib,
        threads,
        cpu_secs: cpu_secs_from_stat(&stat).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot parse /proc/{pid}/stat"),
            )
        })?,
    })
}

/// CPU time every process on the machine has used so far (all CPUs, from the `cpu` line of
/// `/proc/stat`: user, nice, system and hypervisor steal), seconds. Compared with the
/// server's and the client's own CPU time over a window it shows how much else ran. Interrupt
/// time is left out: loopback TCP is processed in softirq context, which is the benchmark's
/// own traffic but is charged to no process.
pub fn machine_busy_secs() -> io::Result<f64> {
    let stat = fs::read_to_string("/proc/stat")?;
    machine_busy_from_stat(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "cannot parse /proc/stat"))
}

fn machine_busy_from_stat(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(7).unwrap_or(&0);
    Some(busy as f64 / clock_ticks())
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in seconds. The command
/// name (field 2) may hold spaces and parentheses, so fields are counted after the last `)`.
fn cpu_secs_from_stat(stat: &str) -> Option<f64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ')': field 3 (state) is index 0, so utime (14) is index 11 and stime (15) index 12.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / clock_ticks())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_skips_a_command_name_with_spaces_and_parens() {
        let line = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 300 100 0 0 20 0 1 0";
        let secs = cpu_secs_from_stat(line).unwrap();
        // SAFETY: sysconf has no memory-safety preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        assert!((secs - 400.0 / ticks).abs() < 1e-9);
    }

    #[test]
    fn machine_busy_adds_user_nice_system_and_steal() {
        let stat = "cpu  100 1 10 5000 7 2 3 4 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        let busy = machine_busy_from_stat(stat).unwrap();
        assert!((busy - 115.0 / clock_ticks()).abs() < 1e-9);
        assert!(machine_busy_secs().unwrap() > 0.0);
    }

    #[test]
    fn own_stats_are_readable() {
        let s = proc_stats(std::process::id()).unwrap();
        assert!(s.peak_rss_kib > 0);
        assert!(s.anon_rss_kib > 0 && s.anon_rss_kib <= s.peak_rss_kib);
        assert!(s.threads >= 1);
    }
}
