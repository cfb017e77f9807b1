# pg_rag — the two commands a new machine needs (as root on Debian 12):
#   make run    install dependencies, build, install, start a local cluster with the extension
#   make test   install dependencies, build, install, and run every test
# Other targets: deps, build, install, stop, bench, bench-sql, eval, clean.

BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build install test run stop bench bench-sql eval clean

all: build

deps:
	bash docker/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

install: build
	cmake --install $(BUILD) >/dev/null

test: install
	bash tests/run-all.sh

run: install
	bash docker/run-local.sh start

stop:
	bash docker/run-local.sh stop

bench: build
	$(BUILD)/bench_kernels --benchmark_min_time=0.2
	$(BUILD)/bench_embeddings
	$(BUILD)/bench_chunking

bench-sql: install
	bash bench/sql/run.sh knn
	bash bench/sql/run.sh ingest
	bash bench/sql/run.sh search

eval: install
	bash bench/eval/run.sh

clean:
	rm -rf $(BUILD)
