# Thin wrapper: `make run` and `make test` are the whole quick start.
BUILD ?= build
JOBS  ?= $(shell nproc)

SAN_BUILD ?= build-sanitize
LAUNCHER := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache,)

.PHONY: deps configure build run test test-sanitize clean
deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# Only the binary (the engine library and the CLI): the tests and micro-benchmarks are what
# `make test` and `make build` add.
run: configure
	@cmake --build $(BUILD) -j $(JOBS) --target trident
	./$(BUILD)/trident run -m models/stories260K.gguf -p "Once upon a time" -n 200

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole ctest suite (fuzz corpora included) under ASan + UBSan, any report fatal, in a build
# directory of its own. Tests too slow under ASan skip themselves there, with the reason
# (TRIDENT_SANITIZED, tests/test_util.h).
test-sanitize: deps
	@cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-g1 \
	  -DTRIDENT_SANITIZE=ON -DTRIDENT_BENCH=OFF $(LAUNCHER) >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && TRIDENT_SANITIZED=1 \
	  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:exitcode=86 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:exitcode=87 \
	  ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
