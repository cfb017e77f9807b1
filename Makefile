# pg_rag — the two commands a new machine needs (as root on Debian 12):
#   make run    install dependencies, build, install, start a local cluster with the extension
#   make test   install dependencies, build, install, and run every test
# Other targets: deps, build, install, stop, bench, bench-sql, bench-server, eval, fuzz, clean.

BUILD ?= build
BUILD_FUZZ ?= build-fuzz
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# make fuzz FUZZ_SECONDS=600 also runs every target that long, one after another.
FUZZ_SECONDS ?=

.PHONY: all deps build install test run stop bench bench-sql bench-server eval fuzz clean

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
	$(BUILD)/bench_ann

bench-sql: install
	bash bench/sql/run.sh knn
	bash bench/sql/run.sh ingest
	bash bench/sql/run.sh search

# pg_rag_server under load and streaming, against libpq and the provider in the same run (bench/README.md).
bench-server: install
	bash bench/server/run.sh

eval: install
	bash bench/eval/run.sh

# libFuzzer targets (clang, ASan, UBSan) in their own build directory; see bench/README.md "Fuzzing".
fuzz: deps
	cmake -S tests/fuzz -B $(BUILD_FUZZ) -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD_FUZZ) -j$(JOBS)
	@if [ -n "$(FUZZ_SECONDS)" ]; then BUILD_FUZZ=$(BUILD_FUZZ) bash tests/fuzz/run.sh $(FUZZ_SECONDS); fi

clean:
	rm -rf $(BUILD) $(BUILD_FUZZ)
