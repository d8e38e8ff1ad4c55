package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// requestCommands are the subcommands of `pledge requests`, on the
// IAM-authorised routes of functions/requests.
var requestCommands = map[string]command{
	"list": {
		usage: "requests list [-status open|<status>] [-month yyyy-mm]   open requests (soonest due first), or a month's closed ones",
		parse: func(args []string) (action, error) {
			fs := flags("list")
			status := fs.String("status", "", "open (default), an open status, or a closed status")
			month := fs.String("month", "", "for a closed status: the month they closed (default: this month)")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			q := url.Values{}
			if *status != "" {
				q.Set("status", *status)
			}
			if *month != "" {
				q.Set("month", *month)
			}
			path := "/admin/requests"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			return func(ctx context.Context, s *stack) (answer, error) {
				b, err := s.call(ctx, "GET", path, nil)
				return answer{body: b, text: writeRequestList}, err
			}, nil
		},
	},
	"show": {
		usage: "requests show ID   one request (never its address)",
		parse: func(args []string) (action, error) {
			pos, err := parseArgs(flags("show"), args, "ID")
			if err != nil {
				return nil, err
			}
			return get(requestPath(pos[0])), nil
		},
	},
	"enter": {
		usage: "requests enter -channel email|phone -kind KIND -email ADDRESS -received RFC3339 -verified-by WHO -verified-how HOW [-details TEXT]   a request made by email or phone",
		parse: func(args []string) (action, error) {
			fs := flags("enter")
			channel := fs.String("channel", "", "how it came in: email or phone")
			kind := fs.String("kind", "", "access, delete or remove-content")
			email := fs.String("email", "", "the person's address")
			received := fs.String("received", "", "when it came in, RFC 3339: its clock runs from then")
			by := fs.String("verified-by", "", "who verified the person's identity")
			how := fs.String("verified-how", "", "how they verified it")
			details := fs.String("details", "", "what the person asked, in their words (optional)")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			body := map[string]string{"channel": *channel, "kind": *kind, "email": *email, "received": *received, "verifiedBy": *by, "verifiedHow": *how}
			if *details != "" {
				body["details"] = *details
			}
			return post("/admin/requests", body), nil
		},
	},
	"complete": {
		usage: "requests complete ID [-note TEXT]   staff have done what it asks",
		parse: func(args []string) (action, error) {
			fs := flags("complete")
			note := fs.String("note", "", "what was done (optional)")
			pos, err := parseArgs(fs, args, "ID")
			if err != nil {
				return nil, err
			}
			body := map[string]string{}
			if *note != "" {
				body["note"] = *note
			}
			return post(requestPath(pos[0])+"/complete", body), nil
		},
	},
	"refuse": {
		usage: "requests refuse ID -reason identity-not-verified|no-data|legal-hold|too-many-requests|other -text TEXT   refuse it; the reason is mailed to the person",
		parse: func(args []string) (action, error) {
			fs := flags("refuse")
			reason := fs.String("reason", "", "identity-not-verified, no-data, legal-hold, too-many-requests or other")
			text := fs.String("text", "", "why, in words the person reads")
			pos, err := parseArgs(fs, args, "ID")
			if err != nil {
				return nil, err
			}
			return post(requestPath(pos[0])+"/refuse", map[string]string{"reason": *reason, "text": *text}), nil
		},
	},
	"extend": {
		usage: "requests extend ID -months 1|2 -reason TEXT   extend it once, before it is due; the reason is mailed to the person",
		parse: func(args []string) (action, error) {
			fs := flags("extend")
			months := fs.Int("months", 0, "by how many further months: 1 or 2")
			reason := fs.String("reason", "", "why, in words the person reads")
			pos, err := parseArgs(fs, args, "ID")
			if err != nil {
				return nil, err
			}
			return post(requestPath(pos[0])+"/extend", map[string]any{"months": *months, "reason": *reason}), nil
		},
	},
	"ack": {
		usage: "requests ack ID SYSTEM [-not-acted REASON]   a downstream system acted on it (or, with -not-acted, why it did not)",
		parse: func(args []string) (action, error) {
			fs := flags("ack")
			notActed := fs.String("not-acted", "", "the system did not act: why")
			pos, err := parseArgs(fs, args, "ID", "SYSTEM")
			if err != nil {
				return nil, err
			}
			body := map[string]any{"acted": true}
			if *notActed != "" {
				body = map[string]any{"acted": false, "reason": *notActed}
			}
			return post(requestPath(pos[0])+"/systems/"+url.PathEscape(pos[1]), body), nil
		},
	},
}

func requestPath(id string) string { return "/admin/requests/" + url.PathEscape(id) }

// parseRequests picks the subcommand of `pledge requests`.
func parseRequests(args []string) (action, error) {
	names := make([]string, 0, len(requestCommands))
	for n := range requestCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" {
		var b strings.Builder
		for _, n := range names {
			b.WriteString("\n  pledge " + requestCommands[n].usage)
		}
		return nil, errors.New("give one of:" + b.String())
	}
	sub, ok := requestCommands[args[0]]
	if !ok {
		return nil, fmt.Errorf("unknown requests command %q: %s", args[0], strings.Join(names, ", "))
	}
	act, err := sub.parse(args[1:])
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, fmt.Errorf("%w\nusage: pledge %s", err, sub.usage)
	}
	return act, err
}
