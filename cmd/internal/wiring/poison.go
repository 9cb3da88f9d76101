package wiring

import (
	"fmt"

	"github.com/ThreeDotsLabs/watermill/components/requestreply"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/orderflow/orderflow/app/poison"
	poisonhandlers "github.com/orderflow/orderflow/handlers/poison"
	"github.com/orderflow/orderflow/infra/memory"
	"github.com/orderflow/orderflow/infra/messaging"
	"github.com/orderflow/orderflow/messages"
)

// PoisonStores are the poison queues of the three stateful services, each
// kept beside the service's other data.
type PoisonStores struct {
	Orders    poison.Store
	Inventory poison.Store
	Delivery  poison.Store
}

// NewMemoryPoisonStores returns empty in-memory poison stores.
func NewMemoryPoisonStores() PoisonStores {
	return PoisonStores{Orders: memory.NewPoisonStore(), Inventory: memory.NewPoisonStore(), Delivery: memory.NewPoisonStore()}
}

// addPoisonQueue makes the service keep what lands in its poison topic: a
// consumer of the topic records each message in store, and the service answers
// PoisonAdmin (list, get, requeue, requeue all, discard) on its own topic.
func (d Deps) addPoisonQueue(r *message.Router, p *messaging.Processors, service, topic string, store poison.Store, replies requestreply.Backend[any]) error {
	if store == nil {
		return fmt.Errorf("%s: no poison store", service)
	}
	svc := poison.NewService(service, store, messaging.Republisher{Publisher: d.PubSub.Publisher}, d.Now)
	group := poisonhandlers.StoreHandlerName(service)
	sub, err := d.PubSub.Subscriber(group)
	if err != nil {
		return fmt.Errorf("%s subscriber: %w", group, err)
	}
	r.AddConsumerHandler(group, topic, sub, poisonhandlers.StoreHandler(svc))
	adminTopic, err := messages.PoisonAdminTopic(service)
	if err != nil {
		return err
	}
	if err := p.AddCommandHandlersOn(adminTopic, poisonhandlers.CommandHandlers(svc, replies)...); err != nil {
		return fmt.Errorf("%s poison admin: %w", service, err)
	}
	return nil
}
