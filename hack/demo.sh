#!/usr/bin/env bash
# The README's first command. Builds each example step with the real
# kustomize and shows what revshift's functions added or changed in it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/bin:$PATH"
for k in $(find "$root/kustomization-examples" -name kustomization.yaml -not -path '*/base/*' | sort); do
  dir=$(dirname "$k")
  echo "== ${dir#"$root"/}"
  diff <(kustomize build --enable-alpha-plugins "$dir" 2>/dev/null) <(kustomize build --enable-alpha-plugins --enable-exec "$dir") | sed -n 's/^> /  + /p' | head -40 || true
done
