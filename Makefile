# focus — build, test, run and measure.
#   make run    build and answer the sample questions in jobs/ with the embedded default model
#   make test   build and run the test suite
#   make bench  benchmarks: numbers into bench-results/, a table on stdout
#   make eval   quality and speed of every decoding mode on the evaluation sets

SWIFT        ?= swift
CONFIG       ?= release
SWIFT_FLAGS  ?= -c $(CONFIG) -Xswiftc -enable-testing
BIN          := .build/$(CONFIG)
MODEL        ?= models/focus-qa-small
DB           ?= .focus/focus.sqlite
PACKAGES     := libsqlite3-dev liblz4-dev libopenblas-dev pkg-config sqlite3
export OPENBLAS_NUM_THREADS ?= 2

.PHONY: deps build test run bench eval clean

## Install the C libraries that are missing (idempotent; quiet when all are present).
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

run: build
	@mkdir -p $(dir $(DB))
	$(BIN)/focus demo --model $(MODEL) --db $(DB) --batch jobs/sample-questions.jsonl

bench: deps
	$(SWIFT) build $(SWIFT_FLAGS) --product focus-bench
	@mkdir -p bench-results
	$(BIN)/focus-bench --out bench-results

eval: build
	bash training/run_eval.sh

clean:
	rm -rf .build .focus bench-results
