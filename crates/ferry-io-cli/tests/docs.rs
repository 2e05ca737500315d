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
    // Only pages that exist: no ferry-completions(1) and the like (the
    // package's name, ferry-io-cli, is not a page).
    let page_of_its_own = |word: &str| word.starts_with("ferry-") && word.contains('(');
    assert!(!text.split_whitespace().any(page_of_its_own), "{text}");
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

#[test]
fn bench_completion_offers_no_hidden_flag() {
    if !have("bash") {
        eprintln!("skipped: no bash");
        return;
    }
    let offered = bash_completes("ferry bench --");
    assert!(offered.iter().any(|flag| flag == "--quick"), "{offered:?}");
    assert!(!offered.iter().any(|flag| flag == "--size"), "{offered:?}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = String::from_utf8(ferry(&["completions", shell])).unwrap();
        assert!(!script.contains("The amounts per run"), "{shell}");
    }
}

#[test]
fn the_man_page_names_the_schema_file() {
    let page = String::from_utf8(ferry(&["man"])).unwrap();
    assert!(!page.contains("The schema is in the README"), "{page}");
    assert!(page.contains("doc/ferry.schema.json"), "{page}");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/ferry.schema.json");
    assert!(shipped.is_file());
}

/// README's text, from the workspace root.
fn readme() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(root).unwrap()
}

#[test]
fn the_readmes_systemd_excerpt_is_the_unit_in_contrib() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let unit = std::fs::read_to_string(root.join("contrib/systemd/ferry-relay.service")).unwrap();
    let readme = readme();
    // The ExecStart line with its continuation lines, as the unit has it.
    let exec_start: Vec<&str> = unit
        .lines()
        .skip_while(|line| !line.starts_with("ExecStart="))
        .scan(true, |more, line| {
            let this = (*more).then_some(line);
            *more = line.ends_with('\\');
            this
        })
        .collect();
    assert!(exec_start.len() > 1, "{unit}");
    // README indents the excerpt, as a list item's block.
    let trimmed: Vec<&str> = readme.lines().map(str::trim).collect();
    let wanted: Vec<&str> = exec_start.iter().map(|line| line.trim()).collect();
    assert!(
        trimmed.windows(wanted.len()).any(|lines| lines == wanted),
        "README's systemd excerpt differs from the unit's:\n{}",
        exec_start.join("\n")
    );
}

#[test]
fn the_readmes_access_log_errors_are_what_ferry_writes() {
    // Upstreams nobody listens on, on loopback, written as README's.
    let (first, second) = (common::free_port(), common::free_port());
    for upstreams in [vec![first], vec![first, second]] {
        let mut args = vec!["-v".to_string(), "tcp-listen:127.0.0.1:0".to_string()];
        args.extend(upstreams.iter().map(|port| format!("tcp:127.0.0.1:{port}")));
        args.extend(["--serve", "--access-log", "-"].map(String::from));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ferry = common::Ferry::spawn(&args);
        let mut client = common::connect(ferry.port());
        let _ = std::io::Read::read_to_end(&mut client, &mut Vec::new());
        ferry.wait_for_line(" close");
        ferry.signal("INT");
        let done = ferry.wait(common::DEADLINE);
        let stdout = String::from_utf8(done.stdout).unwrap();
        let error = stdout
            .split(" error=")
            .nth(1)
            .unwrap_or_else(|| panic!("{stdout}"))
            .trim_end()
            .replace(&format!("127.0.0.1:{first}"), "10.0.0.5:80")
            .replace(&format!("127.0.0.1:{second}"), "10.0.0.6:80");
        assert!(
            readme().contains(&format!("error={error}")),
            "README lacks: error={error}"
        );
    }
}
