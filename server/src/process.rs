//! The server process's own resource use, for the metrics (Linux: read from /proc).

/// Resources in use by this process.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub resident_bytes: u64,
    pub open_fds: u64,
    pub cpu_seconds: f64,
}

/// What this process uses now, where the platform tells (Linux).
#[cfg(target_os = "linux")]
pub fn sample() -> Option<Sample> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let resident_kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    // Fields 14 and 15 of /proc/self/stat (utime, stime) in clock ticks, counted after the
    // command name, which may itself hold spaces: split after its closing parenthesis.
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux architecture we build for.
    const TICKS_PER_SECOND: f64 = 100.0;
    Some(Sample {
        resident_bytes: resident_kib * 1024,
        open_fds,
        cpu_seconds: ticks as f64 / TICKS_PER_SECOND,
    })
}

/// Elsewhere the process metrics are left out.
#[cfg(not(target_os = "linux"))]
pub fn sample() -> Option<Sample> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn reads_this_process() {
        let sample = super::sample().expect("Linux has /proc");
        assert!(sample.resident_bytes > 0);
        // stdin, stdout, stderr and the directory being read at least.
        assert!(sample.open_fds >= 3);
        assert!(sample.cpu_seconds >= 0.0);
    }
}
