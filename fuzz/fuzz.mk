# fuzz.mk - builds the libFuzzer harnesses with clang (GNU make; `make fuzz` runs it with the configured compiler and libraries).
#
# The engine's C sources are compiled again into $(OUT) with
# AddressSanitizer, UndefinedBehaviorSanitizer (every report fatal) and
# libFuzzer's coverage, so the harnesses see each branch they drive; they
# link the system's OpenBLAS and cJSON as the program does.
#
# Variables: FUZZ_CC (clang), top_srcdir, OUT (fuzz/build), ENGINE_SOURCES
# (the engine library's sources, from Makefile.am), DEFS, OPENBLAS_CFLAGS,
# OPENBLAS_LIBS, CJSON_CFLAGS, CJSON_LIBS, FUZZ_CFLAGS (-g -O1).

FUZZ_CC ?= clang
top_srcdir ?= .
OUT ?= fuzz/build
FUZZ_CFLAGS ?= -g -O1

SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined
# A harness calling a function whose signature moved on must not build.
ALL_CFLAGS = -std=c11 -Wall -Wextra -Werror=incompatible-pointer-types \
	-Werror=implicit-function-declaration -Werror=int-conversion \
	-fno-omit-frame-pointer $(FUZZ_CFLAGS) \
	$(SANITIZE) -I$(top_srcdir)/src -I$(top_srcdir)/fuzz $(DEFS) \
	-DRNNLAB_DATADIR='"/nonexistent"' \
	-DFUZZ_DATA_DIR='"$(abspath $(top_srcdir))/tests/data"' \
	$(OPENBLAS_CFLAGS) $(CJSON_CFLAGS) -pthread
ALL_LIBS = $(OPENBLAS_LIBS) $(CJSON_LIBS) -pthread -lm

vpath %.c $(top_srcdir)

# A CUDA build lists the .cu backend and its helpers in C; the harnesses
# run on the CPU, with the stub that answers "no device".  An MPI build
# lists dist_mpi.c, which needs MPI's headers and libraries: the harnesses
# run as one process, with the one-process stand-in.
CUDA_C = src/backend/cuda/cuda_dl.c src/backend/cuda/cuda_coll_none.c
ENGINE_C = $(filter-out src/dist/dist_mpi.c $(CUDA_C),$(filter %.c,$(ENGINE_SOURCES))) \
	$(if $(filter %.cu,$(ENGINE_SOURCES)),src/backend/cuda/cuda_none.c) \
	$(if $(filter src/dist/dist_mpi.c,$(ENGINE_SOURCES)),src/dist/dist_none.c)
ENGINE_O = $(patsubst %.c,$(OUT)/%.o,$(ENGINE_C))
ENGINE_A = $(OUT)/libengine.a

HARNESSES = safetensors session_json session_files cmd text tok serve embfile
PROGRAMS = $(patsubst %,$(OUT)/fuzz_%,$(HARNESSES))

# What each harness links besides the engine.
safetensors_O = fuzz/safetensors.o fuzz/common.o
session_json_O = fuzz/session_json.o fuzz/session_base.o fuzz/common.o
session_files_O = fuzz/session_files.o fuzz/session_base.o fuzz/common.o
cmd_O = fuzz/cmd.o src/ui/cmd.o fuzz/common.o
text_O = fuzz/text.o fuzz/common.o
tok_O = fuzz/tok.o fuzz/common.o
serve_O = fuzz/serve.o src/serve/params.o fuzz/common.o
embfile_O = fuzz/embfile.o fuzz/common.o

# The tar reader of uploads (kept apart to merge easily).
HARNESSES += untar
untar_O = fuzz/untar.o fuzz/common.o

HARNESS_O = $(sort $(foreach h,$(HARNESSES),$(addprefix $(OUT)/,$($(h)_O))))

# The objects are named here so that make keeps them between builds.
all: $(HARNESS_O) $(PROGRAMS)

$(ENGINE_A): $(ENGINE_O)
	@rm -f $@
	@echo "  AR       $@"
	@ar cr $@ $^

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  FUZZCC   $@"
	@$(FUZZ_CC) $(ALL_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_COVERAGE) -MMD -MP -c -o $@ $<

# The character tokenizer walks a bitmap of every code point for each
# vocabulary it builds: with its comparisons traced that walk is nine
# tenths of a run.
$(OUT)/src/text/tok_char.o: FUZZ_COVERAGE = -fno-sanitize-coverage=trace-cmp

.SECONDEXPANSION:
$(OUT)/fuzz_%: $$(addprefix $(OUT)/,$$($$*_O)) $(ENGINE_A)
	@echo "  FUZZLD   $@"
	@$(FUZZ_CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(ALL_LIBS)

-include $(ENGINE_O:.o=.d) $(OUT)/fuzz/*.d $(OUT)/src/ui/*.d $(OUT)/src/serve/*.d

.PHONY: all
