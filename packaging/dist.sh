#!/usr/bin/env bash
# Generates what the Debian package ships besides the binary, from discrec's one clap
# definition (crates/discrec/src/dist.rs), into target/dist/ where cargo-deb's assets
# (crates/discrec/Cargo.toml, [package.metadata.deb]) take them:
#   target/dist/man/discrec.1, discrec-SUBCOMMAND.1, ...   man pages
#   target/dist/completions/discrec, _discrec, discrec.fish  bash, zsh and fish completions
# Usage: packaging/dist.sh [DISCREC]  (default: builds and uses the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."

discrec=${1:-}
if [ -z "$discrec" ]; then
  cargo build --release --locked -q -p discrec
  discrec="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/discrec"
fi

out=target/dist
rm -rf "$out"
mkdir -p "$out/man" "$out/completions"
"$discrec" man "$out/man"
"$discrec" completions bash >"$out/completions/discrec"
"$discrec" completions zsh >"$out/completions/_discrec"
"$discrec" completions fish >"$out/completions/discrec.fish"
echo "dist: $(ls "$out/man" | wc -l) man pages in $out/man, completions in $out/completions"
