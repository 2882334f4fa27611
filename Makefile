# focus — build, test, run and measure.
#   make run    build and answer the sample questions in jobs/ with the embedded default model
#   make test   build and run the test suite
#   make bench  benchmarks: numbers into bench-results/, a table on stdout
#   make eval   quality and speed of every decoding mode on the evaluation sets
#   make multihost  the queue on PostgreSQL with workers on three network-namespace hosts (root)

SWIFT        ?= swift
CONFIG       ?= release
SWIFT_FLAGS  ?= -c $(CONFIG) -Xswiftc -enable-testing
BIN          := .build/$(CONFIG)
MODEL        ?= models/focus-qa-small
DB           ?= .focus/demo.sqlite
STORE        ?= .focus/store
PACKAGES     := libsqlite3-dev liblz4-dev libopenblas-dev pkg-config sqlite3 postgresql postgresql-client
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: deps build test run bench eval reliability multihost clean

## Install the C libraries and PostgreSQL that are missing (idempotent; quiet when all are present).
## The tests start their own PostgreSQL server from /usr/lib/postgresql/<version>/bin.
deps:
	@missing=""; for p in $(PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" -ne 0 ]; then \
	        echo "missing packages:$$missing"; \
	        echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	    fi; \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product focus

test: deps
	$(SWIFT) test $(SWIFT_FLAGS)

## The main job: queue the sample questions, answer them with the embedded model, show results.
run: build
	@$(BIN)/focus submit --db $(DB) --model $(MODEL) --batch jobs/sample-questions.jsonl > /dev/null
	@$(BIN)/focus run --drain --batch 8 --db $(DB) --store $(STORE)
	@echo "== answers beside the expected ones (jobs/sample-answers.json)"
	@$(BIN)/focus results --db $(DB) --expected jobs/sample-answers.json
	@echo "== metrics by mode"
	@$(BIN)/focus metrics --db $(DB)

bench: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product focus
	$(SWIFT) build $(SWIFT_FLAGS) --product focus-bench
	@mkdir -p bench-results
	$(BIN)/focus-bench --out bench-results

eval: build
	bash jobs/eval/evaluate.sh

## kill -9 the worker at random moments over a batch of jobs; every job must end done exactly once.
reliability: build
	bash Tests/Reliability/kill9.sh

## PostgreSQL and three worker hosts in network namespaces: kill -9, a cut link, prefills per host
## with and without document affinity. Needs root; not part of `make test`.
multihost: build
	bash Tests/Reliability/multihost.sh

clean:
	rm -rf .build .focus bench-results
