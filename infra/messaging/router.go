// Package messaging wires Watermill for the services: a router per service with
// its middleware, the cqrs command and event buses and processors, and the
// request/reply backend that carries answers back to the gateway.
package messaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/orderflow/orderflow/infra/faults"
	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/messages"
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
	// CloseTimeout bounds how long closing waits for in-flight handlers.
	CloseTimeout time.Duration
	// Middleware runs inside the standard stack, right around the handler (tests
	// use it to duplicate or fail messages).
	Middleware []message.HandlerMiddleware
	Logger     *slog.Logger
}

// RetryConfig is the exponential backoff of a failing handler.
type RetryConfig struct {
	MaxRetries      int
	InitialInterval time.Duration
	MaxInterval     time.Duration
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

// NewRouter returns a router with the standard middleware, outermost first:
// correlation ID, poison queue, retry with exponential backoff, panic recovery.
// A message that still fails after the retries, or that can never succeed
// (malformed, or breaking its contract), goes to the poison topic with its
// payload, its metadata and the reason, and is acked so the rest flows on.
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
	poison := PoisonQueue(cfg.Publisher, cfg.PoisonTopic, cfg.Service, func(err error) bool {
		return faults.Classify(err) != faults.Shutdown && faults.Classify(err) != faults.Transient
	})
	retry := middleware.Retry{
		MaxRetries:          cfg.Retry.MaxRetries,
		InitialInterval:     cfg.Retry.InitialInterval,
		MaxInterval:         cfg.Retry.MaxInterval,
		Multiplier:          2,
		RandomizationFactor: 0.2,
		ShouldRetry:         func(p middleware.RetryParams) bool { return !Permanent(p.Err) },
		ResetContextOnRetry: false,
	}
	router.AddMiddleware(
		middleware.CorrelationID,
		correlationToContext,
		poison,
		logFailures(logger),
		retry.Middleware,
		middleware.Recoverer,
	)
	router.AddMiddleware(cfg.Middleware...)
	return router, nil
}

// Permanent reports whether err can never go away by retrying: a payload that
// does not decode, or a message breaking its contract.
func Permanent(err error) bool {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.Is(err, messages.ErrInvalid) || errors.As(err, &syntax) || errors.As(err, &typ)
}

// logFailures logs, with the message's correlation ID, a handler giving up on a message.
func logFailures(logger *slog.Logger) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			out, err := h(msg)
			if err != nil {
				logger.ErrorContext(msg.Context(), "message handling failed; sending it to the poison queue",
					"handler", message.HandlerNameFromCtx(msg.Context()),
					"message_uuid", msg.UUID,
					"permanent", Permanent(err),
					"error", err)
			}
			return out, err
		}
	}
}
