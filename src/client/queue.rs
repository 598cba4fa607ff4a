//! A blocking multi-producer, single-consumer queue for the library's plain threads (the
//! callback thread, the error thread, the network thread's start and stop, the blocking calls).
//!
//! Ours rather than `std::sync::mpsc`: std's channel carries three implementations (array, list
//! and rendezvous) for every message type it is used with, about 6 KB of the stripped library
//! per type, and the library needs none of their lock-free speed for a few messages a minute.
//! This is a `VecDeque` under a `Mutex`, with a `Condvar` for the receiver.
//!
//! It behaves like std's unbounded channel where the library relies on it: `send` gives the
//! message back once the receiver is gone; the receiver sees the end once every sender is gone
//! and the queue is empty; dropping the receiver drops what is still queued (outside the lock,
//! so a message whose drop sends to this very queue cannot deadlock).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::listener::lock;

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receiver: bool,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    ready: Condvar,
}

/// The sending side; clone it for more senders.
pub(crate) struct Sender<T>(Arc<Shared<T>>);

/// The receiving side (one).
pub(crate) struct Receiver<T>(Arc<Shared<T>>);

/// Why [`Receiver::recv_timeout`] returned without a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RecvTimeoutError {
    Timeout,
    /// Every sender is gone and nothing is queued.
    Disconnected,
}

/// A new, empty queue.
pub(crate) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::new(),
            senders: 1,
            receiver: true,
        }),
        ready: Condvar::new(),
    });
    (Sender(Arc::clone(&shared)), Receiver(shared))
}

impl<T> Sender<T> {
    /// Queues `item`, or gives it back when the receiver is gone.
    pub(crate) fn send(&self, item: T) -> Result<(), T> {
        let mut state = lock(&self.0.state);
        if !state.receiver {
            return Err(item);
        }
        state.items.push_back(item);
        drop(state);
        self.0.ready.notify_one();
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        lock(&self.0.state).senders += 1;
        Sender(Arc::clone(&self.0))
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.senders -= 1;
        let last = state.senders == 0;
        drop(state);
        if last {
            self.0.ready.notify_one();
        }
    }
}

impl<T> Receiver<T> {
    /// The next message, waiting for one; `None` once every sender is gone and nothing is left.
    pub(crate) fn recv(&self) -> Option<T> {
        let mut state = lock(&self.0.state);
        loop {
            if let Some(item) = state.items.pop_front() {
                return Some(item);
            }
            if state.senders == 0 {
                return None;
            }
            state = self.0.ready.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The next message, waiting at most `timeout` for one.
    pub(crate) fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let deadline = Instant::now() + timeout;
        let mut state = lock(&self.0.state);
        loop {
            if let Some(item) = state.items.pop_front() {
                return Ok(item);
            }
            if state.senders == 0 {
                return Err(RecvTimeoutError::Disconnected);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(RecvTimeoutError::Timeout);
            }
            state = self
                .0
                .ready
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The next message if one is queued.
    pub(crate) fn try_recv(&self) -> Option<T> {
        lock(&self.0.state).items.pop_front()
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let left = {
            let mut state = lock(&self.0.state);
            state.receiver = false;
            std::mem::take(&mut state.items)
        };
        // Outside the lock: dropping a message may run code that sends to this queue.
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    #[test]
    fn messages_arrive_in_order_from_other_threads_and_the_end_is_seen() {
        let (tx, rx) = channel();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..100 {
                        tx.send((t, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0; 4];
        while let Some((t, i)) = rx.recv() {
            assert_eq!(next[t], i, "sender {t}'s messages out of order");
            next[t] += 1;
        }
        assert_eq!(next, [100; 4]);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn recv_timeout_times_out_then_sees_the_end() {
        let (tx, rx) = channel::<u8>();
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout)
        );
        let later = std::thread::spawn(move || tx.send(7).unwrap());
        assert_eq!(rx.recv_timeout(WAIT), Ok(7));
        later.join().unwrap();
        assert_eq!(rx.recv_timeout(WAIT), Err(RecvTimeoutError::Disconnected));
    }

    /// Sends to its queue when dropped.
    struct Echo(Sender<Option<Echo>>);

    impl Drop for Echo {
        fn drop(&mut self) {
            assert!(self.0.send(None).is_err(), "the receiver is gone");
        }
    }

    #[test]
    fn a_dropped_receiver_refuses_and_drops_what_was_queued_without_deadlock() {
        let (tx, rx) = channel();
        assert!(tx.send(Some(Echo(tx.clone()))).is_ok());
        drop(rx);
        assert!(tx.send(None).is_err());
    }
}
