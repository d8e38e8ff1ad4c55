package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The kinds of fault Faults injects, as its Counts names them.
const (
	FaultTransactionConflict = "TransactionConflict"                    // a TransactionCanceledException, reason TransactionConflict
	FaultThrottling          = "ThrottlingException"                    // a single-item write throttled
	FaultThroughputExceeded  = "ProvisionedThroughputExceededException" // a single-item write over its table's throughput
	FaultLostAnswer          = "LostAnswer"                             // done, but its answer lost: a 500 instead
)

// DefaultFaultRate is the share of writes Faults answers with a fault
// unless told otherwise: a fifth, as issue 10's race figures ask.
const DefaultFaultRate = 0.2

// faultyWrites are the DynamoDB writes Faults may answer in the service's
// place. Reads are never refused: under contention DynamoDB cancels and
// throttles writes.
var faultyWrites = map[string]bool{
	"TransactWriteItems": true, "UpdateItem": true, "PutItem": true, "DeleteItem": true, "BatchWriteItem": true,
}

// Faults makes the DynamoDB proxy answer a random share of writes, without
// forwarding them, as DynamoDB answers under contention: moto runs
// transactions one at a time, so a race on it never sees what the real
// service says when two writers meet. A TransactWriteItems is cancelled with
// a TransactionCanceledException whose first reason is TransactionConflict
// (one reason per item, the others None, as the service sends); a single-item
// write gets a ThrottlingException or a ProvisionedThroughputExceededException.
// Both are HTTP 400 with DynamoDB's JSON error body and an X-Amz-Crc32, so
// the SDK deserialises them into its typed errors and retries what it
// retries (the throttling codes, up to its attempt limit; never a cancelled
// transaction).
//
// With LoseAnswers, another share of writes is forwarded and done, and its
// answer replaced by DynamoDB's 500 InternalServerError, as when a
// connection fails after the service committed: the SDK retries a 500. A
// transaction retried with the ClientRequestToken of one that was done is
// answered with success and not forwarded again, as DynamoDB honours the
// token (moto does not); a single-item write is simply done again.
//
// Decisions come from a generator seeded with the seed, so a run that sends
// the same writes in the same order injects the same faults. Install it
// with CallCounter.InjectFaults; it is safe for concurrent use.
type Faults struct {
	rate float64

	mu     sync.Mutex
	lost   float64 // share of writes whose answer is lost
	rng    *rand.Rand
	counts map[string]int
	done   map[string]bool // client request tokens of transactions done whose answer was lost
}

// NewFaults answers a share rate (0..1, usually DefaultFaultRate) of
// writes with a fault, drawn from a generator seeded with seed.
func NewFaults(rate float64, seed uint64) *Faults {
	return &Faults{rate: rate, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts: map[string]int{}, done: map[string]bool{}}
}

// LoseAnswers makes a further share (0..1) of writes forwarded, done, and
// answered with a 500, and returns f.
func (f *Faults) LoseAnswers(share float64) *Faults {
	f.mu.Lock()
	f.lost = share
	f.mu.Unlock()
	return f
}

// Counts returns the faults injected so far, by kind (the Fault* names).
func (f *Faults) Counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.counts))
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// Total is the number of faults injected so far.
func (f *Faults) Total() int {
	n := 0
	for _, v := range f.Counts() {
		n += v
	}
	return n
}

// pick decides whether the call named op gets a fault, and which: "" to
// forward it as it is.
func (f *Faults) pick(op string) string {
	if !faultyWrites[op] {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	roll := f.rng.Float64()
	kind := ""
	switch {
	case roll < f.rate && op == "TransactWriteItems":
		kind = FaultTransactionConflict
	case roll < f.rate:
		kind = FaultThrottling
		if f.rng.IntN(2) == 1 {
			kind = FaultThroughputExceeded
		}
	case roll < f.rate+f.lost:
		kind = FaultLostAnswer
	default:
		return ""
	}
	f.counts[kind]++
	return kind
}

// intercept is the proxy's hook: it answers the call named op in the
// target's place (and reports true), or returns the writer to forward it
// with (w itself, or one that loses the target's answer).
func (f *Faults) intercept(w http.ResponseWriter, r *http.Request, op string) (http.ResponseWriter, bool) {
	if !faultyWrites[op] {
		return w, false
	}
	token := ""
	if op == "TransactWriteItems" {
		raw, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		var in struct{ ClientRequestToken string }
		json.Unmarshal(raw, &in)
		token = in.ClientRequestToken
		f.mu.Lock()
		done := token != "" && f.done[token]
		f.mu.Unlock()
		if done { // DynamoDB: "subsequent calls with the same client token return successfully without making any changes"
			writeDynamoDB(w, http.StatusOK, []byte(`{}`))
			return w, true
		}
	}
	switch kind := f.pick(op); kind {
	case "":
		return w, false
	case FaultLostAnswer:
		return &lostAnswer{w: w, header: http.Header{}, status: func(code int) {
			if code == http.StatusOK && token != "" {
				f.mu.Lock()
				f.done[token] = true
				f.mu.Unlock()
			}
		}}, false
	default:
		f.answer(w, r, kind)
		return w, true
	}
}

// answer writes DynamoDB's answer for a fault of kind to the request r.
func (f *Faults) answer(w http.ResponseWriter, r *http.Request, kind string) {
	var in struct {
		TransactItems []json.RawMessage
		TableName     string
	}
	raw, _ := io.ReadAll(r.Body)
	json.Unmarshal(raw, &in)
	body := map[string]any{}
	// member is the field naming the throttling reasons: the service model
	// spells it in lower camel case on ThrottlingException only.
	throttled := func(member, reason, message string) {
		body["message"] = message
		if in.TableName != "" { // as the service names what it throttled since 2025
			body[member] = []map[string]string{{"reason": reason, "resource": "arn:aws:dynamodb:" + Region + ":000000000000:table/" + in.TableName}}
		}
	}
	switch kind {
	case FaultTransactionConflict:
		reasons := make([]map[string]string, max(len(in.TransactItems), 1))
		codes := make([]string, len(reasons))
		for i := range reasons {
			reasons[i], codes[i] = map[string]string{"Code": "None"}, "None"
		}
		reasons[0] = map[string]string{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
		codes[0] = "TransactionConflict"
		body["CancellationReasons"] = reasons
		body["Message"] = "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]"
		kind = "TransactionCanceledException"
	case FaultThrottling:
		throttled("throttlingReasons", "TableWriteKeyRangeThroughputExceeded",
			"Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly.")
	case FaultThroughputExceeded:
		throttled("ThrottlingReasons", "TableWriteProvisionedThroughputExceeded",
			"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.")
	}
	body["__type"] = "com.amazonaws.dynamodb.v20120810#" + kind
	b, _ := json.Marshal(body)
	writeDynamoDB(w, http.StatusBadRequest, b)
}

// writeDynamoDB answers as DynamoDB does: JSON 1.0 with its CRC32, which
// the SDK checks.
func writeDynamoDB(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	h.Set("X-Amzn-Requestid", fmt.Sprintf("FAULT%027d", crc32.ChecksumIEEE(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// lostAnswer takes the target's answer, tells status its code, and sends
// DynamoDB's 500 InternalServerError in its place.
type lostAnswer struct {
	w      http.ResponseWriter
	header http.Header // the target's headers, dropped
	status func(code int)
	wrote  bool
}

func (l *lostAnswer) Header() http.Header { return l.header }

func (l *lostAnswer) WriteHeader(code int) {
	if l.wrote {
		return
	}
	l.wrote = true
	l.status(code)
	writeDynamoDB(l.w, http.StatusInternalServerError,
		[]byte(`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`))
}

func (l *lostAnswer) Write(b []byte) (int, error) {
	l.WriteHeader(http.StatusOK)
	return len(b), nil
}

// InjectFaults makes the proxy answer writes as f decides from now on; nil
// stops injecting. Only the DynamoDB proxy should be given one.
func (c *CallCounter) InjectFaults(f *Faults) {
	c.faults.Store(f)
}
