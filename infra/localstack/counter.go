package localstack

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CallCounter is a loopback reverse proxy in front of an emulator that
// counts the API calls passing through it, so tests and benchmarks can see
// how many DynamoDB and SES requests the deployed binaries really make.
type CallCounter struct {
	URL      string
	classify func(*http.Request) string
	server   *http.Server

	mu       sync.Mutex
	counts   map[string]int
	byCaller map[string]map[string]int // the counts by the access key id that signed each call (a function's logical id)
	busy     time.Duration             // summed time the target took to answer
	serial   sync.Mutex                // held around each call when the target is not thread-safe
	sends    []Send                    // SES sends the target accepted, when recordSends
	record   bool
	onSend   func(Send) // called for every send the target accepted, if set
	guard    func(http.ResponseWriter, *http.Request) bool

	sendsInFlight atomic.Int64 // send calls not yet answered and handed to onSend

	faults    atomic.Pointer[Faults]    // answers some writes in the target's place, if set (faults.go)
	sesFaults atomic.Pointer[SESFaults] // loses some send answers, if set (sesfaults.go)
}

// Send is one SES send call the emulator accepted: when it reached SES
// (the moment SES's send rate is counted at, whatever the answer's latency),
// the addresses SES took, and each accepted mail as SES's event publishing
// describes it.
type Send struct {
	At               time.Time
	To               []string
	ConfigurationSet string
	Mails            []SentMail
}

// SentMail is one mail SES accepted.
type SentMail struct {
	MessageID string
	To        []string
	Headers   []Header
	Tags      map[string]string // its message tags (EmailTags; in bulk, DefaultEmailTags and the entry's ReplacementTags)
}

// Tag is a message tag as SES v2 takes it.
type Tag struct{ Name, Value string }

// Header is a mail header as SES events carry it.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// StartCounter proxies to target, naming each call with classify. With
// oneAtATime, calls reach the target one at a time: moto_server answers on
// many threads but its DynamoDB transactions are not thread-safe (each
// deep-copies the table while other threads write to it, and concurrent ones
// fail with a 500), which real DynamoDB never does.
func StartCounter(target string, classify func(*http.Request) string, oneAtATime bool) (*CallCounter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &CallCounter{URL: "http://" + l.Addr().String(), classify: classify, counts: map[string]int{}, byCaller: map[string]map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	c.server = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, by := c.classify(r), caller(r)
		c.mu.Lock()
		c.counts[name]++
		if c.byCaller[by] == nil {
			c.byCaller[by] = map[string]int{}
		}
		c.byCaller[by][name]++
		record, onSend, guard := c.record, c.onSend, c.guard
		c.mu.Unlock()
		if guard != nil && !guard(w, r) {
			return // refused: guard answered
		}
		if f := c.faults.Load(); f != nil {
			var answered bool
			if w, answered = f.intercept(w, r, name); answered {
				return // in the target's place (faults.go)
			}
		}
		drop := func() {}
		if f := c.sesFaults.Load(); f != nil {
			w, drop = f.intercept(w, name)
		}
		if oneAtATime {
			c.serial.Lock()
			defer c.serial.Unlock()
		}
		var body []byte
		isSend := (record || onSend != nil) && (name == "SendEmail" || name == "SendBulkEmail")
		if isSend {
			c.sendsInFlight.Add(1)
			defer c.sendsInFlight.Add(-1) // after onSend below
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, keep: isSend}
		start := time.Now()
		proxy.ServeHTTP(sw, r)
		drop()
		end := time.Now()
		var sent *Send
		if isSend && sw.status == http.StatusOK {
			s := acceptedSend(start, body, sw.body.Bytes())
			sent = &s
		}
		c.mu.Lock()
		c.busy += end.Sub(start)
		if sent != nil && record {
			c.sends = append(c.sends, *sent)
		}
		c.mu.Unlock()
		if sent != nil && onSend != nil {
			onSend(*sent)
		}
	})}
	go c.server.Serve(l)
	return c, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
	keep   bool // keep a copy of the body
	body   bytes.Buffer
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.keep {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// acceptedSend reads what SES accepted from a SendEmail or SendBulkEmail
// request and its answer: every destination of SendEmail, and the bulk
// entries whose status is SUCCESS.
func acceptedSend(at time.Time, request, response []byte) Send {
	type destination struct{ ToAddresses []string }
	var in struct {
		ConfigurationSetName string
		Destination          destination
		Content              struct {
			Simple   struct{ Headers []Header }
			Template struct{ Headers []Header }
		}
		EmailTags        []Tag
		DefaultContent   struct{ Template struct{ Headers []Header } }
		DefaultEmailTags []Tag
		BulkEmailEntries []struct {
			Destination        destination
			ReplacementHeaders []Header
			ReplacementTags    []Tag
		}
	}
	var out struct {
		MessageID             string `json:"MessageId"`
		BulkEmailEntryResults []struct {
			MessageID string `json:"MessageId"`
			Status    string
		}
	}
	json.Unmarshal(request, &in)
	json.Unmarshal(response, &out)
	s := Send{At: at, ConfigurationSet: in.ConfigurationSetName}
	tags := func(lists ...[]Tag) map[string]string { // later lists win, name by name, as SES merges them
		m := map[string]string{}
		for _, l := range lists {
			for _, t := range l {
				m[t.Name] = t.Value
			}
		}
		return m
	}
	if len(in.BulkEmailEntries) == 0 {
		s.Mails = []SentMail{{MessageID: out.MessageID, To: in.Destination.ToAddresses,
			Headers: append(in.Content.Simple.Headers, in.Content.Template.Headers...), Tags: tags(in.EmailTags)}}
	}
	for i, e := range in.BulkEmailEntries {
		if i < len(out.BulkEmailEntryResults) && out.BulkEmailEntryResults[i].Status == "SUCCESS" {
			s.Mails = append(s.Mails, SentMail{MessageID: out.BulkEmailEntryResults[i].MessageID, To: e.Destination.ToAddresses,
				Headers: append(append([]Header(nil), in.DefaultContent.Template.Headers...), e.ReplacementHeaders...),
				Tags:    tags(in.DefaultEmailTags, e.ReplacementTags)})
		}
	}
	for _, m := range s.Mails {
		s.To = append(s.To, m.To...)
	}
	return s
}

// OnSend calls f, after the answer has gone back, for every send the
// target accepts: the local stack publishes SES's send events from it.
func (c *CallCounter) OnSend(f func(Send)) {
	c.mu.Lock()
	c.onSend = f
	c.mu.Unlock()
}

// Guard makes every call pass allow first: when it returns false, it has
// answered the call, which goes no further (see IAM).
func (c *CallCounter) Guard(allow func(http.ResponseWriter, *http.Request) bool) {
	c.mu.Lock()
	c.guard = allow
	c.mu.Unlock()
}

// RecordSends makes the proxy keep every send call the target accepts.
func (c *CallCounter) RecordSends() {
	c.mu.Lock()
	c.record = true
	c.mu.Unlock()
}

// Sends returns the send calls recorded so far, oldest first.
func (c *CallCounter) Sends() []Send {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Send(nil), c.sends...)
}

// Counts returns the calls so far by name.
func (c *CallCounter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// CountsExcept returns the calls so far by name, leaving out those signed
// as any of the functions given (logical ids): e.g. the MailEventsFunction,
// which handles SES's events for a request's mail asynchronously, after the
// request was answered, so that what the request itself costs is counted.
func (c *CallCounter) CountsExcept(functions ...string) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for by, counts := range c.byCaller {
		if slices.Contains(functions, by) {
			continue
		}
		for k, v := range counts {
			out[k] += v
		}
	}
	return out
}

// SendsInFlight is the number of send calls that reached the proxy and
// have not yet been answered and handed to OnSend's function: with it, a
// caller can tell that every accepted send's events were published.
func (c *CallCounter) SendsInFlight() int64 { return c.sendsInFlight.Load() }

// Total is the number of calls so far.
func (c *CallCounter) Total() int {
	n := 0
	for _, v := range c.Counts() {
		n += v
	}
	return n
}

// Busy is the summed time the target took to answer the calls so far.
func (c *CallCounter) Busy() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// Reset forgets the counts and the busy time.
func (c *CallCounter) Reset() {
	c.mu.Lock()
	c.counts, c.byCaller, c.busy, c.sends = map[string]int{}, map[string]map[string]int{}, 0, nil
	c.mu.Unlock()
}

// Close stops the proxy.
func (c *CallCounter) Close() {
	if c != nil {
		c.server.Close()
	}
}

// DynamoDBOperation names a DynamoDB call by its X-Amz-Target operation.
func DynamoDBOperation(r *http.Request) string {
	t := r.Header.Get("X-Amz-Target")
	if i := strings.LastIndexByte(t, '.'); i >= 0 {
		return t[i+1:]
	}
	return "unknown"
}

// SESOperation names an SES v2 call by its REST path.
func SESOperation(r *http.Request) string {
	switch p := r.URL.Path; {
	case p == "/v2/email/outbound-emails":
		return "SendEmail"
	case p == "/v2/email/outbound-bulk-emails":
		return "SendBulkEmail"
	case p == "/v2/email/account":
		return "GetAccount"
	default:
		return r.Method + " " + p
	}
}
