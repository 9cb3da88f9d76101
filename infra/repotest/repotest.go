// Package repotest holds one contract suite per repository port of app/, run
// against every implementation (infra/memory, infra/mongo) with the same
// assertions, so that they are interchangeable.
//
// A suite calls newRepo once per subtest and runs its subtests in parallel, so
// newRepo must be safe to call concurrently. An implementation may hand out
// repositories sharing one database: every subtest names its aggregates with
// a prefix of its own and queries within its own customer or time window.
//
// Stores may keep times in milliseconds and in UTC and may read an empty map
// or slice back as nil, so values are compared after normalising those.
package repotest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
)

// writers is how many goroutines update one aggregate at once in the
// concurrency subtests.
const writers = 20

var seq atomic.Uint64

// uniquePrefix returns a prefix for the ids of one subtest, unique across
// subtests and, with high probability, across processes sharing a database.
// It uses only characters that are valid in a SKU.
func uniquePrefix() string {
	// Uniqueness, not secrecy: a weak random number is enough.
	return fmt.Sprintf("rt%x%x%x-", time.Now().UnixNano()&0xffffffffff, rand.Uint32()&0xffff, seq.Add(1)) //nolint:gosec // see above
}

// normTime is how a time reads back from a store that keeps milliseconds in UTC.
func normTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Millisecond).UTC()
}

// nilIfEmpty turns an empty slice into nil: a store may read either back.
func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// at returns a time in a window of its own, with a sub-millisecond part that a
// store may drop and a zone that it may turn into UTC.
func at(year int, offset time.Duration) time.Time {
	zone := time.FixedZone("UTC+2", 2*60*60)
	return time.Date(year, time.March, 14, 15, 9, 26, 535_897, zone).Add(offset)
}

// idsWithPrefix returns the ids (by id) of the aggregates of as whose id has
// the prefix, in order: what one subtest stored, in a store others share.
func idsWithPrefix[A any](as []A, prefix string, id func(*A) string) []string {
	var ids []string
	for i := range as {
		if strings.HasPrefix(id(&as[i]), prefix) {
			ids = append(ids, id(&as[i]))
		}
	}
	return ids
}
