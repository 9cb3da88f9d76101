package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The supervisor's children in these tests are this test binary, started
// again with childModeEnv set: TestMain then plays a service process.
const childModeEnv = "ORDERFLOW_SUPERVISOR_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(fakeChild(mode))
	}
	os.Exit(m.Run())
}

// fakeChild is a service process: "crash" exits 3 at once; "serve" runs until
// SIGTERM and exits 0; "stubborn" ignores SIGTERM; "plain" leaves SIGTERM to
// its default action, which ends it. The last three print
// "ready PID" once their signal handling is in place, and give up after two
// minutes so that no test leaves a process behind.
func fakeChild(mode string) int {
	switch mode {
	case "crash":
		return 3
	case "serve", "stubborn", "plain":
		sig := make(chan os.Signal, 1)
		switch mode {
		case "serve":
			signal.Notify(sig, syscall.SIGTERM)
		case "stubborn":
			signal.Ignore(syscall.SIGTERM)
		}
		fmt.Printf("ready %d\n", os.Getpid())
		select {
		case <-sig:
			return 0
		case <-time.After(2 * time.Minute):
			return 4
		}
	}
	return 2
}

func fakeChildSpec(name, mode string) childSpec {
	exe, _ := os.Executable()
	return childSpec{name: name, path: exe, args: []string{"-test.run=^$"}, env: append(os.Environ(), childModeEnv+"="+mode)}
}

func TestBackoffDoublesToItsCapAndResetsAfterAGoodRun(t *testing.T) {
	t.Parallel()
	b := defaultBackoff
	tests := []struct {
		name         string
		prev, uptime time.Duration
		want         time.Duration
	}{
		{name: "first exit", prev: 0, uptime: 0, want: time.Second},
		{name: "second exit", prev: time.Second, uptime: 0, want: 2 * time.Second},
		{name: "doubling", prev: 8 * time.Second, uptime: 59 * time.Second, want: 16 * time.Second},
		{name: "capped", prev: 16 * time.Second, uptime: 0, want: 30 * time.Second},
		{name: "stays capped", prev: 30 * time.Second, uptime: time.Second, want: 30 * time.Second},
		{name: "reset after a good run", prev: 30 * time.Second, uptime: time.Minute, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, b.next(tt.prev, tt.uptime))
		})
	}
}

// A child that keeps crashing is started again after 1, 2, 4, 8, 16, 30, 30 s
// and logged each time with its exit status, while its sibling runs on
// untouched; cancelling stops the sibling with SIGTERM and ends the backoff.
func TestSupervisorRestartsACrashingChildWithBackoffAndLeavesTheOthers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeChildSpec("orders", "crash"), fakeChildSpec("inventory", "serve"))

	inventory := h.rec.next(t, "inventory")
	require.Equal(t, "started service process", inventory.Message)
	pid := int(intAttr(t, inventory, "pid"))
	h.out.wait(t, fmt.Sprintf("ready %d", pid))

	for i, wait := range []time.Duration{1, 2, 4, 8, 16, 30, 30} {
		wait *= time.Second
		started := h.rec.next(t, "orders")
		require.Equal(t, "started service process", started.Message)
		assert.Equal(t, int64(i), attr(started, "restarts").Int64())
		exited := h.rec.next(t, "orders")
		require.Equal(t, "service process exited; restarting it", exited.Message)
		assert.Equal(t, "exit status 3", attr(exited, "exit").String())
		assert.Equal(t, wait.String(), attr(exited, "restart_in").String())
		after := h.clock.nextAfter(t)
		require.Equal(t, wait, after.d)
		assert.Zero(t, h.rec.unread("orders"), "started again before its backoff had passed")
		after.fire()
	}
	require.Equal(t, "started service process", h.rec.next(t, "orders").Message)
	// Stopped while it waits for its next start, so that it is not the one
	// that gets SIGTERM.
	require.Equal(t, "service process exited; restarting it", h.rec.next(t, "orders").Message)
	require.Equal(t, 30*time.Second, h.clock.nextAfter(t).d)

	require.NoError(t, h.stop(t))
	assert.Equal(t, "service process stopped", h.rec.next(t, "inventory").Message)
	assert.Zero(t, h.rec.unread("inventory"), "inventory was started once and stopped once")
	assert.Zero(t, h.rec.unread("orders"), "orders is not started once the supervisor stops")
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "inventory's process is gone")
}

// A child killed after a good run (on the supervisor's clock) is started
// again after the first wait, not after the doubled one.
func TestSupervisorResetsTheBackoffAfterAGoodRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeChildSpec("delivery", "serve"))
	for i, step := range []struct {
		ranFor time.Duration
		wait   time.Duration
	}{
		{ranFor: 0, wait: time.Second},
		{ranFor: 0, wait: 2 * time.Second},
		{ranFor: time.Minute, wait: time.Second},
	} {
		started := h.rec.next(t, "delivery")
		require.Equal(t, "started service process", started.Message, "start %d", i)
		h.clock.advance(step.ranFor)
		require.NoError(t, syscall.Kill(int(intAttr(t, started, "pid")), syscall.SIGKILL))
		exited := h.rec.next(t, "delivery")
		require.Equal(t, "service process exited; restarting it", exited.Message)
		assert.Equal(t, "signal: killed", attr(exited, "exit").String())
		assert.Equal(t, step.ranFor.String(), attr(exited, "uptime").String())
		assert.Equal(t, step.wait.String(), attr(exited, "restart_in").String())
		after := h.clock.nextAfter(t)
		require.Equal(t, step.wait, after.d)
		after.fire()
	}
	started := h.rec.next(t, "delivery")
	require.Equal(t, "started service process", started.Message)
	h.out.wait(t, fmt.Sprintf("ready %d", intAttr(t, started, "pid")))
	require.NoError(t, h.stop(t))
	assert.Equal(t, "service process stopped", h.rec.next(t, "delivery").Message)
}

// A child that ignores SIGTERM is killed once the stop timeout has passed,
// and the supervisor says so.
func TestSupervisorKillsAChildThatDoesNotStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeChildSpec("gateway", "stubborn"))
	started := h.rec.next(t, "gateway")
	require.Equal(t, "started service process", started.Message)
	pid := int(intAttr(t, started, "pid"))
	h.out.wait(t, fmt.Sprintf("ready %d", pid))
	h.cancel()
	after := h.clock.nextAfter(t)
	require.Equal(t, h.sup.stopTimeout, after.d)
	after.fire()
	err := h.wait(t)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gateway did not stop within 1h0m0s and was killed")
	assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH)
}

// A child that dies of the SIGTERM it was sent (it does not handle it) was
// stopped as asked.
func TestSupervisorTakesDeathBySIGTERMAsAStop(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fakeChildSpec("orders", "plain"))
	started := h.rec.next(t, "orders")
	require.Equal(t, "started service process", started.Message)
	h.out.wait(t, fmt.Sprintf("ready %d", intAttr(t, started, "pid")))
	require.NoError(t, h.stop(t))
	assert.Equal(t, "service process stopped", h.rec.next(t, "orders").Message)
}

// A child that cannot even be started is retried like one that exited.
func TestSupervisorRetriesAChildThatCannotStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, childSpec{name: "orders", path: "/nonexistent/orderflow"})
	for _, wait := range []time.Duration{time.Second, 2 * time.Second} {
		exited := h.rec.next(t, "orders")
		require.Equal(t, "service process exited; restarting it", exited.Message)
		assert.Contains(t, attr(exited, "exit").String(), "start: ")
		after := h.clock.nextAfter(t)
		require.Equal(t, wait, after.d)
		after.fire()
	}
	require.Equal(t, "service process exited; restarting it", h.rec.next(t, "orders").Message)
	require.NoError(t, h.stop(t))
}

// harness runs a supervisor on a fake clock, recording its log and its
// children's output.
type harness struct {
	sup    *supervisor
	clock  *fakeClock
	rec    *recorder
	out    *lines
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, children ...childSpec) *harness {
	h := &harness{
		clock: &fakeClock{now: time.Unix(1_700_000_000, 0), afters: make(chan afterCall, 100)},
		rec:   &recorder{changed: make(chan struct{}), cursor: map[string]int{}},
		out:   &lines{changed: make(chan struct{})},
		done:  make(chan error, 1),
	}
	h.sup = &supervisor{
		children:    children,
		logger:      slog.New(h.rec),
		backoff:     defaultBackoff,
		stopTimeout: time.Hour,
		clock:       h.clock,
		stdout:      h.out,
		stderr:      io.Discard,
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.sup.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		// Whatever a failed test left running is stopped: fire every timer.
		for {
			select {
			case <-h.done:
				return
			case a := <-h.clock.afters:
				a.fire()
			case <-time.After(30 * time.Second):
				t.Error("the supervisor did not stop")
				return
			}
		}
	})
	return h
}

// stop cancels the supervisor and returns what run returned.
func (h *harness) stop(t *testing.T) error {
	h.cancel()
	return h.wait(t)
}

func (h *harness) wait(t *testing.T) error {
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not return")
		return nil
	}
}

// fakeClock's time moves only when a test advances it, and its timers fire
// only when a test fires them.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	afters chan afterCall
}

type afterCall struct {
	d  time.Duration
	ch chan time.Time
}

func (a afterCall) fire() { a.ch <- time.Time{} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	a := afterCall{d: d, ch: make(chan time.Time, 1)}
	c.afters <- a
	return a.ch
}

// nextAfter is the next timer the supervisor asked for.
func (c *fakeClock) nextAfter(t *testing.T) afterCall {
	t.Helper()
	select {
	case a := <-c.afters:
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor set no timer")
		return afterCall{}
	}
}

// recorder is a slog.Handler that keeps every record, read per service in
// order.
type recorder struct {
	mu      sync.Mutex
	records []slog.Record
	changed chan struct{} // closed on every new record
	cursor  map[string]int
}

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *recorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *recorder) WithGroup(string) slog.Handler            { return r }

func (r *recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// next is the next record about service, waited for.
func (r *recorder) next(t *testing.T, service string) slog.Record {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		for i := r.cursor[service]; i < len(r.records); i++ {
			if attr(r.records[i], "service").String() == service {
				r.cursor[service] = i + 1
				rec := r.records[i]
				r.mu.Unlock()
				return rec
			}
		}
		r.cursor[service] = len(r.records)
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no further log record about %s", service)
		}
	}
}

// unread counts the records about service that next has not returned yet.
func (r *recorder) unread(service string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.records[r.cursor[service]:] {
		if attr(rec, "service").String() == service {
			n++
		}
	}
	return n
}

func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

func intAttr(t *testing.T, r slog.Record, key string) int64 {
	t.Helper()
	v := attr(r, key)
	require.Equal(t, slog.KindInt64, v.Kind(), "%s in %q", key, r.Message)
	return v.Int64()
}

// lines is the children's output, line by line.
type lines struct {
	mu      sync.Mutex
	partial string
	seen    []string
	changed chan struct{}
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	text := l.partial + string(p)
	complete := strings.Split(text, "\n")
	l.partial = complete[len(complete)-1]
	l.seen = append(l.seen, complete[:len(complete)-1]...)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// wait waits until a child has written line.
func (l *lines) wait(t *testing.T, line string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for _, s := range l.seen {
			if s == line {
				l.mu.Unlock()
				return
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no child wrote %q", line)
		}
	}
}
