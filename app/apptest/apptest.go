// Package apptest holds the fakes the use-case tests of app/* share: a publisher that records
// what it was given and can fail its next calls, and a settable clock; the tests of handlers and
// cmd use the clock too, and a buffer that goroutines may write to. It is test support: only
// _test.go files import it, and like every app package it needs nothing but messages and the
// standard library.
package apptest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// ErrBroker is what a failing Publisher returns.
var ErrBroker = errors.New("broker unavailable")

// Published is an event as the publisher got it, with the correlation ID of the context it was
// published with.
type Published struct {
	Event         any
	CorrelationID string
}

// Publisher records what is published; FailNext makes the next calls fail with ErrBroker. The
// zero value is ready to use and it is safe for concurrent use.
type Publisher struct {
	mu       sync.Mutex
	failures int
	events   []Published
}

// Publish records the event, or fails while failures are pending.
func (p *Publisher) Publish(ctx context.Context, event any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failures > 0 {
		p.failures--
		return ErrBroker
	}
	p.events = append(p.events, Published{Event: event, CorrelationID: messages.CorrelationID(ctx)})
	return nil
}

// FailNext makes the next n calls of Publish fail.
func (p *Publisher) FailNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = n
}

// Published returns what was published so far, in order.
func (p *Publisher) Published() []Published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

// OfType returns the events of type T, in order.
func OfType[T any](events []Published) []T {
	var out []T
	for _, e := range events {
		if ev, ok := e.Event.(T); ok {
			out = append(out, ev)
		}
	}
	return out
}

// Clock is a settable clock for the services' NewService; safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Buffer is a bytes.Buffer that is safe for concurrent use: what a server's or a command's
// goroutines log or print while a test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
