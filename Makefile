# Quick start: `make run` (the main job on the embedded digits) and `make test`.
# Each installs the system packages it needs (libpng-dev, libopenblas-dev)
# with apt-get, only when they are missing.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PACKAGES := libpng-dev libopenblas-dev pkg-config
BIN := .build/release

.PHONY: run test bench build deps clean

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build -c release --product unlearn

run: build
	$(BIN)/unlearn evaluate

test: deps
	$(SWIFT) build -c release --product unlearn
	$(SWIFT) test -c release -Xswiftc -enable-testing

bench: deps
	$(SWIFT) build -c release --product unlearn
	$(SWIFT) build -c release --product unlearn-bench
	$(BIN)/unlearn-bench

clean:
	rm -rf .build
