package people

import "context"

// followKey marks a context whose person id came from something issued
// before the person's address was corrected (a link's token, an SES event's
// tag): see FollowMoves.
type followKey struct{}

// FollowMoves returns ctx marking the person id it goes with as one that may
// name a key the person has since moved from (a correction of their address
// changes their key, the keyed hash of the address). With it, a store that
// finds a forward pointer at that key (left by the move) reads and changes
// the person it points to, one hop, at the cost of one more read. Without
// it (a sign-up, anything keyed by an address) the pointer is nobody and a
// new person overwrites it: the old address is free for anyone again.
func FollowMoves(ctx context.Context) context.Context {
	return context.WithValue(ctx, followKey{}, true)
}

// FollowsMoves reports whether ctx was marked by FollowMoves.
func FollowsMoves(ctx context.Context) bool { v, _ := ctx.Value(followKey{}).(bool); return v }
