//! The library's version, for checking that the header and the library match.

use std::ffi::c_char;

/// The library's version, "MAJOR.MINOR.PATCH" (a static string; do not free it). Compare it with
/// `IMS_VERSION_STRING` from the header to detect a header/library mismatch.
#[no_mangle]
pub extern "C" fn ims_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The library's version as `MAJOR * 10000 + MINOR * 100 + PATCH`; compare it with
/// `IMS_VERSION_NUMBER` from the header.
#[no_mangle]
pub extern "C" fn ims_version_number() -> u32 {
    let part = |s: &str| s.parse::<u32>().unwrap_or(0);
    part(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + part(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + part(env!("CARGO_PKG_VERSION_PATCH"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_is_the_package_version() {
        let v = unsafe { CStr::from_ptr(ims_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
        let parts: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            ims_version_number(),
            parts[0] * 10000 + parts[1] * 100 + parts[2]
        );
    }
}
