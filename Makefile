# sbx — one non-recursive Makefile. `make run` and `make test` do all set-up on a fresh Debian
# machine (they depend on `deps`, which apt-get installs only what is missing).
#
# Variables: BUILD (output dir, default build), SANITIZE=address,undefined, DEBUG=1, CC=clang,
# V=1 (show commands), FUZZ_SECONDS (make fuzz).

BUILD ?= build
CC ?= cc
V ?= 0
Q := $(if $(filter 1,$(V)),,@)

PKGS := libuv jansson sqlite3 libseccomp libmnl libnftables libcrypto libcurl zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhttp_parser

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wimplicit-fallthrough -Wundef -Wno-unused-parameter
HARDEN := -fstack-protector-strong -fstack-clash-protection -fPIE
BASE_CFLAGS := -std=gnu17 -D_GNU_SOURCE -g -pipe -Isrc -Iinclude $(WARN) $(HARDEN) -MMD -MP
ifeq ($(DEBUG),1)
OPT := -O0
else
OPT := -O2
endif
ifneq ($(SANITIZE),)
SAN_FLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifneq ($(DEBUG),1)
OPT += -D_FORTIFY_SOURCE=3
endif
CFLAGS_ALL = $(BASE_CFLAGS) $(OPT) $(SAN_FLAGS) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = -pie -Wl,-z,relro,-z,now,-z,noexecstack $(SAN_FLAGS) $(LDFLAGS)

# Sources. Every directory's *.c is compiled; main files are listed explicitly.
COMMON_SRCS := $(wildcard src/common/*.c)
PROTO_SRCS := $(wildcard src/proto/*.c)
CORE_SRCS := $(COMMON_SRCS) $(PROTO_SRCS) $(wildcard src/store/*.c src/template/*.c \
	src/sandbox/*.c src/proxy/*.c src/api/*.c) $(filter-out src/daemon/main.c,$(wildcard src/daemon/*.c))
CLI_SRCS := $(wildcard src/cli/*.c)
AGENT_SRCS := $(wildcard src/agent/*.c) $(COMMON_SRCS) $(PROTO_SRCS)

# The client library (libsbx): its own objects plus common/ and proto/, compiled position-
# independent with hidden visibility; only SBX_PUBLIC symbols are exported (version script).
LIB_SRCS := $(wildcard src/lib/*.c)
LIB_ALL_SRCS := $(LIB_SRCS) $(COMMON_SRCS) src/proto/connect.c
LIB_OBJS := $(LIB_ALL_SRCS:%.c=$(BUILD)/lib-obj/%.o)
LIB_PKGS := libcurl jansson
LIB_LIBS = $(shell pkg-config --libs $(LIB_PKGS) 2>/dev/null) -lpthread
LIB_STATIC := $(BUILD)/libsbx.a
LIB_SHARED := $(BUILD)/libsbx.so.0
LIB_INTERNAL := $(BUILD)/libsbx-internal.a

CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/agent-obj/%.o)
CORE_LIB := $(BUILD)/libsbx-core.a

UNIT_SRCS := $(wildcard tests/unit/*/test-*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
HARNESS_OBJ := $(BUILD)/obj/tests/harness/test-main.o
FUZZ_SRCS := $(filter-out tests/fuzz/fuzz-main.c,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-replay/%,$(FUZZ_SRCS))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
LIBTEST_SRCS := $(wildcard tests/lib/test-*.c)
LIBTEST_BINS := $(patsubst tests/lib/%.c,$(BUILD)/lib-tests/%,$(LIBTEST_SRCS))
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))
TOOL_SRCS := $(wildcard tests/helpers/*.c)
TOOL_BINS := $(patsubst tests/helpers/%.c,$(BUILD)/helpers/%,$(TOOL_SRCS))

.PHONY: all deps run test test-unit test-valgrind fuzz check format check-format \
	check-layers check-headers compdb clean bench examples
.DEFAULT_GOAL := all

all: $(BUILD)/sbx $(BUILD)/sbx-agent $(LIB_SHARED) $(LIB_STATIC)

deps:
	$(Q)tools/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

# The agent is linked statically and runs inside sandboxes: no sanitizers, plain -O2.
AGENT_CFLAGS = $(BASE_CFLAGS) -O2 $(shell pkg-config --cflags libuv jansson 2>/dev/null) $(CFLAGS)
$(BUILD)/agent-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $< (agent)")
	$(Q)$(CC) $(AGENT_CFLAGS) -c $< -o $@

$(BUILD)/lib-obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $< (lib)")
	$(Q)$(CC) $(CFLAGS_ALL) -fPIC -fvisibility=hidden -DSBX_BUILDING_LIBRARY -c $< -o $@

# The static archive is one relocatable object whose hidden symbols are made local, so that
# common/ and proto/ names cannot clash with a program's own.
$(LIB_STATIC): $(LIB_OBJS)
	$(if $(Q),@echo "  AR      $@")
	$(Q)ld -r -o $(BUILD)/libsbx-all.o $^ && objcopy --localize-hidden $(BUILD)/libsbx-all.o \
		&& rm -f $@ && ar rcs $@ $(BUILD)/libsbx-all.o

$(LIB_SHARED): $(LIB_OBJS) src/lib/libsbx.sym
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,libsbx.so.0 -Wl,--version-script=src/lib/libsbx.sym \
		-Wl,-z,relro,-z,now,-z,noexecstack,-z,defs $(SAN_FLAGS) -o $@ $(LIB_OBJS) $(LIB_LIBS)
	$(Q)ln -sf libsbx.so.0 $(BUILD)/libsbx.so

# Unit tests of the library's internals link its objects unlocalised.
$(LIB_INTERNAL): $(LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/sbx: $(BUILD)/obj/src/daemon/main.o $(CLI_OBJS) $(LIB_STATIC) $(CORE_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lpthread

$(BUILD)/sbx-agent: $(AGENT_OBJS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) -static-pie -Wl,-z,relro,-z,now,-z,noexecstack -o $@ $^ \
		/usr/lib/x86_64-linux-gnu/libuv_a.a /usr/lib/x86_64-linux-gnu/libjansson.a \
		/usr/lib/x86_64-linux-gnu/libhttp_parser.a /usr/lib/x86_64-linux-gnu/libcrypto.a \
		/usr/lib/x86_64-linux-gnu/libz.a -lpthread -ldl

$(BUILD)/unit/%: tests/unit/%.c $(HARNESS_OBJ) $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests -Itests/harness $(LDFLAGS_ALL) -o $@ $< $(HARNESS_OBJ) $(CORE_LIB) $(PKG_LIBS)

# Unit tests of src/lib reach its internals.
$(BUILD)/unit/lib/%: tests/unit/lib/%.c $(HARNESS_OBJ) $(LIB_INTERNAL)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests -Itests/harness $(LDFLAGS_ALL) -o $@ $< $(HARNESS_OBJ) $(LIB_INTERNAL) $(LIB_LIBS)

# Library tests use the public API only, through the static archive, like any program. The
# allocation-failure test wraps malloc and friends (its own __wrap_* functions).
$(BUILD)/lib-tests/test-alloc-fail: LIBTEST_LDFLAGS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup,--wrap=strndup
$(BUILD)/lib-tests/%: tests/lib/%.c $(wildcard tests/lib/*.h) $(LIB_STATIC)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  TEST    $@")
	$(Q)$(CC) $(CFLAGS_ALL) -Itests/lib $(LDFLAGS_ALL) $(LIBTEST_LDFLAGS) -o $@ $< $(LIB_STATIC) $(LIB_LIBS)

# Examples build against the shared library, as a user's program would.
$(BUILD)/examples/%: examples/%.c $(LIB_SHARED) include/sbx/sbx.h
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $@")
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -O2 -Iinclude $(SAN_FLAGS) -o $@ $< -L$(BUILD) -lsbx \
		-Wl,-rpath,$(abspath $(BUILD))

examples: $(EXAMPLE_BINS)

$(BUILD)/helpers/%: tests/helpers/%.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< $(CORE_LIB) $(PKG_LIBS)

# Corpus replay: each fuzz target linked with a standalone main() that feeds it every file given.
$(BUILD)/fuzz-replay/%: tests/fuzz/%.c tests/fuzz/fuzz-main.c $(CORE_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS_ALL) -Itests $(LDFLAGS_ALL) -o $@ $< tests/fuzz/fuzz-main.c $(CORE_LIB) $(PKG_LIBS)

test-unit: $(UNIT_BINS) $(FUZZ_REPLAY_BINS) $(TOOL_BINS) $(LIBTEST_BINS) $(EXAMPLE_BINS)

# make test: deps, then a sanitizer build in build/test, then every suite.
test: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/test SANITIZE=address,undefined all test-unit
	$(Q)BUILD=build/test tests/harness/run-all.sh

# Unit tests and corpus replay under valgrind, then the library's programs against a daemon
# (they need one, so they run through tests/integration/test-lib.sh with valgrind as wrapper).
VALGRIND_LIB := valgrind -q --leak-check=full --error-exitcode=99 --suppressions=tools/valgrind.supp
test-valgrind: deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/valgrind DEBUG=1 all test-unit
	$(Q)BUILD=build/valgrind VALGRIND=1 tests/harness/run-all.sh unit fuzz
	$(Q)SBX_LIB_TEST_WRAPPER="$(VALGRIND_LIB)" SBX_ALLOC_FAIL_SECONDS=60 BUILD=build/valgrind \
		tests/harness/run-all.sh lib

run: deps all
	$(Q)exec $(BUILD)/sbx serve $(SBX_ARGS)

FUZZ_SECONDS ?= 60
# libFuzzer builds: the core archive again with clang, sanitizers and fuzzer coverage
# instrumentation (its own BUILD dir), then each target linked with -fsanitize=fuzzer. The
# archive is re-made on every run (FORCE) so that targets relink when product code changed.
# tests/fuzz/run-fuzz.sh runs them: crashes go to $(BUILD)/fuzz/<name>-crash-*, new corpus
# entries to $(BUILD)/fuzz/corpus-<name>/ (merge useful ones into tests/fuzz/corpus/<name>/).
FUZZ_LIB := $(BUILD)/fuzz-lib/libsbx-core.a
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
.PHONY: FORCE
FORCE:
$(FUZZ_LIB): FORCE
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz-lib CC=clang SANITIZE=address,undefined \
		CFLAGS="-fsanitize=fuzzer-no-link" $@
$(BUILD)/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZ    $@")
	$(Q)clang $(BASE_CFLAGS) -O1 -Itests $(FUZZ_SAN) $(PKG_CFLAGS) \
		-o $@ $< $(FUZZ_LIB) $(PKG_LIBS)

fuzz: deps $(FUZZ_BINS)
	$(Q)tests/fuzz/run-fuzz.sh $(BUILD) $(FUZZ_SECONDS) $(FUZZ_BINS)

format:
	$(Q)clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	$(Q)clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

check-layers:
	$(Q)tools/check-layers.sh

check-headers:
	$(Q)for h in $$(git ls-files 'src/*.h' 'include/*.h'); do \
		echo "#include \"$${h#src/}\"" | $(CC) $(BASE_CFLAGS) -MF /dev/null $(PKG_CFLAGS) -Isrc -x c -fsyntax-only - || exit 1; done
	$(Q)echo '#include <sbx/sbx.h>' | $(CC) -std=c99 -pedantic -Werror -Iinclude -x c -fsyntax-only -
	$(Q)echo '#include <sbx/sbx.h>' | g++ -std=c++11 -pedantic -Werror -Iinclude -x c++ -fsyntax-only -

check: check-format check-layers check-headers test

compdb:
	$(Q)bear -- $(MAKE) -B all

# The create benchmark: a raw-HTTP load generator against a daemon that run.sh starts.
$(BUILD)/bench-create: bench/create/bench-create.c bench/common/bench-util.c $(CORE_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< bench/common/bench-util.c $(CORE_LIB) $(PKG_LIBS) -lpthread

# The exec and files benchmarks: raw-HTTP load generators built the same way.
$(BUILD)/bench-exec: bench/exec/bench-exec.c bench/common/bench-util.c $(CORE_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< bench/common/bench-util.c $(CORE_LIB) $(PKG_LIBS) -lpthread

$(BUILD)/bench-files: bench/files/bench-files.c bench/common/bench-util.c $(CORE_LIB)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS_ALL) $(LDFLAGS_ALL) -o $@ $< bench/common/bench-util.c $(CORE_LIB) $(PKG_LIBS) -lpthread

bench: all $(BUILD)/bench-create $(BUILD)/bench-exec $(BUILD)/bench-files
	$(Q)BUILD=$(BUILD) bench/create/run.sh
	$(Q)BUILD=$(BUILD) bench/exec/run.sh
	$(Q)BUILD=$(BUILD) bench/files/run.sh

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj $(BUILD)/agent-obj $(BUILD)/lib-obj $(BUILD)/unit $(BUILD)/helpers $(BUILD)/fuzz-replay -name '*.d' -type f 2>/dev/null)
