package mongo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.mongodb.org/mongo-driver/event"

	mongostore "github.com/orderflow/orderflow/infra/mongo"
)

func TestComposeMonitorsHandsEveryEventToEach(t *testing.T) {
	t.Parallel()
	var got []string
	record := func(name string) *event.CommandMonitor {
		return &event.CommandMonitor{
			Started:   func(context.Context, *event.CommandStartedEvent) { got = append(got, name+" started") },
			Succeeded: func(context.Context, *event.CommandSucceededEvent) { got = append(got, name+" succeeded") },
			Failed:    func(context.Context, *event.CommandFailedEvent) { got = append(got, name+" failed") },
		}
	}
	onlyStarted := &event.CommandMonitor{Started: func(context.Context, *event.CommandStartedEvent) { got = append(got, "c started") }}
	m := mongostore.ComposeMonitors(record("a"), nil, onlyStarted, record("b"))
	m.Started(t.Context(), &event.CommandStartedEvent{})
	m.Succeeded(t.Context(), &event.CommandSucceededEvent{})
	m.Failed(t.Context(), &event.CommandFailedEvent{})
	assert.Equal(t, []string{"a started", "c started", "b started", "a succeeded", "b succeeded", "a failed", "b failed"}, got)
}

func TestComposeMonitorsOfNoneIsNone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		monitors []*event.CommandMonitor
	}{
		{name: "no monitors"},
		{name: "only nil monitors", monitors: []*event.CommandMonitor{nil, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Nil(t, mongostore.ComposeMonitors(tc.monitors...))
		})
	}
	one := &event.CommandMonitor{}
	assert.Same(t, one, mongostore.ComposeMonitors(nil, one), "a single monitor is used as it is")
}
