//! Random identifiers: application ids, SOAP message ids, request ids, development keys. Below every
//! layer, so the SOAP side and the API draw ids the same way.

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
