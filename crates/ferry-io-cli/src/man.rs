//! The man page (`ferry man`): written by hand in roff, `doc/ferry.1`, with
//! the sections clap cannot generate (addresses, signals, exit status,
//! examples). Its tests keep it from drifting away from [`flags`](crate::flags).

/// The page, as `ferry man` prints it.
pub const PAGE: &str = include_str!("../doc/ferry.1");

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::PAGE;
    use crate::completions::PREFIXES;
    use crate::flags::Cli;

    /// `--rate-limit` as roff writes it: `\-\-rate\-limit`.
    fn roff(flag: &str) -> String {
        flag.replace('-', "\\-")
    }

    #[test]
    fn every_flag_clap_knows_is_in_the_man_page() {
        let command = Cli::command().disable_help_flag(false);
        let mut missing = Vec::new();
        for arg in command.get_arguments() {
            if let Some(long) = arg.get_long() {
                if !PAGE.contains(&roff(&format!("--{long}"))) {
                    missing.push(format!("--{long}"));
                }
            }
            if let Some(short) = arg.get_short() {
                if !PAGE.contains(&format!(".BR \\-{short} ")) {
                    missing.push(format!("-{short}"));
                }
            }
        }
        for flag in ["--help", "--version"] {
            if !PAGE.contains(&roff(flag)) {
                missing.push(flag.to_string());
            }
        }
        assert!(missing.is_empty(), "not in doc/ferry.1: {missing:?}");
    }

    #[test]
    fn every_address_type_and_subcommand_is_in_the_man_page() {
        for prefix in PREFIXES {
            assert!(PAGE.contains(&roff(prefix)), "no {prefix}");
        }
        for subcommand in Cli::command().get_subcommands() {
            let name = subcommand.get_name();
            assert!(
                PAGE.contains(&format!(".B ferry {name}")),
                "no ferry {name}"
            );
        }
    }
}
