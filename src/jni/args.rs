//! Reading the natives' Java arguments. What cannot be translated (a null where a value is
//! needed, an ID list holding something other than strings) is a refusal, 6017 with a
//! description naming the argument, which the native reports through the call's callback.

use jni::objects::{JObject, JObjectArray, JString};
use jni::signature::ReturnType;
use jni::JNIEnv;

use crate::client::ClientError;
use crate::codes;

use super::cache;
use super::{Failure, Result};

fn refused(what: String) -> Failure {
    Failure::Refused(ClientError::new(codes::ERR_INVALID_PARAMETERS, what))
}

/// A `String` argument that must not be null.
pub(super) fn string(env: &mut JNIEnv, value: &JString, what: &str) -> Result<String> {
    if value.is_null() {
        return Err(refused(format!("{what} is null")));
    }
    // SAFETY: `value` is a `java.lang.String`: the natives declare their string parameters as
    // String, which the JVM enforces, and list elements are checked before they get here. (The
    // checked `get_string` would leak local references.)
    let text = unsafe { env.get_string_unchecked(value) }?;
    Ok(text.into())
}

/// A `String` argument that may be null.
pub(super) fn optional_string(env: &mut JNIEnv, value: &JString) -> Result<Option<String>> {
    if value.is_null() {
        return Ok(None);
    }
    string(env, value, "string").map(Some)
}

/// The IDs of an `Object[]` (`List.toArray()`), each read and released in turn; every element
/// must be a non-null `String`.
pub(super) fn ids(env: &mut JNIEnv, array: &JObjectArray) -> Result<Vec<String>> {
    strings(env, array, "userIDList")
}

/// The strings of an `Object[]` (`List.toArray()`) named `what`, each read and released in turn;
/// every element must be a non-null `String`.
pub(super) fn strings(env: &mut JNIEnv, array: &JObjectArray, what: &str) -> Result<Vec<String>> {
    if array.is_null() {
        return Err(refused(format!("{what} is null")));
    }
    let cache = cache::get().ok_or(Failure::Invalid("Native.init() did not run".into()))?;
    let len = env.get_array_length(array)?;
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    for i in 0..len {
        let element = env.get_object_array_element(array, i)?;
        if element.is_null() {
            return Err(refused(format!("{what}[{i}] is null")));
        }
        if !env.is_instance_of(&element, cache.string_class.as_global())? {
            env.delete_local_ref(element)?;
            return Err(refused(format!("{what}[{i}] is not a String")));
        }
        let element = JString::from(element);
        out.push(string(env, &element, what)?);
        env.delete_local_ref(element)?;
    }
    Ok(out)
}

/// The custom status of a `V2TIMUserStatus` (`getCustomStatus()`, null clears it); a null status
/// itself cannot be expressed to the client (there `None` means "clear"), so it is refused.
pub(super) fn custom_status(env: &mut JNIEnv, status: &JObject) -> Result<Option<String>> {
    if status.is_null() {
        return Err(refused("status is null".into()));
    }
    let cache = cache::get().ok_or(Failure::Invalid("Native.init() did not run".into()))?;
    // SAFETY: `status_custom` is `V2TIMUserStatus.getCustomStatus()Ljava/lang/String;`, and
    // `status` is a V2TIMUserStatus (the native's declared parameter type).
    let custom =
        unsafe { env.call_method_unchecked(status, cache.status_custom, ReturnType::Object, &[]) }?
            .l()?;
    let custom = JString::from(custom);
    let text = optional_string(env, &custom)?;
    env.delete_local_ref(custom)?;
    Ok(text)
}
