package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/export"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/privacy"
	"github.com/smartprotect/pledge/shared/store"
	"github.com/smartprotect/pledge/shared/token"
)

// correcting is a stack of its own for corrections: they publish a policy
// version (a notice record moves with the person) and kill the privacy
// function mid-move, which the shared stack's other tests must not see.
type correcting struct {
	s     *localstack.Stack
	st    *store.Store
	keyed func(string) string
}

func (c *correcting) call(t *testing.T, method, path, contentType, accept, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, c.s.GatewayURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", browserUA)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (c *correcting) postJSON(t *testing.T, path, body string) answer {
	t.Helper()
	return c.call(t, http.MethodPost, path, "application/json", "application/json", body)
}

func (c *correcting) press(t *testing.T, path, link string) answer {
	t.Helper()
	return c.call(t, http.MethodPost, path, "application/x-www-form-urlencoded", "application/json", url.Values{"t": {tokenOf(t, link)}}.Encode())
}

// link finds the link to path in both parts of the newest mail to addr
// whose subject says subject.
func (c *correcting) link(t *testing.T, addr, subject, path string) string {
	t.Helper()
	mails, err := c.s.Mailbox.To(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(mails) - 1; i >= 0; i-- {
		if m := mails[i]; strings.Contains(m.Subject, subject) {
			link := regexp.MustCompile(`https?://[^\s"<>]+` + regexp.QuoteMeta(path) + `\?t=[A-Za-z0-9_.%-]+`).FindString(m.Body.Text)
			if link == "" || !strings.Contains(m.Body.HTML, `href="`+link+`"`) {
				t.Fatalf("no %s link in both parts of %q", path, m.Subject)
			}
			return link
		}
	}
	t.Fatalf("no mail to %s says %q (%d mails)", addr, subject, len(mails))
	return ""
}

// signedUp signs email up for the newsletter and confirms, through the
// pages; it returns the person's key.
func (c *correcting) signedUp(t *testing.T, email string) string {
	t.Helper()
	if got := c.call(t, http.MethodPost, "/signup", "application/x-www-form-urlencoded", "application/json", signupForm(email, "newsletter").Encode()); got.Status != http.StatusAccepted {
		t.Fatalf("sign-up = %d %s", got.Status, got.Body)
	}
	if got := c.press(t, "/confirm", c.link(t, email, "onfirm", "/confirm")); got.Status != 200 {
		t.Fatalf("confirm = %d %s", got.Status, got.Body)
	}
	return c.keyed(email)
}

// ledger appends n ledger entries to the person keyed id, 99 to a write.
func (c *correcting) ledger(t *testing.T, id string, n int) {
	t.Helper()
	for written := 0; written < n; written += 99 {
		batch := min(99, n-written)
		_, err := c.st.UpdatePerson(context.Background(), id, func(p people.Person) (people.Change, error) {
			q, at := p, p.UpdatedAt.Add(time.Millisecond)
			var events []people.ConsentEvent
			for i := range batch {
				action := people.Grant
				if i%2 == 0 {
					action = people.Withdraw
				}
				events = append(events, people.NewEvents(id, action, []people.Purpose{people.Offers}, at.Add(time.Duration(i)*time.Microsecond),
					people.Context{Source: "e2e"}, people.RandomID)...)
			}
			q.UpdatedAt = at.Add(time.Duration(batch) * time.Microsecond)
			return people.Change{After: &q, Events: events}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// told records that the person keyed id was sent policy version v.
func (c *correcting) told(t *testing.T, id, email, v string) {
	t.Helper()
	ctx, now := context.Background(), time.Now()
	if res, err := c.st.Claim(ctx, v, notice.Recipient{ID: id, Email: email}, "run-e2e", now.Add(time.Minute), now); err != nil || res != notice.Claimed {
		t.Fatalf("claim = %v, %v", res, err)
	}
	if err := c.st.Settle(ctx, v, "run-e2e", []notice.Outcome{{PersonID: id, Sent: true, MessageID: "message-e2e", Attempts: 1}}, now); err != nil {
		t.Fatal(err)
	}
}

// askAddress asks, verifies and returns the new mailbox's link of a
// correction of from's address to to.
func (c *correcting) askAddress(t *testing.T, from, to, name string) string {
	t.Helper()
	if got := c.postJSON(t, "/privacy", fmt.Sprintf(`{"kind":"correct","email":%q,"new_email":%q,"new_name":%q}`, from, to, name)); got.Status != http.StatusAccepted {
		t.Fatalf("ask = %d %s", got.Status, got.Body)
	}
	if got := c.press(t, "/privacy/verify", c.link(t, from, "confirm your privacy request", "/privacy/verify")); got.Status != 200 || !strings.Contains(got.Body, `"status":"verified"`) {
		t.Fatalf("verify = %d %s", got.Status, got.Body)
	}
	return c.link(t, to, "confirm your new address", "/privacy/correct")
}

// checkMoved fails unless the person is whole under the key of to (what
// was held under from, the ledger plus the correction's entry) and nothing
// is left under from's key.
func (c *correcting) checkMoved(t *testing.T, from, to string, was export.Held) {
	t.Helper()
	ctx := context.Background()
	if h, err := c.st.Holdings(ctx, c.keyed(from)); !errors.Is(err, people.ErrNotFound) {
		t.Fatalf("the old key still holds %+v, %v", h, err)
	}
	h, err := c.st.Holdings(ctx, c.keyed(to))
	if err != nil {
		t.Fatal(err)
	}
	if p := h.Person; p == nil || p.Email != to || p.Name != was.Person.Name || len(p.Active) != len(was.Person.Active) || !p.CreatedAt.Equal(was.Person.CreatedAt) {
		t.Fatalf("the moved profile = %+v; was %+v", h.Person, was.Person)
	}
	if len(h.Consents) != len(was.Consents)+1 {
		t.Fatalf("%d ledger entries under the new key; want %d + the correction", len(h.Consents), len(was.Consents))
	}
	for i, e := range was.Consents {
		if g := h.Consents[i]; g.ID != e.ID || !g.At.Equal(e.At) || g.Action != e.Action || g.Purpose != e.Purpose {
			t.Fatalf("entry %d = %+v; was %+v", i, g, e)
		}
	}
	if last := h.Consents[len(h.Consents)-1]; last.Action != people.Correct || last.Purpose != people.CorrectedAddress {
		t.Fatalf("the last entry = %+v", last)
	}
	if len(h.Notices) != len(was.Notices) || len(h.Listed) != len(was.Listed) {
		t.Fatalf("notices %d (was %d), lists %v (was %v)", len(h.Notices), len(was.Notices), h.Listed, was.Listed)
	}
	out, err := c.s.DynamoDB.DynamoDBClient().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(c.s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	old := c.keyed(from)
	for _, it := range out.Items {
		if pointer(it, old, c.keyed(to)) {
			continue // the forward pointer the move left: the new key and when
		}
		for name, v := range it {
			if s, ok := v.(*types.AttributeValueMemberS); ok && strings.Contains(s.Value, old) || name == "moving" {
				t.Fatalf("an item is left naming the old key or a move: %s=%v in %v", name, v, it["pk"])
			}
		}
	}
}

func TestCorrectionsThroughTheLocalStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	own, err := startStack(ctx, localstack.Options{Name: "e2e-correct"})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	env := own.Env("PrivacyFunction")
	keyed := people.KeyedID(config.AddressPepper(ctx, env, nil))
	c := &correcting{s: own, st: store.New(own.DynamoDB.DynamoDBClient(), own.Table), keyed: func(e string) string { return keyed(people.NormaliseEmail(e)) }}
	pol := notice.Policy{Version: "2027-05", Effective: time.Now().Add(40 * 24 * time.Hour), Material: true, Summary: "Corrections.",
		URL: "https://smartprotect.example/privacy/2027-05", PublishedAt: time.Now()}
	if _, _, err := c.st.Publish(ctx, pol, people.Clock{}); err != nil {
		t.Fatal(err)
	}

	t.Run("a name is applied once verified, with a ledger entry", func(t *testing.T) {
		id := c.signedUp(t, "named@example.com")
		before, _ := c.st.Consents(ctx, id)
		if got := c.postJSON(t, "/privacy", `{"kind":"correct","email":"named@example.com","new_name":"Named Anew"}`); got.Status != http.StatusAccepted {
			t.Fatalf("ask = %d %s", got.Status, got.Body)
		}
		got := c.press(t, "/privacy/verify", c.link(t, "named@example.com", "confirm your privacy request", "/privacy/verify"))
		if got.Status != 200 || !strings.Contains(got.Body, `"outcome":"corrected"`) {
			t.Fatalf("verify = %d %s", got.Status, got.Body)
		}
		p, err := c.st.Person(ctx, id)
		after, _ := c.st.Consents(ctx, id)
		if err != nil || p.Name != "Named Anew" || p.Email != "named@example.com" || len(after) != len(before)+1 || after[len(after)-1].Action != people.Correct {
			t.Fatalf("person %+v, %v; %d entries (was %d)", p, err, len(after), len(before))
		}
		c.link(t, "named@example.com", "are corrected", "/privacy/status")
	})

	t.Run("an address moves the person once the new mailbox confirms", func(t *testing.T) {
		id := c.signedUp(t, "mover@example.com")
		c.told(t, id, "mover@example.com", pol.Version)
		c.ledger(t, id, 150)
		link := c.askAddress(t, "mover@example.com", "moved@example.com", "Mo Ved")
		was, err := c.st.Holdings(ctx, id)
		if err != nil || was.Person.Name != "Mo Ved" || len(was.Notices) != 1 || len(was.Listed) != 1 {
			t.Fatalf("before the move: %+v, %v", was, err)
		}
		if page := c.call(t, http.MethodGet, pathOf(t, link), "", browserAccept, ""); page.Status != 200 || !strings.Contains(page.Body, `action="/privacy/correct"`) {
			t.Fatalf("the new mailbox's page = %d", page.Status)
		}
		if head := c.call(t, http.MethodHead, pathOf(t, link), "", browserAccept, ""); head.Status != 200 {
			t.Fatalf("HEAD = %d", head.Status)
		}
		own.DynamoDBCalls.Reset()
		got := c.press(t, "/privacy/correct", link)
		calls := own.DynamoDBCalls.CountsExcept(asyncMailEvents)
		if got.Status != 200 || !strings.Contains(got.Body, `"status":"completed"`) {
			t.Fatalf("move = %d %s", got.Status, got.Body)
		}
		c.checkMoved(t, "mover@example.com", "moved@example.com", was)
		c.link(t, "moved@example.com", "are corrected", "/privacy/status")
		if again := c.press(t, "/privacy/correct", link); again.Status != 200 || !strings.Contains(again.Body, `"status":"completed"`) {
			t.Fatalf("a second press = %d %s", again.Status, again.Body)
		}
		t.Logf("DynamoDB requests of moving a person with %d ledger entries: %v", len(was.Consents), calls)
	})

	t.Run("a one-click in a mail sent before the move unsubscribes the moved person", func(t *testing.T) {
		from := c.signedUp(t, "before@example.com")
		out, err := own.Invoke(ctx, "NewsletterFunction", []byte(`{"list":"newsletter","subject":"News before the move","paragraphs":["Hello"]}`))
		if err != nil || strings.Contains(string(out), `"sent":0`) || !strings.Contains(string(out), `"failed":0`) {
			t.Fatalf("newsletter = %s, %v", out, err)
		}
		mails, err := own.Mailbox.To(ctx, "before@example.com")
		if err != nil {
			t.Fatal(err)
		}
		oneClick := ""
		for _, m := range mails {
			if m.Subject == "News before the move" {
				oneClick = unsubscribeURL(t, m)
			}
		}
		if oneClick == "" {
			t.Fatalf("no newsletter among %d mails to the old address", len(mails))
		}
		if got := c.press(t, "/privacy/correct", c.askAddress(t, "before@example.com", "after@example.com", "")); got.Status != 200 || !strings.Contains(got.Body, `"status":"completed"`) {
			t.Fatalf("move = %d %s", got.Status, got.Body)
		}
		to := c.keyed("after@example.com")
		if p, err := c.st.Person(ctx, to); err != nil || !p.Has(people.Newsletter) || !slices.Equal(p.MovedFrom, []string{from}) {
			t.Fatalf("the moved person = %+v, %v", p, err)
		}
		// The mail provider presses the old mail's one-click: its token
		// names the old key.
		got := c.call(t, http.MethodPost, pathOf(t, oneClick), "application/x-www-form-urlencoded", "application/json", "List-Unsubscribe=One-Click")
		if got.Status != 200 || !strings.Contains(got.Body, `"status":"unsubscribed"`) {
			t.Fatalf("one-click = %d %s", got.Status, got.Body)
		}
		p, err := c.st.Person(ctx, to)
		if err != nil || len(p.Active) != 0 || len(p.Pending) != 0 || p.Email != "after@example.com" {
			t.Fatalf("the moved person after the old one-click = %+v, %v", p, err)
		}
		evs, err := c.st.Consents(ctx, to)
		if err != nil || len(evs) == 0 {
			t.Fatal(err)
		}
		if last := evs[len(evs)-1]; last.Action != people.Withdraw || last.Purpose != people.AllMarketing || last.Source != "one-click" {
			t.Fatalf("the last ledger entry = %+v", last)
		}
		if _, err := c.st.Person(ctx, from); !errors.Is(err, people.ErrNotFound) {
			t.Fatalf("the old key reads as a person: %v", err)
		}
		// The old link's preferences page shows the moved person's state.
		page := c.call(t, http.MethodGet, pathOf(t, oneClick), "", "application/json", "")
		if page.Status != 200 || !strings.Contains(page.Body, `"status":"unsubscribed"`) {
			t.Fatalf("the old link's preferences = %d %s", page.Status, page.Body)
		}
	})

	t.Run("an address someone holds is refused and changes nothing", func(t *testing.T) {
		a, b := c.signedUp(t, "holder-a@example.com"), c.signedUp(t, "holder-b@example.com")
		pa, _ := c.st.Person(ctx, a)
		pb, _ := c.st.Person(ctx, b)
		if got := c.postJSON(t, "/privacy", `{"kind":"correct","email":"holder-a@example.com","new_email":"Holder-B@example.com","new_name":"Not Applied"}`); got.Status != http.StatusAccepted {
			t.Fatalf("ask = %d", got.Status)
		}
		got := c.press(t, "/privacy/verify", c.link(t, "holder-a@example.com", "confirm your privacy request", "/privacy/verify"))
		if got.Status != http.StatusConflict || !strings.Contains(got.Body, `"code":"conflict"`) || !strings.Contains(got.Body, `"field":"new_email"`) {
			t.Fatalf("verify = %d %s", got.Status, got.Body)
		}
		qa, _ := c.st.Person(ctx, a)
		qb, _ := c.st.Person(ctx, b)
		if qa.Version != pa.Version || qb.Version != pb.Version || qa.Name == "Not Applied" {
			t.Fatalf("a refused correction changed someone: %+v %+v", qa, qb)
		}
	})

	t.Run("bad corrections are a 400 naming the field", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"kind":"correct","email":"bad@example.com","new_email":"bad@"}`:              "new_email",
			`{"kind":"correct","email":"bad@example.com"}`:                                 "new_name",
			`{"kind":"correct","email":"bad@example.com","new_email":"BAD@example.com"}`:   "new_email",
			`{"kind":"correct","email":"bad@example.com","new_name":"a\nBcc: x@evil.com"}`: "new_name",
		} {
			if got := c.postJSON(t, "/privacy", body); got.Status != 400 || !strings.Contains(got.Body, `"field":"`+field+`"`) {
				t.Fatalf("%s = %d %s", body, got.Status, got.Body)
			}
		}
		if mails, _ := own.Mailbox.To(ctx, "bad@example.com"); len(mails) != 0 {
			t.Fatalf("bad corrections mailed %d times", len(mails))
		}
	})

	t.Run("a move cut off and left is finished by the clock", func(t *testing.T) {
		id := c.signedUp(t, "left@example.com")
		c.told(t, id, "left@example.com", pol.Version)
		c.ledger(t, id, 120)
		link := c.askAddress(t, "left@example.com", "found@example.com", "")
		was, err := c.st.Holdings(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		// The press that went in progress and began the move, then ended:
		// the request in progress, both profiles marked.
		tokens := config.TokenKeys(ctx, env, nil)
		claims, err := tokens.Verify(tokenOf(t, link), token.PrivacyMove, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := c.st.UpdateRequest(ctx, claims.Subject, func(r privacy.Request) (*privacy.Request, error) {
			q, _ := privacy.ConfirmMove(r, claims.Nonce, time.Now())
			return q, nil
		})
		if err != nil || r.Status != privacy.InProgress {
			t.Fatalf("in progress = %+v, %v", r, err)
		}
		cut := store.New(cutAfterOneWrite{DynamoDB: own.DynamoDB.DynamoDBClient(), left: new(int)}, own.Table)
		m := store.Move{From: r.Correction.From, To: r.Correction.PersonID, Email: r.Correction.Email, RequestID: r.ID, At: r.Correction.Confirmed, EntryID: r.ID}
		if err := cut.MovePerson(ctx, m); err == nil || !marked(t, c, id) || !marked(t, c, r.Correction.PersonID) {
			t.Fatalf("the cut move = %v; want both profiles marked", err)
		}
		if got := privacyClock(t, own, time.Now()); got.Completed != 0 {
			t.Fatalf("the clock finished a move that may still run: %+v", got)
		}
		if got := privacyClock(t, own, time.Now().Add(2*time.Minute)); got.Completed != 1 || got.Failed != 0 {
			t.Fatalf("the clock = %+v", got)
		}
		c.checkMoved(t, "left@example.com", "found@example.com", was)
		if got := c.press(t, "/privacy/correct", link); got.Status != 200 || !strings.Contains(got.Body, `"status":"completed"`) {
			t.Fatalf("a press after the clock = %d %s", got.Status, got.Body)
		}
	})

	t.Run("a move killed mid-way is finished by the next press", func(t *testing.T) {
		id := c.signedUp(t, "killed@example.com")
		c.told(t, id, "killed@example.com", pol.Version)
		c.ledger(t, id, 1000)
		link := c.askAddress(t, "killed@example.com", "survived@example.com", "")
		was, err := c.st.Holdings(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		pool := own.Pools["PrivacyFunction"]
		cut := 0
		for delay := 150 * time.Millisecond; delay < 3*time.Second; delay += 350 * time.Millisecond {
			done := make(chan int, 1)
			go func() {
				resp, err := client.PostForm(own.GatewayURL+"/privacy/correct", url.Values{"t": {tokenOf(t, link)}})
				if err != nil {
					done <- 0
					return
				}
				resp.Body.Close()
				done <- resp.StatusCode
			}()
			time.Sleep(delay)
			select {
			case status := <-done:
				t.Logf("the run ended before %v: %d", delay, status)
				if status == 200 {
					delay = time.Hour // it finished the move: the last press below finds it done
				}
				continue
			default:
			}
			if err := pool.KillAll(ctx); err != nil {
				t.Fatal(err)
			}
			<-done
			if marked(t, c, id) || marked(t, c, c.keyed("survived@example.com")) {
				cut++
			}
		}
		if cut == 0 {
			t.Fatal("no kill landed mid-move")
		}
		got := c.press(t, "/privacy/correct", link)
		if got.Status != 200 || !strings.Contains(got.Body, `"status":"completed"`) {
			t.Fatalf("the press after %d kills = %d %s", cut, got.Status, got.Body)
		}
		c.checkMoved(t, "killed@example.com", "survived@example.com", was)
		t.Logf("%d kills landed mid-move of %d ledger entries; the next press finished it", cut, len(was.Consents))
	})
}

// pointer reports whether it is the forward pointer a move from the key
// from to the key to leaves, and nothing more: the old key's profile item
// holding only the new key and when.
func pointer(it map[string]types.AttributeValue, from, to string) bool {
	s := func(name string) string {
		v, _ := it[name].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	return len(it) == 4 && s("pk") == "P#"+from && s("sk") == "PROFILE" && s("movedTo") == to && s("movedAt") != ""
}

// marked reports whether the profile keyed id carries a move's mark.
func marked(t *testing.T, c *correcting, id string) bool {
	t.Helper()
	out, err := c.s.DynamoDB.DynamoDBClient().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(c.s.Table),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "P#" + id}, "sk": &types.AttributeValueMemberS{Value: "PROFILE"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, ok := out.Item["moving"]
	return ok
}

// cutAfterOneWrite lets one transaction through, then fails the rest.
type cutAfterOneWrite struct {
	DynamoDB store.API
	left     *int
}

func (c cutAfterOneWrite) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return c.DynamoDB.GetItem(ctx, in, o...)
}

func (c cutAfterOneWrite) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, errors.New("cut off")
}

func (c cutAfterOneWrite) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return c.DynamoDB.Query(ctx, in, o...)
}

func (c cutAfterOneWrite) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if *c.left > 0 {
		return nil, errors.New("cut off")
	}
	*c.left++
	return c.DynamoDB.TransactWriteItems(ctx, in, o...)
}

func (c cutAfterOneWrite) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, errors.New("cut off")
}

func (c cutAfterOneWrite) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return nil, errors.New("cut off")
}

func (c cutAfterOneWrite) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	return c.DynamoDB.BatchGetItem(ctx, in, o...)
}
