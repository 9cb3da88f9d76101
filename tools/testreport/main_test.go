package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleLog runs testdata/sample with `go test -json` in the given mode and returns its output,
// as .ci/run captures it (stdout and stderr together).
func sampleLog(t *testing.T, mode string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "test", "-json", "-count=1", "./testdata/sample")
	cmd.Env = append(os.Environ(), "TESTREPORT_SAMPLE="+mode)
	out, _ := cmd.CombinedOutput() // a failing sample exits 1; the report judges it
	return append([]byte("task: [test] go test -json ./...\n"), out...)
}

func runReport(t *testing.T, log []byte, args ...string) (string, int, string) {
	t.Helper()
	counts := filepath.Join(t.TempDir(), "counts")
	var out strings.Builder
	code, err := run(append([]string{"-name", "unit", "-counts", counts}, args...), bytes.NewReader(log), &out)
	require.NoError(t, err)
	c, err := os.ReadFile(counts)
	require.NoError(t, err)
	return out.String(), code, strings.TrimSpace(string(c))
}

func TestReportOfARealRun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		mode     string
		code     int
		counts   string
		contains []string
		excludes []string
	}{
		{
			name:     "all pass",
			mode:     "",
			code:     0,
			counts:   "7 0 0",
			contains: []string{"ok  \tgithub.com/orderflow/orderflow/tools/testreport/testdata/sample", "TestPasses (github.com/orderflow/orderflow/tools/testreport/testdata/sample): sample_test.go:16: CHAOS FIGURES orders=3", "unit: 7 passed, 0 failed, 0 skipped in 1 packages"},
			excludes: []string{"--- FAIL", "--- SKIP", "fine", "not test events"},
		},
		{
			name:     "a failing subtest",
			mode:     "fail",
			code:     1,
			counts:   "5 2 0",
			contains: []string{"FAIL\tgithub.com/orderflow/orderflow/tools/testreport/testdata/sample", "--- FAIL: TestMayFail/inner", "the stock went negative: -1", "unit: 5 passed, 2 failed, 0 skipped", "task: [test] go test -json"},
			excludes: []string{"=== RUN"},
		},
		{
			name:     "a failed assertion stays when the lines after it are more than the report keeps",
			mode:     "loud",
			code:     1,
			counts:   "6 1 0",
			contains: []string{"--- FAIL: TestMayFailLoudly", "the failed assertions among the 105 earlier lines:", "Error Trace:", "order 7: no 202 within 2m30s", "the client gets an answer for every order", "process log line 299"},
			excludes: []string{"process log line 0\n"},
		},
		{
			name:     "a skipped test fails the report",
			mode:     "skip",
			code:     1,
			counts:   "6 0 1",
			contains: []string{"unit: 1 tests were skipped, and every suite here must run:", "--- SKIP: TestMaySkip", "MONGODB_URI is not set", "unit: 6 passed, 0 failed, 1 skipped"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, code, counts := runReport(t, sampleLog(t, tc.mode))
			assert.Equal(t, tc.code, code, out)
			assert.Equal(t, tc.counts, counts)
			for _, s := range tc.contains {
				assert.Contains(t, out, s)
			}
			for _, s := range tc.excludes {
				assert.NotContains(t, out, s)
			}
		})
	}
}

func TestReportOfBrokenRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		log      string
		args     []string
		contains []string
	}{
		{
			name: "a build failure",
			log: `{"ImportPath":"example.com/p [example.com/p.test]","Action":"build-output","Output":"p_test.go:3:1: syntax error\n"}
{"ImportPath":"example.com/p [example.com/p.test]","Action":"build-fail"}
{"Action":"start","Package":"example.com/p"}
{"Action":"output","Package":"example.com/p","Output":"FAIL\texample.com/p [build failed]\n"}
{"Action":"fail","Package":"example.com/p","Elapsed":0,"FailedBuild":"example.com/p [example.com/p.test]"}
`,
			contains: []string{"FAIL\texample.com/p", "--- BUILD FAILED: example.com/p [example.com/p.test]", "p_test.go:3:1: syntax error", "unit: no test ran"},
		},
		{
			name: "a test that never finished (timeout)",
			log: `{"Action":"run","Package":"example.com/p","Test":"TestOK"}
{"Action":"pass","Package":"example.com/p","Test":"TestOK"}
{"Action":"run","Package":"example.com/p","Test":"TestHangs"}
{"Action":"output","Package":"example.com/p","Test":"TestHangs","Output":"waiting for the broker\n"}
{"Action":"output","Package":"example.com/p","Output":"panic: test timed out after 1m0s\n"}
{"Action":"fail","Package":"example.com/p","Elapsed":60}
`,
			contains: []string{"--- DID NOT FINISH: TestHangs (example.com/p)", "waiting for the broker", "unit: 1 passed, 1 failed, 0 skipped"},
		},
		{
			name: "coverage of -coverpkg packages is shown as its figure only",
			log: `{"Action":"run","Package":"example.com/p","Test":"TestOK"}
{"Action":"pass","Package":"example.com/p","Test":"TestOK"}
{"Action":"output","Package":"example.com/p","Output":"coverage: 6.4% of statements in example.com/p, example.com/q, exam"}
{"Action":"output","Package":"example.com/p","Output":"ple.com/r\n"}
{"Action":"pass","Package":"example.com/p","Elapsed":1}
`,
			args:     []string{"-status", "1"},
			contains: []string{"ok  \texample.com/p\t1.00s\tcoverage: 6.4% of the -coverpkg statements\n"},
		},
		{
			name: "a package that fails outside its tests",
			log: `{"Action":"run","Package":"example.com/p","Test":"TestOK"}
{"Action":"pass","Package":"example.com/p","Test":"TestOK"}
{"Action":"output","Package":"example.com/p","Output":"TestMain: cannot reach MongoDB\n"}
{"Action":"fail","Package":"example.com/p","Elapsed":1}
`,
			contains: []string{"--- example.com/p failed outside any test:", "TestMain: cannot reach MongoDB"},
		},
		{
			name:     "a run that stopped before any test",
			log:      "kafka: the broker did not start in 120 s\ntask: Failed to run task \"test:integration\": exit status 1\n",
			args:     []string{"-status", "201"},
			contains: []string{"unit: no test ran", "the last lines that were not test events", "kafka: the broker did not start", "unit: the run exited with status 201"},
		},
		{
			name: "all passed but the run failed",
			log: `{"Action":"run","Package":"example.com/p","Test":"TestOK"}
{"Action":"pass","Package":"example.com/p","Test":"TestOK"}
{"Action":"pass","Package":"example.com/p","Elapsed":1}
deps: could not stop the broker
`,
			args:     []string{"-status", "1"},
			contains: []string{"deps: could not stop the broker", "unit: the run exited with status 1", "unit: 1 passed, 0 failed, 0 skipped"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, code, _ := runReport(t, []byte(tc.log), tc.args...)
			assert.Equal(t, 1, code, out)
			for _, s := range tc.contains {
				assert.Contains(t, out, s)
			}
		})
	}
}
