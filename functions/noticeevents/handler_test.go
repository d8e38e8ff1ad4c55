package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/smartprotect/pledge/shared/notice"
)

type marks []notice.Sent

func (m *marks) MarkSent(_ context.Context, s notice.Sent, _ time.Time) (bool, error) {
	*m = append(*m, s)
	return true, nil
}

func TestOnlyANoticesSendEventMarksARecord(t *testing.T) {
	var got marks
	h := &handler{store: &got, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	sendEvent := func(eventType string, headers map[string]string) Event {
		var hs []map[string]string
		for k, v := range headers {
			hs = append(hs, map[string]string{"name": k, "value": v})
		}
		d, _ := json.Marshal(map[string]any{"eventType": eventType, "mail": map[string]any{"messageId": "ses-1", "headers": hs}, "send": map[string]any{}})
		return Event{Source: "aws.ses", DetailType: "Email Sent", Detail: d}
	}
	ours := map[string]string{"X-Pledge-Recipient": "p-1", "x-pledge-notice": "2027-02", "Subject": "Changes"}
	if res, err := h.handle(context.Background(), sendEvent("Send", ours)); err != nil || !res.Marked {
		t.Fatalf("a notice's send event = %+v, %v", res, err)
	}
	if len(got) != 1 || got[0] != (notice.Sent{Version: "2027-02", PersonID: "p-1", MessageID: "ses-1"}) {
		t.Fatalf("marked %+v", got)
	}
	for name, ev := range map[string]Event{
		"a bounce":              sendEvent("Bounce", ours),
		"a confirmation mail":   sendEvent("Send", map[string]string{"Subject": "Please confirm"}),
		"a forged version":      sendEvent("Send", map[string]string{"X-Pledge-Recipient": "p-1", "X-Pledge-Notice": "../x"}),
		"another source":        {Source: "aws.s3", Detail: sendEvent("Send", ours).Detail},
		"a detail that is junk": {Source: "aws.ses", Detail: json.RawMessage(`"x"`)},
	} {
		if res, err := h.handle(context.Background(), ev); err != nil || !res.Ignored {
			t.Errorf("%s = %+v, %v; want ignored", name, res, err)
		}
	}
	if len(got) != 1 {
		t.Fatalf("marked %+v; want only the notice's send", got)
	}
}
