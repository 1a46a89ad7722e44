//! CPU time and memory of a process, from /proc (Linux).

/// Seconds of CPU a process has used so far, split as the kernel counts them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuTime {
    pub user: f64,
    pub system: f64,
}

impl CpuTime {
    /// `pid` is a number or `self`.
    pub(crate) fn of(pid: &str) -> CpuTime {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The fields after the parenthesised command name (which may hold spaces);
        // utime and stime are the 14th and 15th of the line, the 12th and 13th here.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Clock ticks: USER_HZ is 100 on Linux.
        let seconds = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .map_or(0.0, |ticks| ticks / 100.0)
        };
        CpuTime {
            user: seconds(11),
            system: seconds(12),
        }
    }

    /// Microseconds per unit of work since `earlier`: (user, system).
    pub(crate) fn us_per(&self, earlier: &CpuTime, units: u64) -> (f64, f64) {
        let per = |seconds: f64| (seconds * 1e6 / units.max(1) as f64).round();
        (
            per(self.user - earlier.user),
            per(self.system - earlier.system),
        )
    }
}

/// Resident memory now and at its peak, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
}

impl Memory {
    pub(crate) fn of(pid: &str) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: kib("VmRSS:"),
            peak_rss_kib: kib("VmHWM:"),
        }
    }
}
