#!/usr/bin/env bash
# The action's step: install strace if missing, run prefork-check with the
# inputs (INPUT_* variables), and write the step's outputs. prefork-check
# itself adds the annotations and the step summary under GITHUB_ACTIONS.
# Its exit code is this step's: leaks (1) or a check that could not be done
# (2) fail the job.
set -euo pipefail

die() {
  echo "::error title=prefork-check::$*"
  exit 2
}

# Splits an input into words as a shell would quote them ('a b' "c d"), without running anything.
split_words() {
  local -n into=$1
  into=()
  [ -z "$2" ] && return 0
  mapfile -t into < <(printf '%s' "$2" | xargs -n1 printf '%s\n') || die "cannot split the input into words: $2"
}

if ! command -v strace >/dev/null; then
  echo "Installing strace (apt-get)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq strace >/dev/null; } || die "strace is missing and could not be installed: install it before this step (apt-get install strace)."
fi

action_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${INPUT_VERSION:-}" ]; then
  cli=(npx --yes "prefork-check@${INPUT_VERSION}")
else
  if [ ! -f "$action_root/dist/cli.js" ]; then
    echo "Building prefork-check from the action's checkout"
    (cd "$action_root" && npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null) || die "could not build prefork-check in $action_root"
  fi
  cli=(node "$action_root/dist/cli.js")
fi

reports="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/prefork-check"
mkdir -p "$reports"
json="$reports/report.json"
junit="$reports/junit.xml"
rm -f "$json" "$junit"

args=(--json "$json" --junit "$junit")
[ -n "${INPUT_CONFIG:-}" ] && args+=(--config "$INPUT_CONFIG")
[ -n "${INPUT_BASELINE:-}" ] && args+=(--baseline "$INPUT_BASELINE")
[ -n "${INPUT_FORK_MARKER:-}" ] && args+=(--fork-marker "$INPUT_FORK_MARKER")
case "${INPUT_FORK_AT_FIRST_FORK:-false}" in
  true) args+=(--fork-at-first-fork) ;;
  false | '') ;;
  *) die "fork-at-first-fork must be true or false, got '$INPUT_FORK_AT_FIRST_FORK'" ;;
esac
split_words extra "${INPUT_ARGS:-}"
args+=("${extra[@]}")
[ -n "${INPUT_ENTRY:-}" ] && [ -n "${INPUT_COMMAND:-}" ] && die "give entry or command, not both"
[ -n "${INPUT_ENTRY:-}" ] && args+=(--entry "$INPUT_ENTRY")
split_words command "${INPUT_COMMAND:-}"
[ ${#command[@]} -gt 0 ] && args+=(-- "${command[@]}")

set +e
"${cli[@]}" "${args[@]}"
status=$?
set -e

output() {
  [ -n "${GITHUB_OUTPUT:-}" ] && echo "$1=$2" >>"$GITHUB_OUTPUT"
  return 0
}
if [ -f "$json" ]; then
  output json-report "$json"
  output status "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).status)' "$json")"
  output leaks "$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.checks.reduce((n, c) => n + c.leaks.filter((l) => !l.allowed).length, 0))' "$json")"
else
  output status error
  output leaks 0
fi
[ -f "$junit" ] && output junit-report "$junit"
exit "$status"
