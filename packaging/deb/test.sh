#!/usr/bin/env bash
# Packaging test, run by .ci/run (as root): builds the gochat-server and gochat packages,
# checks their file lists and control fields, runs lintian, installs them, verifies the
# installed units, starts the installed server the way its unit does (same user, paths and
# environment), probes it, then removes the packages (only the conffile may stay) and purges.
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$SECONDS
target="${CARGO_TARGET_DIR:-$PWD/target}"

fail() { echo "packaging test FAILED: $*" >&2; exit 1; }
step() { echo "== packaging: $* ($((SECONDS - started)) s)"; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs the packages)"
for tool in dpkg-deb systemd-analyze setpriv; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is missing"
done

step "build"
packaging/deb/build.sh
server_deb=$(echo "$target"/debian/gochat-server_*.deb)
client_deb=$(echo "$target"/debian/gochat_*.deb)
[ -f "$server_deb" ] && [ -f "$client_deb" ] || fail "packages not built"

step "file lists and control fields"
files_of() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's#^\./#/#'; }
expect_files() {
  local deb=$1 list; shift
  list=$(files_of "$deb")
  for f in "$@"; do
    grep -qxF "$f" <<<"$list" || fail "$(basename "$deb") lacks $f"
  done
}
expect_files "$server_deb" \
  /usr/bin/gochat-server \
  /usr/lib/systemd/system/gochat-server.service \
  /usr/lib/sysusers.d/gochat-server.conf \
  /usr/lib/tmpfiles.d/gochat-server.conf \
  /etc/gochat/server.toml \
  /usr/share/man/man1/gochat-server.1.gz \
  /usr/share/man/man1/gochat-server-probe.1.gz \
  /usr/share/bash-completion/completions/gochat-server \
  /usr/share/doc/gochat-server/copyright \
  /usr/share/doc/gochat-server/changelog.Debian.gz \
  /usr/share/doc/gochat-server/OPERATIONS.md
expect_files "$client_deb" \
  /usr/bin/gochatd /usr/bin/gochat-cli /usr/bin/gochat-tui \
  /usr/lib/systemd/user/gochatd.service /usr/lib/systemd/user/gochatd.socket \
  /usr/share/man/man1/gochatd.1.gz /usr/share/man/man1/gochat-cli.1.gz \
  /usr/share/man/man1/gochat-tui.1.gz \
  /usr/share/bash-completion/completions/gochat-cli \
  /usr/share/zsh/vendor-completions/_gochat-cli \
  /usr/share/fish/vendor_completions.d/gochat-cli.fish \
  /usr/share/doc/gochat/copyright /usr/share/doc/gochat/IPC.md
if files_of "$client_deb" | grep -q gochat-server; then fail "gochat carries server files"; fi

field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$server_deb" Package)" = gochat-server ] || fail "server Package field"
[ "$(field "$client_deb" Package)" = gochat ] || fail "client Package field"
for deb in "$server_deb" "$client_deb"; do
  for f in Version Architecture Maintainer Description Section; do
    [ -n "$(field "$deb" "$f")" ] || fail "$(basename "$deb"): no $f field"
  done
  field "$deb" Depends | grep -q libc6 || fail "$(basename "$deb"): Depends lacks libc6"
done
field "$server_deb" Depends | grep -q systemd || fail "server Depends lacks systemd (sysusers)"
control=$(mktemp -d)
trap 'rm -rf "$control"' EXIT
dpkg-deb -e "$server_deb" "$control"
[ "$(cat "$control/conffiles")" = /etc/gochat/server.toml ] || fail "conffiles: $(cat "$control/conffiles")"
grep -q systemd-sysusers "$control/postinst" || fail "postinst does not create the user"
grep -q systemd-tmpfiles "$control/postinst" || fail "postinst does not apply tmpfiles.d"

step "lintian"
if ! command -v lintian >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq lintian >/dev/null
fi
# Errors fail the test; warnings are printed for the record.
lintian --fail-on error --suppress-tags no-manual-page "$server_deb" "$client_deb" || fail "lintian errors"

step "install"
cleanup() {
  if [ -n "${server_pid:-}" ]; then kill "$server_pid" 2>/dev/null || true; fi
  dpkg -P gochat-server gochat >/dev/null 2>&1 || true
  rm -rf "$control"
}
trap cleanup EXIT
dpkg -i "$server_deb" "$client_deb"

getent passwd gochat >/dev/null || fail "no gochat user after install"
[ "$(stat -c '%U:%G %a' /etc/gochat)" = "root:gochat 750" ] || fail "/etc/gochat: $(stat -c '%U:%G %a' /etc/gochat)"
[ "$(stat -c '%U:%G %a' /etc/gochat/server.toml)" = "root:gochat 640" ] ||
  fail "/etc/gochat/server.toml: $(stat -c '%U:%G %a' /etc/gochat/server.toml)"

step "systemd-analyze verify (installed units)"
systemd-analyze verify /usr/lib/systemd/system/gochat-server.service
user_runtime=$(mktemp -d)
XDG_RUNTIME_DIR=$user_runtime systemd-analyze --user verify \
  /usr/lib/systemd/user/gochatd.socket /usr/lib/systemd/user/gochatd.service
rm -rf "$user_runtime"

step "run the installed server as its unit does"
unit=/usr/lib/systemd/system/gochat-server.service
key() { sed -n "s/^$1=//p" "$unit" | tail -n1; }
user=$(key User)
exec_start=$(key ExecStart)
state=/var/lib/$(key StateDirectory)
runtime=/run/$(key RuntimeDirectory)
umask_unit=$(key UMask)
[ "$user" = gochat ] && [ "$state" = /var/lib/gochat ] && [ "$runtime" = /run/gochat ] ||
  fail "unexpected unit layout: $user $state $runtime"
if [ -d /run/systemd/system ]; then
  # A booted systemd started the unit at install: probe that one.
  systemctl is-active --quiet gochat-server || fail "gochat-server.service is not active"
  addr=127.0.0.1:9037
else
  # What systemd does for StateDirectory=/RuntimeDirectory= (owner = User=, mode 0700).
  install -d -o "$user" -g "$user" -m "$(key StateDirectoryMode)" "$state"
  install -d -o "$user" -g "$user" -m "$(key RuntimeDirectoryMode)" "$runtime"
  addr=127.0.0.1:9037
  extra=()
  if (exec 3<>/dev/tcp/127.0.0.1/9037) 2>/dev/null; then
    # Another service on this (shared) machine has the default port.
    addr=127.0.0.1:$((20000 + RANDOM % 20000))
    extra=(GOCHAT_LISTEN="$addr")
  fi
  home=$(getent passwd "$user" | cut -d: -f6)
  setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" USER="$user" LOGNAME="$user" \
    STATE_DIRECTORY="$state" RUNTIME_DIRECTORY="$runtime" "${extra[@]}" \
    sh -c "umask $umask_unit && exec $exec_start" &
  server_pid=$!
fi
deadline=$((SECONDS + 60))
until gochat-server probe --addr "$addr" --quiet 2>/dev/null; do
  if [ -n "${server_pid:-}" ] && ! kill -0 "$server_pid" 2>/dev/null; then
    fail "the server exited"
  fi
  [ $SECONDS -lt $deadline ] || fail "no HELLO from $addr within 60 s"
  sleep 0.2
done
gochat-server probe --addr "$addr"
[ -S /run/gochat/control.sock ] || fail "no control socket in the RuntimeDirectory"
[ "$(stat -c '%U %a' /run/gochat/control.sock)" = "gochat 600" ] || fail "control socket owner/mode"
[ "$(stat -c '%U %a' /var/lib/gochat/gochat.db)" = "gochat 600" ] || fail "database owner/mode"
# The documented admin call, as root, reaches the running server through the socket.
out=$(gochat-server --config /etc/gochat/server.toml admin kick nobody 2>&1 || true)
# (A kick of an unknown user is answered by the server; without it the tool would say
# "no running server answered".)
grep -q "no such user: nobody\|nobody is not online" <<<"$out" || fail "admin kick: $out"
setpriv --reuid=gochat --regid=gochat --init-groups \
  gochat-server --config /etc/gochat/server.toml admin list-users >/dev/null
if [ -n "${server_pid:-}" ]; then
  kill "$server_pid"
  wait "$server_pid" || fail "the server did not stop cleanly on SIGTERM"
  server_pid=
fi

step "remove"
all_files=$( (files_of "$server_deb"; files_of "$client_deb") | grep -v '/$')
dpkg -r gochat-server gochat
left=$(while read -r f; do [ -e "$f" ] && echo "$f"; done <<<"$all_files" || true)
[ "$left" = /etc/gochat/server.toml ] || fail "left after remove: ${left:-nothing, not even the conffile}"
dpkg -P gochat-server gochat
for p in /etc/gochat /var/lib/gochat /run/gochat; do
  [ ! -e "$p" ] || fail "$p left after purge"
done

step "passed"
