//! The bytes of one callback, as Tencent's `State.StateChange` has them: the URL with its five
//! query parameters, the JSON body, and the signature imstatus adds beside them.

use std::fmt::Write as _;

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use sha2::Sha256;

use super::Callback;

/// Tencent's name for the state-change callback, in the query and in the body.
pub const COMMAND: &str = "State.StateChange";

/// The header with the body's signature: `sha256=` and the lowercase hex HMAC-SHA256 of the
/// exact body bytes under the app's webhook secret.
pub const SIGNATURE_HEADER: &str = "x-imstatus-signature";

/// The header naming one callback, `<sdk_app_id>-<sequence>`: the same on every retry of that
/// callback and on no other, so a receiver can drop the duplicates retries make.
pub const DELIVERY_HEADER: &str = "x-imstatus-delivery";

/// What a query value keeps as it is: RFC 3986's unreserved characters. Everything else is
/// percent-encoded, so a value can never add a parameter of its own.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URL a callback is POSTed to: `base` with Tencent's parameters appended, after `&` when
/// `base` has a query already. A fragment is cut: it is never sent, and the parameters would
/// land in it.
pub fn url(base: &str, sdk_app_id: u32, callback: &Callback) -> String {
    let base = base.split('#').next().unwrap_or_default();
    let mut url = String::with_capacity(base.len() + 128);
    url.push_str(base);
    if !base.contains('?') {
        url.push('?');
    } else if !base.ends_with(['?', '&']) {
        url.push('&');
    }
    // A dual-stack listener sees IPv4 clients as IPv4-mapped IPv6 addresses; the app's backend
    // wants the address the client has.
    let ip = callback
        .client_ip
        .map(|ip| ip.to_canonical().to_string())
        .unwrap_or_default();
    let _ = write!(
        url,
        "SdkAppid={sdk_app_id}&CallbackCommand={}&contenttype=json&ClientIP={}&OptPlatform={}",
        encode(COMMAND),
        encode(&ip),
        encode(callback.platform),
    );
    url
}

fn encode(value: &str) -> percent_encoding::PercentEncode<'_> {
    utf8_percent_encode(value, QUERY_VALUE)
}

/// The JSON body, its keys in Tencent's order. `KickedDevice` is always there, empty when no
/// device was kicked.
pub fn body(callback: &Callback) -> Vec<u8> {
    let body = Body {
        callback_command: COMMAND,
        event_time: callback.event_time_ms,
        info: Info {
            action: callback.action,
            to_account: &callback.user,
            reason: callback.reason,
        },
        custom_status: &callback.custom_status,
        kicked_device: callback
            .kicked
            .iter()
            .map(|&platform| Kicked { platform })
            .collect(),
    };
    serde_json::to_vec(&body).expect("strings and numbers always serialize")
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Body<'a> {
    callback_command: &'static str,
    event_time: u64,
    info: Info<'a>,
    custom_status: &'a str,
    kicked_device: Vec<Kicked>,
}

#[derive(Serialize)]
struct Info<'a> {
    #[serde(rename = "Action")]
    action: &'static str,
    #[serde(rename = "To_Account")]
    to_account: &'a str,
    #[serde(rename = "Reason")]
    reason: &'static str,
}

#[derive(Serialize)]
struct Kicked {
    #[serde(rename = "Platform")]
    platform: &'static str,
}

/// The value of [`SIGNATURE_HEADER`] for `body` under `secret`: `sha256=` and the lowercase
/// hex HMAC-SHA256 of exactly the bytes sent. The body carries `EventTime`, so a receiver that
/// checks the signature can also refuse old callbacks replayed at it.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any size");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 2 * digest.len());
    out.push_str("sha256=");
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Whether `url` can be a webhook target: `http://` or `https://` with a host. For the admin
/// API to refuse a bad setting when it is made, rather than every callback failing later.
pub fn check_url(url: &str) -> Result<(), String> {
    let uri: hyper::Uri = url
        .split('#')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err("the URL must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn callback(ip: Option<&str>) -> Callback {
        Callback {
            user: "alice".into(),
            action: "Login",
            reason: "Register",
            platform: "iOS",
            client_ip: ip.map(|ip| ip.parse::<IpAddr>().unwrap()),
            kicked: vec![],
            custom_status: String::new(),
            event_time_ms: 1,
            recovered: false,
        }
    }

    const QUERY: &str = "SdkAppid=7&CallbackCommand=State.StateChange&contenttype=json";

    #[test]
    fn the_parameters_follow_the_path_or_the_query_there_is() {
        let cb = callback(Some("10.0.0.1"));
        let tail = format!("{QUERY}&ClientIP=10.0.0.1&OptPlatform=iOS");
        for (base, joined) in [
            ("http://h/cb", format!("http://h/cb?{tail}")),
            ("http://h/cb?", format!("http://h/cb?{tail}")),
            ("http://h/cb?k=v", format!("http://h/cb?k=v&{tail}")),
            ("http://h/cb?k=v&", format!("http://h/cb?k=v&{tail}")),
            ("http://h/cb#frag", format!("http://h/cb?{tail}")),
        ] {
            assert_eq!(url(base, 7, &cb), joined, "{base}");
        }
    }

    #[test]
    fn addresses_are_canonical_and_encoded() {
        let end = |ip| url("http://h/", 7, &callback(ip));
        assert!(end(None).ends_with("&ClientIP=&OptPlatform=iOS"));
        assert!(end(Some("::1")).ends_with("&ClientIP=%3A%3A1&OptPlatform=iOS"));
        assert!(end(Some("::ffff:192.0.2.7")).ends_with("&ClientIP=192.0.2.7&OptPlatform=iOS"));
    }

    #[test]
    fn the_signature_is_rfc_4231s_hmac_sha256() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_http_and_https_urls_with_a_host_are_targets() {
        assert!(check_url("http://example.com/cb").is_ok());
        assert!(check_url("https://example.com:8443/cb?k=v").is_ok());
        assert!(check_url("ftp://example.com/cb").is_err());
        assert!(check_url("example.com/cb").is_err());
        assert!(check_url("not a url").is_err());
    }
}
