#!/usr/bin/env bash
# Crash safety of the focus job queue, checked with kill -9.
#
# Run from anywhere, after a release build (`swift build -c release`):
#     bash Tests/Reliability/kill9.sh                          # 200 jobs, 100 kills, then scenarios 2 and 3
#     bash Tests/Reliability/kill9.sh --jobs 60 --kills 25     # a smaller run
#     bash Tests/Reliability/kill9.sh --keep                   # keep the temporary folder for inspection
# Environment: FOCUS_BIN (default .build/release/focus), KILL9_SEED (random seed, default 1),
# KILL9_JOBS and KILL9_KILLS (defaults of --jobs and --kills).
# Needs python3 (standard library only). Builds nothing. Exit status 0 when every check passed.
#
# Scenario 1, kill -9 loop: a batch of --jobs jobs (8 documents, modes stored, focus, cached and
# vanilla) is submitted with --max-attempts 20; then `focus run --drain` (its default 600 s lease)
# is started again and again and killed with SIGKILL after a random 0.05-0.25 s, --kills times,
# each restart following the kill at once: no waiting for leases, the next drain must take back
# the killed drain's job itself. A drain that exits by itself must exit 0 with nothing left to
# run. Then one uninterrupted run --drain must finish everything, at once.
# Scenario 2, two workers: two `focus daemon` processes serve one database and one store at once.
# Scenario 3, store writes: `focus prefill` of 12 documents, each killed after 0.05-0.6 s; then
# `focus store verify` and `store gc` must succeed, and prefilling again must work.
# Checks: every job done exactly once (one results row and one metrics row per job, no other
# state), no job left running (stranded), no row left in `workers`, PRAGMA integrity_check = ok,
# no foreign key violations, `focus store verify` clean; in scenario 2 also no job claimed twice
# (attempt = 1 everywhere) and both daemons exit 0 on SIGTERM.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FOCUS="${FOCUS_BIN:-$ROOT/.build/release/focus}"
SEED="${KILL9_SEED:-1}"
JOBS="${KILL9_JOBS:-200}"
KILLS="${KILL9_KILLS:-100}"
KEEP=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --keep) KEEP=1; shift ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --kills) KILLS="$2"; shift 2 ;;
        *) echo "kill9: unknown argument $1 (use --jobs N, --kills N, --keep)" >&2; exit 2 ;;
    esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ && "$KILLS" =~ ^[0-9]+$ ]] || { echo "kill9: --jobs and --kills take whole numbers" >&2; exit 2; }

if [[ ! -x "$FOCUS" ]]; then
    echo "kill9: $FOCUS not found; build it first: swift build -c release --product focus" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "kill9: python3 is needed" >&2; exit 2; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/focus-kill9.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
    if [[ $KEEP == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
RANDOM=$SEED
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }

# MARK: - Inputs

python3 "$ROOT/Tests/ReferenceTools/make_tiny_model.py" --out "$WORK/model" >/dev/null || exit 2
mkdir -p "$WORK/batch/docs"
python3 - "$WORK/batch" "$JOBS" <<'PY'
import json, random, sys
folder, jobs = sys.argv[1], int(sys.argv[2])
documents = 8
per_doc = (jobs + documents - 1) // documents
rng = random.Random(7)
subjects = ["The harbour master", "A clerk", "The mayor", "Every fisherman", "The old miller", "Her brother"]
verbs = ["counted", "carried", "sold", "wrote down", "repaired", "hid"]
objects = ["the boats", "forty ledgers", "the salt", "a stone wall", "the grain", "seven nets"]
places = ["by the bridge", "near the church", "on the hill", "in the meadow", "behind the market"]
modes = ["stored", "focus", "cached", "vanilla"]
written = 0
with open(f"{folder}/jobs.jsonl", "w") as batch:
    for d in range(documents):
        sentences = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} {rng.choice(places)} "
                     f"in the year {1700 + 7 * i + d}." for i in range(6 + 2 * d)]
        with open(f"{folder}/docs/doc{d}.txt", "w") as f:
            f.write(" ".join(sentences) + "\n")
        for q in range(min(per_doc, jobs - written)):
            batch.write(json.dumps({"document": f"docs/doc{d}.txt", "question": f"Question {q} about document {d}?",
                                    "mode": modes[(d + q) % len(modes)]}) + "\n")
            written += 1
PY

# Runs SQL on the database with python3's sqlite3 and prints rows tab-separated.
sql() {
    python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
for row in db.execute(sys.argv[2]):
    print("\t".join("" if v is None else str(v) for v in row))
PY
}

# Creates the database with `focus status`; when focus leaves it without tables, applies
# schema/*.sql the way focus's migrations do (each file, then PRAGMA user_version = NNN).
prepare_db() {
    local db="$1"
    mkdir -p "$(dirname "$db")"
    "$FOCUS" status --db "$db" >/dev/null 2>&1 && return 0
    echo "note: focus did not create the queue schema in a new database; creating it from schema/*.sql"
    python3 - "$db" "$ROOT/schema" <<'PY'
import pathlib, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
for path in sorted(pathlib.Path(sys.argv[2]).glob("[0-9][0-9][0-9]_*.sql")):
    version = int(path.name[:3])
    if db.execute("PRAGMA user_version").fetchone()[0] < version:
        db.executescript("BEGIN IMMEDIATE;" + path.read_text() + f";PRAGMA user_version = {version}; COMMIT;")
PY
    "$FOCUS" status --db "$db" >/dev/null || { echo "kill9: cannot open $db with focus" >&2; exit 2; }
}

submit_batch() {
    local db="$1" out
    out="$("$FOCUS" submit --db "$db" --model "$WORK/model" --batch "$WORK/batch/jobs.jsonl" --max-attempts 20)" \
        || { echo "kill9: submit failed" >&2; exit 2; }
    local count
    count=$(printf '%s\n' "$out" | grep -c .)
    [[ $count == "$JOBS" ]] || fail "submit printed $count ids, expected $JOBS"
}

# Jobs still to run (queued, or running under a lease).
unfinished() { sql "$1" "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')"; }

# Every job done exactly once, and the database and store sound.
check_exactly_once() {
    local db="$1" store="$2" label="$3"
    local states results distinct metrics orphans integrity fkeys
    states=$(sql "$db" "SELECT state || '=' || count(*) FROM jobs GROUP BY state ORDER BY state" | tr '\n' ' ')
    [[ "$states" == "done=$JOBS " ]] || fail "$label: job states are '$states', expected done=$JOBS"
    sql "$db" "SELECT '  not done: job ' || id || ' ' || state || ' after ' || attempt || ' attempts: ' || coalesce(last_error, '')
               FROM jobs WHERE state <> 'done'"
    results=$(sql "$db" "SELECT count(*) FROM results")
    distinct=$(sql "$db" "SELECT count(DISTINCT job_id) FROM results")
    metrics=$(sql "$db" "SELECT count(*) FROM job_metrics")
    orphans=$(sql "$db" "SELECT count(*) FROM jobs j LEFT JOIN results r ON r.job_id = j.id WHERE r.job_id IS NULL")
    [[ $results == "$JOBS" && $distinct == "$JOBS" ]] || fail "$label: $results results for $distinct jobs, expected $JOBS"
    [[ $metrics == "$JOBS" ]] || fail "$label: $metrics metrics rows, expected $JOBS"
    [[ $orphans == 0 ]] || fail "$label: $orphans jobs without a result"
    local running workers
    running=$(sql "$db" "SELECT count(*) FROM jobs WHERE state = 'running'")
    workers=$(sql "$db" "SELECT count(*) FROM workers")
    [[ $running == 0 ]] || fail "$label: $running jobs stranded in state running"
    [[ $workers == 0 ]] || fail "$label: $workers rows left in workers"
    integrity=$(sql "$db" "PRAGMA integrity_check" | tr '\n' ' ')
    [[ "$integrity" == "ok " ]] || fail "$label: integrity_check: $integrity"
    fkeys=$(sql "$db" "PRAGMA foreign_key_check" | wc -l)
    [[ $fkeys == 0 ]] || fail "$label: $fkeys foreign key violations"
    local verify
    if ! verify=$("$FOCUS" store verify --store "$store" 2>&1); then
        fail "$label: focus store verify: $verify"
    fi
    echo "  states: $states| results $results (distinct $distinct), metrics $metrics, stranded $running, workers rows $workers, integrity $integrity"
    echo "  store verify: $verify"
    echo "  store gc: $("$FOCUS" store gc --store "$store" 2>&1)"
}

# MARK: - Scenario 1: kill -9 loop

echo "== scenario 1: run --drain killed with SIGKILL at random moments ($JOBS jobs, $KILLS kills, seed $SEED)"
DB1="$WORK/s1/queue.sqlite"
STORE1="$WORK/s1/store"
prepare_db "$DB1"
submit_batch "$DB1"
started=$SECONDS
kills=0; runs=0; selfexits=0
while [[ $kills -lt $KILLS && $(unfinished "$DB1") != 0 && $((SECONDS - started)) -lt 900 ]]; do
    "$FOCUS" run --drain --db "$DB1" --store "$STORE1" 2>>"$WORK/s1/runs.log" &
    pid=$!
    PIDS=("$pid")
    runs=$((runs + 1))
    # Short enough that 100 runs do not drain 200 jobs: most kills land in the middle of a job.
    sleep "$(printf '0.%02d' $((RANDOM % 21 + 5)))"
    if kill -9 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        kills=$((kills + 1))
    else
        wait "$pid"
        status=$?
        selfexits=$((selfexits + 1))
        left=$(unfinished "$DB1")
        [[ $status == 0 ]] || fail "run --drain exited $status by itself (see $WORK/s1/runs.log)"
        [[ $status != 0 || $left == 0 ]] || fail "run --drain exited 0 with $left jobs unfinished (stranded)"
    fi
    PIDS=()
done
loop_seconds=$((SECONDS - started))
[[ $kills == "$KILLS" ]] || echo "  note: the queue emptied after $kills of $KILLS kills"
before_final=$(unfinished "$DB1")
final_started=$SECONDS
"$FOCUS" run --drain --db "$DB1" --store "$STORE1" 2>>"$WORK/s1/runs.log" || fail "final run --drain exited $?"
[[ $(unfinished "$DB1") == 0 ]] || fail "$(unfinished "$DB1") jobs unfinished after the final run --drain"
attempts=$(sql "$DB1" "SELECT sum(attempt) || ' attempts, max ' || max(attempt) || ', ' || sum(attempt > 1) || ' jobs retaken' FROM jobs")
taken=$(grep -c 'took back the jobs of dead workers' "$WORK/s1/runs.log")
echo "  $runs runs in ${loop_seconds} s: $kills kill -9, $selfexits exited by themselves; $before_final jobs left for the final run, done in $((SECONDS - final_started)) s"
echo "  $attempts; $taken runs took back jobs of killed runs"
check_exactly_once "$DB1" "$STORE1" "scenario 1"

# MARK: - Scenario 2: two daemons on one database

scenario_two() {
    echo "== scenario 2: two focus daemons on one database and store ($JOBS jobs)"
    local db="$WORK/s2/queue.sqlite" store="$WORK/s2/store" started=$SECONDS d1 d2 pid status
    prepare_db "$db"
    submit_batch "$db"
    "$FOCUS" daemon --db "$db" --store "$store" --lease-seconds 5 2>"$WORK/s2/daemon1.log" &
    d1=$!
    "$FOCUS" daemon --db "$db" --store "$store" --lease-seconds 5 2>"$WORK/s2/daemon2.log" &
    d2=$!
    PIDS=("$d1" "$d2")
    sleep 1
    for pid in "$d1" "$d2"; do
        kill -0 "$pid" 2>/dev/null && continue
        wait "$pid"
        status=$?
        kill -TERM "$d1" "$d2" 2>/dev/null
        wait
        PIDS=()
        if [[ $status == 75 ]]; then
            # The daemon holds the run lock: one worker per database through the command line.
            echo "  skipped: daemon $pid exited 75 (another instance holds the lock); two daemons cannot share a database"
        else
            fail "daemon $pid exited $status at start (see $WORK/s2)"
        fi
        return
    done
    while [[ $(unfinished "$db") != 0 && $((SECONDS - started)) -lt 180 ]]; do sleep 0.5; done
    local drained=$((SECONDS - started))
    local per_worker
    per_worker=$(sql "$db" "SELECT count(*) FROM jobs GROUP BY lease_owner ORDER BY 1 DESC" | tr '\n' ' ')
    kill -TERM "$d1" "$d2"
    for pid in "$d1" "$d2"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            fail "daemon $pid still running 5 s after SIGTERM"
            kill -9 "$pid"
        fi
        wait "$pid"
        status=$?
        [[ $status == 0 ]] || fail "daemon $pid exited $status after SIGTERM"
    done
    PIDS=()
    local twice
    twice=$(sql "$db" "SELECT count(*) FROM jobs WHERE attempt <> 1")
    [[ $twice == 0 ]] || fail "scenario 2: $twice jobs were claimed more than once"
    echo "  drained in ${drained} s; jobs per daemon: $per_worker; jobs claimed twice: $twice"
    [[ $(echo "$per_worker" | wc -w) == 2 ]] || echo "  note: only one daemon took jobs"
    check_exactly_once "$db" "$store" "scenario 2"
}

# MARK: - Scenario 3: prefill killed while it writes the store

scenario_three() {
    local store="$WORK/s3/store" docs=12 kills=0 finished=0 midwrite=0 d verify gc
    echo "== scenario 3: focus prefill killed with SIGKILL while it writes the store ($docs documents)"
    mkdir -p "$WORK/s3"
    for d in $(seq 0 "$docs"); do
        python3 -c "import sys; print(' '.join(f'Entry {i}: the clerk {sys.argv[1]} counted {i * 7} boats.' for i in range(60)))" \
            "$d" >"$WORK/s3/doc$d.txt"
    done
    # One uninterrupted prefill (document 0, in another store) times a whole prefill: kills then land
    # between 30% and 110% of it, mostly while the entry is computed and written.
    local t0 t1 whole_ms
    t0=$(date +%s%N)
    "$FOCUS" prefill --model "$WORK/model" --store "$WORK/s3/calibration" --document "$WORK/s3/doc0.txt" >/dev/null \
        || fail "scenario 3: calibration prefill failed"
    t1=$(date +%s%N)
    whole_ms=$(((t1 - t0) / 1000000))
    for d in $(seq "$docs"); do
        "$FOCUS" prefill --model "$WORK/model" --store "$store" --document "$WORK/s3/doc$d.txt" \
            >/dev/null 2>>"$WORK/s3/prefill.log" &
        PIDS=("$!")
        local delay_ms=$((whole_ms * (30 + RANDOM % 81) / 100))
        sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
        if kill -9 "${PIDS[0]}" 2>/dev/null; then kills=$((kills + 1)); else finished=$((finished + 1)); fi
        wait "${PIDS[0]}" 2>/dev/null
        PIDS=()
    done
    midwrite=$(find "$store" -maxdepth 1 -name 'tmp-*' | wc -l)
    echo "  one prefill takes ${whole_ms} ms; $kills killed, $finished finished; $midwrite unfinished entries (tmp-*) left"
    if ! verify=$("$FOCUS" store verify --store "$store" 2>&1); then
        fail "scenario 3: store verify after kills: $verify"
    fi
    gc=$("$FOCUS" store gc --store "$store" 2>&1) || fail "scenario 3: store gc: $gc"
    echo "  verify after the kills: $verify"
    echo "  gc: $gc ($(find "$store" -maxdepth 1 -name 'tmp-*' | wc -l) tmp-* left: gc removes them once 60 s old)"
    local hits=0 misses=0 out
    for d in $(seq "$docs"); do
        if ! out=$("$FOCUS" prefill --model "$WORK/model" --store "$store" --document "$WORK/s3/doc$d.txt" 2>&1); then
            fail "scenario 3: prefill of doc$d after the kills: $out"
            continue
        fi
        if [[ $out == *'"store_hit":true'* ]]; then hits=$((hits + 1)); else misses=$((misses + 1)); fi
    done
    verify=$("$FOCUS" store verify --store "$store" 2>&1) || fail "scenario 3: final store verify: $verify"
    local entries
    entries=$(("$("$FOCUS" store ls --store "$store" | wc -l)" - 1))
    [[ $entries == "$docs" ]] || fail "scenario 3: $entries store entries, expected $docs"
    echo "  uninterrupted prefills: $hits store hits (kept from before the kills), $misses rewritten; $entries entries; verify: $verify"
}

scenario_two
scenario_three

if [[ $FAILURES == 0 ]]; then
    echo "kill9: all checks passed"
else
    echo "kill9: $FAILURES check(s) failed"
    exit 1
fi
