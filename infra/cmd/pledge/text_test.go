package main

import (
	"bytes"
	"testing"
)

func TestAnswersReadAsIndentedLinesInTheAnswersOrder(t *testing.T) {
	for name, c := range map[string]struct{ in, want string }{
		"an object keeps its keys' order": {`{"z":1,"a":"two","m":null,"ok":true}`, "z: 1\na: two\nm: -\nok: true\n"},
		"a nested object is indented":     {`{"account":"closed","retention":{"rule":"closed-account","due":"2027-11-30T00:00:00Z"}}`, "account: closed\nretention:\n  rule: closed-account\n  due: 2027-11-30T00:00:00Z\n"},
		"a list of scalars is one line":   {`{"systems":["billing","support"],"erased":{}}`, "systems: billing, support\nerased: (none)\n"},
		"a list of objects is items": {`{"id":"r1","reminded":[{"kind":"7d","at":"2026-12-23"},{"kind":"2d","at":"2026-12-28"}]}`,
			"id: r1\nreminded:\n  - kind: 7d\n    at: 2026-12-23\n  - kind: 2d\n    at: 2026-12-28\n"},
		"big numbers stay as written":      {`{"n":12345678901234567890}`, "n: 12345678901234567890\n"},
		"what is not JSON comes as it was": {"Internal Server Error\n", "Internal Server Error\n"},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeText(&b, []byte(c.in)); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("writeText(%s) =\n%s\nwant\n%s", c.in, b.String(), c.want)
			}
		})
	}
}

func TestTheRequestListIsATableWithItsCounts(t *testing.T) {
	in := `{"status":"completed","month":"2026-11","overdue":1,"requests":[
{"id":"r1","kind":"delete","status":"completed","received":"2026-11-01T10:00:00Z","due":"2026-12-01T10:00:00Z","closed":"2026-11-05T09:00:00Z","outcome":"erased"},
{"id":"r2","kind":"access","status":"refused","received":"2026-11-02T10:00:00Z","due":"2026-12-02T10:00:00Z","reason":"no-data"}]}`
	want := "2 completed requests closed in 2026-11, 1 overdue\n" +
		"ID  KIND    STATUS     RECEIVED           DUE                CLOSED             OUTCOME\n" +
		"r1  delete  completed  2026-11-01 10:00Z  2026-12-01 10:00Z  2026-11-05 09:00Z  erased\n" +
		"r2  access  refused    2026-11-02 10:00Z  2026-12-02 10:00Z  -                  no-data\n"
	var b bytes.Buffer
	if err := writeRequestList(&b, []byte(in)); err != nil {
		t.Fatal(err)
	}
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
