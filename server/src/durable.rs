//! The durable store: what must outlive a restart (L6, F1, F2) in a
//! [redb](https://docs.rs/redb) file, `<data_dir>/imstatus.redb`, written behind the engine in
//! group commits.
//!
//! A write ([`Store::put_user`], a friend, an app) lands in memory, in the *open batch*, and
//! returns at once: no caller ever waits for the disk while holding a user's lock. A committer
//! thread of its own takes the open batch whole, writes it in one transaction and makes it
//! durable with one fsync ([`Durability::Immediate`]), while the next batch fills. So a storm of
//! logins costs a handful of fsyncs, not one each. [`DurableStore::flushed`] waits until
//! everything written before it is on disk: a login is answered only then, so no acknowledged
//! login is lost to a crash.
//!
//! Reads see every write at once: the open batch first, then the batch being committed, then
//! the file. Only the apps are read at start; users are read when the engine first needs them,
//! so a start costs the same however many users the file holds. A batch holds the latest value
//! per row, so it never grows beyond one entry per user (or friendship) written meanwhile.
//!
//! Layout (schema 1):
//!
//! | table     | key                          | value                                         |
//! |-----------|------------------------------|-----------------------------------------------|
//! | `meta`    | `"schema"`, `"epoch"`, `"probes"` | `u64`: the layout version; the boot counter; readiness probes written |
//! | `apps`    | `sdk_app_id: u32`            | JSON of [`AppSettings`]                        |
//! | `friends` | `(app, owner, friend)`       | `()`: "owner has friend as a friend" (F1)      |
//! | `users`   | `(app, user_id)`             | JSON of the serde form of [`UserRecord`]       |
//!
//! The serde form of a [`UserRecord`] is what survives a restart: devices (platform, login time,
//! offline time), subscriptions in order, and `away_since`. A user without durable state
//! ([`UserRecord::has_durable_state`]) has no row.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use redb::{Database, Durability, ReadableTable, TableDefinition};
use tokio::sync::oneshot;

use crate::engine::{AppSettings, Store, UserKey, UserRecord};

/// The file the store keeps in the data directory.
pub const FILE_NAME: &str = "imstatus.redb";

/// The layout this code reads and writes.
const SCHEMA: u64 = 1;

/// Memory redb may use to cache the file (its default is 1 GiB). Users are read once, when first
/// needed after a start, and written behind: a small cache is enough, and it keeps the server's
/// memory per user down (docs/benchmarks.md: memory per connection).
const CACHE_BYTES: usize = 4 << 20;

/// How long the committer waits before it tries a failed commit again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const APPS: TableDefinition<u32, &[u8]> = TableDefinition::new("apps");
const FRIENDS: TableDefinition<(u32, &str, &str), ()> = TableDefinition::new("friends");
const USERS: TableDefinition<(u32, &str), &[u8]> = TableDefinition::new("users");

/// A [`Store`] that keeps apps, friends and each user's durable state in a redb file, written
/// in group commits by a thread of its own.
///
/// When a commit fails (disk full, I/O error), the failure is logged with `tracing::error!` and
/// the batch is tried again every second; its writes stay visible to reads, and whoever waits in
/// [`DurableStore::flushed`] waits on. Dropping the store commits what is left and stops the
/// thread.
pub struct DurableStore {
    shared: Arc<Shared>,
    committer: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    db: Database,
    state: Mutex<State>,
    /// Wakes the committer when there is work, or when the store is dropped.
    work: Condvar,
    /// Wakes [`DurableStore::flush`] when a batch is committed.
    committed: Condvar,
    /// Hears every commit: how long it took and how many rows it wrote (the metrics).
    observer: std::sync::OnceLock<CommitObserver>,
}

/// What [`DurableStore::on_commit`] is given.
type CommitObserver = Box<dyn Fn(std::time::Duration, usize) + Send + Sync>;

#[derive(Default)]
struct State {
    /// Writes not yet taken by the committer.
    open: Batch,
    /// The batch being committed, and its number.
    sealed: Option<(u64, Arc<Batch>)>,
    /// The number the open batch will get; batches are committed in this order.
    next: u64,
    /// The highest batch number on disk.
    durable: u64,
    /// Who waits for a batch number to be on disk.
    waiters: Vec<(u64, oneshot::Sender<()>)>,
    stopping: bool,
    /// Transactions committed, and the rows of the last one (for tests and benchmarks).
    commits: u64,
    last_batch: usize,
    /// Why the last commit failed, while the batch is being tried again.
    failing: Option<String>,
}

/// The latest value of every row written since the batch was opened.
#[derive(Default)]
struct Batch {
    apps: BTreeMap<u32, Vec<u8>>,
    /// `None` removes the user's row.
    users: HashMap<UserKey, Option<Vec<u8>>>,
    /// `true` adds the friendship, `false` removes it.
    friends: BTreeMap<(u32, Arc<str>, String), bool>,
    /// A write asked for only to learn that the file takes writes ([`DurableStore::probe`]).
    probe: bool,
}

impl Batch {
    fn len(&self) -> usize {
        self.apps.len() + self.users.len() + self.friends.len() + usize::from(self.probe)
    }

    fn friend(&self, owner: &UserKey, friend: &str) -> Option<bool> {
        self.friends
            .get(&(owner.app, owner.user.clone(), friend.to_string()))
            .copied()
    }

    /// Applies this batch's friend changes of `owner` to `friends`.
    fn apply_friends(&self, owner: &UserKey, friends: &mut std::collections::BTreeSet<String>) {
        let from = (owner.app, owner.user.clone(), String::new());
        for ((app, user, friend), present) in self.friends.range(from..) {
            if *app != owner.app || **user != *owner.user {
                break;
            }
            if *present {
                friends.insert(friend.clone());
            } else {
                friends.remove(friend);
            }
        }
    }
}

impl std::fmt::Debug for DurableStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableStore")
            .field("commits", &self.commits())
            .finish_non_exhaustive()
    }
}

impl DurableStore {
    /// Opens (or creates) the store in `dir`, creating the directory if it is missing, and
    /// counts this start: the boot epoch it answers is 1 for a new store and grows by one with
    /// every open. Reads nothing else: users are read when first needed.
    pub fn open(dir: &Path) -> Result<(DurableStore, u32), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let shown = path.display();
        let damaged = "the file is damaged or is not an imstatus data file";
        // redb may panic on a file it cannot make sense of: that must be an error, not a crash.
        let opened = std::panic::catch_unwind(|| {
            let db = Database::builder()
                .set_cache_size(CACHE_BYTES)
                .create(&path)
                .map_err(|e| match e {
                    redb::DatabaseError::DatabaseAlreadyOpen => {
                        "another imstatus process is using this data directory".to_string()
                    }
                    e => format!("{e}; {damaged}"),
                })?;
            let epoch = next_epoch(&db)?;
            Ok::<_, String>((db, epoch))
        });
        let (db, epoch) = opened
            .map_err(|_| format!("cannot open {shown}: {damaged}"))?
            .map_err(|e| format!("cannot open {shown}: {e}"))?;
        let shared = Arc::new(Shared {
            db,
            state: Mutex::new(State {
                next: 1,
                ..State::default()
            }),
            work: Condvar::new(),
            committed: Condvar::new(),
            observer: std::sync::OnceLock::new(),
        });
        let committer = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("imstatus-commit".into())
                .spawn(move || shared.commit_loop())
                .map_err(|e| format!("cannot start the commit thread: {e}"))?
        };
        Ok((
            DurableStore {
                shared,
                committer: Some(committer),
            },
            epoch,
        ))
    }

    /// Completes once everything written before this call is on disk.
    pub fn flushed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let receiver = {
            let mut state = self.shared.state();
            match state.pending_through() {
                None => None,
                Some(batch) => {
                    let (tx, rx) = oneshot::channel();
                    state.waiters.push((batch, tx));
                    Some(rx)
                }
            }
        };
        async move {
            if let Some(rx) = receiver {
                // An error means the store was dropped, which commits everything first.
                let _ = rx.await;
            }
        }
    }

    /// Writes a row of no meaning and completes once it (and everything written before) is on
    /// disk: whether the store takes writes (readiness).
    pub fn probe(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.shared.state().open.probe = true;
        self.shared.work.notify_one();
        self.flushed()
    }

    /// Why the last commit failed, while it is being tried again.
    pub fn failing(&self) -> Option<String> {
        self.shared.state().failing.clone()
    }

    /// Blocks until everything written before this call is on disk.
    pub fn flush(&self) {
        let mut state = self.shared.state();
        if let Some(batch) = state.pending_through() {
            while state.durable < batch {
                state = self
                    .shared
                    .committed
                    .wait(state)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
    }

    /// Transactions committed since the store was opened (not counting the open itself).
    pub fn commits(&self) -> u64 {
        self.shared.state().commits
    }

    /// Calls `observer` after every commit with how long it took (including retries) and how
    /// many rows it wrote. One observer; a second call is ignored.
    pub fn on_commit(&self, observer: impl Fn(std::time::Duration, usize) + Send + Sync + 'static) {
        let _ = self.shared.observer.set(Box::new(observer));
    }

    /// How many rows the last committed transaction wrote.
    pub fn last_batch_rows(&self) -> usize {
        self.shared.state().last_batch
    }

    fn write(&self, f: impl FnOnce(&mut Batch)) {
        let mut state = self.shared.state();
        f(&mut state.open);
        drop(state);
        self.shared.work.notify_one();
    }

    /// Reads a user's row: the newest batch that wrote it, else the file.
    fn user_bytes(&self, key: &UserKey) -> Option<Vec<u8>> {
        {
            let state = self.shared.state();
            if let Some(row) = state.open.users.get(key) {
                return row.clone();
            }
            if let Some(row) = state.sealed.as_ref().and_then(|(_, b)| b.users.get(key)) {
                return row.clone();
            }
        }
        // Nothing pending for this user, and none can come meanwhile: the engine holds the
        // user's lock, and only it writes the user.
        let read = || -> Result<Option<Vec<u8>>, DbError> {
            let txn = self.shared.db.begin_read()?;
            let users = txn.open_table(USERS)?;
            Ok(users
                .get((key.app, &*key.user))?
                .map(|v| v.value().to_vec()))
        };
        read().unwrap_or_else(|e| {
            tracing::error!(error = %e, user = %key.user, app = key.app, "cannot read a user from the data file");
            None
        })
    }

    /// Whether "owner has friend as a friend" holds, pending writes included.
    fn has_friend(&self, owner: &UserKey, friend: &str) -> bool {
        {
            let state = self.shared.state();
            if let Some(present) = state.open.friend(owner, friend) {
                return present;
            }
            if let Some(present) = state
                .sealed
                .as_ref()
                .and_then(|(_, b)| b.friend(owner, friend))
            {
                return present;
            }
        }
        let read = || -> Result<bool, DbError> {
            let txn = self.shared.db.begin_read()?;
            let friends = txn.open_table(FRIENDS)?;
            Ok(friends.get((owner.app, &*owner.user, friend))?.is_some())
        };
        read().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read a friend from the data file");
            false
        })
    }
}

impl Drop for DurableStore {
    fn drop(&mut self) {
        self.shared.state().stopping = true;
        self.shared.work.notify_one();
        if let Some(committer) = self.committer.take() {
            let _ = committer.join();
        }
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the open batch whenever it holds something, commits it, and wakes its waiters;
    /// ends once the store is dropped and nothing is left.
    fn commit_loop(&self) {
        loop {
            let (number, batch) = {
                let mut state = self.state();
                while state.open.len() == 0 && !state.stopping {
                    state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                if state.open.len() == 0 {
                    return;
                }
                let number = state.next;
                state.next += 1;
                let batch = Arc::new(std::mem::take(&mut state.open));
                state.sealed = Some((number, batch.clone()));
                (number, batch)
            };
            let mut attempts = 0u32;
            let started = std::time::Instant::now();
            while let Err(e) = self.commit(&batch) {
                attempts += 1;
                self.state().failing = Some(e.to_string());
                tracing::error!(
                    error = %e,
                    rows = batch.len(),
                    attempts,
                    "cannot commit to the data file; keeping the changes in memory and trying again"
                );
                std::thread::sleep(RETRY_AFTER);
            }
            if let Some(observer) = self.observer.get() {
                observer(started.elapsed(), batch.len());
            }
            let mut state = self.state();
            state.failing = None;
            state.sealed = None;
            state.durable = number;
            state.commits += 1;
            state.last_batch = batch.len();
            let waiters = std::mem::take(&mut state.waiters);
            let (done, waiting): (Vec<_>, Vec<_>) =
                waiters.into_iter().partition(|(n, _)| *n <= number);
            state.waiters = waiting;
            drop(state);
            self.committed.notify_all();
            for (_, tx) in done {
                let _ = tx.send(());
            }
        }
    }

    /// Writes a batch in one transaction and makes it durable.
    fn commit(&self, batch: &Batch) -> Result<(), DbError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate);
        {
            let mut apps = txn.open_table(APPS)?;
            for (id, json) in &batch.apps {
                apps.insert(*id, json.as_slice())?;
            }
            let mut users = txn.open_table(USERS)?;
            for (key, row) in &batch.users {
                match row {
                    Some(bytes) => {
                        users.insert((key.app, &*key.user), bytes.as_slice())?;
                    }
                    None => {
                        users.remove((key.app, &*key.user))?;
                    }
                }
            }
            let mut friends = txn.open_table(FRIENDS)?;
            for ((app, owner, friend), present) in &batch.friends {
                if *present {
                    friends.insert((*app, &**owner, friend.as_str()), ())?;
                } else {
                    friends.remove((*app, &**owner, friend.as_str()))?;
                }
            }
            if batch.probe {
                let mut meta = txn.open_table(META)?;
                let probes = meta.get("probes")?.map_or(0, |v| v.value());
                meta.insert("probes", probes + 1)?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

impl State {
    /// The batch that holds the latest write, if it is not on disk yet.
    fn pending_through(&self) -> Option<u64> {
        if self.open.len() > 0 {
            Some(self.next)
        } else {
            self.sealed.as_ref().map(|(n, _)| *n)
        }
    }
}

/// Any redb failure, boxed: reads and writes fail rarely, so the error need not be carried inline.
type DbError = Box<dyn std::error::Error + Send + Sync>;

/// Reads, increments and persists the boot counter; checks the layout version.
fn next_epoch(db: &Database) -> Result<u32, String> {
    let txn = db.begin_write().map_err(|e| e.to_string())?;
    let epoch = {
        let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
        let schema = meta
            .get("schema")
            .map_err(|e| e.to_string())?
            .map(|v| v.value());
        match schema {
            Some(s) if s > SCHEMA => {
                return Err(format!(
                    "it has layout version {s}, newer than this imstatus understands ({SCHEMA})"
                ))
            }
            Some(_) => {}
            None => {
                meta.insert("schema", SCHEMA).map_err(|e| e.to_string())?;
            }
        }
        let last = meta
            .get("epoch")
            .map_err(|e| e.to_string())?
            .map_or(0, |v| v.value());
        let epoch = u32::try_from(last + 1)
            .map_err(|_| format!("its boot counter {last} cannot grow any further"))?;
        meta.insert("epoch", u64::from(epoch))
            .map_err(|e| e.to_string())?;
        // Make sure every other table exists, so that reads never meet a missing table.
        txn.open_table(APPS).map_err(|e| e.to_string())?;
        txn.open_table(FRIENDS).map_err(|e| e.to_string())?;
        txn.open_table(USERS).map_err(|e| e.to_string())?;
        epoch
    };
    txn.commit().map_err(|e| e.to_string())?;
    Ok(epoch)
}

impl Store for DurableStore {
    fn apps(&self) -> Vec<AppSettings> {
        let read = || -> Result<Vec<AppSettings>, String> {
            let txn = self.shared.db.begin_read().map_err(|e| e.to_string())?;
            let apps = txn.open_table(APPS).map_err(|e| e.to_string())?;
            let mut out = BTreeMap::new();
            for row in apps.iter().map_err(|e| e.to_string())? {
                let (id, json) = row.map_err(|e| e.to_string())?;
                match serde_json::from_slice::<AppSettings>(json.value()) {
                    Ok(settings) => {
                        out.insert(id.value(), settings);
                    }
                    Err(e) => tracing::error!(
                        app = id.value(),
                        error = %e,
                        "the kept settings of an app are unreadable; skipping them"
                    ),
                }
            }
            let state = self.shared.state();
            let pending = state
                .sealed
                .iter()
                .map(|(_, b)| &b.apps)
                .chain([&state.open.apps]);
            for apps in pending {
                for (id, json) in apps {
                    if let Ok(settings) = serde_json::from_slice(json) {
                        out.insert(*id, settings);
                    }
                }
            }
            Ok(out.into_values().collect())
        };
        read().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the apps from the data file");
            Vec::new()
        })
    }

    fn put_app(&self, settings: &AppSettings) {
        // Settings hold strings, numbers and durations: serialisation cannot fail.
        let json = serde_json::to_vec(settings).expect("app settings always serialise");
        self.write(|batch| {
            batch.apps.insert(settings.sdk_app_id, json);
        });
    }

    fn user(&self, key: &UserKey) -> Option<UserRecord> {
        let bytes = self.user_bytes(key)?;
        match serde_json::from_slice(&bytes) {
            Ok(record) => Some(record),
            Err(e) => {
                tracing::error!(
                    user = %key.user,
                    app = key.app,
                    error = %e,
                    "the kept record of a user is unreadable; the user starts afresh"
                );
                None
            }
        }
    }

    fn put_user(&self, key: &UserKey, record: &UserRecord) {
        // A record holds only strings, numbers, maps and sequences: serialisation cannot fail.
        let row = record
            .has_durable_state()
            .then(|| serde_json::to_vec(record).expect("a user record always serialises"));
        self.write(|batch| {
            batch.users.insert(key.clone(), row);
        });
    }

    fn user_keys_after(&self, after: Option<&UserKey>, limit: usize) -> Vec<UserKey> {
        let read = || -> Result<Vec<UserKey>, DbError> {
            let txn = self.shared.db.begin_read()?;
            let users = txn.open_table(USERS)?;
            let rows = match after {
                Some(after) => users.range((after.app, &*after.user)..)?,
                None => users.range::<(u32, &str)>(..)?,
            };
            let mut out = Vec::with_capacity(limit);
            for row in rows {
                let (key, _) = row?;
                let (app, user) = key.value();
                let key = UserKey::new(app, user);
                if after.is_some_and(|a| key == *a) {
                    continue;
                }
                out.push(key);
                if out.len() == limit {
                    break;
                }
            }
            Ok(out)
        };
        read().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot list users in the data file");
            Vec::new()
        })
    }

    fn friends_of(&self, owner: &UserKey) -> Vec<String> {
        let read = || -> Result<std::collections::BTreeSet<String>, DbError> {
            let txn = self.shared.db.begin_read()?;
            let friends = txn.open_table(FRIENDS)?;
            let mut out = std::collections::BTreeSet::new();
            for row in friends.range((owner.app, &*owner.user, "")..)? {
                let (key, _) = row?;
                let (app, user, friend) = key.value();
                if app != owner.app || user != &*owner.user {
                    break;
                }
                out.insert(friend.to_string());
            }
            Ok(out)
        };
        let mut friends = read().unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read friends from the data file");
            Default::default()
        });
        let state = self.shared.state();
        if let Some((_, sealed)) = &state.sealed {
            sealed.apply_friends(owner, &mut friends);
        }
        state.open.apply_friends(owner, &mut friends);
        friends.into_iter().collect()
    }

    fn add_friend(&self, owner: &UserKey, friend: &str) -> bool {
        if self.has_friend(owner, friend) {
            return false;
        }
        self.write(|batch| {
            batch
                .friends
                .insert((owner.app, owner.user.clone(), friend.to_string()), true);
        });
        true
    }

    fn remove_friend(&self, owner: &UserKey, friend: &str) -> bool {
        if !self.has_friend(owner, friend) {
            return false;
        }
        self.write(|batch| {
            batch
                .friends
                .insert((owner.app, owner.user.clone(), friend.to_string()), false);
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DeviceRecord, Platform};

    fn device(platform: Platform, at: u64, online: bool) -> DeviceRecord {
        DeviceRecord {
            node: 0,
            platform,
            logged_in_at: at,
            online,
            offline_since: if online { None } else { Some(at + 5) },
        }
    }

    /// What the file itself holds for a user, bypassing the batches.
    fn on_disk(store: &DurableStore, key: &UserKey) -> bool {
        let txn = store.shared.db.begin_read().unwrap();
        let users = txn.open_table(USERS).unwrap();
        users.get((key.app, &*key.user)).unwrap().is_some()
    }

    #[test]
    fn reopen_keeps_apps_friends_subscriptions_and_devices() {
        // covers: L6, F1, F2
        let dir = tempfile::tempdir().unwrap();
        let alice = UserKey::new(7, "alice");
        let mut record = UserRecord::default();
        for id in ["zed", "bob", "carol", "amy"] {
            record.subscriptions.insert(id.into());
        }
        record
            .devices
            .insert("d1".into(), device(Platform::Android, 100, true));
        record
            .devices
            .insert("d2".into(), device(Platform::Web, 200, false));
        record.custom_status = "busy".into();
        record.version = 42;
        record.away_since = None;
        let mut app = AppSettings::new(7, "key");
        app.status_enabled = true;
        app.heartbeat_timeout = std::time::Duration::from_millis(1500);
        {
            let (store, epoch) = DurableStore::open(dir.path()).unwrap();
            assert_eq!(epoch, 1);
            store.put_app(&app);
            store.put_app(&AppSettings::new(8, "other"));
            assert!(store.add_friend(&alice, "bob"));
            assert!(!store.add_friend(&alice, "bob"));
            assert!(store.add_friend(&alice, "carol"));
            assert!(store.add_friend(&UserKey::new(7, "bob"), "alice"));
            assert!(store.remove_friend(&alice, "carol"));
            assert!(!store.remove_friend(&alice, "carol"));
            store.put_user(&alice, &record);
            store.put_user(&UserKey::new(7, "ghost"), &UserRecord::default());
            // Reads see the writes before they reach the disk.
            assert_eq!(store.friends_of(&alice), vec!["bob"]);
            assert_eq!(store.user(&alice).unwrap().subscriptions.len(), 4);
        }
        let (store, epoch) = DurableStore::open(dir.path()).unwrap();
        assert_eq!(epoch, 2);
        let apps = store.apps();
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0], app);
        assert_eq!(store.friends_of(&alice), vec!["bob"]);
        assert_eq!(store.friends_of(&UserKey::new(7, "bob")), vec!["alice"]);
        assert!(store.friends_of(&UserKey::new(7, "carol")).is_empty());
        let kept = store.user(&alice).unwrap();
        let order: Vec<&str> = kept.subscriptions.iter().map(|s| &**s).collect();
        assert_eq!(order, ["zed", "bob", "carol", "amy"]);
        assert_eq!(kept.devices.len(), 2);
        let d1 = kept.devices.get("d1").unwrap();
        assert_eq!(
            (d1.platform, d1.logged_in_at, d1.online, d1.offline_since),
            (Platform::Android, 100, false, None)
        );
        assert_eq!(kept.devices.get("d2"), record.devices.get("d2"));
        assert_eq!((kept.custom_status.as_str(), kept.version), ("", 0));
        // A record without durable state has no row.
        assert!(store.user(&UserKey::new(7, "ghost")).is_none());
        assert!(!on_disk(&store, &UserKey::new(7, "ghost")));
    }

    #[test]
    fn flushed_completes_once_the_write_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = DurableStore::open(dir.path()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // Nothing written: nothing to wait for.
        runtime.block_on(store.flushed());
        for i in 0..200u64 {
            let key = UserKey::new(1, format!("user{i}"));
            let mut record = UserRecord::default();
            record
                .devices
                .insert("d".into(), device(Platform::Linux, i, true));
            store.put_user(&key, &record);
            let flushed = store.flushed();
            if i % 50 == 0 {
                runtime.block_on(flushed);
                assert!(on_disk(&store, &key), "user{i} is on disk once flushed");
            }
        }
        store.flush();
        for i in 0..200u64 {
            assert!(on_disk(&store, &UserKey::new(1, format!("user{i}"))));
        }
        // Group commit: never more transactions than writes (each fsync carries whatever
        // arrived while the previous one ran).
        assert!(store.commits() <= 200, "{} commits", store.commits());
        assert!(store.commits() >= 4, "every awaited flush commits");
    }

    #[test]
    fn epoch_grows_with_every_open() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        for expected in 1..=4 {
            let (_store, epoch) = DurableStore::open(&nested).unwrap();
            assert_eq!(epoch, expected);
        }
    }

    #[test]
    fn unreadable_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"this is not a database, just some text").unwrap();
        let err = DurableStore::open(dir.path()).unwrap_err();
        assert!(err.contains(&path.display().to_string()), "{err}");

        let mut garbage = vec![0u8; 64 * 1024];
        for (i, b) in garbage.iter_mut().enumerate() {
            *b = (i * 7919 % 251) as u8;
        }
        std::fs::write(&path, &garbage).unwrap();
        let err = DurableStore::open(dir.path()).unwrap_err();
        assert!(err.contains("cannot open"), "{err}");

        // A real store, cut short or scribbled over.
        std::fs::remove_file(&path).unwrap();
        {
            let (store, _) = DurableStore::open(dir.path()).unwrap();
            for i in 0..200 {
                store.add_friend(&UserKey::new(1, format!("owner{i}")), "friend");
            }
        }
        let whole = std::fs::read(&path).unwrap();
        for damaged in [
            whole[..whole.len() / 2].to_vec(),
            whole[..100].to_vec(),
            whole
                .iter()
                .enumerate()
                .map(|(i, b)| if i % 97 == 0 { !b } else { *b })
                .collect(),
        ] {
            std::fs::write(&path, &damaged).unwrap();
            // An error or a repaired store are both fine; a panic is not.
            if let Err(err) = DurableStore::open(dir.path()) {
                assert!(err.contains(&path.display().to_string()), "{err}");
            }
        }

        // A data directory that is a file.
        let file = dir.path().join("plain");
        std::fs::write(&file, b"x").unwrap();
        let err = DurableStore::open(&file).unwrap_err();
        assert!(err.contains("data directory"), "{err}");
    }

    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, _) = DurableStore::open(dir.path()).unwrap();
        let err = DurableStore::open(dir.path()).unwrap_err();
        assert!(err.contains("another imstatus process"), "{err}");
    }

    #[test]
    fn an_unreadable_row_is_logged_and_the_user_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, _) = DurableStore::open(dir.path()).unwrap();
            let txn = store.shared.db.begin_write().unwrap();
            txn.open_table(USERS)
                .unwrap()
                .insert((3, "mallory"), b"{not json".as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let (store, _) = DurableStore::open(dir.path()).unwrap();
        assert!(store.user(&UserKey::new(3, "mallory")).is_none());
    }

    /// Measures group commits and a restart with many stored users:
    /// `cargo test -p imstatus-server --release --lib durable -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_group_commit_and_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = DurableStore::open(dir.path()).unwrap();
        let n = 20_000u64;
        let started = std::time::Instant::now();
        for i in 0..n {
            let mut record = UserRecord::default();
            record
                .devices
                .insert("d".into(), device(Platform::Android, i, false));
            store.put_user(&UserKey::new(1, format!("user{i}")), &record);
        }
        store.flush();
        let elapsed = started.elapsed();
        println!(
            "{n} user writes durable in {elapsed:?} ({:.0}/s) in {} commits",
            n as f64 / elapsed.as_secs_f64(),
            store.commits()
        );
        for i in 0..100_000u64 {
            let mut record = UserRecord::default();
            record
                .devices
                .insert("d".into(), device(Platform::Android, i, i % 10 == 0));
            store.put_user(&UserKey::new(2, format!("stored{i}")), &record);
        }
        drop(store);
        let started = std::time::Instant::now();
        let (store, epoch) = DurableStore::open(dir.path()).unwrap();
        let engine = crate::engine::Engine::new(store, epoch, 1_000_000);
        println!(
            "restart with 100,000 stored users (10,000 logged in): {:?} to a ready engine",
            started.elapsed()
        );
        drop(engine);
    }
}
