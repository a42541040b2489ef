# zeropt — build, test, bench, demo.
#
#   make            build/zeropt (mpicc, OpenBLAS, parallel HDF5, OpenMP; -O3 -march=native)
#   make test       every test; the last line is "N passed, N failed"
#   make bench      benchmarks (bench/RESULTS.md)
#   make profile    per-kernel shares of a step, with FLOPs and bytes (bench/NOTES.md)
#   make demo       the main job on a small real corpus
#   make deps       install the Debian packages (root) or list what is missing
#   make SAN=1 ...  ASan + UBSan build in build-san/
#   make CUDA=1     the CUDA backend too, in build-cuda/ (tests/gpu/run.sh on a GPU)
#
# The BLAS is one variable: BLAS=openblas (default; its OpenMP build), blis (Debian's
# libblis-openmp-dev), mkl (mkl_rt; MKLROOT for its headers), or BLAS=custom
# with your own BLAS_CFLAGS/BLAS_LIBS (Cray LibSci: BLAS_LIBS="" under the cc
# wrapper). `zeropt blas` and `make bench` say which library and kernels ran.
# oneDNN's sgemm sits beside the BLAS: DNNL=1 (default; Debian's libdnnl-dev)
# links it, and ZEROPT_SGEMM=onednn runs the model's products on it (1.06x
# OpenBLAS on AVX-512; opt-in, see kernels/cpu/gemm.c); DNNL=0 builds
# without it.
# Clusters bring their own toolchains: override MPICC, HDF5_CFLAGS/HDF5_LIBS,
# CUDA_HOME, NCCL_HOME.

MPICC       ?= mpicc
HDF5_PKG    ?= hdf5-openmpi
HDF5_CFLAGS ?= $(shell pkg-config --cflags $(HDF5_PKG) 2>/dev/null)
HDF5_LIBS   ?= $(shell pkg-config --libs $(HDF5_PKG) 2>/dev/null)
BLAS        ?= openblas
ifeq ($(BLAS),openblas)
# OpenBLAS's OpenMP build (Debian's libopenblas-openmp-dev), found by path
# before the system's default (the pthreads build) and kept by rpath: its
# threads are the kernels' OpenMP team, so the two never compete for the
# cores and idle threads may spin briefly (src/main.c). Where that build is
# absent, -lopenblas is the system's.
OPENBLAS_OMP ?= /usr/lib/$(shell gcc -print-multiarch)/openblas-openmp
BLAS_CFLAGS ?= $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   ?= -L$(OPENBLAS_OMP) -Wl,-rpath,$(OPENBLAS_OMP) -lopenblas
else ifeq ($(BLAS),blis)
BLIS_FLAVOUR ?= blis-openmp
BLAS_CFLAGS ?= -isystem /usr/include/$(shell gcc -print-multiarch)/$(BLIS_FLAVOUR)
BLAS_LIBS   ?= -L/usr/lib/$(shell gcc -print-multiarch)/$(BLIS_FLAVOUR) -lblis
else ifeq ($(BLAS),mkl)
MKLROOT     ?= /opt/intel/oneapi/mkl/latest
BLAS_CFLAGS ?= -isystem $(MKLROOT)/include -DZEROPT_MKL
BLAS_LIBS   ?= -L$(MKLROOT)/lib -Wl,-rpath,$(MKLROOT)/lib -lmkl_rt
else ifneq ($(BLAS),custom)
$(error BLAS=$(BLAS): expected openblas, blis, mkl or custom)
endif
DNNL        ?= 1
ifeq ($(DNNL),1)
DNNL_CFLAGS ?= -DZEROPT_DNNL
DNNL_LIBS   ?= -ldnnl
else ifneq ($(DNNL),0)
$(error DNNL=$(DNNL): expected 1 (link oneDNN's sgemm) or 0)
endif
INIH_LIBS   ?= -linih
LBFGS_LIBS  ?= -llbfgs
JSON_LIBS   ?= -ljansson
ZLIB_LIBS   ?= -lz
UTF8PROC_LIBS ?= -lutf8proc
# The CUDA backend: `make CUDA=1` builds build-cuda/ with kernels/cuda/*.cu
# (nvcc from CUDA_HOME; sm_80 and sm_90 code plus sm_90 PTX), cuBLASLt and
# the NCCL transport (mpi/comm_nccl.c). Without CUDA=1, kernels/cuda/none.c
# answers "built without CUDA". `make test` builds both when nvcc exists.
CUDA        ?= 0
CUDA_HOME   ?= /usr/local/cuda
NCCL_HOME   ?= $(CUDA_HOME)
NVCC        ?= $(CUDA_HOME)/bin/nvcc
CUDA_ARCH   ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
               -gencode arch=compute_90,code=compute_90

OPT      ?= -O3 -march=native
WARN     := -Wall -Wextra
ifeq ($(CI),true)
WARN     += -Werror
endif
ifeq ($(WERROR),1)
WARN     += -Werror
endif
BUILD    ?= build$(if $(filter-out openblas,$(BLAS)),-$(BLAS))$(if $(filter 0,$(DNNL)),-nodnnl)
ifeq ($(CUDA),1)
BUILD    := $(BUILD)-cuda
endif
ifeq ($(SAN)$(CUDA),11)
$(error SAN=1 and CUDA=1 together: the sanitizer build is CPU-only)
endif
ifeq ($(SAN),1)
SANITIZE := -fsanitize=address,undefined
OPT      := -O1 -g -fno-omit-frame-pointer $(SANITIZE) -fno-sanitize-recover=undefined
BUILD    := build-san
# plugins stay loaded so that leak reports name their libraries (tests/lib/lsan.supp);
# MPI_Init_thread, MPI_Finalize and PMIx's thread run with LeakSanitizer off (san_keep_modules.c)
SAN_OBJ  := $(BUILD)/tests/lib/san_keep_modules.o
SAN_LD   := -Wl,--export-dynamic-symbol=dlclose -Wl,--export-dynamic-symbol=pthread_create -Wl,--wrap=MPI_Init_thread -Wl,--wrap=MPI_Finalize
endif

CFLAGS   := -std=c11 -D_GNU_SOURCE -fno-math-errno $(OPT) $(WARN) -fopenmp -I. $(HDF5_CFLAGS) $(BLAS_CFLAGS) $(DNNL_CFLAGS)
LDLIBS   := $(HDF5_LIBS) $(BLAS_LIBS) $(DNNL_LIBS) $(INIH_LIBS) $(LBFGS_LIBS) $(JSON_LIBS) $(UTF8PROC_LIBS) $(ZLIB_LIBS) -lm
LDFLAGS  := -fopenmp $(SANITIZE) $(SAN_LD)

KERNEL_SRC := $(wildcard kernels/cpu/*.c)
LIB_SRC    := $(KERNEL_SRC) kernels/cuda/geometry.c $(filter-out mpi/comm_nccl%,$(wildcard mpi/*.c)) \
              $(wildcard io/*.c) $(wildcard src/*/*.c)
ifeq ($(CUDA),1)
NVCC_WARN  := -Xcompiler -Wall,-Wextra $(if $(filter -Werror,$(WARN)),-Werror all-warnings -Xcompiler -Werror)
# -fmad=false: the formulas round as the CPU build's (no contraction under
# -std=c11), so a GPU shard rounds exactly as a CPU shard would
NVCC_FLAGS := -std=c++17 -O3 -fmad=false -I. $(CUDA_ARCH) $(NVCC_WARN)
CUDA_CFLAGS := -isystem $(CUDA_HOME)/include -isystem $(NCCL_HOME)/include
CU_OBJ     := $(patsubst %.cu,$(BUILD)/%.o,$(wildcard kernels/cuda/*.cu)) $(BUILD)/mpi/comm_nccl.o
CUDA_LIBS  := -L$(NCCL_HOME)/lib64 -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lnccl \
              -lcublasLt -lcublas -lcudart -lstdc++
CUDA_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/cuda/*.c tests/gpu/*.c))
LDLIBS     += $(CUDA_LIBS)
else
LIB_SRC    += kernels/cuda/none.c mpi/comm_nccl_none.c
endif
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_OBJ)
# double-precision kernels, for the finite-difference tests only
# (the files written once for any element type, through real.h)
KERNEL_F64 := $(shell grep -l '"real.h"' $(KERNEL_SRC))
F64_OBJ    := $(KERNEL_F64:%.c=$(BUILD)/%_f64.o)
TEST_SRC   := $(wildcard tests/unit/*.c)
TEST_BIN   := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BIN  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
HDRS       := $(wildcard kernels/*.h kernels/cpu/*.h kernels/cuda/*.h mpi/*.h io/*.h src/*/*.h)
# the tests' own headers: a test binary is rebuilt when one changes
TEST_HDRS  := $(wildcard tests/lib/*.h)

.PHONY: cuda-bin fuzz all test test-run bench bench-ckpt bench-optim bench-precision bench-precision-speed bench-gemm bench-generate bench-attention bench-stability bench-extrapolation bench-objectives bench-quality bench-prep bench-filter profile demo demo-run deps clean format tests-bin
# keep the fp64 kernel objects (intermediates of a pattern rule) between builds
.SECONDARY:
all: $(BUILD)/zeropt

$(BUILD)/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) -c $< -o $@

$(BUILD)/%_f64.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) -DKERNELS_F64 -c $< -o $@

$(BUILD)/kernels/cuda/%.o: kernels/cuda/%.cu $(wildcard kernels/cuda/*.cuh) $(HDRS)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@

$(BUILD)/mpi/comm_nccl.o: mpi/comm_nccl.c $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(CUDA_CFLAGS) -c $< -o $@

# tests that need the CUDA build (tests/cuda: no GPU needed; tests/gpu: run by tests/gpu/run.sh)
$(BUILD)/tests/cuda/%: tests/cuda/%.c $(TEST_HDRS) $(BUILD)/libzeropt.a $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libzeropt.a -o $@ $(LDLIBS)
$(BUILD)/tests/gpu/%: tests/gpu/%.c $(TEST_HDRS) $(BUILD)/libzeropt.a $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(LDFLAGS) $< $(BUILD)/libzeropt.a -o $@ $(LDLIBS)

cuda-bin: $(BUILD)/zeropt $(CUDA_TESTS)

$(BUILD)/libzeropt.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/zeropt: $(BUILD)/src/main.o $(BUILD)/libzeropt.a $(SAN_OBJ)
	$(MPICC) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(TEST_HDRS) $(BUILD)/libzeropt.a $(F64_OBJ) $(SAN_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(LDFLAGS) $< $(F64_OBJ) $(SAN_OBJ) $(BUILD)/libzeropt.a -o $@ $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libzeropt.a $(SAN_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(LDFLAGS) $< $(SAN_OBJ) $(BUILD)/libzeropt.a -o $@ $(LDLIBS)

tests-bin: $(BUILD)/zeropt $(TEST_BIN)

# The libFuzzer target over the text readers and tokenizers (tests/fuzz/),
# built with clang through the MPI wrapper; tests/cli/test_fuzz.sh runs it
# for a bounded time, `make fuzz FUZZ_SECONDS=600` for longer.
FUZZ_SRC := tests/fuzz/fuzz_text.c src/prep/textdocs.c src/prep/clean.c src/prep/dedup.c \
            src/prep/quality.c $(wildcard src/tokenizer/*.c) mpi/err.c kernels/cpu/mem.c kernels/cpu/device.c
FUZZ_SECONDS ?= 60
build-fuzz/fuzz_text: $(FUZZ_SRC) $(HDRS)
	@mkdir -p $(dir $@)
	OMPI_CC=clang $(MPICC) -std=c11 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=undefined $(FUZZ_SRC) -o $@ -ljansson -lutf8proc -lz -lm
fuzz: build-fuzz/fuzz_text
	@mkdir -p build-fuzz/corpus
	build-fuzz/fuzz_text -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	  build-fuzz/corpus tests/fuzz/seeds

# `make test` and `make demo` are first commands on a fresh machine: the
# packages come first, then a second make reads this file again, so that
# pkg-config finds the HDF5 that deps has just installed.
test: deps
	@$(MAKE) --no-print-directory test-run

# With a CUDA toolkit at CUDA_HOME the CUDA build is made too (tests/cli/test_cuda.sh
# runs its no-GPU checks); without one that test says why it skips.
test-run: tests-bin
	@if [ -x "$(NVCC)" ]; then $(MAKE) --no-print-directory CUDA=1 SAN= cuda-bin; fi
	@BUILD=$(BUILD) SAN=$(SAN) bash tests/run.sh

bench: $(BUILD)/zeropt $(BENCH_BIN)
	@BUILD=$(BUILD) bash bench/run.sh

bench-ckpt: $(BUILD)/zeropt
	@BUILD=$(BUILD) bash bench/run.sh ckpt

bench-optim: $(BUILD)/zeropt # the optimizer options on the demo corpus (needs make demo first)
	@bash bench/optim_bench.sh

bench-precision: $(BUILD)/zeropt # bf16 against fp32 on the demo corpus (needs make demo first)
	@bash bench/precision_bench.sh

bench-gemm: $(BUILD)/bench/gemm_bench # one GPT-2 step's products through each sgemm provider and bf16
	@BUILD=$(BUILD) bash bench/gemm_bench.sh

bench-generate: $(BUILD)/zeropt # time per generated token along 1000 tokens, with and without the KV cache
	@BUILD=$(BUILD) bash bench/generate_bench.sh

bench-attention: $(BUILD)/bench/attn_bench # sliding-window vs full attention at T = 1024..4096
	@BUILD=$(BUILD) bash bench/attn_bench.sh

bench-stability: $(BUILD)/zeropt # a deep narrow model at a high lr: post- and pre-LN, plain, depth-scaled, DeepNorm init, warm-up
	@BUILD=$(BUILD) bash bench/stability_bench.sh

bench-objectives: $(BUILD)/zeropt # MLM variants, contrastive, length warm-up, continual on the demo corpus (needs make demo first)
	@BUILD=$(BUILD) bash bench/objectives_bench.sh

bench-prep: $(BUILD)/zeropt $(BUILD)/bench/tok_bench # tokenizers against HF tokenizers, prep MB/s at 1 and 2 ranks (HF_PY: a Python with tokenizers)
	@BUILD=$(BUILD) bash bench/prep_bench.sh

bench-filter: $(BUILD)/zeropt # the lecture's claim: the same model on a filtered and on a raw crawl, equal tokens
	@BUILD=$(BUILD) bash bench/filter_bench.sh

bench-quality: $(BUILD)/zeropt # the quality classifier against the fasttext package (FT_PY: a Python with it)
	@BUILD=$(BUILD) bash bench/quality_bench.sh

bench-extrapolation: $(BUILD)/zeropt # trained at T = 128, evaluated at 512: learned, ALiBi, T5, RoPE
	@BUILD=$(BUILD) bash bench/extrapolation_bench.sh

bench-precision-speed: $(BUILD)/zeropt # fp32 and bf16 tokens/s against PyTorch fp32 and bf16 autocast
	@bash bench/precision_speed.sh

profile: # where a step's time goes, kernel by kernel (bench/profile.sh; needs perf)
	@bash bench/profile.sh

# The demo: fortune files -> BPE vocabulary -> HDF5 corpus -> MLM training on
# 2 ranks -> the model's guesses for masked words of held-out fortunes. Each
# step is a command you can run by hand (README, "The demo").
FORTUNE_DIR ?= /usr/share/games/fortunes
DEMO        ?= runs/demo
DEMO_RANKS  ?= 2
MPIRUN      ?= mpirun
DEMO_ENV    := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 \
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
               OMPI_MCA_mpi_yield_when_idle=1
DEMO_ARGS   := -c configs/train/demo.ini run.dir=$(DEMO) data.path=$(DEMO)/corpus.h5
demo: deps
	@$(MAKE) --no-print-directory demo-run

demo-run: $(BUILD)/zeropt
	@mkdir -p $(DEMO)
	@inputs=$$(for f in $(FORTUNE_DIR)/*; do case $$f in *.dat|*.u8) ;; *) [ -f $$f ] && printf -- '--input %s ' $$f;; esac; done); \
	set -e; t0=$$(date +%s); \
	fix=$$($(BUILD)/zeropt blas --suggest); \
	if [ -n "$$fix" ]; then \
	  echo "== note: $$($(BUILD)/zeropt blas | sed -n 's/^note *//p')"; \
	  echo "== the demo runs with $$fix (set it yourself for your own runs; zeropt never does)"; \
	  export $$fix; \
	fi; \
	echo "== 1/5 tokenizer: byte-level BPE, 2048 tokens, from $(FORTUNE_DIR)"; \
	$(BUILD)/zeropt tokenizer train $$inputs --separator % --vocab-size 2048 --output $(DEMO)/tokenizer.json; \
	echo "== 2/5 corpus: one fortune = one document, 2% held out for validation"; \
	$(BUILD)/zeropt prep --tokenizer $(DEMO)/tokenizer.json $$inputs --separator % --val-fraction 0.02 --output $(DEMO)/corpus.h5; \
	echo "== 3/5 training: MLM encoder (configs/train/demo.ini) on $(DEMO_RANKS) ranks; the unigram baseline is the loss of guessing from token frequencies alone"; \
	$(DEMO_ENV) $(MPIRUN) -q -np $(DEMO_RANKS) $(BUILD)/zeropt train $(DEMO_ARGS) checkpoint.resume=none; \
	echo "== 4/5 the trained model on held-out fortunes"; \
	$(DEMO_ENV) $(MPIRUN) -q -np $(DEMO_RANKS) $(BUILD)/zeropt eval $(DEMO_ARGS) --model $(DEMO)/model.h5 --show 4; \
	echo "== 5/5 the training curves (gnuplot)"; \
	$(BUILD)/zeropt plot $(DEMO) --title "make demo: MLM encoder on fortunes, $(DEMO_RANKS) ranks"; \
	echo "== done in $$(( $$(date +%s) - t0 )) s: metrics in $(DEMO)/metrics.jsonl, resolved config in $(DEMO)/config.ini, model in $(DEMO)/model.h5, curves in $(DEMO)/curves.png"

# Debian packages the build, the tests and the demo need.
DEB_PKGS := gcc make pkg-config openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools \
            libopenblas-dev libopenblas-openmp-dev libdnnl-dev libinih-dev liblbfgs-dev libjansson-dev libutf8proc-dev zlib1g-dev \
            python3 python3-h5py python3-numpy fortunes fortunes-min clang-format gnuplot-nox \
            clang libclang-rt-dev \
            slurmctld slurmd slurm-client munge
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	else \
	  echo "deps: missing Debian packages:$$missing"; \
	  echo "deps: install them with: sudo apt-get install --no-install-recommends$$missing"; exit 1; \
	fi

format:
	clang-format -i $$(git ls-files -co --exclude-standard '*.c' '*.h')

clean:
	rm -rf build build-san build-fuzz build-cuda
