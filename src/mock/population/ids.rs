//! Identifier arithmetic for the synthetic population: SNILS and INN check numbers, calendar dates as
//! day numbers, and keyed permutations that hand out unique, scattered numbers without a set of used ones.

/// The SNILS check number for a 9-digit body: digits weighted 9..1 from the left, summed; a sum below
/// 100 is the check number, 100 and 101 give 00, larger sums are taken mod 101 (100 again giving 00).
pub fn snils_check(body: u32) -> u32 {
    let mut sum = 0;
    let mut rest = body;
    // Rightmost digit has weight 1.
    for weight in 1..=9 {
        sum += (rest % 10) * weight;
        rest /= 10;
    }
    match sum {
        0..=99 => sum,
        100 | 101 => 0,
        _ => match sum % 101 {
            100 => 0,
            r => r,
        },
    }
}

/// A full 11-digit SNILS (as a number) for a 9-digit body.
pub fn snils_from_body(body: u32) -> u64 {
    u64::from(body) * 100 + u64::from(snils_check(body))
}

/// Whether an 11-digit SNILS string has the right check number.
pub fn snils_is_valid(s: &str) -> bool {
    if s.len() != 11 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = s.parse::<u64>() else {
        return false;
    };
    let body = u32::try_from(n / 100).unwrap_or(u32::MAX);
    u64::from(snils_check(body)) == n % 100
}

const INN_W11: [u64; 10] = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8];
const INN_W12: [u64; 11] = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8];

fn digits<const N: usize>(mut n: u64) -> [u64; N] {
    let mut d = [0; N];
    for slot in d.iter_mut().rev() {
        *slot = n % 10;
        n /= 10;
    }
    d
}

/// A person's 12-digit INN (as a number) for its first 10 digits: the two control digits are
/// weighted sums mod 11 mod 10, the second computed over the first eleven digits.
pub fn inn_from_body(body: u64) -> u64 {
    let d: [u64; 10] = digits(body);
    let c11 = d.iter().zip(INN_W11).map(|(a, w)| a * w).sum::<u64>() % 11 % 10;
    let with11 = body * 10 + c11;
    let d11: [u64; 11] = digits(with11);
    let c12 = d11.iter().zip(INN_W12).map(|(a, w)| a * w).sum::<u64>() % 11 % 10;
    with11 * 10 + c12
}

/// Whether a 12-digit INN string has valid control digits.
pub fn inn_is_valid(s: &str) -> bool {
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = s.parse::<u64>() else {
        return false;
    };
    inn_from_body(n / 100) == n
}

/// Days from 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub const fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number.
pub fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD`.
pub fn fmt_date(day: i32) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parse `YYYY-MM-DD` into a day number; `None` unless it is a real calendar date.
pub fn parse_date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y as i32, m) {
        return None;
    }
    Some(days_from_civil(y as i32, m, d))
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `day` moved by `months` calendar months (the day of month clamped to the target month's length).
pub fn add_months(day: i32, months: i32) -> i32 {
    let (y, m, d) = civil_from_days(day);
    let total = y * 12 + (m as i32 - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    days_from_civil(ny, nm, d.min(days_in_month(ny, nm)))
}

/// The year of a day number.
pub fn year_of(day: i32) -> i32 {
    civil_from_days(day).0
}

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
