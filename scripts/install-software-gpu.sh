#!/usr/bin/env bash
# Installs a software WebGPU stack for machines without a GPU (Debian 12 "bookworm" and later):
#  - Mesa 25 lavapipe (Vulkan on the CPU) from the release's backports suite: Dawn, the engine
#    behind the `webgpu` npm package, refuses Debian 12's own Mesa 22 but runs well on Mesa 25;
#  - Debian's chromium, whose bundled SwiftShader serves WebGPU to headless Chrome (e2e tests).
# The backports entry is derived from the existing Debian sources (same URIs and keyring), so no
# mirror host is written here. Needs root (or sudo). Safe to run twice.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

. /etc/os-release
codename="${VERSION_CODENAME:?cannot tell the Debian codename from /etc/os-release}"
backports_list=/etc/apt/sources.list.d/shadergrad-backports.sources

lavapipe_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true
}

have_mesa25() {
  local v
  v=$(lavapipe_version)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 25
}

# Prints a deb822 backports stanza built from the first Debian stanza whose suite is the release.
backports_stanza() {
  local src
  for src in /etc/apt/sources.list.d/*.sources; do
    [ -f "$src" ] || continue
    awk -v want="$codename" -v bp="$codename-backports" '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; signed=""; comps=""; isrel=0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) uris=$i
          else if ($i ~ /^Signed-By:/) signed=$i
          else if ($i ~ /^Components:/) comps=$i
          else if ($i ~ /^Suites:/) {
            n = split(substr($i, 8), s, " ")
            for (j = 1; j <= n; j++) if (s[j] == want) isrel=1
          }
        }
        if (isrel && uris != "" && !done) {
          print "Types: deb"; print uris; print "Suites: " bp
          print (comps != "" ? comps : "Components: main")
          if (signed != "") print signed
          done=1
        }
      }' "$src"
  done | sed -n '1,5p'
}

backports_from_list_file() {
  # One-line style sources.list fallback: reuse the mirror of the release line.
  grep -hE "^deb [^ ]+ $codename main" /etc/apt/sources.list 2>/dev/null | head -n1 |
    sed -E "s/ $codename main.*/ $codename-backports main/"
}

add_backports() {
  if [ -f "$backports_list" ] || [ -f /etc/apt/sources.list.d/shadergrad-backports.list ]; then return; fi
  local stanza
  stanza=$(backports_stanza)
  if [ -n "$stanza" ]; then
    printf '%s\n' "$stanza" | $SUDO tee "$backports_list" >/dev/null
  else
    local line
    line=$(backports_from_list_file)
    [ -n "$line" ] || { echo "install-software-gpu: no Debian source for $codename found to derive backports from" >&2; exit 1; }
    printf '%s\n' "$line" | $SUDO tee /etc/apt/sources.list.d/shadergrad-backports.list >/dev/null
  fi
  echo "install-software-gpu: added $codename-backports"
}

main() {
  export DEBIAN_FRONTEND=noninteractive
  local need_mesa=1 need_chromium=1
  have_mesa25 && need_mesa=0
  [ -x /usr/bin/chromium ] && need_chromium=0
  if [ "$need_mesa" = 0 ] && [ "$need_chromium" = 0 ]; then
    echo "install-software-gpu: lavapipe $(lavapipe_version) and chromium already installed"
    return
  fi
  [ "$need_mesa" = 1 ] && add_backports
  $SUDO apt-get update -qq
  if [ "$need_mesa" = 1 ]; then
    $SUDO apt-get install -y -qq -t "$codename-backports" mesa-vulkan-drivers libvulkan1
  fi
  if [ "$need_chromium" = 1 ]; then
    $SUDO apt-get install -y -qq chromium
  fi
  have_mesa25 || { echo "install-software-gpu: mesa-vulkan-drivers $(lavapipe_version) is older than 25" >&2; exit 1; }
  echo "install-software-gpu: lavapipe $(lavapipe_version), $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium missing')"
}

main "$@"
