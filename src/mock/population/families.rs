//! Whole households as typed views, one at a time, for load generators (`reggate loadgen`) that need
//! tens of thousands of real applicants: [`Population::export_people`] builds JSON with quotas and
//! broken variants (about 55 KB a family as a `serde_json::Value`), this gives the unmodified family
//! of one household index, so a caller can walk the population lazily.

use super::{AssignmentView, BirthRecordView, PersonView, Population, StatusView};

/// One household as the registries know it: its adults, its children's birth records and benefit
/// assignments, and the Ministry of Labour's statuses for the household.
#[derive(Clone, Debug)]
pub struct Family {
    /// The household's index (`0..Population::household_count()`).
    pub household: usize,
    /// The adults, in generation order (the first is the one `export_people` takes as applicant).
    pub adults: Vec<PersonView>,
    /// The children.
    pub children: Vec<FamilyChild>,
    /// Family statuses (large family, disability, low income), active or expired.
    pub statuses: Vec<StatusView>,
}

/// A child of a [`Family`].
#[derive(Clone, Debug)]
pub struct FamilyChild {
    /// The child's birth record (names, birth date, SNILS, certificate, parents).
    pub birth_record: BirthRecordView,
    /// Benefit assignments held for the child, registered ones included.
    pub assignments: Vec<AssignmentView>,
}

impl Population {
    /// Number of households.
    pub fn household_count(&self) -> usize {
        self.households.len()
    }

    /// The family of household `h`, or `None` past the last.
    pub fn family(&self, h: usize) -> Option<Family> {
        let index = u32::try_from(h).ok()?;
        self.households.get(h)?;
        let adults = self
            .household_adults
            .of(index)
            .iter()
            .filter_map(|&a| self.adult_view(a))
            .collect();
        let children = self
            .household_children
            .of(index)
            .iter()
            .filter_map(|&k| {
                let birth_record = self.birth_record_of(k)?;
                let reg = self.registry();
                let assignments = reg.of_child(k).map(|a| self.assignment_view(a)).collect();
                Some(FamilyChild {
                    birth_record,
                    assignments,
                })
            })
            .collect();
        Some(Family {
            household: h,
            adults,
            children,
            statuses: self.household_statuses(index),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::PopulationConfig;
    use super::*;

    #[test]
    fn every_person_is_in_exactly_one_family_as_export_people_shows_them() {
        let pop = Population::generate(&PopulationConfig {
            seed: 7,
            people: 2_000,
        });
        let families: Vec<Family> = (0..pop.household_count())
            .map(|h| pop.family(h).expect("a family"))
            .collect();
        assert!(pop.family(pop.household_count()).is_none());
        let adults: usize = families.iter().map(|f| f.adults.len()).sum();
        let children: usize = families.iter().map(|f| f.children.len()).sum();
        assert_eq!((adults, children), (pop.adult_count(), pop.child_count()));
        // The sample's valid families are these households, unmodified.
        let people = pop.export_people(50);
        let entry = people["people"]
            .as_array()
            .expect("people")
            .iter()
            .find(|e| e["case"] == "valid")
            .expect("a valid entry");
        let family = families
            .iter()
            .find(|f| {
                f.adults.first().map(|a| a.snils.as_str()) == entry["applicant"]["snils"].as_str()
            })
            .expect("the applicant's household");
        let snils: Vec<&str> = family
            .children
            .iter()
            .map(|c| c.birth_record.child.snils.as_str())
            .collect();
        let exported: Vec<&str> = entry["children"]
            .as_array()
            .expect("children")
            .iter()
            .filter_map(|c| c["birth_record"]["child"]["snils"].as_str())
            .collect();
        assert_eq!(snils, exported);
        assert_eq!(
            family.statuses.len(),
            entry["statuses"].as_array().map_or(0, Vec::len)
        );
    }
}
