//! UserSig: the login ticket of Tencent's `tls-sig-api-v2`, made and checked here so that an
//! app server already using Tencent's signing libraries can log its users in to imstatus with
//! the very tickets it hands out today, and so that imstatus can stand in for those libraries.
//!
//! A UserSig is `base64url'(zlib(json))`, where `base64url'` is standard base64 with `+`, `/` and
//! `=` swapped for `*`, `-` and `_` (Tencent's own alphabet, not RFC 4648's URL-safe one), and the
//! JSON carries the claims plus `TLS.sig`, an HMAC-SHA256 under the app's secret key over a fixed
//! text rendering of those claims (one `TLS.name:value` line each). Only the fields in that
//! text are trusted; everything else in the JSON (such as `TLS.ver`) is ignored, since nothing
//! vouches for it.

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::codes;

/// Default validity of a generated UserSig: 180 days, as the reference packages.
pub const DEFAULT_EXPIRE_SECS: u64 = 180 * 86400;

/// Longest UserSig text accepted. Real ones are a few hundred bytes; the cap keeps a hostile
/// client from making us base64-decode megabytes before we can say no.
const MAX_SIG_LEN: usize = 2048;

/// Most bytes a UserSig may inflate to. A few hundred bytes of zlib can expand to megabytes, so
/// inflation stops one byte past this and the sig is refused.
const MAX_INFLATED_LEN: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// Why a UserSig was refused; each maps to a V2TIM server error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigError {
    /// The text could not be decoded, inflated or parsed, or lacks a field (code 70003).
    #[error("UserSig is malformed: {0}")]
    Malformed(String),
    /// The sig's issue time plus its validity is already past (code 70001).
    #[error("UserSig has expired: its issue time plus its validity is before now")]
    Expired,
    /// The sig was made for another userID than the one logging in (code 70013).
    #[error("UserSig was made for another userID than the one logging in")]
    IdentifierMismatch,
    /// The sig was made for another SDKAppID than this server's (code 70014).
    #[error("UserSig was made for another SDKAppID than this server's")]
    SdkAppIdMismatch,
    /// The HMAC does not match: the claims were altered or another key signed them (code 70003).
    #[error("UserSig signature does not match: wrong secret key or altered contents")]
    BadSignature,
}

impl SigError {
    /// The V2TIM server error code a client is told for this refusal.
    pub fn code(&self) -> i32 {
        match self {
            SigError::Malformed(_) | SigError::BadSignature => {
                codes::ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED
            }
            SigError::Expired => codes::ERR_SVR_ACCOUNT_USERSIG_EXPIRED,
            SigError::IdentifierMismatch => codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID,
            SigError::SdkAppIdMismatch => codes::ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID,
        }
    }
}

/// What a verified UserSig says: when it was made and when it stops being valid (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigClaims {
    /// `TLS.time`: when the app server made the sig.
    pub issued_at: u64,
    /// `TLS.time + TLS.expire`, saturating: the last second at which the sig is still accepted.
    pub expires_at: u64,
}

/// The JSON inside a UserSig. Numbers are `u64` so that negative, fractional or oversized values
/// fail to parse instead of being wrapped or rounded into something the HMAC then covers.
#[derive(Deserialize)]
struct SigDoc {
    #[serde(rename = "TLS.identifier")]
    identifier: String,
    #[serde(rename = "TLS.sdkappid")]
    sdk_app_id: u64,
    #[serde(rename = "TLS.time")]
    time: u64,
    #[serde(rename = "TLS.expire")]
    expire: u64,
    #[serde(rename = "TLS.sig")]
    sig: String,
    /// Already base64 text in the JSON, and signed as that text, so it is never decoded here.
    #[serde(rename = "TLS.userbuf", default)]
    userbuf: Option<String>,
}

/// The exact text the HMAC covers; any byte of difference from the reference packages breaks
/// interop, so it mirrors their line order and trailing newlines.
fn content_to_sign(
    identifier: &str,
    sdk_app_id: u64,
    time: u64,
    expire: u64,
    base64_userbuf: Option<&str>,
) -> String {
    let mut content = format!(
        "TLS.identifier:{identifier}\n\
         TLS.sdkappid:{sdk_app_id}\n\
         TLS.time:{time}\n\
         TLS.expire:{expire}\n"
    );
    if let Some(userbuf) = base64_userbuf {
        content.push_str("TLS.userbuf:");
        content.push_str(userbuf);
        content.push('\n');
    }
    content
}

/// The secret key is used as its UTF-8 text, not hex-decoded, as the reference packages do.
fn keyed_mac(secret_key: &str, content: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(content.as_bytes());
    mac
}

fn encode_sig_text(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            other => other,
        })
        .collect()
}

fn decode_sig_text(text: &str) -> Result<Vec<u8>, SigError> {
    let standard: Vec<u8> = text
        .bytes()
        .map(|b| match b {
            b'*' => b'+',
            b'-' => b'/',
            b'_' => b'=',
            other => other,
        })
        .collect();
    STANDARD
        .decode(standard)
        .map_err(|e| SigError::Malformed(format!("not valid base64: {e}")))
}

fn inflate(compressed: &[u8]) -> Result<Vec<u8>, SigError> {
    let mut inflated = Vec::new();
    // One byte past the cap is read so that "exactly at the cap" and "over it" differ.
    ZlibDecoder::new(compressed)
        .take(MAX_INFLATED_LEN as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|e| SigError::Malformed(format!("not valid zlib data: {e}")))?;
    if inflated.len() > MAX_INFLATED_LEN {
        return Err(SigError::Malformed(format!(
            "inflates to more than {MAX_INFLATED_LEN} bytes"
        )));
    }
    Ok(inflated)
}

fn compress(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// Makes a UserSig for `user_id`, valid `expire_secs` from `now_secs`.
pub fn generate(
    sdk_app_id: u32,
    secret_key: &str,
    user_id: &str,
    expire_secs: u64,
    now_secs: u64,
) -> String {
    let content = content_to_sign(user_id, u64::from(sdk_app_id), now_secs, expire_secs, None);
    let sig = STANDARD.encode(keyed_mac(secret_key, &content).finalize().into_bytes());
    let doc = serde_json::json!({
        "TLS.ver": "2.0",
        "TLS.identifier": user_id,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire_secs,
        "TLS.time": now_secs,
        "TLS.sig": sig,
    });
    encode_sig_text(&compress(doc.to_string().as_bytes()))
}

/// Checks a UserSig against the app's key, the claimed user and the current time.
///
/// The checks run in the order of Tencent's servers (app, user, expiry, then signature), so a
/// client sees the same error code here as it would there.
pub fn verify(
    user_sig: &str,
    sdk_app_id: u32,
    secret_key: &str,
    user_id: &str,
    now_secs: u64,
) -> Result<SigClaims, SigError> {
    if user_sig.len() > MAX_SIG_LEN {
        return Err(SigError::Malformed(format!(
            "{} bytes long, more than the {MAX_SIG_LEN} allowed",
            user_sig.len()
        )));
    }
    let compressed = decode_sig_text(user_sig)?;
    let json = inflate(&compressed)?;
    let doc: SigDoc = serde_json::from_slice(&json)
        .map_err(|e| SigError::Malformed(format!("its JSON is invalid or lacks a field: {e}")))?;

    if doc.sdk_app_id != u64::from(sdk_app_id) {
        return Err(SigError::SdkAppIdMismatch);
    }
    if doc.identifier != user_id {
        return Err(SigError::IdentifierMismatch);
    }
    let expires_at = doc.time.saturating_add(doc.expire);
    if now_secs > expires_at {
        return Err(SigError::Expired);
    }

    // A sig that is not even base64 cannot match any key, so it is a bad signature rather than
    // a malformed ticket; both give the client the same code anyway.
    let claimed = STANDARD
        .decode(doc.sig.as_bytes())
        .map_err(|_| SigError::BadSignature)?;
    let content = content_to_sign(
        &doc.identifier,
        doc.sdk_app_id,
        doc.time,
        doc.expire,
        doc.userbuf.as_deref(),
    );
    // verify_slice compares in constant time, so response timing leaks nothing about the HMAC.
    keyed_mac(secret_key, &content)
        .verify_slice(&claimed)
        .map_err(|_| SigError::BadSignature)?;

    Ok(SigClaims {
        issued_at: doc.time,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const APP: u32 = 1_400_000_000;
    const T0: u64 = 1_700_000_000;

    /// Wraps arbitrary JSON the way a UserSig is wrapped, to feed `verify` crafted documents.
    fn wrap_json(json: &str) -> String {
        encode_sig_text(&compress(json.as_bytes()))
    }

    fn unwrap_json(sig: &str) -> serde_json::Value {
        let bytes = inflate(&decode_sig_text(sig).unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn malformed(result: Result<SigClaims, SigError>) -> String {
        match result {
            Err(SigError::Malformed(why)) => why,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn test_vector_signature() {
        let content = content_to_sign("xiaojun", u64::from(APP), T0, 15_552_000, None);
        assert_eq!(
            content,
            "TLS.identifier:xiaojun\nTLS.sdkappid:1400000000\nTLS.time:1700000000\nTLS.expire:15552000\n"
        );
        let sig = STANDARD.encode(keyed_mac(KEY, &content).finalize().into_bytes());
        assert_eq!(sig, "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=");
    }

    #[test]
    fn generated_json_carries_the_test_vector() {
        let doc = unwrap_json(&generate(APP, KEY, "xiaojun", DEFAULT_EXPIRE_SECS, T0));
        assert_eq!(
            doc,
            serde_json::json!({
                "TLS.ver": "2.0",
                "TLS.identifier": "xiaojun",
                "TLS.sdkappid": 1_400_000_000u64,
                "TLS.expire": 15_552_000u64,
                "TLS.time": 1_700_000_000u64,
                "TLS.sig": "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=",
            })
        );
    }

    #[test]
    fn generated_text_uses_tencent_alphabet() {
        for id in ["xiaojun", "a", "user_0001", "张三"] {
            let sig = generate(APP, KEY, id, DEFAULT_EXPIRE_SECS, T0);
            assert!(!sig.contains(['+', '/', '=']), "{sig}");
        }
    }

    #[test]
    fn userbuf_test_vector() {
        // HMAC computed with the Python package's own signing routine for userbuf "abc".
        let content = content_to_sign("xiaojun", u64::from(APP), T0, 86_400, Some("YWJj"));
        let sig = STANDARD.encode(keyed_mac(KEY, &content).finalize().into_bytes());
        assert_eq!(sig, "Oab3vXglY45Pcxz+SSjhdxBWuhTAxVhxYLfvVjGhOJ0=");
    }

    /// Whole UserSigs made by the PyPI package `tls-sig-api-v2` 1.1 with its clock pinned to
    /// T0, so interop is checked even where Python is absent.
    #[test]
    fn verifies_sigs_made_by_the_python_package() {
        let plain = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpYJkTE1NjRDiJZm5YFFzNPXFmekgG3zKHM1T9D3LzdODi-OKs8vCqpxcAvydnV2SSv2cy03cPcpDnA2SMgu0nUxslWoBHdYzUg__";
        assert_eq!(
            verify(plain, APP, KEY, "xiaojun", T0 + 10),
            Ok(SigClaims {
                issued_at: T0,
                expires_at: T0 + DEFAULT_EXPIRE_SECS
            })
        );
        // Python escapes non-ASCII as \uXXXX in the JSON but signs the raw UTF-8.
        let non_ascii = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkYkpN04wMYkpNUg0sYSqKU7ITCwoyU4DyhiYGUACVS60oyCxKBcoYm8HFSjJzQSKG5mhqizPTQVZYZJhYGiW6mvk6ZZqWlRqaB*YaGJq4JBpX6jtmplVFBBsX*mV6J*Vp6wfn2yrVAgDbTjIz";
        assert_eq!(
            verify(non_ascii, APP, KEY, "张三", T0),
            Ok(SigClaims {
                issued_at: T0,
                expires_at: T0 + 3600
            })
        );
        let with_userbuf = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkKjIT87NK82CSxSnZiQUFmSlAKUMTAyiAyqVWFGQWpQJlLMxM4IIlmbkgIUNzNMWlxalFSaVpICsiw72y4OZnpoOE-BOTjMsi0nMiTUwDkiuqtIODszJSKpzCSzNCHCvCMioifdLKwrLcM-y9DGyVagF2rTqB";
        assert_eq!(
            verify(with_userbuf, APP, KEY, "xiaojun", T0),
            Ok(SigClaims {
                issued_at: T0,
                expires_at: T0 + 86_400
            })
        );
        assert_eq!(
            verify(with_userbuf, APP, "another key", "xiaojun", T0),
            Err(SigError::BadSignature)
        );
    }

    #[test]
    fn round_trip() {
        for id in [
            "xiaojun",
            "",
            "user-with_odd.chars@1",
            "张三",
            "quote\"and\\slash\n",
        ] {
            let sig = generate(APP, KEY, id, 3600, T0);
            assert_eq!(
                verify(&sig, APP, KEY, id, T0),
                Ok(SigClaims {
                    issued_at: T0,
                    expires_at: T0 + 3600
                }),
                "id {id:?}"
            );
        }
    }

    #[test]
    fn valid_through_the_last_second() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        assert!(verify(&sig, APP, KEY, "xiaojun", T0 + 180).is_ok());
        assert_eq!(
            verify(&sig, APP, KEY, "xiaojun", T0 + 181),
            Err(SigError::Expired)
        );
    }

    #[test]
    fn a_sig_from_the_future_is_accepted() {
        // Clock skew between the app server and us must not lock users out.
        let sig = generate(APP, KEY, "xiaojun", 180, T0 + 600);
        assert!(verify(&sig, APP, KEY, "xiaojun", T0).is_ok());
    }

    #[test]
    fn expired() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        let err = verify(&sig, APP, KEY, "xiaojun", T0 + 200).unwrap_err();
        assert_eq!(err, SigError::Expired);
        assert_eq!(err.code(), 70001);
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn identifier_mismatch() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        let err = verify(&sig, APP, KEY, "xiaojun2", T0).unwrap_err();
        assert_eq!(err, SigError::IdentifierMismatch);
        assert_eq!(err.code(), 70013);
        assert_eq!(
            verify(&sig, APP, KEY, "Xiaojun", T0),
            Err(SigError::IdentifierMismatch)
        );
    }

    #[test]
    fn sdkappid_mismatch() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        let err = verify(&sig, APP + 1, KEY, "xiaojun", T0).unwrap_err();
        assert_eq!(err, SigError::SdkAppIdMismatch);
        assert_eq!(err.code(), 70014);
    }

    #[test]
    fn sdkappid_wider_than_u32_is_a_mismatch() {
        let content = content_to_sign("xiaojun", 1 << 40, T0, 180, None);
        let sig = STANDARD.encode(keyed_mac(KEY, &content).finalize().into_bytes());
        let text = wrap_json(&format!(
            r#"{{"TLS.identifier":"xiaojun","TLS.sdkappid":{},"TLS.time":{T0},"TLS.expire":180,"TLS.sig":"{sig}"}}"#,
            1u64 << 40
        ));
        assert_eq!(
            verify(&text, 0, KEY, "xiaojun", T0),
            Err(SigError::SdkAppIdMismatch)
        );
    }

    #[test]
    fn checks_run_in_server_order() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        let late = T0 + 1000;
        assert_eq!(
            verify(&sig, APP + 1, "bad key", "other", late),
            Err(SigError::SdkAppIdMismatch)
        );
        assert_eq!(
            verify(&sig, APP, "bad key", "other", late),
            Err(SigError::IdentifierMismatch)
        );
        assert_eq!(
            verify(&sig, APP, "bad key", "xiaojun", late),
            Err(SigError::Expired)
        );
        assert_eq!(
            verify(&sig, APP, "bad key", "xiaojun", T0),
            Err(SigError::BadSignature)
        );
    }

    #[test]
    fn wrong_key() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        let err = verify(&sig, APP, "0000", "xiaojun", T0).unwrap_err();
        assert_eq!(err, SigError::BadSignature);
        assert_eq!(err.code(), 70003);
        // Keys are text, so an upper-cased hex key is a different key.
        assert_eq!(
            verify(&sig, APP, &KEY.to_uppercase(), "xiaojun", T0),
            Err(SigError::BadSignature)
        );
    }

    #[test]
    fn tampered_sig() {
        let mut doc = unwrap_json(&generate(APP, KEY, "xiaojun", 180, T0));

        let mut longer = doc.clone();
        longer["TLS.expire"] = serde_json::json!(DEFAULT_EXPIRE_SECS);
        assert_eq!(
            verify(&wrap_json(&longer.to_string()), APP, KEY, "xiaojun", T0),
            Err(SigError::BadSignature)
        );

        let mut with_userbuf = doc.clone();
        with_userbuf["TLS.userbuf"] = serde_json::json!("YWJj");
        assert_eq!(
            verify(
                &wrap_json(&with_userbuf.to_string()),
                APP,
                KEY,
                "xiaojun",
                T0
            ),
            Err(SigError::BadSignature)
        );

        let sig = doc["TLS.sig"].as_str().unwrap().to_owned();
        let flipped = if sig.starts_with('A') {
            sig.replacen('A', "B", 1)
        } else {
            format!("A{}", &sig[1..])
        };
        for bad in [
            flipped,
            String::new(),
            "not base64!".to_owned(),
            sig[..20].to_owned(),
        ] {
            doc["TLS.sig"] = serde_json::json!(bad);
            assert_eq!(
                verify(&wrap_json(&doc.to_string()), APP, KEY, "xiaojun", T0),
                Err(SigError::BadSignature),
                "sig {bad:?}"
            );
        }
    }

    #[test]
    fn garbage_input_is_malformed() {
        for text in [
            "",
            "garbage",
            "!!!!",
            "é",
            "\0\0\0\0",
            "eJyrVgrxCdYrSy1Ssl",
            "AAAAAAAA",
            "aGVsbG8gd29ybGQ_",
        ] {
            let err = verify(text, APP, KEY, "xiaojun", T0).unwrap_err();
            assert!(matches!(err, SigError::Malformed(_)), "{text:?}: {err:?}");
            assert_eq!(err.code(), 70003);
        }
    }

    #[test]
    fn bad_json_is_malformed() {
        let fields = format!(
            r#""TLS.identifier":"xiaojun","TLS.sdkappid":{APP},"TLS.time":{T0},"TLS.expire":180"#
        );
        for json in [
            "not json".to_owned(),
            "[]".to_owned(),
            "null".to_owned(),
            "{}".to_owned(),
            format!("{{{fields}}}"),
            format!(r#"{{{fields},"TLS.sig":42}}"#),
            format!(r#"{{{fields},"TLS.sig":"x","TLS.userbuf":7}}"#),
            format!(r#"{{{fields},"TLS.sig":"x","TLS.expire":1}}"#),
            format!(
                r#"{{"TLS.identifier":7,"TLS.sdkappid":{APP},"TLS.time":{T0},"TLS.expire":180,"TLS.sig":"x"}}"#
            ),
            format!(
                r#"{{"TLS.identifier":"xiaojun","TLS.sdkappid":{APP},"TLS.time":-5,"TLS.expire":180,"TLS.sig":"x"}}"#
            ),
            format!(
                r#"{{"TLS.identifier":"xiaojun","TLS.sdkappid":{APP},"TLS.time":{T0},"TLS.expire":-180,"TLS.sig":"x"}}"#
            ),
            format!(
                r#"{{"TLS.identifier":"xiaojun","TLS.sdkappid":{APP},"TLS.time":1.5,"TLS.expire":180,"TLS.sig":"x"}}"#
            ),
            format!(
                r#"{{"TLS.identifier":"xiaojun","TLS.sdkappid":{APP},"TLS.time":1e30,"TLS.expire":180,"TLS.sig":"x"}}"#
            ),
            format!(
                r#"{{"TLS.identifier":"xiaojun","TLS.sdkappid":{APP},"TLS.time":99999999999999999999999999,"TLS.expire":180,"TLS.sig":"x"}}"#
            ),
        ] {
            let why = malformed(verify(&wrap_json(&json), APP, KEY, "xiaojun", T0));
            assert!(why.contains("JSON"), "{json}: {why}");
        }
    }

    #[test]
    fn sdkappid_as_string_is_malformed() {
        let mut doc = unwrap_json(&generate(APP, KEY, "xiaojun", 180, T0));
        doc["TLS.sdkappid"] = serde_json::json!(APP.to_string());
        let err = verify(&wrap_json(&doc.to_string()), APP, KEY, "xiaojun", T0).unwrap_err();
        assert!(matches!(err, SigError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn non_utf8_after_inflate_is_malformed() {
        let text = encode_sig_text(&compress(b"{\"TLS.identifier\":\"\xff\xfe\"}"));
        malformed(verify(&text, APP, KEY, "xiaojun", T0));
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        let sig = generate(APP, KEY, "xiaojun", u64::MAX, u64::MAX);
        assert_eq!(
            verify(&sig, APP, KEY, "xiaojun", u64::MAX),
            Ok(SigClaims {
                issued_at: u64::MAX,
                expires_at: u64::MAX
            })
        );
    }

    #[test]
    fn oversized_input_is_malformed() {
        let why = malformed(verify(
            &"A".repeat(MAX_SIG_LEN + 1),
            APP,
            KEY,
            "xiaojun",
            T0,
        ));
        assert!(why.contains("2049 bytes"), "{why}");
    }

    #[test]
    fn zip_bomb_is_malformed() {
        let bomb = encode_sig_text(&compress(&vec![b' '; 1 << 20]));
        assert!(bomb.len() <= MAX_SIG_LEN, "bomb must pass the length cap");
        let why = malformed(verify(&bomb, APP, KEY, "xiaojun", T0));
        assert!(why.contains("more than 4096 bytes"), "{why}");
    }

    #[test]
    fn inflated_size_exactly_at_cap_is_allowed() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        let json = unwrap_json(&sig).to_string();
        let padded = format!("{json:<width$}", width = MAX_INFLATED_LEN);
        assert_eq!(padded.len(), MAX_INFLATED_LEN);
        assert!(verify(&wrap_json(&padded), APP, KEY, "xiaojun", T0).is_ok());
    }

    #[test]
    fn truncated_or_mangled_sigs_never_panic() {
        let sig = generate(APP, KEY, "xiaojun", 180, T0);
        for end in 0..sig.len() {
            assert!(verify(&sig[..end], APP, KEY, "xiaojun", T0).is_err());
        }
        let bytes = sig.as_bytes();
        for i in 0..bytes.len() {
            for replacement in [b'A', b'*', b'-', b'_', b'=', b'+', b'/'] {
                let mut mangled = bytes.to_vec();
                mangled[i] = replacement;
                let mangled = String::from_utf8(mangled).unwrap();
                // Any outcome but a panic is fine; a lucky byte may still decode the same JSON.
                let _ = verify(&mangled, APP, KEY, "xiaojun", T0);
            }
        }
    }

    #[test]
    fn error_messages_say_what_was_wrong() {
        assert!(SigError::Malformed("not valid base64".into())
            .to_string()
            .contains("not valid base64"));
        assert!(SigError::IdentifierMismatch.to_string().contains("userID"));
        assert!(SigError::SdkAppIdMismatch.to_string().contains("SDKAppID"));
        assert!(SigError::BadSignature.to_string().contains("secret key"));
    }
}
