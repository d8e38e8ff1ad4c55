package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/config"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

type sweepResult struct {
	DryRun bool
	Done   bool
	Due    map[string]int
	Erased map[string]int
	Failed int
}

// TestTheDailySweepErasesWhatIsDueLeavingNoPersonalData runs on a stack of
// its own: sweeping as of a later day would erase the other tests' people.
func TestTheDailySweepErasesWhatIsDueLeavingNoPersonalData(t *testing.T) {
	ctx, own := ownStack(t, "e2e-retention")
	signUpOn(t, own, url.Values{"email": {"erin@example.com"}, "name": {"Erin Erasable"}, "purposes": {"newsletter"}, "policy_version": {policy}})
	signUpOn(t, own, url.Values{"email": {"kim@example.com"}, "name": {"Kim Kept"}, "purposes": {"surveys"}, "policy_version": {policy}})
	// Kim confirms; Erin never does.
	mails, _ := own.Mailbox.To(ctx, "kim@example.com")
	link := linkPattern.FindString(mails[0].Body.Text)
	resp, err := http.PostForm(own.GatewayURL+"/confirm", url.Values{"t": {tokenOf(t, link)}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("confirm = %v, %v", resp, err)
	}
	resp.Body.Close()

	sweep := func(dry bool, at time.Time) sweepResult { t.Helper(); return sweepOn(ctx, t, own, dry, at) }
	later := time.Now().Add(8 * 24 * time.Hour)
	before := dump(t, own)
	if r := sweep(true, later); !r.DryRun || r.Due["unconfirmed"] != 1 || len(r.Erased) != 0 {
		t.Fatalf("dry run = %+v", r)
	}
	if after := dump(t, own); withoutRuns(after) != withoutRuns(before) || !strings.Contains(after, "dryRun") {
		t.Fatal("DRY_RUN changed the table, or kept no summary of the dry run")
	}
	if r := sweep(false, later); !r.Done || r.Erased["unconfirmed"] != 1 || r.Failed != 0 {
		t.Fatalf("sweep = %+v", r)
	}
	after := dump(t, own)
	for _, personal := range []string{"erin@example.com", "Erin Erasable", "127.0.0.1"} {
		if strings.Contains(after, personal) {
			t.Errorf("a scan of the whole table still finds %q", personal)
		}
	}
	if !strings.Contains(after, "kim@example.com") || !strings.Contains(after, "#erased#unconfirmed") {
		t.Fatal("the sweep took the confirmed person, or left no aggregate count")
	}
	if r := sweep(false, later); len(r.Erased) != 0 {
		t.Fatalf("a second sweep erased again: %+v", r)
	}
}

// ownStack starts a stack for one test, stopped when it ends: sweeping as of
// a later day would erase the other tests' people.
func ownStack(t *testing.T, name string) (context.Context, *localstack.Stack) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	s, err := startStack(ctx, localstack.Options{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return ctx, s
}

// signUpOn posts the sign-up form to s's gateway.
func signUpOn(t *testing.T, s *localstack.Stack, form url.Values) {
	t.Helper()
	resp, err := http.PostForm(s.GatewayURL+"/signup", form)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("sign-up = %v, %v", resp, err)
	}
	resp.Body.Close()
}

// sweepOn invokes s's retention function as the schedule would, as of at.
func sweepOn(ctx context.Context, t *testing.T, s *localstack.Stack, dry bool, at time.Time) sweepResult {
	t.Helper()
	in := fmt.Sprintf(`{"dryRun":%v,"now":%q}`, dry, at.UTC().Format(time.RFC3339))
	out, err := s.Invoke(ctx, "RetentionFunction", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var r sweepResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("sweep answered %s", out)
	}
	return r
}

// withoutRuns drops the sweep's run summaries from a dump.
func withoutRuns(dump string) string {
	var keep []string
	for _, line := range strings.Split(dump, "\n") {
		if !strings.Contains(line, "RUN#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// dump is every item of the table as text, in a stable order.
func dump(t *testing.T, s *localstack.Stack) string {
	t.Helper()
	settle(t, s)
	out, err := s.DynamoDB.DynamoDBClient().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.Table)})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		t.Fatal(err)
	}
	lines := make([]string, 0, len(items))
	for _, it := range items {
		b, _ := json.Marshal(it) // encoding/json sorts map keys
		lines = append(lines, string(b))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestAnAccountKeepsItsPersonUntilAYearAfterItCloses runs on a stack of its
// own, as it sweeps as of a later day.
func TestAnAccountKeepsItsPersonUntilAYearAfterItCloses(t *testing.T) {
	ctx, own := ownStack(t, "e2e-accounts")
	signUpOn(t, own, url.Values{"email": {"ola@example.com"}, "name": {"Ola Owner"}, "purposes": {"offers"}, "policy_version": {policy}})
	event := func(kind string, at time.Time) string {
		return fmt.Sprintf(`{"email":"Ola@Example.com","event":%q,"at":%q}`, kind, at.UTC().Format(time.RFC3339))
	}
	now := time.Now()
	if got := admin(t, own, http.MethodPost, "/admin/accounts", "application/json", event("opened", now), false); got.Status != http.StatusForbidden {
		t.Fatalf("an unsigned account event = %d %s", got.Status, got.Body)
	}
	before := dump(t, own)
	if got := admin(t, own, http.MethodPost, "/admin/accounts", "application/json", `{"email":"ola@example.com","event":"suspended","at":"2026-01-01T00:00:00Z"}`, true); got.Status != http.StatusBadRequest || !strings.Contains(got.Body, `"field":"event"`) {
		t.Fatalf("an unknown event = %d %s", got.Status, got.Body)
	}
	if dump(t, own) != before {
		t.Fatal("a refused account event changed the table")
	}
	if got := admin(t, own, http.MethodPost, "/admin/accounts", "application/json", event("opened", now), true); got.Status != http.StatusOK || !strings.Contains(got.Body, `"account":"open"`) {
		t.Fatalf("opening = %d %s", got.Status, got.Body)
	}

	sweep := func(at time.Time) sweepResult { t.Helper(); return sweepOn(ctx, t, own, false, at) }
	// Unconfirmed for more than the 7 days, but the account is open.
	if r := sweep(now.Add(8 * 24 * time.Hour)); len(r.Erased) != 0 || r.Failed != 0 {
		t.Fatalf("a sweep while the account is open = %+v", r)
	}
	if p, err := personOn(t, own, "ola@example.com"); err != nil || p.Account.State != people.AccountOpen {
		t.Fatalf("the account holder = %+v, %v", p, err)
	}

	closed := now.Add(9 * 24 * time.Hour)
	got := admin(t, own, http.MethodPost, "/admin/accounts", "application/json", event("closed", closed), true)
	var answer struct {
		Retention struct {
			Rule string
			Due  time.Time
		}
	}
	if got.Status != http.StatusBadRequest { // a closing in the future is refused
		t.Fatalf("closing 9 days ahead = %d %s", got.Status, got.Body)
	}
	closed = now.Add(time.Minute) // later than the opening, within the clock skew allowed
	got = admin(t, own, http.MethodPost, "/admin/accounts", "application/json", event("closed", closed), true)
	if got.Status != http.StatusOK || json.Unmarshal([]byte(got.Body), &answer) != nil || answer.Retention.Rule != "closed-account" {
		t.Fatalf("closing = %d %s", got.Status, got.Body)
	}
	year := answer.Retention.Due.Sub(closed.Truncate(time.Second))
	if year != 365*24*time.Hour {
		t.Fatalf("the closed account is due %s after closing, want a year (RetentionClosedAccount)", year)
	}
	if r := sweep(answer.Retention.Due.Add(-24 * time.Hour)); len(r.Erased) != 0 {
		t.Fatalf("a day before the year is up: %+v", r)
	}
	if r := sweep(answer.Retention.Due.Add(24 * time.Hour)); r.Erased["closed-account"] != 1 || r.Failed != 0 {
		t.Fatalf("a year after closing: %+v", r)
	}
	after := dump(t, own)
	for _, personal := range []string{"ola@example.com", "Ola Owner", "127.0.0.1"} {
		if strings.Contains(after, personal) {
			t.Errorf("a scan of the whole table still finds %q", personal)
		}
	}
	if !strings.Contains(after, "#erased#closed-account") {
		t.Fatal("no aggregate count of the erasure")
	}
}

// TestAnErasedPersonsLedgerGoesWhenItsProofPeriodEnds runs on a stack of its
// own, as it sweeps years ahead: the consent ledger outlives the erasure as
// proof for the ledger-proof period (policy section 11), then goes too.
func TestAnErasedPersonsLedgerGoesWhenItsProofPeriodEnds(t *testing.T) {
	ctx, own := ownStack(t, "e2e-ledger-proof")
	signUpOn(t, own, url.Values{"email": {"lee@example.com"}, "name": {"Lee Ledger"}, "purposes": {"newsletter"}, "policy_version": {policy}})
	env := own.Env("RetentionFunction")
	proof := config.Retention(env).LedgerProof
	pepper := config.AddressPepper(ctx, own.Env("SignupFunction"), nil)
	if err := env.Err(); err != nil || proof <= 0 || pepper == nil {
		t.Fatalf("ledger proof %v, pepper %v, %v", proof, pepper != nil, err)
	}
	st := store.New(own.DynamoDB.DynamoDBClient(), own.Table)
	id := people.KeyedID(pepper)(people.NormaliseEmail("lee@example.com"))
	// sweepUntilDone sweeps as of at until a run has walked every due day.
	sweepUntilDone := func(at time.Time) map[string]int {
		t.Helper()
		erased := map[string]int{}
		for range 10 {
			r := sweepOn(ctx, t, own, false, at)
			if r.Failed != 0 {
				t.Fatalf("sweep as of %s = %+v", at, r)
			}
			for k, v := range r.Erased {
				erased[k] += v
			}
			if r.Done {
				return erased
			}
		}
		t.Fatalf("the sweep as of %s never finished", at)
		return nil
	}
	erasedAt := time.Now().Add(8 * 24 * time.Hour)
	if erased := sweepUntilDone(erasedAt); erased["unconfirmed"] != 1 {
		t.Fatalf("the unconfirmed sign-up was not erased: %v", erased)
	}
	if evs, err := st.Consents(ctx, id); err != nil || len(evs) == 0 {
		t.Fatalf("the ledger went with the person (%d entries, %v): it is proof for %v", len(evs), err, proof)
	}
	if erased := sweepUntilDone(erasedAt.Add(proof - 24*time.Hour)); erased["ledger-proof"] != 0 {
		t.Fatalf("the ledger went before its proof period ended: %v", erased)
	}
	if erased := sweepUntilDone(erasedAt.Add(proof + 24*time.Hour)); erased["ledger-proof"] != 1 {
		t.Fatalf("the ledger's proof period ended and it was not purged: %v", erased)
	}
	if evs, err := st.Consents(ctx, id); err != nil || len(evs) != 0 {
		t.Fatalf("%d ledger entries are left after their proof period (%v)", len(evs), err)
	}
}
