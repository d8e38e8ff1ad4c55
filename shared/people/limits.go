package people

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// CanonicalMailbox returns the mailbox that a normalised address delivers
// to, by the rules of delivery that are widely known, so that variants of
// one address count as one mailbox: lower case; a "+tag" dropped from the
// local part (sub-addressing, RFC 5233, which most providers honour); at
// gmail.com and googlemail.com (one service), every dot in the local part
// dropped, as Gmail ignores them, and the domain spelled gmail.com.
// "Jo.Doe+news@GoogleMail.com" is "jodoe@gmail.com". The result is only
// ever keyed (see Limiter), never stored or sent to.
func CanonicalMailbox(addr string) string {
	addr = strings.ToLower(addr)
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return addr
	}
	local, domain := addr[:at], addr[at+1:]
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		if l := strings.ReplaceAll(local, ".", ""); l != "" {
			local = l
		}
	}
	return local + "@" + domain
}

// SourceNetwork returns the network whose requests count as one source: an
// IPv4 address itself (an IPv4-mapped IPv6 address counts as its IPv4
// address), and for IPv6 its /64, the smallest block a subscriber is given
// (RFC 6177), within which one client can pick a fresh address per request.
// "2001:db8:1:2:a::1" is "2001:db8:1:2::/64". A source that is not an IP
// address (API Gateway always gives one) is "unknown": all such requests
// count as one source.
func SourceNetwork(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return "unknown"
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return "unknown"
	}
	return p.String()
}

// Limit allows at most Max events in each fixed Window; windows are aligned
// to the Unix epoch (a 10-minute window starts at :00, :10, ...). A zero Max
// is no limit.
type Limit struct {
	Max    int64
	Window time.Duration
}

// On reports whether the limit limits anything.
func (l Limit) On() bool { return l.Max > 0 && l.Window > 0 }

// Limits are the abuse limits of the public routes that send mail on a
// stranger's request (sign-up, and any route that mails a link to an
// address typed into a form). DESIGN.md: "Public routes that send mail are
// limited per canonical mailbox, per source IP and overall".
type Limits struct {
	PerSource  Limit // attempts per SourceNetwork, mail or not
	PerMailbox Limit // mails per CanonicalMailbox
	Overall    Limit // mails in all: a ceiling that holds whoever asks
}

// The kinds of counter, as their keys name them.
const (
	SourceCounter  = "source"  // attempts per source network
	MailboxCounter = "mailbox" // mails per canonical mailbox
	MailsCounter   = "mails"   // mails in all
)

// overallKey is the key of the one overall counter.
const overallKey = "all"

// Counter names one fixed-window counter and the limit it is held to.
type Counter struct {
	Kind    string    // SourceCounter, MailboxCounter or MailsCounter
	Key     string    // a keyed hash of the source or mailbox, never an address or IP; "all" for MailsCounter
	Window  time.Time // the start of the window
	Max     int64     // the limit: Take counts only while fewer are counted
	Expires time.Time // the end of the window: then the counter is of no use (TTL)
}

// Counters keeps fixed-window counters (store.Store).
type Counters interface {
	// Take counts one more in c if it holds fewer than c.Max, and reports
	// whether it did; a counter never taken holds 0. One request, whether
	// or not it counts. Errors: ErrBusy (throttled), or a wrapped fault.
	Take(ctx context.Context, c Counter) (bool, error)
	// GiveBack uncounts one that Take counted in c.
	GiveBack(ctx context.Context, c Counter) error
}

// LimitedMessage is what a refused request is told, whichever limit refused
// it: naming the limit would tell a stranger that someone asked for mail to
// that address minutes ago.
const LimitedMessage = "We have sent as much mail as we will for now, to this address or for requests from your network. " +
	"Nothing was recorded and no mail was sent. Please try again later."

// Limiter holds the routes that mail on a stranger's request to Limits,
// with fixed-window counters kept by Counters. The counters are taken in
// order (source, mailbox, overall), one request each, and the first that
// is full refuses: a refusal by the source costs one request, by the
// mailbox two, by the ceiling four (the mailbox's mail is given back). A
// counter this Limiter saw full is refused again, until its window ends,
// without any request (a full counter stays full: only a mail that was not
// sent is given back), so a flood on one mailbox or from one source costs
// a request or two per process and window, then nothing. Safe for
// concurrent use; build one per process, in main.
type Limiter struct {
	Counters Counters
	Limits   Limits
	Keyed    func(string) string // the keyed hash of people's ids (KeyedID): counters carry no address or IP
	Now      func() time.Time

	mu   sync.Mutex
	full map[fullKey]time.Time // counters seen full, until their window's end
}

type fullKey struct{ kind, key string }

// maxFull bounds what a Limiter remembers of full counters.
const maxFull = 10000

// Permit is one mail the limits allow. Release it when no mail was sent
// after all, so that it does not count.
type Permit struct {
	l     *Limiter
	taken []Counter // the mail counters it took
}

// Admit counts an attempt from ip (the client's address) and takes one mail
// to addr (normalised, valid) from the mailbox's and the overall limit. When
// a limit is reached it answers an *Error with code RateLimited and the
// RetryAfter of the limit that refused, having taken no mail (the attempt
// counts). A nil Limiter admits everything. Errors besides: ErrBusy, or a
// wrapped fault, with nothing taken.
func (l *Limiter) Admit(ctx context.Context, addr, ip string) (Permit, error) {
	if l == nil {
		return Permit{}, nil
	}
	now := l.Now()
	var counters []Counter
	add := func(kind, key string, lim Limit) {
		if lim.On() {
			start := time.Unix(0, now.UnixNano()-now.UnixNano()%int64(lim.Window)).UTC()
			counters = append(counters, Counter{Kind: kind, Key: key, Window: start, Max: lim.Max, Expires: start.Add(lim.Window)})
		}
	}
	add(SourceCounter, l.Keyed("limit-source:"+SourceNetwork(ip)), l.Limits.PerSource)
	add(MailboxCounter, l.Keyed("limit-mailbox:"+CanonicalMailbox(addr)), l.Limits.PerMailbox)
	add(MailsCounter, overallKey, l.Limits.Overall)
	for _, c := range counters {
		if until, full := l.seenFull(c, now); full {
			return Permit{}, limited(until.Sub(now))
		}
	}
	p := Permit{l: l}
	for _, c := range counters {
		ok, err := l.Counters.Take(ctx, c)
		if err == nil && !ok {
			l.sawFull(c, now)
			err = limited(c.Expires.Sub(now))
		}
		if err != nil {
			if rerr := p.Release(ctx); rerr != nil {
				return Permit{}, errors.Join(err, rerr)
			}
			return Permit{}, err
		}
		if c.Kind != SourceCounter {
			p.taken = append(p.taken, c)
		}
	}
	return p, nil
}

// Release gives back the mail p took, when none was sent. Releasing a zero
// Permit does nothing.
func (p Permit) Release(ctx context.Context) error {
	var errs []error
	for _, c := range p.taken {
		if err := p.l.Counters.GiveBack(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func limited(wait time.Duration) *Error {
	return &Error{Code: RateLimited, Message: LimitedMessage, RetryAfter: max(wait, time.Second)}
}

func (l *Limiter) seenFull(c Counter, now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.full[fullKey{c.Kind, c.Key}]
	return until, ok && now.Before(until)
}

func (l *Limiter) sawFull(c Counter, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.full == nil {
		l.full = map[fullKey]time.Time{}
	}
	if len(l.full) >= maxFull {
		for k, until := range l.full {
			if !now.Before(until) {
				delete(l.full, k)
			}
		}
		if len(l.full) >= maxFull {
			clear(l.full)
		}
	}
	l.full[fullKey{c.Kind, c.Key}] = c.Expires
}

var _ MailLimits = (*Limiter)(nil)

// AllowMail is Admit for a mail of the preferences page (a grant's confirm
// link, a fresh link): it counts against the same limits as sign-ups, and
// the mail stays counted once allowed.
func (l *Limiter) AllowMail(ctx context.Context, to, clientIP string) error {
	_, err := l.Admit(ctx, to, clientIP)
	return err
}
