package mongo

import "sync"

// recentCapacity bounds the documents a store remembers: the aggregates in
// flight (an order's saga runs in seconds), not the collection.
const recentCapacity = 4096

// recentDocs remembers, per id, the document a store last read or wrote, as
// the guess of store.guessed; a nil *recentDocs remembers nothing. It is
// bounded: past its capacity, the id remembered first is forgotten first.
type recentDocs[D any] struct {
	mu   sync.Mutex
	docs map[string]recentDoc[D]
	ring []string // ids in the order they were first remembered
	next int      // where the next new id goes in ring, evicting what is there
}

type recentDoc[D any] struct {
	doc D
	rev int64
}

func newRecentDocs[D any]() *recentDocs[D] {
	return &recentDocs[D]{docs: make(map[string]recentDoc[D]), ring: make([]string, 0, recentCapacity)}
}

// remember records doc, at revision rev, as the stored document of id. A
// revision not above the one remembered is ignored: a concurrent read may
// return after a newer write of this process.
func (r *recentDocs[D]) remember(id string, doc D, rev int64) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	known, ok := r.docs[id]
	if ok && known.rev >= rev {
		return
	}
	if !ok {
		if len(r.ring) < recentCapacity {
			r.ring = append(r.ring, id)
		} else {
			delete(r.docs, r.ring[r.next])
			r.ring[r.next] = id
			r.next = (r.next + 1) % recentCapacity
		}
	}
	r.docs[id] = recentDoc[D]{doc: doc, rev: rev}
}

// recall returns the document remembered for id.
func (r *recentDocs[D]) recall(id string) (D, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, ok := r.docs[id]
	return d.doc, ok
}

// forget drops what is remembered of id: it proved stale.
func (r *recentDocs[D]) forget(id string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.docs, id)
}
