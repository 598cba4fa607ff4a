//! `ims_user_status`: the C view of statuses handed to callbacks, and the constants of its
//! fields.

use std::ffi::{c_char, CString};
use std::ptr;

use crate::client::UserStatus;

use super::lent;
use super::strings::to_cstring;

/// V2TIM_USER_STATUS_UNKNOWN: a value this SDK does not know.
pub const IMS_USER_STATUS_UNKNOWN: i32 = 0;
/// V2TIM_USER_STATUS_ONLINE: at least one device holds a live, logged-in connection.
pub const IMS_USER_STATUS_ONLINE: i32 = 1;
/// V2TIM_USER_STATUS_OFFLINE: no live connection, but a device went away without logging out.
pub const IMS_USER_STATUS_OFFLINE: i32 = 2;
/// V2TIM_USER_STATUS_UNLOGINED: never logged in, or every device logged out.
pub const IMS_USER_STATUS_UNLOGINED: i32 = 3;

/// One user's status (`V2TIMUserStatus`), as handed to `on_success` of
/// `ims_client_get_user_status` and to `on_user_status_changed`.
///
/// Borrowed: the struct, its array and every string it points to belong to the library and are
/// valid only until the callback returns. Copy what you keep.
#[repr(C)]
pub struct ims_user_status {
    /// The user (NUL-terminated, never NULL).
    pub user_id: *const c_char,
    /// One of `IMS_USER_STATUS_*`.
    pub status_type: i32,
    /// The custom status, "" when none is set (never NULL).
    pub custom_status: *const c_char,
    /// Platform names ("Windows", "iPhone", ...) of the user's connected devices; NULL when
    /// `online_devices_count` is 0.
    pub online_devices: *const *const c_char,
    /// Number of entries in `online_devices`.
    pub online_devices_count: usize,
}

/// Owns the C copies of a list of statuses for the duration of one callback.
pub(crate) struct CStatuses {
    items: Vec<ims_user_status>,
    // Referenced by `items` through raw pointers; kept alive (and unmoved: heap buffers) here.
    _strings: Vec<CString>,
    _devices: Vec<Vec<*const c_char>>,
}

impl CStatuses {
    pub(crate) fn new(statuses: &[UserStatus]) -> CStatuses {
        let mut strings = Vec::new();
        let mut devices = Vec::with_capacity(statuses.len());
        let mut items = Vec::with_capacity(statuses.len());
        for status in statuses {
            let user_id = to_cstring(&status.user_id);
            let custom_status = to_cstring(&status.custom_status);
            let device_ptrs: Vec<*const c_char> = status
                .online_devices
                .iter()
                .map(|d| {
                    let d = to_cstring(d);
                    let p = d.as_ptr();
                    strings.push(d);
                    p
                })
                .collect();
            items.push(ims_user_status {
                user_id: user_id.as_ptr(),
                status_type: status.status_type as i32,
                custom_status: custom_status.as_ptr(),
                online_devices: if device_ptrs.is_empty() {
                    ptr::null()
                } else {
                    device_ptrs.as_ptr()
                },
                online_devices_count: device_ptrs.len(),
            });
            // Moving a CString or a Vec moves only its handle, not the heap buffer the pointers
            // above point into.
            strings.push(user_id);
            strings.push(custom_status);
            devices.push(device_ptrs);
        }
        // The fields beyond V2TIM, for `ims_status_last_seen_ms` and the other accessors.
        lent::register(items.as_ptr(), statuses);
        CStatuses {
            items,
            _strings: strings,
            _devices: devices,
        }
    }

    /// The array to hand to C: NULL when empty.
    pub(crate) fn as_ptr(&self) -> *const ims_user_status {
        if self.items.is_empty() {
            ptr::null()
        } else {
            self.items.as_ptr()
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

impl Drop for CStatuses {
    fn drop(&mut self) {
        if !self.items.is_empty() {
            lent::unregister(self.items.as_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::StatusType;
    use std::ffi::CStr;

    #[test]
    fn values_are_v2tim_and_views_are_complete() {
        assert_eq!(IMS_USER_STATUS_UNKNOWN, StatusType::Unknown as i32);
        assert_eq!(IMS_USER_STATUS_ONLINE, StatusType::Online as i32);
        assert_eq!(IMS_USER_STATUS_OFFLINE, StatusType::Offline as i32);
        assert_eq!(IMS_USER_STATUS_UNLOGINED, StatusType::Unlogined as i32);

        let statuses = vec![
            UserStatus {
                user_id: "bob".into(),
                status_type: StatusType::Online,
                custom_status: "music".into(),
                online_devices: vec!["Windows".into(), "iPhone".into()],
                last_seen_ms: None,
                invisible: true,
                visibility: crate::client::Visibility::Friends,
            },
            UserStatus {
                user_id: "carol".into(),
                status_type: StatusType::Unlogined,
                custom_status: String::new(),
                online_devices: vec![],
                last_seen_ms: Some(42),
                invisible: false,
                visibility: crate::client::Visibility::Everyone,
            },
        ];
        let c = CStatuses::new(&statuses);
        assert_eq!(c.len(), 2);
        let items = unsafe { std::slice::from_raw_parts(c.as_ptr(), c.len()) };
        let s = |p| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        assert_eq!(s(items[0].user_id), "bob");
        assert_eq!(items[0].status_type, IMS_USER_STATUS_ONLINE);
        assert_eq!(s(items[0].custom_status), "music");
        let devices = unsafe { std::slice::from_raw_parts(items[0].online_devices, 2) };
        assert_eq!(s(devices[0]), "Windows");
        assert_eq!(s(devices[1]), "iPhone");
        assert_eq!(s(items[1].custom_status), "");
        assert!(items[1].online_devices.is_null());
        assert_eq!(items[1].online_devices_count, 0);
        assert!(CStatuses::new(&[]).as_ptr().is_null());

        // The extensions are found by each item's address while the array lives, and only
        // then; an address inside an item is not an item.
        let first = lent::find(&items[0]).unwrap();
        assert_eq!(
            (first.last_seen_ms, first.invisible, first.visibility),
            (None, true, 1)
        );
        let second = lent::find(&items[1]).unwrap();
        assert_eq!((second.last_seen_ms, second.invisible), (Some(42), false));
        let inside = (&items[0] as *const ims_user_status)
            .cast::<u8>()
            .wrapping_add(1);
        assert!(lent::find(inside.cast()).is_none());
        let past = (&items[1] as *const ims_user_status).wrapping_add(1);
        assert!(lent::find(past).is_none());
        let gone: *const ims_user_status = &items[0];
        drop(c);
        assert!(lent::find(gone).is_none());
    }
}
