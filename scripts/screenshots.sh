#!/bin/sh
# Regenerate the README's pictures of a run: docs/img/html-run.png (a failing bugs/ run) and
# docs/img/html-sweep.png (a 10-seed sweep), from `mmstress ... --html` pages shot by headless
# Chromium (Debian's `chromium` package).  Run from anywhere: scripts/screenshots.sh
set -eu
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
browser=$(command -v chromium || echo /usr/bin/chromium)
[ -x "$browser" ] || { echo "screenshots: no chromium (apt-get install chromium)" >&2; exit 2; }

# exit 1 (violations found) is what these runs are for
python3 -m harness run bugs/double_free_cross_cpu --seed 1 --sched random --ops 400 --quiet \
    --html "$out/run.html" || [ $? -eq 1 ]
python3 -m harness sweep bugs/lock_abba bugs/lock_abba_ok --seeds 0-9 --ops 100 --quiet \
    --html "$out/sweep.html" >/dev/null || [ $? -eq 1 ]

shot() {   # page, png, height
    "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
        --user-data-dir="$out/profile" --hide-scrollbars --force-device-scale-factor=1 \
        --window-size=1150,"$3" --screenshot="$2" "file://$1" 2>/dev/null
}
shot "$out/run.html" docs/img/html-run.png 1900
shot "$out/sweep.html" docs/img/html-sweep.png 1500
ls -l docs/img/html-run.png docs/img/html-sweep.png
