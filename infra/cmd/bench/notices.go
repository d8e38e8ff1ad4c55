package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
	"github.com/smartprotect/pledge/shared/notice"
	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/store"
)

// noticeCost publishes a material policy version on a fresh stack holding
// size confirmed people, with the SES account's max send rate set to rate,
// and measures the fan-out from the publish until the notice is done.
func noticeCost(ctx context.Context, sizes []int, rate float64) error {
	fmt.Println("| people | recipients SES took | SES send calls | SES calls / 1,000 | DynamoDB requests | DynamoDB / 1,000 | by operation | wall time | achieved rate / max | busiest second / max |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |")
	for _, size := range sizes {
		s, recipients, _, err := noticeStack(ctx, fmt.Sprintf("bench-notices-%d", size), size, 0, rate, "60s", "120s")
		if err != nil {
			return err
		}
		start := time.Now()
		if err := publish(ctx, s, "bench-"+fmt.Sprint(size)); err != nil {
			s.Close()
			return err
		}
		if err := untilDone(ctx, s, "bench-"+fmt.Sprint(size)); err != nil {
			s.Close()
			return err
		}
		wall := time.Since(start)
		sends, ddb, ses := s.SESCalls.Sends(), s.DynamoDBCalls.Counts(), s.SESCalls.Counts()
		s.Close()
		took := 0
		for _, x := range sends {
			took += len(x.To)
		}
		lost, doubled := localstack.LostAndDoubled(sends, recipients)
		if lost+doubled > 0 {
			return fmt.Errorf("%d people: %d lost and %d doubled without any kill", size, lost, doubled)
		}
		calls := ses["SendBulkEmail"] + ses["SendEmail"]
		// From the first send to the last, plus the gap the last one opens.
		perSecond := int((rate + 49) / 50)
		span := sends[len(sends)-1].At.Sub(sends[0].At) + time.Second/time.Duration(perSecond)
		per := func(n int) float64 { return float64(n) * 1000 / float64(took) }
		fmt.Printf("| %d | %d | %d | %.1f | %d | %.0f | %v | %s | %.3f | %.3f |\n", size, took, calls, per(calls), total(ddb), per(total(ddb)), ddb,
			wall.Round(time.Second), float64(took)/span.Seconds()/rate, float64(localstack.MaxPerSecond(sends))/rate)
	}
	return nil
}

// noticeKills kills the notices function at random points kills times while
// it tells size people, and size/50 more whom our mail does not reach
// (bounced for good), the SES proxy losing the answers of a share
// lostShare of the send calls SES took, and counts who SES took no notice
// for, or two, and whom it took one for that it should not have.
func noticeKills(ctx context.Context, size, kills int, rate, lostShare float64) error {
	s, recipients, unreachable, err := noticeStack(ctx, "bench-notice-kills", size, size/50, rate, "1s", "1s")
	if err != nil {
		return err
	}
	defer s.Close()
	answers := localstack.NewSESFaults(lostShare, uint64(time.Now().UnixNano()))
	s.SESCalls.LoseSESAnswers(answers)
	if err := publish(ctx, s, "bench-kills"); err != nil {
		return err
	}
	hit, err := s.KillAtRandom(ctx, "NoticesFunction", kills, rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)), 1500*time.Millisecond, 2100*time.Millisecond)
	if err != nil {
		return err
	}
	if err := untilDone(ctx, s, "bench-kills"); err != nil {
		return err
	}
	sends := s.SESCalls.Sends()
	lost, doubled := localstack.LostAndDoubled(sends, recipients)
	got := map[string]int{}
	for _, x := range sends {
		for _, to := range x.To {
			got[to]++
		}
	}
	mailedUnreachable := 0
	for _, u := range unreachable {
		mailedUnreachable += got[u]
	}
	st, err := noticeStatus(ctx, s, "bench-kills")
	if err != nil {
		return err
	}
	fmt.Println("| people | of them undeliverable | kills tried | kills that cut a run off | SES answers lost | lost | doubled | undeliverable mailed | status: total / sent / undeliverable / failed |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
	fmt.Printf("| %d | %d | %d | %d | %d | %d | %d | %d | %d / %d / %d / %d |\n", size+len(unreachable), len(unreachable), kills, hit, answers.Lost(),
		lost, doubled, mailedUnreachable, st.Total, st.Sent, st.Undeliverable, st.Failed)
	if lost+doubled+mailedUnreachable > 0 || st.Sent+st.Undeliverable+st.Failed != st.Total || st.Undeliverable != len(unreachable) {
		return fmt.Errorf("the notice lost %d, doubled %d, mailed %d undeliverable, or its status does not add up: %+v", lost, doubled, mailedUnreachable, st)
	}
	return nil
}

// noticeStack starts a stack whose table holds size confirmed people, and
// unreachable more whom SES's feedback says our mail does not reach.
func noticeStack(ctx context.Context, name string, size, unreachable int, rate float64, lease, grace string) (s *localstack.Stack, recipients, bounced []string, err error) {
	s, err = localstack.Start(ctx, localstack.Options{Name: name, Parameters: map[string]string{"NoticeLease": lease, "NoticeSettleGrace": grace},
		SESAccount: localstack.SESAccount{MaxSendRate: rate, Max24HourSend: 1e7, SendingEnabled: true, ProductionMode: true}})
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now().UTC()
	var in []store.Imported
	for j := range size + unreachable {
		email := fmt.Sprintf("reader-%07d@example.com", j)
		p := people.Person{ID: people.RandomID(), Email: email, Name: "Bench Reader",
			Status: people.Confirmed, Active: []people.Purpose{people.Newsletter}, CreatedAt: now, UpdatedAt: now, ConfirmedAt: now}
		if j < size {
			recipients = append(recipients, email)
		} else {
			p.Deliverability = people.Deliverability{State: people.Undeliverable, Since: now.Add(-time.Hour)}
			bounced = append(bounced, email)
		}
		in = append(in, store.Imported{Person: p})
	}
	if err := store.New(s.DynamoDB.DynamoDBClient(), s.Table).Import(ctx, in); err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	s.DynamoDBCalls.Reset()
	s.SESCalls.Reset()
	s.SESCalls.RecordSends()
	return s, recipients, bounced, nil
}

// noticeStatus reads a version's notice progress from the table.
func noticeStatus(ctx context.Context, s *localstack.Stack, version string) (notice.Progress, error) {
	v, err := store.New(s.DynamoDB.DynamoDBClient(), s.Table).PolicyVersion(ctx, version)
	return v.Progress, err
}

// publish publishes a material version taking effect in 40 days, signed as
// an operator's tools sign it; the publish kicks the notices function.
func publish(ctx context.Context, s *localstack.Stack, version string) error {
	body, _ := json.Marshal(map[string]any{"version": version, "effective": time.Now().Add(40 * 24 * time.Hour).Format("2006-01-02"),
		"material": true, "summary": "We now keep survey answers for 12 months.", "url": "https://smartprotect.example/privacy/" + version})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.GatewayURL+"/admin/policies", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if err := localstack.SignAdmin(ctx, req, body); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("publish %s: %d %s", version, resp.StatusCode, b)
	}
	return nil
}

// untilDone runs the notices function, as the schedule would, until the
// version's notice is done. A run that finds another holding the lease
// (the one the publish kicked) waits for it: the pool has one instance.
func untilDone(ctx context.Context, s *localstack.Stack, version string) error {
	for range 100 {
		out, err := s.Invoke(ctx, "NoticesFunction", []byte("{}"))
		if err != nil {
			return err
		}
		var rep struct {
			Busy     bool
			Versions map[string]bool
		}
		json.Unmarshal(out, &rep)
		if rep.Versions[version] {
			return nil
		}
		if rep.Busy {
			time.Sleep(time.Second)
		}
		if len(rep.Versions) == 0 && !rep.Busy {
			return nil // nothing left to send: an earlier run finished it
		}
	}
	return fmt.Errorf("the notice of %s did not finish", version)
}
