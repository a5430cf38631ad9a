//! Personal identifiers' check arithmetic: SNILS check numbers and a person's INN control digits. The
//! gateway checks applicants' numbers with it and the mock registries generate valid ones.

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

/// A random version-4 UUID (application ids, message ids).
pub fn uuid_v4() -> String {
    use rand::RngExt;
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
