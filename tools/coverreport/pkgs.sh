#!/usr/bin/env bash
# The packages coverage is measured over, comma-separated for go test -coverpkg: every package of
# the product module but tools/ and the test-support packages (repotest, jwttest, apptest, wiringtest).
set -euo pipefail
cd "$(dirname "$0")/../.."
go list ./... | grep -vE '/tools/|/(repotest|jwttest|apptest|wiringtest)$' | paste -sd, -
