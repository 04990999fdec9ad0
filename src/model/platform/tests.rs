//! Test tables ported from containerd/platforms (platforms_test.go, compare_test.go).
//! containerd's default OS/architecture is the runtime's; here they are linux/amd64.

use super::*;

fn p(os: &str, arch: &str, variant: &str) -> Platform {
    Platform::new(os, arch, variant)
}

#[test]
fn parse_selector_table() {
    let cases: Vec<(&str, Platform, Vec<Platform>, &str)> = vec![
        ("linux/arm64", p("linux", "arm64", ""), vec![p("linux", "aarch64", ""), p("linux", "aarch64", "v8"), p("linux", "arm64", "v8")], "linux/arm64"),
        ("linux/arm64/v8", p("linux", "arm64", "v8"), vec![p("linux", "aarch64", ""), p("linux", "aarch64", "v8"), p("linux", "arm64", "")], "linux/arm64/v8"),
        ("linux/arm", p("linux", "arm", ""), vec![p("linux", "arm", "v7"), p("linux", "armhf", ""), p("linux", "arm", "7")], "linux/arm"),
        ("linux/arm/v6", p("linux", "arm", "v6"), vec![p("linux", "armel", "")], "linux/arm/v6"),
        ("linux/arm/v7", p("linux", "arm", "v7"), vec![p("linux", "arm", ""), p("linux", "armhf", "")], "linux/arm/v7"),
        ("arm", p("linux", "arm", ""), vec![], "linux/arm"),
        ("armel", p("linux", "arm", "v6"), vec![], "linux/arm/v6"),
        ("armhf", p("linux", "arm", ""), vec![], "linux/arm"),
        ("Aarch64", p("linux", "arm64", ""), vec![], "linux/arm64"),
        ("x86_64", p("linux", "amd64", ""), vec![], "linux/amd64"),
        ("Linux/x86_64", p("linux", "amd64", ""), vec![], "linux/amd64"),
        ("i386", p("linux", "386", ""), vec![], "linux/386"),
        ("linux", p("linux", "amd64", ""), vec![], "linux/amd64"),
        ("s390x", p("linux", "s390x", ""), vec![], "linux/s390x"),
        ("linux/s390x", p("linux", "s390x", ""), vec![], "linux/s390x"),
        ("macOS", p("darwin", "amd64", ""), vec![], "darwin/amd64"),
        ("windows", p("windows", "amd64", ""), vec![], "windows/amd64"),
    ];
    for (input, expected, matches, formatted) in cases {
        let got = Platform::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got, expected, "{input}");
        let m = Matcher::only_strict(&got);
        assert!(m.matches(&expected), "{input} matches its expectation");
        for mc in &matches {
            assert!(m.matches(mc), "{input} should match {mc:?}");
        }
        assert_eq!(got.format(), formatted, "{input}");
        let reparsed = Platform::parse(formatted).unwrap();
        assert_eq!(reparsed.format(), formatted, "round trip of {input}");
    }
}

#[test]
fn parse_selector_v2_format_table() {
    let with = |os_version: &str, features: &[&str], os: &str| Platform {
        os: os.into(),
        architecture: "amd64".into(),
        os_version: os_version.into(),
        os_features: features.iter().map(|s| s.to_string()).collect(),
        ..Platform::default()
    };
    let cases = vec![
        ("windows()", with("", &[], "windows"), "windows/amd64"),
        ("windows(10.0.17763)", with("10.0.17763", &[], "windows"), "windows(10.0.17763)/amd64"),
        ("windows(10.0.17763+win32k)", with("10.0.17763", &["win32k"], "windows"), "windows(10.0.17763+win32k)/amd64"),
        ("linux(+gpu)", with("", &["gpu"], "linux"), "linux(+gpu)/amd64"),
        ("linux(+gpu+simd)", with("", &["gpu", "simd"], "linux"), "linux(+gpu+simd)/amd64"),
        ("linux(+unsorted+erofs)", with("", &["unsorted", "erofs"], "linux"), "linux(+erofs+unsorted)/amd64"),
        ("windows(10.0.17763%2Bbuild.42)", with("10.0.17763+build.42", &[], "windows"), "windows(10.0.17763%2Bbuild.42)/amd64"),
        ("windows(10.0.17763%2Bbuild.42+win32k)", with("10.0.17763+build.42", &["win32k"], "windows"), "windows(10.0.17763%2Bbuild.42+win32k)/amd64"),
        ("windows(50%25done)", with("50%done", &[], "windows"), "windows(50%25done)/amd64"),
    ];
    for (input, expected, formatted) in cases {
        let got = Platform::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got, expected, "{input}");
        assert_eq!(got.format_all(), formatted, "{input}");
        assert_eq!(Platform::parse(formatted).unwrap().format_all(), formatted, "round trip of {input}");
    }
}

#[test]
fn format_all_encoding_table() {
    let cases = [
        ("windows", "10.0.17763+build.42", vec![], "windows(10.0.17763%2Bbuild.42)/amd64"),
        ("windows", "10.0.17763+build.42", vec!["win32k"], "windows(10.0.17763%2Bbuild.42+win32k)/amd64"),
        ("windows", "50%done", vec![], "windows(50%25done)/amd64"),
        ("windows", "1.0(beta)", vec![], "windows(1.0%28beta%29)/amd64"),
        ("windows", "a/b", vec![], "windows(a%2Fb)/amd64"),
        ("windows", "10.0.17763", vec![], "windows(10.0.17763)/amd64"),
        ("linux", "", vec!["feat+v2"], "linux(+feat%2Bv2)/amd64"),
        ("linux", "", vec!["100%gpu"], "linux(+100%25gpu)/amd64"),
        ("windows", "10.0+build", vec!["feat+1"], "windows(10.0%2Bbuild+feat%2B1)/amd64"),
    ];
    for (os, version, features, expected) in cases {
        let plat = Platform {
            os: os.into(),
            architecture: "amd64".into(),
            os_version: version.into(),
            os_features: features.iter().map(|s| s.to_string()).collect(),
            ..Platform::default()
        };
        assert_eq!(plat.format_all(), expected);
        let reparsed = Platform::parse(expected).unwrap();
        assert_eq!(reparsed.os_version, plat.os_version, "{expected}");
        assert_eq!(reparsed.os_features, plat.os_features, "{expected}");
    }
    let skips_empty = Platform {
        os: "linux".into(),
        architecture: "amd64".into(),
        os_features: vec!["".into(), "gpu".into(), "".into(), "simd".into()],
        ..Platform::default()
    };
    assert_eq!(skips_empty.format_all(), "linux(+gpu+simd)/amd64");
}

#[test]
fn parse_selector_invalid_table() {
    for input in ["", "/linux/arm", "linux/arm/", "linux /arm", "linux/&arm", "linux/arm/foo/bar", "*", "linux/*", "nonsense"] {
        assert!(Platform::parse(input).is_err(), "{input:?} should be rejected");
    }
}

fn check_table(strict: bool, table: &[(&str, &[&str], &[&str])]) {
    for (host, yes, no) in table {
        let h = Platform::parse(host).unwrap();
        let m = if strict { Matcher::only_strict(&h) } else { Matcher::only(&h) };
        for c in *yes {
            assert!(m.matches(&Platform::parse(c).unwrap()), "{host} should match {c} (strict={strict})");
        }
        for c in *no {
            assert!(!m.matches(&Platform::parse(c).unwrap()), "{host} should not match {c} (strict={strict})");
        }
    }
}

#[test]
fn only_table() {
    check_table(
        false,
        &[
            ("linux/amd64", &["linux/amd64", "linux/386"], &["linux/amd64/v2", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"]),
            (
                "linux/amd64/v2",
                &["linux/amd64", "linux/amd64/v1", "linux/amd64/v2", "linux/386"],
                &["linux/amd64/v3", "linux/amd64/v4", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            ("linux/386", &["linux/386"], &["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"]),
            ("windows/amd64", &["windows/amd64", "windows(10.0.17763)/amd64"], &["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"]),
            (
                "linux/arm/v8",
                &["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8"],
                &["linux/amd64", "linux/arm/v4", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm/v7",
                &["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7"],
                &["linux/amd64", "linux/arm/v4", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm/v6",
                &["linux/arm/v5", "linux/arm/v6"],
                &["linux/amd64", "linux/arm", "linux/arm/v4", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm/v5",
                &["linux/arm/v5"],
                &["linux/amd64", "linux/arm", "linux/arm/v4", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm/v4",
                &["linux/arm/v4"],
                &["linux/amd64", "linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm64/v9",
                &[
                    "linux/arm",
                    "linux/arm/v5",
                    "linux/arm/v6",
                    "linux/arm/v7",
                    "linux/arm/v8",
                    "linux/arm64",
                    "linux/arm64/v8",
                    "linux/arm64/v8.1",
                    "linux/arm64/v8.2",
                    "linux/arm64/v8.3",
                    "linux/arm64/v8.4",
                    "linux/arm64/v8.5",
                    "linux/arm64/v9",
                    "linux/arm64/v9.0",
                ],
                &["linux/amd64", "linux/arm/v4", "windows/amd64", "windows/arm", "linux/arm64/v8.6"],
            ),
            (
                "linux/arm64/v8.1",
                &["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "linux/arm64/v8", "linux/arm64/v8.1"],
                &["linux/amd64", "linux/arm/v4", "linux/arm/v9", "linux/arm64/v9", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm64",
                &["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "linux/arm64/v8"],
                &["linux/amd64", "linux/arm/v4", "linux/arm/v9", "linux/arm64/v9", "windows/amd64", "windows/arm"],
            ),
        ],
    );
}

#[test]
fn only_strict_table() {
    check_table(
        true,
        &[
            ("linux/amd64", &["linux/amd64"], &["linux/386", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"]),
            ("linux/386", &["linux/386"], &["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"]),
            ("windows/amd64", &["windows/amd64", "windows(10.0.17763)/amd64"], &["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"]),
            ("windows(10.0.17763)/amd64", &["windows/amd64", "windows(10.0.17763)/amd64"], &["linux/amd64", "linux/arm/v7", "linux/arm64", "windows/arm"]),
            (
                "linux/arm/v8",
                &["linux/arm/v8"],
                &["linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/amd64", "linux/arm/v4", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm/v7",
                &["linux/arm", "linux/arm/v7"],
                &["linux/arm/v5", "linux/arm/v6", "linux/amd64", "linux/arm/v4", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm/v6",
                &["linux/arm/v6"],
                &["linux/arm/v5", "linux/amd64", "linux/arm", "linux/arm/v4", "linux/arm/v7", "linux/arm/v8", "linux/arm64", "windows/amd64", "windows/arm"],
            ),
            (
                "linux/arm64/v9",
                &["linux/arm64/v9", "linux/arm64/v9.0"],
                &[
                    "linux/arm",
                    "linux/arm/v5",
                    "linux/arm/v6",
                    "linux/arm/v7",
                    "linux/arm/v8",
                    "linux/amd64",
                    "linux/arm/v4",
                    "linux/arm/v9",
                    "linux/arm64/v8",
                    "linux/arm64/v8.1",
                    "windows/amd64",
                    "windows/arm",
                ],
            ),
            (
                "linux/arm64/v8.1",
                &["linux/arm64/v8.1"],
                &[
                    "linux/arm",
                    "linux/arm/v5",
                    "linux/arm/v6",
                    "linux/arm/v7",
                    "linux/arm/v8",
                    "linux/amd64",
                    "linux/arm/v4",
                    "linux/arm/v9",
                    "linux/arm64/v8",
                    "linux/arm64/v9",
                    "windows/amd64",
                    "windows/arm",
                ],
            ),
            (
                "linux/arm64",
                &["linux/arm64", "linux/arm64/v8"],
                &[
                    "linux/arm",
                    "linux/arm/v5",
                    "linux/arm/v6",
                    "linux/arm/v7",
                    "linux/arm/v8",
                    "linux/amd64",
                    "linux/arm/v4",
                    "linux/arm/v9",
                    "linux/arm64/v9",
                    "windows/amd64",
                    "windows/arm",
                ],
            ),
        ],
    );
}

#[test]
fn normalisation_equivalences() {
    let key = |s: &str| Platform::parse_key(s).unwrap().key();
    assert_eq!(key("linux/aarch64"), "linux/arm64");
    assert_eq!(key("linux/arm64/v8"), "linux/arm64");
    assert_eq!(key("linux/arm"), "linux/arm/v7");
    assert_eq!(key("linux/armhf"), "linux/arm/v7");
    assert_eq!(key("linux/armel"), "linux/arm/v6");
    assert_eq!(key("linux/x86_64"), "linux/amd64");
    assert_eq!(key("linux/i386"), "linux/386");
    assert_eq!(key("windows/amd64:10.0.17763.5122"), "windows/amd64:10.0.17763.5122");
    assert_eq!(key("windows(10.0.20348.1)/amd64"), "windows/amd64:10.0.20348.1");
    assert!(Platform::parse_key("linux/amd64:").is_err());
}

#[test]
fn selection_prefers_exact_then_fallback_order() {
    let cands: Vec<Platform> = ["linux/arm/v6", "linux/arm/v7", "linux/amd64"].iter().map(|s| Platform::parse_key(s).unwrap()).collect();
    let arm64 = Matcher::only(&Platform::parse("linux/arm64").unwrap());
    assert_eq!(arm64.select(&cands), Some(1), "arm64 host takes arm/v7 before arm/v6");
    assert_eq!(arm64.kind(&cands[1]), Some(MatchKind::Fallback));
    let amd64 = Matcher::only(&Platform::parse("linux/amd64").unwrap());
    assert_eq!(amd64.select(&cands), Some(2));
    assert_eq!(amd64.kind(&cands[2]), Some(MatchKind::Exact));
    let s390x = Matcher::only(&Platform::parse("linux/s390x").unwrap());
    assert_eq!(s390x.select(&cands), None);
}

#[test]
fn windows_os_version_compatibility() {
    let host2019 = Matcher::only(&Platform::parse_key("windows/amd64:10.0.17763.5122").unwrap());
    let host2022 = Matcher::only(&Platform::parse_key("windows/amd64:10.0.20348.2113").unwrap());
    let img2019 = Platform::parse_key("windows/amd64:10.0.17763.4000").unwrap();
    let img2022 = Platform::parse_key("windows/amd64:10.0.20348.1000").unwrap();
    let img2022b = Platform::parse_key("windows/amd64:10.0.20348.2000").unwrap();
    assert!(host2019.matches(&img2019));
    assert!(!host2019.matches(&img2022));
    assert!(!host2022.matches(&img2019));
    assert!(host2022.matches(&img2022));
    assert_eq!(host2022.select([&img2019, &img2022, &img2022b]), Some(2), "higher revision wins");
}

#[test]
fn column_order_is_the_documented_one() {
    let mut v: Vec<Platform> = [
        "windows/amd64:10.0.20348.1",
        "linux/riscv64",
        "linux/mips64le",
        "freebsd/amd64",
        "linux/s390x",
        "linux/ppc64le",
        "linux/386",
        "linux/arm/v6",
        "linux/arm/v7",
        "linux/arm64",
        "linux/amd64",
        "windows/amd64:10.0.17763.5122",
        "linux/arm/v5",
    ]
    .iter()
    .map(|s| Platform::parse_key(s).unwrap())
    .collect();
    v.sort_by(column_order);
    let keys: Vec<String> = v.iter().map(Platform::key).collect();
    assert_eq!(
        keys,
        [
            "linux/amd64",
            "linux/arm64",
            "linux/arm/v7",
            "linux/arm/v6",
            "linux/386",
            "linux/ppc64le",
            "linux/s390x",
            "linux/riscv64",
            "linux/arm/v5",
            "linux/mips64le",
            "freebsd/amd64",
            "windows/amd64:10.0.17763.5122",
            "windows/amd64:10.0.20348.1",
        ]
    );
}

#[test]
fn huge_variants_and_fields_are_bounded() {
    // Would walk four billion variants down; matched as itself instead.
    let host = Platform::parse("linux/amd64/v4294967295").unwrap();
    let m = Matcher::only(&host);
    assert!(m.matches(&host));
    assert!(m.matches(&Platform::parse("linux/amd64/v2").unwrap()));
    let arm = Platform::parse("linux/arm/v4294967295").unwrap();
    assert!(Matcher::only(&arm).matches(&Platform::parse("linux/arm/v7").unwrap()));
    // A 10 MB platform string is refused at once.
    let long = format!("linux/{}", "a".repeat(10_000_000));
    assert!(matches!(Platform::parse(&long), Err(PlatformError::TooLong { .. })));
}

#[test]
fn a_platform_covers_its_release_and_any_revision() {
    let key = |k: &str| Platform::parse_key(k).unwrap();
    let have = key("windows/amd64:10.0.20348.2966");
    assert!(have.covers(&key("windows/amd64")), "no os.version asked: any");
    assert!(have.covers(&key("windows/amd64:10.0.20348")), "the release, any revision");
    assert!(have.covers(&key("windows/amd64:10.0.20348.2966")));
    assert!(!have.covers(&key("windows/amd64:10.0.20348.2700")), "four parts: exactly that one");
    assert!(!have.covers(&key("windows/amd64:10.0.17763")));
    assert!(!have.covers(&key("windows/arm64")));
    assert!(!key("windows/amd64").covers(&key("windows/amd64:10.0.20348")), "an image without os.version is not a release");
    assert!(key("linux/arm64/v8").covers(&key("linux/arm64")), "normalised first");
    assert!(!key("linux/arm/v6").covers(&key("linux/arm/v7")));
}
