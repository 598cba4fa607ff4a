//! What `/proc` tells about a process: resident memory, CPU time, threads; and the kernel's
//! TCP memory.

/// VmRSS of a process, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS:")
}

/// Threads of a process.
pub fn threads(pid: u32) -> Option<u64> {
    status_field(pid, "Threads:")
}

fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// utime + stime of a process, in microseconds.
pub fn cpu_us(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields count from after its closing parenthesis.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')' the fields start at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks();
    Some((utime + stime) * 1_000_000 / ticks)
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Kernel memory held by TCP sockets (`/proc/net/sockstat` "TCP: … mem" pages), in KiB.
pub fn tcp_mem_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    let line = text.lines().find(|l| l.starts_with("TCP:"))?;
    let mut it = line.split_whitespace();
    while let Some(word) = it.next() {
        if word == "mem" {
            let pages: u64 = it.next()?.parse().ok()?;
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
            return Some(pages * page / 1024);
        }
    }
    None
}

/// Open file descriptors of a process.
pub fn fd_count(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// The socket inodes a process holds open.
fn socket_inodes(pid: u32) -> Option<std::collections::HashSet<u64>> {
    let mut out = std::collections::HashSet::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
            {
                out.insert(inode);
            }
        }
    }
    Some(out)
}

/// The peer ports of the TCP connections that process `pid` holds open on its local port
/// `local_port` (`/proc/PID/fd` against `/proc/net/tcp` and `tcp6`): a connection the server
/// closed is not among them any more, even while the kernel still holds its socket (an orphan
/// whose unsent data the peer never reads).
pub fn tcp_peers_owned(pid: u32, local_port: u16) -> Option<std::collections::HashSet<u16>> {
    let inodes = socket_inodes(pid)?;
    let mut out = std::collections::HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let port = |addr: &str| {
                addr.rsplit_once(':')
                    .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            };
            let inode: u64 = f[9].parse().unwrap_or(0);
            if port(f[1]) == Some(local_port) && inode != 0 && inodes.contains(&inode) {
                if let Some(peer) = port(f[2]) {
                    out.insert(peer);
                }
            }
        }
    }
    Some(out)
}

/// Whether the peer of a connected TCP socket has closed its side (or reset it): the socket's
/// state (`TCP_INFO`) is CLOSE_WAIT or CLOSE. Reads nothing from the socket.
pub fn peer_closed(socket: &impl std::os::fd::AsRawFd) -> bool {
    const TCP_CLOSE: u8 = 7;
    const TCP_CLOSE_WAIT: u8 = 8;
    let mut info = [0u8; 256];
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `info`; the first byte of `tcp_info`
    // is `tcpi_state`.
    let ok = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    } == 0;
    ok && len > 0 && matches!(info[0], TCP_CLOSE | TCP_CLOSE_WAIT)
}

/// Raises this process's open-files soft limit to its hard limit; answers the new soft limit.
pub fn raise_nofile() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid rlimit for getrlimit/setrlimit to read and write.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
    }
    lim.rlim_cur
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_itself() {
        let pid = std::process::id();
        assert!(super::rss_kib(pid).unwrap() > 0);
        assert!(super::threads(pid).unwrap() >= 1);
        assert!(super::cpu_us(pid).is_some());
        assert!(super::fd_count(pid).unwrap() >= 1);
    }

    #[test]
    fn sees_its_own_connection() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let peer = client.local_addr().unwrap().port();
        let pid = std::process::id();
        assert!(super::tcp_peers_owned(pid, port).unwrap().contains(&peer));
        assert!(!super::peer_closed(&client));
        drop(accepted);
        assert!(!super::tcp_peers_owned(pid, port).unwrap().contains(&peer));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(super::peer_closed(&client));
    }
}
