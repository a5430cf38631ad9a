//! Keyed permutations for the synthetic population: unique, scattered numbers without a set of used
//! ones.

/// A keyed bijection on `0..n` (n ≤ 2^40): a mix of multiply-by-odd, add and xor-shift steps on the
/// smallest power-of-two domain holding `n`, cycle-walked back into `0..n`. Distinct inputs give
/// distinct outputs, so sequential indices become unique scattered identifiers.
#[derive(Clone, Copy, Debug)]
pub struct Permutation {
    bits: u32,
    n: u64,
    keys: [u64; 4],
}

impl Permutation {
    /// A permutation of `0..n` keyed by `keys`.
    pub fn new(n: u64, keys: [u64; 4]) -> Permutation {
        let bits = (64 - n.saturating_sub(1).leading_zeros()).max(4);
        Permutation { bits, n, keys }
    }

    fn mix(&self, x: u64) -> u64 {
        let mask = (1u64 << self.bits) - 1;
        let half = self.bits / 2;
        let mut x = x;
        for k in self.keys {
            x = x.wrapping_mul(k | 1) & mask;
            x ^= x >> half;
            x = x.wrapping_add(k >> 17) & mask;
        }
        x
    }

    /// The image of `x` (which must be below `n`; larger values are reduced mod `n` first).
    pub fn apply(&self, x: u64) -> u64 {
        let mut y = self.mix(x % self.n.max(1));
        // Cycle walking: the domain is at most twice n, so this ends after ~2 steps on average.
        while y >= self.n {
            y = self.mix(y);
        }
        y
    }
}
