// Package messaging wires Watermill for the services: a router per service with
// its middleware, the cqrs command and event buses and processors, and the
// request/reply backend that carries answers back to the gateway.
package messaging

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/infra/logging"
)

// RouterConfig configures a service's router.
type RouterConfig struct {
	// Service names the service in logs.
	Service string
	// PoisonTopic receives the messages a handler gave up on, with the reason.
	PoisonTopic string
	// Publisher publishes to the poison topic.
	Publisher message.Publisher
	// Retry is the retry policy; zero values take the defaults.
	Retry RetryConfig
	// RetryNotices, when set, publishes a notice of the retries the router
	// schedules (messages.MessageRetried); nil sends none.
	RetryNotices *RetryNotices
	// Stalls records handlers waiting out an infrastructure fault (nil: not recorded).
	Stalls *Stalls
	// CloseTimeout bounds how long closing waits for in-flight handlers.
	CloseTimeout time.Duration
	// Middleware runs inside the standard stack, right around the handler (tests
	// use it to duplicate or fail messages).
	Middleware []message.HandlerMiddleware
	// Tracing, when set, opens a consumer span around everything but the
	// correlation ID (tracing.Tracing.Middleware), so that retries and the
	// poison queue show on it as events.
	Tracing message.HandlerMiddleware
	Logger  *slog.Logger
}

// NewRouter returns a router with the standard middleware, outermost first:
// the hand-over to a worker goroutine (see workers), correlation ID, tracing (when set), the drop of an expired command
// (see dropExpired), poison queue, failure log, retry by error class, panic recovery.
// A message that can never succeed (malformed, or breaking its contract), or
// whose handler still fails with an error of unknown class after the retries,
// goes to the poison topic with its payload, its metadata and the reason, and
// is acked so the rest flows on. An infrastructure fault is retried for as long
// as the process runs, and a stop leaves the message unacked for redelivery:
// neither is ever poisoned (see package faults).
func NewRouter(cfg RouterConfig) (*message.Router, error) {
	if cfg.Logger == nil {
		return nil, errors.New("router needs a logger")
	}
	cfg.Retry.setDefaults()
	if cfg.CloseTimeout == 0 {
		cfg.CloseTimeout = 30 * time.Second
	}
	logger := cfg.Logger.With("service", cfg.Service)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, logging.Watermill(logger))
	if err != nil {
		return nil, fmt.Errorf("new router: %w", err)
	}
	poison := PoisonQueue(cfg.Publisher, cfg.PoisonTopic, cfg.Service, ShouldPoison)
	router.AddMiddleware(newWorkers(handlerWorkers, handlerWorkerIdle).middleware)
	router.AddMiddleware(middleware.CorrelationID, correlationToContext)
	if cfg.Tracing != nil {
		router.AddMiddleware(cfg.Tracing)
	}
	router.AddMiddleware(
		dropExpired(logger, time.Now),
		poison,
		logFailures(logger, cfg.PoisonTopic),
		retry(cfg.Retry, cfg.Stalls, logger, newRetryNotifier(cfg.RetryNotices, cfg.Service, logger)),
		middleware.Recoverer,
	)
	router.AddMiddleware(cfg.Middleware...)
	return router, nil
}

// ShouldPoison reports whether a handler's final error sends its message to
// the poison queue: only a permanent error, or one of unknown class that
// outlived its retries. Infrastructure faults and stops never do.
func ShouldPoison(err error) bool {
	switch faults.Classify(err) {
	case faults.Permanent, faults.Unknown:
		return true
	}
	return false
}

// logFailures logs, with the message's correlation ID, a handler giving up on
// a message: for the poison queue, or left unacked by a stop.
func logFailures(logger *slog.Logger, poisonTopic string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err == nil {
				return out, nil
			}
			attrs := []any{"handler", message.HandlerNameFromCtx(msg.Context()), "message_uuid", msg.UUID,
				"class", faults.Classify(err).String(), "error", err}
			// The poison store's own handler is retried, never poisoned (see PoisonQueue).
			if ShouldPoison(err) && message.SubscribeTopicFromCtx(msg.Context()) != poisonTopic {
				logger.ErrorContext(msg.Context(), "message handling failed; sending it to the poison queue", attrs...)
			} else {
				logger.InfoContext(msg.Context(), "message left unacked for redelivery", attrs...)
			}
			return out, err
		}
	}
}
