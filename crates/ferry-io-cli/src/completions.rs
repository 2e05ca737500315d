//! Shell completion scripts (`ferry completions SHELL`): clap's, taught
//! the addresses.
//!
//! clap_complete completes the flags and their values from
//! [`flags`](crate::flags), and offers nothing after a size, rate or
//! duration option (their `ValueHint::Other`). It knows SRC and DST only as
//! paths, so the bash, zsh and fish scripts get a small addition that
//! offers the address prefixes (`tcp:`, `zero:`...) beside file names, and
//! file names after `file:`, `unix:` and `unix-listen:`. Elvish and
//! PowerShell get clap's script as it is (file names).

use clap::CommandFactory;
use clap_complete::Shell;

use crate::flags::Cli;

/// What SRC and DST may start with, as completions offer them.
pub const PREFIXES: [&str; 15] = [
    "-",
    "file:",
    "tcp:",
    "tcp-listen:",
    "unix:",
    "unix-listen:",
    "tls:",
    "tls-listen:",
    "exec:",
    "sh:",
    "udp:",
    "udp-listen:",
    "fd:",
    "zero:",
    "null:",
];

/// The completion script for `shell`.
pub fn script(shell: Shell) -> Vec<u8> {
    let mut command = without_hidden(Cli::command());
    // clap_complete panics when its writer fails: render, then write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "ferry", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    let prefixes = PREFIXES.join(" ");
    match shell {
        Shell::Bash => bash(&script, &prefixes, &valued_options(&command)),
        Shell::Zsh => zsh(&script, &prefixes),
        Shell::Fish => fish(script, &prefixes),
        _ => script,
    }
    .into_bytes()
}

/// `command` with its subcommands' hidden arguments left out (`ferry bench
/// --size`, for tests): clap_complete would offer them.
fn without_hidden(mut command: clap::Command) -> clap::Command {
    let hiding: Vec<String> = command
        .get_subcommands()
        .filter(|sub| sub.get_arguments().any(clap::Arg::is_hide_set))
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in hiding {
        command = command.mut_subcommand(name, |sub| {
            let shown = sub
                .get_arguments()
                .filter(|arg| !arg.is_hide_set())
                .cloned();
            let mut visible = clap::Command::new(sub.get_name().to_string()).args(shown);
            if let Some(about) = sub.get_about() {
                visible = visible.about(about.clone());
            }
            visible
        });
    }
    command
}

/// Every option that takes a value, as `-b|--buffer-size|...`.
fn valued_options(command: &clap::Command) -> String {
    let mut names = Vec::new();
    for arg in command.get_opts() {
        if let Some(short) = arg.get_short() {
            names.push(format!("-{short}"));
        }
        if let Some(long) = arg.get_long() {
            names.push(format!("--{long}"));
        }
    }
    names.join("|")
}

/// clap's `_ferry` becomes `_ferry_clap`, called for options, their values
/// and subcommands; `_ferry` completes addresses itself. bash splits words
/// at `:` (`COMP_WORDBREAKS`), so the word is taken whole from `COMP_LINE`
/// and each candidate is cut to what follows the word's last colon.
fn bash(script: &str, prefixes: &str, valued: &str) -> String {
    let clap = script.replacen("_ferry() {", "_ferry_clap() {", 1);
    let ours = r#"
# SRC and DST: address prefixes and file names (added by ferry).
_ferry() {
    local line="${COMP_LINE:0:COMP_POINT}"
    local word="${line##*[[:space:]]}"
    local -a before
    read -r -a before <<< "${line%"$word"}"
    local prev="${before[${#before[@]}-1]}"
    case "$prev" in
        VALUED) _ferry_clap "$@"; return ;;
    esac
    case "${before[1]}" in
        completions|man|help) _ferry_clap "$@"; return ;;
    esac
    if [[ "$word" == -?* || ( ${#before[@]} -le 1 && -n "$word" && "completions man help" == *" $word"* ) ]]; then
        _ferry_clap "$@"
        return
    fi
    local prefix="" rest="$word" candidate
    local -a candidates=()
    case "$word" in
        file:*|unix:*|unix-listen:*) prefix="${word%%:*}:"; rest="${word#*:}" ;;
        *:*) COMPREPLY=(); return 0 ;;
        *)
            for candidate in PREFIXES; do
                [[ "$candidate" == "$word"* ]] && candidates+=("$candidate")
            done
            ;;
    esac
    while IFS= read -r candidate; do
        [[ -d "$candidate" ]] && candidate="$candidate/"
        candidates+=("$prefix$candidate")
    done < <(compgen -f -- "$rest")
    if [[ "$COMP_WORDBREAKS" == *:* && "$word" == *:* ]]; then
        local cut="${word%"${word##*:}"}"
        candidates=("${candidates[@]#"$cut"}")
    fi
    COMPREPLY=("${candidates[@]}")
    # A prefix or a directory goes on without a space.
    if [[ ${#COMPREPLY[@]} -ne 1 || "${COMPREPLY[0]}" == *[:/] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
"#
    .replace("VALUED", valued)
    .replace("PREFIXES", prefixes);
    // The `complete` line at the end of clap's script names `_ferry`.
    match clap.find("\nif [[ \"${BASH_VERSINFO[0]}\" -eq 4") {
        Some(at) => format!("{}{ours}{}", &clap[..at], &clap[at..]),
        None => format!("{clap}{ours}"),
    }
}

/// SRC and DST complete with `_ferry_address` instead of `_files`.
fn zsh(script: &str, prefixes: &str) -> String {
    let ours = format!(
        r#"
# SRC and DST: address prefixes and file names (added by ferry).
_ferry_address() {{
    case $PREFIX in
        file:*|unix:*|unix-listen:*) compset -P '*:'; _files; return ;;
        *:*) return 1 ;;
    esac
    local -a prefixes=({prefixes})
    compadd -S '' -a prefixes
    _files
}}
"#
    );
    let script: String = script
        .split_inclusive('\n')
        .map(|line| {
            let positional = line.starts_with("':src -- ") || line.starts_with("':dst -- ");
            if positional {
                line.replacen(":_files'", ":_ferry_address'", 1)
            } else {
                line.to_string()
            }
        })
        .collect();
    match script.find("\nif [ \"$funcstack[1]\" = \"_ferry\" ]") {
        Some(at) => format!("{}{ours}{}", &script[..at], &script[at..]),
        None => format!("{script}{ours}"),
    }
}

/// Fish completes file names for arguments already; add the prefixes.
fn fish(mut script: String, prefixes: &str) -> String {
    script.push_str(&format!(
        "\n# SRC and DST: address prefixes (added by ferry).\n\
         complete -c ferry -n \"__fish_ferry_needs_command\" -a \"{prefixes}\"\n"
    ));
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_mentions_every_prefix_it_adds() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let script = String::from_utf8(script(shell)).unwrap();
            for prefix in PREFIXES {
                assert!(script.contains(prefix), "{shell}: no {prefix}");
            }
        }
        let zsh = String::from_utf8(script(Shell::Zsh)).unwrap();
        assert_eq!(zsh.matches(":_ferry_address'").count(), 2, "{zsh}");
    }
}
