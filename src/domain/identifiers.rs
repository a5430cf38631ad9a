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

/// Why a text is not a valid identifier or date: a rule code and a message, never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// Machine-readable code (`format`, `snils_checksum`, `inn_checksum`, `date`).
    pub code: &'static str,
    /// What is wrong.
    pub message: &'static str,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for Invalid {}

impl From<crate::calendar::NotADate> for Invalid {
    fn from(_: crate::calendar::NotADate) -> Invalid {
        Invalid {
            code: "date",
            message: "must be a real date, YYYY-MM-DD",
        }
    }
}

/// A SNILS with a valid check number, 11 digits (dashes and spaces dropped when built). Shown masked
/// (`***-***-*** 12`) by `Display` and `Debug`, so it cannot reach a log line whole by accident.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Snils(String);

impl Snils {
    /// The 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Snils {
    type Error = Invalid;

    fn try_from(s: &str) -> Result<Snils, Invalid> {
        let digits: String = s.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if digits.len() != 11 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid {
                code: "format",
                message: "must be 11 digits",
            });
        }
        if !snils_is_valid(&digits) {
            return Err(Invalid {
                code: "snils_checksum",
                message: "check number does not match",
            });
        }
        Ok(Snils(digits))
    }
}

impl TryFrom<String> for Snils {
    type Error = Invalid;

    fn try_from(s: String) -> Result<Snils, Invalid> {
        Snils::try_from(s.as_str())
    }
}

impl From<Snils> for String {
    fn from(s: Snils) -> String {
        s.0
    }
}

impl std::fmt::Display for Snils {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "***-***-*** {}", &self.0[9..])
    }
}

impl std::fmt::Debug for Snils {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snils({self})")
    }
}

/// A person's INN with valid control digits, 12 digits. Masked by `Display` and `Debug`.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Inn(String);

impl Inn {
    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Inn {
    type Error = Invalid;

    fn try_from(s: &str) -> Result<Inn, Invalid> {
        if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid {
                code: "format",
                message: "must be 12 digits (a person's INN)",
            });
        }
        if !inn_is_valid(s) {
            return Err(Invalid {
                code: "inn_checksum",
                message: "control digits do not match",
            });
        }
        Ok(Inn(s.to_string()))
    }
}

impl TryFrom<String> for Inn {
    type Error = Invalid;

    fn try_from(s: String) -> Result<Inn, Invalid> {
        Inn::try_from(s.as_str())
    }
}

impl From<Inn> for String {
    fn from(s: Inn) -> String {
        s.0
    }
}

impl std::fmt::Display for Inn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "********** {}", &self.0[10..])
    }
}

impl std::fmt::Debug for Inn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Inn({self})")
    }
}
