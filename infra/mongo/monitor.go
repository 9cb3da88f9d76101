package mongo

import (
	"context"
	"maps"
	"sync"

	"go.mongodb.org/mongo-driver/event"
)

// CommandKey names a kind of command: the database it went to and the
// command's name as the driver sends it (find, insert, update, getMore...).
// A ReplaceOne or UpdateOne is an "update", a FindOne a "find" with limit 1.
type CommandKey struct {
	Database string
	Command  string
}

// CommandCounter counts the commands a client starts, by database and name.
// It is what the benchmarks read to report commands per order; a process
// counts into Prometheus instead (see CountCommands).
type CommandCounter struct {
	mu     sync.Mutex
	counts map[CommandKey]int64
}

// NewCommandCounter returns a counter at zero; pass its Monitor to Connect.
func NewCommandCounter() *CommandCounter {
	return &CommandCounter{counts: map[CommandKey]int64{}}
}

// Monitor returns the command monitor that feeds the counter.
func (c *CommandCounter) Monitor() *event.CommandMonitor {
	return CountCommands(func(database, command string) {
		c.mu.Lock()
		c.counts[CommandKey{Database: database, Command: command}]++
		c.mu.Unlock()
	})
}

// Snapshot returns the counts so far.
func (c *CommandCounter) Snapshot() map[CommandKey]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Since returns the counts added since an earlier snapshot.
func (c *CommandCounter) Since(before map[CommandKey]int64) map[CommandKey]int64 {
	out := map[CommandKey]int64{}
	for k, n := range c.Snapshot() {
		if d := n - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// CountCommands returns a command monitor that calls count once for every
// command the client starts (a retried command counts again: it is another
// round trip). count must be safe for concurrent use and cheap: it runs on
// the path of every command.
func CountCommands(count func(database, command string)) *event.CommandMonitor {
	return &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			count(e.DatabaseName, e.CommandName)
		},
	}
}

// chainMonitors returns one monitor that calls each of monitors in turn (the
// driver takes one), nil when there are none.
func chainMonitors(monitors []*event.CommandMonitor) *event.CommandMonitor {
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
