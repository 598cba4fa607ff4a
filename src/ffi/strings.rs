//! C strings in and out: NULL and UTF-8 checks on the way in, NUL-safe copies on the way out.
//!
//! These only check what C cannot express in Rust types (NULL, encoding). Whether a userID or a
//! custom status is acceptable is decided by the server's rules, never here.

use std::ffi::{c_char, CStr, CString};

use super::error::Rejection;

/// Borrows a required C string argument as UTF-8.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid and unchanged for `'a`.
pub(crate) unsafe fn required<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Rejection> {
    if ptr.is_null() {
        return Err(Rejection::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    utf8(unsafe { CStr::from_ptr(ptr) }, what)
}

/// Borrows an optional C string argument as UTF-8; NULL is `None`.
///
/// # Safety
/// As [`required`].
pub(crate) unsafe fn optional<'a>(
    ptr: *const c_char,
    what: &str,
) -> Result<Option<&'a str>, Rejection> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { required(ptr, what) }.map(Some)
}

/// Copies a list of C strings (`user_ids[0..count]`). NULL with `count` 0 is the empty list.
///
/// # Safety
/// `ptr` is NULL or points to `count` readable pointers, each NULL or a NUL-terminated string.
pub(crate) unsafe fn list(
    ptr: *const *const c_char,
    count: usize,
    what: &str,
) -> Result<Vec<String>, Rejection> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptr.is_null() {
        return Err(Rejection::invalid(format!(
            "{what} is NULL but its count is {count}"
        )));
    }
    // SAFETY: `ptr` points to `count` pointers per this function's contract.
    let entries = unsafe { std::slice::from_raw_parts(ptr, count) };
    entries
        .iter()
        .enumerate()
        .map(|(i, &entry)| {
            // SAFETY: each entry is NULL or a NUL-terminated string per the contract.
            unsafe { required(entry, &format!("{what}[{i}]")) }.map(str::to_owned)
        })
        .collect()
}

fn utf8<'a>(s: &'a CStr, what: &str) -> Result<&'a str, Rejection> {
    s.to_str().map_err(|e| {
        Rejection::invalid(format!(
            "{what} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// A C copy of a Rust string. C strings cannot hold NUL, so any NUL (legal in UTF-8, but never
/// produced by this library's own text) is replaced by U+FFFD rather than cutting the string.
pub(crate) fn to_cstring(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| {
        CString::new(s.replace('\0', "\u{FFFD}")).expect("no NUL is left after the replacement")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::error::IMS_ERR_INVALID_PARAMETERS;
    use std::ptr;

    #[test]
    fn null_utf8_and_lists() {
        let ok = c"alice";
        let bad = c"al\xffce";
        unsafe {
            assert_eq!(required(ok.as_ptr(), "user_id").unwrap(), "alice");
            let e = required(ptr::null(), "user_id").unwrap_err();
            assert_eq!(e.code, IMS_ERR_INVALID_PARAMETERS);
            assert_eq!(e.message, "user_id is NULL");
            let e = required(bad.as_ptr(), "user_id").unwrap_err();
            assert!(e.message.contains("offset 2"), "{}", e.message);
            assert_eq!(optional(ptr::null(), "s").unwrap(), None);

            assert!(list(ptr::null(), 0, "ids").unwrap().is_empty());
            assert!(list(ptr::null(), 2, "ids").is_err());
            let ids = [ok.as_ptr(), ptr::null()];
            let e = list(ids.as_ptr(), 2, "user_ids").unwrap_err();
            assert_eq!(e.message, "user_ids[1] is NULL");
            let ids = [ok.as_ptr(), bad.as_ptr()];
            let e = list(ids.as_ptr(), 2, "user_ids").unwrap_err();
            assert!(e.message.starts_with("user_ids[1] is not valid UTF-8"));
            assert_eq!(list(ids.as_ptr(), 1, "user_ids").unwrap(), vec!["alice"]);
        }
    }

    #[test]
    fn nul_never_truncates() {
        assert_eq!(to_cstring("a\0b").to_str().unwrap(), "a\u{FFFD}b");
        assert_eq!(to_cstring("ab").to_str().unwrap(), "ab");
    }
}
