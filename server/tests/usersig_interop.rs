//! Interop of `imstatus_server::usersig` with Tencent's reference implementation, the PyPI package
//! `tls-sig-api-v2` (module `TLSSigAPIv2`): app servers make UserSigs with it, so a sig it makes
//! must verify here, and a sig made here must pass the same checks in Python.
//!
//! Python is a hard requirement of this test: it fails (never skips) when the interpreter or the
//! package is missing, because a skipped interop test would hide exactly the drift it exists to
//! catch. Set `PYTHON` to pick the interpreter; the default is `python3`.

use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use imstatus_server::usersig::{self, SigError, DEFAULT_EXPIRE_SECS};

const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const APP: u32 = 1_400_000_000;

/// Exit code by which the scripts say the package cannot be imported, told apart from a
/// failed check so that the message can say what to install.
const MISSING_MODULE_EXIT: i32 = 3;

const INSTALL_HINT: &str = "run `pip install tls-sig-api-v2` (for the interpreter named by \
     $PYTHON, default python3); this interop test needs it and never skips";

/// Imports the package or exits with MISSING_MODULE_EXIT, and finds its signing method by either
/// of the names it has had: `gen_sig` (1.1 on PyPI) and `genUserSig` (later sources).
const PRELUDE: &str = r#"
import sys
try:
    import TLSSigAPIv2
except ImportError as e:
    sys.stderr.write("cannot import TLSSigAPIv2: %s\n" % e)
    sys.exit(3)

def user_sig_maker(api):
    for name in ("gen_sig", "genUserSig"):
        if hasattr(api, name):
            return getattr(api, name)
    sys.exit("TLSSigAPIv2 has neither gen_sig nor genUserSig: %s" % dir(api))
"#;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// Runs `script` after PRELUDE with `args` as `sys.argv[1:]`, failing the test with an
/// actionable message when Python or the package is missing.
fn run_python(script: &str, args: &[&str]) -> Output {
    let python = std::env::var("PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_owned());
    let output = Command::new(&python)
        .arg("-c")
        .arg(format!("{PRELUDE}{script}"))
        .args(args)
        // Identifiers with non-ASCII characters travel through argv; UTF-8 mode keeps them
        // intact whatever the locale.
        .env("PYTHONUTF8", "1")
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{python}` ({e}): install Python 3, then {INSTALL_HINT}")
        });
    if output.status.code() == Some(MISSING_MODULE_EXIT) {
        panic!(
            "`{python}` cannot import the TLSSigAPIv2 module ({}): {INSTALL_HINT}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    output
}

/// Like [`run_python`], but the script must succeed; returns its stdout lines.
fn run_python_ok(script: &str, args: &[&str]) -> Vec<String> {
    let output = run_python(script, args);
    assert!(
        output.status.success(),
        "python script failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Pulls the values of `SIG:` lines out of a script's output; the later GitHub sources of the
/// package print debug text of their own, so only marked lines are taken.
fn marked(lines: &[String], marker: &str) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(marker).map(str::to_owned))
        .collect()
}

/// Identifiers that exercise JSON escaping: Python writes non-ASCII as `\uXXXX` and escapes
/// quotes, but signs the raw text.
const IDS: [&str; 4] = ["xiaojun", "user_0001-x", "张三", "quote\"back\\slash"];

#[test]
fn python_sig_verifies_in_rust() {
    let script = r#"
app, key = int(sys.argv[1]), sys.argv[2]
gen = user_sig_maker(TLSSigAPIv2.TLSSigAPIv2(app, key))
for ident in sys.argv[3:]:
    print("SIG:" + gen(ident))          # the package's default validity
    print("SIG:" + gen(ident, 3600))
"#;
    let app = APP.to_string();
    let mut args = vec![app.as_str(), KEY];
    args.extend(IDS);
    let before = now_secs();
    let sigs = marked(&run_python_ok(script, &args), "SIG:");
    let after = now_secs();
    assert_eq!(sigs.len(), IDS.len() * 2, "one pair of sigs per identifier");

    for (pair, id) in sigs.chunks(2).zip(IDS) {
        for (sig, expire) in pair.iter().zip([DEFAULT_EXPIRE_SECS, 3600]) {
            // The package stamps sigs with its own time.time(), so we check with the real clock.
            let claims = usersig::verify(sig, APP, KEY, id, now_secs())
                .unwrap_or_else(|e| panic!("python sig for {id:?} refused: {e}\n{sig}"));
            assert!(
                (before..=after).contains(&claims.issued_at),
                "issued_at {} not within the python run [{before}, {after}]",
                claims.issued_at
            );
            assert_eq!(claims.expires_at - claims.issued_at, expire, "{id:?}");

            assert_eq!(
                usersig::verify(sig, APP, "another key", id, now_secs()),
                Err(SigError::BadSignature)
            );
            assert_eq!(
                usersig::verify(sig, APP, KEY, "someone else", now_secs()),
                Err(SigError::IdentifierMismatch)
            );
            assert_eq!(
                usersig::verify(sig, APP + 1, KEY, id, now_secs()),
                Err(SigError::SdkAppIdMismatch)
            );
            assert_eq!(
                usersig::verify(sig, APP, KEY, id, claims.expires_at + 1),
                Err(SigError::Expired)
            );
        }
    }
}

#[test]
fn python_sig_with_userbuf_verifies_in_rust() {
    // 1.1 exposes gen_sig_with_userbuf; later sources only reach it through the private
    // __gen_sig, which both versions share.
    let script = r#"
app, key, ident = int(sys.argv[1]), sys.argv[2], sys.argv[3]
api = TLSSigAPIv2.TLSSigAPIv2(app, key)
gen = getattr(api, "gen_sig_with_userbuf", None) or getattr(api, "_TLSSigAPIv2__gen_sig", None)
if gen is None:
    sys.exit("TLSSigAPIv2 has no way to make a sig with a userbuf: %s" % dir(api))
print("SIG:" + gen(ident, 86400, b"\x00\x01 room 42 \xff"))
"#;
    let app = APP.to_string();
    let sigs = marked(&run_python_ok(script, &[&app, KEY, "xiaojun"]), "SIG:");
    let [sig] = sigs.as_slice() else {
        panic!("expected one sig, got {sigs:?}");
    };
    let claims = usersig::verify(sig, APP, KEY, "xiaojun", now_secs())
        .unwrap_or_else(|e| panic!("python sig with userbuf refused: {e}\n{sig}"));
    assert_eq!(claims.expires_at - claims.issued_at, 86400);
    assert_eq!(
        usersig::verify(sig, APP, "another key", "xiaojun", now_secs()),
        Err(SigError::BadSignature)
    );
}

/// Version 1.1 of the package has no verify method, so the script checks a sig the way a
/// verifier must, by hand with the standard library, in the same order as the Rust side. Where
/// the package's own helpers exist (its private HMAC routine and its url-decoder) they are also
/// asked, which proves our signed text and alphabet are byte-for-byte the package's.
const PY_VERIFY: &str = r#"
import base64, hashlib, hmac, json, time, zlib
sig, app, key, ident = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
compressed = base64.b64decode(sig.replace("*", "+").replace("-", "/").replace("_", "="), validate=True)
doc = json.loads(zlib.decompress(compressed).decode("utf-8"))
if doc.get("TLS.ver") != "2.0":
    sys.exit("TLS.ver is %r, not '2.0'" % doc.get("TLS.ver"))
for field in ("TLS.sdkappid", "TLS.time", "TLS.expire"):
    if type(doc[field]) is not int:
        sys.exit("%s is not a JSON integer: %r" % (field, doc[field]))
if doc["TLS.sdkappid"] != app:
    sys.exit("sdkappid mismatch: %r" % doc["TLS.sdkappid"])
if doc["TLS.identifier"] != ident:
    sys.exit("identifier mismatch: %r" % doc["TLS.identifier"])
if int(time.time()) > doc["TLS.time"] + doc["TLS.expire"]:
    sys.exit("expired")
content = ("TLS.identifier:" + ident + "\n" + "TLS.sdkappid:" + str(app) + "\n"
           + "TLS.time:" + str(doc["TLS.time"]) + "\n" + "TLS.expire:" + str(doc["TLS.expire"]) + "\n")
expected = base64.b64encode(hmac.new(key.encode("utf-8"), content.encode("utf-8"), hashlib.sha256).digest()).decode()
if not hmac.compare_digest(expected, doc["TLS.sig"]):
    sys.exit("bad signature")
api = TLSSigAPIv2.TLSSigAPIv2(app, key)
routine = getattr(api, "_TLSSigAPIv2__hmacsha256", None)
if routine is not None and routine(ident, doc["TLS.time"], doc["TLS.expire"]).decode() != doc["TLS.sig"]:
    sys.exit("the package's own HMAC routine disagrees")
decode_url = getattr(TLSSigAPIv2, "base64_decode_url", None)
if decode_url is not None and decode_url(sig.encode()) != compressed:
    sys.exit("the package's own url-decoder reads the text differently")
print("OK:%d %d" % (doc["TLS.time"], doc["TLS.expire"]))
"#;

#[test]
fn rust_sig_verifies_in_python() {
    let app = APP.to_string();
    for id in IDS {
        for expire in [DEFAULT_EXPIRE_SECS, 60] {
            let now = now_secs();
            let sig = usersig::generate(APP, KEY, id, expire, now);
            let oks = marked(&run_python_ok(PY_VERIFY, &[&sig, &app, KEY, id]), "OK:");
            assert_eq!(oks, [format!("{now} {expire}")], "{id:?}");
        }
    }
}

#[test]
fn python_checker_refuses_bad_rust_sigs() {
    // Without this, a checker that accepted everything would make the test above vacuous.
    let app = APP.to_string();
    let now = now_secs();
    let cases = [
        (
            usersig::generate(APP, "another key", "xiaojun", 60, now),
            "bad signature",
        ),
        (
            usersig::generate(APP, KEY, "xiaojun", 60, now - 120),
            "expired",
        ),
        (
            usersig::generate(APP + 1, KEY, "xiaojun", 60, now),
            "sdkappid mismatch",
        ),
        (
            usersig::generate(APP, KEY, "xiaojun2", 60, now),
            "identifier mismatch",
        ),
    ];
    for (sig, why) in cases {
        let output = run_python(PY_VERIFY, &[&sig, &app, KEY, "xiaojun"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success() && stderr.contains(why),
            "python accepted a sig it should refuse for {why:?} ({}): {stderr}",
            output.status
        );
    }
}
