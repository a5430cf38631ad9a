//! Unit tests for the datatypes module: every builtin's lexical space (valid and invalid forms), value
//! equality/order/keys, every facet at derivation and validation time, and no-panic property tests.

use std::cmp::Ordering;

use super::*;

fn ns(p: &str) -> Option<String> {
    match p {
        "" => None,
        "a" => Some("urn:a".into()),
        _ => None,
    }
}

fn p(b: Builtin, s: &str) -> Result<Value, DatatypeError> {
    parse(b, s, &ns)
}

fn ok(b: Builtin, s: &str) -> Value {
    match p(b, s) {
        Ok(v) => v,
        Err(e) => panic!("{b} {s:?} should be valid: {e}"),
    }
}

#[track_caller]
fn valid(b: Builtin, cases: &[&str]) {
    for s in cases {
        assert!(p(b, s).is_ok(), "{b}: {s:?} should be valid: {:?}", p(b, s));
    }
}

#[track_caller]
fn invalid(b: Builtin, cases: &[&str]) {
    for s in cases {
        assert!(
            p(b, s).is_err(),
            "{b}: {s:?} should be invalid: {:?}",
            p(b, s)
        );
    }
}

#[test]
fn names_round_trip_and_hierarchy() {
    for b in Builtin::ALL {
        assert_eq!(Builtin::from_name(b.name()), Some(b));
        assert!(b.derives_from(b));
        assert!(b.derives_from(Builtin::AnySimpleType));
    }
    assert_eq!(Builtin::from_name("ID"), Some(Builtin::Id));
    assert_eq!(Builtin::from_name("IDREFS"), Some(Builtin::IdRefs));
    assert_eq!(Builtin::from_name("NMTOKEN"), Some(Builtin::NmToken));
    assert_eq!(Builtin::from_name("id"), None);
    assert_eq!(Builtin::Byte.primitive(), Builtin::Decimal);
    assert_eq!(Builtin::Id.primitive(), Builtin::String);
    assert_eq!(Builtin::GMonth.primitive(), Builtin::GMonth);
    assert_eq!(Builtin::NmTokens.primitive(), Builtin::AnySimpleType);
    assert_eq!(Builtin::AnySimpleType.base(), None);
    assert_eq!(Builtin::UnsignedByte.base(), Some(Builtin::UnsignedShort));
    assert!(Builtin::UnsignedByte.derives_from(Builtin::NonNegativeInteger));
    assert!(!Builtin::Integer.derives_from(Builtin::Long));
    assert!(!Builtin::Float.derives_from(Builtin::Double));
    assert!(Builtin::Decimal.is_primitive() && !Builtin::Integer.is_primitive());
    assert!(!Builtin::IdRefs.is_primitive() && !Builtin::AnySimpleType.is_primitive());
    assert_eq!(Builtin::ALL.iter().filter(|b| b.is_primitive()).count(), 19);
    assert_eq!(Builtin::IdRefs.list_item(), Some(Builtin::IdRef));
    assert_eq!(Builtin::Entities.list_item(), Some(Builtin::Entity));
    assert_eq!(Builtin::NmTokens.list_item(), Some(Builtin::NmToken));
    assert_eq!(Builtin::Token.list_item(), None);
}

#[test]
fn whitespace_per_builtin_and_normalize() {
    assert_eq!(Builtin::String.whitespace(), WhiteSpace::Preserve);
    assert_eq!(Builtin::NormalizedString.whitespace(), WhiteSpace::Replace);
    assert_eq!(Builtin::Token.whitespace(), WhiteSpace::Collapse);
    assert_eq!(Builtin::Int.whitespace(), WhiteSpace::Collapse);
    assert!(
        WhiteSpace::Preserve < WhiteSpace::Replace && WhiteSpace::Replace < WhiteSpace::Collapse
    );
    assert_eq!(normalize(WhiteSpace::Preserve, " a\tb "), " a\tb ");
    assert_eq!(normalize(WhiteSpace::Replace, " a\tb\r\n"), " a b  ");
    assert_eq!(normalize(WhiteSpace::Collapse, "  a \t\n b  c "), "a b c");
    assert_eq!(normalize(WhiteSpace::Collapse, "\n\t "), "");
    for (given, collapsed) in [
        ("a b c", "a b c"),
        ("a  b", "a b"),
        (" a", "a"),
        ("a ", "a"),
        ("a\u{a0}b", "a\u{a0}b"),
        ("a\u{7f}\tb", "a\u{7f} b"),
        ("", ""),
    ] {
        assert_eq!(
            normalize(WhiteSpace::Collapse, given),
            collapsed,
            "{given:?}"
        );
        let borrowed = matches!(normalize(WhiteSpace::Collapse, given), Cow::Borrowed(_));
        assert_eq!(borrowed, given == collapsed, "{given:?}");
    }
    assert!(matches!(
        normalize(WhiteSpace::Collapse, "a b"),
        std::borrow::Cow::Borrowed(_)
    ));
    assert_eq!(
        WhiteSpace::from_name("collapse"),
        Some(WhiteSpace::Collapse)
    );
    assert_eq!(WhiteSpace::Replace.name(), "replace");
}

#[test]
fn facet_applicability() {
    use FacetKind as K;
    assert!(Builtin::String.facet_applicable(K::Length));
    assert!(!Builtin::String.facet_applicable(K::MaxInclusive));
    assert!(Builtin::Boolean.facet_applicable(K::Pattern));
    assert!(!Builtin::Boolean.facet_applicable(K::Enumeration));
    assert!(Builtin::Int.facet_applicable(K::TotalDigits));
    assert!(!Builtin::Int.facet_applicable(K::Length));
    assert!(!Builtin::Float.facet_applicable(K::TotalDigits));
    assert!(Builtin::Date.facet_applicable(K::MinExclusive));
    assert!(Builtin::HexBinary.facet_applicable(K::MaxLength));
    assert!(Builtin::QName.facet_applicable(K::Length));
    assert!(Builtin::NmTokens.facet_applicable(K::MinLength));
    assert!(!Builtin::NmTokens.facet_applicable(K::MaxInclusive));
    assert!(!Builtin::AnySimpleType.facet_applicable(K::Pattern));
    for k in [
        K::Length,
        K::Pattern,
        K::TotalDigits,
        K::FractionDigits,
        K::WhiteSpace,
        K::MinInclusive,
    ] {
        assert_eq!(FacetKind::from_name(k.name()), Some(k));
    }
}

#[test]
fn string_family() {
    valid(Builtin::String, &["", " a\tb\n", "любое"]);
    valid(Builtin::AnySimpleType, &["", "x y"]);
    valid(Builtin::NormalizedString, &["", " a  b "]);
    invalid(Builtin::NormalizedString, &["a\tb", "a\nb", "a\rb"]);
    valid(Builtin::Token, &["", "a b", "one"]);
    invalid(Builtin::Token, &[" a", "a ", "a  b", "a\tb"]);
    valid(
        Builtin::Language,
        &[
            "en",
            "en-US",
            "x-klingon",
            "zh-Hant-TW",
            "abcdefgh-12345678",
            "i-1",
        ],
    );
    invalid(
        Builtin::Language,
        &[
            "",
            "en-",
            "-en",
            "abcdefghi",
            "en-123456789",
            "1en",
            "en US",
            "e_n",
        ],
    );
}

#[test]
fn name_family() {
    valid(
        Builtin::Name,
        &[
            "_foo",
            "fo124",
            "fo:foo",
            ":foo",
            "fo:fo_124-.s:da3",
            "имя",
            "a\u{300}",
        ],
    );
    invalid(
        Builtin::Name,
        &[
            "", "1fo", ".foo", "-foo", "fo:'-foo", "@test", "//foo", "a b",
        ],
    );
    for b in [
        Builtin::NCName,
        Builtin::Id,
        Builtin::IdRef,
        Builtin::Entity,
    ] {
        valid(b, &["_foo", "fo124", "fo_124-.sda3", "Ñandú"]);
        invalid(
            b,
            &["", "1fo", ".foo", "-foo", "fo:foo", ":foo", "@test", "a b"],
        );
    }
    valid(Builtin::NmToken, &["1fo", ".foo", "-foo", "a:b", "x"]);
    invalid(Builtin::NmToken, &["", "a b", "@", "a,b"]);
}

#[test]
fn list_builtins() {
    assert_eq!(
        ok(Builtin::NmTokens, "a 1 -b"),
        Value::List(vec![
            Value::String("a".into()),
            Value::String("1".into()),
            Value::String("-b".into())
        ])
    );
    valid(Builtin::IdRefs, &["a", "a b c"]);
    invalid(Builtin::IdRefs, &["", "a 1b"]);
    valid(Builtin::Entities, &["e1 e2"]);
    invalid(Builtin::Entities, &["e:1"]);
    invalid(Builtin::NmTokens, &["", "a @"]);
}

#[test]
fn qname_and_notation() {
    assert_eq!(
        ok(Builtin::QName, "a:x"),
        Value::QName {
            ns: Some("urn:a".into()),
            local: "x".into()
        }
    );
    assert_eq!(
        ok(Builtin::QName, "x"),
        Value::QName {
            ns: None,
            local: "x".into()
        }
    );
    assert_eq!(
        ok(Builtin::Notation, "a:n"),
        Value::Notation {
            ns: Some("urn:a".into()),
            local: "n".into()
        }
    );
    invalid(
        Builtin::QName,
        &["", "b:x", ":x", "a:", "a:b:c", "1a", "a:1"],
    );
    invalid(Builtin::Notation, &["zz:x", ""]);
    let with_default = |p: &str| {
        if p.is_empty() {
            Some("urn:d".to_string())
        } else {
            None
        }
    };
    assert_eq!(
        parse(Builtin::QName, "x", &with_default).ok(),
        Some(Value::QName {
            ns: Some("urn:d".into()),
            local: "x".into()
        })
    );
    assert!(!ok(Builtin::QName, "a:x").same(&ok(Builtin::Notation, "a:x")));
}

#[test]
fn any_uri() {
    valid(
        Builtin::AnyUri,
        &[
            "",
            "http://www.w3.org/1999/XMLSchema",
            "mailto:x@y.z",
            "C:/dir/file.htm#frag",
            "../a%20b",
            "urn:isbn:0451450523",
            "b:",
            "a b",
            "имя",
        ],
    );
    invalid(Builtin::AnyUri, &["a#b#c", "%", "%4", "%zz", ":a", "1a:b"]);
    assert!(!ok(Builtin::AnyUri, "x").same(&ok(Builtin::String, "x")));
}

#[test]
fn boolean() {
    assert_eq!(ok(Builtin::Boolean, "1"), Value::Boolean(true));
    assert_eq!(ok(Builtin::Boolean, "false"), Value::Boolean(false));
    valid(Builtin::Boolean, &["true", "0"]);
    invalid(Builtin::Boolean, &["", "TRUE", "yes", "2", "True"]);
}

#[test]
fn decimal_lexical_and_value() {
    valid(
        Builtin::Decimal,
        &[
            "0",
            "-1.23",
            "+100000.00",
            "210",
            ".5",
            "1.",
            "00012.3400",
            "-0",
        ],
    );
    invalid(
        Builtin::Decimal,
        &[
            "", ".", "+", "-.", "1e2", "1.2.3", "1,5", "INF", "NaN", " 1",
        ],
    );
    assert!(ok(Builtin::Decimal, "1.0").same(&ok(Builtin::Decimal, "1.00")));
    assert!(ok(Builtin::Decimal, "-0").same(&ok(Builtin::Decimal, "0.0")));
    assert!(ok(Builtin::Decimal, "5").same(&ok(Builtin::Integer, "+005")));
    assert_eq!(
        ok(Builtin::Decimal, "1.0").key(),
        ok(Builtin::Integer, "1").key()
    );
    assert_ne!(
        ok(Builtin::Decimal, "1").key(),
        ok(Builtin::String, "1").key()
    );
    assert_eq!(
        ok(Builtin::Decimal, "0.5").compare(&ok(Builtin::Decimal, "0.51")),
        Some(Ordering::Less)
    );
    assert_eq!(
        ok(Builtin::Decimal, "-2").compare(&ok(Builtin::Decimal, "-10")),
        Some(Ordering::Greater)
    );
    assert_eq!(
        ok(Builtin::Decimal, "10").compare(&ok(Builtin::Decimal, "9.99")),
        Some(Ordering::Greater)
    );
    assert_eq!(
        ok(Builtin::Decimal, "1").compare(&ok(Builtin::Float, "1")),
        None
    );
}

#[test]
fn decimal_arithmetic() {
    let d = |s: &str| lexical::decimal(s).unwrap_or_default();
    assert_eq!(d("1.5").add(&d("2.75")), d("4.25"));
    assert_eq!(d("1.5").sub(&d("2.75")), d("-1.25"));
    assert_eq!(d("-0.001").add(&d("0.001")), d("0"));
    assert_eq!(d("999.99").add(&d("0.01")), d("1000"));
    assert_eq!(d("0.05").sub(&d("0.5")), d("-0.45"));
    assert_eq!(d("123.4500").total_digits(), 5);
    assert_eq!(d("0.0045").total_digits(), 2);
    assert_eq!(d("0").total_digits(), 1);
    assert_eq!(d("12.340").fraction_digits(), 2);
    assert_eq!(d("-7").to_i128(), Some(-7));
    assert_eq!(d("7.5").to_i128(), None);
    assert_eq!(d("-007.50").to_string(), "-7.5");
}

#[test]
fn integer_types_and_ranges() {
    use Builtin as B;
    valid(
        B::Integer,
        &["0", "-0", "+12", "123456789012345678901234567890"],
    );
    invalid(B::Integer, &["", "1.0", "1.", "+", "1e3", "0x10"]);
    valid(B::NonPositiveInteger, &["0", "-0", "-99999999999999999999"]);
    invalid(B::NonPositiveInteger, &["1", "+1"]);
    valid(B::NegativeInteger, &["-1"]);
    invalid(B::NegativeInteger, &["0", "-0", "1"]);
    valid(
        B::NonNegativeInteger,
        &["0", "-0", "+0", "99999999999999999999"],
    );
    invalid(B::NonNegativeInteger, &["-1"]);
    valid(B::PositiveInteger, &["1", "+007"]);
    invalid(B::PositiveInteger, &["0", "-1"]);
    valid(B::Long, &["-9223372036854775808", "9223372036854775807"]);
    invalid(
        B::Long,
        &[
            "-9223372036854775809",
            "9223372036854775808",
            "99999999999999999999999999999999999999999",
        ],
    );
    valid(B::Int, &["-2147483648", "2147483647"]);
    invalid(B::Int, &["-2147483649", "2147483648"]);
    valid(B::Short, &["-32768", "32767"]);
    invalid(B::Short, &["-32769", "32768"]);
    valid(B::Byte, &["-128", "127", "+0001"]);
    invalid(B::Byte, &["-129", "128", "1.0"]);
    valid(B::UnsignedLong, &["0", "18446744073709551615"]);
    invalid(B::UnsignedLong, &["-1", "18446744073709551616"]);
    valid(B::UnsignedInt, &["4294967295", "-0"]);
    invalid(B::UnsignedInt, &["4294967296"]);
    valid(B::UnsignedShort, &["65535"]);
    invalid(B::UnsignedShort, &["65536"]);
    valid(B::UnsignedByte, &["255", "0"]);
    invalid(B::UnsignedByte, &["256", "-1"]);
}

#[test]
fn float_and_double() {
    for b in [Builtin::Float, Builtin::Double] {
        valid(
            b,
            &[
                "1.0", "1E2", "1e2", "-3.14159", "+0", "-0", "INF", "-INF", "NaN", "12.78E-2",
                "00.121", "1.", ".5",
            ],
        );
        valid(b, &["3.4e38", "1e-50", "-1E+4"]);
        invalid(
            b,
            &[
                "",
                "e",
                "E",
                "+INF",
                "+NaN",
                "-NaN",
                "inf",
                "nan",
                "NAN",
                "1267.432x10",
                "-1E4.4",
                "1e",
                ".",
            ],
        );
        invalid(b, &["13.1513.561", "ABCDEF", "1.0 ", "1_0", "infinity"]);
    }
    invalid(Builtin::Float, &["3.5e38", "1e39"]);
    valid(Builtin::Double, &["3.5e38", "1.7976931348623157e308"]);
    invalid(Builtin::Double, &["1e309"]);
    assert!(ok(Builtin::Float, "NaN").same(&ok(Builtin::Float, "NaN")));
    assert_eq!(
        ok(Builtin::Float, "NaN").compare(&ok(Builtin::Float, "NaN")),
        None
    );
    assert!(ok(Builtin::Float, "0").same(&ok(Builtin::Float, "-0")));
    assert_eq!(
        ok(Builtin::Float, "0").key(),
        ok(Builtin::Float, "-0.0").key()
    );
    assert!(ok(Builtin::Double, "1e2").same(&ok(Builtin::Double, "100")));
    assert!(!ok(Builtin::Double, "1").same(&ok(Builtin::Float, "1")));
    assert_eq!(
        ok(Builtin::Double, "-INF").compare(&ok(Builtin::Double, "-1e308")),
        Some(Ordering::Less)
    );
}

#[test]
fn duration_lexical() {
    valid(
        Builtin::Duration,
        &[
            "P1Y2M3DT10H30M",
            "P1347Y",
            "P1347M",
            "-P1347M",
            "P1Y2MT2H",
            "P0Y1347M0D",
            "PT2153.5S",
            "P0Y0M0DT0H0M0.0001S",
            "P1Y13M15DT12H30M",
            "PT31H",
            "P1D",
            "-P1D",
            "PT0S",
            "PT1.S",
        ],
    );
    invalid(
        Builtin::Duration,
        &[
            "",
            "P",
            "-P",
            "PT",
            "P1Y2MT",
            "P-1347M",
            "P200.5Y",
            "1234Y",
            "T312H",
            "P0Y0M0DT0H-0M0.0001S",
            "P1M1Y",
            "P1Y1Y",
            "PT1D",
            "P1H",
            "+P1D",
            "P1.5D",
            "PT.S",
            "P1YT1H2H",
            "P99999999999999999999999999999999Y",
        ],
    );
}

#[test]
fn duration_values() {
    let d = |s| ok(Builtin::Duration, s);
    assert!(d("P1Y").same(&d("P12M")));
    assert!(d("PT60S").same(&d("PT1M")));
    assert!(d("P1D").same(&d("PT24H")));
    assert!(d("P0D").same(&d("-PT0S")));
    assert!(!d("P1M").same(&d("P30D")));
    assert_eq!(d("P1Y").key(), d("P12M").key());
    assert_eq!(d("P1Y").compare(&d("P365D")), None);
    assert_eq!(d("P1M").compare(&d("P30D")), None);
    assert_eq!(d("P1M").compare(&d("P27D")), Some(Ordering::Greater));
    assert_eq!(d("P1M").compare(&d("P32D")), Some(Ordering::Less));
    assert_eq!(d("P1Y").compare(&d("P367D")), Some(Ordering::Less));
    assert_eq!(d("-P1D").compare(&d("PT1S")), Some(Ordering::Less));
    assert_eq!(d("PT1.5S").compare(&d("PT1.25S")), Some(Ordering::Greater));
}

#[test]
fn date_time_lexical() {
    use Builtin as B;
    valid(
        B::DateTime,
        &[
            "1999-05-31T13:20:00-05:00",
            "2000-02-29T00:00:00Z",
            "-0001-01-01T00:00:00",
            "12345-01-01T00:00:00",
            "2000-01-01T24:00:00",
            "2000-01-01T23:59:59.999999999999+14:00",
            "2000-01-01T00:00:00-14:00",
        ],
    );
    invalid(
        B::DateTime,
        &[
            "",
            "0000-01-01T00:00:00",
            "01999-01-01T00:00:00",
            "99-01-01T00:00:00",
            "1999-02-29T00:00:00",
            "1900-02-29T00:00:00",
            "2000-04-31T00:00:00",
            "2000-13-01T00:00:00",
            "2000-01-01T24:00:01",
            "2000-01-01T24:01:00",
            "2000-01-01T25:00:00",
            "2000-01-01T12:60:00",
            "2000-01-01T12:00:60",
            "2000-01-01T12:00:00.",
            "2000-01-01T12:00:00+14:01",
            "2000-01-01T12:00:00+15:00",
            "2000-01-01T12:00:00+5:00",
            "2000-01-01T12:00:00z",
            "2000-01-01 12:00:00",
            "2000-01-01",
            "+2000-01-01T00:00:00",
            "2000-1-01T00:00:00",
        ],
    );
    valid(
        B::Time,
        &[
            "13:20:00-05:00",
            "13:20:00Z",
            "13:20:00",
            "13:20:00.34",
            "24:00:00",
            "00:00:00+14:00",
        ],
    );
    invalid(
        B::Time,
        &[
            "",
            "1999-05-31T13:20:00-05:00",
            "13:20.4:00",
            "13:20:60",
            "25:20:00",
            "0:20:00",
            "-13:20:00",
            "+13:20:00",
            "13:20",
        ],
    );
    valid(
        B::Date,
        &[
            "2000-02-29",
            "1999-05-31Z",
            "-0044-03-15",
            "2000-01-01+14:00",
        ],
    );
    invalid(
        B::Date,
        &[
            "",
            "1999-02-29",
            "1999-05-31T00:00:00",
            "0000-01-01",
            "1999-5-31",
            "1999-05-32",
        ],
    );
    valid(B::GYearMonth, &["1999-05", "1999-05Z", "-0001-12"]);
    invalid(
        B::GYearMonth,
        &["", "1999", "1999-13", "1999-5", "1999-05-01"],
    );
    valid(B::GYear, &["1999", "-1999", "12345", "1999+05:00"]);
    invalid(B::GYear, &["", "99", "0000", "01999", "1999-01"]);
    valid(B::GMonthDay, &["--02-29", "--12-31Z", "--05-01-05:00"]);
    invalid(
        B::GMonthDay,
        &["", "--02-30", "--04-31", "--13-01", "-02-29", "02-29"],
    );
    valid(B::GDay, &["---01", "---31", "---15Z"]);
    invalid(B::GDay, &["", "---32", "---00", "--01", "---1"]);
    valid(B::GMonth, &["--05", "--12Z", "--05-05:00"]);
    invalid(B::GMonth, &["", "--13", "--00", "--3", "1999-05", "--05--"]);
}

#[test]
fn date_time_values() {
    let dt = |s| ok(Builtin::DateTime, s);
    assert!(dt("2000-01-01T12:00:00Z").same(&dt("2000-01-01T13:00:00+01:00")));
    assert_eq!(
        dt("2000-01-01T12:00:00Z").key(),
        dt("2000-01-01T07:00:00-05:00").key()
    );
    assert!(dt("2000-01-01T24:00:00").same(&dt("2000-01-02T00:00:00")));
    assert!(!dt("2000-01-01T12:00:00").same(&dt("2000-01-01T12:00:00Z")));
    assert_ne!(
        dt("2000-01-01T12:00:00").key(),
        dt("2000-01-01T12:00:00Z").key()
    );
    assert_eq!(
        dt("2000-01-01T12:00:00").compare(&dt("2000-01-01T12:00:00Z")),
        None
    );
    assert_eq!(
        dt("2000-01-01T12:00:00").compare(&dt("2000-01-02T03:00:00Z")),
        Some(Ordering::Less)
    );
    assert_eq!(
        dt("2000-01-02T03:00:00Z").compare(&dt("2000-01-01T12:00:00")),
        Some(Ordering::Greater)
    );
    assert_eq!(
        dt("2000-01-01T12:00:00Z").compare(&dt("2000-01-01T12:00:00.5Z")),
        Some(Ordering::Less)
    );
    assert_eq!(
        dt("-0001-12-31T00:00:00Z").compare(&dt("0001-01-01T00:00:00Z")),
        Some(Ordering::Less)
    );
    let t = |s| ok(Builtin::Time, s);
    assert!(t("24:00:00").same(&t("00:00:00")));
    assert!(t("13:20:00-05:00").same(&t("18:20:00Z")));
    assert_eq!(
        t("13:20:00Z").compare(&t("13:20:01Z")),
        Some(Ordering::Less)
    );
    let d = |s| ok(Builtin::Date, s);
    assert!(!d("2000-01-01").same(&dt("2000-01-01T00:00:00")));
    assert_eq!(
        d("2000-01-01Z").compare(&d("2000-01-02Z")),
        Some(Ordering::Less)
    );
    let gm = |s| ok(Builtin::GMonth, s);
    assert_eq!(gm("--01").compare(&gm("--10")), Some(Ordering::Less));
    assert!(ok(Builtin::GDay, "---05").same(&ok(Builtin::GDay, "---05")));
    assert!(!ok(Builtin::GDay, "---05").same(&gm("--05")));
}

#[test]
fn binary() {
    assert_eq!(
        ok(Builtin::HexBinary, "0fB7"),
        Value::HexBinary(vec![0x0f, 0xb7])
    );
    valid(Builtin::HexBinary, &["", "00", "ABCDEF"]);
    invalid(Builtin::HexBinary, &["0", "0g", "0FB", " 0F", "0 F"]);
    assert_eq!(
        ok(Builtin::Base64Binary, "AQID"),
        Value::Base64Binary(vec![1, 2, 3])
    );
    assert_eq!(
        ok(Builtin::Base64Binary, "AQ=="),
        Value::Base64Binary(vec![1])
    );
    assert_eq!(
        ok(Builtin::Base64Binary, "AQI="),
        Value::Base64Binary(vec![1, 2])
    );
    assert_eq!(
        ok(Builtin::Base64Binary, "A Q I D"),
        Value::Base64Binary(vec![1, 2, 3])
    );
    valid(Builtin::Base64Binary, &["", "AQ= =", "YWJjZA=="]);
    invalid(
        Builtin::Base64Binary,
        &[
            "A", "AQI", "AQ=", "AR==", "AQJ=", "A===", "=AQI", "AQ==AQID", "AQ@D", " AQID",
            "AQ  ID",
        ],
    );
    assert!(!ok(Builtin::HexBinary, "01").same(&ok(Builtin::Base64Binary, "AQ==")));
    assert!(ok(Builtin::Base64Binary, "AQID").same(&ok(Builtin::Base64Binary, "A Q ID")));
}

#[test]
fn list_values_compare_itemwise() {
    let a = ok(Builtin::NmTokens, "a b");
    assert!(a.same(&ok(Builtin::NmTokens, "a b")));
    assert!(!a.same(&ok(Builtin::NmTokens, "a")));
    let forged = Value::List(vec![Value::String("a;6:string|b".into())]);
    assert_ne!(a.key(), forged.key());
    assert_ne!(
        a.key(),
        Value::List(vec![Value::String("a b".into())]).key()
    );
}

#[test]
fn errors_do_not_echo_values() {
    let e = p(Builtin::Int, "4294967296123")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("int") && !e.contains("4294967296123"), "{e}");
    let e = p(Builtin::Language, "secret-value-x")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(!e.contains("secret"), "{e}");
}

// ---- facets ----

fn raw(kind: FacetKind, value: &str) -> RawFacet {
    RawFacet {
        kind,
        value: value.into(),
        fixed: false,
        namespaces: vec![],
    }
}

fn fixed(kind: FacetKind, value: &str) -> RawFacet {
    RawFacet {
        fixed: true,
        ..raw(kind, value)
    }
}

/// The `base_value` callback the schema compiler would supply for a builtin base (or a derived one).
fn base_of(
    b: Builtin,
    facets: &Facets,
) -> impl Fn(&str, &[(String, String)]) -> Result<Value, String> + '_ {
    move |lex: &str, nss: &[(String, String)]| {
        let lex = normalize(facets.whitespace().unwrap_or(b.whitespace()), lex);
        let resolve = |p: &str| nss.iter().find(|(q, _)| q == p).map(|(_, u)| u.clone());
        let v = parse(b, &lex, &resolve).map_err(|e| e.to_string())?;
        facets.check(&lex, &v).map_err(|e| e.to_string())?;
        Ok(v)
    }
}

fn derive(b: Builtin, base: &Facets, raws: &[RawFacet]) -> Result<Facets, FacetError> {
    base.derive(&Variety::Atomic(b), raws, &base_of(b, base))
}

fn derive_builtin(b: Builtin, raws: &[RawFacet]) -> Result<Facets, FacetError> {
    derive(b, &Facets::of_builtin(b), raws)
}

fn check(b: Builtin, f: &Facets, s: &str) -> Result<(), FacetViolation> {
    let lex = normalize(f.whitespace().unwrap_or(b.whitespace()), s);
    let v = parse(b, &lex, &ns).map_err(|_| FacetViolation {
        facet: FacetKind::Pattern,
        expected: "parse".into(),
    })?;
    f.check(&lex, &v)
}

#[track_caller]
fn derive_ok(b: Builtin, raws: &[RawFacet]) -> Facets {
    match derive_builtin(b, raws) {
        Ok(f) => f,
        Err(e) => panic!("{b} {raws:?}: {e}"),
    }
}

#[track_caller]
fn derive_err(b: Builtin, raws: &[RawFacet], facet: FacetKind) {
    match derive_builtin(b, raws) {
        Ok(_) => panic!("{b} {raws:?} should be a schema error"),
        Err(e) => assert_eq!(e.facet, facet, "{e}"),
    }
}

#[test]
fn builtin_facets() {
    let byte = Facets::of_builtin(Builtin::Byte);
    assert!(check(Builtin::Byte, &byte, "127").is_ok());
    assert!(byte.min_inclusive.is_some() && byte.max_inclusive.is_some());
    assert_eq!(
        Facets::of_builtin(Builtin::Integer)
            .fraction_digits
            .map(|f| (f.value, f.fixed)),
        Some((0, true))
    );
    assert_eq!(
        Facets::of_builtin(Builtin::Token).whitespace(),
        Some(WhiteSpace::Collapse)
    );
    assert_eq!(
        Facets::of_builtin(Builtin::String).whitespace(),
        Some(WhiteSpace::Preserve)
    );
    assert_eq!(
        Facets::of_builtin(Builtin::NmTokens)
            .min_length
            .map(|f| f.value),
        Some(1)
    );
    assert!(!Facets::of_builtin(Builtin::String).has_enumeration());
    assert_eq!(
        Facets::of_builtin(Builtin::AnySimpleType).whitespace(),
        None
    );
}

#[test]
fn length_facets() {
    use FacetKind as K;
    let f = derive_ok(Builtin::String, &[raw(K::Length, "5")]);
    assert!(check(Builtin::String, &f, "abcde").is_ok());
    assert!(check(Builtin::String, &f, "ябвгд").is_ok());
    let v = check(Builtin::String, &f, "abcd").err();
    assert_eq!(
        v.map(|v| (v.facet, v.expected)),
        Some((K::Length, "length 5".into()))
    );
    let f = derive_ok(
        Builtin::String,
        &[raw(K::MinLength, "2"), raw(K::MaxLength, "3")],
    );
    assert!(check(Builtin::String, &f, "ab").is_ok());
    assert_eq!(
        check(Builtin::String, &f, "a").err().map(|v| v.facet),
        Some(K::MinLength)
    );
    assert_eq!(
        check(Builtin::String, &f, "abcd").err().map(|v| v.expected),
        Some("maxLength 3".into())
    );
    let f = derive_ok(Builtin::HexBinary, &[raw(K::Length, "2")]);
    assert!(check(Builtin::HexBinary, &f, "0A0B").is_ok());
    assert!(check(Builtin::HexBinary, &f, "0A").is_err());
    let f = derive_ok(Builtin::Base64Binary, &[raw(K::MaxLength, "1")]);
    assert!(check(Builtin::Base64Binary, &f, "AQ==").is_ok());
    assert!(check(Builtin::Base64Binary, &f, "AQI=").is_err());
    let f = derive_ok(Builtin::QName, &[raw(K::Length, "1")]);
    assert!(check(Builtin::QName, &f, "a:long").is_ok());
    let f = derive_ok(Builtin::NmTokens, &[raw(K::MaxLength, "2")]);
    assert!(check(Builtin::NmTokens, &f, "a b").is_ok());
    assert!(check(Builtin::NmTokens, &f, "a b c").is_err());

    for bad in ["", "-1", "a", "1e2", "1.0"] {
        derive_err(Builtin::String, &[raw(K::Length, bad)], K::Length);
        derive_err(Builtin::String, &[raw(K::MinLength, bad)], K::MinLength);
        derive_err(Builtin::String, &[raw(K::MaxLength, bad)], K::MaxLength);
    }
    derive_ok(Builtin::String, &[raw(K::Length, "+0")]);
    derive_err(
        Builtin::String,
        &[raw(K::MinLength, "4"), raw(K::MaxLength, "3")],
        K::MinLength,
    );
    derive_err(
        Builtin::String,
        &[raw(K::Length, "5"), raw(K::MinLength, "1")],
        K::MinLength,
    );
    derive_err(
        Builtin::String,
        &[raw(K::Length, "5"), raw(K::MaxLength, "10")],
        K::MaxLength,
    );
    // Restating the inherited minLength of a built-in list next to length is allowed.
    derive_ok(
        Builtin::IdRefs,
        &[raw(K::Length, "5"), raw(K::MinLength, "1")],
    );
    derive_err(
        Builtin::IdRefs,
        &[raw(K::Length, "5"), raw(K::MinLength, "2")],
        K::MinLength,
    );
    derive_err(Builtin::Int, &[raw(K::Length, "5")], K::Length);
    derive_err(
        Builtin::String,
        &[raw(K::Length, "5"), raw(K::Length, "5")],
        K::Length,
    );

    // Across steps.
    let base = derive_ok(
        Builtin::String,
        &[raw(K::MinLength, "2"), raw(K::MaxLength, "6")],
    );
    assert!(derive(Builtin::String, &base, &[raw(K::Length, "4")]).is_ok());
    assert!(derive(Builtin::String, &base, &[raw(K::Length, "7")]).is_err());
    assert!(derive(Builtin::String, &base, &[raw(K::MinLength, "1")]).is_err());
    assert!(derive(Builtin::String, &base, &[raw(K::MaxLength, "7")]).is_err());
    assert!(
        derive(
            Builtin::String,
            &base,
            &[raw(K::MaxLength, "5"), raw(K::MinLength, "3")]
        )
        .is_ok()
    );
    let base = derive_ok(Builtin::String, &[raw(K::Length, "4")]);
    assert!(derive(Builtin::String, &base, &[raw(K::Length, "4")]).is_ok());
    assert!(derive(Builtin::String, &base, &[raw(K::Length, "3")]).is_err());
    assert!(derive(Builtin::String, &base, &[raw(K::MaxLength, "3")]).is_err());
    let base = derive_ok(Builtin::String, &[fixed(K::MaxLength, "6")]);
    assert!(derive(Builtin::String, &base, &[raw(K::MaxLength, "6")]).is_ok());
    assert!(derive(Builtin::String, &base, &[raw(K::MaxLength, "5")]).is_err());
}

#[test]
fn pattern_facet() {
    use FacetKind as K;
    let f = derive_ok(
        Builtin::String,
        &[raw(K::Pattern, r"\d{3}"), raw(K::Pattern, "[a-z]+")],
    );
    assert!(check(Builtin::String, &f, "123").is_ok());
    assert!(check(Builtin::String, &f, "abc").is_ok());
    let v = check(Builtin::String, &f, "12a").err();
    assert_eq!(
        v.map(|v| v.expected),
        Some(r"pattern \d{3} | [a-z]+".into())
    );
    let g = derive(Builtin::String, &f, &[raw(K::Pattern, "[0-9]+")]).unwrap_or_default();
    assert_eq!(g.patterns.len(), 2);
    assert!(check(Builtin::String, &g, "123").is_ok());
    assert!(check(Builtin::String, &g, "abc").is_err());
    derive_err(Builtin::String, &[raw(K::Pattern, "(")], K::Pattern);
    let f = derive_ok(Builtin::Boolean, &[raw(K::Pattern, "true|false")]);
    assert!(check(Builtin::Boolean, &f, "true").is_ok());
    assert!(check(Builtin::Boolean, &f, "1").is_err());
    // Patterns see the whitespace-normalized lexical form.
    let f = derive_ok(Builtin::Int, &[raw(K::Pattern, "[0-9]{2}")]);
    assert!(check(Builtin::Int, &f, "  42 ").is_ok());
}

#[test]
fn enumeration_facet() {
    use FacetKind as K;
    let f = derive_ok(
        Builtin::Decimal,
        &[raw(K::Enumeration, "1.0"), raw(K::Enumeration, "2.5")],
    );
    assert!(f.has_enumeration());
    assert!(check(Builtin::Decimal, &f, "1").is_ok());
    assert!(check(Builtin::Decimal, &f, "2.50").is_ok());
    assert_eq!(
        check(Builtin::Decimal, &f, "3").err().map(|v| v.expected),
        Some("one of 2 enumerated values".into())
    );
    derive_err(
        Builtin::Byte,
        &[raw(K::Enumeration, "1"), raw(K::Enumeration, "200")],
        K::Enumeration,
    );
    derive_err(
        Builtin::Boolean,
        &[raw(K::Enumeration, "true")],
        K::Enumeration,
    );
    let qn = RawFacet {
        namespaces: vec![("p".into(), "urn:a".into())],
        ..raw(K::Enumeration, "p:x")
    };
    let f = derive_ok(Builtin::QName, &[qn]);
    assert!(check(Builtin::QName, &f, "a:x").is_ok());
    assert!(check(Builtin::QName, &f, "x").is_err());
    let unbound = raw(K::Enumeration, "zz:x");
    derive_err(Builtin::QName, &[unbound], K::Enumeration);
    let f = derive_ok(Builtin::Float, &[raw(K::Enumeration, "NaN")]);
    assert!(check(Builtin::Float, &f, "NaN").is_ok());
    // A later step's enumeration must come from the earlier one.
    let base = derive_ok(
        Builtin::String,
        &[raw(K::Enumeration, "a"), raw(K::Enumeration, "b")],
    );
    assert!(derive(Builtin::String, &base, &[raw(K::Enumeration, "a")]).is_ok());
    assert!(derive(Builtin::String, &base, &[raw(K::Enumeration, "c")]).is_err());
}

#[test]
fn whitespace_facet() {
    use FacetKind as K;
    let f = derive_ok(Builtin::String, &[raw(K::WhiteSpace, "collapse")]);
    assert_eq!(f.whitespace(), Some(WhiteSpace::Collapse));
    derive_ok(Builtin::String, &[raw(K::WhiteSpace, "preserve")]);
    derive_ok(Builtin::NormalizedString, &[raw(K::WhiteSpace, "replace")]);
    derive_err(
        Builtin::NormalizedString,
        &[raw(K::WhiteSpace, "preserve")],
        K::WhiteSpace,
    );
    derive_err(
        Builtin::Token,
        &[raw(K::WhiteSpace, "replace")],
        K::WhiteSpace,
    );
    derive_err(
        Builtin::Int,
        &[raw(K::WhiteSpace, "preserve")],
        K::WhiteSpace,
    );
    derive_ok(Builtin::Int, &[raw(K::WhiteSpace, "collapse")]);
    derive_err(
        Builtin::String,
        &[raw(K::WhiteSpace, "Collapse")],
        K::WhiteSpace,
    );
    let base = derive_ok(Builtin::String, &[fixed(K::WhiteSpace, "replace")]);
    assert!(derive(Builtin::String, &base, &[raw(K::WhiteSpace, "collapse")]).is_err());
    assert!(derive(Builtin::String, &base, &[raw(K::WhiteSpace, "replace")]).is_ok());
}

#[test]
fn bound_facets_check() {
    use FacetKind as K;
    let f = derive_ok(
        Builtin::Int,
        &[raw(K::MinInclusive, "1"), raw(K::MaxExclusive, "10")],
    );
    assert!(check(Builtin::Int, &f, "1").is_ok());
    assert!(check(Builtin::Int, &f, "9").is_ok());
    assert_eq!(
        check(Builtin::Int, &f, "0").err().map(|v| v.expected),
        Some("minInclusive 1".into())
    );
    assert_eq!(
        check(Builtin::Int, &f, "10").err().map(|v| v.facet),
        Some(K::MaxExclusive)
    );
    let f = derive_ok(
        Builtin::Decimal,
        &[raw(K::MinExclusive, "1.5"), raw(K::MaxInclusive, "2.5")],
    );
    assert!(check(Builtin::Decimal, &f, "1.5").is_err());
    assert!(check(Builtin::Decimal, &f, "2.50").is_ok());
    assert!(check(Builtin::Decimal, &f, "2.51").is_err());
    let f = derive_ok(Builtin::Float, &[raw(K::MaxInclusive, "10")]);
    assert!(check(Builtin::Float, &f, "NaN").is_err());
    assert!(check(Builtin::Float, &f, "-INF").is_ok());
    let f = derive_ok(
        Builtin::DateTime,
        &[raw(K::MaxInclusive, "2000-01-01T00:00:00Z")],
    );
    assert!(check(Builtin::DateTime, &f, "1999-12-31T23:00:00Z").is_ok());
    // Indeterminate (no timezone within 14 hours) does not satisfy the bound.
    assert!(check(Builtin::DateTime, &f, "1999-12-31T23:00:00").is_err());
    assert!(check(Builtin::DateTime, &f, "1999-12-30T00:00:00").is_ok());
    let f = derive_ok(Builtin::Duration, &[raw(K::MaxInclusive, "P1M")]);
    assert!(check(Builtin::Duration, &f, "P27D").is_ok());
    assert!(check(Builtin::Duration, &f, "P30D").is_err());
    let f = derive_ok(Builtin::GMonth, &[raw(K::MinInclusive, "--03")]);
    assert!(check(Builtin::GMonth, &f, "--03").is_ok());
    assert!(check(Builtin::GMonth, &f, "--02").is_err());
}

#[test]
fn bound_facets_derive() {
    use FacetKind as K;
    derive_err(
        Builtin::Int,
        &[raw(K::MinInclusive, "1"), raw(K::MinExclusive, "0")],
        K::MinExclusive,
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MaxInclusive, "1"), raw(K::MaxExclusive, "5")],
        K::MaxExclusive,
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MinInclusive, "5"), raw(K::MaxInclusive, "4")],
        K::MinInclusive,
    );
    derive_ok(
        Builtin::Int,
        &[raw(K::MinInclusive, "5"), raw(K::MaxInclusive, "5")],
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MinInclusive, "5"), raw(K::MaxExclusive, "5")],
        K::MinInclusive,
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MinExclusive, "5"), raw(K::MaxInclusive, "5")],
        K::MinExclusive,
    );
    derive_ok(
        Builtin::Int,
        &[raw(K::MinExclusive, "5"), raw(K::MaxExclusive, "5")],
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MinExclusive, "6"), raw(K::MaxExclusive, "5")],
        K::MinExclusive,
    );
    derive_err(
        Builtin::Byte,
        &[raw(K::MaxInclusive, "200")],
        K::MaxInclusive,
    );
    derive_err(
        Builtin::Byte,
        &[raw(K::MinInclusive, "-200")],
        K::MinInclusive,
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MaxInclusive, "abc")],
        K::MaxInclusive,
    );
    derive_err(
        Builtin::Int,
        &[raw(K::MaxInclusive, "1.5")],
        K::MaxInclusive,
    );
    derive_err(
        Builtin::String,
        &[raw(K::MaxInclusive, "a")],
        K::MaxInclusive,
    );
    derive_err(
        Builtin::Boolean,
        &[raw(K::MinInclusive, "0")],
        K::MinInclusive,
    );
    derive_ok(
        Builtin::Date,
        &[
            raw(K::MinInclusive, "2000-01-01"),
            raw(K::MaxInclusive, "2000-12-31"),
        ],
    );
    derive_err(
        Builtin::Date,
        &[
            raw(K::MinInclusive, "2001-01-01"),
            raw(K::MaxInclusive, "2000-12-31"),
        ],
        K::MinInclusive,
    );

    // Against the base's bounds.
    let base = derive_ok(
        Builtin::Int,
        &[raw(K::MinInclusive, "0"), raw(K::MaxExclusive, "100")],
    );
    let d = |raws: &[RawFacet]| derive(Builtin::Int, &base, raws);
    assert!(d(&[raw(K::MaxExclusive, "100")]).is_ok());
    assert!(d(&[raw(K::MaxExclusive, "101")]).is_err());
    assert!(d(&[raw(K::MaxInclusive, "99")]).is_ok());
    assert!(d(&[raw(K::MaxInclusive, "100")]).is_err());
    assert!(d(&[raw(K::MinInclusive, "-1")]).is_err());
    assert!(d(&[raw(K::MinExclusive, "0")]).is_ok());
    assert!(d(&[raw(K::MinExclusive, "-1")]).is_err());
    assert!(d(&[raw(K::MinInclusive, "100")]).is_err());
    let step = d(&[raw(K::MaxInclusive, "50")]).unwrap_or_default();
    assert!(step.max_exclusive.is_none() && step.max_inclusive.is_some());
    assert!(check(Builtin::Int, &step, "50").is_ok() && check(Builtin::Int, &step, "51").is_err());
    // Fixed bounds.
    let base = derive_ok(Builtin::Int, &[fixed(K::MaxInclusive, "10")]);
    assert!(derive(Builtin::Int, &base, &[raw(K::MaxInclusive, "10")]).is_ok());
    assert!(derive(Builtin::Int, &base, &[raw(K::MaxInclusive, "+010")]).is_ok());
    assert!(derive(Builtin::Int, &base, &[raw(K::MaxInclusive, "9")]).is_err());
}

#[test]
fn digits_facets() {
    use FacetKind as K;
    let f = derive_ok(
        Builtin::Decimal,
        &[raw(K::TotalDigits, "4"), raw(K::FractionDigits, "2")],
    );
    assert!(check(Builtin::Decimal, &f, "12.34").is_ok());
    assert!(check(Builtin::Decimal, &f, "0012.3400").is_ok());
    assert_eq!(
        check(Builtin::Decimal, &f, "123.45").err().map(|v| v.facet),
        Some(K::TotalDigits)
    );
    assert_eq!(
        check(Builtin::Decimal, &f, "1.234")
            .err()
            .map(|v| v.expected),
        Some("fractionDigits 2".into())
    );
    derive_err(
        Builtin::Decimal,
        &[raw(K::TotalDigits, "0")],
        K::TotalDigits,
    );
    derive_err(
        Builtin::Decimal,
        &[raw(K::TotalDigits, "-1")],
        K::TotalDigits,
    );
    derive_ok(Builtin::Decimal, &[raw(K::FractionDigits, "0")]);
    derive_err(
        Builtin::Decimal,
        &[raw(K::FractionDigits, "-1")],
        K::FractionDigits,
    );
    derive_err(
        Builtin::Decimal,
        &[raw(K::TotalDigits, "2"), raw(K::FractionDigits, "3")],
        K::FractionDigits,
    );
    derive_err(
        Builtin::Integer,
        &[raw(K::FractionDigits, "1")],
        K::FractionDigits,
    );
    derive_ok(Builtin::Integer, &[raw(K::FractionDigits, "0")]);
    derive_err(Builtin::Float, &[raw(K::TotalDigits, "3")], K::TotalDigits);
    let base = derive_ok(
        Builtin::Decimal,
        &[raw(K::TotalDigits, "5"), raw(K::FractionDigits, "2")],
    );
    assert!(derive(Builtin::Decimal, &base, &[raw(K::TotalDigits, "6")]).is_err());
    assert!(derive(Builtin::Decimal, &base, &[raw(K::TotalDigits, "3")]).is_ok());
    assert!(derive(Builtin::Decimal, &base, &[raw(K::FractionDigits, "3")]).is_err());
    assert!(derive(Builtin::Decimal, &base, &[raw(K::TotalDigits, "1")]).is_err());
    let f = derive_ok(Builtin::Int, &[raw(K::TotalDigits, "2")]);
    assert!(check(Builtin::Int, &f, "-99").is_ok());
    assert!(check(Builtin::Int, &f, "100").is_err());
}

#[test]
fn list_and_union_varieties() {
    use FacetKind as K;
    let base = Facets::default();
    let none = |_: &str, _: &[(String, String)]| Err::<Value, String>("no".into());
    assert!(
        base.derive(&Variety::List, &[raw(K::MaxLength, "3")], &none)
            .is_ok()
    );
    assert!(
        base.derive(&Variety::List, &[raw(K::MaxInclusive, "3")], &none)
            .is_err()
    );
    assert!(
        base.derive(&Variety::Union, &[raw(K::Length, "3")], &none)
            .is_err()
    );
    assert!(
        base.derive(&Variety::Union, &[raw(K::Pattern, "a")], &none)
            .is_ok()
    );
    assert!(
        base.derive(&Variety::Union, &[raw(K::Enumeration, "a")], &none)
            .is_err()
    );
    let any = |s: &str, _: &[(String, String)]| Ok::<Value, String>(Value::String(s.into()));
    let f = base.derive(&Variety::Union, &[raw(K::Enumeration, "a")], &any);
    assert!(f.is_ok_and(|f| f.check("a", &Value::String("a".into())).is_ok()));
    let display = FacetError {
        facet: K::Length,
        message: "x".into(),
    }
    .to_string();
    assert!(display.contains("length"));
}

mod props {
    use proptest::prelude::*;

    use super::super::*;

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}", i in 0usize..45) {
            let b = Builtin::ALL[i];
            let _ = parse(b, &s, &|_| None);
            let _ = parse(b, &normalize(WhiteSpace::Collapse, &s), &|p| (p == "a").then(|| "urn:a".to_string()));
        }

        #[test]
        fn parse_never_panics_on_lexical_alphabet(s in "[-+0-9.:TZPYMDHSeE INFa-fN=/]{0,30}", i in 0usize..45) {
            let b = Builtin::ALL[i];
            if let Ok(v) = parse(b, &s, &|_| None) {
                prop_assert!(v.same(&v));
                prop_assert_eq!(v.key(), v.key());
            }
        }

        #[test]
        fn same_values_share_keys(a in "-?[0-9]{1,6}(\\.[0-9]{0,4})?", b in "-?[0-9]{1,6}(\\.[0-9]{0,4})?") {
            let (Ok(x), Ok(y)) = (parse(Builtin::Decimal, &a, &|_| None), parse(Builtin::Decimal, &b, &|_| None)) else {
                return Ok(());
            };
            prop_assert_eq!(x.same(&y), x.key() == y.key());
            prop_assert_eq!(x.same(&y), x.compare(&y) == Some(std::cmp::Ordering::Equal));
        }

        #[test]
        fn decimal_add_matches_i128(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000) {
            let x = Decimal::from_i128(i128::from(a));
            let y = Decimal::from_i128(i128::from(b));
            prop_assert_eq!(x.add(&y).to_i128(), Some(i128::from(a) + i128::from(b)));
            prop_assert_eq!(x.cmp(&y), a.cmp(&b));
        }

        #[test]
        fn date_time_order_matches_key_equality(
            h1 in 0u8..24, h2 in 0u8..24, z1 in -14i32..=14, z2 in -14i32..=14
        ) {
            let s1 = format!("2000-01-15T{h1:02}:00:00{}{:02}:00", if z1 < 0 { '-' } else { '+' }, z1.abs());
            let s2 = format!("2000-01-15T{h2:02}:00:00{}{:02}:00", if z2 < 0 { '-' } else { '+' }, z2.abs());
            let x = parse(Builtin::DateTime, &s1, &|_| None);
            let y = parse(Builtin::DateTime, &s2, &|_| None);
            prop_assert!(x.is_ok() && y.is_ok());
            if let (Ok(x), Ok(y)) = (x, y) {
                prop_assert_eq!(x.same(&y), x.key() == y.key());
                prop_assert!(x.compare(&y).is_some());
            }
        }
    }
}

#[test]
fn day_numbers_agree_across_the_64_bit_cut_and_with_the_calendar() {
    use super::value::days_from_civil;
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    assert_eq!(days_from_civil(0, 3, 1), -719_468);
    // Either side of the 2^40 cut, consecutive years keep a year's distance.
    for y in [(1i128 << 40) - 2, -(1i128 << 40) - 1, 10_i128.pow(30)] {
        let days = days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1);
        assert!(days == 365 || days == 366, "year {y}: {days}");
    }
    assert_eq!(
        days_from_civil(-(1i128 << 40), 3, 1) - days_from_civil(-(1i128 << 40) - 400, 3, 1),
        146_097
    );
}

#[test]
fn decimals_from_parts_drop_padding_and_stray_characters() {
    let d = |i: &str, f: &str| Decimal::from_parts(false, i, f).to_string();
    assert_eq!(d("007", "500"), "7.5");
    assert_eq!(d("0x0y5", "0a0"), "5");
    assert_eq!(d("000", "000"), "0");
    assert_eq!(Decimal::from_parts(true, "0", "0").to_string(), "0");
}

#[test]
fn string_values_checked_unbuilt_get_the_verdict_of_built_ones() {
    use FacetKind as K;
    let sets: Vec<(Builtin, Vec<RawFacet>)> = vec![
        (
            Builtin::String,
            vec![raw(K::Enumeration, "66"), raw(K::Enumeration, "77")],
        ),
        (
            Builtin::Token,
            vec![raw(K::Pattern, r"\d{2}-[А-Я]+"), raw(K::MaxLength, "6")],
        ),
        (Builtin::NmToken, vec![raw(K::Length, "3")]),
        (
            Builtin::String,
            vec![raw(K::MinLength, "2"), raw(K::MaxLength, "4")],
        ),
    ];
    let values = [
        "66",
        "77",
        "7",
        "12-АБ",
        "12-АБВГ",
        "abc",
        "ab c",
        "ёжик",
        "",
        "66 ",
    ];
    for (b, raws) in &sets {
        let facets = derive_builtin(*b, raws).expect("facets derive");
        for v in values {
            let built = facets.check(v, &Value::String(v.to_owned()));
            assert_eq!(facets.check_string(v), built, "{b:?} {raws:?} on {v:?}");
            assert!(lexical::is_string_valued(*b));
            assert_eq!(
                lexical::check_string(*b, v).is_ok(),
                p(*b, v).is_ok(),
                "{b:?} lexical on {v:?}"
            );
        }
    }
}

#[test]
fn string_valued_builtins_are_the_string_family() {
    for b in [
        Builtin::AnySimpleType,
        Builtin::String,
        Builtin::Language,
        Builtin::Id,
        Builtin::NmToken,
    ] {
        assert!(lexical::is_string_valued(b), "{b:?}");
    }
    for b in [
        Builtin::NmTokens,
        Builtin::IdRefs,
        Builtin::AnyUri,
        Builtin::QName,
        Builtin::Decimal,
        Builtin::Base64Binary,
    ] {
        assert!(!lexical::is_string_valued(b), "{b:?}");
    }
}
