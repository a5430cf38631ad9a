//! Latencies in log-linear buckets (the HDR histogram's layout, in 60 lines): exact below 128 µs,
//! then 64 buckets per power of two, so a percentile is at most 1/64 (1.6 %) above the true value
//! whatever the range, in constant memory however long the run. The `hdrhistogram` crate would do
//! the same as a second dependency for this one job; a sorted `Vec` of every sample would grow with
//! the run (a soak test records millions).

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two, as bits.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets for every `u64`: exact ones below `2 * SUB`, then `SUB` per power of two.
const BUCKETS: usize = ((64 - SUB_BITS) as usize) * SUB as usize + 2 * SUB as usize;

/// Counts of microsecond values.
#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < 2 * SUB {
        return v as usize;
    }
    let shift = (63 - v.leading_zeros()) - SUB_BITS;
    (shift as u64 * SUB + (v >> shift)) as usize
}

/// The largest value of bucket `i`.
fn upper(i: usize) -> u64 {
    let i = i as u64;
    if i < 2 * SUB {
        return i;
    }
    let shift = i / SUB - 1;
    let m = i - shift * SUB;
    ((m + 1) << shift) - 1
}

impl Histogram {
    /// Count one value (µs).
    pub fn record(&mut self, micros: u64) {
        self.counts[index(micros)] += 1;
        self.count += 1;
        self.sum += u128::from(micros);
        self.max = self.max.max(micros);
    }

    /// Add another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.max = self.max.max(other.max);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value at quantile `q` (0..=1): the top of the bucket holding it, never above the maximum.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return upper(i).min(self.max);
            }
        }
        self.max
    }

    /// The summary a report shows.
    pub fn summary(&self) -> Latency {
        // Milliseconds to the microsecond: more digits would be noise in the JSON.
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: self.count,
            mean_ms: if self.count == 0 {
                0.0
            } else {
                ms((self.sum / u128::from(self.count)) as u64)
            },
            p50_ms: ms(self.quantile(0.50)),
            p95_ms: ms(self.quantile(0.95)),
            p99_ms: ms(self.quantile(0.99)),
            max_ms: ms(self.max),
        }
    }
}

/// Percentiles of a latency, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Values counted.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_within_a_sixty_fourth() {
        let mut last = None;
        for v in (0..100_000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let i = index(v);
            assert!(upper(i) >= v, "{v} above its bucket's top {}", upper(i));
            assert!(upper(i) - v <= v / SUB, "{v}: bucket too wide");
            if let Some((lv, li)) = last
                && v == lv + 1
            {
                assert!(i == li || i == li + 1, "{v}: index jumped");
            }
            last = Some((v, i));
        }
        assert!(index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_are_ordered_and_close() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 10);
        }
        let s = h.summary();
        assert_eq!(s.count, 10_000);
        assert!(s.p50_ms <= s.p95_ms && s.p95_ms <= s.p99_ms && s.p99_ms <= s.max_ms);
        assert!((s.p50_ms - 50.0).abs() / 50.0 < 0.02, "{s:?}");
        assert!((s.p99_ms - 99.0).abs() / 99.0 < 0.02, "{s:?}");
        assert_eq!(s.max_ms, 100.0);
        let mut other = Histogram::default();
        other.record(1_000_000);
        h.merge(&other);
        assert_eq!(h.summary().max_ms, 1000.0);
        assert_eq!(Histogram::default().summary().p99_ms, 0.0);
    }
}
