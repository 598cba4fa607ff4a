//! Engine errors: a V2TIM code and a description that says what was wrong (B1).

use crate::codes;

/// A refused operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {desc}")]
pub struct EngineError {
    pub code: i32,
    pub desc: String,
}

impl EngineError {
    pub fn new(code: i32, desc: impl Into<String>) -> EngineError {
        EngineError {
            code,
            desc: desc.into(),
        }
    }

    pub(crate) fn invalid(desc: impl Into<String>) -> EngineError {
        EngineError::new(codes::ERR_INVALID_PARAMETERS, desc)
    }

    pub(crate) fn not_logged_in() -> EngineError {
        EngineError::new(
            codes::ERR_SDK_NOT_LOGGED_IN,
            "this connection is not logged in (log in first, or it was kicked)",
        )
    }
}

/// Checks a userID (I2): 1..=32 bytes of printable ASCII. Returns why not, if not.
pub fn check_user_id(user_id: &str) -> Result<(), String> {
    if user_id.is_empty() {
        return Err("userID is empty".into());
    }
    if user_id.len() > 32 {
        return Err(format!(
            "userID is {} bytes, more than 32: {:?}",
            user_id.len(),
            truncate(user_id)
        ));
    }
    if let Some(c) = user_id.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "userID {:?} holds {:?}, which is not printable ASCII",
            truncate(user_id),
            c
        ));
    }
    Ok(())
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}
