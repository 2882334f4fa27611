#!/usr/bin/env bash
# The focus job queue on PostgreSQL with workers on three "hosts", checked with kill -9 and a cut link.
#
# Run as root (network namespaces), after a release build (`swift build -c release --product focus`):
#     bash Tests/Reliability/multihost.sh                  # 300 jobs over 10 documents, affinity wait 30 s, then 0
#     bash Tests/Reliability/multihost.sh --jobs 90 --waits 30   # a smaller run, affinity only
#     bash Tests/Reliability/multihost.sh --keep           # keep the temporary folder (logs, stores, server)
# Environment: FOCUS_BIN (default .build/release/focus), MULTIHOST_SEED (random seed, default 1),
# MULTIHOST_MODEL (default models/focus-qa-small), PG_BIN (folder of initdb and pg_ctl, default the newest
# /usr/lib/postgresql/*/bin). Needs ip (iproute2), runuser, useradd and python3 (standard library only).
#
# The network: one namespace holds a bridge (the switch); PostgreSQL runs in a second (10.77.0.1),
# the workers' hosts host1..host3 in three more (10.77.0.11-13), each joined to the bridge by a veth
# pair. Each host runs one `focus daemon` with FOCUS_HOST naming it and a document store of its own.
# For each affinity wait (--waits, default "30 0"): a fresh database, fresh stores, the same jobs
# (--jobs stored-mode questions over 10 documents, shuffled, 4 answer tokens each), then chaos until
# every job is done: a random host's daemon is killed with SIGKILL every 1.5-4 s and started again
# 0.2-1 s later; once a quarter of the jobs are done, the link of a host holding a running job is cut
# (`ip link set ... down` on the switch) for 2.5 leases, then restored.
# Checks: every job done with exactly one result and one metrics row, none lost, failed or dead; no job
# left running; the partitioned host's late result refused (its log says `fenced out` or `abandoned`,
# and every job it held at the cut was done by a later attempt); daemons exit 0 on SIGTERM.
# Reported: how many hosts prefilled each document (store entries per host, by key), mean and total,
# and the same count from the database (answers with no store hit, by the host of their worker).
# Everything it creates (namespaces, server, daemons, folder) is removed on exit.

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
FOCUS="${FOCUS_BIN:-$ROOT/.build/release/focus}"
MODEL="${MULTIHOST_MODEL:-$ROOT/models/focus-qa-small}"
SEED="${MULTIHOST_SEED:-1}"
JOBS=300
WAITS="30 0"
KEEP=0
LEASE=8
while [[ $# -gt 0 ]]; do
    case "$1" in
        --keep) KEEP=1; shift ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --waits) WAITS="$2"; shift 2 ;;
        *) echo "multihost: unknown argument $1 (use --jobs N, --waits \"30 0\", --keep)" >&2; exit 2 ;;
    esac
done
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "multihost: --jobs takes a whole number" >&2; exit 2; }

[[ $(id -u) == 0 ]] || { echo "multihost: run as root (ip netns needs it)" >&2; exit 2; }
[[ -x "$FOCUS" ]] || { echo "multihost: $FOCUS not found; build it first: swift build -c release --product focus" >&2; exit 2; }
for tool in ip runuser python3; do
    command -v "$tool" >/dev/null || { echo "multihost: $tool is needed" >&2; exit 2; }
done
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[[ -x "$PG_BIN/initdb" && -x "$PG_BIN/pg_ctl" ]] || { echo "multihost: PostgreSQL not found (make deps)" >&2; exit 2; }

TAG="fmh$$"
SWITCH="${TAG}sw"
DBNS="${TAG}db"
HOSTS=(host1 host2 host3)
DB_ADDRESS=10.77.0.1
PG_USER=focus-postgres
PASSWORD="multihost-$RANDOM$RANDOM"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/focus-multihost.XXXXXX")"
chmod 755 "$WORK"
declare -A DAEMON=()
RANDOM=$SEED
FAILURES=0
fail() { echo "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
hostns() { echo "${TAG}${1}"; }

cleanup() {
    for host in "${!DAEMON[@]}"; do kill -9 "${DAEMON[$host]}" 2>/dev/null; done
    wait 2>/dev/null
    if [[ -d "$WORK/pg/data" ]]; then
        runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1
    fi
    for ns in "$SWITCH" "$DBNS" $(for h in "${HOSTS[@]}"; do hostns "$h"; done); do
        ip netns del "$ns" 2>/dev/null
    done
    if [[ $KEEP == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# MARK: - Network

# The switch namespace holds bridge br0; every node gets eth0 at its address, its peer on the bridge.
ip netns add "$SWITCH" || exit 2
ip -n "$SWITCH" link set lo up
ip -n "$SWITCH" link add br0 type bridge
ip -n "$SWITCH" link set br0 up
join() {
    local ns="$1" port="$2" address="$3"
    ip netns add "$ns" || exit 2
    ip -n "$ns" link set lo up
    ip link add eth0 netns "$ns" type veth peer name "$port" netns "$SWITCH" || exit 2
    ip -n "$SWITCH" link set "$port" master br0 up
    ip -n "$ns" addr add "$address/24" dev eth0
    ip -n "$ns" link set eth0 up
}
join "$DBNS" pdb "$DB_ADDRESS"
for i in "${!HOSTS[@]}"; do join "$(hostns "${HOSTS[$i]}")" "p${HOSTS[$i]}" "10.77.0.$((11 + i))"; done

# MARK: - PostgreSQL

id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" || exit 2
mkdir -p "$WORK/pg"
printf '%s\n' "$PASSWORD" >"$WORK/pg/password"
chown -R "$PG_USER" "$WORK/pg"
runuser -u "$PG_USER" -- "$PG_BIN/initdb" -D "$WORK/pg/data" -U focus --pwfile "$WORK/pg/password" -E UTF8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$WORK/pg/initdb.log" 2>&1 || { cat "$WORK/pg/initdb.log"; exit 2; }
echo "host all focus 10.77.0.0/24 scram-sha-256" >>"$WORK/pg/data/pg_hba.conf"
ip netns exec "$DBNS" runuser -u "$PG_USER" -- "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w -t 60 \
    -o "-p 5432 -k $WORK/pg -c listen_addresses=$DB_ADDRESS -c fsync=off -c synchronous_commit=off" start >/dev/null \
    || { cat "$WORK/pg/server.log"; exit 2; }
export PGPASSWORD="$PASSWORD"
for host in "${HOSTS[@]}"; do
    ip netns exec "$(hostns "$host")" timeout 5 bash -c "exec 3<>/dev/tcp/$DB_ADDRESS/5432" \
        || { echo "multihost: $host cannot reach $DB_ADDRESS:5432" >&2; exit 2; }
done

# Runs SQL on database $1 over the socket and prints rows tab-separated.
PSQL="$PG_BIN/psql"
[[ -x $PSQL ]] || PSQL=psql
psql_run() { "$PSQL" -h "$WORK/pg" -U focus -d "$1" -X -q -At -F $'\t' -c "$2"; }
sql() { psql_run "$DATABASE" "$1"; }

# MARK: - Inputs

mkdir -p "$WORK/inputs/docs"
python3 - "$WORK/inputs" "$JOBS" "$SEED" <<'PY'
import json, random, sys
folder, jobs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
people = ["Mira Okafor", "Jonas Varga", "Ilse Brandt", "Tomas Lind", "Rosa Quint", "Elena Marsh", "Pavel Dorn"]
cities = ["Harwick", "Lonsdale", "Brennport", "Caldmoor", "Ostfeld", "Varnholm", "Tessaly"]
things = ["the ledger", "a copper bell", "the grain tax", "seven nets", "the old bridge", "a sealed letter"]
lines = []
for d in range(10):
    sentences = [f"In {1700 + 3 * i + d}, {rng.choice(people)} of {rng.choice(cities)} kept {rng.choice(things)} "
                 f"under code {rng.choice('ABCDEFGH')}{rng.choice('KLMNPR')}-{rng.randrange(1000, 9999)}." for i in range(120)]
    with open(f"{folder}/docs/doc{d}.txt", "w") as f:
        f.write(" ".join(sentences) + "\n")
    lines += [{"document": f"docs/doc{d}.txt", "question": f"Who kept the ledger in {1700 + 3 * q + d}? ({q})",
               "key": f"doc{d}-q{q}"} for q in range((jobs + 9 - d) // 10)]
rng.shuffle(lines)
with open(f"{folder}/jobs.jsonl", "w") as out:
    for line in lines:
        out.write(json.dumps(line) + "\n")
PY

# MARK: - Workers

# start_daemon HOST: one `focus daemon` in the host's namespace, logging to its log.
start_daemon() {
    local host="$1"
    ip netns exec "$(hostns "$host")" env FOCUS_HOST="$host" PGPASSWORD="$PASSWORD" OPENBLAS_NUM_THREADS=1 \
        "$FOCUS" daemon --db "$URL" --store "$RUN/$host/store" --lease-seconds "$LEASE" --batch 4 \
        --affinity-wait "$WAIT" --log-format json 2>>"$RUN/$host/daemon.log" &
    DAEMON[$host]=$!
}

# kill_daemon HOST: SIGKILL; a daemon that had already exited is counted in SELF_EXITS with its status.
kill_daemon() {
    local host="$1" status
    if kill -9 "${DAEMON[$host]}" 2>/dev/null; then
        wait "${DAEMON[$host]}" 2>/dev/null
    else
        wait "${DAEMON[$host]}" 2>/dev/null
        status=$?
        SELF_EXITS="$SELF_EXITS $host:$status"
    fi
}

unfinished() { sql "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')"; }
done_jobs() { sql "SELECT count(*) FROM jobs WHERE state = 'done'"; }
pause() { sleep "$(python3 -c "import random, sys; random.seed(int(sys.argv[1])); print(round(random.uniform(float(sys.argv[2]), float(sys.argv[3])), 2))" "$RANDOM" "$1" "$2")"; }

# MARK: - One run

run_with_wait() {
    WAIT="$1"
    DATABASE="focus_wait_$WAIT"
    URL="postgres://focus@$DB_ADDRESS:5432/$DATABASE"
    RUN="$WORK/wait-$WAIT"
    echo "== affinity wait $WAIT s: $JOBS jobs over 10 documents, 3 hosts, lease $LEASE s, batch 4"
    psql_run postgres "CREATE DATABASE $DATABASE" >/dev/null || { fail "cannot create $DATABASE"; return; }
    for host in "${HOSTS[@]}"; do mkdir -p "$RUN/$host/store"; done
    local out
    out=$(cd "$WORK/inputs" && ip netns exec "$(hostns host1)" "$FOCUS" submit --db "$URL" --model "$MODEL" \
        --batch jobs.jsonl --mode stored --gen-length 4 --block-length 4 --steps 4 --max-attempts 20 2>&1) \
        || { fail "submit: $out"; return; }
    local submitted
    submitted=$(sql "SELECT count(*) FROM jobs")
    [[ $submitted == "$JOBS" ]] || fail "submitted $submitted jobs, expected $JOBS"

    local started=$SECONDS kills=0 partitioned="" cut_owner="" cut_attempts="" cut_at=0 restored_at=0 held_at_cut="" cut_seconds=$((LEASE * 5 / 2))
    SELF_EXITS=""
    for host in "${HOSTS[@]}"; do start_daemon "$host"; done
    while [[ $(unfinished) != 0 && $((SECONDS - started)) -lt 900 ]]; do
        pause 1.5 4
        # The cut: once a quarter is done, a host holding a running job loses its link for 2.5 leases.
        if [[ -z $partitioned && $(done_jobs) -ge $((JOBS / 4)) ]]; then
            for host in "${HOSTS[@]}"; do
                # Cut first, then look: what it held at that moment can no longer be completed in time.
                ip -n "$SWITCH" link set "p$host" down
                held_at_cut=$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM jobs
                                   WHERE state = 'running' AND lease_owner LIKE '$host:%'")
                if [[ -z $held_at_cut ]]; then ip -n "$SWITCH" link set "p$host" up; continue; fi
                partitioned=$host
                cut_owner=$(sql "SELECT min(lease_owner) FROM jobs WHERE id IN ($held_at_cut)")
                cut_attempts=$(sql "SELECT string_agg(id || ':' || attempt, ' ') FROM jobs WHERE id IN ($held_at_cut)")
                cut_at=$SECONDS
                echo "  cut $host's link at $((SECONDS - started)) s, holding jobs $held_at_cut"
                break
            done
        fi
        if [[ -n $partitioned && $cut_at -gt 0 && $((SECONDS - cut_at)) -ge $cut_seconds ]]; then
            ip -n "$SWITCH" link set "p$partitioned" up
            echo "  restored $partitioned's link after $((SECONDS - cut_at)) s"
            cut_at=-1
            restored_at=$SECONDS
        fi
        local victim=${HOSTS[$((RANDOM % 3))]}
        # The partitioned host is left alone until its late result has arrived (and been refused).
        if [[ $victim == "$partitioned" ]]; then
            [[ $cut_at -gt 0 ]] && continue
            if ! grep -qE 'fenced out|abandoned' "$RUN/$partitioned/daemon.log" \
                && [[ $((SECONDS - restored_at)) -lt 90 ]]; then continue; fi
        fi
        kill_daemon "$victim"
        kills=$((kills + 1))
        pause 0.2 1
        start_daemon "$victim"
    done
    if [[ -n $partitioned && $cut_at -gt 0 ]]; then ip -n "$SWITCH" link set "p$partitioned" up; fi
    local drained=$((SECONDS - started))
    # The restored host may still be waiting on its connection's retransmissions: give its late
    # answer time to arrive (and be refused) before stopping it.
    if [[ -n $partitioned ]]; then
        for _ in $(seq 60); do
            grep -qE 'fenced out|abandoned' "$RUN/$partitioned/daemon.log" && break
            sleep 1
        done
    fi
    # A daemon started a moment ago may not have installed its signal handlers yet.
    sleep 2
    for host in "${HOSTS[@]}"; do kill -TERM "${DAEMON[$host]}" 2>/dev/null; done
    for host in "${HOSTS[@]}"; do
        local pid=${DAEMON[$host]} status
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then fail "$host's daemon still running 10 s after SIGTERM"; kill -9 "$pid"; fi
        wait "$pid"
        status=$?
        [[ $status == 0 ]] || fail "$host's daemon exited $status after SIGTERM (see $RUN/$host/daemon.log)"
        unset "DAEMON[$host]"
    done
    echo "  drained in $drained s with $kills kill -9"
    [[ -z $SELF_EXITS ]] || fail "wait $WAIT: daemons exited by themselves (host:status):$SELF_EXITS"

    check_run "$partitioned" "$held_at_cut" "$cut_owner" "$cut_attempts"
    report_prefills
}

check_run() {
    local partitioned="$1" held="$2" owner="$3" attempts_at_cut="$4"
    local states results distinct metrics running attempts
    states=$(sql "SELECT string_agg(state || '=' || n, ' ' ORDER BY state) FROM (SELECT state, count(*) AS n FROM jobs GROUP BY state) s")
    [[ "$states" == "done=$JOBS" ]] || fail "wait $WAIT: job states are '$states', expected done=$JOBS"
    results=$(sql "SELECT count(*) FROM results")
    distinct=$(sql "SELECT count(DISTINCT job_id) FROM results")
    metrics=$(sql "SELECT count(*) FROM job_metrics")
    running=$(sql "SELECT count(*) FROM jobs WHERE state = 'running'")
    [[ $results == "$JOBS" && $distinct == "$JOBS" ]] || fail "wait $WAIT: $results results for $distinct jobs, expected $JOBS"
    [[ $metrics == "$JOBS" ]] || fail "wait $WAIT: $metrics metrics rows, expected $JOBS"
    [[ $running == 0 ]] || fail "wait $WAIT: $running jobs left running"
    attempts=$(sql "SELECT sum(attempt) || ' attempts, max ' || max(attempt) || ', ' || count(*) FILTER (WHERE attempt > 1) || ' jobs retaken' FROM jobs")
    echo "  states: $states | results $results (distinct $distinct), metrics $metrics, running $running; $attempts"
    local took
    took=$(cat "$RUN"/*/daemon.log | grep -c 'took back the jobs of dead workers')
    echo "  $took restarts took back a killed daemon's jobs at once (same host)"
    if [[ -z $partitioned ]]; then
        fail "wait $WAIT: no host held a running job when the link was to be cut"
        return
    fi
    local refused abandoned finished_elsewhere
    refused=$(grep -c 'fenced out' "$RUN/$partitioned/daemon.log")
    abandoned=$(grep -c 'job abandoned' "$RUN/$partitioned/daemon.log")
    # Each job held at the cut was done by a later attempt (another worker's, or the same
    # worker's new claim after the link came back): the cut-off attempt wrote nothing.
    local pair finished_elsewhere=0
    for pair in $attempts_at_cut; do
        [[ $(sql "SELECT count(*) FROM jobs WHERE id = ${pair%%:*} AND state = 'done' AND attempt > ${pair##*:}") == 1 ]] \
            && finished_elsewhere=$((finished_elsewhere + 1))
    done
    local count
    count=$(awk -F, '{print NF}' <<<"$held")
    [[ $((refused + abandoned)) -ge 1 ]] || fail "wait $WAIT: $partitioned's late result was not refused (no fenced-out line in its log)"
    [[ $finished_elsewhere == "$count" ]] || fail "wait $WAIT: $finished_elsewhere of the $count jobs held at the cut were done by a later attempt"
    echo "  partition: $owner held $count job(s); after the link came back $refused result(s) fenced out, $abandoned abandoned on a lost lease; $finished_elsewhere/$count done once by a later attempt"
}

# Hosts that prefilled each document: store entries (one per document: same text, model and
# settings give the same key on every host), and the database's answers without a store hit.
report_prefills() {
    local listing="$RUN/entries.txt"
    : >"$listing"
    for host in "${HOSTS[@]}"; do
        ls "$RUN/$host/store" | grep -E '^[0-9a-f]{64}$' | sed "s/^/$host /" >>"$listing"
    done
    python3 - "$listing" "$WAIT" <<'PY'
import collections, sys
hosts = collections.defaultdict(set)
for line in open(sys.argv[1]):
    host, key = line.split()
    hosts[key].add(host)
counts = sorted(len(h) for h in hosts.values())
total = sum(counts)
mean = total / len(counts) if counts else 0
print(f"  prefills (store entries): {len(counts)} documents, {total} in all, mean {mean:.2f} hosts per document "
      f"(per document: {' '.join(map(str, counts))})")
print(f"MULTIHOST wait={sys.argv[2]} documents={len(counts)} prefills_total={total} hosts_per_document_mean={mean:.2f}")
PY
    local db_counts
    db_counts=$(sql "SELECT count(*) || ' prefilling answers, ' || count(DISTINCT (j.document_id, split_part(j.lease_owner, ':', 1)))
                     || ' document-host pairs' FROM jobs j JOIN job_metrics m ON m.job_id = j.id WHERE m.store_hit = false")
    echo "  prefills (database): $db_counts"
    echo "  holdings at the end: $(sql "SELECT string_agg(split_part(store_id, ':', 1) || '=' || n, ' ' ORDER BY store_id)
                                        FROM (SELECT store_id, count(*) AS n FROM worker_documents GROUP BY store_id) s")"
}

for wait in $WAITS; do run_with_wait "$wait"; done

if [[ $FAILURES == 0 ]]; then
    echo "multihost: all checks passed"
else
    echo "multihost: $FAILURES check(s) failed"
    exit 1
fi
