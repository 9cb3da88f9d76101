// Package faults classifies the errors a message handler can return, so the
// router knows what to do with its message:
//
//   - permanent: the message can never succeed (it does not decode, or it breaks
//     its contract); it goes to the poison queue at once;
//   - transient: the infrastructure failed (broker or store unreachable, a
//     timeout, a producer error); the message is retried for as long as the
//     process runs, never poisoned;
//   - shutdown: the process is stopping and cancelled the message's context; the
//     message is left unacked and comes again;
//   - anything else is unknown: retried a bounded number of times, then poisoned.
//
// Adapters out (stores, publishers) mark their infrastructure errors with
// Unavailable; the router reads the class with Classify.
package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/orderflow/orderflow/messages"
)

// ErrUnavailable marks an error of the infrastructure: trying again later helps.
var ErrUnavailable = errors.New("infrastructure unavailable")

// Unavailable marks err as a fault of the infrastructure (nil stays nil).
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return unavailable{err}
}

type unavailable struct{ err error }

func (u unavailable) Error() string { return u.err.Error() }

func (u unavailable) Unwrap() []error { return []error{u.err, ErrUnavailable} }

// Class is what the router does with a failed message.
type Class int

// The classes of handler errors.
const (
	// Unknown errors are retried a bounded number of times, then poisoned.
	Unknown Class = iota
	// Permanent errors are poisoned at once.
	Permanent
	// Transient errors are retried with capped backoff while the process runs.
	Transient
	// Shutdown errors leave the message unacked, to be delivered again.
	Shutdown
)

func (c Class) String() string {
	switch c {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Shutdown:
		return "shutdown"
	}
	return "unknown"
}

// Classify tells the class of a handler's error. A permanent mark wins over a
// transient one: a message that breaks its contract never gets better.
func Classify(err error) Class {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return Unknown
	case errors.Is(err, messages.ErrInvalid), errors.As(err, &syntax), errors.As(err, &typ):
		return Permanent
	case errors.Is(err, context.Canceled):
		return Shutdown
	case errors.Is(err, ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return Transient
	}
	return Unknown
}

// Describe is a short text of the error with its class, for logs and poison reasons.
func Describe(err error) string { return fmt.Sprintf("%s: %v", Classify(err), err) }
