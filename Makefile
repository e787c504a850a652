# The README's two commands are `make demo` and `make test`; both install the
# Debian packages they need first (scripts/install-deps.sh).
GO        ?= go
BIN       ?= bin/ceremony
# -trimpath and an empty build id make two builds of one commit identical.
# -buildvcs=auto stamps the commit (and whether the tree was modified) into
# the binary for `ceremony version` and the transcript, even where GOFLAGS
# says -buildvcs=false; outside a git checkout it builds unstamped.
BUILDFLAGS = -trimpath -buildvcs=auto -ldflags=-buildid=
FUZZTIME  ?= 30s
# staticcheck at a pinned version, from the Go module proxy: `make lint`
# builds it into the module cache on first use.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
export CGO_ENABLED = 1

.PHONY: all build deps test demo bench bench-readme fuzz lint clean

all: build

deps:
	@bash scripts/install-deps.sh

build:
	$(GO) build $(BUILDFLAGS) -o $(BIN) ./cmd/ceremony

test: deps
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 14m ./...

demo: deps build
	$(BIN) demo

bench: deps
	bash scripts/bench.sh

# Pastes the last `make bench` commands table into README.md's speed section.
bench-readme:
	bash scripts/bench.sh readme

fuzz:
	bash scripts/fuzz.sh $(FUZZTIME)

lint:
	@test -z "$$(gofmt -l .)" || { echo "not gofmt-formatted:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin
