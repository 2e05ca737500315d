//! The manual and the completions as installed: `ferry man` renders through
//! groff without a warning and has every section; the bash completion
//! script offers the address prefixes and no file names after a size.

mod common;

use std::process::{Command, Stdio};

use common::{have, TempDir};

fn ferry(args: &[&str]) -> Vec<u8> {
    let done = common::run(args);
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    done.stdout
}

#[test]
fn the_man_page_renders_without_warnings_and_has_every_section() {
    if !have("groff") {
        eprintln!("skipped: groff is not installed (apt-get install groff-base)");
        return;
    }
    let page = ferry(&["man"]);
    let dir = TempDir::new("man");
    let path = dir.path("ferry.1");
    std::fs::write(&path, &page).unwrap();
    let rendered = Command::new("groff")
        .args(["-man", "-ww", "-Tutf8", "-P", "-cbou", &path])
        .stdin(Stdio::null())
        .output()
        .expect("run groff");
    let warnings = String::from_utf8_lossy(&rendered.stderr);
    assert!(
        rendered.status.success() && warnings.is_empty(),
        "{warnings}"
    );
    let text = String::from_utf8_lossy(&rendered.stdout);
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "ADDRESSES",
        "OPTIONS",
        "SIZES AND DURATIONS",
        "SIGNALS",
        "EXIT STATUS",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            text.lines().any(|line| line == section),
            "no section {section}:\n{text}"
        );
    }
    for page in ["socat(1)", "nc(1)", "pv(1)"] {
        assert!(text.contains(page), "SEE ALSO lacks {page}");
    }
    // Only pages that exist: no ferry-completions(1) and the like.
    assert!(!text.contains("ferry-"), "{text}");
}

/// The candidates bash's completion offers for `line` (the cursor at its
/// end), with the script sourced, in a directory holding `zzz-file`.
fn bash_completes(line: &str) -> Vec<String> {
    let dir = TempDir::new("completion");
    let script = dir.path("ferry.bash");
    std::fs::write(&script, ferry(&["completions", "bash"])).unwrap();
    std::fs::write(dir.path("zzz-file"), "").unwrap();
    // COMP_WORDS as bash splits them: at spaces and at the colons of
    // COMP_WORDBREAKS.
    let program = r#"
        source "$1"
        complete -p ferry >/dev/null || exit 3
        COMP_LINE="$2"
        COMP_POINT=${#COMP_LINE}
        read -r -a COMP_WORDS <<< "$(sed 's/:/ : /g' <<< "$COMP_LINE")"
        [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        _ferry ferry "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let out = Command::new("bash")
        .current_dir(&dir.0)
        .args(["-c", program, "bash", &script, line])
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completes_address_prefixes_and_files() {
    if !have("bash") {
        eprintln!("skipped: no bash");
        return;
    }
    assert_eq!(bash_completes("ferry tc"), ["tcp:", "tcp-listen:"]);
    // bash replaces only what follows the last colon.
    assert_eq!(bash_completes("ferry zero: nu"), ["null:"]);
    let all = bash_completes("ferry ");
    for prefix in [
        "-",
        "file:",
        "tcp:",
        "tcp-listen:",
        "unix:",
        "unix-listen:",
        "zero:",
        "null:",
        "zzz-file",
    ] {
        assert!(
            all.iter().any(|c| c == prefix),
            "{prefix} missing from {all:?}"
        );
    }
    assert_eq!(bash_completes("ferry zz"), ["zzz-file"]);
    assert_eq!(bash_completes("ferry zero: file:zz"), ["zzz-file"]);
    assert_eq!(bash_completes("ferry --lim"), ["--limit"]);
}

#[test]
fn bash_completes_no_file_names_after_a_size_rate_or_duration() {
    if !have("bash") {
        eprintln!("skipped: no bash");
        return;
    }
    for option in [
        "-L",
        "--limit",
        "--idle-timeout",
        "--buffer-size",
        "--interval",
    ] {
        let offered = bash_completes(&format!("ferry zero: null: {option} "));
        assert!(
            offered.iter().all(|c| c.is_empty()),
            "{option} offers {offered:?}"
        );
    }
}
