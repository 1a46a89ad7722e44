//! Bounded mutation fuzzing on stable Rust (cargo-fuzz needs a nightly toolchain, which
//! this project's machines cannot fetch). Inputs are the corpus in `fuzz/corpus/<target>`
//! with 1-5 stacked mutations (bit flips, interesting bytes, inserts, deletes, repeats,
//! splices, XML tokens), from a seeded RNG. A target fails by panicking: a crash in the
//! code under test, or a broken invariant it asserts. Not coverage-guided: the corpus and
//! the token dictionary aim it at the XML, entity and padding paths instead.

// A fuzz harness exists to catch panics and report them; it may index and unwrap its own
// well-formed data.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::panic,
    clippy::expect_used
)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod targets;

pub use targets::TARGETS;

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub target: &'static str,
    pub executions: u64,
    pub crashes: Vec<Vec<u8>>,
    pub corpus: usize,
}

const TOKENS: &[&[u8]] = &[
    b"<![CDATA[",
    b"]]>",
    b"&amp;",
    b"&lt;",
    b"&#x41;",
    b"&#0;",
    b"&#xD800;",
    b"&nbsp;",
    b"<!DOCTYPE xml [<!ENTITY a \"b\">]>",
    b"<!--",
    b"-->",
    b"<?xml version=\"1.0\"?>",
    b"<xml>",
    b"</xml>",
    b"<a>",
    b"</a>",
    b"<a/>",
    b"<sign>",
    b"</sign>",
    b"<total_fee>",
    b"</total_fee>",
    b"SUCCESS",
    b"HMAC-SHA256",
    b"MD5",
    b"\xef\xbf\xbe",
    b"\xff",
    b"\x00",
    b"=",
    b"&",
    b"/",
];

fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..rng.random_range(1..=5) {
        let len = input.len();
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                input[at] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let at = rng.random_range(0..len);
                input[at] = *[0u8, 0xFF, b'<', b'>', b'&', b']', b';', b'#', b' ']
                    .get(rng.random_range(0..9))
                    .unwrap();
            }
            2 => {
                let at = rng.random_range(0..=len);
                let bytes: Vec<u8> = (0..rng.random_range(1..8)).map(|_| rng.random()).collect();
                input.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let from = rng.random_range(0..len);
                let to = (from + rng.random_range(1..32)).min(len);
                input.drain(from..to);
            }
            4 if len > 0 => {
                let from = rng.random_range(0..len);
                let to = (from + rng.random_range(1..64)).min(len);
                let piece = input[from..to].to_vec();
                for _ in 0..rng.random_range(1..4) {
                    input.splice(to..to, piece.iter().copied());
                }
            }
            5 if !corpus.is_empty() => {
                let other = &corpus[rng.random_range(0..corpus.len())];
                if !other.is_empty() {
                    let from = rng.random_range(0..other.len());
                    let to = rng.random_range(from..=other.len());
                    let at = rng.random_range(0..=len);
                    input.splice(at..at, other[from..to].iter().copied());
                }
            }
            _ => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                let at = rng.random_range(0..=len);
                input.splice(at..at, token.iter().copied());
            }
        }
    }
}

fn load_corpus(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
}

/// Fuzzes one target for `budget`, starting from `corpus_root/<target>`.
pub fn run(target: &'static str, corpus_root: &Path, budget: Duration, seed: u64) -> Report {
    let Some((_, check)) = TARGETS.iter().find(|(name, _)| *name == target) else {
        panic!("unknown target {target}");
    };
    run_with(target, *check, corpus_root, budget, seed)
}

/// Fuzzes `check` with the corpus of `target` (tests use it to prove crashes are caught).
pub fn run_with(
    target: &'static str,
    check: fn(&[u8]),
    corpus_root: &Path,
    budget: Duration,
    seed: u64,
) -> Report {
    let corpus = load_corpus(&corpus_root.join(target));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut report = Report {
        target,
        corpus: corpus.len(),
        ..Report::default()
    };
    // Panics are the findings: keep the default hook from printing each one.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    // The corpus itself first, unmutated.
    for input in &corpus {
        if catch_unwind(AssertUnwindSafe(|| check(input))).is_err() {
            report.crashes.push(input.clone());
        }
        report.executions += 1;
    }
    while started.elapsed() < budget {
        for _ in 0..256 {
            let mut input = if corpus.is_empty() {
                Vec::new()
            } else {
                corpus[rng.random_range(0..corpus.len())].clone()
            };
            mutate(&mut rng, &mut input, &corpus);
            if catch_unwind(AssertUnwindSafe(|| check(&input))).is_err()
                && report.crashes.len() < 20
            {
                report.crashes.push(input);
            }
            report.executions += 1;
        }
    }
    std::panic::set_hook(previous);
    report
}
