//! Giving freed heap back to the system. glibc's allocator keeps memory its threads freed in their
//! arenas for reuse: after 2,000 idle connections and 800 stalled uploads went, a gateway that had
//! peaked at 80 MB stayed at 67–77 MB although it used ~30 MB (`bench/hostile_clients.py`). So
//! every few seconds, when the arenas hold more than [`SLACK`] free, they are trimmed
//! (`malloc_trim`), which returns their free pages. The check reads the allocator's own totals
//! (`mallinfo2`), so a busy gateway whose memory is in use is left alone. Other allocators (and
//! other C libraries) return memory on their own terms; there this is a no-op.

use std::time::Duration;

use tokio::sync::watch;

/// Free bytes the arenas may keep before they are trimmed.
pub const SLACK: usize = 32 << 20;

/// How often the arenas are looked at.
const EVERY: Duration = Duration::from_secs(5);

/// Trim the arenas whenever they keep more than [`SLACK`] free, until `stopping` turns true.
pub async fn return_freed(mut stopping: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopping.changed() => return,
        }
        if *stopping.borrow() {
            return;
        }
        if free_in_arenas().is_some_and(|free| free > SLACK) {
            // Walks every arena under its lock: on the blocking pool, off the request threads.
            let _ = tokio::task::spawn_blocking(trim).await;
        }
    }
}

/// Bytes free inside the allocator's arenas (not yet returned), where the allocator tells.
#[cfg_attr(
    all(target_os = "linux", target_env = "gnu"),
    expect(unsafe_code, reason = "FFI: glibc's mallinfo2")
)]
pub fn free_in_arenas() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 takes no arguments and only reads the allocator's statistics.
        let info = unsafe { libc::mallinfo2() };
        Some(info.fordblks)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Return the arenas' free pages to the system; true if any were.
#[cfg_attr(
    all(target_os = "linux", target_env = "gnu"),
    expect(unsafe_code, reason = "FFI: glibc's malloc_trim")
)]
pub fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases memory the allocator holds free; no pointer is passed.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_is_counted_and_trimming_gives_it_back() {
        // Many mid-sized blocks (below the mmap threshold, so they live in the arena), then free
        // every other one so the arena cannot shrink from its top by itself.
        let blocks: Vec<Vec<u8>> = (0..4096).map(|i| vec![i as u8; 32 << 10]).collect();
        let before = free_in_arenas().expect("glibc");
        let kept: Vec<Vec<u8>> = blocks
            .into_iter()
            .enumerate()
            .filter_map(|(i, b)| (i % 2 == 0).then_some(b))
            .collect();
        let freed = free_in_arenas().expect("glibc");
        assert!(freed >= before + (48 << 20), "{before} -> {freed}");
        assert!(trim(), "the freed blocks' pages are returned");
        assert_eq!(kept.len(), 2048);
    }
}
