// Command coverreport merges Go coverage profiles and prints the coverage per package and in
// total, by statements.
//
// `go test -coverpkg=P... -coverprofile=F ./...` writes one profile in which every test binary
// reports every package of P, so the same block stands once per binary; several profiles (unit
// and integration runs) repeat them again. A block counts as covered when any run covered it.
//
//	go run ./tools/coverreport -o .artifacts/coverage.out .artifacts/coverage.out
//
// With -o it writes the merged profile there (one line per block; `go tool cover -html` reads it).
package main

import (
	"bufio"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

func main() {
	var out strings.Builder
	err := run(os.Args[1:], &out)
	if _, werr := os.Stdout.WriteString(out.String()); werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coverreport:", err)
		os.Exit(1)
	}
}

// run writes the report to out.
func run(args []string, out *strings.Builder) error {
	flags := flag.NewFlagSet("coverreport", flag.ContinueOnError)
	merged := flags.String("o", "", "write the merged profile to this file")
	trim := flags.String("trim", "", "leave this prefix out of package names (default: the longest common one)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() == 0 {
		return errors.New("name at least one profile")
	}
	p := newProfile()
	for _, name := range flags.Args() {
		if err := p.readFile(name); err != nil {
			return err
		}
	}
	if len(p.blocks) == 0 {
		return errors.New("the profiles hold no blocks")
	}
	if *merged != "" {
		if err := p.writeFile(*merged); err != nil {
			return err
		}
	}
	p.print(out, *trim)
	return nil
}

type block struct {
	file  string // import path of the package / file name
	pos   string // startLine.startCol,endLine.endCol
	stmts int
	count int64
}

type profile struct {
	mode   string
	blocks map[string]*block // by file:pos
}

func newProfile() *profile { return &profile{blocks: map[string]*block{}} }

func (p *profile) readFile(name string) error {
	f, err := os.Open(name) // #nosec G304 -- a profile the caller names
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	if err := p.read(f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (p *profile) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if mode, ok := strings.CutPrefix(line, "mode: "); ok {
			if p.mode != "" && p.mode != mode {
				return fmt.Errorf("line %d: mode %s after mode %s", n, mode, p.mode)
			}
			p.mode = mode
			continue
		}
		b, err := parseBlock(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		key := b.file + ":" + b.pos
		have, ok := p.blocks[key]
		switch {
		case !ok:
			p.blocks[key] = &b
		case p.mode == "set":
			have.count = max(have.count, b.count)
		default:
			have.count += b.count
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if p.mode == "" && len(p.blocks) > 0 {
		return errors.New("no mode line")
	}
	return nil
}

// parseBlock reads "file.go:1.2,3.4 5 6".
func parseBlock(line string) (block, error) {
	colon := strings.LastIndex(line, ":")
	if colon < 0 {
		return block{}, fmt.Errorf("not a block: %q", line)
	}
	fields := strings.Fields(line[colon+1:])
	if len(fields) != 3 {
		return block{}, fmt.Errorf("not a block: %q", line)
	}
	stmts, err := strconv.Atoi(fields[1])
	if err != nil {
		return block{}, fmt.Errorf("statements in %q: %w", line, err)
	}
	count, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return block{}, fmt.Errorf("count in %q: %w", line, err)
	}
	return block{file: line[:colon], pos: fields[0], stmts: stmts, count: count}, nil
}

func (p *profile) sortedBlocks() []*block {
	bs := make([]*block, 0, len(p.blocks))
	for _, b := range p.blocks {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b *block) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.pos, b.pos))
	})
	return bs
}

func (p *profile) writeFile(name string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "mode: %s\n", p.mode)
	for _, b := range p.sortedBlocks() {
		fmt.Fprintf(&sb, "%s:%s %d %d\n", b.file, b.pos, b.stmts, b.count)
	}
	return os.WriteFile(name, []byte(sb.String()), 0o600)
}

type tally struct{ covered, stmts int }

func (t tally) percent() float64 {
	if t.stmts == 0 {
		return 0
	}
	return 100 * float64(t.covered) / float64(t.stmts)
}

func (p *profile) print(w *strings.Builder, trim string) {
	perPkg := map[string]*tally{}
	var total tally
	for _, b := range p.blocks {
		pkg := path.Dir(b.file)
		t, ok := perPkg[pkg]
		if !ok {
			t = &tally{}
			perPkg[pkg] = t
		}
		t.stmts += b.stmts
		total.stmts += b.stmts
		if b.count > 0 {
			t.covered += b.stmts
			total.covered += b.stmts
		}
	}
	pkgs := make([]string, 0, len(perPkg))
	for pkg := range perPkg {
		pkgs = append(pkgs, pkg)
	}
	slices.Sort(pkgs)
	if trim == "" {
		trim = commonPrefix(pkgs)
	}
	names := make([]string, len(pkgs))
	width := len("package")
	for i, pkg := range pkgs {
		names[i] = strings.TrimPrefix(pkg, trim)
		if names[i] == "" {
			names[i] = pkg
		}
		width = max(width, len(names[i]))
	}
	fmt.Fprintf(w, "%-*s  %10s  %7s  %6s\n", width, "package", "statements", "covered", "")
	for i, pkg := range pkgs {
		t := perPkg[pkg]
		fmt.Fprintf(w, "%-*s  %10d  %7d  %5.1f%%\n", width, names[i], t.stmts, t.covered, t.percent())
	}
	fmt.Fprintf(w, "coverage total: %.1f%% of %d statements in %d packages\n", total.percent(), total.stmts, len(pkgs))
}

// commonPrefix is the longest prefix of whole path elements, with its slash, that all share.
func commonPrefix(pkgs []string) string {
	if len(pkgs) < 2 {
		return ""
	}
	prefix := pkgs[0]
	for _, p := range pkgs[1:] {
		for !strings.HasPrefix(p+"/", prefix+"/") {
			i := strings.LastIndex(prefix, "/")
			if i < 0 {
				return ""
			}
			prefix = prefix[:i]
		}
	}
	return prefix + "/"
}
