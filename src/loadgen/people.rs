//! Who applies: real people of the synthetic population the gateway's mock registries answer from,
//! so every submission passes every registry check. Households are walked lazily, one at a time
//! ([`Population::family`]), and each child is offered for every benefit it qualifies for today by
//! the same rules the gateway applies (ARCHITECTURE.md, "Domain rules"): a baby under 18 months for
//! `childcare_under_1_5`, an active low-income status for `unified_allowance`, an active large-family
//! status for `large_family`, the child's active disability for `disabled_child` — and no assignment
//! of that benefit yet. Each (child, benefit) is used once, so most applications are approved; when
//! the population runs out the walk starts again ([`Applicants::wrapped`]) and the repeats become
//! duplicates, rejected.
//!
//! Duplicates are a second application for a case this run already used, or else a child's benefit
//! the Ministry of Labour already pays, asked for by its recipient.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::calendar::{add_months, parse_date};
use crate::domain::application::{Benefit, age_years};
use crate::mock::population::{
    BirthRecordView, Family, PersonView, Population, StatusState, StatusView,
};

/// One application's people: an applicant, a child on whose birth record they are a parent, and
/// the benefit asked for.
#[derive(Clone, Debug)]
pub struct Case {
    /// The applicant as the registries know them.
    pub applicant: Arc<PersonView>,
    /// The child's birth record.
    pub child: Arc<BirthRecordView>,
    /// The benefit.
    pub benefit: Benefit,
    /// The child's age in whole years today (which documents the benefit needs depends on it).
    pub age: i32,
}

/// Duplicates remembered at most (each used once).
const REMEMBERED: usize = 10_000;

/// The walk over the population.
pub struct Applicants {
    population: Population,
    today: i32,
    next_household: usize,
    /// Eligible cases found in the last household walked, not handed out yet.
    ready: VecDeque<Case>,
    /// Cases this run handed out, the oldest first: the duplicates of choice (likely decided by now).
    used: VecDeque<Case>,
    /// Benefits the Ministry already pays, found while walking.
    paid: VecDeque<Case>,
    /// Households walked.
    pub scanned: u64,
    /// Times the walk started over.
    pub wrapped: u32,
    found_in_pass: u64,
    /// The backlog's own walk.
    waiting: VecDeque<Case>,
    next_waiting_household: usize,
    /// Each household's cases once worked out: the walk wraps several times in a flat-out run, and
    /// building a family's views again was a twentieth of the whole machine's time.
    memo: Vec<Option<Arc<HouseholdCases>>>,
}

/// A household's eligible cases and its benefits already paid.
struct HouseholdCases {
    eligible: Vec<Case>,
    paid: Vec<Case>,
}

impl Applicants {
    /// A walk over `population` judging eligibility on `today` (a day number: the gateway's date).
    pub fn new(population: Population, today: i32) -> Applicants {
        Applicants {
            population,
            today,
            next_household: 0,
            ready: VecDeque::new(),
            used: VecDeque::new(),
            paid: VecDeque::new(),
            scanned: 0,
            wrapped: 0,
            found_in_pass: 0,
            waiting: VecDeque::new(),
            next_waiting_household: 0,
            memo: Vec::new(),
        }
    }

    /// The cases of household `h`, worked out once; `None` past the last household.
    fn cases(&mut self, h: usize) -> Option<Arc<HouseholdCases>> {
        if let Some(Some(known)) = self.memo.get(h) {
            return Some(known.clone());
        }
        let family = self.population.family(h)?;
        let (eligible, paid) = cases_of(&family, self.today);
        let cases = Arc::new(HouseholdCases { eligible, paid });
        if self.memo.len() <= h {
            self.memo.resize(h + 1, None);
        }
        self.memo[h] = Some(cases.clone());
        Some(cases)
    }

    /// The next eligible case, handed out once (until the walk wraps) and remembered for a
    /// duplicate; `None` only when the whole population holds no eligible case at all.
    pub fn next_eligible(&mut self) -> Option<Case> {
        let case = self.next_unremembered()?;
        if self.used.len() >= REMEMBERED {
            self.used.pop_front();
        }
        self.used.push_back(case.clone());
        Some(case)
    }

    /// [`Applicants::next_eligible`] for an application that will not be decided (its documents never
    /// sent): a duplicate of it would be no duplicate, so it is not remembered.
    pub fn next_unremembered(&mut self) -> Option<Case> {
        let case = self.peek()?;
        self.ready.pop_front();
        Some(case)
    }

    /// A case to ask about without using it up (eligibility dry runs, invalid variants).
    pub fn peek(&mut self) -> Option<Case> {
        while self.ready.is_empty() {
            if self.next_household >= self.population.household_count() {
                if self.found_in_pass == 0 {
                    return None;
                }
                self.next_household = 0;
                self.wrapped += 1;
                self.found_in_pass = 0;
            }
            let cases = self.cases(self.next_household)?;
            self.next_household += 1;
            self.scanned += 1;
            self.walk(&cases);
        }
        self.ready.front().cloned()
    }

    /// A duplicate: a case this run used, the oldest first, or a benefit already paid; `None` as
    /// for [`Applicants::next_eligible`].
    pub fn next_duplicate(&mut self) -> Option<Case> {
        if let Some(case) = self.used.pop_front() {
            return Some(case);
        }
        // Walking on finds paid benefits too (many households hold some); the eligible cases
        // found meanwhile stay in `ready`.
        for _ in 0..1_000 {
            if !self.paid.is_empty() || !self.walk_one_more() {
                break;
            }
        }
        match self.paid.pop_front() {
            Some(case) => Some(case),
            None => self.next_eligible(),
        }
    }

    /// Walk the next household (without wrapping); false at the end of the population.
    fn walk_one_more(&mut self) -> bool {
        let Some(cases) = self.cases(self.next_household) else {
            return false;
        };
        self.next_household += 1;
        self.scanned += 1;
        self.walk(&cases);
        true
    }

    /// Every eligible case of a household into `ready`, every paid benefit into `paid`.
    fn walk(&mut self, cases: &HouseholdCases) {
        self.found_in_pass += cases.eligible.len() as u64;
        self.ready.extend(cases.eligible.iter().cloned());
        let room = REMEMBERED.saturating_sub(self.paid.len());
        self.paid.extend(cases.paid.iter().take(room).cloned());
    }

    /// A case for an application that will never be decided (the backlog): walked apart from the
    /// others, so the backlog uses up none of the run's cases.
    pub fn next_waiting(&mut self) -> Option<Case> {
        let count = self.population.household_count();
        let mut walked = 0;
        while self.waiting.is_empty() {
            if walked > count {
                return None;
            }
            let cases = self.cases(self.next_waiting_household % count.max(1))?;
            self.next_waiting_household += 1;
            walked += 1;
            self.waiting.extend(cases.eligible.iter().cloned());
        }
        self.waiting.pop_front()
    }
}

/// The eligible cases of a family, and its benefits already paid (as cases of their recipients).
fn cases_of(family: &Family, today: i32) -> (Vec<Case>, Vec<Case>) {
    let mut ready = Vec::new();
    let mut paid_cases = Vec::new();
    {
        for child in &family.children {
            let record = &child.birth_record;
            let Some(born) = parse_date(&record.child.birth_date) else {
                continue;
            };
            let age = age_years(born, today);
            // An applicant the registries confirm: an adult of the household who is a parent on
            // the birth record and has the INN and passport an application needs.
            let parent = |snils: &str| {
                family.adults.iter().find(|a| {
                    a.snils == snils
                        && a.inn.is_some()
                        && a.passport.is_some()
                        && a.registration_address.is_some()
                })
            };
            let Some(applicant) = record.parents.iter().find_map(|p| parent(&p.snils)) else {
                continue;
            };
            let applicant = Arc::new(applicant.clone());
            let child_record = Arc::new(record.clone());
            let paid_now = |a: &crate::mock::population::AssignmentView| {
                a.period
                    .to
                    .as_deref()
                    .and_then(parse_date)
                    .is_none_or(|to| to >= today)
            };
            for benefit in eligible(family, record, born, today) {
                let paid = child
                    .assignments
                    .iter()
                    .any(|a| a.benefit_code == benefit && paid_now(a));
                if !paid {
                    ready.push(Case {
                        applicant: applicant.clone(),
                        child: child_record.clone(),
                        benefit,
                        age,
                    });
                }
            }
            for a in child.assignments.iter().filter(|a| paid_now(a)) {
                if let Some(recipient) = record.parents.iter().find_map(|p| {
                    (p.snils == a.recipient_snils)
                        .then(|| parent(&p.snils))
                        .flatten()
                }) {
                    paid_cases.push(Case {
                        applicant: Arc::new(recipient.clone()),
                        child: child_record.clone(),
                        benefit: a.benefit_code,
                        age,
                    });
                }
            }
        }
    }
    (ready, paid_cases)
}

/// The benefits a child qualifies for on `today`, by the statuses its household holds.
fn eligible(family: &Family, record: &BirthRecordView, born: i32, today: i32) -> Vec<Benefit> {
    let age = age_years(born, today);
    let low_income = family.statuses.iter().any(|s| match s {
        StatusView::LowIncome {
            status: StatusState::Active,
            income_per_person,
            regional_minimum,
            ..
        } => matches!(
            (income_per_person.parse::<f64>(), regional_minimum.parse::<f64>()),
            (Ok(i), Ok(m)) if i < m
        ),
        _ => false,
    });
    let large = family.statuses.iter().any(|s| {
        matches!(s, StatusView::LargeFamily { status: StatusState::Active, child_snils, .. }
            if child_snils.len() >= 3)
    });
    let disabled = family.statuses.iter().any(|s| {
        matches!(s, StatusView::ChildDisability { status: StatusState::Active, child_snils, .. }
            if *child_snils == record.child.snils)
    });
    [
        (Benefit::ChildcareUnder1_5, today < add_months(born, 18)),
        (Benefit::UnifiedAllowance, low_income && age < 17),
        (Benefit::LargeFamily, large && age < 18),
        (Benefit::DisabledChild, disabled && age < 18),
    ]
    .into_iter()
    .filter_map(|(benefit, ok)| ok.then_some(benefit))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::population::PopulationConfig;

    fn walk() -> Applicants {
        let population = Population::generate(&PopulationConfig {
            seed: 7,
            people: 2_000,
        });
        let today = crate::calendar::today(std::time::SystemTime::now());
        Applicants::new(population, today)
    }

    #[test]
    fn cases_are_handed_out_once_until_the_walk_wraps() {
        let mut a = walk();
        let mut seen = std::collections::HashSet::new();
        while a.wrapped == 0 {
            let case = a.next_eligible().expect("eligible cases exist");
            if a.wrapped > 0 {
                break;
            }
            let key = (case.child.child.snils.clone(), case.benefit);
            assert!(seen.insert(key), "a case handed out twice before wrapping");
            assert!(
                case.child
                    .parents
                    .iter()
                    .any(|p| p.snils == case.applicant.snils),
                "the applicant is a parent on the record"
            );
        }
        assert!(seen.len() > 10, "only {} cases", seen.len());
    }

    #[test]
    fn duplicates_repeat_a_used_case_first() {
        let mut a = walk();
        let first = a.next_eligible().expect("eligible");
        let dup = a.next_duplicate().expect("duplicate");
        assert_eq!(dup.child.child.snils, first.child.child.snils);
        assert_eq!(dup.benefit, first.benefit);
        // With nothing used, a benefit already paid.
        let paid = a.next_duplicate().expect("a paid benefit");
        assert!(
            paid.child
                .parents
                .iter()
                .any(|p| p.snils == paid.applicant.snils)
        );
    }
}
