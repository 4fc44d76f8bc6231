# microconv — see README.md
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build demo test vet fuzz bench bench-views deploy-check clean

all: build

## build: the binary at bin/microconv
build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o bin/microconv ./cmd/microconv

## demo: embedded Kafka + generated clickstream + consumer + a private
## ClickHouse (installed with apt-get if missing), then a report. DEMO_ARGS
## passes flags (e.g. DEMO_ARGS="--users 20000").
demo:
	.ci/demo

## test: vet + every test (integration tests against a private ClickHouse and
## an in-process Kafka) + a short fuzz run. Installs missing tools as root.
test:
	.ci/test

vet:
	$(GO) vet ./...

## bench: end-to-end throughput against ceilings measured in the same run,
## latency and memory (needs a ClickHouse, started if MICROCONV_TEST_CLICKHOUSE_ADDR is unset)
bench: build
	.ci/with-clickhouse sh -c 'MICROCONV_CLICKHOUSE_ADDR=$$MICROCONV_TEST_CLICKHOUSE_ADDR bin/microconv bench'

## bench-views: time the funnel and lift views over 1M conversions (needs
## a ClickHouse: MICROCONV_TEST_CLICKHOUSE_ADDR, or one is started)
bench-views:
	.ci/with-clickhouse $(GO) test ./sink/ -run '^$$' -bench BenchmarkViews -benchtime 3x -timeout 30m

## deploy-check: validate docker-compose.yml, the Prometheus config, the alert
## rules and their unit tests, and the Grafana dashboard (no Docker engine needed)
deploy-check:
	.ci/deploy-check

## fuzz: longer fuzzing (FUZZTIME=5m make fuzz; default 1m per target)
fuzz:
	FUZZTIME=$${FUZZTIME:-1m} .ci/test

clean:
	rm -rf bin .tmp
