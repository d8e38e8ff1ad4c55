// Command sweep runs the retention sweep on the running `make dev` stack
// (`make sweep`, `make sweep DRY_RUN=true`) and prints its summary.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/smartprotect/pledge/infra/localstack"
)

func main() {
	dry := flag.Bool("dry-run", false, "report what would be erased and change nothing")
	now := flag.String("now", "", "sweep as of this RFC 3339 time instead of now (local stack only)")
	flag.Parse()
	root, err := localstack.Root()
	if err != nil {
		fail(err)
	}
	gateway, err := os.ReadFile(filepath.Join(root, ".build", "dev-gateway"))
	if err != nil {
		fail(fmt.Errorf("no running local stack: start `make dev` first (%v)", err))
	}
	target := strings.TrimSpace(string(gateway)) + "/_dev/sweep?dry=" + fmt.Sprint(*dry) + "&now=" + url.QueryEscape(*now)
	resp, err := http.Post(target, "application/json", nil)
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	if resp.StatusCode != http.StatusOK {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "make sweep:", err)
	os.Exit(1)
}
