package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// childSpec is one process the supervisor keeps running.
type childSpec struct {
	name string
	path string
	args []string
	env  []string
}

// backoff is the wait before a child that exited is started again: initial,
// doubled after each exit up to max, and back to initial once the child had
// stayed up for resetAfter (a crash after a good run is not a crash loop).
type backoff struct {
	initial, max, resetAfter time.Duration
}

// defaultBackoff waits 1 s, 2 s, 4 s … up to 30 s between restarts.
var defaultBackoff = backoff{initial: time.Second, max: 30 * time.Second, resetAfter: time.Minute}

// next is the wait after an exit, given the previous wait (0 before the first
// restart) and how long the child ran.
func (b backoff) next(prev, uptime time.Duration) time.Duration {
	if prev <= 0 || uptime >= b.resetAfter {
		return b.initial
	}
	return min(prev*2, b.max)
}

// clock is the supervisor's time, a fake one in its tests.
type clock interface {
	Now() time.Time
	After(time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// supervisor keeps its children running: one that exits, whatever its status,
// is logged and started again after a backoff, while the others go on. Only
// the end of the context stops them: SIGTERM to each, then SIGKILL for one
// that is still running after stopTimeout.
type supervisor struct {
	children       []childSpec
	logger         *slog.Logger
	backoff        backoff
	stopTimeout    time.Duration
	clock          clock
	stdout, stderr io.Writer
}

// run supervises every child until ctx is done and they are all stopped. The
// error names the children that did not stop cleanly.
func (s *supervisor) run(ctx context.Context) error {
	errs := make([]error, len(s.children))
	var wg sync.WaitGroup
	for i, c := range s.children {
		wg.Go(func() { errs[i] = s.keep(ctx, c) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// keep runs one child again and again until ctx is done.
func (s *supervisor) keep(ctx context.Context, c childSpec) error {
	var wait time.Duration
	for restarts := 0; ; restarts++ {
		started := s.clock.Now()
		// The children are this binary's own service processes, from its own
		// configuration; the context is not passed so that a stop signals them
		// (SIGTERM, then SIGKILL) rather than killing them at once.
		cmd := exec.Command(c.path, c.args...) //nolint:gosec,noctx // see above
		cmd.Env = c.env
		cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
		pid := 0
		var exit error
		if err := cmd.Start(); err != nil {
			exit = fmt.Errorf("start: %w", err)
		} else {
			pid = cmd.Process.Pid
			s.logger.Info("started service process", "service", c.name, "pid", pid, "restarts", restarts)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-ctx.Done():
				return s.stop(c, cmd, done)
			case exit = <-done:
			}
		}
		if ctx.Err() != nil {
			// It exited as the supervisor was told to stop: a Ctrl-C in a
			// terminal reaches the whole process group, children included.
			if exit != nil {
				return fmt.Errorf("%s: %w", c.name, exit)
			}
			return nil
		}
		uptime := s.clock.Now().Sub(started)
		wait = s.backoff.next(wait, uptime)
		s.logger.Error("service process exited; restarting it", "service", c.name, "pid", pid,
			"exit", exitStatus(exit), "uptime", uptime.String(), "restart_in", wait.String(), "restarts", restarts)
		select {
		case <-ctx.Done():
			return nil
		case <-s.clock.After(wait):
		}
	}
}

// stop sends SIGTERM, waits for the child to finish what it has in flight and
// kills it if it takes longer than stopTimeout.
func (s *supervisor) stop(c childSpec, cmd *exec.Cmd, done <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil && !killedBy(err, syscall.SIGTERM) {
			return fmt.Errorf("%s: %w", c.name, err)
		}
		s.logger.Info("service process stopped", "service", c.name, "pid", cmd.Process.Pid)
		return nil
	case <-s.clock.After(s.stopTimeout):
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // killed: its exit error says only that, the error below says why
		return fmt.Errorf("%s did not stop within %s and was killed", c.name, s.stopTimeout)
	}
}

// killedBy reports whether the child was ended by sig (one that does not
// handle SIGTERM dies of it: stopped as asked, not failed).
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// exitStatus says how a child ended: "exit status 3", "signal: killed", or
// why it could not be started.
func exitStatus(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit status 0"
	case errors.As(err, &ee):
		return ee.String()
	default:
		return err.Error()
	}
}
