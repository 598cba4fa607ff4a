//! Redis as a node's engine calls it, with a breaker: once a call failed although the client
//! retried for as long as a restart takes (15 s), further calls fail at once for a few seconds.
//! Without it every operation of a node whose Redis is gone waits out the whole retry, one
//! after another: closing ten thousand connections at shutdown would take hours.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::redis::{Redis, RedisError, Script};
use super::resp::Value;

/// How long calls fail at once after a call found Redis away.
const OPEN_FOR: Duration = Duration::from_secs(5);

/// Redis behind a breaker.
pub struct Guarded {
    redis: Arc<Redis>,
    /// Until when calls fail at once, after one found Redis away.
    open_until: Mutex<Option<Instant>>,
}

impl Guarded {
    /// A breaker over `redis`, closed.
    pub fn new(redis: Arc<Redis>) -> Guarded {
        Guarded {
            redis,
            open_until: Mutex::new(None),
        }
    }

    /// The client itself, for calls that must try whatever happened before (the lease).
    pub fn redis(&self) -> &Arc<Redis> {
        &self.redis
    }

    /// Whether calls fail at once now.
    fn open(&self) -> Result<(), String> {
        let until = *self.open_until.lock().unwrap_or_else(|e| e.into_inner());
        match until {
            Some(until) if Instant::now() < until => Err(format!(
                "Redis was away a moment ago; trying again in {:?}",
                until - Instant::now()
            )),
            _ => Ok(()),
        }
    }

    /// Notes what a call answered: a failure to reach Redis (not an error reply) opens the
    /// breaker.
    fn heard<T>(&self, answer: Result<T, RedisError>) -> Result<T, String> {
        answer.map_err(|e| {
            if !e.is_reply() {
                *self.open_until.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Instant::now() + OPEN_FOR);
            }
            e.to_string()
        })
    }

    /// [`Redis::call`], unless the breaker is open.
    pub fn call(&self, route: &[u8], args: &[&[u8]]) -> Result<Value, String> {
        self.open()?;
        self.heard(self.redis.call(route, args))
    }

    /// [`Redis::eval`], unless the breaker is open.
    pub fn eval(&self, script: &Script, keys: &[&[u8]], args: &[&[u8]]) -> Result<Value, String> {
        self.open()?;
        self.heard(self.redis.eval(script, keys, args))
    }

    /// [`Redis::pipeline`], unless the breaker is open.
    pub fn pipeline(&self, commands: &[(Vec<u8>, Vec<Vec<u8>>)]) -> Vec<Result<Value, String>> {
        if let Err(why) = self.open() {
            return commands.iter().map(|_| Err(why.clone())).collect();
        }
        self.redis
            .pipeline(commands)
            .into_iter()
            .map(|answer| self.heard(answer))
            .collect()
    }
}
