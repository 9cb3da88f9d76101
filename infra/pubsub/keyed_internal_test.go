package pubsub

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOffsetTrackerCommitsOnlyPastTheOldestNotAcked(t *testing.T) {
	t.Parallel()
	type step struct {
		ack      int64
		want     int64
		wantMove bool
	}
	tests := []struct {
		name    string
		offsets []int64
		steps   []step
	}{
		{"in order", []int64{0, 1, 2}, []step{{0, 1, true}, {1, 2, true}, {2, 3, true}}},
		{"a later one first", []int64{0, 1, 2}, []step{{2, 0, false}, {1, 0, false}, {0, 3, true}}},
		{"gaps in the offsets", []int64{5, 9, 12}, []step{{9, 0, false}, {5, 10, true}, {12, 13, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tr offsetTracker
			for _, o := range tt.offsets {
				tr.add(o)
			}
			for _, s := range tt.steps {
				next, moved := tr.done(s.ack)
				assert.Equal(t, s.wantMove, moved, "ack %d", s.ack)
				if s.wantMove {
					assert.Equal(t, s.want, next, "ack %d", s.ack)
				}
			}
		})
	}
}
