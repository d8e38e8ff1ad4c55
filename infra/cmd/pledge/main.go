// Command pledge is the operator's tool: the same commands against the dev
// stack (`make dev`, the default) or a deployed stack (-stack aws), to
// publish a policy, watch its notice, report an account event, run the
// sweep, the notices and the privacy clock, and handle privacy requests.
// `pledge -h` lists the commands; the README shows both stacks.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
