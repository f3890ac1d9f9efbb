//! `-v`: what rootkey is doing, on stderr (commands sent to keys, AWS calls). One process-wide level,
//! set once by the CLI; the layers that touch the outside world report through [`note`].

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);

/// Sets the level (`-v` count); 0 is silent.
pub fn set_level(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

/// The current level.
pub fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Prints `what` on stderr (escaped) when the level is at least `min`. `what` is built only
/// then, so nothing is formatted when `-v` is off.
pub fn note(min: u8, what: impl FnOnce() -> String) {
    if level() >= min {
        eprintln!("rootkey: {}", crate::text::escape_lines(&what()));
    }
}
