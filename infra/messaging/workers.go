package messaging

import (
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// workers runs each message's handler chain on a goroutine that has handled
// messages before, rather than on the fresh goroutine Watermill's router
// starts for every message. A fresh goroutine starts with a small stack and
// grows it, copying the stack each time, as the chain gets deep (the
// middleware, JSON decoding, the use case, the store): runtime.copystack was
// 15 % of the embedded mode's CPU. A worker's stack has grown already. gRPC's
// server does the same, for the same reason (its NumStreamWorkers option).
//
// At most max workers exist at once; when none is idle and max are busy, the
// chain runs on the router's goroutine, as without workers. A worker idle for
// idle ends, so a stopped router leaves none behind for long. What the chain
// returns, a panic included, is handed back to the router's goroutine as is.
type workers struct {
	jobs chan *job // unbuffered: a send succeeds only when a worker is idle
	max  int
	idle time.Duration

	mu      sync.Mutex
	running int

	free sync.Pool // of *job
}

// job is one message handed to a worker, and what came of it.
type job struct {
	handler  message.HandlerFunc
	msg      *message.Message
	out      []*message.Message
	err      error
	panicked bool
	panicVal any
	done     chan struct{} // buffered: the worker never waits on it
}

// Defaults of the workers of a router.
const (
	handlerWorkers    = 256
	handlerWorkerIdle = 10 * time.Second
)

func newWorkers(max int, idle time.Duration) *workers {
	w := &workers{jobs: make(chan *job), max: max, idle: idle}
	w.free.New = func() any { return &job{done: make(chan struct{}, 1)} }
	return w
}

// middleware is the outermost middleware of a router: the rest of the chain
// runs on a worker.
func (w *workers) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		j := w.free.Get().(*job) //nolint:forcetypeassert // the pool holds *job only
		j.handler, j.msg = h, msg
		select {
		case w.jobs <- j:
		default:
			if !w.start(j) {
				w.release(j)
				return h(msg)
			}
		}
		<-j.done
		out, err, panicked, panicVal := j.out, j.err, j.panicked, j.panicVal
		w.release(j)
		if panicked {
			panic(panicVal) // for the router's own recovery, as if the chain ran there
		}
		return out, err
	}
}

// start starts a worker on j unless max are running already.
func (w *workers) start(j *job) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running >= w.max {
		return false
	}
	w.running++
	go w.work(j)
	return true
}

func (w *workers) release(j *job) {
	*j = job{done: j.done}
	w.free.Put(j)
}

// work runs j, then every job sent to it, until it has been idle for w.idle.
func (w *workers) work(j *job) {
	idle := time.NewTimer(w.idle)
	defer idle.Stop()
	for {
		j.run()
		idle.Reset(w.idle)
		select {
		case j = <-w.jobs:
		case <-idle.C:
			w.mu.Lock()
			w.running--
			w.mu.Unlock()
			return
		}
	}
}

func (j *job) run() {
	defer func() {
		if r := recover(); r != nil {
			j.panicked, j.panicVal = true, r
		}
		j.done <- struct{}{}
	}()
	j.out, j.err = j.handler(j.msg)
}
