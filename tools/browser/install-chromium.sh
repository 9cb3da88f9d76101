#!/usr/bin/env bash
# Finds Chromium for the browser test, installing Debian's package where it is
# missing, and prints `export CHROMIUM=<path>` for eval. Everything else goes to
# stderr. It exits non-zero when no Chromium can be had: the test must then
# fail, not skip.
#   1. $CHROMIUM, or chromium / chromium-browser on PATH;
#   2. as root (CI) or with passwordless sudo: apt-get install chromium;
#   3. otherwise: apt-get download of chromium and chromium-common, unpacked
#      with dpkg -x under .deps/chromium (works where the libraries Chromium
#      links are installed already, as on a desktop).
set -euo pipefail
cd "$(dirname "$0")/../.."

found() {
  echo "chromium: $1 ($("$1" --version 2>/dev/null | head -1))" >&2
  printf 'export CHROMIUM=%q\n' "$1"
  exit 0
}
works() { [ -x "$1" ] && "$1" --version >/dev/null 2>&1; }

if [ -n "${CHROMIUM:-}" ]; then
  works "$CHROMIUM" && found "$CHROMIUM"
  echo "CHROMIUM=$CHROMIUM does not run" >&2
  exit 1
fi
for name in chromium chromium-browser; do
  if p=$(command -v "$name"); then works "$p" && found "$p"; fi
done
local_bin=.deps/chromium/root/usr/lib/chromium/chromium
works "$local_bin" && found "$PWD/$local_bin"

if ! command -v apt-get >/dev/null; then
  echo "no Chromium and no apt-get to install it: install Chromium and set CHROMIUM" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo -n"; fi
fi
if [ "$(id -u)" -eq 0 ] || [ -n "$sudo" ]; then
  echo "installing Debian's chromium (apt-get)..." >&2
  $sudo apt-get update -qq >&2
  # fonts-dejavu-core: the screenshots need a font with the dashboard's glyphs.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
  p=$(command -v chromium) && works "$p" && found "$p"
  echo "apt-get installed chromium, but it does not run" >&2
  exit 1
fi
echo "not root and no sudo: unpacking Debian's chromium under .deps/chromium..." >&2
mkdir -p .deps/chromium/debs
(cd .deps/chromium/debs && apt-get download chromium chromium-common >&2)
for deb in .deps/chromium/debs/*.deb; do dpkg -x "$deb" .deps/chromium/root; done
works "$local_bin" && found "$PWD/$local_bin"
echo "the unpacked chromium does not run (missing libraries?): install it with apt-get as root, or set CHROMIUM" >&2
exit 1
