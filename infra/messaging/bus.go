package messaging

import (
	"fmt"
	"log/slog"
	"reflect"
	"slices"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/infra/logging"
	"github.com/orderflow/orderflow/infra/pubsub"
	"github.com/orderflow/orderflow/messages"
)

// NewCommandBus returns the bus commands are sent on. Every command carries the
// correlation ID of the context it is sent with, and its partition key.
func NewCommandBus(pub message.Publisher, logger *slog.Logger) (*cqrs.CommandBus, error) {
	bus, err := cqrs.NewCommandBusWithConfig(pub, cqrs.CommandBusConfig{
		GeneratePublishTopic: func(p cqrs.CommandBusGeneratePublishTopicParams) (string, error) {
			if a, ok := p.Command.(messages.Addressed); ok {
				return a.CommandTopic()
			}
			return messages.CommandTopic(p.CommandName)
		},
		OnSend: func(p cqrs.CommandBusOnSendParams) error {
			stamp(p.Message, p.Command)
			return nil
		},
		Marshaler: marshaler,
		Logger:    logging.Watermill(logger),
	})
	if err != nil {
		return nil, fmt.Errorf("command bus: %w", err)
	}
	return bus, nil
}

// NewEventBus returns the bus events are published on, stamped like commands.
func NewEventBus(pub message.Publisher, logger *slog.Logger) (*cqrs.EventBus, error) {
	bus, err := cqrs.NewEventBusWithConfig(pub, cqrs.EventBusConfig{
		GeneratePublishTopic: func(p cqrs.GenerateEventPublishTopicParams) (string, error) {
			return messages.EventTopic(p.EventName)
		},
		OnPublish: func(p cqrs.OnEventSendParams) error {
			stamp(p.Message, p.Event)
			return nil
		},
		Marshaler: marshaler,
		Logger:    logging.Watermill(logger),
	})
	if err != nil {
		return nil, fmt.Errorf("event bus: %w", err)
	}
	return bus, nil
}

// Processors registers a service's cqrs handlers on its router. Each handler
// subscribes as a consumer group named after it.
//
// It adds the router handlers itself rather than through cqrs.CommandProcessor
// and cqrs.EventGroupProcessor, doing what they do (the same handler names,
// consumer groups, topics, and the original message in the handler's context)
// at less cost per message: the processors make a command or event per
// handler and message and format a name and a log line's fields whether or not
// the message is for that handler.
type Processors struct {
	router *message.Router
	ps     pubsub.PubSub
}

// NewProcessors returns processors that subscribe through ps.
func NewProcessors(router *message.Router, ps pubsub.PubSub, _ *slog.Logger) (*Processors, error) {
	return &Processors{router: router, ps: ps}, nil
}

// AddCommandHandlers registers command handlers, each on the topic of its
// command's name.
func (p *Processors) AddCommandHandlers(hs ...cqrs.CommandHandler) error {
	return p.addCommandHandlers("", hs)
}

// AddCommandHandlersOn registers command handlers that consume topic rather
// than the topic of their command's name: a command every service answers for
// itself (messages.Addressed).
func (p *Processors) AddCommandHandlersOn(topic string, hs ...cqrs.CommandHandler) error {
	return p.addCommandHandlers(topic, hs)
}

func (p *Processors) addCommandHandlers(topic string, hs []cqrs.CommandHandler) error {
	names := make([]string, len(hs))
	for i, h := range hs {
		cmd := h.NewCommand()
		if reflect.TypeOf(cmd).Kind() != reflect.Pointer {
			return fmt.Errorf("command handler %s: it must take a pointer, not %T", h.HandlerName(), cmd)
		}
		names[i] = marshaler.Name(cmd)
		if slices.Contains(names[:i], names[i]) {
			return cqrs.DuplicateCommandHandlerError{CommandName: names[i]}
		}
	}
	for i, h := range hs {
		if err := p.addCommandHandler(topic, names[i], h); err != nil {
			return err
		}
	}
	return nil
}

func (p *Processors) addCommandHandler(topic, name string, h cqrs.CommandHandler) error {
	if topic == "" {
		var err error
		if topic, err = messages.CommandTopic(name); err != nil {
			return fmt.Errorf("command handler %s: %w", h.HandlerName(), err)
		}
	}
	sub, err := p.ps.Subscriber(h.HandlerName())
	if err != nil {
		return fmt.Errorf("command handler %s: subscriber: %w", h.HandlerName(), err)
	}
	p.router.AddConsumerHandler(h.HandlerName(), topic, sub, func(msg *message.Message) error {
		if marshaler.NameFromMessage(msg) != name {
			return nil // another command on a shared topic: not this handler's (acked, as cqrs does)
		}
		ctx := cqrs.CtxWithOriginalMessage(msg.Context(), msg)
		msg.SetContext(ctx)
		cmd := h.NewCommand()
		if err := marshaler.Unmarshal(msg, cmd); err != nil {
			return err
		}
		return h.Handle(ctx, cmd)
	})
	return nil
}

// AddEventGroup registers a group of event handlers sharing one subscription
// to topic, as the consumer group name: each event of the topic goes to the
// handlers of its type, in the order given, and an event no handler takes is
// acked (a group reads its producer's whole topic and handles the events it
// cares about).
//
// Events are dispatched by name from a table built here, once.
func (p *Processors) AddEventGroup(name, topic string, hs ...cqrs.GroupEventHandler) error {
	byName := map[string][]cqrs.GroupEventHandler{}
	for _, h := range hs {
		ev := h.NewEvent()
		if reflect.TypeOf(ev).Kind() != reflect.Pointer {
			return fmt.Errorf("event group %s: the handler of %T must take a pointer", name, ev)
		}
		n := marshaler.Name(ev)
		byName[n] = append(byName[n], h)
	}
	var sub message.Subscriber
	var err error
	if p.ps.FilteredSubscriber != nil {
		// In one process, an event the group does not handle is not delivered to it.
		sub, err = p.ps.FilteredSubscriber(name, func(msg *message.Message) bool {
			_, ok := byName[marshaler.NameFromMessage(msg)]
			return ok
		})
	} else {
		sub, err = p.ps.Subscriber(name)
	}
	if err != nil {
		return fmt.Errorf("event group %s: subscriber: %w", name, err)
	}
	p.router.AddConsumerHandler(name, topic, sub, func(msg *message.Message) error {
		handlers := byName[marshaler.NameFromMessage(msg)]
		if len(handlers) == 0 {
			return nil
		}
		ctx := cqrs.CtxWithOriginalMessage(msg.Context(), msg)
		msg.SetContext(ctx)
		for _, h := range handlers {
			ev := h.NewEvent()
			if err := marshaler.Unmarshal(msg, ev); err != nil {
				return err
			}
			if err := h.Handle(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	return nil
}
