package messaging

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/orderflow/orderflow/infra/faults"
)

// RetryConfig is the exponential backoff of a failing handler.
type RetryConfig struct {
	// MaxRetries bounds the retries of an error of unknown class; infrastructure
	// faults are retried for as long as the process runs.
	MaxRetries      int
	InitialInterval time.Duration
	// MaxInterval caps the delay between two attempts, whatever the class.
	MaxInterval time.Duration
}

func (c *RetryConfig) setDefaults() {
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	if c.InitialInterval == 0 {
		c.InitialInterval = 50 * time.Millisecond
	}
	if c.MaxInterval == 0 {
		c.MaxInterval = 2 * time.Second
	}
}

// delay is the pause before retry n (0-based): doubling from InitialInterval,
// capped at MaxInterval, with ±20 % jitter so that handlers that failed together
// do not retry together.
func (c RetryConfig) delay(n int) time.Duration {
	d := c.InitialInterval << min(n, 30)
	if d <= 0 || d > c.MaxInterval {
		d = c.MaxInterval
	}
	// Jitter only spreads retries; it needs no unpredictability.
	jitter := time.Duration(float64(d) * 0.2 * (2*rand.Float64() - 1)) //nolint:gosec // see above
	return d + jitter
}

// retry runs the handler until it succeeds or its error's class says to stop:
//   - permanent: at once, for the poison queue;
//   - unknown: after cfg.MaxRetries retries, for the poison queue;
//   - transient (an infrastructure fault): never while the process runs; the
//     message holds its partition, so order is kept, and stalls records the wait;
//   - shutdown, or the message's context ending (the subscriber is closing): at
//     once, with an error of class Shutdown, so the message is not poisoned but
//     left unacked, to be delivered again.
//
// Before each wait it tells notices (nil: nobody) of the retry it schedules.
func retry(cfg RetryConfig, stalls *Stalls, logger *slog.Logger, notices *retryNotifier) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			var unknown int
			var stalled bool
			defer func() {
				if stalled {
					stalls.end(msg)
				}
			}()
			for attempt := 0; ; attempt++ {
				out, err := h(msg)
				if err == nil {
					return out, nil
				}
				ctx := msg.Context()
				class := faults.Classify(err)
				switch class {
				case faults.Permanent, faults.Shutdown:
					return nil, err
				case faults.Unknown:
					if unknown >= cfg.MaxRetries {
						return nil, err
					}
					unknown++
				case faults.Transient:
					if !stalled {
						stalled = true
						stalls.begin(msg, err)
					} else {
						stalls.update(msg, err)
					}
				}
				if ctx.Err() != nil {
					return nil, fmt.Errorf("stopping while retrying (%w): %w", ctx.Err(), err)
				}
				wait := cfg.delay(attempt)
				if span := trace.SpanFromContext(ctx); span.IsRecording() {
					span.AddEvent("retry", trace.WithAttributes(
						attribute.Int("retry.attempt", attempt+1),
						attribute.String("error.class", class.String()),
						attribute.String("retry.in", wait.Round(time.Millisecond).String()),
						attribute.String("exception.message", err.Error()),
					))
				}
				logger.WarnContext(ctx, "handler failed; retrying",
					"handler", message.HandlerNameFromCtx(ctx), "message_uuid", msg.UUID,
					"class", class.String(), "attempt", attempt+1, "retry_in", wait.Round(time.Millisecond), "error", err)
				notices.notify(msg, attempt+1, class, err, wait)
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil, fmt.Errorf("stopping while retrying (%w): %w", context.Canceled, err)
				case <-t.C:
				}
			}
		}
	}
}

// Stalls records the messages whose handlers are waiting out an infrastructure
// fault. While any is, the process is not ready; one that waits too long while
// the broker and the store answer is what the watchdog restarts the process for.
// One Stalls serves every router of a process; the zero value is not usable.
type Stalls struct {
	mu      sync.Mutex
	waiting map[*message.Message]stall
}

type stall struct {
	handler string
	since   time.Time
	err     error
}

// NewStalls returns a Stalls with nothing waiting.
func NewStalls() *Stalls { return &Stalls{waiting: map[*message.Message]stall{}} }

func (s *Stalls) begin(msg *message.Message, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiting[msg] = stall{handler: message.HandlerNameFromCtx(msg.Context()), since: time.Now(), err: err}
}

func (s *Stalls) update(msg *message.Message, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.waiting[msg]; ok {
		st.err = err
		s.waiting[msg] = st
	}
}

func (s *Stalls) end(msg *message.Message) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiting, msg)
}

// Oldest returns the handler that has waited longest, since when, and its last
// error; ok is false when nothing waits.
func (s *Stalls) Oldest() (handler string, since time.Time, err error, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.waiting {
		if !ok || st.since.Before(since) {
			handler, since, err, ok = st.handler, st.since, st.err, true
		}
	}
	return handler, since, err, ok
}

// Check is a readiness check: an error while a handler waits on the infrastructure.
func (s *Stalls) Check(context.Context) error {
	handler, since, err, ok := s.Oldest()
	if !ok {
		return nil
	}
	return fmt.Errorf("handler %s has waited %s on the infrastructure: %v", handler, time.Since(since).Round(time.Millisecond), err) //nolint:errorlint // a readiness report: only its text is shown, nothing matches on it
}
