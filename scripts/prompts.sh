#!/usr/bin/env bash
# Generates the example prompt set in prompts/en/, made here, not downloaded:
# - the menus' prompts (the names examples/crossbar.toml uses) and the queues' (position and
#   wait announcements with the numbers and units they are built from, the callback offer,
#   the agents' feature-code confirmations, an example custom announcement), spoken by
#   espeak-ng and written by sox as 8 kHz 16-bit mono PCM;
# - moh.wav, music on hold synthesised by sox: a slow chord progression (triangle-wave pads
#   and plucked arpeggios), 24 s, a whole number of 20 ms frames so it loops without a gap,
#   peaks at -6 dBFS.
# Installs espeak-ng and sox when missing. Leaves existing files alone, so recorded prompts
# put there are kept (except the silent placeholders crossbar-config's tests leave, which are
# replaced); pass --force to make them all again. Every file made is checked (format, and for
# the music its length and level); --check also loads every prompt in prompts/en/ with
# crossbar's own WAV reader (crossbar_media::Prompt::from_wav, through cargo).
set -euo pipefail
cd "$(dirname "$0")/.."

force=0
check=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --check) check=1 ;;
    *)
      echo "usage: scripts/prompts.sh [--force] [--check]" >&2
      exit 2
      ;;
  esac
done

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
  # Queues: "You are caller number" + num-N; "Your estimated wait is about" + num-N +
  # minute(s), or less-than-a-minute.
  "queue-position|en|en-gb|You are caller number"
  "queue-wait|en|en-gb|Your estimated wait is about"
  "minutes|en|en-gb|minutes"
  "minute|en|en-gb|minute"
  "less-than-a-minute|en|en-gb|less than a minute"
  "callback-offer|en|en-gb|To keep your place in the queue and be called back, press"
  # A callback key that is not a digit: "... press" + "star" / "hash".
  "key-star|en|en-gb|star"
  "key-pound|en|en-gb|hash"
  "callback-accepted|en|en-gb|Thank you. We will call you back as soon as an agent is free. Goodbye."
  "queue-announcement|en|en-gb|Thank you for waiting. Your call is important to us."
  "agent-logged-in|en|en-gb|You are now logged in."
  "agent-logged-out|en|en-gb|You are now logged out."
  "agent-paused|en|en-gb|You are now paused."
  "agent-available|en|en-gb|You are now available."
  "agent-not-member|en|en-gb|You are not an agent of any queue."
)
# Numbers, said one word at a time: num-0 to num-19, the tens, hundred and thousand.
units=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
  fifteen sixteen seventeen eighteen nineteen)
for n in "${!units[@]}"; do
  prompts+=("num-$n|en|en-gb|${units[$n]}")
done
tens=(twenty thirty forty fifty sixty seventy eighty ninety)
for i in "${!tens[@]}"; do
  prompts+=("num-$(((i + 2) * 10))|en|en-gb|${tens[$i]}")
done
prompts+=("num-hundred|en|en-gb|hundred" "num-thousand|en|en-gb|thousand")

# What crossbar-config's tests write where a prompt is missing (20 ms of silence): not a prompt.
placeholder_mark="crossbar-config test placeholder"

# Whether $1 is to be made: missing, a test placeholder, or --force.
wanted() {
  [ "$force" -eq 1 ] || [ ! -f "$1" ] || grep -qaF "$placeholder_mark" "$1"
}

# Fails unless $1 is what crossbar plays without converting: WAV, 8 kHz, mono, 16-bit PCM.
check_format() {
  local file="$1" format
  format="$(soxi -t "$file") $(soxi -r "$file") $(soxi -c "$file") $(soxi -b "$file") $(soxi -e "$file")"
  if [ "$format" != "wav 8000 1 16 Signed Integer PCM" ] || [ "$(soxi -s "$file")" -eq 0 ]; then
    echo "prompts: $file is not 8 kHz 16-bit mono PCM with audio ($format)" >&2
    exit 1
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

made=0
for entry in "${prompts[@]}"; do
  IFS='|' read -r name language voice text <<<"$entry"
  out="prompts/$language/$name.wav"
  wanted "$out" || continue
  mkdir -p "prompts/$language"
  espeak-ng -v "$voice" -s 150 -w "$work/spoken.wav" "$text"
  # Written beside the target (a dot file, which no prompt glob takes) and renamed into
  # place: a reader never sees half a file.
  staged="prompts/$language/.$name.partial.wav"
  # The pieces announcements are put together from ("You are caller number" "twenty" "one")
  # keep 60 ms of espeak-ng's 0.4 s of trailing silence, so the words run on as speech does.
  ending=()
  case "$name" in
    num-* | key-* | minute | minutes | less-than-a-minute | queue-position | queue-wait | callback-offer)
      ending=(reverse silence 1 0.005 0.1% reverse pad 0 0.06)
      ;;
  esac
  sox "$work/spoken.wav" -r 8000 -c 1 -b 16 -e signed-integer "$staged" norm -3 "${ending[@]}"
  check_format "$staged"
  mv -f "$staged" "$out"
  made=$((made + 1))
done

# Music on hold: eight chords of 3 s (C Am F G C Am Dm G), each a pad of three triangle waves
# swelling in and out under four plucked notes of the chord an octave up, one every 0.75 s;
# high-passed to the telephone band, a little reverb, faded in and out at the loop point.
moh="prompts/en/moh.wav"
if wanted "$moh"; then
  mkdir -p prompts/en
  # pad notes | arpeggio notes (Hz)
  chords=(
    "261.63 329.63 392.00|523.25 659.26 783.99 659.26"
    "220.00 261.63 329.63|440.00 523.25 659.26 523.25"
    "174.61 220.00 261.63|349.23 440.00 523.25 440.00"
    "196.00 246.94 293.66|392.00 493.88 587.33 493.88"
    "261.63 329.63 392.00|523.25 659.26 783.99 1046.50"
    "220.00 261.63 329.63|440.00 523.25 659.26 880.00"
    "293.66 349.23 440.00|587.33 698.46 880.00 698.46"
    "196.00 246.94 293.66|392.00 493.88 587.33 783.99"
  )
  parts=()
  for n in "${!chords[@]}"; do
    IFS='|' read -r pad arpeggio <<<"${chords[$n]}"
    read -r p1 p2 p3 <<<"$pad"
    read -r a1 a2 a3 a4 <<<"$arpeggio"
    sox -c 3 -r 8000 -n -b 16 -c 1 "$work/pad$n.wav" \
      synth 3 triangle "$p1" triangle "$p2" triangle "$p3" remix - fade q 0.5 3 0.7
    # sox plucks at 44.1-48 kHz only: made at 48 kHz, written at 8 kHz.
    sox -c 4 -r 48000 -n -r 8000 -b 16 -c 1 "$work/arpeggio$n.wav" \
      synth 3 pluck "$a1" pluck "$a2" pluck "$a3" pluck "$a4" delay 0 0.75 1.5 2.25 remix - trim 0 3
    sox -m -v 0.5 "$work/pad$n.wav" -v 0.4 "$work/arpeggio$n.wav" "$work/chord$n.wav"
    parts+=("$work/chord$n.wav")
  done
  sox "${parts[@]}" -b 32 "$work/moh.wav" highpass 200 reverb 25 fade q 0.5 24 1
  staged="prompts/en/.moh.partial.wav"
  sox "$work/moh.wav" -r 8000 -c 1 -b 16 -e signed-integer "$staged" gain -n -6
  check_format "$staged"
  samples="$(soxi -s "$staged")"
  levels="$(sox "$staged" -n stats 2>&1 | awk '/^Pk lev dB/ { peak = $4 } /^RMS lev dB/ { rms = $4 } END { print peak, rms }')"
  read -r peak rms <<<"$levels"
  if [ $((samples % 160)) -ne 0 ] || [ "$samples" -lt 160000 ] || [ "$samples" -gt 240000 ]; then
    echo "prompts: $moh is $samples samples: not 20-30 s of whole 20 ms frames" >&2
    exit 1
  fi
  if ! awk -v peak="$peak" -v rms="$rms" 'BEGIN { exit !(peak > -7 && peak < -5 && rms > -30) }'; then
    echo "prompts: $moh peaks at $peak dBFS with RMS $rms dBFS: not about -6 dBFS with clear energy" >&2
    exit 1
  fi
  mv -f "$staged" "$moh"
  made=$((made + 1))
fi

echo "prompts: $made made, $((${#prompts[@]} + 1)) in prompts/"

if [ "$check" -eq 1 ]; then
  echo "prompts: loading every prompt as crossbar does"
  cargo run -q --locked -p crossbar-media --example load_prompts -- prompts/*/*.wav >"$work/loaded.txt"
  tail -n 1 "$work/loaded.txt"
fi
