package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/event"
)

// ComposeMonitors returns one command monitor that hands every event to each
// of monitors in turn (the driver takes a single one: tracing and counting
// each want theirs). Nil monitors, and nil callbacks, are skipped; with none
// left it returns nil (no monitor, no cost).
func ComposeMonitors(monitors ...*event.CommandMonitor) *event.CommandMonitor {
	var ms []*event.CommandMonitor
	for _, m := range monitors {
		if m != nil {
			ms = append(ms, m)
		}
	}
	switch len(ms) {
	case 0:
		return nil
	case 1:
		return ms[0]
	}
	return &event.CommandMonitor{
		Started: func(ctx context.Context, e *event.CommandStartedEvent) {
			for _, m := range ms {
				if m.Started != nil {
					m.Started(ctx, e)
				}
			}
		},
		Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
			for _, m := range ms {
				if m.Succeeded != nil {
					m.Succeeded(ctx, e)
				}
			}
		},
		Failed: func(ctx context.Context, e *event.CommandFailedEvent) {
			for _, m := range ms {
				if m.Failed != nil {
					m.Failed(ctx, e)
				}
			}
		},
	}
}
