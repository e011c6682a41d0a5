# Quick start: `make run` (the main job on the embedded digits) and `make test`.
# Each installs the system packages it needs (libpng-dev, libopenblas-dev)
# with apt-get, only when they are missing.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PACKAGES := libpng-dev libopenblas-dev libcairo2-dev fonts-dejavu-core pkg-config
# The tests also run the external-algorithm examples (Python 3 with NumPy).
TEST_PACKAGES := python3 python3-numpy
BIN := .build/release

.PHONY: run test bench build deps test-deps lint clean fuzz fuzz-smoke

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The tests run the external-algorithm examples: python3 with NumPy, from PyPI
# when python3 has pip (pyenv, venv), else from Debian.
test-deps: deps
	@python3 -c 'import numpy' 2>/dev/null || python3 -m pip install -q numpy 2>/dev/null || { \
	  echo "installing: $(TEST_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(TEST_PACKAGES); }
	@python3 -c 'import numpy' || { echo "python3 cannot import numpy; install it (pip install numpy) and run make test again"; exit 1; }

build: deps
	$(SWIFT) build -c release --product unlearn

run: build
	$(BIN)/unlearn evaluate

test: test-deps lint
	$(SWIFT) build -c release --product unlearn
	$(SWIFT) test -c release -Xswiftc -enable-testing
	bash scripts/test-swift-submission.sh
	bash scripts/test-slurm.sh
	bash scripts/fuzz.sh 15

# swift-format ships with the Swift toolchain; the rules are in .swift-format.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests examples/swift-submission fuzz Package.swift

bench: deps
	$(SWIFT) build -c release --product unlearn
	$(SWIFT) build -c release --product unlearn-bench
	$(BIN)/unlearn-bench

# libFuzzer targets for the readers of untrusted files (PNG, .npy, .npz, safetensors, YAML, CSV):
# FUZZ_SECONDS per target (default 600). fuzz-smoke is the short run of make test.
FUZZ_SECONDS ?= 600
fuzz: deps
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz-smoke: deps
	bash scripts/fuzz.sh 15

clean:
	rm -rf .build .build-fuzz
