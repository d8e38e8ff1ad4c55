package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"
)

// answer is what a command got back, and how to write it as text.
type answer struct {
	body []byte
	text func(io.Writer, []byte) error // nil: writeText
}

// action runs a command, its flags already parsed, against a stack.
type action func(ctx context.Context, s *stack) (answer, error)

// command parses its own arguments into an action; a usage error is
// returned before any stack is opened.
type command struct {
	usage string
	parse func(args []string) (action, error)
}

const globalUsage = `usage: pledge [-stack dev|aws] [-api URL] [-stack-name NAME] [-json] COMMAND [flags] [args]

Stacks:
  -stack dev   the running ` + "`make dev`" + ` stack (default; its gateway from .build/dev-gateway, or -api)
  -stack aws   a deployed stack: -stack-name NAME (reads its ApiUrl output; names its functions)
               and/or -api https://ID.execute-api.REGION.amazonaws.com; signs with SigV4 from the
               standard AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO, roles)

Commands:
`

// run is the whole command line: global flags, one command, its flags.
// It writes the answer to stdout (text, or JSON with -json) and problems
// to stderr, and returns the exit code: 0 done, 1 refused or failed, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pledge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf stackFlags
	fs.StringVar(&sf.kind, "stack", "dev", "dev (the make-dev stack) or aws (a deployed stack)")
	fs.StringVar(&sf.api, "api", "", "the API's base URL (aws: its ApiUrl output; dev: the gateway)")
	fs.StringVar(&sf.stackName, "stack-name", "", "aws: the CloudFormation stack (e.g. pledge-dev)")
	asJSON := fs.Bool("json", false, "write the answer as JSON")
	fs.Usage = func() {
		fmt.Fprint(stderr, globalUsage)
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(stderr, "  %s\n", commands[n].usage)
		}
		fmt.Fprintln(stderr, "\nGlobal flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, ok := commands[fs.Arg(0)]
	if !ok {
		fmt.Fprintf(stderr, "pledge: unknown command %q (pledge -h lists them)\n", fs.Arg(0))
		return 2
	}
	act, err := cmd.parse(fs.Args()[1:])
	if err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprintf(stderr, "usage: pledge %s\n", cmd.usage)
		case strings.Contains(err.Error(), "usage: "):
			fmt.Fprintf(stderr, "pledge: %v\n", err)
		default:
			fmt.Fprintf(stderr, "pledge: %v\nusage: pledge %s\n", err, cmd.usage)
		}
		return 2
	}
	s, err := openStack(ctx, sf)
	if err != nil {
		fmt.Fprintln(stderr, "pledge:", err)
		return 1
	}
	ans, err := act(ctx, s)
	if err != nil {
		fmt.Fprintln(stderr, "pledge:", err)
		return 1
	}
	write := ans.text
	if write == nil {
		write = writeText
	}
	if *asJSON {
		write = writeJSON
	}
	if err := write(stdout, ans.body); err != nil {
		fmt.Fprintln(stderr, "pledge:", err)
		return 1
	}
	return 0
}

// parseArgs parses fs's flags wherever they stand among the arguments and
// returns the positional arguments, which must be exactly as many as names.
func parseArgs(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != len(names) {
		if len(names) == 0 {
			return nil, fmt.Errorf("unexpected %q", strings.Join(pos, " "))
		}
		return nil, fmt.Errorf("give %s", strings.Join(names, " and "))
	}
	return pos, nil
}

func flags(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) }

// get, post and invoke make the actions of most commands.
func get(path string) action {
	return func(ctx context.Context, s *stack) (answer, error) {
		b, err := s.call(ctx, "GET", path, nil)
		return answer{body: b}, err
	}
}

func post(path string, body any) action {
	return func(ctx context.Context, s *stack) (answer, error) {
		b, err := s.call(ctx, "POST", path, body)
		return answer{body: b}, err
	}
}

// invokeWithClock invokes a scheduled function; now (RFC 3339) moves its
// clock, which only the dev stack's functions accept (CLOCK_OVERRIDE).
func invokeWithClock(suffix string, event map[string]any, now string) action {
	return func(ctx context.Context, s *stack) (answer, error) {
		if now != "" {
			if s.kind != "dev" {
				return answer{}, errors.New("-now works on the dev stack only: deployed functions run on the real clock")
			}
			if _, err := time.Parse(time.RFC3339, now); err != nil {
				return answer{}, fmt.Errorf("-now %q: give an RFC 3339 time, e.g. 2027-01-08T12:00:00Z", now)
			}
			event["now"] = now
		}
		b, err := s.invoke(ctx, suffix, event)
		return answer{body: b}, err
	}
}

var commands = map[string]command{
	"publish": {
		usage: "publish -version V -effective yyyy-mm-dd -summary TEXT -url URL [-material=false]   publish a policy version",
		parse: func(args []string) (action, error) {
			fs := flags("publish")
			version := fs.String("version", "", "policy version id")
			effective := fs.String("effective", "", "when it takes effect: yyyy-mm-dd or an RFC 3339 time")
			summary := fs.String("summary", "", "what changes, in plain words")
			policyURL := fs.String("url", "", "https URL of the new policy")
			material := fs.Bool("material", true, "whether the change is material (needs a notice)")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			return post("/admin/policies", map[string]any{"version": *version, "effective": *effective, "summary": *summary, "url": *policyURL, "material": *material}), nil
		},
	},
	"status": {
		usage: "status -version V   how far a policy version's notice has got",
		parse: func(args []string) (action, error) {
			fs := flags("status")
			version := fs.String("version", "", "policy version id")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			if *version == "" {
				return nil, errors.New("give -version")
			}
			return get("/admin/policies/" + url.PathEscape(*version)), nil
		},
	},
	"notices": {
		usage: "notices   run the notices function now",
		parse: func(args []string) (action, error) {
			if _, err := parseArgs(flags("notices"), args); err != nil {
				return nil, err
			}
			return invokeWithClock("notices", map[string]any{}, ""), nil
		},
	},
	"account": {
		usage: "account -email ADDRESS -event opened|closed [-at RFC3339]   report an account event as the product does",
		parse: func(args []string) (action, error) {
			fs := flags("account")
			email := fs.String("email", "", "the account holder's address")
			event := fs.String("event", "", "what happened to the account: opened or closed")
			at := fs.String("at", "", "when, as an RFC 3339 time (default: now)")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			when := *at
			if when == "" {
				when = time.Now().UTC().Format(time.RFC3339)
			}
			return post("/admin/accounts", map[string]string{"email": *email, "event": *event, "at": when}), nil
		},
	},
	"sweep": {
		usage: "sweep [-dry-run] [-now RFC3339 (dev only)]   run the retention sweep now",
		parse: func(args []string) (action, error) {
			fs := flags("sweep")
			dry := fs.Bool("dry-run", false, "report what would be erased and change nothing")
			now := fs.String("now", "", "sweep as of this RFC 3339 time (dev stack only)")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			return invokeWithClock("retention", map[string]any{"dryRun": *dry}, *now), nil
		},
	},
	"privacy-clock": {
		usage: "privacy-clock [-now RFC3339 (dev only)]   move privacy requests along now (expiry, deletions, reminders)",
		parse: func(args []string) (action, error) {
			fs := flags("privacy-clock")
			now := fs.String("now", "", "run as of this RFC 3339 time (dev stack only)")
			if _, err := parseArgs(fs, args); err != nil {
				return nil, err
			}
			return invokeWithClock("privacyclock", map[string]any{}, *now), nil
		},
	},
	"requests": {
		usage: "requests list|show|enter|complete|refuse|extend|ack ...   privacy requests (pledge requests -h)",
		parse: parseRequests,
	},
}
