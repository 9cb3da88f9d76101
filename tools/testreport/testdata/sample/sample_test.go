// Package sample is run by testreport's tests with `go test -json`: which tests pass, fail or
// skip is chosen by TESTREPORT_SAMPLE.
package sample

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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

// TestMayFailLoudly fails an assertion and then logs more lines than the report keeps, as a
// suite does that prints its processes' logs when it fails.
func TestMayFailLoudly(t *testing.T) {
	if !mode("loud") {
		return
	}
	assert.Empty(t, []string{"order 7: no 202 within 2m30s"}, "the client gets an answer for every order")
	for i := range 300 {
		t.Logf("process log line %d", i)
	}
}
