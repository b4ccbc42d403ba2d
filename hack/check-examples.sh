#!/usr/bin/env bash
# Builds every kustomization under kustomization-examples/ with the real
# kustomize and compares it with the committed expected.yaml beside it.
# kustomize silently skips exec functions without --enable-exec, so the check
# also builds each example with exec disabled and requires a different output:
# the committed expectation must depend on revshift's functions having run.
# Hops with planned/args are also planned by revshift plan, and each step's
# build is compared with planned/expected/<step>.yaml.
#   UPDATE=1 hack/check-examples.sh bin/kustomize   rewrites expected.yaml (review the diff!)
set -euo pipefail
kustomize=${1:-kustomize}
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/bin:$PATH"
fail=0 n=0
while IFS= read -r k; do
  dir=$(dirname "$k")
  rel=${dir#"$root"/}
  [ -f "$dir/expected.yaml" ] || [ "${UPDATE:-}" = 1 ] || { echo "FAIL $rel: no expected.yaml"; fail=1; continue; }
  n=$((n+1))
  if ! got=$("$kustomize" build --enable-alpha-plugins --enable-exec "$dir" 2>"$dir/.stderr"); then
    echo "FAIL $rel: kustomize build failed:"; sed 's/^/  /' "$dir/.stderr"; rm -f "$dir/.stderr"; fail=1; continue
  fi
  rm -f "$dir/.stderr"
  if [ "${UPDATE:-}" = 1 ]; then printf '%s\n' "$got" > "$dir/expected.yaml"; echo "updated $rel/expected.yaml"; continue; fi
  if ! diff -u "$dir/expected.yaml" <(printf '%s\n' "$got") > /tmp/revshift-example.diff; then
    echo "FAIL $rel: output differs from expected.yaml:"; head -60 /tmp/revshift-example.diff | sed 's/^/  /'; fail=1; continue
  fi
  if grep -qE '^(transformers|generators|validators):' "$dir/kustomization.yaml" &&
     skipped=$("$kustomize" build --enable-alpha-plugins "$dir" 2>/dev/null) && [ "$skipped" = "$got" ]; then
    echo "FAIL $rel: the output is the same with exec functions disabled: no revshift function changed anything"; fail=1; continue
  fi
  echo "ok   $rel"
done < <(find "$root/kustomization-examples" -name kustomization.yaml -not -path '*/base/*' -not -path '*/inputs/*' -not -path '*/renders/*' | sort)
# Planned hops: revshift plan writes the steps from the hop's renders (flags in
# planned/args, relative to the hop folder) and verifies them (every rule,
# RS021 RBAC and RS022 convergence included); each step, built with the real
# kustomize, must equal planned/expected/<step>.yaml.
for args in "$root"/kustomization-examples/*/planned/args; do
  [ -f "$args" ] || continue
  hop=$(dirname "$(dirname "$args")")
  rel=${hop#"$root"/}
  out=$(mktemp -d)
  if ! (cd "$hop" && revshift plan $(cat "$args") --out "$out" >"$out.log" 2>"$out.err"); then
    echo "FAIL $rel: revshift plan (which verifies every step) failed:"; sed 's/^/  /' "$out.log" "$out.err"; fail=1; rm -rf "$out" "$out.err" "$out.log"; continue
  fi
  rm -f "$out.err" "$out.log"
  mkdir -p "$hop/planned/expected"
  steps=$(cd "$out" && ls -d [0-9][0-9]-*/ | tr -d /)
  if [ "${UPDATE:-}" = 1 ]; then rm -f "$hop"/planned/expected/*.yaml; fi
  for st in $steps; do
    n=$((n+1))
    if ! got=$("$kustomize" build --enable-alpha-plugins --enable-exec "$out/$st" 2>"$out/.stderr"); then
      echo "FAIL $rel/$st: kustomize build failed:"; sed 's/^/  /' "$out/.stderr"; fail=1; continue
    fi
    if [ "${UPDATE:-}" = 1 ]; then printf '%s\n' "$got" > "$hop/planned/expected/$st.yaml"; echo "updated $rel/planned/expected/$st.yaml"; continue; fi
    if ! diff -u "$hop/planned/expected/$st.yaml" <(printf '%s\n' "$got") > /tmp/revshift-example.diff; then
      echo "FAIL $rel/$st (planned): output differs from planned/expected/$st.yaml:"; head -60 /tmp/revshift-example.diff | sed 's/^/  /'; fail=1; continue
    fi
    echo "ok   $rel/$st (planned)"
  done
  for e in "$hop"/planned/expected/*.yaml; do
    st=$(basename "$e" .yaml)
    [ -d "$out/$st" ] || { echo "FAIL $rel: planned/expected/$st.yaml has no step $st any more"; fail=1; }
  done
  rm -rf "$out"
done
[ "$n" -gt 0 ] || { echo "no examples found"; exit 1; }
exit $fail
