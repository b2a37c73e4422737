#!/usr/bin/env bash
# Generates the example prompt set: prompts/en/*.wav (the names examples/crossbar.toml's menus
# use), spoken by espeak-ng and written by sox as 8 kHz 16-bit mono PCM. Installs espeak-ng and
# sox when missing. Leaves existing files alone, so recorded prompts put there are kept; pass
# --force to speak them again.
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
[ "${1:-}" = "--force" ] && force=1

missing=()
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "prompts: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# name|language|voice|text
prompts=(
  "greeting|en|en-gb|Thank you for calling. For sales, press 1. For support, press 2. For the operator, press 0. If you know the extension of the person you are calling, dial it now."
  "invalid|en|en-gb|Sorry, that is not a valid choice."
  "timeout|en|en-gb|We did not receive your choice."
  "goodbye|en|en-gb|Thank you for calling. Goodbye."
  "closed|en|en-gb|Our office is closed. Please call again between nine and half past five, Monday to Friday."
  "hold|en|en-gb|Please hold while we connect your call."
)

made=0
for entry in "${prompts[@]}"; do
  IFS='|' read -r name language voice text <<<"$entry"
  out="prompts/$language/$name.wav"
  if [ -f "$out" ] && [ "$force" -eq 0 ]; then
    continue
  fi
  mkdir -p "prompts/$language"
  tmp="$(mktemp --suffix=.wav)"
  espeak-ng -v "$voice" -s 150 -w "$tmp" "$text"
  sox "$tmp" -r 8000 -c 1 -b 16 -e signed-integer "$out" norm -3
  rm -f "$tmp"
  made=$((made + 1))
done
echo "prompts: $made spoken, ${#prompts[@]} in prompts/"
