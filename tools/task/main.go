// Command task runs the Task build tool (github.com/go-task/task/v3) pinned in its own module,
// tools/task/pin/go.mod, so that `go tool task NAME` stays one command on a machine with only
// Go installed while none of Task's ~120 dependencies enter the product's go.mod.
//
// The product's go.mod names this package as its `task` tool. It is standard library only: it
// finds the main module's go.mod (`go env GOMOD`), then runs
//
//	go tool -modfile=<module root>/tools/task/pin/go.mod task ARGS...
//
// in the current directory, forwarding stdin, stdout, stderr, SIGINT and SIGTERM and exiting
// with Task's exit status. Both builds are cached by the go command after the first run.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

// pinModfile is the go.mod that pins Task, relative to the main module's root.
var pinModfile = filepath.Join("tools", "task", "pin", "go.mod")

func main() {
	os.Exit(run(context.Background(), os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	modfile, err := findModfile(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		return 2
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=" + modfile, "task"}, args...)...) // #nosec G204 G702 -- the go command with the caller's own arguments, as `go tool task` got them
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		return 2
	}
	// An interrupt from a terminal reaches the whole process group anyway; a signal sent to this
	// process alone (a supervisor, CI) must reach Task too, or Task would outlive it.
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-signals:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	if exitErr, ok := errors.AsType[*exec.ExitError](err); ok {
		if code := exitErr.ExitCode(); code >= 0 {
			return code
		}
		return 1 // killed by a signal
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "task:", err)
		return 2
	}
	return 0
}

// findModfile returns the absolute path of Task's pinned go.mod in the main module of the
// current directory.
func findModfile(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output() // #nosec G204 -- fixed arguments
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the orderflow module (go env GOMOD is empty)")
	}
	modfile := filepath.Join(filepath.Dir(gomod), pinModfile)
	if _, err := os.Stat(modfile); err != nil {
		return "", fmt.Errorf("the module pinning Task is missing: %w", err)
	}
	return modfile, nil
}
