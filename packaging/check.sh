#!/usr/bin/env bash
# The packaging checks, run by .ci/run after the test suite (issue 15: installs like a Linux tool):
#   1. cargo publish --dry-run of discrecorder-mmc, discrecorder, discrecorder-tcmu and discrec, in
#      dependency order
#      (one `cargo publish --workspace`-style run, so unpublished siblings resolve locally);
#   2. the README's library example is crates/discrecorder/examples/lock.rs, which builds and runs;
#   3. man pages and completions generated from the clap definition (packaging/dist.sh); every page
#      renders with `MANWIDTH=80 man --warnings -l` and no warning; bash -n accepts the bash
#      completion (zsh -n and fish -n too where those shells are installed);
#   4. the Debian package (cargo deb) holds what it should, installs with apt-get, and the
#      installed /usr/bin/discrec runs --version and the demo, `man -w discrec` finds its page;
#      then it is removed.
# Needs: cargo, man (man-db) and groff, cargo-deb, dpkg-deb, and root for apt-get. .ci/run installs
# them. Under CI=true a missing tool fails the run; otherwise the stages that need it are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

ci=false
[ "${CI:-}" = true ] && ci=true
start=$SECONDS
stage() { echo "== packaging: $* (at ${SECONDS}s)"; }
fail() {
  echo "packaging: FAILED: $*" >&2
  exit 1
}
# have TOOL...: true if all are there; a missing one fails under CI=true, else skips the stage.
have() {
  local t
  for t in "$@"; do
    if ! command -v "$t" >/dev/null; then
      $ci && fail "CI=true requires $t"
      echo "packaging: $t not found: stage skipped"
      return 1
    fi
  done
}

# 1. Publishable crates.
stage "cargo publish --dry-run (discrecorder-mmc, discrecorder, discrecorder-tcmu, discrec)"
dirty=()
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
  $ci && fail "the work tree is not clean: $(git status --porcelain | head -3)"
  echo "packaging: uncommitted changes, so --allow-dirty (never under CI=true)"
  dirty=(--allow-dirty)
fi
# The dry run's local overlay registry serves this project's crates under an unchanging version,
# and cargo takes registry sources as immutable: it reuses what it unpacked into
# CARGO_HOME/registry/src/-HASH/ and what it built from there in a previous run. So each run
# removes both: the unpacked sources (only in overlay directories, named -HASH, never index.*,
# and only this project's crates) and the build of them, in a target directory of the dry run's
# own so that the rest of target/ is left alone.
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/{discrecorder-mmc,discrecorder,discrecorder-tcmu,discrec}-[0-9]*
publish_target=target/publish-check
rm -rf "$publish_target"/debug/.fingerprint/discrec* "$publish_target"/debug/deps/*discrec*
log=$(mktemp)
if ! cargo publish --dry-run --locked --target-dir "$publish_target" "${dirty[@]}" \
  -p discrecorder-mmc -p discrecorder -p discrecorder-tcmu -p discrec >"$log" 2>&1; then
  cat "$log"
  fail "cargo publish --dry-run"
fi
grep -v '^ *\(Compiling\|Downloaded\|Downloading\|Updating\|Locking\|Adding\) ' "$log" || true
rm -f "$log"

# 2. The library's example, as the README shows it.
stage "README example = crates/discrecorder/examples/lock.rs, built and run"
example=crates/discrecorder/examples/lock.rs
readme_block=$(awk '/^## The library/ { in_lib = 1 } in_lib && /^```rust$/ { body = 1; next }
  body && /^```$/ { exit } body { print }' README.md)
[ -n "$readme_block" ] || fail "no rust block under '## The library' in README.md"
diff <(printf '%s\n' "$readme_block") "$example" ||
  fail "README.md's library example differs from $example (copy the file into the README)"
runtime=$(mktemp -d)
out=$(DISCRECORDER_RUNTIME_DIR=$runtime cargo run -q --locked -p discrecorder --example lock)
rm -rf "$runtime"
[ "$out" = "Disc Robot" ] || fail "the example printed '$out', not 'Disc Robot'"

# 3. Man pages and completions.
stage "man pages and completions (packaging/dist.sh)"
packaging/dist.sh
pages=(target/dist/man/*.1)
[ "${#pages[@]}" -ge 9 ] || fail "only ${#pages[@]} man pages: ${pages[*]}"
bash -n target/dist/completions/discrec || fail "bash -n rejects the bash completion"
for sh in zsh fish; do
  if command -v "$sh" >/dev/null; then
    f=target/dist/completions/_discrec
    [ "$sh" = fish ] && f=target/dist/completions/discrec.fish
    "$sh" -n "$f" || fail "$sh -n rejects $f"
  fi
done
if have man groff; then
  # The check must be able to fail: a page with an undefined macro gives a warning.
  probe=$(mktemp --suffix=.1)
  printf '.TH PROBE 1\n.SH NAME\nprobe\n.XX undefined\n' >"$probe"
  [ -n "$(MANWIDTH=80 man --warnings -l "$probe" 2>&1 >/dev/null)" ] ||
    fail "man --warnings reported nothing for a page with an undefined macro"
  rm -f "$probe"
  for page in "${pages[@]}"; do
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: $warnings"
    text=$(MANWIDTH=80 man -l "$page" 2>/dev/null)
    for section in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT FILES "SEE ALSO"; do
      grep -q "^$section" <<<"$text" || fail "$page has no $section section"
    done
  done
  for section in EXAMPLES VERSION; do
    MANWIDTH=80 man -l target/dist/man/discrec.1 | grep -q "^$section" ||
      fail "discrec.1 has no $section section"
  done
  echo "packaging: ${#pages[@]} pages render without warnings: ${pages[*]##*/}"
fi

# 4. The Debian package.
stage "Debian package (cargo deb), installed, used and removed"
if have cargo-deb dpkg-deb apt-get; then
  deb=$(cargo deb --locked -p discrec -q | tail -1) || fail "cargo deb"
  [ -f "$deb" ] || fail "cargo deb gave no package ($deb)"
  case $deb in /*) ;; *) deb=./$deb ;; esac # apt-get takes a file only as a path
  echo "packaging: built $deb ($(stat -c %s "$deb") bytes)"
  listing=$(dpkg-deb -c "$deb")
  for path in usr/bin/discrec usr/share/man/man1/discrec.1.gz usr/share/man/man1/discrec-lock.1.gz \
    usr/share/bash-completion/completions/discrec usr/share/zsh/vendor-completions/_discrec \
    usr/share/fish/vendor_completions.d/discrec.fish usr/share/doc/discrec/copyright \
    usr/share/doc/discrec/LICENSE-MIT usr/share/doc/discrec/LICENSE-APACHE; do
    grep -q " \./$path\$" <<<"$listing" || fail "$deb has no /$path"
  done
  if [ "$(id -u)" != 0 ]; then
    $ci && fail "CI=true requires root to install the package"
    echo "packaging: not root: install stage skipped"
  else
    [ ! -e /usr/bin/discrec ] || fail "/usr/bin/discrec exists before the package is installed"
    trap 'apt-get remove -y -qq discrec >/dev/null 2>&1 || true' EXIT
    apt-get install -y -qq "$deb" >/dev/null || fail "apt-get install $deb"
    dpkg -s discrec | grep -q '^Status: install ok installed' || fail "discrec is not installed"
    for check in "/usr/bin/discrec --version" "man -w discrec" "man -w discrec-lock" \
      "bash -c 'source /usr/share/bash-completion/completions/discrec && complete -p discrec'" \
      "/usr/bin/discrec demo"; do
      echo "\$ $check"
      (cd / && eval "$check") || fail "the installed package: $check"
    done
    apt-get remove -y -qq discrec >/dev/null || fail "apt-get remove discrec"
    trap - EXIT
    [ ! -e /usr/bin/discrec ] || fail "/usr/bin/discrec is still there after apt-get remove"
    echo "packaging: installed, ran and removed $deb"
  fi
fi
echo "== packaging: passed in $((SECONDS - start))s"
