#!/bin/sh
# mmstress CI gate.  Copy this file (and a ci/regressions/ folder) into your project.
#
#   ci/gate.sh pr       [options]   the fast lane, for every pull request
#   ci/gate.sh nightly  [options]   the long lane, on a schedule
#
# pr lane       1. replay every regression trace (REGRESSIONS/*.mmtrace, saved from
#                  `mmstress minimize`) with `mmstress replay TRACE --check`: each must
#                  still give the outcome it recorded
#               2. sweep every scenario (SCENARIOS/*.toml, not sub-folders) over fixed seeds
# nightly lane  1. the same replays
#               2. fresh seeds (a first seed taken from the date and printed, so a failing
#                  night can be repeated with --seed-base), more of them, under the PCT
#                  scheduler, within a wall-clock budget
#
# Options (each also read from the environment variable beside it; an option wins):
#   --scenarios DIR    MMSTRESS_SCENARIOS    scenario folder (default: scenarios)
#   --regressions DIR  MMSTRESS_REGRESSIONS  regression traces (default: ci/regressions;
#                                            a missing or empty folder replays nothing)
#   --seeds SPEC       MMSTRESS_SEEDS        seeds: 0-9, 1,5,7 (default: pr 0-4;
#                                            nightly 1000 seeds from the seed base)
#   --seed-base N      MMSTRESS_SEED_BASE    nightly first seed (default: UTC date * 1000,
#                                            e.g. 20250607000; "random" for /dev/urandom)
#   --jobs N           MMSTRESS_JOBS         runs at once (default: auto, cores / CPUs)
#   --duration D       MMSTRESS_DURATION     each run's length, e.g. 2s (default: the scenario's)
#   --budget D         MMSTRESS_BUDGET       wall-clock budget of the sweep, e.g. 20m (default:
#                                            pr none, nightly 1h); runs not started in time
#                                            are reported as not run, not as failures
#   --sched NAME       MMSTRESS_SCHED        scheduler of the sweep (default: pr none = free
#                                            running, nightly pct; "" = free running)
#   --out DIR          MMSTRESS_OUT          reports: DIR/LANE.json, DIR/LANE.xml (JUnit)
#                                            (default: mmstress-reports)
#                      MMSTRESS              how to call mmstress (default: mmstress if on
#                                            PATH, else python3 -m harness)
#
# Exit codes:
#   0    pass: every trace replayed as recorded and every run was clean
#   1    violations: a run found a bug, or a regression trace no longer gives its outcome
#   2    bad usage: an unknown option or lane, a missing folder, no scenario files, a
#        scenario file that does not validate, a seed list or duration mmstress refuses
#   3    harness failure: a run crashed or timed out, a trace cannot be replayed, or this
#        mmstress lacks a command the lane needs (`replay`, `run --sched`)
#   130  interrupted (Ctrl-C), 143 terminated; the reports written so far are kept
set -eu

usage() {
    sed -n '2,/^set -eu/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}
die() { echo "gate: $1" >&2; exit "${2:-2}"; }

[ $# -ge 1 ] || usage
lane=$1
shift
case $lane in
    pr|nightly) ;;
    -h|--help|help) usage ;;
    *) die "unknown lane '$lane': use pr or nightly (ci/gate.sh --help)" ;;
esac

scenarios=${MMSTRESS_SCENARIOS:-scenarios}
regressions=${MMSTRESS_REGRESSIONS:-ci/regressions}
seeds=${MMSTRESS_SEEDS:-}
seed_base=${MMSTRESS_SEED_BASE:-}
jobs=${MMSTRESS_JOBS:-auto}
duration=${MMSTRESS_DURATION:-}
out=${MMSTRESS_OUT:-mmstress-reports}
if [ "$lane" = nightly ]; then
    budget=${MMSTRESS_BUDGET-1h}
    sched=${MMSTRESS_SCHED-pct}
else
    budget=${MMSTRESS_BUDGET:-}
    sched=${MMSTRESS_SCHED:-}
fi

while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || case $1 in -h|--help) usage ;; *) die "$1 needs a value (ci/gate.sh --help)" ;; esac
    case $1 in
        --scenarios) scenarios=$2 ;;
        --regressions) regressions=$2 ;;
        --seeds) seeds=$2 ;;
        --seed-base) seed_base=$2 ;;
        --jobs|-j) jobs=$2 ;;
        --duration) duration=$2 ;;
        --budget) budget=$2 ;;
        --sched) sched=$2 ;;
        --out) out=$2 ;;
        *) die "unknown option '$1' (ci/gate.sh --help)" ;;
    esac
    shift 2
done

if [ -n "${MMSTRESS:-}" ]; then
    mm=$MMSTRESS
elif command -v mmstress >/dev/null 2>&1; then
    mm=mmstress
else
    mm="python3 -m harness"
fi

# --- the seeds --------------------------------------------------------------------------------
if [ -z "$seeds" ]; then
    if [ "$lane" = pr ]; then
        seeds=0-4
    else
        case $seed_base in
            "") seed_base="$(date -u +%Y%m%d)000" ;;
            random) seed_base=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ') ;;
        esac
        case $seed_base in
            *[!0-9]*|"") die "--seed-base '$seed_base': a number >= 0, or random" ;;
        esac
        seeds="$seed_base-$((seed_base + 999))"
    fi
fi

# --- the scenario files -------------------------------------------------------------------------
[ -d "$scenarios" ] || die "no scenario folder '$scenarios' (--scenarios DIR)"
set -- "$scenarios"/*.toml
[ -e "$1" ] || die "no scenario files in '$scenarios' (*.toml)"
mkdir -p "$out" || die "cannot create the report folder '$out'"

info="$# scenario(s) from $scenarios, seeds $seeds, jobs $jobs"
info="$info${duration:+, each run $duration}${budget:+, budget $budget}${sched:+, scheduler $sched}"
echo "gate: $lane lane: $info"
echo "gate: mmstress is '$mm'"

worst=0
# note CODE: keep the worst outcome (3 > 1 > 0); an interruption ends the gate at once.
note() {
    case $1 in
        0) ;;
        1) [ "$worst" = 3 ] || worst=1 ;;
        130|143) echo "gate: interrupted" >&2; exit "$1" ;;
        *) worst=3 ;;
    esac
}

# --- 1. regression traces ------------------------------------------------------------------------
traces=0
if [ -d "$regressions" ]; then
    for t in "$regressions"/*.mmtrace; do
        [ -e "$t" ] && traces=$((traces + 1))
    done
fi
if [ "$traces" = 0 ]; then
    echo "gate: no regression traces in $regressions (*.mmtrace): nothing to replay"
elif ! $mm replay --help >/dev/null 2>&1; then
    echo "gate: $traces regression trace(s) in $regressions, but this mmstress has no" \
         "'replay' command ('$mm replay --help' failed): install an mmstress with replay," \
         "or move the traces away to skip them" >&2
    note 3
else
    echo "gate: replaying $traces regression trace(s) from $regressions"
    # The regression traces are this project's own files, trusted as its code is: --trust lets
    # them name the project's scenarios and workloads outside mmstress's library (a changed
    # scenario or workload is still refused: its hashes are in the trace).
    trust=
    ! $mm replay --help 2>/dev/null | grep -q -- --trust || trust=--trust
    for t in "$regressions"/*.mmtrace; do
        rc=0
        $mm replay "$t" --check $trust || rc=$?
        case $rc in
            0) echo "gate: replay ok: $t" ;;
            1) echo "gate: REGRESSION: $t no longer gives its recorded outcome" \
                    "(mmstress replay $t)" >&2 ;;
            130|143) ;;
            *) echo "gate: cannot replay $t (exit $rc)" >&2 ;;
        esac
        note "$rc"
    done
fi

# --- 2. the sweep ------------------------------------------------------------------------------------
if [ -n "$sched" ] && ! $mm run --help 2>/dev/null | grep -q -- '--sched'; then
    echo "gate: the $lane lane asks for scheduler '$sched' but this mmstress's run has no" \
         "--sched: install a newer mmstress, or set MMSTRESS_SCHED= (free running)" >&2
    note 3
    exit "$worst"
fi
if [ "$lane" = nightly ]; then
    echo "gate: nightly seeds $seeds (repeat this night with: ci/gate.sh nightly --seeds $seeds)"
fi
rc=0
$mm sweep "$@" --seeds "$seeds" -j "$jobs" \
    ${duration:+--duration "$duration"} ${budget:+--budget "$budget"} ${sched:+--sched "$sched"} \
    --json "$out/$lane.json" --junit "$out/$lane.xml" || rc=$?
# 2: the sweep refused what this gate was given (--seeds, --duration, --budget, --jobs, a scenario)
[ "$rc" != 2 ] || die "the sweep refused its options (above)"
note "$rc"
[ ! -e "$out/$lane.json" ] || echo "gate: reports in $out/$lane.json and $out/$lane.xml"
case $worst in
    0) echo "gate: $lane lane passed" ;;
    1) echo "gate: $lane lane FAILED: violations (reproduce commands above)" >&2 ;;
    *) echo "gate: $lane lane FAILED: the harness itself failed (exit 3)" >&2 ;;
esac
exit "$worst"
