package mongo

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRecentDocs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(r *recentDocs[string]) (string, bool)
		want string
		ok   bool
	}{
		{"nothing remembered", func(r *recentDocs[string]) (string, bool) { return r.recall("a") }, "", false},
		{"the newer revision wins", func(r *recentDocs[string]) (string, bool) {
			r.remember("a", "rev 2", 2)
			r.remember("a", "rev 1, read late", 1)
			return r.recall("a")
		}, "rev 2", true},
		{"forgotten when stale", func(r *recentDocs[string]) (string, bool) {
			r.remember("a", "rev 2", 2)
			r.forget("a")
			return r.recall("a")
		}, "", false},
		{"after forgetting, any revision", func(r *recentDocs[string]) (string, bool) {
			r.remember("a", "rev 2", 2)
			r.forget("a")
			r.remember("a", "rev 1", 1)
			return r.recall("a")
		}, "rev 1", true},
		{"the first remembered is evicted past the capacity", func(r *recentDocs[string]) (string, bool) {
			for i := range recentCapacity + 1 {
				r.remember(fmt.Sprint(i), "doc", 1)
			}
			return r.recall("0")
		}, "", false},
		{"the others stay", func(r *recentDocs[string]) (string, bool) {
			for i := range recentCapacity + 1 {
				r.remember(fmt.Sprint(i), fmt.Sprint("doc ", i), 1)
			}
			return r.recall("1")
		}, "doc 1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tt.run(newRecentDocs[string]())
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
	t.Run("a nil one remembers nothing", func(t *testing.T) {
		t.Parallel()
		var r *recentDocs[string]
		r.remember("a", "doc", 1)
		r.forget("a")
	})
}
