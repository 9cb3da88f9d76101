// Package mongo implements the services' repository ports on MongoDB, held to
// the same contract suites (infra/repotest) as infra/memory.
//
// Each aggregate is one document, changed only as a whole: Update reads the
// document, runs the use case's function on the domain value and writes the
// result back only if the document's revision is still the one it read. That
// compare-and-set on a single document is atomic on mongod (and on the test
// server of tools/mongotest), so no multi-document transaction is needed.
// Orders, reservations and shipments save the read when they can: the first
// attempt writes on what the repository last read or wrote of the document
// (or, knowing nothing of it, inserts), and only a write that misses reads
// (store.guessed). An aggregate's saga runs in one process at a time, so most
// changes after the first cost one command, not two.
// Products add Hold, Release and Commit: single conditional updates of one
// order's hold ("holds.<order>"), so that a SKU with many holds costs no more
// to reserve; each moves the revision, so a concurrent Update retries.
//
// Documents are types of their own (bson tags, snake_case fields) with named
// converters to and from the domain types, which stay free of storage tags.
// Times are BSON dates: milliseconds, UTC.
package mongo
