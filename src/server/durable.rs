//! Durable store: placeholder until the real one lands.
use std::path::Path;
use crate::engine::MemoryStore;
pub type DurableStore = MemoryStore;
pub trait OpenExt { fn open(dir: &Path) -> Result<(MemoryStore, u32), String>; }
impl OpenExt for MemoryStore { fn open(_dir: &Path) -> Result<(MemoryStore, u32), String> { Err("not yet".into()) } }
