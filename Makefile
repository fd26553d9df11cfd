# reconlab: the two commands of the README, and a few more.
#   make study   install what is missing, build, run the brain study's quick preset
#   make test    install what is missing, build, run every test through ctest
#   make cine    install what is missing, build, run the cine study's quick preset (issue 8)
# Options: BUILD (build folder, default build), JOBS (default 2), PRESET (quick | full), OUT (study output).
BUILD  ?= build
JOBS   ?= 2
PRESET ?= quick
OUT    ?= results/brain_$(PRESET)

# ccache: rewrite absolute paths under the checkout so a fresh clone (CI) reuses the cache of an earlier one.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test study cine bench clean

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

clean:
	rm -rf $(BUILD)
