//! A validated application: what the input rules guarantee, as types. [`ApplicationInput`] is the
//! loose shape a cabinet sends (every field optional so that every failure can be reported at once);
//! [`ValidApplication`] is what passed ([`ApplicationInput::validate`]) or what the store gives back
//! ([`ValidApplication::decode`]): the benefit a [`Benefit`], the identifiers [`Snils`] and [`Inn`],
//! the dates [`Date`]s, the genders present. No caller re-decides what "missing" means.
//!
//! The rest of the input (names, passport, addresses, documents) is reached through `Deref` to the
//! normalized input, which is also what is stored and serialized.

use std::ops::Deref;

use crate::calendar::Date;
use crate::domain::application::{ApplicationInput, Benefit, FieldError, Gender, Rejection};
use crate::domain::identifiers::{Inn, Invalid, Snils};

/// The period a benefit is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BenefitPeriod {
    /// First day.
    pub from: Date,
    /// Last day, if bounded.
    pub to: Option<Date>,
}

/// A person as the registries identify them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// SNILS.
    pub snils: Snils,
    /// Birth date.
    pub birth_date: Date,
    /// Gender.
    pub gender: Gender,
}

/// An application that passed the input rules. Its `Debug` shows the benefit and the masked
/// identifiers only: the rest is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidApplication {
    input: ApplicationInput,
    // Named apart from the input's fields, which `Deref` exposes.
    benefit_kind: Benefit,
    applicant_person: Person,
    applicant_inn: Inn,
    child_person: Person,
    benefit_period: Option<BenefitPeriod>,
}

/// Why stored or given input is not a valid application: the field and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidApplication(pub FieldError);

impl std::fmt::Display for InvalidApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.pointer, self.0.message)
    }
}

impl std::error::Error for InvalidApplication {}

fn at<T, E: Into<Invalid>>(pointer: &str, r: Result<T, E>) -> Result<T, InvalidApplication> {
    r.map_err(|e| {
        let e: Invalid = e.into();
        InvalidApplication(FieldError {
            pointer: pointer.to_string(),
            code: e.code.to_string(),
            message: e.message.to_string(),
        })
    })
}

fn required<T>(pointer: &str, v: Option<T>) -> Result<T, InvalidApplication> {
    v.ok_or_else(|| {
        InvalidApplication(FieldError {
            pointer: pointer.to_string(),
            code: "required".into(),
            message: "is required".into(),
        })
    })
}

impl TryFrom<ApplicationInput> for ValidApplication {
    type Error = InvalidApplication;

    /// The typed view of input whose fields the input rules accepted (the date-relative rules, such
    /// as "not in the future", are [`ApplicationInput::validate`]'s and are not re-checked here).
    fn try_from(mut input: ApplicationInput) -> Result<ValidApplication, InvalidApplication> {
        let benefit = required("/benefit", Benefit::from_code(&input.benefit))?;
        let a = &input.applicant;
        let applicant = Person {
            snils: at(
                "/applicant/snils",
                Snils::try_from(a.snils.as_deref().unwrap_or_default()),
            )?,
            birth_date: at(
                "/applicant/birth_date",
                Date::try_from(a.birth_date.as_str()),
            )?,
            gender: required("/applicant/gender", a.gender)?,
        };
        let applicant_inn = at(
            "/applicant/inn",
            Inn::try_from(a.inn.as_deref().unwrap_or_default()),
        )?;
        let c = &input.child;
        let child = Person {
            snils: at("/child/snils", Snils::try_from(c.snils.as_str()))?,
            birth_date: at("/child/birth_date", Date::try_from(c.birth_date.as_str()))?,
            gender: required("/child/gender", c.gender)?,
        };
        let period = match &input.period {
            None => None,
            Some(p) => Some(BenefitPeriod {
                from: at("/period/from", Date::try_from(p.from.as_str()))?,
                to: match &p.to {
                    None => None,
                    Some(to) => Some(at("/period/to", Date::try_from(to.as_str()))?),
                },
            }),
        };
        // The stored form carries the normalized identifiers.
        input.applicant.snils = Some(applicant.snils.as_str().to_string());
        input.child.snils = child.snils.as_str().to_string();
        Ok(ValidApplication {
            input,
            benefit_kind: benefit,
            applicant_person: applicant,
            applicant_inn,
            child_person: child,
            benefit_period: period,
        })
    }
}

impl ApplicationInput {
    /// Check the input rules on `today` (a day number): every failing field reported at once (a
    /// missing SNILS or INN refuses outright), or the typed application.
    pub fn validate(self, today: i32) -> Result<ValidApplication, Rejection> {
        let checked = self.check(today)?;
        // Everything the typed view needs was checked above; a failure here would be a rule missing
        // there, reported like any other field.
        ValidApplication::try_from(checked).map_err(|e| Rejection::Fields(vec![e.0]))
    }
}

impl ValidApplication {
    /// An application as the store keeps it (its JSON): the one decode every reader of stored input
    /// goes through, reporting the field at fault when the stored form is damaged.
    pub fn decode(json: &serde_json::Value) -> Result<ValidApplication, InvalidApplication> {
        let input: ApplicationInput = serde_json::from_value(json.clone()).map_err(|e| {
            InvalidApplication(FieldError {
                pointer: String::new(),
                code: "unreadable".into(),
                // serde's message may quote a value: only its position is kept.
                message: format!(
                    "the stored application does not parse (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            })
        })?;
        ValidApplication::try_from(input)
    }

    /// The form the store keeps and [`ValidApplication::decode`] reads.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.input).unwrap_or_default()
    }

    /// The normalized input.
    pub fn input(&self) -> &ApplicationInput {
        &self.input
    }

    /// The benefit.
    pub fn benefit(&self) -> Benefit {
        self.benefit_kind
    }

    /// The applicant.
    pub fn applicant(&self) -> &Person {
        &self.applicant_person
    }

    /// The applicant's INN.
    pub fn applicant_inn(&self) -> &Inn {
        &self.applicant_inn
    }

    /// The child.
    pub fn child(&self) -> &Person {
        &self.child_person
    }

    /// The period asked for, if any.
    pub fn period(&self) -> Option<BenefitPeriod> {
        self.benefit_period
    }
}

impl std::fmt::Debug for ValidApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidApplication")
            .field("benefit", &self.benefit_kind)
            .field("applicant", &self.applicant_person.snils)
            .field("child", &self.child_person.snils)
            .finish_non_exhaustive()
    }
}

impl Deref for ValidApplication {
    type Target = ApplicationInput;

    fn deref(&self) -> &ApplicationInput {
        &self.input
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fixtures;

    fn valid() -> ValidApplication {
        let input: ApplicationInput =
            serde_json::from_value(fixtures::valid()).expect("the fixture is an application");
        input
            .validate(crate::domain::application::day(2026, 7, 1))
            .expect("valid")
    }

    #[test]
    fn the_stored_form_decodes_to_the_same_application() {
        let app = valid();
        assert_eq!(ValidApplication::decode(&app.to_json()), Ok(app.clone()));
        assert_eq!(app.applicant().snils.as_str().len(), 11);
        assert!(!format!("{:?}", app.applicant().snils).contains(app.applicant().snils.as_str()));
    }

    #[test]
    fn damaged_stored_input_names_the_field_and_not_the_value() {
        let mut json = valid().to_json();
        json["child"]["snils"] = serde_json::json!("11223344596");
        let err = ValidApplication::decode(&json).expect_err("bad checksum");
        assert_eq!(err.0.pointer, "/child/snils");
        assert_eq!(err.0.code, "snils_checksum");
        assert!(!err.to_string().contains("11223344596"), "{err}");

        json["benefit"] = serde_json::json!(98765);
        let err = ValidApplication::decode(&json).expect_err("wrong type");
        assert_eq!(err.0.code, "unreadable");
        assert!(!err.to_string().contains("98765"), "{err}");
    }
}
