//! Every decoder facing the network or an operator (`imstatus_server::fuzzing`) over its fuzz
//! seeds (`fuzz/corpus/`), the crashes the fuzzer ever found (`fuzz/regressions/`), and
//! thousands of mutations of the seeds: on the stable toolchain, in every CI run. The long runs
//! under coverage are `fuzz/run.sh` (nightly, cargo-fuzz).
//!
//! covers: B1, B2

use std::path::Path;

use imstatus_server::fuzzing::TARGETS;

/// Mutations of each seed, per target.
const MUTATIONS: usize = 1500;

/// A seeded generator (splitmix64): the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that decoders treat specially: JSON and TOML punctuation, escapes, UTF-8 lead bytes.
const INTERESTING: &[u8] = b"{}[]\":,\\=\n\x00\xff\xc3\xe2\x80\"0-9eE+.tfn ";

/// One mutation of `seed`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let len = data.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let at = rng.below(len + 1);
                data.insert(at, INTERESTING[rng.below(INTERESTING.len())]);
            }
            2 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(8)).min(len);
                data.drain(from..to);
            }
            3 if len > 0 => {
                let from = rng.below(len);
                let to = (from + 1 + rng.below(16)).min(len);
                let chunk = data[from..to].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, chunk);
            }
            4 => data.truncate(rng.below(len + 1)),
            5 if !other.is_empty() => {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ => {
                let at = rng.below(len + 1);
                data.insert(at, rng.next() as u8);
            }
        }
    }
    data
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != ".keep"))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn decoders_never_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut runs = 0;
    for (name, target) in TARGETS {
        let seeds = files(&fuzz.join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} holds no seed");
        for regression in files(&fuzz.join("regressions").join(name)) {
            target(&regression);
            runs += 1;
        }
        let mut rng = Rng(name.len() as u64 * 7919);
        for (i, seed) in seeds.iter().enumerate() {
            target(seed);
            let other = &seeds[(i + 1) % seeds.len()];
            for _ in 0..MUTATIONS {
                target(&mutate(&mut rng, seed, other));
                runs += 1;
            }
        }
    }
    println!("{runs} inputs, no panic");
}
