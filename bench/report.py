#!/usr/bin/env python3
"""Turns bench/run.sh's raw results into docs/benchmarks.md.

usage: report.py MACHINE_ENV RESULTS_JSONL NOTES_MD > docs/benchmarks.md
       report.py --cluster-into DOC_MD MACHINE_ENV RESULTS_JSONL NOTES_MD > new DOC_MD
         (ONLY=cluster: DOC_MD with its Cluster section and its notes replaced, the rest kept)
"""
import json
import sys


def load(env_path, results_path):
    env = {}
    for line in open(env_path):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    rows = []
    for line in open(results_path):
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return env, rows


def f(v, digits=1, unit=""):
    if v is None or v == "":
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if digits == 0 or (isinstance(v, int) and abs(v) >= 1000):
            return f"{v:,.0f}{unit}"
        return f"{v:,.{digits}f}{unit}"
    return str(v)


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.{digits}f}×"


def pick(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def one(rows, **kw):
    found = pick(rows, **kw)
    return found[-1] if found else None


def lat(r, q):
    return (r or {}).get("latency_ms", {}).get(q)


def capacity(rows, system, n, k):
    """The highest passing fanout step: (deliveries/s, rate, row)."""
    steps = [r for r in pick(rows, system=system, workload="fanout", n=n, k=k) if r.get("pass")]
    if not steps:
        return None, None, None
    best = max(steps, key=lambda r: r["deliveries_per_s"])
    return best["deliveries_per_s"], best["rate"], best


def closed_span(c):
    """First – last closing time of a set of clients, or a dash when none closed."""
    if not c.get("closed"):
        return "–"
    a, b = c.get("first_s"), c.get("last_s")
    return f(a, 1) if f(a, 1) == f(b, 1) else f"{f(a, 1)} – {f(b, 1)}"


def failed_runs(rows):
    return [r for r in rows if "error" in r]


# ---------------------------------------------------------------- restart, before
# Restart time before this work: commit 6bb6ddf (main before the server core was rebuilt, issue 10),
# which loaded every stored user when it opened the store and then rewrote each user whose
# record changed at start, one fsync'd transaction each. Measured once with this harness's
# `imstatus-bench restart --legacy-config --no-in-process` on a build of that commit (a temporary
# `git worktree add /tmp/before 6bb6ddf`, `cargo build --release --bin imstatus`), over the same
# data directory layout (schema 1, written by `restart`'s builder: 100,000 users, 10,000 of them
# logged in), server pinned to core 0, harness to core 1, on the 2-core machine of these benchmarks.
# Fixed here: that commit does not change.
RESTART_BEFORE = dict(
    commit="6bb6ddf",
    users=100_000,
    online=10_000,
    listen_s=2.54,
    login_s=2.55,
    # Everything was loaded before it listened.
    recovered_s=2.55,
    steady_cpu_pct=1.7,
    rss_mib=144.1,
    note=("Before (6bb6ddf): the store loaded every user into memory when it opened, and the "
          "engine then rewrote every user whose record changed at start (the 10,000 that were "
          "logged in), each in a transaction of its own with an fsync, all before the server "
          "listened; its start grew with every user ever stored. Now the start reads only the "
          "apps: the server listens at once, a login loads its user on demand, and the rest are "
          "loaded in the background (2,000 per 100 ms tick)."),
)

def restart_before_cell():
    b = RESTART_BEFORE
    if b.get("login_s") is None:
        return "– (not measured)"
    return f"{b['login_s']:,.1f} (6bb6ddf; see \"The server alone\")"


# ---------------------------------------------------------------- SDK size
# The SDK before this work: commit 6bb6ddf, main before the SDK and the server became crates of
# their own (the SDK's library then held the server too). Measured once, with
# `bench/sdk-size.sh --src DIR` on a worktree of that commit (`git worktree add DIR 6bb6ddf`), on
# the 2-core x86_64 Debian 12 machine of these benchmarks with rustc 1.95.0: the same script,
# the same way as the "after" rows. Fixed here: that commit does not change.
SDK_BEFORE_COMMIT = "6bb6ddf"
SDK_BEFORE_NO_LINKER = ("Before, the static library did not build here for this target either: "
                        "redb, server code then in the SDK, builds a shared library of its own, "
                        "which needs the target's linker.")
SDK_BEFORE = {
    "x86_64-unknown-linux-gnu": dict(a_bytes=42_277_950, so_bytes=2_031_128,
                                     stripped_so_bytes=1_392_632),
    "x86_64-pc-windows-gnu": dict(a_bytes=27_057_648, so_bytes=5_738_204,
                                  stripped_so_bytes=4_083_712),
    "aarch64-linux-android": dict(note=SDK_BEFORE_NO_LINKER),
    "armv7-linux-androideabi": dict(note=SDK_BEFORE_NO_LINKER),
    "x86_64-linux-android": dict(note=SDK_BEFORE_NO_LINKER),
    "aarch64-apple-ios": dict(note=SDK_BEFORE_NO_LINKER),
    "aarch64-apple-darwin": dict(note=SDK_BEFORE_NO_LINKER),
}
# The budget for the stripped x86_64 Linux library.
SDK_BUDGET_BYTES = 900_000

# What each step of the lean SDK saved: the stripped x86_64 Linux libimstatus.so after it, each
# measured on the same machine the same way (the SDK built alone, `strip`).
SDK_STEPS = [
    ("before: commit 6bb6ddf, the SDK's library holding the server too", 1_392_632),
    ("the server in a crate of its own; fat LTO, `opt-level = \"s\"` for the SDK; no `rand`, no "
     "`tracing-subscriber`; a flat decoder for server messages (main, e481a37)", 1_031_192),
    ("a current-thread tokio runtime on the client's own `imstatus-rt` thread: no "
     "`rt-multi-thread` (`src/client/runtime.rs`)", 992_848),
    ("a logger of our own instead of `tracing` (`src/client/log.rs`)", 940_184),
    ("a small blocking queue of our own instead of `std::sync::mpsc`, whose three channel "
     "flavours came with every message type (`src/client/queue.rs`)", 878_768),
    ("the SONAME (`libimstatus.so.0`)", 878_784),
]


def change(before, after):
    """`before → after B (±x %)`, or what is known of either."""
    if before is None and after is None:
        return "–"
    if before is None:
        return f"– → {f(after, 0)} B"
    if after is None:
        return f"{f(before, 0)} B → –"
    return f"{f(before, 0)} → {f(after, 0)} B ({(after - before) / before * 100:+.1f} %)"


def sdk_size(w, rows):
    after = {r["target"]: r for r in pick(rows, workload="sdk-size") if "target" in r}
    host = next((r for r in after.values() if r["target"].endswith("-linux-gnu")), None)
    w("### Size")
    w("")
    if not after:
        w("No size was measured in this run (`bench/sdk-size.sh`).")
        w("")
        return
    commits = sorted({r.get("commit") or "?" for r in after.values()})
    w(f"The SDK as an app ships it, built alone (`bench/sdk-size.sh`: `-p imstatus --lib`, "
      f"release profile, nothing else in the same cargo invocation) for every Rust target that "
      f"builds here. Before: commit {SDK_BEFORE_COMMIT}, measured the same way on a worktree of "
      f"that commit (rustc 1.95.0). After: commit {', '.join(commits)}. \"Stripped\": after "
      f"`strip` (all symbols and debug information), as an app would ship it. A static library is "
      f"what the app's own link starts from (it keeps the debug information of Rust's standard "
      f"library). Targets whose shared library needs a linker this machine does not have (the "
      f"Android NDK, Apple's Xcode) have their static library measured only.")
    w("")
    if host and host.get("stripped_so_bytes") is not None:
        size = host["stripped_so_bytes"]
        met = "within" if size <= SDK_BUDGET_BYTES else "over"
        w(f"Stripped `libimstatus.so` on {host['target']}: **{f(size, 0)} B**, {met} the "
          f"budget of {f(SDK_BUDGET_BYTES, 0)} B (set for the SDK without TLS; with TLS: "
          f"\"SDK size with TLS\" below).")
        w("")
    w("| target | shared library, stripped | shared library, as built | static library |")
    w("|---|---|---|---|")
    footnotes = []
    for target, r in after.items():
        b = SDK_BEFORE.get(target, {})
        if r.get("stripped_so_bytes") is None and r.get("so_bytes") is None:
            stripped, shared = r.get("note") or "–", "–"
        else:
            stripped = change(b.get("stripped_so_bytes"), r.get("stripped_so_bytes"))
            shared = change(b.get("so_bytes"), r.get("so_bytes"))
        static = change(b.get("a_bytes"), r.get("a_bytes"))
        if b.get("note"):
            if b["note"] not in footnotes:
                footnotes.append(b["note"])
            static += " " + "¹²³⁴⁵"[footnotes.index(b["note"])]
        w(f"| `{target}` | {stripped} | {shared} | {static} |")
    w("")
    for i, note in enumerate(footnotes):
        w(f"{'¹²³⁴⁵'[i]} {note}")
        w("")
    w("What each step saved (stripped `libimstatus.so`, x86_64 Linux):")
    w("")
    w("| step | stripped `libimstatus.so` | change |")
    w("|---|---|---|")
    previous = None
    for step, size in SDK_STEPS:
        delta = "" if previous is None else f"{size - previous:+,} B"
        w(f"| {step} | {f(size, 0)} B | {delta} |")
        previous = size
    w("")
    w("What the SDK keeps (`cargo tree -p imstatus -e normal`): `imstatus-protocol` (serde with "
      "derive, serde_json, thiserror) and tokio with `rt`, `net`, `io-util`, `sync`, `time` and "
      "`macros` (`select!`), each of which it uses. Of the stripped x86_64 library's code "
      "(by `nm --size-sort` on the unstripped one), nearly a third is Rust's standard library "
      "printing panic backtraces (gimli, addr2line, rustc-demangle, miniz_oxide: std's default "
      "panic hook links it into every Rust library on stable Rust; a nightly `-Z build-std` "
      "without std's `backtrace` feature should leave it out, not tried here), a sixth is tokio (the current-thread "
      "scheduler, timers, the I/O driver, the blocking pool that resolves host names), an "
      "eighth is serde and serde_json (with zmij, which formats floats for serde's error "
      "messages), and under a tenth is the SDK itself; unwinding tables (`.eh_frame`, "
      "`.gcc_except_table`) are another 145 KB: a panic is caught at the C and JNI boundary, "
      "so the library unwinds.")
    w("")


# The SDK's size with TLS in (issue 12), measured once on branch tls-sdk (rustc 1.95.0): see
# the section's own text. Fixed here until bench/sdk-size.sh measures a build with TLS again.
SDK_TLS_LINES = [
    '### SDK size with TLS',
    '',
    'TLS in the SDK (issue 12: rustls with the `ring` provider, `rustls-platform-verifier`, `tokio-rustls`, webpki) is always built in: there is no feature that leaves it out. Measured on branch `tls-sdk` after merging main 990af59, on the machine above with rustc 1.95.0, the same two ways as before TLS: the stripped `libimstatus.so` as `bench/sdk-size.sh` builds it (`cargo build --release -p imstatus --lib`, then `strip`), and the stripped `bin/imstatus.dll` that `scripts/build-windows.sh` puts in the Windows SDK folder.',
    '',
    '| library | without TLS | with TLS | what TLS costs |',
    '|---|---|---|---|',
    '| `libimstatus.so`, x86_64 Linux, stripped | 878,784 B | 2,346,232 B | +1,467,448 B (×2.67) |',
    '| `imstatus.dll`, x86_64 Windows (`scripts/build-windows.sh`), stripped | 1,589,760 B | 3,283,456 B | +1,693,696 B (×2.07) |',
    '',
    "The budget of 900,000 B for the stripped Linux library (issue 9) was set, and met, without TLS; with TLS the library is **2.6 times over it**, and no test holds a size ceiling. Where the added bytes go (symbol sizes by `nm --size-sort` on the unstripped x86_64 library; fat LTO inlines across crates, so these are rough): rustls about 400 KB, ring about 320 KB (a third of it Rust, the rest its C and assembly: AES-GCM, ChaCha20-Poly1305, P-256/P-384, X25519, SHA-2), webpki about 70 KB, and the platform verifier with its Linux CA bundle loader (`rustls-native-certs`, `openssl-probe`) about 14 KB; the rest is more of core, alloc and std monomorphised for them, and unwinding tables. On Windows the platform verifier calls the system's CryptoAPI (crypt32) rather than webpki's path builder. Not tried yet, and what could win bytes back: a client-only rustls without TLS 1.2 (`tls12` off), fewer cipher suites and key-exchange groups in the provider (only AES-GCM and X25519), and leaving std's backtrace printer out (see above).",
    '',
]


def sdk_size_tls(w):
    for line in SDK_TLS_LINES:
        w(line)



def tls_beside_plaintext(w, pairs):
    """Issue 12: the same imstatus runs over plaintext and TLS, back to back."""
    w("## TLS beside plaintext")
    w("")
    if not pairs:
        w("Not measured in this run.")
        w("")
        return
    w("imstatus only, the same runs over plaintext and over TLS back to back (`tls_pair` in "
      "`bench/run.sh`), each on a fresh server with both listeners: the TLS listener "
      "(rustls, `ring`) with a leaf for localhost from `imstatus dev-cert`, the harness's clients "
      "(tokio-rustls, `ring`) trusting only that CA and checking the name. A login-storm client "
      "connects, does the handshake (TLS 1.3, the leaf's ECDSA P-256 key; a full handshake each, as the harness resumes no session), then sends "
      "hello and login in one write; so its logins/s are handshakes + logins/s. Fanout devices "
      "hold their connections: deliveries are records on a session already set up. Server CPU "
      "includes the kernel's loopback TCP path, as elsewhere.")
    w("")
    def get(workload, tls, **kw):
        return [r for r in pick(pairs, workload=workload, **kw) if bool(r.get("tls")) == tls]
    w("### Connect and log in")
    w("")
    w("| transport | storm clients answered | handshakes + logins/s | connect (TCP + TLS) p50 / p99 ms | "
      "connect to login answered p50 / p99 ms | watchers' p99 during (ms) | fanout setup (connect-idle): connects + logins/s |")
    w("|---|---|---|---|---|---|---|")
    for tls in (False, True):
        st = (get("login-storm", tls) or [{}])[-1]
        ci = (get("connect-idle", tls) or [{}])[-1]
        c, l = st.get("connected_ms") or {}, st.get("login_ms") or {}
        answered = f"{f(st.get('answered'), 0)} / {f(st.get('storm_clients'), 0)}" if st else "not run"
        w(f"| {'TLS' if tls else 'plaintext'} | {answered} | {f(st.get('logins_per_s'), 0)} | "
          f"{f(c.get('p50'), 2)} / {f(c.get('p99'), 2)} | {f(l.get('p50'), 2)} / {f(l.get('p99'), 2)} | "
          f"{f(lat(st.get('during'), 'p99'), 2)} | {f(ci.get('connects_per_s'), 0)} |")
    w("")
    w("### Deliveries")
    w("")
    w("| N | K | λ/s | transport | deliveries/s | missed (stale) | p50 / p99 ms | server µs CPU/delivery | server CPU % | pass |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["n"], r["k"], r["rate"]) for r in pick(pairs, workload="fanout") if "rate" in r})
    for n, k, rate in keys:
        for tls in (False, True):
            found = get("fanout", tls, n=n, k=k, rate=rate)
            r = found[-1] if found else None
            name = "TLS" if tls else "plaintext"
            if not r:
                w(f"| {n:,} | {k} | {rate:,.0f} | {name} | not run | – | – | – | – | – |")
                continue
            w(f"| {n:,} | {k} | {rate:,.0f} | {name} | {f(r.get('deliveries_per_s'), 0)} | "
              f"{f(r.get('missed'), 0)} ({f(r.get('stale_views'), 0)}) | "
              f"{f(lat(r, 'p50'), 2)} / {f(lat(r, 'p99'), 2)} | {f(r.get('server_cpu_us_per_delivery'), 2)} | "
              f"{f(r.get('server_cpu_pct'), 0)} | {'pass' if r.get('pass') else 'FAIL'} |")
    w("")
    for r in pairs:
        if r.get("error"):
            w(f"- A run failed: {r.get('workload')}: {r['error']}")
    w("")


CLUSTER_GOAL_MS = 50.0
CLUSTER_GOAL_RATE = 500.0


def cluster(w, rows, env):
    """The Cluster section: one node against Redis and several nodes, the same run, same load."""
    base = [r for r in rows if r.get("label") == "cluster-base"]
    clu = [r for r in rows if r.get("label") == "cluster"]
    if not base and not clu:
        return
    nodes = max((r.get("nodes", 1) for r in clu), default=2)
    w("## Cluster: one node beside Redis and " + str(nodes) + " nodes (issue 11)")
    w("")
    w(f"The same harness and load against a single `imstatus serve` and against a Redis (no "
      f"persistence) with {nodes} `imstatus serve --redis` nodes, one after the other in the same "
      f"run ({env.get('date', '?')}, Redis {env.get('redis', '?')}). Redis and every node share "
      "core 0, as the single node has it alone; the harness is on core 1. Users are spread over "
      "the nodes (user u on node u mod nodes) and every user watches only users of other nodes: "
      "every cluster delivery below crosses Redis (the single node's are all same-node). "
      f"Load average before / after: {env.get('load_before', '?')} / {env.get('load_after', '?')} "
      "(both include this run's own work: the release build just before the first run, the runs "
      "themselves). The machine is shared: other engineers' builds and tests may have run on the "
      "same 2 cores meanwhile (busy processes at the start: "
      f"{env.get('other_processes') or 'none over 5 %'}); latencies and CPU figures are noisy, "
      "counts (losses, stale views) are not.")
    w("")

    def fan(rs):
        return {r["rate"]: r for r in rs if r.get("workload") == "fanout" and "rate" in r}
    fb, fc = fan(base), fan(clu)

    def cap(steps):
        ok = [r for r in steps.values() if r.get("pass")]
        if not ok:
            return "none passed"
        best = max(ok, key=lambda r: r["deliveries_per_s"])
        top = all(r.get("pass") for r in steps.values())
        return f"{'≥ ' if top else ''}{best['deliveries_per_s']:,.0f} (λ={best['rate']:,.0f})"

    def storm(rs):
        found = [r for r in rs if r.get("workload") == "login-storm" and "during" in r]
        return found[-1] if found else {}
    sb, sc = storm(base), storm(clu)
    at_b, at_c = fb.get(CLUSTER_GOAL_RATE, {}), fc.get(CLUSTER_GOAL_RATE, {})
    p99c = lat(at_c, "p99")
    goal = "–" if p99c is None else ("met" if p99c <= CLUSTER_GOAL_MS and at_c.get("pass") else "MISSED")
    n = (next(iter(fc.values()), None) or next(iter(fb.values()), None) or {}).get("n", 10000)
    k = (next(iter(fc.values()), None) or next(iter(fb.values()), None) or {}).get("k", 50)
    w(f"| N = {n:,}, K = {k} | single node | cluster ({nodes} nodes + Redis) |")
    w("|---|---|---|")
    w(f"| loss-free deliveries/s (best passing step) | {cap(fb)} | {cap(fc)} |")
    lam = f"{CLUSTER_GOAL_RATE:,.0f}"
    w(f"| p50 / p99 at λ = {lam}/s, ms (single: same-node; cluster: cross-node) | "
      f"{f(lat(at_b, 'p50'), 2)} / {f(lat(at_b, 'p99'), 2)} | {f(lat(at_c, 'p50'), 2)} / {f(p99c, 2)} |")
    w(f"| cross-node p99 ≤ {CLUSTER_GOAL_MS:.0f} ms at λ = {lam}/s (the issue's goal) | – | {goal} |")
    w(f"| server CPU µs per delivery at λ = {lam}/s (cluster: all nodes) | "
      f"{f(at_b.get('server_cpu_us_per_delivery'), 2)} | {f(at_c.get('server_cpu_us_per_delivery'), 2)} |")
    w(f"| Redis CPU µs per delivery at λ = {lam}/s | – | {f(at_c.get('redis_cpu_us_per_delivery'), 2)} |")
    w(f"| logins/s (login storm of {f(sc.get('storm_clients') or sb.get('storm_clients'), 0)} clients; "
      f"cluster: spread over the nodes) | {f(sb.get('logins_per_s'), 0)} | {f(sc.get('logins_per_s'), 0)} |")
    w(f"| login p50 / p99, ms | {f((sb.get('login_ms') or {}).get('p50'), 1)} / {f((sb.get('login_ms') or {}).get('p99'), 1)} | "
      f"{f((sc.get('login_ms') or {}).get('p50'), 1)} / {f((sc.get('login_ms') or {}).get('p99'), 1)} |")
    w(f"| watchers' p99 before / during the storm, ms | {f(lat(sb.get('before'), 'p99'), 2)} / {f(lat(sb.get('during'), 'p99'), 2)} | "
      f"{f(lat(sc.get('before'), 'p99'), 2)} / {f(lat(sc.get('during'), 'p99'), 2)} |")
    w("")
    w("Every fanout step (each run on fresh processes; a step passes as in the fanout section: "
      "no stale view, no regression, p99 ≤ 1 s, ≥ 95 % of λ issued):")
    w("")
    w("| λ/s | deliveries/s (single / cluster) | missed (stale) single / cluster | single p50 / p99 / p99.9 ms | "
      "cluster cross-node p50 / p99 / p99.9 ms | µs CPU/delivery: single / nodes / Redis | "
      "CPU %: single / nodes / Redis | harness CPU % (single / cluster) | pass (single / cluster) |")
    w("|---|---|---|---|---|---|---|---|---|")

    def lats(r):
        return "not run" if not r else f"{f(lat(r, 'p50'), 2)} / {f(lat(r, 'p99'), 2)} / {f(lat(r, 'p999'), 2)}"

    def missed(r):
        return "–" if not r else f"{f(r.get('missed'), 0)} ({f(r.get('stale_views'), 0)})"

    def ok(r):
        return "–" if not r else ("pass" if r.get("pass") else "FAIL")
    for rate in sorted(set(fb) | set(fc)):
        a, b = fb.get(rate, {}), fc.get(rate, {})
        w(f"| {rate:,.0f} | {f(a.get('deliveries_per_s'), 0)} / {f(b.get('deliveries_per_s'), 0)} | "
          f"{missed(a)} / {missed(b)} | {lats(a)} | {lats(b)} | "
          f"{f(a.get('server_cpu_us_per_delivery'), 2)} / {f(b.get('server_cpu_us_per_delivery'), 2)} / "
          f"{f(b.get('redis_cpu_us_per_delivery'), 2)} | "
          f"{f(a.get('server_cpu_pct'), 0)} / {f(b.get('server_cpu_pct'), 0)} / {f(b.get('redis_cpu_pct'), 0)} | "
          f"{f(a.get('harness_cpu_pct'), 0)} / {f(b.get('harness_cpu_pct'), 0)} | {ok(a)} / {ok(b)} |")
    w("")
    bad = [r for r in base + clu if r.get("error")]
    for r in bad:
        w(f"- run failed ({r.get('label')} {r.get('workload')}): {r.get('error')}")
    if bad:
        w("")


def cluster_into(doc_path, env, rows, notes):
    """`doc_path`'s text with its Cluster section replaced (or put before the SDK's cost) and
    its notes replaced by `notes`; every other section is kept byte for byte."""
    text = open(doc_path).read()
    if notes and "\n## Notes" in text:
        # As main() writes them: the notes, then print()'s newline.
        text = text[:text.index("\n## Notes") + 1] + notes + "\n"
    sections = text.split("\n## ")
    head, rest = sections[0], ["## " + s for s in sections[1:]]
    rest = [s for s in rest if not s.startswith("## Cluster")]
    out = []
    cluster(out.append, rows, env)
    at = next((i for i, s in enumerate(rest) if s.startswith("## The SDK's own cost")), len(rest))
    rest.insert(at, "\n".join(out))
    return "\n".join([head] + rest)


def main():
    if sys.argv[1] == "--cluster-into":
        env, rows = load(sys.argv[3], sys.argv[4])
        notes = open(sys.argv[5]).read() if len(sys.argv) > 5 else ""
        sys.stdout.write(cluster_into(sys.argv[2], env, rows, notes))
        return
    env, rows = load(sys.argv[1], sys.argv[2])
    # The TLS pairs have a section of their own; the other sections compare systems.
    pairs = [r for r in rows if r.get("label") == "tls-pair"]
    rows = [r for r in rows if r.get("label") != "tls-pair"]
    # So do the cluster runs and their single-node baseline.
    clustered = [r for r in rows if r.get("label") in ("cluster", "cluster-base")]
    rows = [r for r in rows if r.get("label") not in ("cluster", "cluster-base")]
    notes = open(sys.argv[3]).read() if len(sys.argv) > 3 else ""
    out = []
    w = out.append
    w("# Benchmarks: imstatus side by side with Mosquitto, and the SDK's own cost")
    w("")
    w("Generated by `bench/run.sh` (raw results: `target/bench/results.jsonl`). "
      "Method and fairness rules (one machine, loopback only, the server or broker and the "
      "harness on a core each, the same workloads driving both systems), what each workload does "
      "and how to read the numbers: the notes at the end.")
    w("")
    if env.get("quick") == "1":
        w("**This is a reduced (BENCH_QUICK=1) run, not the full matrix.**")
        w("")
    w("## Machine and versions")
    w("")
    w("| | |")
    w("|---|---|")
    for key, label in [
        ("date", "run started"), ("duration_min", "run length (min)"), ("cpu", "CPU"),
        ("cores", "cores"), ("memory", "memory"), ("os", "OS"), ("kernel", "kernel"),
        ("rustc", "rustc"), ("mosquitto", "Mosquitto (Debian)"), ("imstatus", "imstatus commit"),
        ("nofile", "open files (soft = hard)"), ("load_before", "load average before"),
        ("load_after", "load average after"),
        ("other_processes", "other busy processes at start"),
    ]:
        w(f"| {label} | {env.get(key, '–') or 'none'} |")
    w("")
    w("One machine, loopback only. The server or broker is pinned to core 0 (`taskset`), the "
      "harness to core 1: imstatus and Mosquitto each get one core (Mosquitto is single-threaded). "
      "The machine is shared: other engineers' builds and tests may have run on the same 2 cores "
      "during the run (see the load averages and the busy processes at the start). Latencies and "
      "CPU figures are noisy; counts (losses, regressions, mismatches) are not.")
    w("")
    failed = failed_runs(rows)
    if failed:
        w("Runs that failed (no numbers below for them):")
        w("")
        for r in failed:
            w(f"- {r.get('system') or 'in process'} {r.get('workload')}: {r.get('error')}")
        w("")

    # ---------------------------------------------------------------- headline
    big = dict(n=10000, k=200)
    if not pick(rows, workload="fanout", **big):
        ns = sorted({r["n"] for r in rows if r.get("workload") == "fanout"})
        ks = sorted({r["k"] for r in rows if r.get("workload") == "fanout"})
        if ns and ks:
            big = dict(n=ns[-1], k=ks[-1])
    N, K = big["n"], big["k"]
    w(f"## Headline: N = {N:,}, K = {K}, one core each")
    w("")
    w("The target column holds the project's targets for the server; \"met\" is said of imstatus. A dash: no "
      "measurement (the run or the step did not happen, or nothing passed).")
    w("")
    w("The \"before\" column quotes issue 10, measured on main before the server core was rebuilt "
      "(one lock over the engine, every outbox and the store; an fsync per login) — the same harness "
      "and machine, from the previous run of this page, except where it says otherwise (restart: "
      "see \"The server alone\").")
    w("")
    w("| measure | imstatus | Mosquitto | imstatus / Mosquitto | before (issue 10) | target | met |")
    w("|---|---|---|---|---|---|---|")
    def row(label, a, b, rat, before, target, met):
        w(f"| {label} | {a} | {b} | {rat} | {before} | {target} | {met} |")
    def yes(ok):
        return "–" if ok is None else ("yes" if ok else "no")
    ci, cr, _ = capacity(rows, "imstatus", N, K)
    cm, mr, _ = capacity(rows, "mosquitto", N, K)
    if ci and not cm:
        met = "yes (Mosquitto passed no step)"
    else:
        met = "yes" if ci and cm and ci >= 1.25 * cm else "no"
    row("loss-free deliveries/s (highest passing step)", f"{f(ci, 0)} (λ={f(cr, 0)}/s)",
        f"{f(cm, 0)} (λ={f(mr, 0)}/s)", ratio(ci, cm), "99,920 (λ=500/s)", "≥ 1.25×", met)
    # Logins: the connect phase of connect-idle at N = 10k (imstatus: connect + hello + login
    # answered, which is durable; MQTT: CONNACK).
    li = one(rows, system="imstatus", workload="connect-idle", **big) or {}
    lm = one(rows, system="mosquitto", workload="connect-idle", **big) or {}
    a, b = li.get("connects_per_s"), lm.get("connects_per_s")
    row(f"logins/s (connect + hello + login answered once durable; MQTT: connects/s to CONNACK), "
        f"N = {N:,}", f(a, 0), f(b, 0), ratio(a, b), "355–1,826 (Mosquitto 9,175–12,746)",
        "≥ Mosquitto's", yes(None if a is None or b is None else a >= b))
    si = one(rows, system="imstatus", workload="fanout", rate=500.0, **big)
    sm = one(rows, system="mosquitto", workload="fanout", rate=500.0, **big)
    p_i, p_m = lat(si, "p99"), lat(sm, "p99")
    row(f"p99 latency at 500 changes/s, N = {N:,}, K = {K} (ms)", f(p_i, 2), f(p_m, 2),
        ratio(p_i, p_m), "765", "≤ 50 ms", yes(None if p_i is None else p_i <= 50))
    ui = (si or {}).get("server_cpu_us_per_delivery")
    um = (sm or {}).get("server_cpu_us_per_delivery")
    row(f"server CPU per delivered notification at 500 changes/s, N = {N:,}, K = {K} (µs)",
        f(ui, 2), f(um, 2), ratio(ui, um), "7.8", "≤ 5 µs", yes(None if ui is None else ui <= 5))
    # The login storm.
    gi = one(rows, system="imstatus", workload="login-storm") or {}
    gm = one(rows, system="mosquitto", workload="login-storm") or {}
    def during(r):
        return lat(r.get("during"), "p99")
    where = f" ({gi.get('storm_clients', 3000):,} logins; {gi['n']:,} watchers, K = {gi['k']}, {f(gi.get('rate'), 0)} changes/s)" if gi else ""
    row(f"login storm: healthy watchers' p99 during it (ms){where}", f(during(gi), 1),
        f(during(gm), 1), ratio(during(gi), during(gm)), "186–3,300", "≤ 50 ms",
        yes(None if during(gi) is None else during(gi) <= 50 and gi.get("failed") == 0))
    def storm_answered(r):
        if not r or r.get("storm_s") is None:
            return "–"
        return f"{f(r.get('storm_s'), 2)} s (max {f((r.get('login_ms') or {}).get('max'), 0)} ms)"
    row("login storm: all logins answered after (s from the first start; slowest login)",
        storm_answered(gi), storm_answered(gm), ratio(gi.get("storm_s"), gm.get("storm_s")),
        "0.6–4.7 s", "–", "–")
    # Slow consumers and unauthenticated connections.
    fi_ = one(rows, system="imstatus", workload="slow-flood") or {}
    fm_ = one(rows, system="mosquitto", workload="slow-flood") or {}
    def flood(r):
        g = r.get("rss_growth_max_kib")
        if g is None:
            return "–"
        c = r.get("slow_closed") or {}
        closed = (f"{c.get('closed')} of {c.get('clients')} closed after {closed_span(c)} s"
                  if c.get("closed") else f"none closed in {f(r.get('observed_s'), 0)} s")
        return f"{g / 1024:,.1f} ({closed})"
    g = fi_.get("rss_growth_max_kib")
    row(f"slow consumers: server RSS growth with {fi_.get('slow_clients', 20)} non-reading clients under a "
        f"flood for {f(fi_.get('flood_s'), 0)} s (MiB)", flood(fi_), flood(fm_),
        ratio(g, fm_.get("rss_growth_max_kib")), "1.17 GB in 20 s", "≤ 20 MB",
        yes(None if g is None else g * 1024 <= 20e6))
    ui_ = one(rows, system="imstatus", workload="unauth") or {}
    um_ = one(rows, system="mosquitto", workload="unauth") or {}
    def unauth_cell(r):
        p = r.get("pipeline")
        if not p or p.get("rss_growth_max_kib") is None:
            return "–"
        closed = p.get("closed_at_s")
        err = p.get("write_error") or {}
        when = (f"closed after {f(closed, 2)} s" if closed is not None else "not closed")
        if err.get("at_s") is not None and closed is not None:
            when = f"reset after {err['at_s'] * 1000:,.0f} ms"
        return f"{p['rss_growth_max_kib'] / 1024:,.2f} ({when})"
    g = (ui_.get("pipeline") or {}).get("rss_growth_max_kib")
    row("one unauthenticated connection pipelining requests without reading for 15 s: server RSS growth (MiB)",
        unauth_cell(ui_), unauth_cell(um_), ratio(g, (um_.get("pipeline") or {}).get("rss_growth_max_kib")),
        "504 MB (271 MB kept after it closed)", "≤ 5 MB", yes(None if g is None else g * 1024 <= 5e6))
    fi = one(rows, system="imstatus", workload="stop-cohort")
    fm = one(rows, system="mosquitto", workload="stop-cohort")
    def det(r):
        return None if not r else r["frozen"]["detect_ms"].get("max")
    where = f" (N = {fi['n']:,}, K = {fi['k']})" if fi else ""
    row(f"frozen cohort seen OFFLINE, slowest watcher (ms){where}", f(det(fi), 0), f(det(fm), 0),
        ratio(det(fi), det(fm)), "15,007", f"≤ timeout + 1 s = {f((fi or {}).get('target_ms'), 0)} ms",
        f((fi or {}).get("within_target")))
    ti = one(rows, system="imstatus", workload="storm")
    tm = one(rows, system="mosquitto", workload="storm")
    ri, rm = (ti or {}).get("resynced_s"), (tm or {}).get("resynced_s")
    def storm_s(r, v):
        if r and "synced_after" in r and v is None:
            return f"> 120 (not converged: {r['synced_after']:,} of {r['devices']:,} synced)"
        return f(v, 1)
    row("reconnect storm: every client resynchronised (s)", storm_s(ti, ri), storm_s(tm, rm), ratio(ri, rm),
        "25.5", "≤ 30 s", "yes" if ri is not None and ri <= 30 else "no")
    xi = one(rows, system="imstatus", workload="slow-consumer")
    xm = one(rows, system="mosquitto", workload="slow-consumer")
    qi, qm = (xi or {}).get("p99_ratio"), (xm or {}).get("p99_ratio")
    def times(v):
        return "–" if v is None else f"{v:.2f}×"
    row("healthy p99 with 1 % slow consumers, relative to without", times(qi), times(qm), "–", "0.85×",
        "≤ 1.2×", "yes" if qi is not None and qi <= 1.2 else "no")
    def bad(system):
        total = 0
        for r in pick(rows, system=system):
            total += r.get("mismatches", 0) or 0
            total += r.get("stale_states", 0) or 0
            if r.get("workload") in ("churn-verify", "stop-cohort", "storm"):
                total += r.get("regressions", 0) or 0
            if r.get("workload") == "fanout":
                total += r.get("regressions", 0) or 0
            # The fanout steps inside the newer workloads.
            for key in ("before", "during", "healthy_phase"):
                step = r.get(key)
                if r.get("workload") in ("login-storm", "slow-flood") and isinstance(step, dict):
                    total += (step.get("regressions") or 0) + (step.get("stale_views") or 0)
        return total
    bi_, bm_ = bad("imstatus"), bad("mosquitto")
    # Memory.
    ii = one(rows, system="imstatus", workload="connect-idle", **big)
    im = one(rows, system="mosquitto", workload="connect-idle", **big)
    bi, bm = (ii or {}).get("bytes_per_conn"), (im or {}).get("bytes_per_conn")
    row("server memory per idle logged-in connection (B)", f(bi, 0), f(bm, 0), ratio(bi, bm), "6,282",
        "≤ 2,000 B and below Mosquitto's",
        yes(None if bi is None else bi <= 2000 and (bm is None or bi < bm)))
    bi, bm = (ii or {}).get("bytes_per_sub"), (im or {}).get("bytes_per_sub")
    row("server memory per subscription (B)", f(bi, 0), f(bm, 0), ratio(bi, bm), "164", "≤ 100 B",
        yes(None if bi is None else bi <= 100))
    # The server alone.
    hs = one(rows, workload="hub-scale") or {}
    r_ = hs.get("ratio")
    per = {p["threads"]: p for p in hs.get("per_threads", [])}
    cell = "–" if r_ is None else (f"{r_:.2f}× ({f((per.get(1) or {}).get('deliveries_per_s'), 0)} → "
                                   f"{f((per.get(2) or {}).get('deliveries_per_s'), 0)} deliveries/s)")
    row("hub path in process, 2 worker threads against 1 (pinned to a core each)", cell,
        "n/a (single-threaded)", "–", "– (one lock)", "≥ 1.7×", yes(None if r_ is None else r_ >= 1.7))
    rs = one(rows, workload="restart") or {}
    sv = rs.get("server") or {}
    where = f" with {rs['users']:,} stored users, {rs['online']:,} of them logged in" if rs else ""
    login_s = sv.get("login_s")
    row(f"restart{where}: from start until a login is answered (s)",
        "–" if login_s is None else f"{login_s:.2f} (every kept user loaded after {f(sv.get('recovered_s'), 1)} s, in the background)",
        "n/a", "–", restart_before_cell(),
        "independent of stored users", yes(None if login_s is None else login_s < 1.0))
    row("version regressions + stale states + final-state mismatches (all runs)", bi_, bm_, "–", "0", "0",
        "yes" if bi_ == 0 else "no")
    w("")
    # The same comparison where both systems reached a steady state at N = 10k.
    mid = dict(n=10000, k=50)
    if pick(rows, workload="fanout", **mid):
        w("At N = 10,000, K = 50 (both systems in a steady state):")
        w("")
        w("| measure | imstatus | Mosquitto | imstatus / Mosquitto |")
        w("|---|---|---|---|")
        ci, cr, _ = capacity(rows, "imstatus", **mid)
        cm, mr, _ = capacity(rows, "mosquitto", **mid)
        w(f"| loss-free deliveries/s | {f(ci, 0)} (λ={f(cr, 0)}/s) | {f(cm, 0)} (λ={f(mr, 0)}/s) | {ratio(ci, cm)} |")
        for rate in (500.0, 1000.0):
            a = one(rows, system="imstatus", workload="fanout", rate=rate, **mid)
            b = one(rows, system="mosquitto", workload="fanout", rate=rate, **mid)
            if not a or not b:
                continue
            w(f"| p99 at {rate:,.0f} changes/s ({rate * 50:,.0f} deliveries/s), ms | {f(lat(a, 'p99'), 2)} | "
              f"{f(lat(b, 'p99'), 2)} | {ratio(lat(a, 'p99'), lat(b, 'p99'))} |")
            ua, ub = a.get("server_cpu_us_per_delivery"), b.get("server_cpu_us_per_delivery")
            w(f"| server CPU per delivery at {rate:,.0f} changes/s, µs | {f(ua, 2)} | {f(ub, 2)} | {ratio(ua, ub)} |")
        ii = one(rows, system="imstatus", workload="connect-idle", **mid) or {}
        im = one(rows, system="mosquitto", workload="connect-idle", **mid) or {}
        for key, label in (("connects_per_s", "logins/s (MQTT: connects/s)"),
                           ("bytes_per_conn", "memory per idle connection, B"),
                           ("bytes_per_sub", "memory per subscription, B")):
            w(f"| {label} | {f(ii.get(key), 0)} | {f(im.get(key), 0)} | {ratio(ii.get(key), im.get(key))} |")
        w("")

    # ---------------------------------------------------------------- connect-idle
    w("## connect-idle: memory and connect rate")
    w("")
    w("Server RSS (`/proc/PID/status` VmRSS) with no client, with N clients logged in (no "
      "subscriptions), and with every client subscribed to K users (MQTT: 2K topic filters); "
      "per connection = Δ₁ / N, per subscription = Δ₂ / (N·K). Kernel TCP memory "
      "(`/proc/net/sockstat`) is shown apart: idle sockets hold almost none. Logins/s: N "
      "clients connecting with at most 256 setups in flight, until the last is logged in "
      "(imstatus: connect, `hello`, `login` answered — once the login is durable; MQTT: "
      "CONNACK).")
    w("")
    w("| N | K | imstatus B/conn | Mosquitto B/conn | ratio | imstatus B/sub | Mosquitto B/sub | ratio | "
      "imstatus logins/s | Mosquitto connects/s | imstatus subscribe s | Mosquitto subscribe s | imstatus RSS loaded (MiB) | Mosquitto RSS loaded (MiB) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, k in sorted({(r["n"], r["k"]) for r in pick(rows, workload="connect-idle") if "n" in r}):
        a = one(rows, system="imstatus", workload="connect-idle", n=n, k=k) or {}
        b = one(rows, system="mosquitto", workload="connect-idle", n=n, k=k) or {}
        def mib(r):
            v = (r.get("rss_kib") or [None, None, None])[2]
            return None if v is None else v / 1024
        w(f"| {n:,} | {k} | {f(a.get('bytes_per_conn'), 0)} | {f(b.get('bytes_per_conn'), 0)} | "
          f"{ratio(a.get('bytes_per_conn'), b.get('bytes_per_conn'))} | {f(a.get('bytes_per_sub'), 0)} | "
          f"{f(b.get('bytes_per_sub'), 0)} | {ratio(a.get('bytes_per_sub'), b.get('bytes_per_sub'))} | "
          f"{f(a.get('connects_per_s'), 0)} | {f(b.get('connects_per_s'), 0)} | {f(a.get('subscribe_s'), 1)} | "
          f"{f(b.get('subscribe_s'), 1)} | {f(mib(a), 1)} | {f(mib(b), 1)} |")
    w("")

    # ---------------------------------------------------------------- fanout
    w("## fanout: throughput, latency, CPU per delivery")
    w("")
    w("Custom-status changes at λ changes/s (round-robin over a random order of users, so no "
      "user changes twice before all others did), each delivered to the ~K watchers of that user. "
      "\"missed\" counts expected deliveries that never arrived; a step passes when every view "
      "ends at the latest change after the drain (no stale view: a missed delivery of imstatus "
      "may be a burst coalesced into its latest change, N5), no version went backwards, "
      "p99 ≤ 1 s and the harness issued ≥ 95 % of λ. (Results without a stale-view count were "
      "made by an earlier harness that failed a step on any missed delivery.) "
      "The capacity is the best passing step. "
      "MQTT uses QoS 1 (imstatus is reliable over TCP, the anchors pair it with QoS 1).")
    w("")
    w("| N | K | λ/s | imstatus deliveries/s | Mosquitto deliveries/s | ratio | imstatus missed | Mosquitto missed | "
      "imstatus p50 / p99 / p99.9 ms | Mosquitto p50 / p99 / p99.9 ms | imstatus µs CPU/delivery | Mosquitto µs CPU/delivery | "
      "server CPU % (ims / mosq) | harness CPU % (ims / mosq) | pass (ims / mosq) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    keys = sorted({(r["n"], r["k"], r["rate"]) for r in pick(rows, workload="fanout") if "rate" in r})
    for n, k, rate in keys:
        a = one(rows, system="imstatus", workload="fanout", n=n, k=k, rate=rate) or {}
        b = one(rows, system="mosquitto", workload="fanout", n=n, k=k, rate=rate) or {}
        def lats(r):
            if not r:
                return "not run"
            return f"{f(lat(r, 'p50'), 2)} / {f(lat(r, 'p99'), 2)} / {f(lat(r, 'p999'), 2)}"
        def ok(r):
            return "–" if not r else ("pass" if r.get("pass") else "FAIL")
        def missed(r):
            if not r:
                return "–"
            if "stale_views" in r:
                return f"{f(r.get('missed'), 0)} ({f(r.get('stale_views'), 0)} stale)"
            return f(r.get("missed"), 0)
        w(f"| {n:,} | {k} | {rate:,.0f} | {f(a.get('deliveries_per_s'), 0)} | {f(b.get('deliveries_per_s'), 0)} | "
          f"{ratio(a.get('deliveries_per_s'), b.get('deliveries_per_s'))} | {missed(a)} | {missed(b)} | "
          f"{lats(a)} | {lats(b)} | {f(a.get('server_cpu_us_per_delivery'), 2)} | {f(b.get('server_cpu_us_per_delivery'), 2)} | "
          f"{f(a.get('server_cpu_pct'), 0)} / {f(b.get('server_cpu_pct'), 0)} | "
          f"{f(a.get('harness_cpu_pct'), 0)} / {f(b.get('harness_cpu_pct'), 0)} | {ok(a)} / {ok(b)} |")
    w("")
    w("Capacity (loss-free deliveries/s, the best passing step; \"≥\" when even the highest step passed):")
    w("")
    w("| N | K | imstatus | Mosquitto | imstatus / Mosquitto |")
    w("|---|---|---|---|---|")
    for n, k in sorted({(r["n"], r["k"]) for r in pick(rows, workload="fanout") if "rate" in r}):
        def cap(system):
            v, rate, _ = capacity(rows, system, n, k)
            steps = pick(rows, system=system, workload="fanout", n=n, k=k)
            if v is None:
                return None, "none passed"
            top = all(s.get("pass") for s in steps)
            return v, f"{'≥ ' if top else ''}{v:,.0f} (λ={rate:,.0f})"
        va, ta = cap("imstatus")
        vb, tb = cap("mosquitto")
        w(f"| {n:,} | {k} | {ta} | {tb} | {ratio(va, vb)} |")
    w("")

    # ---------------------------------------------------------------- stop-cohort
    w("## stop-cohort: offline detection")
    w("")
    w("1 % of the users stop reading and heartbeating with their sockets left open (a frozen "
      "process: no FIN). imstatus: heartbeat every 10 s, `heartbeat_timeout` 15 s; MQTT: "
      "keepalive 10 s, so the broker gives up after 1.5 × 10 = 15 s. Time from the freeze "
      "until each watcher sees the user OFFLINE. Then another 1 % log out gracefully "
      "(imstatus `logout`; MQTT retained \"off\" + DISCONNECT).")
    w("")
    w("| system | N | K | frozen users | watcher pairs | detected p50 ms | p99 ms | max ms | undetected | target ms | met | graceful logout p50 / max ms |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in pick(rows, workload="stop-cohort"):
        if "frozen" not in r:
            continue
        fr, lo = r["frozen"], r["logout"]
        w(f"| {r['system']} | {r['n']:,} | {r['k']} | {fr['users']} | {fr['pairs']:,} | {f(fr['detect_ms'].get('p50'), 0)} | "
          f"{f(fr['detect_ms'].get('p99'), 0)} | {f(fr['detect_ms'].get('max'), 0)} | {fr['undetected']} | {f(r['target_ms'], 0)} | "
          f"{f(r['within_target'])} | {f(lo['detect_ms'].get('p50'), 0)} / {f(lo['detect_ms'].get('max'), 0)} |")
    w("")

    # ---------------------------------------------------------------- storm
    w("## storm: reconnect and resync")
    w("")
    w("Every connection is dropped at once; every client comes back with full-jitter backoff "
      "(base 1 s, cap 30 s) and logs in again (imstatus: the login snapshot; MQTT: a clean "
      "session that subscribes again and gets the retained messages). Resynchronised = every "
      "client connected and seeing every watched user ONLINE.")
    w("")
    w("| system | N | K | all reconnected (s) | all resynchronised (s) | synced at end | server RSS before → after (MiB) | server CPU (s) | regressions |")
    w("|---|---|---|---|---|---|---|---|---|")
    for r in pick(rows, workload="storm"):
        if "synced_after" not in r:
            continue
        rb, ra = r.get("rss_before_kib"), r.get("rss_after_kib")
        w(f"| {r['system']} | {r['n']:,} | {r['k']} | {f(r.get('reconnected_s'), 1) if r.get('reconnected_s') else '> 120'} | "
          f"{f(r.get('resynced_s'), 1) if r.get('resynced_s') else '> 120'} | "
          f"{r['synced_after']:,} / {r['devices']:,} | {f(rb and rb / 1024, 1)} → {f(ra and ra / 1024, 1)} | "
          f"{f(r.get('server_cpu_s'), 1)} | {r.get('regressions')} |")
    w("")

    # ---------------------------------------------------------------- slow consumer
    w("## slow-consumer: 1 % of the clients stop reading")
    w("")
    w("A fanout at the same rate twice: first with every client reading, then with 1 % of the "
      "clients no longer reading (nor heartbeating). Latencies of the healthy clients only.")
    w("")
    w("| system | N | K | λ/s | healthy p99 before (ms) | healthy p99 with slow (ms) | ratio | missed (healthy) | server RSS growth (KiB) |")
    w("|---|---|---|---|---|---|---|---|---|")
    for r in pick(rows, workload="slow-consumer"):
        if "healthy_phase" not in r:
            continue
        w(f"| {r['system']} | {r['n']:,} | {r['k']} | {f(r['rate'], 0)} | {f(lat(r['healthy_phase'], 'p99'), 2)} | "
          f"{f(lat(r['slow_phase'], 'p99'), 2)} | {f(r.get('p99_ratio'), 2)}× | {r['slow_phase'].get('missed')} | "
          f"{f(r.get('rss_growth_kib'), 0)} |")
    w("")

    # ---------------------------------------------------------------- churn
    w("## churn-verify: correctness under churn")
    w("")
    w("10 % of the users have a second device. Random operations: 60 % custom-status sets, "
      "25 % flaps (the connection dies without logout and comes back after 0–500 ms), "
      "10 % logout + login of a second device, 5 % sets from a second device. Then everyone is "
      "back, 2 s of quiet, and every device's view of every watched user is compared with the "
      "truth (imstatus: `getUserStatus` — status, custom status and version; MQTT: the retained "
      "messages — aggregated presence and custom status).")
    w("")
    w("| system | N | K | churn s | sets / flaps / re-logins | deliveries | views compared | mismatches | version regressions | stale states | lost sets |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in pick(rows, workload="churn-verify"):
        if "ops" not in r:
            continue
        o = r["ops"]
        w(f"| {r['system']} | {r['n']:,} | {r['k']} | {f(r['churn_s'], 0)} | {o['sets']:,} / {o['flaps']:,} / {o['relogins']:,} | "
          f"{r['deliveries']:,} | {r['compared']:,} | {r['mismatches']:,} | {r['regressions']:,} | {r['stale_states']} | "
          f"{r.get('lost_sets', 0)} |")
    w("")

    # ---------------------------------------------------------------- login storm
    w("## login-storm: thousands of logins at once, while a cohort watches")
    w("")
    w("A healthy cohort (N watchers, K subscriptions each) receives λ changes/s; after a measured "
      "step (\"before\"), thousands of new users (watched by nobody) connect and log in as fast as "
      "possible, every one started within 0.3 s (30 waves 10 ms apart), and keep their connection. "
      "imstatus: connect, then `hello` + `login` in one write, answered once the login is durable "
      "(group commit); MQTT: CONNECT with a retained Will, answered by CONNACK (then the retained "
      "\"on\"). Login latency: from the client starting to connect until the answer. \"During\": "
      "the cohort's deliveries from the first storm client until half a second after the last "
      "answer. logins/s = answered / (last answer − first start).")
    w("")
    w("| system | N | K | λ/s | storm clients | answered / failed | started within (s) | all answered after (s) | logins/s | login p50 / p99 / max (ms) | healthy p99 before (ms) | healthy p99 during (ms) | missed (healthy) | server RSS before → after (MiB) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in pick(rows, workload="login-storm"):
        if "during" not in r:
            continue
        lm = r.get("login_ms") or {}
        rb, ra = r.get("rss_before_kib"), r.get("rss_after_kib")
        w(f"| {r['system']} | {r['n']:,} | {r['k']} | {f(r.get('rate'), 0)} | {r['storm_clients']:,} | "
          f"{r['answered']:,} / {r['failed']:,} | {f(r.get('started_within_s'), 2)} | {f(r.get('storm_s'), 2)} | "
          f"{f(r.get('logins_per_s'), 0)} | {f(lm.get('p50'), 1)} / {f(lm.get('p99'), 1)} / {f(lm.get('max'), 1)} | "
          f"{f(lat(r['before'], 'p99'), 2)} | {f(lat(r['during'], 'p99'), 2)} | {r['during'].get('missed')} | "
          f"{f(rb and rb / 1024, 1)} → {f(ra and ra / 1024, 1)} |")
    w("")

    # ---------------------------------------------------------------- slow flood
    w("## slow-flood: clients that never read, under a flood")
    w("")
    w("Clients that log in, subscribe to every one of P users and then never read a byte — but "
      "keep sending heartbeats (MQTT: PINGREQs), so that only the server's own bounds on delivery "
      "can close them (written by hand on raw sockets: a client library always reads). The P users "
      "change λ times a second in all, for the flood's length; a few reading watchers of the same "
      "users measure the latency meanwhile. Server RSS is sampled every 250 ms; a slow client counts "
      "as closed once the server no longer holds its socket (`/proc/PID/fd` against "
      "`/proc/net/tcp`). Watched until 30 s after the flood if not every one was closed. Kernel TCP "
      "memory (all sockets of the machine) is shown apart: the unread bytes sit in the server's "
      "socket send buffers (up to `tcp_wmem`'s 4 MiB each) before any queue of the server grows.")
    w("")
    w("| system | P users | λ/s | flood (s) | slow clients | server RSS growth, max / at the flood's end (MiB) | closed by the server | closed after (s, first – last) | kernel TCP memory before → max (MiB) | healthy watchers | their p99 (ms) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in pick(rows, workload="slow-flood"):
        if "slow_closed" not in r:
            continue
        c = r["slow_closed"]
        gm, ge = r.get("rss_growth_max_kib"), r.get("rss_growth_end_kib")
        kb, km = r.get("kernel_tcp_kib_before"), r.get("kernel_tcp_kib_max")
        w(f"| {r['system']} | {r['publishers']} | {f(r['rate'], 0)} | {f(r['flood_s'], 0)} | {r['slow_clients']} | "
          f"{f(gm and gm / 1024, 2)} / {f(ge and ge / 1024, 2)} | {c['closed']} of {c['clients']} | "
          f"{closed_span(c)} | {f(kb and kb / 1024, 1)} → {f(km and km / 1024, 1)} | "
          f"{r['healthy_watchers']} | {f(lat(r['healthy_phase'], 'p99'), 2)} |")
    w("")

    # ---------------------------------------------------------------- unauth
    w("## unauth: a connection that never logs in and never reads")
    w("")
    w("First, one connection pipelines requests as fast as its socket takes them for 15 s without "
      "logging in or reading (imstatus: `hello`, then heartbeats; MQTT: PINGREQs without a CONNECT). "
      "Then another drips a login a byte a second (imstatus: `hello`, then a `login` frame; MQTT: a "
      "CONNECT), watched for 40 s. \"Reset after\": when the client's write failed (the server "
      "closed the connection with unread input); \"closed after\": when the server no longer held "
      "the socket (sampled every 10–100 ms). RSS after: 2 s after the client let go.")
    w("")
    w("| system | pipelined bytes written | client saw a reset after (ms) | server closed it after (s) | server RSS growth, max / after (KiB) | dripped login: closed after (s) |")
    w("|---|---|---|---|---|---|")
    for r in pick(rows, workload="unauth"):
        if "pipeline" not in r:
            continue
        p, d = r["pipeline"], r["drip"]
        err = p.get("write_error") or {}
        at = err.get("at_s")
        closed = d.get("closed_at_s")
        w(f"| {r['system']} | {f(p.get('bytes_written'), 0)} | {f(at and at * 1000, 1)} | {f(p.get('closed_at_s'), 2)} | "
          f"{f(p.get('rss_growth_max_kib'), 0)} / {f(p.get('rss_growth_after_kib'), 0)} | "
          f"{f(closed, 1) if closed is not None else 'not within ' + f(d.get('seconds'), 0) + ' s'} |")
    w("")

    # ---------------------------------------------------------------- the server alone
    w("## The server alone: scaling with cores, a full outbox, restart time")
    w("")
    hs = one(rows, workload="hub-scale")
    w("### The hub path on 1 and 2 cores")
    w("")
    if hs and "per_threads" in hs:
        w(f"`imstatus-bench hub-scale`, in process, no sockets: the engine over `imstatus_server::Hub` "
          f"with {hs['n']:,} users logged in on a connection each, each subscribed to {hs['k']} others "
          f"(uniform random; each change goes to {hs['fan_in']:.0f} connections on average). "
          f"{hs['publishers_per_thread']} publisher task(s) per worker call `set_self_status` in turn over "
          f"their users ({hs.get('batch', 8)} change(s), then a yield); one task per connection waits on its outbox "
          f"(`Outbox::poll_ready`) and takes what it holds (`take_into`), as a connection task does "
          f"before writing to its socket. A tokio multi-thread runtime of 1, then 2 worker threads, "
          f"each pinned to a core of its own (`sched_setaffinity`: cores {', '.join(map(str, hs['cores']))}); "
          f"{hs['rounds']} rounds, the thread counts taking turns, {f(hs['warmup_s'], 0)} s of warm-up and "
          f"{f(hs['duration_s'], 0)} s measured each; the median per thread count. Load average at the "
          f"end: {hs.get('load') or '–'}.")
        w("")
        w("| worker threads | deliveries/s (median) | changes/s (median) | process CPU % (median) | deliveries per CPU-second (median) | every run: deliveries/s (CPU %) |")
        w("|---|---|---|---|---|---|")
        for p_ in hs["per_threads"]:
            t = p_["threads"]
            each = ", ".join(f"{f(r['deliveries_per_s'], 0)} ({f(r.get('process_cpu_pct'), 0)})"
                             for r in hs["runs"] if r["threads"] == t)
            w(f"| {t} | {f(p_.get('deliveries_per_s'), 0)} | {f(p_.get('changes_per_s'), 0)} | "
              f"{f(p_.get('process_cpu_pct'), 0)} | {f(p_.get('deliveries_per_cpu_s'), 0)} | {each} |")
        w("")
        a_, b_ = hs["per_threads"][-1]["threads"], hs["per_threads"][0]["threads"]
        w(f"Ratio, {a_} threads against {b_}: **{f(hs.get('ratio'), 2)}×** (goal ≥ 1.7×). Deliveries "
          f"per CPU-second, {a_} threads against {b_}: {f(hs.get('efficiency_ratio'), 2)} (1.00 = "
          f"the second core did as much per second of CPU as the first; another process on the "
          f"machine does not lower this one).")
    else:
        w("Not measured in this run.")
    w("")
    oc = one(rows, workload="outbox-cost")
    w("### What a full outbox costs")
    w("")
    if oc and "entries" in oc:
        own, shr = oc.get("own_bytes_per_outbox"), oc.get("shared_bytes_per_outbox")
        w(f"`imstatus-bench outbox-cost`: {oc['outboxes']} outboxes with the default limits "
          f"(`outbox_max_bytes` {oc['max_bytes']:,} B, `outbox_max_entries` {oc['max_entries']:,}), "
          f"each filled with distinct users' statuses ({oc['status_json_bytes']} B of JSON each, a "
          f"{oc['custom_status_bytes']}-byte custom status) up to the byte limit: {oc['entries']:,} "
          f"entries, {oc['queued_bytes']:,} B counted. The growth of the process's RSS per outbox:")
        w("")
        w("| the queued statuses are | RSS per full outbox | per entry |")
        w("|---|---|---|")
        w(f"| its own (each change goes to this connection only: the worst case) | {f(own, 0)} B "
          f"({f(own and own / oc['max_bytes'], 2)}× `outbox_max_bytes`) | {f(own and own / oc['entries'], 0)} B |")
        w(f"| shared with the other watchers (a change is encoded once for all its receivers) | "
          f"{f(shr, 0)} B | {f(oc.get('shared_bytes_per_entry'), 0)} B |")
    else:
        w("Not measured in this run.")
    w("")
    w("### Restart time")
    w("")
    if rs and "server" in rs:
        ip = rs.get("in_process") or {}
        b = RESTART_BEFORE
        w(f"`imstatus-bench restart`: a data directory with {rs['users']:,} stored users (one Linux "
          f"device each, {rs['subs']} subscriptions), {rs['online']:,} of them logged in when the server "
          f"stopped (no offline time in their row, as after `kill -9`), written through `DurableStore` "
          f"(`Store::put_user`; {f(rs.get('build_s'), 1)} s, {f(rs.get('file_bytes', 0) / 1e6, 0)} MB). "
          f"Then a real `imstatus serve` on it (pinned to core 0), timed from the start of the process. "
          f"\"Every kept user loaded\": the background recovery (a slice of users per 100 ms tick) is "
          f"done once the server's RSS stops growing (no 100 ms sample grew it by 128 KiB for 3 s). "
          f"In process: `Engine::recover_all` over a copy of the same file, the work the background "
          f"recovery spreads over its ticks.")
        w("")
        w("| measure | now | before (6bb6ddf) |")
        w("|---|---|---|")
        def bv(key, digits=2):
            v = b.get(key)
            return "–" if v is None else f(v, digits)
        w(f"| listening after (s) | {f(sv.get('listen_s'), 3)} | {bv('listen_s', 1)} |")
        w(f"| a login answered after (s) | {f(sv.get('login_s'), 3)} | {bv('login_s', 1)} |")
        w(f"| every kept user loaded after (s) | {f(sv.get('recovered_s'), 1)} | {bv('recovered_s', 1)} |")
        w(f"| server CPU of the recovery after the login (s) | {f(sv.get('recovery_cpu_s'), 2)} | – |")
        w(f"| server CPU % once loaded (idle: the tick's scan of users with deadlines) | {f(sv.get('steady_cpu_pct'), 1)} | {bv('steady_cpu_pct', 1)} |")
        w(f"| server RSS once loaded (MiB) | {f(sv.get('rss_kib') and sv['rss_kib'] / 1024, 1)} | {bv('rss_mib', 1)} |")
        w(f"| in process: `recover_all` (s) | {f(ip.get('recover_all_s'), 2)} | – |")
        w("")
        if b.get("note"):
            w(b["note"])
            w("")
    else:
        w("Not measured in this run.")
        w("")

    tls_beside_plaintext(w, pairs)

    cluster(w, clustered, env)

    # ---------------------------------------------------------------- SDK
    w("## The SDK's own cost")
    w("")
    sdk_size(w, rows)
    sdk_size_tls(w)
    cost = one(rows, workload="sdk-cost") or {}
    w("### Footprint and round trips")
    w("")
    w("| measure | value |")
    w("|---|---|")
    w(f"| one idle logged-in `Client`: RSS added | {f(cost.get('client_rss_kib'), 0)} KiB "
      f"({f(cost.get('rss_before_kib'), 0)} → {f(cost.get('rss_after_kib'), 0)} KiB) |")
    w(f"| one idle logged-in `Client`: threads added | {f(cost.get('client_threads'), 0)} "
      f"({f(cost.get('threads_before'), 0)} → {f(cost.get('threads_after'), 0)}) |")
    rts = pick(rows, workload="roundtrip")
    for r in rts:
        w(f"| round trip `{r['bench']}` (criterion, median) | {r['median_ns'] / 1000:,.1f} µs |")
    if not any("c_abi" in r.get("bench", "") for r in rts):
        w("| round trip through the C ABI | pending (see the notes) |")
    w("")
    w(notes)
    print("\n".join(out))


if __name__ == "__main__":
    main()
