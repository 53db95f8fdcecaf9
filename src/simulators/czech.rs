//! Realistic Czech customers and products for the simulated FAPI account, from a seed.

use rand::Rng;
use rust_decimal::Decimal;

use crate::platform::text::ascii_fold;

/// (first name, surname) pairs with the surname in the matching gender.
const MEN: &[&str] = &[
    "Jan", "Petr", "Tomáš", "Martin", "Jakub", "Lukáš", "Ondřej", "Jiří", "Pavel", "David",
    "Michal", "Vojtěch",
];
const WOMEN: &[&str] = &[
    "Jana",
    "Petra",
    "Lucie",
    "Tereza",
    "Eva",
    "Kateřina",
    "Veronika",
    "Markéta",
    "Barbora",
    "Hana",
    "Lenka",
    "Klára",
];
const SURNAMES: &[(&str, &str)] = &[
    ("Novák", "Nováková"),
    ("Svoboda", "Svobodová"),
    ("Novotný", "Novotná"),
    ("Dvořák", "Dvořáková"),
    ("Černý", "Černá"),
    ("Procházka", "Procházková"),
    ("Kučera", "Kučerová"),
    ("Veselý", "Veselá"),
    ("Horák", "Horáková"),
    ("Němec", "Němcová"),
    ("Pokorný", "Pokorná"),
    ("Marek", "Marková"),
    ("Pospíšil", "Pospíšilová"),
    ("Hájek", "Hájková"),
];
const DOMAINS: &[&str] = &[
    "seznam.cz",
    "email.cz",
    "gmail.com",
    "centrum.cz",
    "post.cz",
    "volny.cz",
];
const CITIES: &[(&str, &str)] = &[
    ("Praha", "110 00"),
    ("Brno", "602 00"),
    ("Ostrava", "702 00"),
    ("Plzeň", "301 00"),
    ("Olomouc", "779 00"),
    ("Liberec", "460 01"),
    ("České Budějovice", "370 01"),
    ("Hradec Králové", "500 02"),
];
const STREETS: &[&str] = &[
    "Masarykova",
    "Husova",
    "Nádražní",
    "Palackého",
    "Školní",
    "Zahradní",
    "Lipová",
    "Komenského",
];
const COMPANIES: &[&str] = &[
    "Kavárna U Lípy s.r.o.",
    "Studio Pohyb z.s.",
    "Tiskárna Rychle s.r.o.",
    "Účetnictví Horák",
];

/// A product of the simulated shop. Prices are unit prices without VAT for VAT payers.
#[derive(Debug, Clone)]
pub struct Product {
    pub name: &'static str,
    pub code: Option<&'static str>,
    pub price_czk: Decimal,
    pub price_eur: Decimal,
    pub vat: Decimal,
}

pub fn products() -> Vec<Product> {
    let p = |name, code, czk: i64, eur: i64, vat: i64| Product {
        name,
        code,
        price_czk: Decimal::new(czk, 2),
        price_eur: Decimal::new(eur, 2),
        vat: Decimal::new(vat, 0),
    };
    vec![
        p(
            "Online kurz: Základy marketingu",
            Some("KURZ-MKT"),
            247_851,
            9_900,
            21,
        ),
        p(
            "E-book: Jak na e-mailing",
            Some("EBOOK-01"),
            32_231,
            1_300,
            21,
        ),
        p("Konzultace 60 minut", None, 165_289, 6_600, 21),
        p(
            "Členství v klubu (měsíc)",
            Some("KLUB-M"),
            40_496,
            1_600,
            21,
        ),
        p(
            "Workshop Praha – vstupenka",
            Some("WS-PRG"),
            123_967,
            4_900,
            12,
        ),
        p("Tištěná kniha: Prodej online", None, 44_554, 1_800, 12),
        p(
            "Videokurz: Excel pro podnikatele",
            Some("KURZ-XLS"),
            123_884,
            4_900,
            21,
        ),
    ]
}

#[derive(Debug, Clone)]
pub struct Person {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone: String,
    pub street: String,
    pub city: String,
    pub zip: String,
    pub company: Option<String>,
    /// IČ and DIČ of the company, if any.
    pub ic: Option<String>,
    pub dic: Option<String>,
}

/// A person; `serial` keeps e-mails unique across a generated data set.
pub fn person(rng: &mut impl Rng, serial: u64) -> Person {
    let woman = rng.gen_bool(0.5);
    let (first, surname_pair) = if woman {
        (
            WOMEN[rng.gen_range(0..WOMEN.len())],
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
        )
    } else {
        (
            MEN[rng.gen_range(0..MEN.len())],
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
        )
    };
    let last = if woman {
        surname_pair.1
    } else {
        surname_pair.0
    };
    let domain = DOMAINS[rng.gen_range(0..DOMAINS.len())];
    let email = format!(
        "{}.{}{}@{}",
        ascii_fold(first),
        ascii_fold(last),
        serial,
        domain
    )
    .to_lowercase();
    let (city, zip) = CITIES[rng.gen_range(0..CITIES.len())];
    Person {
        first_name: first.to_string(),
        last_name: last.to_string(),
        email,
        phone: format!(
            "+420 {} {:03} {:03}",
            rng.gen_range(601..=799),
            rng.gen_range(0..1000),
            rng.gen_range(0..1000)
        ),
        street: format!(
            "{} {}",
            STREETS[rng.gen_range(0..STREETS.len())],
            rng.gen_range(1..200)
        ),
        city: city.to_string(),
        zip: zip.to_string(),
        company: rng
            .gen_bool(0.1)
            .then(|| COMPANIES[rng.gen_range(0..COMPANIES.len())].to_string()),
        ic: None,
        dic: None,
    }
    .with_company_numbers(serial)
}

impl Person {
    /// IČ and DIČ for a person with a company (derived from the serial, so the random
    /// sequence of a seed stays as it was).
    pub fn with_company_numbers(mut self, serial: u64) -> Person {
        if self.company.is_some() {
            let ic = format!("{:08}", 10_000_000 + (serial * 7_919) % 89_999_999);
            self.dic = Some(format!("CZ{ic}"));
            self.ic = Some(ic);
        } else {
            self.ic = None;
            self.dic = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_same_seed_gives_the_same_people() {
        let mut a = rand::rngs::StdRng::seed_from_u64(42);
        let mut b = rand::rngs::StdRng::seed_from_u64(42);
        for serial in 0..20 {
            let (x, y) = (person(&mut a, serial), person(&mut b, serial));
            assert_eq!(x.email, y.email);
            assert!(x.email.is_ascii(), "{}", x.email);
        }
    }
}
