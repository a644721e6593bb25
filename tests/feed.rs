//! The vwrp feed: openwrt/vwrp/Makefile and luci-app-vwrp/Makefile built
//! the way an OpenWrt buildroot or SDK builds a feed linked in feeds.conf.
//! No OpenWrt tree can be fetched or run here, so its make machinery is
//! replaced by stand-ins in tests/openwrt/buildroot/, each saying what it
//! imitates: the top-level Makefile (`make package/NAME/compile`),
//! scripts/feeds (src-link feeds: index, install), rules.mk,
//! include/package.mk, the packages feed's lang/rust/rust-package.mk and
//! the LuCI feed's luci.mk. What the recipes install is compared with the
//! .ipk files scripts/ipk.sh and scripts/ipk-luci.sh pack (which
//! tests/openwrt.rs and tests/luci.rs install and run). Also: the version's
//! one home, the licence, the LuCI translation template, and what `vwrp`
//! says about itself. Needs make, gettext and shellcheck (scripts/deps.sh).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Not the whole test bed: this file needs none of it.
#[allow(dead_code)]
#[path = "support/tempdir.rs"]
mod tempdir;

use tempdir::TempDir;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const VWRP_BIN: &str = env!("CARGO_BIN_EXE_vwrp");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn repo(rel: &str) -> PathBuf {
    Path::new(ROOT).join(rel)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Runs `cmd`, which must succeed; its output.
fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}:\n{}{}", text(&out.stdout), text(&out.stderr));
    out
}

/// Copies `from`'s files (relative paths) into `to`, modes kept.
fn copy_files(from: &Path, files: &[String], to: &Path) {
    for f in files {
        let src = from.join(f);
        if !src.is_file() {
            continue; // deleted in the work tree, still in git's index
        }
        let dst = to.join(f);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    }
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

/// A stand-in buildroot, and the feed it links: a copy of the repository's
/// files (what git tracks, or would), so that a test may change them.
struct Buildroot {
    tmp: TempDir,
}

impl Buildroot {
    fn new() -> Buildroot {
        let tmp = TempDir::new("feed-br");
        let stand_ins = repo("tests/openwrt/buildroot");
        copy_files(&stand_ins, &files_under(&stand_ins), &tmp.join("buildroot"));
        let listed =
            ok(Command::new("git").args(["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]));
        let files: Vec<String> =
            text(&listed.stdout).split('\0').filter(|f| !f.is_empty()).map(str::to_string).collect();
        copy_files(Path::new(ROOT), &files, &tmp.join("vwrp"));
        std::fs::write(tmp.join("buildroot/feeds.conf"), format!("src-link vwrp {}\n", tmp.join("vwrp").display()))
            .unwrap();
        Buildroot { tmp }
    }

    /// The buildroot after `scripts/feeds update vwrp` and `install`.
    fn with_feed() -> Buildroot {
        let br = Buildroot::new();
        br.feeds(&["update", "vwrp"]);
        br.feeds(&["install", "vwrp", "luci-app-vwrp"]);
        br
    }

    fn feeds(&self, args: &[&str]) -> Output {
        ok(Command::new(self.tmp.join("buildroot/scripts/feeds")).args(args))
    }

    /// `make TARGET` at the top of the buildroot.
    fn make(&self, target: &str) -> Output {
        let mut cmd = Command::new("make");
        cmd.args(["-s", target]).current_dir(self.tmp.join("buildroot")).env("STANDIN_CARGO_BIN", VWRP_BIN);
        cmd.output().unwrap()
    }

    fn compile(&self, pkg: &str) {
        let out = self.make(&format!("package/{pkg}/compile"));
        assert!(out.status.success(), "make package/{pkg}/compile:\n{}{}", text(&out.stdout), text(&out.stderr));
    }

    /// A file of the linked feed (the repository's copy).
    fn feed(&self, rel: &str) -> PathBuf {
        self.tmp.join("vwrp").join(rel)
    }

    /// What the build wrote for package `pkg`: data/, control, conffiles, ...
    fn built(&self, pkg: &str) -> PathBuf {
        self.tmp.join("buildroot/bin/packages").join(pkg)
    }

    fn build_dir(&self, dir: &str) -> PathBuf {
        self.tmp.join("buildroot/build_dir/target").join(dir)
    }
}

/// An .ipk unpacked: data/, and control/ with control, conffiles, scripts.
fn unpack_ipk(ipk: &Path, into: &Path) {
    for d in ["outer", "data", "control"] {
        std::fs::create_dir_all(into.join(d)).unwrap();
    }
    ok(Command::new("tar").arg("-xzf").arg(ipk).arg("-C").arg(into.join("outer")));
    for part in ["data", "control"] {
        ok(Command::new("tar")
            .arg("-xzf")
            .arg(into.join(format!("outer/{part}.tar.gz")))
            .arg("-C")
            .arg(into.join(part)));
    }
}

/// A control file's fields; continuation lines join the field's value.
fn control_fields(control: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut last = String::new();
    for l in control.lines() {
        if let Some(more) = l.strip_prefix(' ') {
            let v: &mut String = fields.get_mut(&last).expect("a continuation line first");
            v.push('\n');
            v.push_str(more);
        } else if let Some((k, v)) = l.split_once(':') {
            last = k.to_string();
            fields.insert(last.clone(), v.trim_start().to_string());
        }
    }
    fields
}

/// Each file under `dir` with its mode and contents.
fn tree(dir: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|f| {
            let p = dir.join(&f);
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o7777;
            (f, (mode, std::fs::read(&p).unwrap()))
        })
        .collect()
}

fn modes(t: &BTreeMap<String, (u32, Vec<u8>)>) -> Vec<(String, u32)> {
    t.iter().map(|(f, (m, _))| (f.clone(), *m)).collect()
}

/// The packed .ipk of `pkg` and the recipe's build of it agree on every
/// installed file (path, mode, bytes), the control fields, the conffiles
/// the postinst fragment and the postrm.
fn assert_same_package(br: &Buildroot, pkg: &str, ipk: &Path) {
    let x = br.tmp.join(format!("ipk-{pkg}"));
    unpack_ipk(ipk, &x);
    let built = br.built(pkg);

    let (packed, installed) = (tree(&x.join("data")), tree(&built.join("data")));
    assert_eq!(modes(&packed), modes(&installed), "{pkg}: the .ipk and the recipe install different files or modes");
    for (f, (_, bytes)) in &packed {
        assert!(installed[f].1 == *bytes, "{pkg}: {f} differs between the .ipk and the recipe");
    }

    let packed = control_fields(&read(&x.join("control/control")));
    let recipe = control_fields(&read(&built.join("control")));
    for k in
        ["Package", "Version", "Depends", "License", "LicenseFiles", "Section", "URL", "Maintainer", "Architecture"]
    {
        assert_eq!(packed.get(k), recipe.get(k), "{pkg}: control field {k}");
    }
    assert_eq!(packed["Description"], recipe["Description"], "{pkg}: description");
    let conffiles = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default().trim().to_string();
    assert_eq!(conffiles(x.join("control/conffiles")), conffiles(built.join("conffiles")), "{pkg}: conffiles");
    assert_eq!(
        read(&x.join("control/postinst-pkg")).trim_end(),
        read(&built.join("postinst-pkg")).trim_end(),
        "{pkg}: postinst"
    );
    let script = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default().trim_end().to_string();
    assert_eq!(script(x.join("control/postrm")), script(built.join("postrm")), "{pkg}: postrm");
}

#[test]
fn the_feed_gives_the_documented_packages_and_make_targets() {
    let br = Buildroot::new();
    br.feeds(&["update", "vwrp"]);
    // scripts/feeds finds every recipe of the feed (include/scan.mk's rule)
    // and names each package's directory after the recipe's.
    let mut index: Vec<String> = read(&br.tmp.join("buildroot/feeds/vwrp.index")).lines().map(str::to_string).collect();
    index.sort();
    assert_eq!(index, ["vwrp luci-app-vwrp luci-app-vwrp", "vwrp openwrt/vwrp vwrp"]);
    br.feeds(&["install", "vwrp", "luci-app-vwrp"]);
    for pkg in ["vwrp", "luci-app-vwrp"] {
        br.compile(pkg);
        assert!(br.built(pkg).join("control").is_file(), "{pkg} was not built");
    }
    // A package's own name is no make target; its directory's is.
    assert!(!br.make("package/openwrt/compile").status.success());

    // The commands the documentation and the recipes give are those.
    let doc = read(&repo("docs/OPENWRT.md"));
    for cmd in [
        "src-link vwrp /path/to/vwrp",
        "./scripts/feeds update vwrp",
        "./scripts/feeds install vwrp luci-app-vwrp",
        "make package/vwrp/compile",
        "make package/luci-app-vwrp/compile",
    ] {
        assert!(doc.contains(cmd), "docs/OPENWRT.md does not say `{cmd}`");
    }
    assert!(read(&repo("openwrt/vwrp/Makefile")).contains("make package/vwrp/compile"));
    assert!(read(&repo("luci-app-vwrp/Makefile")).contains("make package/luci-app-vwrp/compile"));
}

#[test]
fn the_recipes_install_what_the_ipk_files_ship() {
    let br = Buildroot::with_feed();
    br.compile("vwrp");
    br.compile("luci-app-vwrp");
    let out = br.tmp.join("ipk");
    let vwrp = ok(Command::new(repo("scripts/ipk.sh"))
        .args(["x86_64", VWRP_BIN])
        .arg(&out)
        .env("SOURCE_DATE_EPOCH", "1700000000"));
    assert_same_package(&br, "vwrp", Path::new(text(&vwrp.stdout).trim()));
    let luci = ok(Command::new(repo("scripts/ipk-luci.sh")).arg(&out).env("SOURCE_DATE_EPOCH", "1700000000"));
    assert_same_package(&br, "luci-app-vwrp", Path::new(text(&luci.stdout).trim()));

    // The feed's cargo install, on the tree Build/Prepare copied.
    let build = br.build_dir(&format!("vwrp-{VERSION}"));
    let install = read(&build.join(".cargo-install"));
    assert!(install.contains(" --locked"), "{install}");
    // The feed's own profile and settings (docs/SIZE.md says why).
    assert!(install.contains(" --profile release "), "{install}");
    // PKG_LICENSE_FILES names files of the build directory.
    let control = control_fields(&read(&br.built("vwrp").join("control")));
    for f in control["LicenseFiles"].split_whitespace() {
        assert!(build.join(f).is_file(), "LicenseFiles names {f}, which Build/Prepare did not copy");
    }
}

#[test]
fn the_version_has_one_home_cargo_toml() {
    let br = Buildroot::with_feed();
    br.compile("vwrp");
    br.compile("luci-app-vwrp");
    let version = |pkg: &str| control_fields(&read(&br.built(pkg).join("control")))["Version"].clone();
    assert_eq!(version("vwrp"), format!("{VERSION}-r1"));
    assert_eq!(version("luci-app-vwrp"), VERSION, "luci.mk gives the version without the release");
    let out = ok(Command::new(VWRP_BIN).arg("--version"));
    assert_eq!(text(&out.stdout), format!("vwrp {VERSION}\n"));

    // A new version in Cargo.toml (and its lock file, as cargo writes it)
    // is the version of both packages, with nothing else to edit.
    let bump = |rel: &str, from: &str, to: &str| {
        let p = br.feed(rel);
        let t = read(&p);
        assert!(t.contains(from), "{rel} lacks {from:?}");
        std::fs::write(&p, t.replacen(from, to, 1)).unwrap();
    };
    bump("Cargo.toml", &format!("version = \"{VERSION}\""), "version = \"9.8.7\"");
    bump("Cargo.lock", &format!("name = \"vwrp\"\nversion = \"{VERSION}\""), "name = \"vwrp\"\nversion = \"9.8.7\"");
    br.compile("vwrp");
    br.compile("luci-app-vwrp");
    assert_eq!(version("vwrp"), "9.8.7-r1");
    assert_eq!(version("luci-app-vwrp"), "9.8.7");
    for f in ["openwrt/vwrp/Makefile", "luci-app-vwrp/Makefile", "scripts/ipk.sh", "scripts/ipk-luci.sh"] {
        assert!(!read(&repo(f)).contains(VERSION), "{f} spells out the version");
    }
}

#[test]
fn a_changed_source_file_is_copied_in_again() {
    let br = Buildroot::with_feed();
    br.compile("vwrp");
    let build = br.build_dir(&format!("vwrp-{VERSION}"));
    let marker = build.join("marker");
    let prepared =
        |b: &Path| -> Vec<String> { files_under(b).into_iter().filter(|f| f.starts_with(".prepared_")).collect() };
    let first = prepared(&build);
    assert_eq!(first.len(), 1);

    // Nothing changed: the build directory stays as it is.
    std::fs::write(&marker, "").unwrap();
    br.compile("vwrp");
    assert!(marker.exists(), "prepared again with nothing changed");
    // A file outside what Build/Prepare copies changes nothing either.
    std::fs::write(br.feed("README.md"), "changed\n").unwrap();
    br.compile("vwrp");
    assert!(marker.exists(), "prepared again for a file it does not copy");

    // Every part Build/Prepare copies counts (PKG_FILE_DEPENDS): an edit
    // (a comment added; Cargo.lock only saved again, cargo keeps it exact).
    for (rel, edit, installed) in [
        ("src/lib.rs", true, None),
        ("files/etc/init.d/vwrp", true, Some("etc/init.d/vwrp")),
        ("Cargo.toml", true, None),
        ("Cargo.lock", false, None),
        ("LICENSE", true, None),
    ] {
        std::fs::write(&marker, "").unwrap();
        let p = br.feed(rel);
        let changed = if edit { format!("{}\n# changed\n", read(&p)) } else { read(&p) };
        std::fs::write(&p, &changed).unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
        std::fs::File::options().write(true).open(&p).unwrap().set_modified(later).unwrap();
        br.compile("vwrp");
        assert!(!marker.exists(), "{rel} changed, but the build directory was not prepared again");
        assert_eq!(read(&build.join(rel)), changed, "{rel}");
        if let Some(i) = installed {
            assert_eq!(read(&br.built("vwrp").join("data").join(i)), changed, "{i} in the package");
        }
    }
    assert_ne!(prepared(&build), first);
}

#[test]
fn the_luci_app_carries_a_current_translation_template() {
    let tmp = TempDir::new("feed-pot");
    let fresh = tmp.join("vwrp.pot");
    ok(Command::new(repo("scripts/pot.sh")).arg(&fresh));
    let committed = read(&repo("luci-app-vwrp/po/templates/vwrp.pot"));
    assert!(read(&fresh) == committed, "luci-app-vwrp/po/templates/vwrp.pot is stale: run scripts/pot.sh");
    // It holds the strings of both views and of the menu.
    for id in ["msgid \"Step up\"", "msgid \"Priority\"", "msgid \"WAN Redundancy\""] {
        assert!(committed.contains(id), "{id}");
    }
    // luci.mk builds a translation package per po/ directory other than templates.
    let po: Vec<String> = std::fs::read_dir(repo("luci-app-vwrp/po"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(po, ["templates"]);
}

#[test]
fn the_licence_is_shipped_and_named_alike_everywhere() {
    let licence = read(&repo("LICENSE"));
    assert!(licence.contains("GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991"));
    assert!(licence.contains("END OF TERMS AND CONDITIONS"));
    let cargo = read(&repo("Cargo.toml"));
    assert!(cargo.contains("\nlicense = \"GPL-2.0-only\"\n"));
    for f in ["openwrt/vwrp/Makefile", "luci-app-vwrp/Makefile"] {
        assert!(read(&repo(f)).contains("\nPKG_LICENSE:=GPL-2.0-only\n"), "{f}");
    }
    assert!(read(&repo("openwrt/vwrp/Makefile")).contains("\nPKG_LICENSE_FILES:=LICENSE\n"));
    // No placeholder addresses in what the packages say.
    for f in ["Cargo.toml", "openwrt/vwrp/Makefile", "luci-app-vwrp/Makefile", "scripts/ipk.sh", "scripts/ipk-luci.sh"]
    {
        assert!(!read(&repo(f)).contains("example.invalid"), "{f}");
    }
}

#[test]
fn vwrp_says_its_version_and_usage() {
    let run = |args: &[&str]| Command::new(VWRP_BIN).args(args).output().unwrap();
    for flag in ["--version", "-V"] {
        let out = run(&[flag]);
        assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), format!("vwrp {VERSION}\n")), "{flag}");
    }
    for flag in ["--help", "-h"] {
        let out = run(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(text(&out.stdout).starts_with("usage: vwrp <command>\n"), "{flag}: {}", text(&out.stdout));
        assert!(out.stderr.is_empty(), "{flag}");
    }
    // A bare `vwrp` is a usage error: the usage on stderr, exit 2.
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).starts_with("usage: vwrp <command>\n"), "{}", text(&out.stderr));
}

#[test]
fn feed_scripts_pass_shellcheck() {
    ok(Command::new("shellcheck").current_dir(ROOT).args([
        "-s",
        "sh",
        "scripts/pot.sh",
        "tests/openwrt/buildroot/scripts/feeds",
    ]));
}
