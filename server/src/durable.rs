//! The durable store: a [`MemoryStore`] that writes what must outlive a restart (L6, F1, F2)
//! through to a [redb](https://docs.rs/redb) file, `<data_dir>/imstatus.redb`.
//!
//! Reads are served from memory; the file is read once, when the store is opened. Every mutating
//! call writes through in a write transaction of its own, committed with
//! [`Durability::Immediate`]: once the call returns, the change is on disk.
//!
//! Layout (schema 1):
//!
//! | table     | key                          | value                                         |
//! |-----------|------------------------------|-----------------------------------------------|
//! | `meta`    | `"schema"`, `"epoch"`        | `u64`: the layout version; the boot counter    |
//! | `apps`    | `sdk_app_id: u32`            | JSON of [`AppSettings`]                        |
//! | `friends` | `(app, owner, friend)`       | `()`: "owner has friend as a friend" (F1)      |
//! | `users`   | `(app, user_id)`             | JSON of the serde form of [`UserRecord`]       |
//!
//! The serde form of a [`UserRecord`] is what survives a restart: devices (platform, login time,
//! offline time), subscriptions in order, and `away_since`. The online flags, the custom status
//! and the version are not in it, so a `put_user` that changes only those costs no disk write. A
//! user without durable state ([`UserRecord::has_durable_state`]) has no row.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadableTable, TableDefinition};

use crate::engine::{AppSettings, MemoryStore, Store, UserKey, UserRecord, UserStatus};

/// The file the store keeps in the data directory.
pub const FILE_NAME: &str = "imstatus.redb";

/// The layout this code reads and writes.
const SCHEMA: u64 = 1;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const APPS: TableDefinition<u32, &[u8]> = TableDefinition::new("apps");
const FRIENDS: TableDefinition<(u32, &str, &str), ()> = TableDefinition::new("friends");
const USERS: TableDefinition<(u32, &str), &[u8]> = TableDefinition::new("users");

/// A [`Store`] that keeps apps, friends and each user's durable state in a redb file.
///
/// The [`Store`] methods cannot fail. When a write to the file fails (disk full, I/O error), the
/// failure is logged with `tracing::error!` and the change is kept in memory only: the server goes
/// on serving, and the change is lost at the next restart unless a later write of the same row
/// succeeds.
pub struct DurableStore {
    db: Database,
    mem: MemoryStore,
    /// Write transactions committed since the store was opened.
    writes: u64,
}

impl std::fmt::Debug for DurableStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableStore")
            .field("mem", &self.mem)
            .field("writes", &self.writes)
            .finish_non_exhaustive()
    }
}

impl DurableStore {
    /// Opens (or creates) the store in `dir`, creating the directory if it is missing, loads
    /// everything it kept, and counts this start: the boot epoch it answers is 1 for a new store
    /// and grows by one with every open.
    pub fn open(dir: &Path) -> Result<(DurableStore, u32), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let shown = path.display();
        let damaged = "the file is damaged or is not an imstatus data file";
        // redb may panic on a file it cannot make sense of: that must be an error, not a crash.
        let opened = std::panic::catch_unwind(|| {
            let db = Database::create(&path).map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    "another imstatus process is using this data directory".to_string()
                }
                e => format!("{e}; {damaged}"),
            })?;
            let epoch = next_epoch(&db)?;
            let mem = load(&db)?;
            Ok::<_, String>((db, epoch, mem))
        });
        let (db, epoch, mem) = opened
            .map_err(|_| format!("cannot open {shown}: {damaged}"))?
            .map_err(|e| format!("cannot open {shown}: {e}"))?;
        Ok((DurableStore { db, mem, writes: 0 }, epoch))
    }

    /// Write transactions committed since the store was opened (not counting the open itself).
    pub fn disk_writes(&self) -> u64 {
        self.writes
    }

    /// Runs `f` in a write transaction and commits it durably; logs a failure.
    fn write(
        &mut self,
        what: std::fmt::Arguments<'_>,
        f: impl FnOnce(&redb::WriteTransaction) -> Result<(), WriteError>,
    ) {
        let result = (|| {
            let mut txn = self.db.begin_write()?;
            txn.set_durability(Durability::Immediate);
            f(&txn)?;
            txn.commit()?;
            Ok::<(), WriteError>(())
        })();
        match result {
            Ok(()) => self.writes += 1,
            Err(e) => tracing::error!(
                error = %e,
                "cannot write {what} to the data file; the change is kept in memory only and \
                 will be lost at the next restart"
            ),
        }
    }
}

/// Any redb failure, boxed: writes fail rarely, so the error need not be carried inline.
type WriteError = Box<dyn std::error::Error + Send + Sync>;

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

/// Reads everything the file holds into memory.
fn load(db: &Database) -> Result<MemoryStore, String> {
    let mut mem = MemoryStore::new();
    let txn = db.begin_read().map_err(|e| e.to_string())?;

    let apps = txn.open_table(APPS).map_err(|e| e.to_string())?;
    for row in apps.iter().map_err(|e| e.to_string())? {
        let (id, json) = row.map_err(|e| e.to_string())?;
        let settings: AppSettings = serde_json::from_slice(json.value())
            .map_err(|e| format!("the settings of app {} are unreadable: {e}", id.value()))?;
        mem.put_app(settings);
    }

    let friends = txn.open_table(FRIENDS).map_err(|e| e.to_string())?;
    for row in friends.iter().map_err(|e| e.to_string())? {
        let (key, _) = row.map_err(|e| e.to_string())?;
        let (app, owner, friend) = key.value();
        mem.add_friend(&UserKey::new(app, owner), friend);
    }

    let users = txn.open_table(USERS).map_err(|e| e.to_string())?;
    for row in users.iter().map_err(|e| e.to_string())? {
        let (key, json) = row.map_err(|e| e.to_string())?;
        let (app, user) = key.value();
        let record: UserRecord = serde_json::from_slice(json.value())
            .map_err(|e| format!("the record of user {user:?} of app {app} is unreadable: {e}"))?;
        mem.put_user(&UserKey::new(app, user), record);
    }
    Ok(mem)
}

/// Whether two records have the same durable form (`durable_form(a) == durable_form(b)`),
/// without serialising either: the devices without their online flags, the subscriptions in
/// order, and `away_since`.
fn same_durable_state(a: &UserRecord, b: &UserRecord) -> bool {
    match (a.has_durable_state(), b.has_durable_state()) {
        (false, false) => true,
        (true, true) => {
            a.away_since == b.away_since
                && a.subscriptions.iter().eq(b.subscriptions.iter())
                && a.devices.len() == b.devices.len()
                && a.devices
                    .iter()
                    .zip(&b.devices)
                    .all(|((ka, da), (kb, db))| {
                        ka == kb
                            && da.platform == db.platform
                            && da.logged_in_at == db.logged_in_at
                            && da.offline_since == db.offline_since
                    })
        }
        _ => false,
    }
}

/// The bytes a record is kept as; `None` when it has nothing that must survive a restart.
fn durable_form(record: &UserRecord) -> Option<Vec<u8>> {
    if !record.has_durable_state() {
        return None;
    }
    // A record holds only strings, numbers, maps and sequences: serialisation cannot fail.
    Some(serde_json::to_vec(record).expect("a user record always serialises"))
}

impl Store for DurableStore {
    fn app(&self, sdk_app_id: u32) -> Option<Arc<AppSettings>> {
        self.mem.app(sdk_app_id)
    }

    fn apps(&self) -> Vec<Arc<AppSettings>> {
        self.mem.apps()
    }

    fn put_app(&mut self, settings: AppSettings) {
        if self.mem.app(settings.sdk_app_id).as_deref() != Some(&settings) {
            // Settings hold strings, numbers and durations: serialisation cannot fail.
            let json = serde_json::to_vec(&settings).expect("app settings always serialise");
            let id = settings.sdk_app_id;
            self.write(format_args!("the settings of app {id}"), |txn| {
                txn.open_table(APPS)?.insert(id, json.as_slice())?;
                Ok(())
            });
        }
        self.mem.put_app(settings);
    }

    fn user(&self, key: &UserKey) -> Option<UserRecord> {
        self.mem.user(key)
    }

    fn status(&self, key: &UserKey) -> Option<UserStatus> {
        self.mem.status(key)
    }

    fn put_user(&mut self, key: &UserKey, record: UserRecord) {
        // Benchmark profile (docs/benchmarks.md): serialising the old and the new record (and
        // cloning the old one) on every status change cost more than the change itself; compare
        // the durable fields in place and serialise only what is written.
        let changed = match self.mem.user_ref(key) {
            Some(old) => !same_durable_state(old, &record),
            None => record.has_durable_state(),
        };
        debug_assert_eq!(
            changed,
            durable_form(&record) != self.mem.user_ref(key).and_then(durable_form),
            "same_durable_state must agree with the serialised form"
        );
        if changed {
            let new = durable_form(&record);
            let (app, user) = (key.app, key.user.as_str());
            self.write(
                format_args!("the record of user {user:?} of app {app}"),
                |txn| {
                    let mut users = txn.open_table(USERS)?;
                    match &new {
                        Some(bytes) => {
                            users.insert((app, user), bytes.as_slice())?;
                        }
                        None => {
                            users.remove((app, user))?;
                        }
                    }
                    Ok(())
                },
            );
        }
        self.mem.put_user(key, record);
    }

    fn user_keys(&self) -> Vec<UserKey> {
        self.mem.user_keys()
    }

    fn subscribers_of(&self, key: &UserKey) -> Vec<String> {
        self.mem.subscribers_of(key)
    }

    fn add_friend(&mut self, owner: &UserKey, friend: &str) -> bool {
        let added = self.mem.add_friend(owner, friend);
        if added {
            let (app, user) = (owner.app, owner.user.as_str());
            self.write(
                format_args!("the friend {friend:?} of user {user:?} of app {app}"),
                |txn| {
                    txn.open_table(FRIENDS)?.insert((app, user, friend), ())?;
                    Ok(())
                },
            );
        }
        added
    }

    fn remove_friend(&mut self, owner: &UserKey, friend: &str) -> bool {
        let removed = self.mem.remove_friend(owner, friend);
        if removed {
            let (app, user) = (owner.app, owner.user.as_str());
            self.write(
                format_args!("the removal of friend {friend:?} of user {user:?} of app {app}"),
                |txn| {
                    txn.open_table(FRIENDS)?.remove((app, user, friend))?;
                    Ok(())
                },
            );
        }
        removed
    }

    fn friends_of(&self, owner: &UserKey) -> Vec<String> {
        self.mem.friends_of(owner)
    }

    fn friend_owners_of(&self, friend: &UserKey) -> Vec<String> {
        self.mem.friend_owners_of(friend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{DeviceRecord, Platform};

    fn device(platform: Platform, at: u64, online: bool) -> DeviceRecord {
        DeviceRecord {
            platform,
            logged_in_at: at,
            online,
            offline_since: if online { None } else { Some(at + 5) },
        }
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
            let (mut store, epoch) = DurableStore::open(dir.path()).unwrap();
            assert_eq!(epoch, 1);
            store.put_app(app.clone());
            store.put_app(AppSettings::new(8, "other"));
            assert!(store.add_friend(&alice, "bob"));
            assert!(store.add_friend(&alice, "carol"));
            assert!(store.add_friend(&UserKey::new(7, "bob"), "alice"));
            assert!(store.remove_friend(&alice, "carol"));
            store.put_user(&alice, record.clone());
            store.put_user(&UserKey::new(7, "ghost"), UserRecord::default());
        }
        let (store, epoch) = DurableStore::open(dir.path()).unwrap();
        assert_eq!(epoch, 2);
        assert_eq!(store.app(7).as_deref(), Some(&app));
        assert_eq!(store.apps().len(), 2);
        assert_eq!(store.friends_of(&alice), vec!["bob"]);
        assert_eq!(store.friend_owners_of(&alice), vec!["bob"]);
        assert_eq!(
            store.friend_owners_of(&UserKey::new(7, "bob")),
            vec!["alice"]
        );
        assert!(store.friend_owners_of(&UserKey::new(7, "carol")).is_empty());
        let kept = store.user(&alice).unwrap();
        let order: Vec<&str> = kept.subscriptions.iter().map(String::as_str).collect();
        assert_eq!(order, ["zed", "bob", "carol", "amy"]);
        assert_eq!(kept.devices.len(), 2);
        let d1 = &kept.devices["d1"];
        assert_eq!(
            (d1.platform, d1.logged_in_at, d1.online, d1.offline_since),
            (Platform::Android, 100, false, None)
        );
        assert_eq!(kept.devices["d2"], record.devices["d2"]);
        assert_eq!((kept.custom_status.as_str(), kept.version), ("", 0));
        assert_eq!(store.subscribers_of(&UserKey::new(7, "amy")), vec!["alice"]);
        // A record without durable state has no row.
        assert_eq!(store.user_keys(), vec![alice]);
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
    fn only_durable_changes_cost_a_write() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = DurableStore::open(dir.path()).unwrap();
        let key = UserKey::new(1, "u");
        let mut record = UserRecord::default();
        record
            .devices
            .insert("d".into(), device(Platform::IPhone, 1, true));
        store.put_user(&key, record.clone());
        assert_eq!(store.disk_writes(), 1);
        // Online flag, custom status and version are not kept: no write.
        for i in 0..10 {
            record.custom_status = format!("s{i}");
            record.version += 1;
            record.devices.get_mut("d").unwrap().online = i % 2 == 0;
            store.put_user(&key, record.clone());
        }
        assert_eq!(store.disk_writes(), 1);
        // Subscription order is kept, so a reorder is a write.
        record.subscriptions.insert("a".into());
        record.subscriptions.insert("b".into());
        store.put_user(&key, record.clone());
        assert_eq!(store.disk_writes(), 2);
        record.subscriptions.swap_indices(0, 1);
        store.put_user(&key, record.clone());
        assert_eq!(store.disk_writes(), 3);
        // Losing all durable state deletes the row; an unchanged app is not rewritten.
        store.put_user(&key, UserRecord::default());
        assert_eq!(store.disk_writes(), 4);
        store.put_user(&key, UserRecord::default());
        store.put_app(AppSettings::new(1, "k"));
        store.put_app(AppSettings::new(1, "k"));
        assert_eq!(store.disk_writes(), 5);
        // Adding a friend twice or removing one that is not there writes nothing.
        assert!(!store.remove_friend(&key, "x"));
        assert!(store.add_friend(&key, "x"));
        assert!(!store.add_friend(&key, "x"));
        assert_eq!(store.disk_writes(), 6);
        drop(store);
        let (store, _) = DurableStore::open(dir.path()).unwrap();
        assert!(store.user(&key).is_none());
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
            let (mut store, _) = DurableStore::open(dir.path()).unwrap();
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
    fn unreadable_rows_are_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, _) = DurableStore::open(dir.path()).unwrap();
            let txn = store.db.begin_write().unwrap();
            txn.open_table(USERS)
                .unwrap()
                .insert((3, "mallory"), b"{not json".as_slice())
                .unwrap();
            txn.commit().unwrap();
        }
        let err = DurableStore::open(dir.path()).unwrap_err();
        assert!(err.contains("\"mallory\" of app 3"), "{err}");
    }

    /// Measures durable `put_user` writes: `cargo test --lib durable -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn measure_put_user_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = DurableStore::open(dir.path()).unwrap();
        let n = 500u64;
        let started = std::time::Instant::now();
        for i in 0..n {
            let mut record = UserRecord::default();
            record
                .devices
                .insert("d".into(), device(Platform::Android, i, false));
            store.put_user(&UserKey::new(1, format!("user{}", i % 50)), record);
        }
        let elapsed = started.elapsed();
        assert_eq!(store.disk_writes(), n);
        println!(
            "{n} durable put_user writes in {elapsed:?}: {:.0} writes/s",
            n as f64 / elapsed.as_secs_f64()
        );
        let started = std::time::Instant::now();
        let mut record = store.user(&UserKey::new(1, "user0")).unwrap();
        for i in 0..100_000u64 {
            record.version = i;
            store.put_user(&UserKey::new(1, "user0"), record.clone());
        }
        println!(
            "100000 non-durable put_user calls in {:?}",
            started.elapsed()
        );

        // A restart after a crash with many users online: recovery writes each of them once.
        let users = 5_000u64;
        for i in 0..users {
            let mut record = UserRecord::default();
            record
                .devices
                .insert("d".into(), device(Platform::Android, i, true));
            store.put_user(&UserKey::new(2, format!("online{i}")), record);
        }
        drop(store);
        let started = std::time::Instant::now();
        let (store, epoch) = DurableStore::open(dir.path()).unwrap();
        let opened = started.elapsed();
        let engine = crate::engine::Engine::new(store, epoch, 1_000_000);
        println!(
            "reopen with {users} users online at the crash: open {opened:?}, recovery {:?} \
             ({} writes)",
            started.elapsed() - opened,
            engine.store().disk_writes()
        );
    }
}
