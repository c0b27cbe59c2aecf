# The two commands of the README: `make demo` and `make test`. Both install what is missing first.
SWIFT ?= swift
SWIFT_FLAGS ?=
export FLEET_PYTHON := $(CURDIR)/.build/venv/bin/python3

.PHONY: all deps build release test demo bench format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_FLAGS)

test: deps
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_FLAGS)

demo: release
	@scripts/demo.sh "$$($(SWIFT) build -c release --show-bin-path)"

bench: release
	@scripts/bench.sh "$$($(SWIFT) build -c release --show-bin-path)"

format:
	$(SWIFT) format --in-place --recursive --configuration .swift-format Sources Tests Package.swift

clean:
	rm -rf .build
