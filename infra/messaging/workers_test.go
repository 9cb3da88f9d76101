package messaging

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkersHandBackWhatTheChainReturns(t *testing.T) {
	t.Parallel()
	produced := []*message.Message{message.NewMessage("out", nil)}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		handler message.HandlerFunc
		out     []*message.Message
		err     error
		panics  any
	}{
		{name: "messages", handler: func(*message.Message) ([]*message.Message, error) { return produced, nil }, out: produced},
		{name: "error", handler: func(*message.Message) ([]*message.Message, error) { return nil, boom }, err: boom},
		{name: "panic", handler: func(*message.Message) ([]*message.Message, error) { panic("bad handler") }, panics: "bad handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorkers(2, time.Minute)
			h := w.middleware(tt.handler)
			for range 3 { // the first starts a worker, the others reuse it
				if tt.panics != nil {
					assert.PanicsWithValue(t, tt.panics, func() { _, _ = h(message.NewMessage("in", nil)) })
					continue
				}
				out, err := h(message.NewMessage("in", nil))
				assert.Equal(t, tt.out, out)
				assert.ErrorIs(t, err, tt.err)
			}
		})
	}
}

// Past max busy workers, the chain runs on the caller's goroutine: nothing
// waits for a worker.
func TestWorkersRunInlineWhenAllAreBusy(t *testing.T) {
	t.Parallel()
	w := newWorkers(1, time.Minute)
	release := make(chan struct{})
	entered := make(chan struct{})
	blocking := w.middleware(func(*message.Message) ([]*message.Message, error) {
		close(entered)
		<-release
		return nil, nil
	})
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = blocking(message.NewMessage("1", nil)) })
	<-entered

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := w.middleware(func(*message.Message) ([]*message.Message, error) { return nil, nil })(message.NewMessage("2", nil))
		assert.NoError(t, err)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a message waited for the busy worker")
	}
	close(release)
	wg.Wait()
}

func TestWorkersEndWhenIdle(t *testing.T) {
	t.Parallel()
	w := newWorkers(4, time.Millisecond)
	_, err := w.middleware(func(*message.Message) ([]*message.Message, error) { return nil, nil })(message.NewMessage("1", nil))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.running == 0
	}, 10*time.Second, time.Millisecond)
}
