//! What a packager ships besides the binary, generated from the one clap definition of the
//! command line: man pages (`discrec(1)` and one page per subcommand, `discrec-lock(1)`, ...)
//! and shell completions. Never written by hand.
//!
//! Reached through two hidden subcommands, `discrec man DIR` and `discrec completions SHELL`,
//! which [`parse`] adds to the parser; `packaging/dist.sh` calls them to fill `target/dist/` for
//! the Debian package. What the clap definition cannot say (exit statuses, environment, files)
//! is kept here, in [`EXIT_STATUS`], [`ENVIRONMENT`] and [`FILES`].

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{value_parser, Arg, Command, Parser};
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{bold, italic, roman, Inline, Roff};

/// The exit statuses of `discrec` (SPEC section 7), as (status, meaning).
pub const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "Success. For lock: COMMAND's own exit status otherwise.",
    ),
    (
        "1",
        "The device is busy (held by another client, a program or a mount), or the wait timed out.",
    ),
    (
        "64",
        "Usage error: a bad option, client name or device name.",
    ),
    ("66", "No such device, or the device vanished."),
    ("71", "Any other system error."),
    (
        "74",
        "A device I/O error or a device command that timed out.",
    ),
    ("77", "Permission denied."),
    ("126", "lock: COMMAND could not be run."),
    ("127", "lock: COMMAND was not found."),
    ("128+N", "lock: COMMAND died of signal N."),
];

/// The environment variables `discrec` reads, as (name, meaning).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "DISCRECORDER_RUNTIME_DIR",
        "The directory for owner records and emulated recorders, instead of /dev/shm. Processes \
         see each other's claims and names only if they use the same directory. It must be a \
         real directory owned by root or by the user, and sticky if others may write to it; \
         otherwise publishing a name there is refused.",
    ),
    (
        "NO_COLOR",
        "When set to a non-empty value, help and error messages are printed without colour.",
    ),
];

/// The files `discrec` uses, as (path, meaning).
pub const FILES: &[(&str, &str)] = &[
    (
        "/dev/shm/discrecorder.owner.KEY.PID",
        "Owner records: the client name a holding process published, one file per holder; KEY \
         is blk-MAJOR-MINOR for a block device or emu-NAME for an emulated recorder, and a name \
         squatted by another user is replaced by the same name with .1 to .7 appended. A record \
         counts only while /proc/locks shows that its writer holds the device, so a crashed \
         holder's leftover file is ignored and a forged one never counts.",
    ),
    (
        "/dev/shm/discrecorder.emu.NAME",
        "The emulated recorder emu:NAME (mode 0666, shared by every user of the machine): its \
         locks are the claims and its content is the drive's state (tray, medium, faults). \
         Created by discrec emu create NAME or on first use, removed by discrec emu remove NAME.",
    ),
    (
        "$DISCRECORDER_RUNTIME_DIR/discrecorder.*",
        "The same files, when DISCRECORDER_RUNTIME_DIR is set.",
    ),
    (
        "/proc/locks, /proc/self/mountinfo",
        "Read to find who holds a device (the kernel's lock table) and what is mounted from it.",
    ),
];

/// What `discrec(1)` says after the clap description: the model behind every subcommand.
pub const OVERVIEW: &[&str] = &[
    "discrec gives a program exclusive access to an optical disc recorder (or any block device, \
     or an emulated recorder emu:NAME) under a client name that every user of the machine can \
     read, with the semantics of IMAPI2's AcquireExclusiveAccess, ReleaseExclusiveAccess and \
     ExclusiveAccessOwner.",
    "Every claim is a kernel object on the device node: an O_EXCL open that keeps mounts and \
     burners out, a flock(2) lock that udev and other discrecorder clients honour, and a POSIX \
     lock that libburn tools such as xorriso and cdrskin honour. A holder that crashes or is \
     killed frees the device at once: there is no daemon, no timeout and no stale lock file.",
    "Errors are printed on one line as NAME (0xXXXXXXXX): meaning: context, with IMAPI2's \
     HRESULT values, or as a JSON object on stderr with --json.",
];

/// Related pages listed under SEE ALSO in `discrec(1)`.
const SEE_ALSO: &[&str] = &[
    "flock(1)",
    "eject(1)",
    "xorriso(1)",
    "cdrskin(1)",
    "growisofs(1)",
];

/// Parses the command line of `T` (the `discrec` parser), or runs one of the hidden
/// distribution subcommands and returns its exit code as `Err`.
pub fn parse<T: Parser>() -> Result<T, ExitCode> {
    let matches = T::command()
        .subcommand(
            Command::new("man")
                .hide(true)
                .about("Write discrec(1) and one page per subcommand into DIR")
                .arg(
                    Arg::new("dir")
                        .value_name("DIR")
                        .required(true)
                        .value_parser(value_parser!(PathBuf)),
                ),
        )
        .subcommand(
            Command::new("completions")
                .hide(true)
                .about("Print the completion script for SHELL on stdout")
                .arg(
                    Arg::new("shell")
                        .value_name("SHELL")
                        .required(true)
                        .value_parser(value_parser!(Shell)),
                ),
        )
        .get_matches();
    let done = match matches.subcommand() {
        Some(("man", m)) => m
            .get_one::<PathBuf>("dir")
            .map(|dir| man_pages(T::command(), dir).map(|_| ())),
        Some(("completions", m)) => m
            .get_one::<Shell>("shell")
            .map(|shell| completions(T::command(), *shell, &mut io::stdout().lock())),
        _ => None,
    };
    match done {
        Some(Ok(())) => Err(ExitCode::SUCCESS),
        Some(Err(e)) => {
            eprintln!("discrec: {e}");
            Err(ExitCode::from(71))
        }
        None => Ok(
            T::from_arg_matches(&matches).unwrap_or_else(|e| e.format(&mut T::command()).exit())
        ),
    }
}

/// Writes the completion script of `cmd` for `shell`.
pub fn completions(mut cmd: Command, shell: Shell, out: &mut dyn Write) -> io::Result<()> {
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, out);
    out.flush()
}

/// Writes one man page for `cmd` and one for every visible subcommand, at any depth
/// (`discrec.1`, `discrec-lock.1`, `discrec-emu-set.1`, ...), into `dir`, and returns their paths.
pub fn man_pages(cmd: Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    write_pages(&cmd, &cmd, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    root: &Command,
    cmd: &Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> io::Result<()> {
    let path = dir.join(format!("{}.1", page_name(cmd)));
    let mut page = Vec::new();
    render_page(root, cmd, &mut page)?;
    std::fs::write(&path, page)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(root, sub, dir, written)?;
    }
    Ok(())
}

/// `discrec`, `discrec-lock`, `discrec-emu-set`: the page's name, without its section.
fn page_name(cmd: &Command) -> &str {
    cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
}

/// Renders the page of `cmd` (`root` or one of its subcommands): clap_mangen's sections from
/// the clap definition, then exit status, environment, files, examples and see also.
pub fn render_page(root: &Command, cmd: &Command, w: &mut dyn Write) -> io::Result<()> {
    let version = root.get_version().unwrap_or_default();
    let source = format!("{} {version}", root.get_name());
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    // The title by hand: roff drops an empty date argument, which shifts the others. Then no
    // hyphenation and ragged right, so identifiers and options stay whole.
    writeln!(
        out,
        ".TH \"{}\" \"1\" \"\" \"{source}\" \"discrecorder\"\n.nh\n.ad l",
        page_name(cmd).to_uppercase()
    )?;
    man.render_name_section(&mut out)?;
    let mut roff = Roff::new();
    synopsis(&mut roff, cmd);
    roff.to_writer(&mut out)?;
    man.render_description_section(&mut out)?;
    if std::ptr::eq(root, cmd) {
        let mut roff = Roff::new();
        for paragraph in OVERVIEW {
            roff.control("PP", []).text([roman(*paragraph)]);
        }
        roff.to_writer(&mut out)?;
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }

    let mut roff = Roff::new();
    let (notes, examples) = split_after_help(cmd);
    if !notes.is_empty() {
        roff.control("SH", ["NOTES"]);
        for line in notes {
            roff.text([roman(line)]);
        }
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (status, meaning) in EXIT_STATUS {
        roff.control("TP", []);
        roff.text([bold(*status)]);
        roff.text([roman(*meaning)]);
    }
    tagged_section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    tagged_section(&mut roff, "FILES", FILES);
    if !examples.is_empty() {
        roff.control("SH", ["EXAMPLES"]);
        // Commands without a description share one block; each described one gets its own.
        let mut open = false;
        for (command, what) in examples {
            if open && what.is_some() {
                roff.control("EE", []).control("RE", []);
                open = false;
            }
            if !open {
                roff.control("PP", []);
                if let Some(what) = &what {
                    roff.text([roman(format!("{}:", capitalise(what)))]);
                }
                roff.control("RS", ["4"]).control("EX", []);
                open = true;
            }
            roff.text([roman(command)]);
            if what.is_some() {
                roff.control("EE", []).control("RE", []);
                open = false;
            }
        }
        if open {
            roff.control("EE", []).control("RE", []);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut see: Vec<String> = Vec::new();
    if !std::ptr::eq(root, cmd) {
        see.push(format!("{}(1)", page_name(root)));
    }
    see.extend(
        cmd.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| format!("{}(1)", page_name(s))),
    );
    see.extend(SEE_ALSO.iter().map(|s| s.to_string()));
    let mut line: Vec<Inline> = Vec::new();
    for (i, page) in see.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        let (name, section) = page.split_once('(').unwrap_or((page, ""));
        line.push(bold(name));
        line.push(roman(format!("({section}")));
    }
    roff.text(line);
    if std::ptr::eq(root, cmd) && !version.is_empty() {
        roff.control("SH", ["VERSION"]);
        roff.text([roman(source)]);
    }
    roff.to_writer(&mut out)?;

    // Every piece came with roff's two-line apostrophe preamble: keep only the first.
    let text = String::from_utf8_lossy(&out);
    let preamble = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let (title, body) = text.split_once('\n').unwrap_or((&text, ""));
    write!(w, "{preamble}{title}\n{}", body.replace(preamble, ""))
}

/// The synopsis as clap's own usage line (which, unlike clap_mangen's, shows `-- COMMAND...`
/// and `[OPTIONS]`), the command's name in bold.
fn synopsis(roff: &mut Roff, cmd: &Command) {
    roff.control("SH", ["SYNOPSIS"]);
    let name = cmd
        .get_bin_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_owned();
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.strip_prefix("Usage:").unwrap_or(&usage);
    for (i, form) in usage
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            roff.control("br", []);
        }
        match form.strip_prefix(name.as_str()) {
            Some(rest) => roff.text([bold(name.as_str()), roman(rest)]),
            None => roff.text([roman(form)]),
        };
    }
}

fn tagged_section(roff: &mut Roff, title: &str, entries: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (name, meaning) in entries {
        roff.control("TP", []);
        roff.text([italic_or_bold(name)]);
        roff.text([roman(*meaning)]);
    }
}

/// Environment variables and paths in bold, as man-pages(7) sets them.
fn italic_or_bold(name: &str) -> Inline {
    if name.starts_with('$') {
        italic(name)
    } else {
        bold(name)
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Splits the after-help text of `cmd` into free text and examples. The examples are the
/// indented lines after an `Examples:` line, each a command optionally followed, after two or
/// more spaces, by what it does.
fn split_after_help(cmd: &Command) -> (Vec<String>, Vec<(String, Option<String>)>) {
    let text = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut notes = Vec::new();
    let mut examples = Vec::new();
    let mut in_examples = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case("examples:") {
            in_examples = true;
        } else if in_examples && line.starts_with(char::is_whitespace) && !trimmed.is_empty() {
            match trimmed.split_once("  ") {
                Some((command, what)) => {
                    examples.push((command.trim_end().to_owned(), Some(what.trim().to_owned())))
                }
                None => examples.push((trimmed.to_owned(), None)),
            }
        } else if !trimmed.is_empty() {
            in_examples = false;
            notes.push(trimmed.to_owned());
        }
    }
    (notes, examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_page_has_the_sections_a_packager_expects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pages = man_pages(crate::Cli::command(), dir.path()).expect("pages");
        let names: Vec<String> = pages
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        for expected in [
            "discrec.1",
            "discrec-lock.1",
            "discrec-owner.1",
            "discrec-emu-set.1",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        assert!(!names
            .iter()
            .any(|n| n.contains("-man") || n.contains("-completions")));
        let root = std::fs::read_to_string(dir.path().join("discrec.1")).expect("read");
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                root.contains(&format!(".SH \"{section}\""))
                    || root.contains(&format!(".SH {section}")),
                "{section} missing"
            );
        }
        assert!(root.contains("DISCRECORDER_RUNTIME_DIR") && root.contains("NO_COLOR"));
        assert!(root.contains("discrecorder.emu.NAME"));
    }

    #[test]
    fn completions_name_every_subcommand() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut out = Vec::new();
            completions(crate::Cli::command(), shell, &mut out).expect("generate");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("close-tray"), "{shell}: no close-tray");
            assert!(
                !text.contains("completions"),
                "{shell}: hidden subcommand leaked"
            );
        }
    }
}
