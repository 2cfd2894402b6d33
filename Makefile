# Thin wrapper: `make run` and `make test` are the whole quick start.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: deps configure build run test clean
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

clean:
	rm -rf $(BUILD)
