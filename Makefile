# microconv — see README.md
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test vet fuzz clickhouse-start clickhouse-stop clean

all: build

## build: the binary at bin/microconv
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/microconv ./cmd/microconv

## test: vet + every test (integration tests against a private ClickHouse and
## an in-process Kafka) + a short fuzz run. Installs missing tools as root.
test:
	.ci/test

vet:
	$(GO) vet ./...

## fuzz: longer fuzzing (FUZZTIME=1m make fuzz)
fuzz:
	FUZZTIME=$${FUZZTIME:-1m} .ci/test

clean:
	rm -rf bin .tmp
