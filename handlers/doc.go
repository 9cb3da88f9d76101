// Package handlers holds the adapters in: the services' Watermill command and
// event handlers (one subpackage per service) and the gateway's HTTP API
// (httpapi). A handler decodes, calls one use case and maps its errors; no
// business rule lives here.
package handlers

import "github.com/ThreeDotsLabs/watermill/components/cqrs"

// EventGroup is a set of event handlers sharing one subscription to a topic:
// the events of one producer, seen in the order they were published. Name is
// the consumer group: stable, never renamed (renaming re-consumes the topic).
type EventGroup struct {
	Name     string
	Topic    string
	Handlers []cqrs.GroupEventHandler
}
