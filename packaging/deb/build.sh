#!/usr/bin/env bash
# Builds the Debian packages gochat-server and gochat into $CARGO_TARGET_DIR/debian/.
# Reuses the release build (and CARGO_TARGET_DIR) of whatever ran before; cargo-deb is
# installed once into a cache outside the clone ($GOCHAT_CI_TOOLS, default
# ~/.cache/gochat-ci-tools).
set -euo pipefail
cd "$(dirname "$0")/../.."

target="${CARGO_TARGET_DIR:-$PWD/target}"
tools="${GOCHAT_CI_TOOLS:-$HOME/.cache/gochat-ci-tools}"
export PATH="$tools/bin:$PATH"
if ! command -v cargo-deb >/dev/null 2>&1; then
  # Its own target dir: the tool's build must not mix with the project's.
  CARGO_TARGET_DIR="$tools/build" cargo install cargo-deb --version 3.8.0 --locked --root "$tools"
  rm -rf "$tools/build"
fi

# GOCHAT_DEB_PROFILE picks the Cargo profile: release for real packages (the default); CI
# packages its test build (dev) to check the packaging without a second full build.
profile="${GOCHAT_DEB_PROFILE:-release}"
case "$profile" in
  dev) profile_dir=debug ;;
  *) profile_dir=$profile ;;
esac
cargo build --profile "$profile" -p gochat-server -p gochatd -p gochat-cli -p gochat-tui

# Man pages and completions rendered from the clap definitions, where cargo-deb's
# `target/release/gen/...` assets expect them (cargo-deb maps `target/release/` to the
# profile's directory). The generators are examples in the debug
# profile, so CI reuses its test build for them.
gen="$target/$profile_dir/gen"
rm -rf "$gen"
cargo run -q -p gochat-server --example gochat-server-docs -- "$gen/gochat-server"
cargo run -q -p gochatd --example gochatd-docs -- "$gen/gochat"
cargo run -q -p gochat-tui --example gochat-tui-docs -- "$gen/gochat"
cli="$target/$profile_dir/gochat-cli"
"$cli" man "$gen/gochat/man" >/dev/null
"$cli" completions bash >"$gen/gochat/completions/bash/gochat-cli"
"$cli" completions zsh >"$gen/gochat/completions/zsh/_gochat-cli"
"$cli" completions fish >"$gen/gochat/completions/fish/gochat-cli.fish"

# Compressed here, as Debian policy wants, whatever the profile (cargo-deb does it only for
# some profiles).
gzip -9nf "$gen"/*/man/*.1

out="$target/debian"
rm -rf "$out"
mkdir -p "$out"
# --strip: the release profile keeps line tables for backtraces; the packages do not.
cargo deb --no-build --strip --profile "$profile" -p gochat-server -o "$out/"
cargo deb --no-build --strip --profile "$profile" -p gochat-tui -o "$out/"
ls -l "$out"
