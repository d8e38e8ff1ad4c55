// Command admin drives the running `make dev` stack as an operator would:
// publish a policy version (`make publish-policy`), show its notice progress
// (`make notice-status`), run the notices function now (`make notices`), and
// report an account opened or closed as the product does (`make account`).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
)

func main() {
	fs := flag.NewFlagSet("admin", flag.ExitOnError)
	version := fs.String("version", "", "policy version id")
	effective := fs.String("effective", "", "when it takes effect: yyyy-mm-dd or an RFC 3339 time")
	summary := fs.String("summary", "", "what changes, in plain words")
	policyURL := fs.String("url", "", "https URL of the new policy")
	material := fs.Bool("material", true, "whether the change is material (needs a notice)")
	email := fs.String("email", "", "the account holder's address")
	event := fs.String("event", "", "what happened to the account: opened or closed")
	at := fs.String("at", "", "when, as an RFC 3339 time (default: now)")
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: admin publish|status|notices|account [flags]"))
	}
	fs.Parse(os.Args[2:])
	root, err := localstack.Root()
	if err != nil {
		fail(err)
	}
	gw, err := os.ReadFile(filepath.Join(root, ".build", "dev-gateway"))
	if err != nil {
		fail(fmt.Errorf("no running local stack: start `make dev` first (%v)", err))
	}
	base := strings.TrimSpace(string(gw))
	ctx := context.Background()
	var req *http.Request
	switch os.Args[1] {
	case "publish":
		body, _ := json.Marshal(map[string]any{"version": *version, "effective": *effective, "summary": *summary, "url": *policyURL, "material": *material})
		req, err = signed(ctx, http.MethodPost, base+"/admin/policies", body)
	case "status":
		req, err = signed(ctx, http.MethodGet, base+"/admin/policies/"+url.PathEscape(*version), nil)
	case "account":
		when := *at
		if when == "" {
			when = time.Now().UTC().Format(time.RFC3339)
		}
		body, _ := json.Marshal(map[string]string{"email": *email, "event": *event, "at": when})
		req, err = signed(ctx, http.MethodPost, base+"/admin/accounts", body)
	case "notices":
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/2015-03-31/functions/NoticesFunction/invocations", strings.NewReader("{}"))
	default:
		err = fmt.Errorf("unknown command %q: publish, status, notices or account", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Printf("%s\n%s\n", resp.Status, out)
	if resp.StatusCode >= 400 || resp.Header.Get("X-Amz-Function-Error") != "" {
		os.Exit(1)
	}
}

func signed(ctx context.Context, method, target string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, localstack.SignAdmin(ctx, req, body)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "admin:", err)
	os.Exit(1)
}
