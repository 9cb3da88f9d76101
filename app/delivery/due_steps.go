package delivery

import (
	"container/heap"
	"sync"
	"time"
)

// maxKnownSteps bounds the steps a service remembers; past it, a step is not
// remembered and the courier's periodic look (see StepDue) finds it.
const maxKnownSteps = 100_000

// dueSteps remembers when the steps this service scheduled fall due, so that
// the simulated courier asks the store for due shipments when one is, not at
// every tick: a cost per step rather than per second.
type dueSteps struct {
	mu sync.Mutex
	at timeHeap
}

// note remembers a step due at t (none for the zero time).
func (d *dueSteps) note(t time.Time) {
	if t.IsZero() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.at) < maxKnownSteps {
		heap.Push(&d.at, t.UnixNano())
	}
}

// take forgets the steps due at now and reports whether there were any.
func (d *dueSteps) take(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	due := false
	for len(d.at) > 0 && d.at[0] <= now.UnixNano() {
		heap.Pop(&d.at)
		due = true
	}
	return due
}

// timeHeap is a min-heap of Unix nanoseconds (container/heap).
type timeHeap []int64

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(int64)) }
func (h *timeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// StepDue reports whether a step this service scheduled (a shipment's next
// step for the simulated courier) has fallen due since it was last asked, on
// the service's clock, and forgets those. The courier asks the store for due shipments when
// it says yes, and now and then anyway, for the steps it cannot know of: those
// scheduled by another instance, or before a restart.
func (s *Service) StepDue() bool {
	return s.due.take(s.now())
}
