//! One-pass generation of the synthetic population from a seed.
//!
//! Households are generated one after another (adults, then children, then the Ministry of Labour's
//! statuses and assignments for them) until the requested number of people is reached. Identifiers
//! come from keyed permutations of running counters, so they are unique without a set of used ones.

use std::sync::RwLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::data::{self, NONE, Pool, REGIONS};
use super::ids::Permutation;
use super::{
    Adult, Assignment, Benefit, CHILD, Child, Disability, DisabilityGroup, Gender, Household,
    LowIncome, MAX_PEOPLE, Members, Population, PopulationConfig, REF, Registry,
};
use crate::calendar::{self, add_months, days_from_civil};
use crate::domain::identifiers;

/// Random numbers reduced to ranges by multiply-shift, which depends only on the ChaCha stream
/// (not on how a `rand` version samples ranges), so the data stays the same across versions.
struct Rand(ChaCha8Rng);

impl Rand {
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (empty range gives `lo`).
    fn range(&mut self, lo: i32, hi: i32) -> i32 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64) as i32
    }

    /// True with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    fn keys(&mut self) -> [u64; 4] {
        [
            self.0.next_u64(),
            self.0.next_u64(),
            self.0.next_u64(),
            self.0.next_u64(),
        ]
    }
}

/// Pool indices of the static tables, interned in a fixed order.
struct Tables {
    male_first: Vec<u32>,
    patronymic_m: Vec<u32>,
    patronymic_f: Vec<u32>,
    female_first: Vec<u32>,
    surname_m: Vec<u32>,
    surname_f: Vec<u32>,
    streets: Vec<u32>,
    houses: Vec<u32>,
    apartments: Vec<u32>,
    /// Per region (index into REGIONS): locality, passport issuer, 4 registry offices, 4 series.
    locality: Vec<u32>,
    issuer: Vec<u32>,
    offices: Vec<[u32; 4]>,
    series: Vec<[u32; 4]>,
    region_weight_total: u64,
}

impl Tables {
    fn new(pool: &mut Pool) -> Tables {
        let mut t = Tables {
            male_first: Vec::new(),
            patronymic_m: Vec::new(),
            patronymic_f: Vec::new(),
            female_first: Vec::new(),
            surname_m: Vec::new(),
            surname_f: Vec::new(),
            streets: Vec::new(),
            houses: Vec::new(),
            apartments: Vec::new(),
            locality: Vec::new(),
            issuer: Vec::new(),
            offices: Vec::new(),
            series: Vec::new(),
            region_weight_total: REGIONS.iter().map(|r| u64::from(r.weight)).sum(),
        };
        for (name, pm, pf) in data::MALE_NAMES {
            t.male_first.push(pool.intern(name));
            t.patronymic_m.push(pool.intern(pm));
            t.patronymic_f.push(pool.intern(pf));
        }
        for name in data::FEMALE_NAMES {
            t.female_first.push(pool.intern(name));
        }
        for s in data::SURNAMES {
            t.surname_m.push(pool.intern(s));
            t.surname_f.push(pool.intern(&data::female_surname(s)));
        }
        for s in data::STREETS {
            t.streets.push(pool.intern(s));
        }
        for n in 1..=160 {
            t.houses.push(pool.intern(&n.to_string()));
        }
        for n in 1..=400 {
            t.apartments.push(pool.intern(&n.to_string()));
        }
        let letters = data::SERIES_LETTERS;
        for (ri, r) in REGIONS.iter().enumerate() {
            t.locality.push(pool.intern(r.centre));
            t.issuer.push(pool.intern(&format!(
                "Отдел по вопросам миграции МВД России, {}",
                r.centre
            )));
            let mut offices = [0; 4];
            let mut series = [0; 4];
            for k in 0..4 {
                offices[k] = pool.intern(&format!(
                    "Отдел записи актов гражданского состояния № {}, {}",
                    k + 1,
                    r.centre
                ));
                let roman = data::ROMAN[(ri + k) % data::ROMAN.len()];
                let a = letters[(ri * 7 + k * 3) % letters.len()];
                let b = letters[(ri * 11 + k * 5 + 1) % letters.len()];
                series[k] = pool.intern(&format!("{roman}-{a}{b}"));
            }
            t.offices.push(offices);
            t.series.push(series);
        }
        t
    }
}

/// Generation state: the population being filled, the random stream and the identifier permutations.
struct Generator {
    rng: Rand,
    t: Tables,
    pop: Population,
    reg: Registry,
    snils: Permutation,
    inn: Permutation,
    passport: Permutation,
    certificate: Permutation,
    act: Permutation,
    people_seq: u64,
}

const YEAR: i32 = 365;

pub(crate) fn generate(config: &PopulationConfig) -> Population {
    let people = config.people.min(MAX_PEOPLE);
    let mut rng = Rand(ChaCha8Rng::seed_from_u64(config.seed));
    let mut pool = Pool::default();
    let t = Tables::new(&mut pool);
    let snils = Permutation::new(898_000_000, rng.keys());
    let inn = Permutation::new(100_000_000, rng.keys());
    let passport = Permutation::new(1_000_000, rng.keys());
    let certificate = Permutation::new(1_000_000, rng.keys());
    let act = Permutation::new(1_000_000, rng.keys());
    let mut g = Generator {
        rng,
        t,
        pop: Population {
            seed: config.seed,
            pool,
            households: Vec::with_capacity(people / 2 + 1),
            household_adults: Members::default(),
            household_children: Members::default(),
            adults: Vec::with_capacity(people * 6 / 10 + 1),
            children: Vec::with_capacity(people / 2 + 1),
            email_overrides: Default::default(),
            snils_index: Vec::new(),
            inn_index: Vec::new(),
            passport_index: Vec::new(),
            certificate_index: Vec::new(),
            registry: RwLock::new(Registry::default()),
        },
        reg: Registry {
            next_seq: 1,
            ..Registry::default()
        },
        snils,
        inn,
        passport,
        certificate,
        act,
        people_seq: 0,
    };
    while g.pop.len() < people {
        let remaining = people - g.pop.len();
        g.household(remaining);
    }
    let mut pop = g.pop;
    let households = pop.households.len();
    pop.household_adults = Members::build(households, pop.adults.iter().map(|a| a.household));
    pop.household_children = Members::build(households, pop.children.iter().map(|c| c.household));
    // Assignments need the household members (large-family periods), so they come last, in
    // household order, which keeps the registry ordered by child.
    let mut gen_assign = Assigner {
        rng: &mut g.rng,
        reg: &mut g.reg,
    };
    for h in 0..households as u32 {
        gen_assign.household(&pop, h);
    }
    pop.registry = RwLock::new(g.reg);
    if let Err((key, value)) = pop.build_indexes() {
        // Unique by construction (permutations of counters); kept as a loud check in debug builds.
        debug_assert!(false, "duplicate {key} {value} in generated data");
    }
    pop
}

impl Generator {
    fn region(&mut self) -> usize {
        let mut w = self.rng.below(self.t.region_weight_total);
        for (i, r) in REGIONS.iter().enumerate() {
            if w < u64::from(r.weight) {
                return i;
            }
            w -= u64::from(r.weight);
        }
        0
    }

    fn next_snils(&mut self) -> u64 {
        let body = 101_000_000 + self.snils.apply(self.people_seq) as u32;
        self.people_seq += 1;
        identifiers::snils_from_body(body)
    }

    /// One household of at most `remaining` people.
    fn household(&mut self, remaining: usize) {
        let ri = self.region();
        let h = self.pop.households.len() as u32;
        let roll = self.rng.below(100);
        // (mother?, father?, wants children)
        let (mother, father, kids) = match roll {
            _ if remaining == 1 => (self.rng.chance(500), false, false),
            0..=17 => {
                let female = self.rng.chance(500);
                (female, !female, false)
            }
            18..=27 => (true, true, false),
            28..=84 => (true, true, true),
            85..=97 => (true, false, true),
            _ => (false, true, true),
        };
        let (mother, father) = if !mother && !father {
            (true, false)
        } else {
            (mother, father)
        };
        let want = if kids {
            match self.rng.below(100) {
                0..=37 => 1,
                38..=71 => 2,
                72..=88 => 3,
                89..=94 => 4,
                95..=97 => 5,
                98 => 6,
                _ => 7 + self.rng.below(3) as usize,
            }
        } else {
            0
        };
        let adults = usize::from(mother) + usize::from(father);
        let want = want.min(remaining.saturating_sub(adults));
        let kids = want > 0;

        let surname = self.rng.pick(data::SURNAMES.len());
        let mother_age_days = if kids {
            self.rng.range(21 * YEAR, 48 * YEAR)
        } else {
            self.rng.range(18 * YEAR, 85 * YEAR)
        };
        let mother_birth = REF - mother_age_days;
        let father_birth =
            (mother_birth - self.rng.range(-3 * YEAR, 7 * YEAR)).min(REF - 18 * YEAR);
        let region = REGIONS[ri].code;
        let address = self.address(ri);

        let mut mother_idx = NONE;
        let mut father_idx = NONE;
        if mother {
            let last = if !father || self.rng.chance(900) {
                self.t.surname_f[surname]
            } else {
                self.t.surname_f[self.rng.pick(data::SURNAMES.len())]
            };
            mother_idx = self.adult(Gender::Female, last, mother_birth, h, ri, &address);
        }
        if father {
            let last = self.t.surname_m[surname];
            father_idx = self.adult(Gender::Male, last, father_birth, h, ri, &address);
        }
        // The father's first name gives the children's patronymic; single mothers give one of
        // their choice.
        let father_name = if father_idx != NONE {
            self.pop
                .adults
                .get(father_idx as usize)
                .and_then(|a| self.t.male_first.iter().position(|&m| m == a.first))
                .unwrap_or(0)
        } else {
            self.rng.pick(data::MALE_NAMES.len())
        };

        let mut birth = add_months(mother_birth, 12 * 19) + self.rng.range(0, 14 * YEAR);
        let first_child = self.pop.children.len();
        for _ in 0..want {
            if birth > REF - 30 {
                break;
            }
            self.child(h, ri, birth, surname, father_name, mother_idx, father_idx);
            birth += self.rng.range(330, 1800);
        }
        let n_kids = self.pop.children.len() - first_child;

        let mut hh = Household {
            region,
            large_family_registered: self.rng.chance(900),
            low_income: None,
        };
        if n_kids > 0 {
            let roll = self.rng.below(1000);
            if roll < 270 {
                let minimum = u64::from(REGIONS[ri].minimum_kopecks);
                let (from, expired) = if roll < 220 {
                    (REF - self.rng.range(0, 330), false)
                } else {
                    (REF - self.rng.range(400, 700), true)
                };
                let to = add_months(from, 12) - 1;
                let share = self.rng.range(350, 980) as u64;
                let under18 = self.pop.children[first_child..]
                    .iter()
                    .filter(|c| c.birth <= from && from < add_months(c.birth, 216))
                    .count();
                let size = (adults + under18).clamp(1, 50) as u8;
                hh.low_income = Some(LowIncome {
                    income: minimum * share / 1000,
                    minimum,
                    from,
                    to: if expired { to.min(REF - 1) } else { to },
                    size,
                });
            }
        }
        self.pop.households.push(hh);
    }

    fn address(&mut self, ri: usize) -> [u32; 5] {
        let r = &REGIONS[ri];
        let postal = r.postal_prefix * 1000 + self.rng.below(1000) as u32;
        let private = self.rng.chance(120);
        let street = if private && self.rng.chance(300) {
            NONE
        } else {
            self.t.streets[self.rng.pick(self.t.streets.len())]
        };
        let house = self.t.houses[self.rng.pick(self.t.houses.len())];
        let apartment = if private {
            NONE
        } else {
            self.t.apartments[self.rng.pick(self.t.apartments.len())]
        };
        [postal, self.t.locality[ri], street, house, apartment]
    }

    fn adult(
        &mut self,
        gender: Gender,
        last: u32,
        birth: i32,
        h: u32,
        ri: usize,
        address: &[u32; 5],
    ) -> u32 {
        let i = self.pop.adults.len() as u32;
        let region = REGIONS[ri].code;
        let (first, middle) = match gender {
            Gender::Male => {
                let f = self.rng.pick(self.t.male_first.len());
                let p = self.rng.pick(self.t.patronymic_m.len());
                (self.t.male_first[f], self.t.patronymic_m[p])
            }
            Gender::Female => {
                let f = self.rng.pick(self.t.female_first.len());
                let p = self.rng.pick(self.t.patronymic_f.len());
                (self.t.female_first[f], self.t.patronymic_f[p])
            }
        };
        // A few people have no patronymic (the schema makes it optional).
        let middle = if self.rng.chance(15) { NONE } else { middle };
        let snils = self.next_snils();
        let snils_registered =
            (birth + 16 * YEAR).max(days_from_civil(1997, 1, 1)) + self.rng.range(0, 5 * YEAR);
        let inn = identifiers::inn_from_body(
            u64::from(region) * 100_000_000 + self.inn.apply(u64::from(i)),
        );
        let inn_registered =
            (birth + 14 * YEAR).max(days_from_civil(1999, 1, 1)) + self.rng.range(0, 6 * YEAR);
        // Passports are replaced at 14, 20 and 45; the current one is the latest due.
        let due = [45, 20, 14]
            .into_iter()
            .map(|age| add_months(birth, 12 * age))
            .find(|&d| d <= REF - 60)
            .unwrap_or(birth + 14 * YEAR);
        let passport_issued = (due + self.rng.range(0, 60)).min(REF - 1);
        let passport_series =
            u16::from(region) * 100 + (calendar::year_of(passport_issued) % 100) as u16;
        let issuer_code = u32::from(region) * 10_000
            + self.rng.below(4) as u32 * 1000
            + 1
            + self.rng.below(99) as u32;
        self.pop.adults.push(Adult {
            last,
            first,
            middle,
            household: h,
            snils,
            inn,
            phone: 9_000_000_000 + self.rng.below(1_000_000_000),
            birth,
            snils_registered: snils_registered.min(REF - 1),
            inn_registered: inn_registered.min(REF - 1),
            passport_issued,
            passport_series,
            gender,
            region,
            passport_number: self.passport.apply(u64::from(i)) as u32,
            issuer: self.t.issuer[ri],
            issuer_code,
            postal_code: address[0],
            locality: address[1],
            street: address[2],
            house: address[3],
            apartment: address[4],
        });
        i
    }

    #[allow(clippy::too_many_arguments)]
    fn child(
        &mut self,
        h: u32,
        ri: usize,
        birth: i32,
        surname: usize,
        father_name: usize,
        mother: u32,
        father: u32,
    ) {
        let i = self.pop.children.len() as u32;
        let gender = if self.rng.chance(512) {
            Gender::Male
        } else {
            Gender::Female
        };
        let (last, first, middle) = match gender {
            Gender::Male => (
                self.t.surname_m[surname],
                self.t.male_first[self.rng.pick(self.t.male_first.len())],
                self.t.patronymic_m[father_name],
            ),
            Gender::Female => (
                self.t.surname_f[surname],
                self.t.female_first[self.rng.pick(self.t.female_first.len())],
                self.t.patronymic_f[father_name],
            ),
        };
        // Most children are born in their household's region.
        let bri = if self.rng.chance(900) {
            ri
        } else {
            self.rng.pick(REGIONS.len())
        };
        let office = self.rng.pick(4);
        let act_date = (birth + self.rng.range(3, 30)).min(REF - 1);
        let snils = self.next_snils();
        let region = REGIONS[bri].code;
        let act_number = 1_000_000_000_000_000
            + u64::from(region) * 10_000_000_000_000
            + (office as u64 + 1) * 10_000_000_000
            + calendar::year_of(act_date) as u64 * 1_000_000
            + self.act.apply(u64::from(i));
        let disability = if self.rng.chance(25) {
            let from = birth + self.rng.range(30, (REF - birth).max(31));
            let to = match self.rng.below(10) {
                0..=5 => Some(add_months(birth, 216) - 1),
                6..=8 => Some(add_months(from, 12 * (1 + self.rng.range(0, 2))) - 1),
                _ => None,
            };
            Some(Disability {
                group: DisabilityGroup::Child,
                from: from.min(REF - 1),
                to,
            })
        } else {
            None
        };
        self.pop.children.push(Child {
            last,
            first,
            middle,
            household: h,
            mother,
            father,
            snils,
            act_number,
            birth,
            snils_registered: (birth + self.rng.range(10, 60)).min(REF - 1),
            certificate_issued: act_date,
            act_date,
            certificate_series: self.t.series[bri][office],
            certificate_number: self.certificate.apply(u64::from(i)) as u32,
            office_code: u32::from(region) * 1_000_000 + 1000 + office as u32 + 1,
            office_name: self.t.offices[bri][office],
            birth_locality: self.t.locality[bri],
            disability,
            gender,
            birth_region: region,
        });
    }
}

/// Generates the Ministry of Labour's assignments once all households exist.
struct Assigner<'a> {
    rng: &'a mut Rand,
    reg: &'a mut Registry,
}

impl Assigner<'_> {
    fn household(&mut self, pop: &Population, h: u32) {
        let Some(hh) = pop.households.get(h as usize) else {
            return;
        };
        let large = if hh.large_family_registered {
            pop.large_family_period(h).filter(|p| p.to >= REF)
        } else {
            None
        };
        for &k in pop.household_children.of(h) {
            let Some(c) = pop.children.get(k as usize) else {
                continue;
            };
            let (mother, father) = (c.mother, c.father);
            let main = if mother != NONE { mother } else { father };
            let other_or = |p: u32| {
                if p == mother && father != NONE {
                    father
                } else if p == father && mother != NONE {
                    mother
                } else {
                    p
                }
            };
            let region = hh.region;
            // Childcare up to 18 months, after the maternity leave.
            let end_1_5 = add_months(c.birth, 18) - 1;
            if end_1_5 >= REF && self.rng.chance(700) {
                let to_father = self.rng.chance(100);
                let recipient = if to_father { other_or(main) } else { main };
                let from = (c.birth + 70).min(REF);
                let amount = self.rng.range(922_724, 6_899_448) as u64;
                self.assign(
                    k,
                    recipient,
                    Benefit::ChildcareUnder1_5,
                    region,
                    from,
                    Some(end_1_5),
                    amount,
                    other_or(recipient),
                );
            }
            if let Some(li) = hh.low_income
                && li.to >= REF
                && add_months(c.birth, 12 * 17) > REF
                && self.rng.chance(850)
            {
                let share = [50, 75, 100][self.rng.pick(3)];
                let amount = li.minimum * share / 100;
                self.assign(
                    k,
                    main,
                    Benefit::UnifiedAllowance,
                    region,
                    li.from,
                    Some(li.to),
                    amount,
                    other_or(main),
                );
            }
            if let Some(p) = &large
                && p.children.contains(&k)
                && self.rng.chance(500)
            {
                let amount = self.rng.range(1000, 5000) as u64 * 100;
                let from = p.from.max(REF - self.rng.range(0, 3 * YEAR));
                self.assign(
                    k,
                    main,
                    Benefit::LargeFamily,
                    region,
                    from,
                    Some(p.to),
                    amount,
                    other_or(main),
                );
            }
            if let Some(d) = c.disability
                && d.to.is_none_or(|t| t >= REF)
                && self.rng.chance(800)
            {
                let recipient = if self.rng.chance(200) {
                    other_or(main)
                } else {
                    main
                };
                let amount = self.rng.range(1_900_000, 2_600_000) as u64;
                self.assign(
                    k,
                    recipient,
                    Benefit::DisabledChild,
                    region,
                    d.from,
                    d.to,
                    amount,
                    other_or(recipient),
                );
            }
        }
    }

    /// Record an assignment; now and then a second, overlapping one for the same child and benefit
    /// (to the other parent when there is one): the deliberate duplicates.
    #[allow(clippy::too_many_arguments)]
    fn assign(
        &mut self,
        child: u32,
        recipient: u32,
        benefit: Benefit,
        region: u8,
        from: i32,
        to: Option<i32>,
        amount: u64,
        other: u32,
    ) {
        if recipient == NONE || recipient & CHILD != 0 {
            return;
        }
        self.push(child, recipient, benefit, region, from, to, amount);
        if self.rng.chance(40) && other != NONE {
            let shift = self.rng.range(0, 60);
            let from2 = to.map_or(from + shift, |t| (from + shift).min(t));
            self.push(child, other, benefit, region, from2, to, amount);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        child: u32,
        recipient: u32,
        benefit: Benefit,
        region: u8,
        from: i32,
        to: Option<i32>,
        amount: u64,
    ) {
        let seq = self.reg.next_seq;
        let year = calendar::year_of(from);
        self.reg.push(Assignment {
            child,
            recipient,
            benefit,
            region,
            year: u16::try_from(year).unwrap_or(0),
            seq,
            from,
            to,
            amount,
            application: format!("GEN-{year}-{seq:08}").into(),
        });
    }
}
