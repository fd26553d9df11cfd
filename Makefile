# reconlab: the two commands of the README, and a few more.
#   make study   install what is missing, build, run the brain study's quick preset
#   make test    install what is missing, build, run every test through ctest
#   make cine    install what is missing, build, run the cine study's quick preset (issue 8)
#   make sanitize  build core, solvers, I/O and CLI with ASan + UBSan (SAN_BUILD) and run their tests
#   make bench   every Google Benchmark (medians of 5), the 1-vs-2-process training throughput and the
#                whole-process start-up against bart pics (docs/performance.md)
#   make python  build the Python module (`import reconlab`) and install it, with the networks module beside it,
#                into PYTHON's user site-packages (PYTHON: default /usr/bin/python3, which has NumPy)
#   make fuzz    build the readers' libFuzzer harnesses with clang (FUZZ_BUILD) and run each FUZZ_SECONDS (30)
# Options: BUILD (build folder, default build), JOBS (default 2), PRESET (quick | full), OUT (study output).
BUILD  ?= build
JOBS   ?= 2
PRESET ?= quick
OUT    ?= results/brain_$(PRESET)
SAN_BUILD  ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
PYTHON ?= /usr/bin/python3

# ccache: rewrite absolute paths under the checkout so a fresh clone (CI) reuses the cache of an earlier one.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test study cine bench sanitize fuzz python clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 1200

study: configure
	cmake --build $(BUILD) -j $(JOBS) --target brain_unet reconlab
	$(BUILD)/studies/brain_unet --preset $(PRESET) --out $(OUT)

cine: configure
	cmake --build $(BUILD) -j $(JOBS) --target cine reconlab
	$(BUILD)/studies/cine --preset $(PRESET) --out results/cine_$(PRESET)

bench: build
	@for b in $(BUILD)/benchmarks/*_bench; do $$b --benchmark_repetitions=5 --benchmark_report_aggregates_only=true; done
	@if [ -f $(BUILD)/tools/libreconlab_networks_cli.so ]; then bash scripts/bench_train_scaling.sh $(BUILD); fi
	bash scripts/bench_startup.sh $(BUILD)

# LibTorch is not instrumented, so the networks stay out (RECONLAB_BUILD_NETWORKS=OFF); leak checking stays on.
# -O1 without NDEBUG: quicker to compile under ASan than -O3, and Eigen's own index assertions are checked too.
sanitize: deps
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 \
	  -DRECONLAB_BUILD_NETWORKS=OFF -DRECONLAB_BUILD_BENCHMARKS=OFF -DRECONLAB_BUILD_PYTHON=OFF -DRECONLAB_SANITIZE=ON
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(CURDIR)/tests/fuzz/ubsan.supp \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp ctest --output-on-failure -j $(JOBS) --timeout 2400

python: configure
	cmake --build $(BUILD) -j $(JOBS) --target reconlab_python
	@site="$$($(PYTHON) -m site --user-site)"; mkdir -p "$$site"; \
	for f in $(BUILD)/python/reconlab*.so $(BUILD)/tools/libreconlab_networks_cli.so; do [ -f "$$f" ] || continue; \
	  cp "$$f" "$$site/.$$(basename $$f).tmp" && mv -f "$$site/.$$(basename $$f).tmp" "$$site/$$(basename $$f)"; done; \
	echo "reconlab: installed into $$site"; \
	cd / && $(PYTHON) -c "import reconlab; print('import reconlab:', reconlab.__file__)"

fuzz: deps
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DRECONLAB_BUILD_NETWORKS=OFF \
	  -DRECONLAB_BUILD_BENCHMARKS=OFF -DRECONLAB_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)
