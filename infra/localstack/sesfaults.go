package localstack

import (
	"math/rand/v2"
	"net/http"
	"sync"
)

// SESFaults makes the SES proxy lose the answer of a random share of send
// calls (SendEmail, SendBulkEmail): the call reaches the emulator, which
// accepts it (and the local stack publishes its send events), and the proxy
// then closes the client's connection instead of answering, as when the
// network fails after SES took a request. The client sees a connection
// error and cannot know what SES did. Decisions come from a generator
// seeded with seed. Install it with CallCounter.LoseSESAnswers; it is safe
// for concurrent use.
type SESFaults struct {
	share float64

	mu   sync.Mutex
	rng  *rand.Rand
	lost int
}

// NewSESFaults loses the answers of a share (0..1) of send calls.
func NewSESFaults(share float64, seed uint64) *SESFaults {
	return &SESFaults{share: share, rng: rand.New(rand.NewPCG(seed, seed^0x5e5))}
}

// Lost is the number of answers lost so far.
func (f *SESFaults) Lost() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lost
}

// intercept returns the writer to forward the call named op with, and what
// to do once the emulator has answered: w and nothing, or a writer that
// keeps the emulator's answer from the client and a close of the client's
// connection.
func (f *SESFaults) intercept(w http.ResponseWriter, op string) (http.ResponseWriter, func()) {
	if op != "SendEmail" && op != "SendBulkEmail" {
		return w, func() {}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.share {
		return w, func() {}
	}
	f.lost++
	return droppedAnswer{header: http.Header{}}, func() {
		if h, ok := w.(http.Hijacker); ok { // always, on the proxy's HTTP/1.1 server
			if conn, _, err := h.Hijack(); err == nil {
				conn.Close()
			}
		}
	}
}

// droppedAnswer takes the emulator's whole answer and passes none of it on.
type droppedAnswer struct{ header http.Header }

func (d droppedAnswer) Header() http.Header         { return d.header }
func (d droppedAnswer) WriteHeader(int)             {}
func (d droppedAnswer) Write(b []byte) (int, error) { return len(b), nil }

// LoseSESAnswers makes the proxy lose send answers as f decides from now
// on; nil stops it. Only the SES proxy should be given one.
func (c *CallCounter) LoseSESAnswers(f *SESFaults) {
	c.sesFaults.Store(f)
}
