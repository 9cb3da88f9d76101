// Package paging is what the services' lists share: the size of a page and the
// keyset cursor that starts the next one. A cursor is the sort key of the last
// item of a page (a time, then an id, newest first), opaque to clients.
package paging

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// ErrBadCursor is returned for a cursor that no list handed out.
var ErrBadCursor = errors.New("malformed cursor")

// Limit is the size of a page asked for limit: messages.DefaultListLimit when
// none is asked, at most messages.MaxListLimit.
func Limit(limit int) int {
	if limit <= 0 {
		return messages.DefaultListLimit
	}
	return min(limit, messages.MaxListLimit)
}

// Encode makes an opaque cursor out of a sort key.
func Encode(at time.Time, id string) string {
	raw := strconv.FormatInt(at.UnixNano(), 10) + ":" + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// Decode reads a cursor made by Encode; anything else is ErrBadCursor.
func Decode(s string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	nanos, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return time.Time{}, "", ErrBadCursor
	}
	n, err := strconv.ParseInt(nanos, 10, 64)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	return time.Unix(0, n).UTC(), id, nil
}

// Cut makes a page out of what a list read with Limit(limit)+1, the one more
// telling whether another page follows: the first limit items, and the cursor
// of the next page (the sort key of the page's last item, by key), or "" when
// found is the last page.
func Cut[T any](found []T, limit int, key func(*T) (time.Time, string)) ([]T, string) {
	if len(found) <= limit {
		return found, ""
	}
	page := found[:limit]
	return page, Encode(key(&page[limit-1]))
}
