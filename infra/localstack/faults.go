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
// Decisions come from a generator seeded with Seed, so a run that sends the
// same writes in the same order injects the same faults. Install it with
// CallCounter.InjectFaults; it is safe for concurrent use.
type Faults struct {
	rate float64

	mu     sync.Mutex
	rng    *rand.Rand
	counts map[string]int
}

// NewFaults answers a share rate (0..1; 0 means DefaultFaultRate) of writes
// with a fault, drawn from a generator seeded with seed.
func NewFaults(rate float64, seed uint64) *Faults {
	if rate <= 0 {
		rate = DefaultFaultRate
	}
	return &Faults{rate: min(rate, 1), rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), counts: map[string]int{}}
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
// forward it.
func (f *Faults) pick(op string) string {
	if f == nil || !faultyWrites[op] {
		return ""
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return ""
	}
	kind := FaultTransactionConflict
	if op != "TransactWriteItems" {
		kind = FaultThrottling
		if f.rng.IntN(2) == 1 {
			kind = FaultThroughputExceeded
		}
	}
	f.counts[kind]++
	return kind
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
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	h.Set("X-Amzn-Requestid", fmt.Sprintf("FAULT%027d", f.Total()))
	w.WriteHeader(http.StatusBadRequest)
	io.Copy(w, bytes.NewReader(b))
}

// InjectFaults makes the proxy answer writes as f decides from now on; nil
// stops injecting. Only the DynamoDB proxy should be given one.
func (c *CallCounter) InjectFaults(f *Faults) {
	c.faults.Store(f)
}
