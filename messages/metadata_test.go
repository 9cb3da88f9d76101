package messages

import (
	"context"
	"testing"
)

// The standard library only, as everywhere in messages (see .golangci.yml).

func TestTraceIDFromTraceParent(t *testing.T) {
	t.Parallel()
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, tc := range []struct {
		name, traceparent, want string
	}{
		{name: "version 00, sampled", traceparent: "00-" + id + "-00f067aa0ba902b7-01", want: id},
		{name: "version 00, not sampled", traceparent: "00-" + id + "-00f067aa0ba902b7-00", want: id},
		{name: "a later version with more fields", traceparent: "01-" + id + "-00f067aa0ba902b7-01-whatever", want: id},
		{name: "version 00 with more fields", traceparent: "00-" + id + "-00f067aa0ba902b7-01-x"},
		{name: "empty", traceparent: ""},
		{name: "too short", traceparent: "00-" + id[:31] + "-00f067aa0ba902b7-01"},
		{name: "upper-case hex", traceparent: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"},
		{name: "all-zero trace id", traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
		{name: "forbidden version ff", traceparent: "ff-" + id + "-00f067aa0ba902b7-01"},
		{name: "bad separators", traceparent: "00_" + id + "_00f067aa0ba902b7_01"},
		{name: "bad parent id", traceparent: "00-" + id + "-00f067aa0ba902zz-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := TraceIDFromTraceParent(tc.traceparent); got != tc.want {
				t.Errorf("TraceIDFromTraceParent(%q) = %q, want %q", tc.traceparent, got, tc.want)
			}
		})
	}
}

func TestTraceIDTravelsInTheContext(t *testing.T) {
	t.Parallel()
	if got := TraceID(context.Background()); got != "" {
		t.Errorf("TraceID of a bare context = %q, want none", got)
	}
	const id = "4bf92f3577b34da6a3ce929d0e0e4736"
	if got := TraceID(WithTraceID(context.Background(), id)); got != id {
		t.Errorf("TraceID = %q, want %q", got, id)
	}
}
