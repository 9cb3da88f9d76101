// Package sample is run by testreport's tests with `go test -json`: which tests pass, fail or
// skip is chosen by TESTREPORT_SAMPLE.
package sample

import (
	"os"
	"strings"
	"testing"
)

func mode(m string) bool { return strings.Contains(os.Getenv("TESTREPORT_SAMPLE"), m) }

func TestPasses(t *testing.T) {
	t.Log("CHAOS FIGURES orders=3")
	for _, name := range []string{"one", "two"} {
		t.Run(name, func(t *testing.T) { t.Log("fine") })
	}
}

func TestMayFail(t *testing.T) {
	t.Run("inner", func(t *testing.T) {
		if mode("fail") {
			t.Fatal("the stock went negative: -1")
		}
	})
}

func TestMaySkip(t *testing.T) {
	if mode("skip") {
		t.Skip("MONGODB_URI is not set")
	}
}
