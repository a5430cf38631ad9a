//! Unit and property tests for the XSD 1.0 regular-expression translator.

use super::{RegexError, XsdRegex};
use proptest::prelude::*;

fn re(pattern: &str) -> XsdRegex {
    match XsdRegex::new(pattern) {
        Ok(re) => re,
        Err(err) => panic!("pattern {pattern:?} rejected: {err}"),
    }
}

fn rejected(pattern: &str) -> RegexError {
    match XsdRegex::new(pattern) {
        Ok(re) => panic!(
            "pattern {pattern:?} accepted as {:?}, expected an error",
            re.translated()
        ),
        Err(err) => err,
    }
}

fn assert_matches(pattern: &str, yes: &[&str], no: &[&str]) {
    let compiled = re(pattern);
    for value in yes {
        assert!(
            compiled.is_match(value),
            "{pattern:?} should match {value:?} (translated {:?})",
            compiled.translated()
        );
    }
    for value in no {
        assert!(
            !compiled.is_match(value),
            "{pattern:?} should not match {value:?} (translated {:?})",
            compiled.translated()
        );
    }
}

#[test]
fn whole_value_is_matched() {
    assert_matches("abc", &["abc"], &["", "ab", "abcd", "xabc", "abc\n"]);
    assert_matches("", &[""], &["a", " "]);
    assert_matches("a|b", &["a", "b"], &["ab", ""]);
    assert_matches("a|", &["a", ""], &["b"]);
}

#[test]
fn caret_and_dollar_are_literals() {
    assert_matches("^a$", &["^a$"], &["a"]);
    assert_matches("[$^]+", &["$^$"], &[""]);
    assert_matches("a^b", &["a^b"], &["ab"]);
}

#[test]
fn source_is_kept() {
    let compiled = re(r"\d{3}");
    assert_eq!(compiled.as_str(), r"\d{3}");
    assert!(compiled.translated().starts_with(r"\A(?:"));
}

#[test]
fn quantifiers() {
    assert_matches("ab?c", &["ac", "abc"], &["abbc"]);
    assert_matches("ab*c", &["ac", "abbbc"], &["adc"]);
    assert_matches("ab+c", &["abc", "abbc"], &["ac"]);
    assert_matches("a{2}", &["aa"], &["a", "aaa"]);
    assert_matches("a{2,}", &["aa", "aaaaa"], &["a"]);
    assert_matches("a{1,3}", &["a", "aaa"], &["", "aaaa"]);
    assert_matches("a{0}", &[""], &["a"]);
    assert_matches("a{0,0}", &[""], &["a"]);
    assert_matches("(ab){2}", &["abab"], &["ab", "aab"]);
}

#[test]
fn bad_quantifiers_are_rejected() {
    for pattern in [
        "a{2,1}", "a{,3}", "a{", "a{1", "a{1,", "a{a}", "a{1,2", "{1}", "*", "+a", "?", "a**",
        "a*?", "a+?", "a??", "a*+", "a{1}{2}", "a{1}?", "}", "a}",
    ] {
        rejected(pattern);
    }
    let err = rejected("a{3,1}");
    assert!(err.message.contains("minimum"), "{err}");
}

#[test]
fn groups() {
    assert_matches("(a|b)c", &["ac", "bc"], &["c", "abc"]);
    assert_matches("((a))", &["a"], &[""]);
    assert_matches("()", &[""], &["a"]);
    for pattern in [
        "(", ")", "(a", "a)", "(?:a)", "(?=a)", "(?!a)", "(?<n>a)", "(a)\\1",
    ] {
        rejected(pattern);
    }
}

#[test]
fn single_char_escapes() {
    assert_matches(r"\n\r\t", &["\n\r\t"], &["nrt"]);
    assert_matches(
        r"\\\|\.\?\*\+\(\)\{\}\-\[\]\^",
        &[r"\|.?*+(){}-[]^"],
        &["a"],
    );
    for escape in [
        r"\a", r"\0", r"\b", r"\u0041", r"\x41", r"\$", r"\/", r"\e", r"\f", r"\v", "\\",
    ] {
        rejected(escape);
    }
    let err = rejected(r"ab\q");
    assert_eq!(err.offset, 2);
}

#[test]
fn dot_excludes_only_line_ends() {
    assert_matches(
        ".",
        &[
            "a",
            " ",
            "\t",
            "\u{10000}",
            "\u{FFFD}",
            "\u{85}",
            "\u{2028}",
        ],
        &["\n", "\r", "", "ab"],
    );
}

#[test]
fn whitespace_escapes() {
    assert_matches(
        r"\s",
        &[" ", "\t", "\n", "\r"],
        &["\u{A0}", "\u{B}", "\u{C}", "a"],
    );
    assert_matches(r"\S", &["a", "\u{A0}", "\u{C}"], &[" ", "\t", "\n", "\r"]);
}

#[test]
fn name_escapes_follow_xml_1_0_fifth_edition() {
    assert_matches(
        r"\i",
        &[
            "a", "Z", "_", ":", "\u{C0}", "\u{4E00}", "\u{AC00}", "\u{1200}", "\u{660}",
        ],
        &[
            "-", ".", "1", "\u{B7}", "\u{300}", " ", "\u{D7}", "\u{37E}", "\u{3000}",
        ],
    );
    assert_matches(r"\I", &["-", "1", " "], &["a", "_", ":"]);
    // U+0346: a NameChar since the fifth edition, not in Appendix B (W3C reZ006i, bug 13606).
    assert_matches(
        r"\c",
        &[
            "a", "-", ".", "1", "\u{B7}", "\u{300}", "\u{346}", "\u{660}", "_", ":", "\u{203F}",
        ],
        &[" ", "\u{D7}", "/", "\u{37E}", "\u{2041}"],
    );
    assert_matches(r"\C", &[" ", "/", "\u{D7}"], &["a", "1", "-"]);
    assert_matches(r"\i\c*", &["xsd:string", "_a-b.c"], &["1a", "-a", ""]);
}

#[test]
fn digit_and_word_escapes() {
    assert_matches(
        r"\d",
        &["0", "9", "\u{660}", "\u{FF10}"],
        &["a", "\u{B2}", ""],
    );
    assert_matches(r"\D", &["a", "\u{B2}"], &["5"]);
    assert_matches(
        r"\w",
        &["a", "Z", "5", "\u{B2}", "$", "+", "\u{10000}"],
        &[" ", ".", ",", "-", "\u{A0}", "\u{0}", "\u{E000}"],
    );
    assert_matches(r"\W", &[" ", ".", "-", "\u{E000}"], &["a", "5", "$"]);
}

#[test]
fn category_escapes() {
    assert_matches(r"\p{Lu}", &["A", "\u{C0}"], &["a", "1"]);
    assert_matches(r"\P{Lu}", &["a", "1"], &["A"]);
    assert_matches(r"\p{L}+", &["abcXYZ\u{4E00}"], &["a1"]);
    assert_matches(r"\p{Nd}", &["7"], &["x"]);
    assert_matches(r"\p{Pd}", &["-"], &["a"]);
    assert_matches(r"\p{Zs}", &[" ", "\u{3000}"], &["\t"]);
    assert_matches(r"\p{Cc}", &["\u{0}", "\u{7F}"], &["a"]);
    assert_matches(r"\p{Co}", &["\u{E000}", "\u{10FFFD}"], &["a"]);
    assert_matches(r"\p{C}", &["\u{0}", "\u{E000}"], &["a"]);
    // U+0378 is unassigned in every Unicode version so far.
    assert_matches(r"\p{Cn}", &["\u{378}"], &["a", "\u{0}"]);
    for name in [
        "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
        "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z", "Zs", "Zl", "Zp", "S", "Sm", "Sc", "Sk", "So",
        "C", "Cc", "Cf", "Co", "Cn",
    ] {
        re(&format!(r"\p{{{name}}}"));
        re(&format!(r"\P{{{name}}}"));
        re(&format!(r"[\p{{{name}}}x]"));
    }
    for pattern in [
        r"\p{Lx}",
        r"\p{L&}",
        r"\p{Cs}",
        r"\p{lu}",
        r"\p{}",
        r"\p{Lu",
        r"\pL",
        r"\p",
        r"\P{Foo}",
        r"\p{Letter}",
        r"\p{ Lu}",
    ] {
        rejected(pattern);
    }
}

#[test]
fn block_escapes() {
    assert_matches(r"\p{IsBasicLatin}+", &["\u{0}\u{7F}a"], &["\u{80}"]);
    assert_matches(r"\P{IsBasicLatin}", &["\u{80}"], &["a"]);
    assert_matches(
        r"\p{IsLatin-1Supplement}",
        &["\u{80}", "\u{FF}"],
        &["\u{100}"],
    );
    assert_matches(
        r"\p{IsCJKUnifiedIdeographsExtensionA}",
        &["\u{3400}", "\u{4DB5}"],
        &["\u{4DB6}"],
    );
    assert_matches(
        r"\p{IsPrivateUse}",
        &["\u{E000}", "\u{F0000}", "\u{10FFFD}"],
        &["\u{F900}", "\u{10FFFE}"],
    );
    assert_matches(r"\p{IsSpecials}", &["\u{FEFF}", "\u{FFFD}"], &["\u{FFEF}"]);
    // Surrogate blocks cannot match anything a Rust string holds.
    assert_matches(
        r"\p{IsHighSurrogates}?",
        &[""],
        &["a", "\u{D7FF}", "\u{E000}"],
    );
    assert_matches(r"\P{IsLowSurrogates}", &["a", "\u{E000}"], &[""]);
    assert_matches(r"[\p{IsLowSurrogates}a]", &["a"], &["b"]);
    assert_matches(r"[^\p{IsHighPrivateUseSurrogates}]", &["a"], &[""]);
    for pattern in [
        r"\p{IsFoo}",
        r"\p{IsBasiclatin}",
        r"\p{IsLatinExtended-C}",
        r"\p{Is}",
    ] {
        rejected(pattern);
    }
    let err = rejected(r"a\p{IsNope}");
    assert_eq!(err.offset, 4);
}

#[test]
fn character_classes() {
    assert_matches("[abc]", &["a", "c"], &["d", "ab", ""]);
    assert_matches("[a-z]", &["a", "m", "z"], &["A", "-"]);
    assert_matches("[^a-z]", &["A", "\n", "\u{10000}"], &["a", ""]);
    assert_matches("[a-a]", &["a"], &["b"]);
    assert_matches("[-a]", &["-", "a"], &["b"]);
    assert_matches("[a-]", &["-", "a"], &["b"]);
    assert_matches("[^-a]", &["b"], &["-", "a"]);
    assert_matches("[-]", &["-"], &["a"]);
    assert_matches(r"[\-\[\]\^]+", &["-[]^"], &["a"]);
    assert_matches("[a^]", &["^", "a"], &["b"]);
    assert_matches("[^^]", &["a"], &["^"]);
    assert_matches(r"[\d\s]", &["1", " "], &["a"]);
    assert_matches(r"[^\d]", &["a"], &["1"]);
    assert_matches(r"[\p{Lu}\d]", &["A", "1"], &["a"]);
    assert_matches(r"[\P{Lu}]", &["a"], &["A"]);
    assert_matches("[.]", &["."], &["a"]);
    assert_matches("[|*+?(){}$]+", &["|*+?(){}$"], &["a"]);
    assert_matches(r"[\n-\r]", &["\n", "\u{B}", "\r"], &["a"]);
    assert_matches(
        "[\u{10000}-\u{10FFFF}]",
        &["\u{10000}", "\u{10FFFF}"],
        &["\u{FFFF}"],
    );
    assert_matches(
        "[\u{D7FF}-\u{E000}]",
        &["\u{D7FF}", "\u{E000}"],
        &["\u{D7FE}"],
    );
}

#[test]
fn class_subtraction() {
    assert_matches("[a-z-[aeiou]]", &["b", "z"], &["a", "e", "A"]);
    assert_matches("[a-z-[b-y-[c]]]", &["a", "c", "z"], &["b", "d", "y"]);
    assert_matches("[^a-z-[x]]", &["A"], &["x", "a"]);
    assert_matches(r"[\p{L}-[\p{Lu}]]", &["a"], &["A", "1"]);
    assert_matches(r"[\w-[\d]]", &["a"], &["1", " "]);
    assert_matches("[a-z--[b-z]]", &["a", "-"], &["b"]);
    assert_matches("[abc-[abc]]?", &[""], &["a", "b"]);
    for pattern in ["[a-z-[aeiou]b]", "[-[a]]", "[a-[b]c]", "[a-z-[]]", "[a-[b]"] {
        rejected(pattern);
    }
}

#[test]
fn bad_classes_are_rejected() {
    for pattern in [
        "[]",
        "[^]",
        "[",
        "[a",
        "[a-",
        "[z-a]",
        r"[a-\d]",
        r"[\d-z]",
        "[a-b-c]",
        "[a--]",
        "[[]",
        "[a[b]",
        "]",
        "[a]]",
        r"[\a]",
        "[--a]",
        "[a-[b]",
        r"[\p{Foo}]",
        "[^",
    ] {
        rejected(pattern);
    }
    let err = rejected("x[z-a]");
    assert_eq!(err.offset, 2);
    assert!(err.message.contains("reversed"), "{err}");
}

#[test]
fn error_offsets_count_chars_not_bytes() {
    let err = rejected("éé\\q");
    assert_eq!(err.offset, 2);
}

#[test]
fn error_displays() {
    let err = rejected("a{2,1}");
    let text = err.to_string();
    assert!(text.contains("character"), "{text}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
    rejected(&deep);
    let deep_class = format!("[a{}]", "-[a".repeat(5_000) + &"]".repeat(5_000));
    rejected(&deep_class);
    let ok = format!("{}a{}", "(".repeat(50), ")".repeat(50));
    assert_matches(&ok, &["a"], &["aa"]);
}

#[test]
fn oversized_patterns_are_errors() {
    rejected("(((a{1000}){1000}){1000}){1000}");
    rejected("a{99999999999}");
    // Big but reasonable repetitions of Unicode classes must still compile.
    re(r"\c{1,255}");
    re(r"[\p{L}\p{N}]{0,255}");
    re(r".{0,1000}");
}

#[test]
fn xsdregex_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone>() {}
    assert_traits::<XsdRegex>();
    let a = re("a+");
    let b = a.clone();
    assert!(b.is_match("aaa"));
}

#[test]
fn realistic_patterns() {
    assert_matches(
        r"[0-9a-zA-Z]([-.\w]*[0-9a-zA-Z])*@(([0-9a-zA-Z])+([-\w]*[0-9a-zA-Z])*\.)+[a-zA-Z]{2,9}",
        &["first.last@example.com"],
        &["first@", "@example.com"],
    );
    assert_matches(r"\d{3}-\d{2}-\d{4}", &["123-45-6789"], &["123456789"]);
    assert_matches(
        r"[A-Z]{2}\d{1,3}(\.\d+)?",
        &["AB1", "XY123.45"],
        &["ab1", "AB1."],
    );
    assert_matches(
        r"(\p{Lu}\w*)\s(\p{Lu}\w*)",
        &["Hello World"],
        &["hello world"],
    );
}

proptest! {
    #[test]
    fn arbitrary_patterns_never_panic(pattern in "\\PC{0,40}") {
        let _ = XsdRegex::new(&pattern);
    }

    #[test]
    fn metachar_heavy_patterns_never_panic(
        pattern in r"[\[\]\\\-\^(){},|?*+.pPIsLudcwiCa-e0-9]{0,40}"
    ) {
        if let Ok(compiled) = XsdRegex::new(&pattern) {
            let _ = compiled.is_match(&pattern);
        }
    }

    #[test]
    fn arbitrary_values_never_panic(value in "\\PC{0,64}|.{0,64}") {
        for pattern in [r".*", r"\i\c*", r"[\p{L}-[\p{Lu}]]*", r"\w+", r"(a|b)*\d?"] {
            let _ = re(pattern).is_match(&value);
        }
    }

    #[test]
    fn errors_point_inside_the_pattern(pattern in r"[\[\]\\\-\^(){},|?*+.pa-c0-9]{0,30}") {
        if let Err(err) = XsdRegex::new(&pattern) {
            prop_assert!(err.offset <= pattern.chars().count());
        }
    }
}

/// The small-DFA path and `regex` give one answer for the same pattern and value.
fn agree(pattern: &str, value: &str) -> Result<(), TestCaseError> {
    let Ok(compiled) = XsdRegex::new(pattern) else {
        return Ok(());
    };
    if let Some(dfa) = compiled.dfa.as_deref()
        && let Some(fast) = super::dfa_match(dfa, value.as_bytes())
    {
        prop_assert_eq!(
            fast,
            compiled.compiled.is_match(value),
            "{:?} on {:?}",
            pattern,
            value
        );
    }
    Ok(())
}

#[test]
fn registry_patterns_get_a_dfa_and_huge_classes_fall_back() {
    for p in [
        r"\d{11}",
        r"[0-9]{2}",
        r"[A-Z]{3}",
        r"\d{2}-\d{4}-\d{10}",
        r"[А-ЯЁ][а-яё\-]{0,49}",
    ] {
        assert!(re(p).dfa.is_some(), "{p}");
    }
    // Beyond the DFA budget: still matched, by regex.
    let big = re(r"\p{L}{1,100}");
    assert!(big.dfa.is_none());
    assert!(big.is_match("Ωμέγα"));
    assert!(!big.is_match("1"));
}

proptest! {
    #[test]
    fn dfa_and_regex_agree_on_arbitrary_values(
        pattern in r"[\[\]\\\-\^(){},|?*+.dswDSW1-3a-cА-Я]{0,16}",
        value in r"[a-c1-3 А-Я_\-.\n]{0,12}",
    ) {
        agree(&pattern, &value)?;
        agree(&pattern, &pattern)?;
    }

    #[test]
    fn dfa_and_regex_agree_on_registry_shapes(value in r"[0-9A-ZА-Яа-я \-]{0,14}") {
        for p in [r"\d{11}", r"\d{2}", r"[A-Z]{3}", r"\d{4}-\d{2}", r"[А-ЯЁ][а-яё\-]{0,49}", r"(\d{3} ){3}\d{2}", r"[^\s]+"] {
            agree(p, &value)?;
        }
    }
}
