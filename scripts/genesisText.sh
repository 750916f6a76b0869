#!/usr/bin/env bash
# Rebuilds texts/genesis.txt, the GPT's default corpus: the Book of Genesis, King James Version
# (1611; its copyright has expired), as Debian's bible-kjv-text package carries it. One verse per
# line without its reference, a blank line between chapters. Needs apt (Debian or Ubuntu); the
# packages are unpacked in a scratch folder, not installed.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download bible-kjv bible-kjv-text >/dev/null 2>&1
for deb in *.deb; do dpkg-deb -x "$deb" root; done
# -f turns pretty-printing off: a verse per line, each led by its reference ("Ge12:3 ...").
./root/usr/bin/bible -p "$work/root/usr/lib" -f "Gen1:1-Gen50:26" |
  awk '{ split($1, ref, /[e:]/); chapter = ref[2]; sub(/^[^ ]+ /, "");
         if (last != "" && chapter != last) print ""; last = chapter; print }' >"$repo/texts/genesis.txt"
wc -c "$repo/texts/genesis.txt"
