//! Receipts of submission: what was filed (number, id, time, benefit, SHA-256 of the stored input),
//! signed with the gateway's receipt-signing certificate (ECDSA P-256, SHA-256), as JSON with a
//! detached signature and as a one-page PDF for the citizen that carries the same signed JSON, so
//! `reggate receipt verify` checks either. Verification checks the signature and that the signing
//! certificate chains to the internal CA and was valid when the receipt was issued; for a PDF, also
//! that the page the citizen sees is exactly the one [`pdf`] renders from the signed receipt.

use std::path::Path;
use std::sync::Arc;

use crate::tls::pki::PemFile;

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::{Signer, Verifier};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509StoreContext};
use serde::{Deserialize, Serialize};

/// What a receipt states.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// The application's number.
    pub number: String,
    /// Its id.
    pub id: String,
    /// When it was submitted (`YYYY-MM-DDTHH:MM:SSZ`).
    pub submitted_at: String,
    /// The benefit applied for.
    pub benefit: String,
    /// Lower-case hex SHA-256 of what was submitted (the stored application JSON).
    pub digest: String,
}

/// A receipt with its detached signature and the signing certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedReceipt {
    /// The statement.
    pub receipt: Receipt,
    /// Base64 DER ECDSA signature over the receipt's canonical JSON ([`canonical`]).
    pub signature: String,
    /// The signing certificate (PEM).
    pub certificate: String,
}

/// Why signing or verification failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptError(pub String);

impl std::fmt::Display for ReceiptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "receipt: {}", self.0)
    }
}

impl std::error::Error for ReceiptError {}

fn err(e: impl std::fmt::Display) -> ReceiptError {
    ReceiptError(e.to_string())
}

/// The bytes that are signed: the receipt as compact JSON with its fields in declaration order.
pub fn canonical(receipt: &Receipt) -> Vec<u8> {
    serde_json::to_vec(receipt).unwrap_or_default()
}

/// Signs receipts with the receipt-signing key; [`ReceiptSigner::reload`] replaces the pair while the
/// gateway serves (receipts signed before keep verifying: each carries its certificate).
pub struct ReceiptSigner {
    current: std::sync::RwLock<Arc<SigningPair>>,
}

struct SigningPair {
    key: PKey<Private>,
    certificate: String,
}

impl SigningPair {
    fn load(cert: &Path, key: &Path) -> Result<SigningPair, ReceiptError> {
        let read =
            |path: &Path| std::fs::read(path).map_err(|e| err(format!("{}: {e}", path.display())));
        SigningPair::from_pem(
            PemFile {
                path: cert,
                bytes: &read(cert)?,
            },
            PemFile {
                path: key,
                bytes: &read(key)?,
            },
        )
    }

    fn from_pem(
        cert_file: PemFile<'_>,
        key_file: PemFile<'_>,
    ) -> Result<SigningPair, ReceiptError> {
        let (cert, key) = (cert_file.path, key_file.path);
        let certificate = String::from_utf8(cert_file.bytes.to_vec())
            .map_err(|_| err(format!("{}: not PEM text", cert.display())))?;
        let key_pem = key_file.bytes;
        let key_private = PKey::private_key_from_pem(key_pem)
            .map_err(|e| err(format!("{}: {e}", key.display())))?;
        let x509 = X509::from_pem(certificate.as_bytes())
            .map_err(|e| err(format!("{}: {e}", cert.display())))?;
        if !x509
            .public_key()
            .is_ok_and(|public| public.public_eq(&key_private))
        {
            return Err(err(format!(
                "{} does not hold the private key of {}",
                key.display(),
                cert.display()
            )));
        }
        Ok(SigningPair {
            key: key_private,
            certificate,
        })
    }
}

impl ReceiptSigner {
    /// Load the signing certificate and key (PEM files); the key must be the certificate's.
    pub fn load(cert: &Path, key: &Path) -> Result<ReceiptSigner, ReceiptError> {
        Ok(ReceiptSigner {
            current: std::sync::RwLock::new(Arc::new(SigningPair::load(cert, key)?)),
        })
    }

    /// Sign with the certificate and key `cert` and `key` hold from now on; on error the current
    /// pair stays.
    pub fn reload_pem(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), ReceiptError> {
        let pair = Arc::new(SigningPair::from_pem(cert, key)?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = pair;
        Ok(())
    }

    /// Sign a receipt.
    pub fn sign(&self, receipt: Receipt) -> Result<SignedReceipt, ReceiptError> {
        let pair = Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()));
        let mut signer = Signer::new(MessageDigest::sha256(), &pair.key).map_err(err)?;
        signer.update(&canonical(&receipt)).map_err(err)?;
        let signature = openssl::base64::encode_block(&signer.sign_to_vec().map_err(err)?);
        Ok(SignedReceipt {
            receipt,
            signature,
            certificate: pair.certificate.clone(),
        })
    }
}

impl crate::tls::live::TakesPair for ReceiptSigner {
    fn take(&self, cert: PemFile<'_>, key: PemFile<'_>) -> Result<(), String> {
        self.reload_pem(cert, key).map_err(|e| e.to_string())
    }
}

/// Check a signed receipt: the signing certificate chains to `ca` and the signature is over the
/// receipt as stated.
pub fn verify(signed: &SignedReceipt, ca: &X509) -> Result<(), ReceiptError> {
    let cert = X509::from_pem(signed.certificate.as_bytes()).map_err(err)?;
    let mut store = X509StoreBuilder::new().map_err(err)?;
    store.add_cert(ca.clone()).map_err(err)?;
    let store = store.build();
    let mut ctx = X509StoreContext::new().map_err(err)?;
    let chain = Stack::new().map_err(err)?;
    let trusted = ctx
        .init(&store, &cert, &chain, |c| c.verify_cert())
        .map_err(err)?;
    if !trusted {
        return Err(ReceiptError(
            "the signing certificate is not issued by the internal CA".into(),
        ));
    }
    let signature = openssl::base64::decode_block(&signed.signature)
        .map_err(|_| ReceiptError("the signature is not base64".into()))?;
    let key = cert.public_key().map_err(err)?;
    let mut verifier = Verifier::new(MessageDigest::sha256(), &key).map_err(err)?;
    verifier.update(&canonical(&signed.receipt)).map_err(err)?;
    match verifier.verify(&signature) {
        Ok(true) => Ok(()),
        _ => Err(ReceiptError(
            "the signature does not match the receipt (altered, or signed by another key)".into(),
        )),
    }
}

const PDF_MARK: &str = "%reggate-receipt:";

/// A one-page PDF stating the receipt, with the signed receipt embedded (base64 JSON in a comment
/// line) so it verifies like the JSON.
///
/// The output depends on `signed` alone (no creation date, no document id, fields in declaration
/// order): [`verify_file`] relies on that to prove the visible page is the signed one by rendering it
/// again.
pub fn pdf(signed: &SignedReceipt) -> Vec<u8> {
    let r = &signed.receipt;
    let lines = [
        ("F2", 18, "Receipt of submission".to_string()),
        ("F1", 12, "Child benefit application received by reggate".to_string()),
        ("F1", 12, String::new()),
        ("F2", 14, format!("Application number: {}", r.number)),
        ("F1", 12, format!("Submitted at: {}", r.submitted_at)),
        ("F1", 12, format!("Benefit: {}", r.benefit)),
        ("F1", 12, format!("Application id: {}", r.id)),
        ("F1", 9, format!("SHA-256 of the submission: {}", r.digest)),
        ("F1", 12, String::new()),
        ("F1", 9, "Signed by the gateway's receipt-signing certificate; check with: reggate receipt verify FILE".to_string()),
    ];
    let mut content = String::from("BT\n");
    let mut y = 780;
    for (font, size, text) in lines {
        let escaped = crate::pdf::text(&text);
        content.push_str(&format!(
            "/{font} {size} Tf 1 0 0 1 56 {y} Tm ({escaped}) Tj\n"
        ));
        y -= size + 10;
    }
    content.push_str("ET\n");
    let mut out = crate::pdf::one_page(
        b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n",
        &content,
        &["Helvetica", "Helvetica-Bold"],
    );
    let embedded = openssl::base64::encode_block(&serde_json::to_vec(signed).unwrap_or_default());
    out.extend_from_slice(format!("{PDF_MARK}{embedded}\n").as_bytes());
    out
}

/// The signed receipt in a file: JSON, or a PDF made by [`pdf`].
pub fn read(bytes: &[u8]) -> Result<SignedReceipt, ReceiptError> {
    if bytes.starts_with(b"%PDF-") {
        let text = String::from_utf8_lossy(bytes);
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(PDF_MARK))
            .ok_or_else(|| ReceiptError("this PDF carries no reggate receipt".into()))?;
        let json = openssl::base64::decode_block(line.trim())
            .map_err(|_| ReceiptError("the embedded receipt is damaged".into()))?;
        return serde_json::from_slice(&json).map_err(err);
    }
    serde_json::from_slice(bytes).map_err(|e| err(format!("not a receipt: {e}")))
}

/// Check a receipt file whose signed receipt [`read`] returned: [`verify`], and for a PDF, that the
/// file is byte for byte what [`pdf`] renders from that receipt.
///
/// The signature covers only the embedded JSON; the citizen reads the page. Since [`pdf`] is
/// deterministic, rendering again and comparing is the strictest check that the two agree: it refuses
/// an edited glyph, an added overlay object and an incremental update alike, without interpreting PDF.
pub fn verify_file(bytes: &[u8], signed: &SignedReceipt, ca: &X509) -> Result<(), ReceiptError> {
    verify(signed, ca)?;
    if bytes.starts_with(b"%PDF-") && pdf(signed) != bytes {
        return Err(ReceiptError(
            "the PDF's visible content differs from the signed receipt".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::pki::{self, PkiOptions};
    use std::time::{Duration, SystemTime};

    /// A fresh PKI in a directory of its own per test (`name`), since tests run in parallel.
    fn setup(name: &str) -> (ReceiptSigner, X509, crate::tls::pki::PkiLayout) {
        let dir =
            std::env::temp_dir().join(format!("reggate-receipt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let layout = pki::init(&PkiOptions {
            dir: dir.clone(),
            lifetime_days: 30,
            now: SystemTime::now() - Duration::from_secs(60),
            force: false,
        })
        .expect("pki");
        let signer = ReceiptSigner::load(&layout.receipt_signing(), &layout.receipt_signing_key())
            .expect("signer");
        let ca = X509::from_pem(&std::fs::read(layout.internal_ca()).expect("ca")).expect("ca pem");
        (signer, ca, layout)
    }

    fn receipt() -> Receipt {
        Receipt {
            number: "RG-20260701-ABCD2345".into(),
            id: "00000000-0000-4000-8000-000000000001".into(),
            submitted_at: "2026-07-01T10:00:00Z".into(),
            benefit: "childcare_under_1_5".into(),
            digest: "ab".repeat(32),
        }
    }

    #[test]
    fn a_signed_receipt_verifies_as_json_and_as_pdf_and_a_tampered_one_does_not() {
        let (signer, ca, layout) = setup("tamper");
        let signed = signer.sign(receipt()).expect("sign");
        verify(&signed, &ca).expect("valid");
        let json = serde_json::to_vec(&signed).expect("json");
        verify(&read(&json).expect("read json"), &ca).expect("json verifies");
        let pdf = pdf(&signed);
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(String::from_utf8_lossy(&pdf).contains("RG-20260701-ABCD2345"));
        verify(&read(&pdf).expect("read pdf"), &ca).expect("pdf verifies");

        let mut tampered = signed.clone();
        tampered.receipt.submitted_at = "2026-06-30T10:00:00Z".into();
        let e = verify(&tampered, &ca).expect_err("tampered");
        assert!(e.0.contains("does not match"), "{e}");
        // A certificate from another CA: refused even with a matching signature.
        let other = ReceiptSigner::load(&layout.gateway_client(), &layout.gateway_client_key())
            .expect("other");
        let foreign = other.sign(receipt()).expect("sign");
        let e = verify(&foreign, &ca).expect_err("foreign");
        assert!(e.0.contains("internal CA"), "{e}");
    }

    #[test]
    fn a_pdf_whose_visible_text_was_altered_does_not_verify() {
        let (signer, ca, _) = setup("visible");
        let signed = signer.sign(receipt()).expect("sign");
        let good = pdf(&signed);
        assert_eq!(good, pdf(&signed.clone()), "rendering is deterministic");
        verify_file(&good, &read(&good).expect("read"), &ca).expect("untouched PDF verifies");

        // One character of the benefit on the page; the embedded (base64) JSON stays as signed.
        let shown = b"(Benefit: childcare_under_1_5)";
        let at = good
            .windows(shown.len())
            .position(|w| w == shown)
            .expect("benefit in the content stream");
        let mut altered = good.clone();
        altered[at + shown.len() - 2] = b'X';
        let embedded = read(&altered).expect("the embedded receipt still reads");
        assert_eq!(embedded, signed);
        verify(&embedded, &ca).expect("the embedded signature alone still holds");
        let e = verify_file(&altered, &embedded, &ca).expect_err("altered page");
        assert!(e.0.contains("visible content differs"), "{e}");

        // JSON is checked by its signature alone, as before.
        let json = serde_json::to_vec(&signed).expect("json");
        verify_file(&json, &read(&json).expect("read json"), &ca).expect("json verifies");
    }
}
