package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/x/mongo/driver/topology"

	"github.com/orderflow/orderflow/infra/faults"
)

// ErrContention is returned by an Update that lost to concurrent writers of the
// same aggregate on every attempt. Like any error from a store, it means "try
// again later": the message is retried by the router.
// It is marked as a fault of the infrastructure: a retry later helps, so the
// router waits it out instead of poisoning the message.
var ErrContention = faults.Unavailable(errors.New("too many concurrent updates of one document"))

const (
	// maxAttempts bounds the read-modify-write loop of one Update. A loser
	// retries at once after a short pause; a hundred lost races in a row means
	// something is wrong (or the load needs another design), not bad luck.
	maxAttempts = 100
	// maxPause caps the jittered pause between two attempts.
	maxPause = 20 * time.Millisecond
	// revisionField is the bson name of every document's Revision.
	revisionField = "revision"
)

// store keeps one aggregate type A as documents of type D, one per aggregate,
// keyed by _id. It is what the repositories share: reading by id, and the
// update-function style of the ports with optimistic concurrency on the revision.
type store[A, D any] struct {
	coll *mongo.Collection
	// fresh is the aggregate handed to an update when none is stored (Revision 0).
	fresh    func(id string) A
	toDoc    func(A) D
	toDomain func(D) A
	revision func(*A) int64
	// guess, when set, lets update try its write before reading: see guessed.
	// Only for collections that store.write alone changes (not products, whose
	// holds move the revision server-side) and whose toDomain shares nothing
	// with the document (not poison entries, whose payload it shares).
	guess *recentDocs[D]
}

// get returns the stored aggregate, or false when there is none.
func (s *store[A, D]) get(ctx context.Context, id string) (A, bool, error) {
	var zero A
	var d D
	err := s.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("read %s %s: %w", s.coll.Name(), id, fault(err))
	}
	a := s.toDomain(d)
	s.guess.remember(id, d, s.revision(&a))
	return a, true, nil
}

// getOr returns the stored aggregate, or missing, the port's not-found error,
// when there is none: every repository's Get.
func (s *store[A, D]) getOr(ctx context.Context, id string, missing error) (A, error) {
	a, ok, err := s.get(ctx, id)
	if err == nil && !ok {
		err = missing
	}
	return a, err
}

// update reads the aggregate (or a fresh one), runs fn on it and, if fn moved
// its Revision, writes it back only if nobody else wrote it meanwhile:
//   - a new aggregate is inserted; a duplicate _id means a concurrent creator won;
//   - a stored one is replaced with the filter {_id, revision: the revision read};
//     no match means a concurrent writer won.
//
// The loser starts over from the read, so fn runs again on what the winner
// stored. Every write is a single-document operation, atomic on mongod.
// Before the first read, guessed may save it.
func (s *store[A, D]) update(ctx context.Context, id string, fn func(*A) error) (A, error) {
	var zero A
	if a, ok, err := s.guessed(ctx, id, fn); err != nil || ok {
		return a, err
	}
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := pause(ctx, attempt); err != nil {
				return zero, err
			}
		}
		work, found, err := s.get(ctx, id)
		if err != nil {
			return zero, err
		}
		if !found {
			work = s.fresh(id)
		}
		before := s.revision(&work)
		if err := fn(&work); err != nil {
			return zero, err
		}
		if s.revision(&work) == before {
			return work, nil
		}
		doc := s.toDoc(work)
		won, err := s.write(ctx, id, found, before, doc)
		if err != nil {
			return zero, err
		}
		if won {
			s.guess.remember(id, doc, s.revision(&work))
			// What Get would read back: times in milliseconds and UTC, and
			// nothing shared with the value fn changed.
			return s.toDomain(doc), nil
		}
	}
	return zero, fmt.Errorf("update %s %s: %w (%d attempts)", s.coll.Name(), id, ErrContention, maxAttempts)
}

// guessed is update's first attempt, which saves the read (one command of
// the two) when it guesses what is stored: the document as this process last
// read or wrote it, or, with none remembered, no document at all. It runs fn
// on the guess and writes the result with the usual compare-and-set: a
// replace filtered on the guessed revision, or an insert, which fails on a
// duplicate _id. A write that matches proves the guess: a revision is written
// once per document (each write moves it, and only one writer wins the
// compare-and-set from the one before), so a stored document with the guessed
// revision is the guessed document, and fn ran on what was stored, as a read
// would have given it. A write that matches nothing costs a command and
// update goes on as without a guess. When fn fails or changes nothing on the
// guess, nothing is written and ok is false: such answers are given on what a
// read returns, never on a guess that may be stale.
func (s *store[A, D]) guessed(ctx context.Context, id string, fn func(*A) error) (a A, ok bool, err error) {
	if s.guess == nil {
		return a, false, nil
	}
	work, found := s.fresh(id), false
	if d, ok := s.guess.recall(id); ok {
		work, found = s.toDomain(d), true
	}
	before := s.revision(&work)
	if err := fn(&work); err != nil || s.revision(&work) == before {
		return a, false, nil //nolint:nilerr // decided again on what a read returns
	}
	doc := s.toDoc(work)
	won, err := s.write(ctx, id, found, before, doc)
	if err != nil {
		return a, false, err
	}
	if !won {
		s.guess.forget(id)
		return a, false, nil
	}
	s.guess.remember(id, doc, s.revision(&work))
	return s.toDomain(doc), true, nil
}

// write stores doc if the aggregate is still as it was read; false means a
// concurrent writer won.
func (s *store[A, D]) write(ctx context.Context, id string, found bool, readRevision int64, doc D) (bool, error) {
	if !found {
		_, err := s.coll.InsertOne(ctx, doc)
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("insert %s %s: %w", s.coll.Name(), id, fault(err))
		}
		return true, nil
	}
	res, err := s.coll.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: revisionField, Value: readRevision}}, doc)
	if err != nil {
		return false, fmt.Errorf("replace %s %s: %w", s.coll.Name(), id, fault(err))
	}
	return res.MatchedCount == 1, nil
}

// find returns the aggregates of the documents that match filter.
func (s *store[A, D]) find(ctx context.Context, filter any, opts *options.FindOptions) ([]A, error) {
	cur, err := s.coll.Find(ctx, filter, opts)
	if err != nil {
		return nil, fmt.Errorf("find in %s: %w", s.coll.Name(), fault(err))
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.coll.Name(), fault(err))
	}
	out := make([]A, len(docs))
	for i, d := range docs {
		out[i] = s.toDomain(d)
	}
	return out, nil
}

// unpublishedIndex is the index of what is left unpublished, in every
// collection of aggregates whose history is their outbox: sparse, since
// unpublished_since is absent once every event is published.
var unpublishedIndex = mongo.IndexModel{
	Keys:    bson.D{{Key: "unpublished_since", Value: 1}},
	Options: options.Index().SetName("unpublished").SetSparse(true),
}

// createIndexes creates the indexes one at a time: FerretDB v1 (the test
// server) fails a createIndexes of several indexes when some of them exist.
func createIndexes(ctx context.Context, coll *mongo.Collection, indexes ...mongo.IndexModel) error {
	for _, ix := range indexes {
		if _, err := coll.Indexes().CreateOne(ctx, ix); err != nil {
			return fmt.Errorf("create indexes of %s: %w", coll.Name(), err)
		}
	}
	return nil
}

// findUpTo returns up to limit aggregates whose time field is set and not
// after before, earliest first: a range scan of a (sparse) index on field.
func (s *store[A, D]) findUpTo(ctx context.Context, field string, before time.Time, limit int) ([]A, error) {
	opts := options.Find().SetSort(bson.D{{Key: field, Value: 1}})
	if limit > 0 {
		opts.SetLimit(int64(limit))
	}
	return s.find(ctx, bson.D{{Key: field, Value: bson.D{{Key: "$lte", Value: before}}}}, opts)
}

// fault marks the driver's errors that a later retry can cure (the server
// unreachable or restarting, a lost connection, a timeout) as faults of the
// infrastructure, which the router waits out. Others (a document that does not
// decode, a refused command) stay unknown: retried a few times, then poisoned.
func fault(err error) error {
	if err == nil {
		return nil
	}
	var selection topology.ServerSelectionError
	var pool topology.WaitQueueTimeoutError
	if mongo.IsNetworkError(err) || mongo.IsTimeout(err) || errors.Is(err, mongo.ErrClientDisconnected) ||
		errors.As(err, &selection) || errors.As(err, &pool) || errors.Is(err, context.DeadlineExceeded) {
		return faults.Unavailable(err)
	}
	var labeled mongo.LabeledError
	if errors.As(err, &labeled) && (labeled.HasErrorLabel("RetryableWriteError") || labeled.HasErrorLabel("TransientTransactionError")) {
		return faults.Unavailable(err)
	}
	return err
}

// pause waits a short random time before the next attempt of an update, longer
// the more attempts were lost, so that writers that collided spread out.
func pause(ctx context.Context, attempt int) error {
	ceiling := min(time.Duration(1<<min(attempt, 10))*50*time.Microsecond, maxPause)
	t := time.NewTimer(rand.N(ceiling) + time.Microsecond) //nolint:gosec // spreading writers needs no unpredictability
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// storedTime is a time as MongoDB keeps it: milliseconds, UTC. Converting
// before writing makes what Update returns equal to what Get reads back.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Millisecond).UTC()
}

// optionalTime stores a zero time as an absent field.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	st := storedTime(t)
	return &st
}

// fromOptionalTime reads an absent field as the zero time.
func fromOptionalTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
