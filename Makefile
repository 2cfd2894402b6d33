# Thin wrapper: `make run` and `make test` are the whole quick start.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: deps build run test clean
deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/trident run -m models/stories260K.gguf -p "Once upon a time" -n 200

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD)
