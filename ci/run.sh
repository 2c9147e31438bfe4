#!/usr/bin/env bash
# The action's step: run prefork-check with the inputs (INPUT_* variables),
# installing strace first only where the check may need it, and write the step's outputs. prefork-check
# itself adds the annotations and the step summary under GITHUB_ACTIONS.
# Its exit code is this step's: leaks (1) or a check that could not be done
# (2) fail the job.
set -euo pipefail

output() {
  [ -n "${GITHUB_OUTPUT:-}" ] && echo "$1=$2" >>"$GITHUB_OUTPUT"
  return 0
}

# A step that cannot run the check: an error annotation, the error status, exit 2.
die() {
  echo "::error title=prefork-check::$*"
  output status error
  output leaks 0
  exit 2
}

# Splits an input into words as a shell would quote them ('a b' "c d"), without running anything;
# an input of several lines is one word per line. An unmatched quote stops the step.
split_words() {
  local -n into=$1
  into=()
  [ -z "$2" ] && return 0
  local words
  words=$(mktemp)
  if ! node "$(dirname "${BASH_SOURCE[0]}")/split-words.mjs" "$2" >"$words" 2>"$words.err"; then
    local why
    why=$(cat "$words.err")
    rm -f "$words" "$words.err"
    die "cannot split the $3 input into words ($why): $2"
  fi
  mapfile -d '' -t into <"$words"
  rm -f "$words" "$words.err"
}

action_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
own_version=$(node -p 'require(process.argv[1]).version' "$action_root/package.json")

# The action's checkout, built once if it has no dist/.
from_checkout() {
  if [ ! -f "$action_root/dist/cli.js" ]; then
    echo "Building prefork-check from the action's checkout"
    (cd "$action_root" && npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null) || die "could not build prefork-check in $action_root"
  fi
  dist="$action_root/dist"
}

# The published package (an npm spec: name@version, or a tarball), runtime dependencies only.
# Fails, with npm's reason in $npm_said, when npm cannot install it.
from_npm() {
  local prefix="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/prefork-check-cli"
  mkdir -p "$prefix"
  if ! npm_said=$(npm install --prefix "$prefix" --no-save --no-audit --no-fund --no-package-lock --loglevel=error "$1" 2>&1 >/dev/null); then
    npm_said=$(printf '%s\n' "$npm_said" | grep -Ev '^npm error (code |A complete log|[0-9]* *$)' | head -n 1)
    return 1
  fi
  dist="$prefix/node_modules/prefork-check/dist"
}

case "${INPUT_VERSION:-}" in
  source) from_checkout ;;
  '')
    if ! from_npm "prefork-check@$own_version"; then
      echo "::notice title=prefork-check::prefork-check@$own_version could not be installed from npm ($npm_said); running the action's own checkout instead."
      from_checkout
    fi
    ;;
  */* | *.tgz) from_npm "$INPUT_VERSION" || die "could not install prefork-check from $INPUT_VERSION: $npm_said" ;;
  *) from_npm "prefork-check@$INPUT_VERSION" || die "could not install prefork-check@$INPUT_VERSION from npm: $npm_said" ;;
esac

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
split_words extra "${INPUT_ARGS:-}" args
args+=("${extra[@]}")
[ -n "${INPUT_ENTRY:-}" ] && [ -n "${INPUT_COMMAND:-}" ] && die "give entry or command, not both"
[ -n "${INPUT_ENTRY:-}" ] && args+=(--entry "$INPUT_ENTRY")
split_words command "${INPUT_COMMAND:-}" command
[ ${#command[@]} -gt 0 ] && args+=(-- "${command[@]}")

if ! command -v strace >/dev/null && node "$(dirname "${BASH_SOURCE[0]}")/may-use-strace.mjs" "$dist" -- "${args[@]}"; then
  echo "Installing strace (apt-get)"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq strace >/dev/null; } || die "strace is missing and could not be installed: install it before this step (apt-get install strace)."
fi

set +e
node "$dist/cli.js" "${args[@]}"
status=$?
set -e

if [ -f "$json" ]; then
  output json-report "$json"
  output status "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).status)' "$json")"
  output leaks "$(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(r.checks.reduce((n, c) => n + c.leaks.filter((l) => !l.allowed).length, 0))' "$json")"
else
  output status error
  output leaks 0
fi
[ -f "$junit" ] && output junit-report "$junit"
# Unique per job and per use: matrix shards of one job (their inputs differ) and two uses in
# one job (their step ids differ) each upload their own artifact.
if [ -n "${INPUT_ARTIFACT_NAME:-}" ]; then
  artifact="$INPUT_ARTIFACT_NAME"
else
  use=$(printf '%s\n' "${GITHUB_ACTION:-}" "$PWD" "${INPUT_ENTRY:-}" "${INPUT_COMMAND:-}" "${INPUT_CONFIG:-}" "${INPUT_ARGS:-}" "${INPUT_FORK_MARKER:-}" | sha256sum | cut -c1-8)
  artifact="prefork-check-reports-${GITHUB_JOB:-job}-$use"
fi
output artifact-name "$artifact"
exit "$status"
