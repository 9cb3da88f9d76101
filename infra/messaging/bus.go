package messaging

import (
	"fmt"
	"log/slog"
	"reflect"

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
type Processors struct {
	router   *message.Router
	ps       pubsub.PubSub
	commands *cqrs.CommandProcessor
	// handlerTopics are the topics of command handlers added with
	// AddCommandHandlersOn, by handler name.
	handlerTopics map[string]string
}

// NewProcessors returns processors that subscribe through ps.
func NewProcessors(router *message.Router, ps pubsub.PubSub, logger *slog.Logger) (*Processors, error) {
	p := &Processors{router: router, ps: ps, handlerTopics: map[string]string{}}
	var err error
	p.commands, err = cqrs.NewCommandProcessorWithConfig(router, cqrs.CommandProcessorConfig{
		GenerateSubscribeTopic: func(params cqrs.CommandProcessorGenerateSubscribeTopicParams) (string, error) {
			if t, ok := p.handlerTopics[params.CommandHandler.HandlerName()]; ok {
				return t, nil
			}
			return messages.CommandTopic(params.CommandName)
		},
		SubscriberConstructor: func(params cqrs.CommandProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			return ps.Subscriber(params.HandlerName)
		},
		Marshaler: marshaler,
		Logger:    logging.Watermill(logger),
	})
	if err != nil {
		return nil, fmt.Errorf("command processor: %w", err)
	}
	return p, nil
}

// AddCommandHandlers registers command handlers.
func (p *Processors) AddCommandHandlers(hs ...cqrs.CommandHandler) error {
	return p.commands.AddHandlers(hs...)
}

// AddCommandHandlersOn registers command handlers that consume topic rather
// than the topic of their command's name: a command every service answers for
// itself (messages.Addressed).
func (p *Processors) AddCommandHandlersOn(topic string, hs ...cqrs.CommandHandler) error {
	for _, h := range hs {
		p.handlerTopics[h.HandlerName()] = topic
	}
	return p.commands.AddHandlers(hs...)
}

// AddEventGroup registers a group of event handlers sharing one subscription
// to topic, as the consumer group name: each event of the topic goes to the
// handlers of its type, in the order given, and an event no handler takes is
// acked (a group reads its producer's whole topic and handles the events it
// cares about).
//
// It does what cqrs.EventGroupProcessor does, dispatching by the event's name
// from a table built here instead: the processor makes two events, formats
// a name and builds a trace log's fields for every handler of the group on every
// message, whichever handler takes it.
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
	sub, err := p.ps.Subscriber(name)
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
