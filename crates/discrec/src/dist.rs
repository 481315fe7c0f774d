//! What a packager ships besides the binary, generated from the one clap definition of the
//! command line: man pages (`discrec(1)` and one page per subcommand, `discrec-lock(1)`, ...)
//! and shell completions. Never written by hand.
//!
//! Reached through two hidden subcommands, `discrec man DIR` and `discrec completions SHELL`,
//! which [`try_parse_from`] adds to the parser; `packaging/dist.sh` calls them to fill `target/dist/` for
//! the Debian package. The pages' sections come from the clap definition: about, options and
//! subcommands as clap_mangen renders them, and the after-help text's blocks (`Examples:`,
//! `Exit status:`, ...) as sections of their own; a subcommand without an exit-status block of
//! its own gets the root's table. What the clap definition does not say (environment, files, the
//! overview in `discrec(1)`) is kept here, in [`OVERVIEW`], [`ENVIRONMENT`] and [`FILES`].

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{value_parser, Arg, Command, Parser};
use clap_complete::Shell;
use clap_mangen::Man;
use roff::{bold, italic, roman, Inline, Roff};

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
        "/dev/shm/discrecorder-emu-UID/NAME",
        "The emulated recorder emu:NAME of the user UID, private to that user: the directory is \
         the user's, mode 0700 (refused otherwise), the file mode 0600. Its flock is the claim, \
         its content the drive's state (tray, medium, faults; at most 64 KiB). Created only by \
         discrec emu create NAME (a misspelt name is an error, not a new device), removed by \
         discrec emu remove NAME (refused while held, unless --force). Renaming the file is \
         removing the device: its holders are told it is gone.",
    ),
    (
        "/dev/shm/discrecorder-emu-shared/NAME",
        "A shared emulated recorder, made by discrec emu create --shared NAME, used as emu:NAME by \
         every user the directory lets in when they have no private device of that name. Only an \
         administrator creates the directory: it must be owned by root, and sticky if others may \
         write it, e.g. install -d -o root -g cdrom -m 3770 /dev/shm/discrecorder-emu-shared.",
    ),
    (
        "$DISCRECORDER_RUNTIME_DIR/discrecorder*",
        "The same files, when DISCRECORDER_RUNTIME_DIR is set.",
    ),
    (
        "/proc/locks, /proc/PID/fdinfo, /proc/*/fd, /proc/self/mountinfo",
        "Read to find who holds a device: the locks of candidate holders (their fdinfo; the \
         whole lock table only when those cannot be read), the processes with the device open \
         (a scan that stats only nodes under /dev and gives up after 500 ms) and what is \
         mounted from it. A block device is also asked directly, through a read-only \
         descriptor opened for a moment: F_GETLK, a shared flock and an O_EXCL open.",
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

/// What [`try_parse_from`] found on the command line.
pub enum Parsed<T> {
    /// The command line of `discrec` itself.
    Cli(T),
    /// A hidden distribution subcommand ran and discrec should exit with this status.
    Done(ExitCode),
}

/// Parses `argv` as the command line of `T` (the `discrec` parser) with two hidden subcommands
/// added, `man DIR` and `completions SHELL`, and runs one of those if it was given.
pub fn try_parse_from<T: Parser>(argv: &[OsString]) -> Result<Parsed<T>, clap::Error> {
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
        .try_get_matches_from(argv)?;
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
        Some(Ok(())) => Ok(Parsed::Done(ExitCode::SUCCESS)),
        Some(Err(e)) => {
            eprintln!("discrec: {e}");
            Ok(Parsed::Done(ExitCode::from(71)))
        }
        None => T::from_arg_matches(&matches)
            .map(Parsed::Cli)
            .map_err(|e| e.format(&mut T::command())),
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
    let blocks = after_help_blocks(cmd);
    let exit_status = blocks
        .iter()
        .find(|b| b.is("exit status"))
        .cloned()
        .or_else(|| {
            after_help_blocks(root)
                .into_iter()
                .find(|b| b.is("exit status"))
        });
    for block in blocks
        .iter()
        .filter(|b| !b.is("examples") && !b.is("exit status"))
    {
        roff.control("SH", [block.section().as_str()]);
        block.render(&mut roff);
    }
    if let Some(block) = exit_status {
        roff.control("SH", ["EXIT STATUS"]);
        block.render(&mut roff);
    }
    tagged_section(&mut roff, "ENVIRONMENT", ENVIRONMENT);
    tagged_section(&mut roff, "FILES", FILES);
    if let Some(block) = blocks.iter().find(|b| b.is("examples")) {
        roff.control("SH", ["EXAMPLES"]);
        examples(&mut roff, block);
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

/// One block of a command's after-help text: a `Heading:` line, then either text on the same
/// line and the lines after it (a paragraph), or indented rows.
#[derive(Clone, Debug, Default)]
struct Block {
    heading: String,
    text: String,
    rows: Vec<String>,
}

impl Block {
    fn is(&self, heading: &str) -> bool {
        self.heading.eq_ignore_ascii_case(heading)
    }

    /// The man page section: the heading in capitals, NOTES for text without one.
    fn section(&self) -> String {
        if self.heading.is_empty() {
            "NOTES".to_owned()
        } else {
            self.heading.to_uppercase()
        }
    }

    /// The paragraph, then each row as a tagged paragraph (`TAG  text`) or a line of its own.
    fn render(&self, roff: &mut Roff) {
        if !self.text.is_empty() {
            roff.control("PP", []).text([roman(self.text.as_str())]);
        }
        for row in &self.rows {
            match split_columns(row) {
                (tag, Some(what)) => {
                    roff.control("TP", []).text([bold(tag)]).text([roman(what)]);
                }
                (line, None) => {
                    roff.control("PP", []).text([roman(line)]);
                }
            }
        }
    }
}

/// `discrec demo     what it does` -> (`discrec demo`, Some(`what it does`)): two or more
/// spaces separate the columns.
fn split_columns(row: &str) -> (&str, Option<&str>) {
    match row.split_once("  ") {
        Some((first, rest)) => (first.trim_end(), Some(rest.trim())),
        None => (row, None),
    }
}

/// The blocks of the after-help text of `cmd`, separated by blank lines.
fn after_help_blocks(cmd: &Command) -> Vec<Block> {
    let text = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut blocks = Vec::new();
    for chunk in text.split("\n\n") {
        let mut lines = chunk.lines().filter(|l| !l.trim().is_empty());
        let Some(first) = lines.next() else { continue };
        let mut block = Block::default();
        match first.split_once(':') {
            Some((heading, rest))
                if !first.starts_with(char::is_whitespace)
                    && !heading.is_empty()
                    && heading.chars().all(|c| c.is_alphabetic() || c == ' ') =>
            {
                block.heading = heading.to_owned();
                block.text = rest.trim().to_owned();
            }
            _ => block.text = first.trim().to_owned(),
        }
        for line in lines {
            if line.starts_with(char::is_whitespace) && block.text.is_empty() {
                block.rows.push(line.trim().to_owned());
            } else {
                block.text = format!("{} {}", block.text, line.trim()).trim().to_owned();
            }
        }
        blocks.push(block);
    }
    blocks
}

/// EXAMPLES: commands in an example block (no filling, so they copy and paste as they are);
/// a command with a description gets a block of its own, led by the description.
fn examples(roff: &mut Roff, block: &Block) {
    let mut open = false;
    for row in &block.rows {
        let (command, what) = split_columns(row);
        if open && what.is_some() {
            roff.control("EE", []).control("RE", []);
            open = false;
        }
        if !open {
            roff.control("PP", []);
            if let Some(what) = what {
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
        // The exit statuses come from the clap definition's after-help: the root's table on
        // every page without a block of its own.
        assert!(root.contains("\\fB64\\fR") && root.contains("\\fB128+N\\fR"));
        for page in &pages {
            let text = std::fs::read_to_string(page).expect("read");
            assert!(
                text.contains(".SH \"EXIT STATUS\""),
                "{page:?}: no EXIT STATUS"
            );
            assert!(
                !text.contains("Examples:") && !text.contains("Exit status:"),
                "{page:?}: an after-help block not made a section"
            );
        }
        assert!(root.contains("DISCRECORDER_RUNTIME_DIR") && root.contains("NO_COLOR"));
        assert!(root.contains("emu\\-UID/NAME") && root.contains("emu\\-shared/NAME"));
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
