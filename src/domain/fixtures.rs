//! Sample applications for the domain's tests.

use crate::domain::identifiers::{inn_from_body, snils_from_body};

/// A document manifest entry of `kind`.
pub fn doc(kind: &str) -> serde_json::Value {
    serde_json::json!({"type": kind, "media_type": "application/pdf", "size": 120_000, "sha256": "AB".repeat(32)})
}

/// A valid application (childcare for a baby born 2025-11-20, checked on 2026-07-01).
pub fn valid() -> serde_json::Value {
    serde_json::json!({
        "benefit": "childcare_under_1_5",
        "applicant": {
            "last_name": "Иванова", "first_name": "Мария", "middle_name": "Петровна",
            "birth_date": "1994-03-12", "gender": "female",
            "passport": {"series": "4510", "number": "123456", "issue_date": "2014-04-01",
                         "issuer": "ОВД Тверского района", "issuer_code": "770-001"},
            "snils": format!("{:011}", snils_from_body(112_233_445)),
            "inn": format!("{:012}", inn_from_body(7_707_083_893)),
            "registration_address": {"postal_code": "125009", "region_code": "77",
                                     "locality": "Москва", "street": "Тверская", "house": "1"},
            "phone": "+79161234567", "email": "maria@example.ru"
        },
        "child": {
            "last_name": "Иванов", "first_name": "Пётр", "birth_date": "2025-11-20", "gender": "male",
            "birth_place": "Москва",
            "birth_certificate": {"series": "IV-МЮ", "number": "654321", "issue_date": "2025-11-25"},
            "snils": format!("{:011}", snils_from_body(223_344_556))
        },
        "documents": [doc("birth_certificate"), doc("passport"), doc("snils")]
    })
}
