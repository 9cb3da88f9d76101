package memory

import "context"

// getOr returns a copy of the stored item, or missing, the port's not-found
// error, when there is none: every repository's Get.
func (s *store[T]) getOr(ctx context.Context, id string, missing error) (T, error) {
	v, ok, err := s.get(ctx, id)
	if err == nil && !ok {
		err = missing
	}
	return v, err
}
