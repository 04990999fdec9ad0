//! `archlens diff`: two tags of a real registry compared per platform.

use serde_json::{Value, json};

use crate::common;
use crate::common::cli::{Env, ok};

#[test]
fn two_releases_compare_per_platform_layers_config_history_and_platforms() {
    use archlens::testkit::{Flavour, image_with, index, p};
    let c = common::client();
    let repo = "diff/app";
    let cfg = |env: &[&str], entry: &[&str]| json!({ "Entrypoint": entry, "Env": env });
    let v1 = [
        image_with(&p("linux/amd64"), Flavour::Oci, "diff base", "v1", cfg(&["PATH=/bin", "A=1"], &["/app"])),
        image_with(&p("linux/arm64"), Flavour::Oci, "diff arm v1", "v1 arm", cfg(&["PATH=/bin"], &["/app"])),
    ];
    let v2 = [
        // The same layer as 1.0's amd64: shared; another config.
        image_with(&p("linux/amd64"), Flavour::Oci, "diff base", "v2", cfg(&["PATH=/bin", "A=2", "NEW=y"], &["/app", "--serve"])),
        image_with(&p("linux/arm64"), Flavour::Oci, "diff arm v2, a little longer", "v2 arm", cfg(&["PATH=/bin"], &["/app"])),
        image_with(&p("linux/riscv64"), Flavour::Oci, "diff riscv", "v2 riscv", cfg(&["PATH=/bin"], &["/app"])),
    ];
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        for (tag, imgs) in [("1.0", &v1[..]), ("2.0", &v2[..])] {
            let (idx, extra) = index(imgs, &[], Flavour::Oci);
            common::seed::push_index(&c, repo, tag, &idx, &extra).await.unwrap();
        }
    });
    let addr = common::registry_addr();
    let env = Env::new();
    let (a, b) = (format!("{addr}/{repo}:1.0"), format!("{addr}/{repo}:2.0"));
    let v: Value = serde_json::from_str(&ok(&env.run(&["diff", &a, &b, "--format", "json"]))).unwrap();
    let platform = |k: &str| v["platforms"].as_array().unwrap().iter().find(|p| p["platform"] == k).cloned().unwrap_or_else(|| panic!("no {k} in {v:#}"));
    let amd = platform("linux/amd64");
    assert_eq!((amd["layers"]["shared"].as_array().unwrap().len(), amd["layers"]["added"].as_array().unwrap().len()), (1, 0), "{amd:#}");
    let keys: Vec<&str> = amd["config"]["changes"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["Entrypoint", "Env.A", "Env.NEW"], "{amd:#}");
    assert_eq!(amd["config"]["history_added"], json!(["seed v2"]));
    assert_eq!((amd["before"].as_str(), amd["after"].as_str()), (Some(v1[0].digest.as_str()), Some(v2[0].digest.as_str())));
    let arm = platform("linux/arm64");
    let (added, removed) = (&arm["layers"]["added"], &arm["layers"]["removed"]);
    assert_eq!((added.as_array().unwrap().len(), removed.as_array().unwrap().len()), (1, 1), "{arm:#}");
    assert!(arm["layers"]["size_after"].as_u64().unwrap() > arm["layers"]["size_before"].as_u64().unwrap(), "the arm64 layer grew: {arm:#}");
    assert_eq!(v["added_platforms"], json!(["linux/riscv64"]));
    assert_eq!(v["removed_platforms"], json!([]));
    // One platform only; the table says the same in words.
    let one: Value = serde_json::from_str(&ok(&env.run(&["diff", &a, &b, "--platform", "linux/arm64", "--format", "json"]))).unwrap();
    assert_eq!(one["platforms"].as_array().unwrap().len(), 1, "{one:#}");
    assert_eq!(one["platforms"][0]["platform"], "linux/arm64");
    let table = ok(&env.run(&["diff", &a, &b]));
    assert!(table.contains("Env.NEW: (none) → \"y\"") && table.contains("only in") && table.contains("linux/riscv64"), "{table}");
    // Sizes over the tags, in version order, from the same reads as the matrix.
    let sizes: Value = serde_json::from_str(&ok(&env.run(&["sizes", &format!("{addr}/{repo}"), "--format", "json", "--jump", "1"]))).unwrap();
    let arm = sizes["platforms"]["linux/arm64"].as_array().unwrap();
    assert_eq!(arm.iter().map(|p| p["tag"].as_str().unwrap()).collect::<Vec<_>>(), ["1.0", "2.0"], "{sizes:#}");
    assert!(arm[1]["size"].as_u64() > arm[0]["size"].as_u64() && arm[1]["jump"] == true, "{sizes:#}");
    assert_eq!(sizes["platforms"]["linux/riscv64"].as_array().unwrap().len(), 1);
    let csv = ok(&env.run(&["sizes", &format!("{addr}/{repo}")]));
    assert!(csv.starts_with("platform,tag,compressed_size,pushed,jump\n") && csv.contains("linux/amd64,1.0,"), "{csv}");
}
