# vtsim: one plain, non-recursive Makefile (variants re-invoke it with another BUILD directory).
#
#   make            build bin/sim
#   make run        build, then simulate scenarios/heavy-load.scn
#   make check      every test: unit suites (also under ASan+UBSan), scenario expectations,
#                   gcc-vs-clang determinism, a short fuzz of the scenario parser
#   make check-long what is too slow for CI: long fuzzing, long scenarios
#   make bench      benchmarks; prints events/s, reads/s, RSS
#   make asan       ASan+UBSan build of the tests, and run them
#   make fuzz       libFuzzer target for the scenario parser (FUZZ_SECONDS, default 60)
#   make clean      remove build outputs

CC      ?= cc
BUILD   ?= build/release
BIN     ?= bin/sim

STD     = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith \
          -Wformat=2 -Wundef -Wvla -Wconversion -Wno-sign-conversion
# No FMA contraction and no fast-math: floating-point draws must be bit-identical across compilers.
FP      = -ffp-contract=off -fno-fast-math
OPT     ?= -O2
DEBUG   ?= -g
ifeq ($(CI),true)
WERROR  = -Werror
endif
CPPFLAGS += -Isim -Imodels -I$(BUILD)/gen -MMD -MP
# Threads: bin/sim writes the results database from a thread of its own (sim/writer.c).
THREADS = -pthread
ALL_CFLAGS = $(STD) $(WARN) $(WERROR) $(FP) $(OPT) $(DEBUG) $(THREADS) $(EXTRA_CFLAGS) $(CFLAGS)

# Dependencies come through pkg-config; .ci/deps installs what is missing.
DEPS_OK := $(shell .ci/deps >&2 && echo ok)
ifneq ($(DEPS_OK),ok)
$(error dependencies missing: see the message above (.ci/deps))
endif
CHECK_CFLAGS := $(shell pkg-config --cflags check)
CHECK_LIBS   := $(shell pkg-config --libs check)
SQLITE_CFLAGS := $(shell pkg-config --cflags sqlite3)
SQLITE_LIBS  := $(shell pkg-config --libs sqlite3)
LIBS    = $(SQLITE_LIBS) -lm -ldl

LIB_SRC  = $(filter-out sim/main.c,$(wildcard sim/*.c)) $(wildcard models/*.c) \
           $(wildcard models/guest/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/check_*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)
SUITES   = $(filter-out main,$(patsubst tests/check_%.c,%,$(TEST_SRC)))

.PHONY: ziggurat-tables gate baseline all run check check-unit check-cli check-scenarios check-determinism check-fuzz check-long \
        bench asan fuzz clean
.DEFAULT_GOAL := all

# Build bin/sim.
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SQLITE_CFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/libvtsim.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/sim/main.o $(BUILD)/libvtsim.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -rdynamic -o $@ $^ $(LIBS)

# The report's built-in gnuplot templates: reports/<name>.gp as C strings (a fallback for a
# bin/sim run without its source tree).
TEMPLATES = error divergence warps cdf timeline sweep
$(BUILD)/gen/report_templates.h: $(TEMPLATES:%=reports/%.gp) Makefile
	@mkdir -p $(dir $@)
	@{ for t in $(TEMPLATES); do \
		echo "static const char tpl_$$t[] ="; \
		sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' reports/$$t.gp; \
		echo ";"; echo; \
	done; } > $@.tmp && mv $@.tmp $@

$(BUILD)/sim/report.o: $(BUILD)/gen/report_templates.h

# The test runner's suite list, generated from the tests/check_<module>.c files present.
$(BUILD)/tests/suites.h: $(TEST_SRC) Makefile
	@mkdir -p $(dir $@)
	@{ for s in $(SUITES); do echo "SUITE($$s)"; done; } > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/check_main.o: $(BUILD)/tests/suites.h
$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -I$(BUILD)/tests -Itests $(CHECK_CFLAGS) $(SQLITE_CFLAGS) $(ALL_CFLAGS) \
		-Wno-missing-prototypes \
		-c $< -o $@

$(BUILD)/check_vtsim: $(TEST_OBJ) $(BUILD)/libvtsim.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -rdynamic -o $@ $^ $(CHECK_LIBS) $(LIBS)

# Build, then simulate the main scenario and write its report (reports/out/).
run: $(BIN)
	$(BIN) scenarios/heavy-load.scn
	$(BIN) report --scenario heavy-load

# Every test: unit suites, the same under ASan+UBSan, scenarios, determinism, short fuzz, and
# the readers' native build (the benchmark baseline must keep compiling).
check: check-unit check-cli asan check-scenarios gate check-determinism check-fuzz \
	$(BUILD)/native-bench

# The Check unit suites (CK_RUN_SUITE=name runs one).
check-unit: $(BUILD)/check_vtsim $(BIN)
	VTSIM_BIN=$(abspath $(BIN)) $(BUILD)/check_vtsim

# bin/sim's command line: exit codes, messages, --json, --trace.
check-cli: $(BIN)
	tests/cli.sh $(BIN)
	tests/calc.sh $(BIN)
	sh tests/sweep.sh $(BIN)

# Every scenario's expectations (exit 0 from bin/sim), results stored in build/scenarios.db.
check-scenarios: $(BIN)
	tests/run-scenarios.sh $(BIN)

# The regression gate: every scenario's expectations, and every metric against the committed
# baseline (scenarios/baseline.tsv); prints what changed.
gate: $(BIN)
	tests/gate.sh $(BIN)

# Rewrite the baseline on purpose (review the diff before committing it).
baseline: $(BIN)
	tests/gate.sh $(BIN) scenarios/baseline.tsv --update

# The same scenarios built with gcc and with clang must print bit-identical results.
check-determinism: $(BIN)
	tests/determinism.sh $(BIN)

# A short bounded run of the scenario parser fuzzer over its seed corpus.
check-fuzz:
	tests/fuzz.sh 20

# What is too slow for CI: long fuzzing, long-duration scenarios.
check-long: check
	tests/fuzz.sh 600
	tests/run-scenarios.sh $(BIN) --long

# ASan+UBSan build of the tests and bin/sim, then run the unit suites and the scenarios with it.
asan:
	$(MAKE) --no-print-directory BUILD=build/asan BIN=build/asan/bin/sim OPT=-O1 \
		EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" check-unit check-cli check-scenarios

# libFuzzer target for the scenario parser (clang; falls back to a built-in driver).
fuzz:
	tests/fuzz.sh $${FUZZ_SECONDS:-60}

# Benchmarks: simulated events/s and guest reads/s, RSS growth with duration, and the native
# cost of the same reader sources built against the native environment.
bench: $(BIN) $(BUILD)/native-bench
	bench/run.sh $(BIN) $(BUILD)/native-bench

# The reader sources built with -DVT_ENV_NATIVE (real rdtsc, fences, page).
NATIVE_SRC = bench/native.c $(wildcard models/guest/*.c) sim/opts.c
$(BUILD)/native-bench: $(NATIVE_SRC) $(wildcard models/guest/*.h models/abi/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(WARN) $(WERROR) -O2 -DVT_ENV_NATIVE -Isim -Imodels -o $@ $(NATIVE_SRC)

# Regenerate sim/ziggurat.h (the exponential sampler's tables) from det_exp/det_log.
ziggurat-tables:
	@mkdir -p build/gen
	$(CC) $(STD) -O1 $(FP) -DVT_ZIGGURAT_GEN -Isim -o build/gen/gen_ziggurat tests/gen_ziggurat.c \
		sim/rng.c -lm
	build/gen/gen_ziggurat > sim/ziggurat.h

# Remove build outputs.
clean:
	rm -rf build bin reports/out

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BUILD)/sim/main.d
