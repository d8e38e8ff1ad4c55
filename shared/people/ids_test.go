package people

import "testing"

// An id a person of staff types after a command must not read as an
// option: 10,000 draws would hold about 156 leading dashes if unchecked.
func TestRandomIDsNeverBeginWithADashAndDoNotRepeat(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := RandomID()
		if len(id) != 16 || id[0] == '-' || seen[id] {
			t.Fatalf("RandomID() = %q (seen before: %v); want 16 characters, no leading dash, no repeat", id, seen[id])
		}
		seen[id] = true
	}
}
