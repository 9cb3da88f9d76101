// Command testreport reads the output of `go test -json` (test2json events, one a line, mixed
// with any other lines the run printed, such as Task's and the dependency scripts' messages)
// and prints what CI needs from it:
//
//   - one line per package: ok, FAIL or "no test files", with its time and coverage;
//   - every failed test with its own output (framing lines like "=== RUN" left out): its last
//     -max-lines lines, and above them any testify assertion that failed in the lines left out;
//   - every skipped test with its reason: a suite that must run and was skipped fails the run;
//   - tests that started and never finished (a timeout, a crash) and packages that failed
//     without a failed test (a build error, a panic in TestMain) with their output;
//   - output lines of any test matching -show (the chaos suite's figures);
//   - the counts: "NAME: P passed, F failed, S skipped in N packages".
//
// It exits 1 when anything failed, was skipped or did not finish, when no test ran at all, or
// when -status (the run's own exit status) is not 0; then it also prints the last lines that
// were not test events, which say why a run stopped before or after its tests.
//
//	go test -json ./... >log 2>&1; go run ./tools/testreport -name unit -status $? log
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

func main() {
	var out strings.Builder
	code, err := run(os.Args[1:], os.Stdin, &out)
	if _, werr := os.Stdout.WriteString(out.String()); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		code = 2
	}
	os.Exit(code)
}

// run writes the report to out and returns the exit status; an error is a usage or I/O error.
func run(args []string, stdin io.Reader, out *strings.Builder) (int, error) {
	flags := flag.NewFlagSet("testreport", flag.ContinueOnError)
	name := flags.String("name", "tests", "name of the suite, for the summary line")
	status := flags.Int("status", 0, "exit status of the run that wrote the log; not 0 fails the report")
	counts := flags.String("counts", "", "write \"PASSED FAILED SKIPPED\" to this file")
	show := flags.String("show", "FIGURES", "print output lines of any test that match this regular expression (empty: none)")
	maxLines := flags.Int("max-lines", 200, "at most this many output lines per failed test (the last ones)")
	if err := flags.Parse(args); err != nil {
		return 2, err
	}
	in := stdin
	if flags.NArg() > 1 {
		return 2, errors.New("at most one log file")
	}
	if flags.NArg() == 1 {
		f, err := os.Open(flags.Arg(0))
		if err != nil {
			return 2, err
		}
		defer func() { _ = f.Close() }()
		in = f
	}
	var showRE *regexp.Regexp
	if *show != "" {
		re, err := regexp.Compile(*show)
		if err != nil {
			return 2, fmt.Errorf("-show: %w", err)
		}
		showRE = re
	}

	r := newReport()
	if err := r.read(in); err != nil {
		return 2, fmt.Errorf("reading the log: %w", err)
	}
	ok := r.print(out, *name, *status, showRE, *maxLines)
	if *counts != "" {
		c := r.counts()
		line := fmt.Sprintf("%d %d %d\n", c.passed, c.failed, c.skipped)
		if err := os.WriteFile(*counts, []byte(line), 0o600); err != nil {
			return 2, err
		}
	}
	if !ok {
		return 1, nil
	}
	return 0, nil
}

// event is one line of test2json output (go doc test2json), with the build events of Go 1.24+.
type event struct {
	Time        time.Time
	Action      string
	Package     string
	Test        string
	Elapsed     float64
	Output      string
	ImportPath  string // build-output, build-fail
	FailedBuild string // a package's fail caused by the build of this import path
}

type testKey struct{ pkg, test string }

type testState struct {
	key    testKey
	output []string
	result string // pass, fail, skip; empty while running
	order  int
}

type pkgState struct {
	name     string
	result   string // pass, fail, skip
	elapsed  float64
	output   []string // output events without a test
	coverage string
	noTests  bool
	build    string // the import path whose build failed this package
}

type report struct {
	tests    map[testKey]*testState
	pkgs     map[string]*pkgState
	pkgOrder []string
	builds   map[string][]string // build output per import path
	failed   []string            // import paths whose build failed
	other    []string            // lines that were not test events
	n        int
}

func newReport() *report {
	return &report{tests: map[testKey]*testState{}, pkgs: map[string]*pkgState{}, builds: map[string][]string{}}
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		var e event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
			r.other = append(r.other, line)
			continue
		}
		r.add(e)
	}
	return sc.Err()
}

func (r *report) pkg(name string) *pkgState {
	p, ok := r.pkgs[name]
	if !ok {
		p = &pkgState{name: name}
		r.pkgs[name] = p
		r.pkgOrder = append(r.pkgOrder, name)
	}
	return p
}

func (r *report) add(e event) {
	switch e.Action {
	case "build-output":
		r.builds[e.ImportPath] = append(r.builds[e.ImportPath], strings.TrimRight(e.Output, "\n"))
		return
	case "build-fail":
		r.failed = append(r.failed, e.ImportPath)
		return
	}
	if e.Package == "" {
		return
	}
	p := r.pkg(e.Package)
	if e.Test == "" {
		switch e.Action {
		case "output":
			out := strings.TrimRight(e.Output, "\n")
			if strings.HasPrefix(out, "coverage: ") {
				// With -coverpkg the line names every package covered (and test2json may split it).
				cov, _, many := strings.Cut(strings.TrimPrefix(out, "coverage: "), " of statements in ")
				if many {
					cov += " of the -coverpkg statements"
				}
				p.coverage = cov
			}
			if strings.Contains(out, "[no test files]") {
				p.noTests = true
			}
			p.output = append(p.output, out)
		case "pass", "fail", "skip":
			p.result, p.elapsed, p.build = e.Action, e.Elapsed, e.FailedBuild
		}
		return
	}
	k := testKey{e.Package, e.Test}
	t, ok := r.tests[k]
	if !ok {
		r.n++
		t = &testState{key: k, order: r.n}
		r.tests[k] = t
	}
	switch e.Action {
	case "output":
		t.output = append(t.output, strings.TrimRight(e.Output, "\n"))
	case "pass", "fail", "skip":
		t.result = e.Action
	}
}

type tally struct{ passed, failed, skipped, unfinished int }

func (r *report) counts() tally {
	var c tally
	for _, t := range r.tests {
		switch t.result {
		case "pass":
			c.passed++
		case "fail":
			c.failed++
		case "skip":
			c.skipped++
		default:
			c.unfinished++
		}
	}
	c.failed += c.unfinished
	return c
}

// framing are test2json's own lines around a test's output.
var framing = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|FAIL|SKIP): )`)

func (r *report) sorted(result string) []*testState {
	var ts []*testState
	for _, t := range r.tests {
		if t.result == result {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *testState) int { return a.order - b.order })
	return ts
}

// print writes the report and says whether the run passed.
func (r *report) print(w *strings.Builder, name string, status int, show *regexp.Regexp, maxLines int) bool {
	c := r.counts()
	ok := status == 0
	for _, pn := range r.pkgOrder {
		p := r.pkgs[pn]
		switch {
		case p.result == "fail":
			ok = false
			fmt.Fprintf(w, "FAIL\t%s\t%.2fs\n", p.name, p.elapsed)
		case p.result == "pass":
			cov := ""
			if p.coverage != "" {
				cov = "\tcoverage: " + p.coverage
			}
			fmt.Fprintf(w, "ok  \t%s\t%.2fs%s\n", p.name, p.elapsed, cov)
		case p.noTests || p.result == "skip":
			// A package without test files is not a skipped test.
		default:
			ok = false
			fmt.Fprintf(w, "?   \t%s\tno result (the run stopped before the package finished)\n", p.name)
		}
	}

	if show != nil {
		keys := make([]*testState, 0, len(r.tests))
		for _, t := range r.tests {
			keys = append(keys, t)
		}
		slices.SortFunc(keys, func(a, b *testState) int { return a.order - b.order })
		for _, t := range keys {
			for _, l := range t.output {
				if show.MatchString(l) {
					fmt.Fprintf(w, "%s (%s): %s\n", t.key.test, t.key.pkg, strings.TrimSpace(l))
				}
			}
		}
	}

	for _, t := range r.sorted("fail") {
		ok = false
		fmt.Fprintf(w, "--- FAIL: %s (%s)\n", t.key.test, t.key.pkg)
		printOutput(w, t.output, maxLines)
	}
	for _, t := range r.sorted("") {
		ok = false
		fmt.Fprintf(w, "--- DID NOT FINISH: %s (%s)\n", t.key.test, t.key.pkg)
		printOutput(w, t.output, maxLines)
	}
	if skipped := r.sorted("skip"); len(skipped) > 0 {
		ok = false
		fmt.Fprintf(w, "%s: %d tests were skipped, and every suite here must run:\n", name, len(skipped))
		for _, t := range skipped {
			fmt.Fprintf(w, "--- SKIP: %s (%s)\n", t.key.test, t.key.pkg)
			printOutput(w, t.output, maxLines)
		}
	}
	for _, ip := range r.failed {
		ok = false
		fmt.Fprintf(w, "--- BUILD FAILED: %s\n", ip)
		printOutput(w, r.builds[ip], maxLines)
	}
	for _, pn := range r.pkgOrder {
		p := r.pkgs[pn]
		if p.result == "fail" && p.build == "" && !r.hasFailedTest(pn) {
			fmt.Fprintf(w, "--- %s failed outside any test:\n", pn)
			printOutput(w, p.output, maxLines)
		}
	}
	if len(r.tests) == 0 {
		ok = false
		fmt.Fprintf(w, "%s: no test ran\n", name)
	}
	if !ok && len(r.other) > 0 {
		fmt.Fprintf(w, "--- %s: the last lines that were not test events:\n", name)
		printOutput(w, r.other, 30)
	}
	if status != 0 {
		fmt.Fprintf(w, "%s: the run exited with status %d\n", name, status)
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped in %d packages\n", name, c.passed, c.failed, c.skipped, r.testedPackages())
	return ok
}

func (r *report) hasFailedTest(pkg string) bool {
	for k, t := range r.tests {
		if k.pkg == pkg && t.result != "pass" && t.result != "skip" {
			return true
		}
	}
	return false
}

func (r *report) testedPackages() int {
	n := 0
	for _, p := range r.pkgs {
		if !p.noTests {
			n++
		}
	}
	return n
}

func printOutput(w *strings.Builder, lines []string, maxLines int) {
	var kept []string
	for _, l := range lines {
		if !framing.MatchString(l) {
			kept = append(kept, l)
		}
	}
	if maxLines > 0 && len(kept) > maxLines {
		left := kept[:len(kept)-maxLines]
		kept = kept[len(kept)-maxLines:]
		if asserts := assertions(left); len(asserts) > 0 {
			fmt.Fprintf(w, "    ... the failed assertions among the %d earlier lines:\n", len(left))
			for _, l := range asserts {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
		fmt.Fprintf(w, "    ... %d earlier lines left out\n", len(left))
	}
	for _, l := range kept {
		fmt.Fprintf(w, "    %s\n", l)
	}
}

// assertions returns testify's failure blocks among lines (from "Error Trace:" through its
// last indented line, with the line naming the test file above it), so that a failed
// assertion stays in the report when the processes' logs that a test prints after it
// fill the last lines.
func assertions(lines []string) []string {
	var out []string
	in := false
	for i, l := range lines {
		body := strings.TrimLeft(l, " ")
		switch {
		case strings.HasPrefix(body, "\tError Trace:"):
			in = true
			if i > 0 && !strings.HasPrefix(strings.TrimLeft(lines[i-1], " "), "\t") {
				out = append(out, lines[i-1])
			}
		case in && !strings.HasPrefix(body, "\t"):
			in = false
		}
		if in {
			out = append(out, l)
		}
	}
	return out
}
