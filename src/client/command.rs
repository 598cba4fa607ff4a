//! What the API methods ask of the driver, each carrying the callback that answers it.

use crate::protocol::{Request, WireStatus};

use super::dispatcher::Completion;
use super::types::{ClientError, UserStatus};

/// One API call on its way to the driver. Dropping a command (the runtime was shut down before
/// the driver saw it) fires its callback with 6013, through [`Completion`].
pub(crate) enum Command {
    Login {
        user_id: String,
        user_sig: String,
        done: Completion<()>,
    },
    Logout {
        done: Completion<()>,
    },
    /// A request that needs a logged-in, connected session.
    Call {
        request: Request,
        reply: Reply,
    },
    /// A call refused before it started (a bad argument a binding could not express, ...): the
    /// driver only fires it, so that the refusal reaches the callback thread in call order with
    /// every other answer. The job completes a callback with its error; dropped unrun, that
    /// callback fires the same error (see [`Completion::refusal`](super::dispatcher::Completion)).
    Refuse(Box<dyn FnOnce() + Send>),
}

/// How the answer of a [`Command::Call`] reaches its caller.
pub(crate) enum Reply {
    Done(Completion<()>),
    Statuses(Completion<Vec<UserStatus>>),
}

impl Reply {
    pub(crate) fn succeed(self, statuses: &[WireStatus]) {
        match self {
            Reply::Done(done) => done.complete(Ok(())),
            Reply::Statuses(done) => {
                done.complete(Ok(statuses.iter().map(UserStatus::from_wire).collect()))
            }
        }
    }

    pub(crate) fn fail(self, error: ClientError) {
        match self {
            Reply::Done(done) => done.complete(Err(error)),
            Reply::Statuses(done) => done.complete(Err(error)),
        }
    }
}
