// Command dev runs pledge locally on emulators (`make dev`) and prints where
// to click. Ctrl-C stops everything it started.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/smartprotect/pledge/infra/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := os.Getenv("PLEDGE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	if l, err := net.Listen("tcp", addr); err != nil {
		fmt.Fprintf(os.Stderr, "%s is taken; using a free port instead\n", addr)
		addr = ""
	} else {
		l.Close()
	}
	startCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	s, err := localstack.Start(startCtx, localstack.Options{Name: "dev", GatewayAddr: addr})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
		os.Exit(1)
	}
	defer s.Close()
	// `make sweep` finds the running stack here.
	if err := os.WriteFile(filepath.Join(s.Root, ".build", "dev-gateway"), []byte(s.GatewayURL), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "make dev:", err)
	}
	defer os.Remove(filepath.Join(s.Root, ".build", "dev-gateway"))
	fmt.Printf(`
pledge is running on emulators (logs in %s).

  Sign-up page:        %s/signup
  Privacy requests:    %s/privacy
  Captured mail:       %s
  Sample newsletter:   %s/_dev/newsletter
  DynamoDB (moto):     %s   table %s

Sign up on the page, open the confirmation mail in the viewer, follow its link.
Then send the sample newsletter and try its unsubscribe link (or one-click POST).
To see SES's feedback, sign up as bounce@, suppressionlist@ (hard bounces), complaint@
(reported as spam), ooto@ or success@ (delivered) simulator.amazonses.com: the local SES
answers as SES's mailbox simulator does, and the preferences page then says what it heard.
In another shell, "make sweep" runs the retention sweep (DRY_RUN=true to change nothing),
and "make publish-policy VERSION=2027-02 EFFECTIVE=<30+ days ahead>" announces a policy
change to everyone confirmed ("make notice-status VERSION=2027-02" shows how far it got).
"make account EMAIL=you@example.com EVENT=opened" (or closed) reports an account as the
product does: an open account keeps the person, a closed one goes a year after closing.
On the privacy page, ask for your data or its deletion; "make privacy-clock" (NOW=<RFC 3339
time> to run it as of later, e.g. after a deletion's 72-hour cool-off) moves requests along.
Press Ctrl-C to stop everything.
`, s.LogDir, s.GatewayURL, s.GatewayURL, s.SES.URL, s.GatewayURL, s.DynamoDB.URL, s.Table)
	<-ctx.Done()
	fmt.Println("\nstopping…")
}
