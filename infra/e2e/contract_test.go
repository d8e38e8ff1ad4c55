package e2e

import (
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/api"
)

// answers holds every answer the stacks' routes give during the run
// against api/openapi.yaml: a status, header, content type or JSON body the
// spec does not declare fails the run (checkContract), whichever test
// caused it.
var answers struct {
	sync.Mutex
	contract *api.Contract
	checked  int
	failures map[string]int // the failure -> how many answers had it
}

// observeContract is every e2e stack's localstack.Options.Observe.
func observeContract(req events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	err := answers.contract.CheckEvent(req, resp)
	answers.Lock()
	defer answers.Unlock()
	answers.checked++
	if err != nil {
		answers.failures[err.Error()]++
	}
}

// loadContract loads the spec the answers are held to.
func loadContract() error {
	c, err := api.Load()
	answers.contract, answers.failures = c, map[string]int{}
	return err
}

// checkContract fails the run if any answer broke the spec. It returns the
// exit code.
func checkContract(code int) int {
	answers.Lock()
	defer answers.Unlock()
	var failures []string
	for f, n := range answers.failures {
		failures = append(failures, fmt.Sprintf("%s (%d answers)", f, n))
	}
	sort.Strings(failures)
	for _, f := range failures {
		fmt.Fprintf(os.Stderr, "FAIL: an answer that api/openapi.yaml does not declare: %s\n", f)
	}
	if len(failures) > 0 {
		return 1
	}
	fmt.Fprintf(os.Stderr, "contract: all %d answers of the routes matched api/openapi.yaml\n", answers.checked)
	return code
}
