// Package race sends a burst of concurrent requests that all change one
// person through a running local stack (gateway, Runtime Interface
// Emulator, the functions' bootstraps, the DynamoDB proxy, moto), mixed as
// the public routes and the product would send them, and then checks that
// the person agrees with their consent ledger. The end-to-end tests and the
// bench both run it.
package race

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/link"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/token"
)

// Kind is a kind of request in the burst.
type Kind string

// The kinds of request, in the order the tables print them.
const (
	SignUp      Kind = "sign-up"     // POST /signup, JSON, a random set of purposes
	Confirm     Kind = "confirm"     // POST /confirm pressing one of the person's links (live or used), minted as its mail mints it
	OneClick    Kind = "one-click"   // RFC 8058 POST to the unsubscribe URL
	Preferences Kind = "preferences" // the preferences form: save a random set of purposes, or now and then stop all marketing
	Account     Kind = "account"     // POST /admin/accounts, signed: opened or closed, at a distinct time
)

// Kinds lists every kind of request.
var Kinds = []Kind{SignUp, Confirm, OneClick, Preferences, Account}

// mix is the share of each kind in the burst, in percent.
var mix = map[Kind]int{SignUp: 25, Confirm: 25, OneClick: 15, Preferences: 20, Account: 15}

// signUpSource is the form id the burst's sign-ups give: their ledger
// entries carry it.
const signUpSource = "race"

// Options shape a burst.
type Options struct {
	Email    string // the person everything is about; a fresh address per run
	Requests int    // requests in the burst, all sent at once
	Seed     uint64 // decides the mix, its order and each request's purposes
	// Faults, if set, is installed on the DynamoDB proxy for the burst only:
	// the person's set-up and the check afterwards see no fault.
	Faults *localstack.Faults
}

// Result is what a burst got and what it left.
type Result struct {
	Requests   int
	Status     map[Kind]map[int]int // answers by kind and HTTP status; status 0: no answer at all
	Faults     map[string]int       // faults injected during the burst, by kind
	Busy       int                  // answers 503 with Retry-After: the designed answer when the retries run out
	Wall       time.Duration        // from the first request sent to the last answer
	Person     people.Person        // as read afterwards
	Ledger     int                  // entries in the person's ledger afterwards
	Replayed   Consents             // what the ledger says the person's consents are
	Mismatches []string             // where the person disagrees with their ledger or with what was answered
}

// Class counts the answers whose status is in the class c (2 for 2xx, 5
// for 5xx; 0 for requests that got no answer).
func (r Result) Class(c int) int {
	n := 0
	for _, byStatus := range r.Status {
		for status, k := range byStatus {
			if status/100 == c {
				n += k
			}
		}
	}
	return n
}

// Request is one request as a browser, a script, a mail provider or the
// product sends it.
type Request struct {
	Kind        Kind
	Method      string
	Path        string
	ContentType string
	Body        string
	Signed      bool             // signed with SigV4, as an operator's tools sign an IAM route
	At          time.Time        // an account event's time
	Purposes    []people.Purpose // what a sign-up asks for
	Nonce       string           // the link a confirm presses
}

// Answer is what one request got.
type Answer struct {
	Status     int  // 0: no answer at all
	RetryAfter bool // a Retry-After header came with it
	Body       string
}

// Door makes each kind of request for one stack, with the stack's own
// keys: confirm and unsubscribe tokens minted as the mails mint them,
// account events signed as an operator's tools sign them.
type Door struct {
	keys           *token.Keys
	pepper         []byte
	policy         config.PolicyInForce
	confirm        config.Confirmation
	unsubscribeTTL time.Duration
	base           string
	client         *http.Client
	store          *store.Store // reads the person's live links, as their mails carry them
}

// NewDoor is a Door to s's gateway, with the configuration its functions load.
func NewDoor(ctx context.Context, s *localstack.Stack) (*Door, error) {
	signup, unsubscribe := s.Env("SignupFunction"), s.Env("NewsletterFunction")
	d := &Door{keys: config.TokenKeys(ctx, signup, nil), pepper: config.AddressPepper(ctx, signup, nil), policy: config.Policy(signup),
		confirm: config.ConfirmLinks(signup), unsubscribeTTL: config.UnsubscribeTTL(unsubscribe)}
	if err := errors.Join(signup.Err(), unsubscribe.Err()); err != nil {
		return nil, err
	}
	d.store = store.New(s.DynamoDB.DynamoDBClient(), s.Table)
	d.base, d.client = s.GatewayURL, &http.Client{Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     &http.Transport{MaxIdleConnsPerHost: 256}}
	return d, nil
}

// PersonID is the key of the person with the address email.
func (d *Door) PersonID(email string) string {
	return people.KeyedID(d.pepper)(people.NormaliseEmail(email))
}

// SignUp is a script's JSON sign-up for purposes.
func (d *Door) SignUp(email string, purposes []people.Purpose) Request {
	b, _ := json.Marshal(map[string]any{"email": email, "name": "Race Tester", "purposes": purposes,
		"policy_version": d.policy.Version, "form_id": signUpSource})
	return Request{Kind: SignUp, Method: http.MethodPost, Path: "/signup", ContentType: "application/json", Body: string(b), Purposes: purposes}
}

// Confirm presses the button under the confirm link l, minted as its mail
// minted it (the link works once: pressed again, it changes nothing).
func (d *Door) Confirm(email string, l people.Link) Request {
	tok := link.ConfirmToken(d.keys, d.PersonID(email), l)
	return Request{Kind: Confirm, Method: http.MethodPost, Path: "/confirm",
		ContentType: "application/x-www-form-urlencoded", Body: url.Values{"t": {tok}}.Encode(), Nonce: l.Nonce}
}

// Links reads the confirm links the person holds now, oldest first: those
// of the mails in their inbox that can still confirm something.
func (d *Door) Links(ctx context.Context, email string) ([]people.Link, error) {
	p, err := d.store.Person(ctx, d.PersonID(email))
	if err != nil {
		return nil, fmt.Errorf("race: reading the person's links: %w", err)
	}
	return p.Links, nil
}

// LatestLink is the last confirm link mailed to the person and not yet used.
func (d *Door) LatestLink(ctx context.Context, email string) (people.Link, error) {
	links, err := d.Links(ctx, email)
	if err == nil && len(links) == 0 {
		err = errors.New("race: the person holds no confirm link")
	}
	if err != nil {
		return people.Link{}, err
	}
	return links[len(links)-1], nil
}

// OneClick is a mail provider's RFC 8058 POST to the unsubscribe URL.
func (d *Door) OneClick(email string) Request {
	return Request{Kind: OneClick, Method: http.MethodPost, Path: d.unsubscribePath(email),
		ContentType: "application/x-www-form-urlencoded", Body: "List-Unsubscribe=One-Click"}
}

// SavePreferences posts the preferences form with purposes checked.
func (d *Door) SavePreferences(email string, purposes []people.Purpose) Request {
	form := url.Values{"action": {"save"}}
	for _, q := range purposes {
		form.Add("purposes", string(q))
	}
	return Request{Kind: Preferences, Method: http.MethodPost, Path: d.unsubscribePath(email),
		ContentType: "application/x-www-form-urlencoded", Body: form.Encode()}
}

// StopAll posts the preferences form's "stop all marketing".
func (d *Door) StopAll(email string) Request {
	r := d.SavePreferences(email, nil)
	r.Body = url.Values{"action": {"stop"}}.Encode()
	return r
}

// Account is the product's signed account event ("opened" or "closed") at at.
func (d *Door) Account(email, event string, at time.Time) Request {
	b, _ := json.Marshal(map[string]string{"email": email, "event": event, "at": at.UTC().Format(time.RFC3339)})
	return Request{Kind: Account, Method: http.MethodPost, Path: "/admin/accounts", ContentType: "application/json",
		Body: string(b), Signed: true, At: at}
}

// unsubscribePath is the unsubscribe URL a marketing mail carries.
func (d *Door) unsubscribePath(email string) string {
	tok := d.keys.Issue(token.Unsubscribe, d.PersonID(email), []string{string(people.Newsletter)}, time.Now(), d.unsubscribeTTL)
	return "/unsubscribe?t=" + url.QueryEscape(tok)
}

// Do sends r as a script would (asking for JSON) and returns what it got.
func (d *Door) Do(ctx context.Context, r Request) Answer {
	req, err := http.NewRequestWithContext(ctx, r.Method, d.base+r.Path, strings.NewReader(r.Body))
	if err != nil {
		return Answer{Body: err.Error()}
	}
	req.Header.Set("Content-Type", r.ContentType)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "pledge-race")
	if r.Signed {
		if err := localstack.SignAdmin(ctx, req, []byte(r.Body)); err != nil {
			return Answer{Body: err.Error()}
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return Answer{Body: err.Error()}
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	io.Copy(&b, io.LimitReader(resp.Body, 64<<10))
	return Answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After") != "", Body: b.String()}
}

// Run sets the person up (a sign-up for two purposes, confirmed; a sign-up
// for the two others, awaiting its link: something to activate, something
// to withdraw), sends the burst, and compares the person afterwards with
// their ledger. The burst's confirms press the set-up's links, the used one
// and the live one, many times over: at most one press of each may confirm.
func Run(ctx context.Context, s *localstack.Stack, opt Options) (Result, error) {
	door, err := NewDoor(ctx, s)
	if err != nil {
		return Result{}, err
	}
	email := people.NormaliseEmail(opt.Email)
	var links []people.Link
	for _, step := range []func() (Request, error){
		func() (Request, error) {
			return door.SignUp(email, []people.Purpose{people.Newsletter, people.Offers}), nil
		},
		func() (Request, error) {
			l, err := door.LatestLink(ctx, email)
			links = append(links, l)
			return door.Confirm(email, l), err
		},
		func() (Request, error) {
			return door.SignUp(email, []people.Purpose{people.Surveys, people.Testimonials}), nil
		},
	} {
		r, err := step()
		if err != nil {
			return Result{}, err
		}
		if a := door.Do(ctx, r); a.Status/100 != 2 {
			return Result{}, fmt.Errorf("race: setting up the person: %s answered %d %s", r.Kind, a.Status, a.Body)
		}
	}
	live, err := door.LatestLink(ctx, email)
	if err != nil {
		return Result{}, err
	}
	links = append(links, live)

	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed+1))
	// Each account event at its own second in the last hour, so that which
	// one is the latest is never a tie.
	since := time.Now().Add(-time.Hour).Truncate(time.Second)
	burst := make([]Request, opt.Requests)
	for i := range burst {
		burst[i] = draw(rng, door, email, links, since.Add(time.Duration(i)*time.Second))
	}

	var before map[string]int
	if opt.Faults != nil {
		before = opt.Faults.Counts()
		s.DynamoDBCalls.InjectFaults(opt.Faults)
	}
	answers := make([]Answer, len(burst))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, r := range burst {
		wg.Go(func() {
			<-start
			answers[i] = door.Do(ctx, r)
		})
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res := Result{Requests: len(burst), Wall: time.Since(t0), Status: map[Kind]map[int]int{}, Faults: map[string]int{}}
	if opt.Faults != nil {
		s.DynamoDBCalls.InjectFaults(nil)
		for k, v := range opt.Faults.Counts() {
			if v > before[k] {
				res.Faults[k] = v - before[k]
			}
		}
	}
	for i, r := range burst {
		if res.Status[r.Kind] == nil {
			res.Status[r.Kind] = map[int]int{}
		}
		res.Status[r.Kind][answers[i].Status]++
		if answers[i].Status == http.StatusServiceUnavailable && answers[i].RetryAfter {
			res.Busy++
		}
	}

	p, ledger, mismatch, err := ReadBack(ctx, s, door.PersonID(email))
	if err != nil {
		return res, err
	}
	res.Person, res.Ledger, res.Replayed = p, len(ledger), Replay(ledger)
	if mismatch != "" {
		res.Mismatches = append(res.Mismatches, mismatch)
	}
	res.Mismatches = append(res.Mismatches, answeredButNotRecorded(burst, answers, ledger, res.Person)...)
	return res, nil
}

// ReadBack reads the person keyed id and their ledger from s's table, and
// says where the person disagrees with the replay of their ledger ("" when
// they agree).
func ReadBack(ctx context.Context, s *localstack.Stack, id string) (people.Person, []people.ConsentEvent, string, error) {
	st := store.New(s.DynamoDB.DynamoDBClient(), s.Table)
	p, err := st.Person(ctx, id)
	if err != nil {
		return p, nil, "", fmt.Errorf("race: reading the person: %w", err)
	}
	ledger, err := st.Consents(ctx, id)
	if err != nil {
		return p, nil, "", fmt.Errorf("race: reading the ledger: %w", err)
	}
	if c := Replay(ledger); !c.Agrees(p) {
		return p, ledger, fmt.Sprintf("the person holds active %v, pending %v; their ledger says active %v, pending %v",
			p.Active, p.Pending, c.Active, c.Pending), nil
	}
	return p, ledger, "", nil
}

// answeredButNotRecorded compares what the burst was told with what the
// table holds. Each sign-up answered 202 and each confirm answered
// "confirmed" is one write in the ledger (its entries share one time),
// except a sign-up that asked only for consents in force when it was
// decided, which changes nothing and writes nothing; one answered 5xx or
// not at all may have been done (its answer lost) or not, so it may be there.
// No link is answered "confirmed" twice. The account's last event is one
// the burst sent, no earlier than the latest answered 200.
func answeredButNotRecorded(burst []Request, answers []Answer, ledger []people.ConsentEvent, p people.Person) []string {
	// The set-up made two sign-ups and one confirm, all answered.
	signUps, confirms := span{done: 2}, span{done: 1}
	// A sign-up can only have been a no-op if every purpose it asked for
	// was in force at some time: confirmed by some entry of the ledger
	// (every grant, the preferences page's too, waits for a confirm).
	everInForce := map[people.Purpose]bool{}
	for _, e := range ledger {
		if e.Action == people.Confirm {
			everInForce[e.Purpose] = true
		}
	}
	var latest time.Time
	sent := map[int64]bool{}    // by Unix second: the times differ in location
	pressed := map[string]int{} // confirms answered "confirmed", by the link pressed
	for i, r := range burst {
		a := answers[i]
		unknown := a.Status == 0 || a.Status/100 == 5
		switch r.Kind {
		case SignUp:
			signUps.count(a.Status == http.StatusAccepted, unknown)
			if a.Status == http.StatusAccepted && len(r.Purposes) > 0 && !slices.ContainsFunc(r.Purposes, func(q people.Purpose) bool { return !everInForce[q] }) {
				signUps.noop++
			}
		case Confirm:
			confirmed := a.Status == http.StatusOK && strings.Contains(a.Body, `"confirmed"`)
			confirms.count(confirmed, unknown)
			if confirmed {
				pressed[r.Nonce]++
			}
		case Account:
			sent[r.At.Unix()] = true
			if a.Status == http.StatusOK && r.At.After(latest) {
				latest = r.At
			}
		}
	}
	writes := func(match func(people.ConsentEvent) bool) int {
		at := map[time.Time]bool{}
		for _, e := range ledger {
			if match(e) {
				at[e.At] = true
			}
		}
		return len(at)
	}
	var out []string
	for _, n := range pressed {
		if n > 1 {
			out = append(out, fmt.Sprintf("one confirm link confirmed %d times; a link works once", n))
		}
	}
	if n := writes(func(e people.ConsentEvent) bool { return e.Action == people.Grant && e.Source == signUpSource }); !signUps.holds(n) {
		out = append(out, fmt.Sprintf("%d sign-ups were accepted (%d of them may have asked for nothing new, %d more may have been done), the ledger records %d", signUps.done, signUps.noop, signUps.maybe, n))
	}
	if n := writes(func(e people.ConsentEvent) bool { return e.Action == people.Confirm }); !confirms.holds(n) {
		out = append(out, fmt.Sprintf("%d confirms answered confirmed (%d more may have been done), the ledger records %d", confirms.done, confirms.maybe, n))
	}
	if !latest.IsZero() && (p.Account.At.Before(latest) || !sent[p.Account.At.Unix()]) {
		out = append(out, fmt.Sprintf("the latest account event answered 200 is at %s, the person's account is at %s (%s)",
			latest.Format(time.RFC3339), p.Account.At.Format(time.RFC3339), p.Account.State))
	}
	return out
}

// span counts writes that were answered as done, and those whose answer
// was lost (which may or may not have been done).
// span is how many writes of a kind were answered done, may have been
// done (answer lost), and were answered done but may have changed nothing.
type span struct{ done, maybe, noop int }

func (s *span) count(done, unknown bool) {
	switch {
	case done:
		s.done++
	case unknown:
		s.maybe++
	}
}

// holds reports whether n writes recorded fit what was answered.
func (s span) holds(n int) bool { return s.done-s.noop <= n && n <= s.done+s.maybe }

// draw makes a request of the burst: its kind by the mix, its purposes at
// random, a confirm pressing one of links; an account event, if it is one,
// at at.
func draw(rng *rand.Rand, door *Door, email string, links []people.Link, at time.Time) Request {
	roll := rng.IntN(100)
	kind := Account
	for _, k := range Kinds {
		if roll < mix[k] {
			kind = k
			break
		}
		roll -= mix[k]
	}
	switch kind {
	case SignUp:
		return door.SignUp(email, someOf(rng, people.Purposes, 1))
	case Confirm:
		return door.Confirm(email, links[rng.IntN(len(links))])
	case OneClick:
		return door.OneClick(email)
	case Preferences:
		if rng.IntN(5) == 0 {
			return door.StopAll(email)
		}
		return door.SavePreferences(email, someOf(rng, people.Purposes, 0))
	}
	event := "opened"
	if rng.IntN(2) == 0 {
		event = "closed"
	}
	return door.Account(email, event, at)
}

// someOf picks a random subset of ps, in ps's order, of at least least.
func someOf(rng *rand.Rand, ps []people.Purpose, least int) []people.Purpose {
	for {
		var out []people.Purpose
		for _, q := range ps {
			if rng.IntN(2) == 0 {
				out = append(out, q)
			}
		}
		if len(out) >= least {
			return out
		}
	}
}

// Table prints results side by side as a Markdown table: one column per
// run, named by names.
func Table(w io.Writer, names []string, results []Result) {
	fmt.Fprintf(w, "| figure | %s |\n", strings.Join(names, " | "))
	fmt.Fprintf(w, "| --- |%s\n", strings.Repeat(" ---: |", len(names)))
	row := func(figure string, cell func(Result) string) {
		cells := make([]string, len(results))
		for i, r := range results {
			cells[i] = cell(r)
		}
		fmt.Fprintf(w, "| %s | %s |\n", figure, strings.Join(cells, " | "))
	}
	row("requests", func(r Result) string { return fmt.Sprint(r.Requests) })
	for _, c := range []int{2, 3, 4} {
		row(fmt.Sprintf("answered %dxx", c), func(r Result) string { return fmt.Sprint(r.Class(c)) })
	}
	row("**answered 5xx (target 0)**", func(r Result) string { return fmt.Sprintf("**%d**", r.Class(5)) })
	row("of which 503 with Retry-After", func(r Result) string { return fmt.Sprint(r.Busy) })
	row("no answer", func(r Result) string { return fmt.Sprint(r.Class(0)) })
	for _, k := range Kinds {
		row(string(k)+": answers by status", func(r Result) string { return statuses(r.Status[k]) })
	}
	row("faults injected", func(r Result) string { return faults(r.Faults) })
	row("wall time", func(r Result) string { return r.Wall.Round(time.Millisecond).String() })
	row("ledger entries afterwards", func(r Result) string { return fmt.Sprint(r.Ledger) })
	row("state agrees with the ledger", func(r Result) string {
		if len(r.Mismatches) == 0 {
			return "yes"
		}
		return "**no**: " + strings.Join(r.Mismatches, "; ")
	})
}

func statuses(m map[int]int) string {
	var parts []string
	for _, status := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", m[status], status))
	}
	return strings.Join(parts, ", ")
}

func faults(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	total := 0
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		total += m[k]
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, ", "))
}
