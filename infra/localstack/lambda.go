package localstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/smartprotect/pledge/shared/people"
)

// BuildBootstrap builds a function the way `sam build` does (static,
// -tags lambda.norpc, stripped), for this machine's architecture, and
// returns the path of its bootstrap.
func BuildBootstrap(ctx context.Context, root, dir, outDir string) (string, error) {
	out := filepath.Join(outDir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("localstack: building %s: %v\n%s", dir, err, b)
	}
	return out, nil
}

// Instance is one function's bootstrap under the Runtime Interface Emulator.
// The emulator runs one invocation at a time, like one Lambda sandbox.
type Instance struct {
	*Process
	Addr string // the emulator's invoke address, 127.0.0.1:port
}

// StartInstance starts the emulator for bootstrap with env. The emulator
// starts the bootstrap lazily, on the first invocation (the cold start).
func StartInstance(ctx context.Context, root, logDir, name, bootstrap string, env map[string]string) (*Instance, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	vars := []string{"AWS_LAMBDA_FUNCTION_NAME=" + name}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	// Both addresses are given on 127.0.0.1: the emulator's defaults listen
	// on every interface.
	p, err := StartProcess(name, logDir, vars, filepath.Join(root, ".tools/bin/aws-lambda-rie"),
		"--log-level", "error",
		"--runtime-interface-emulator-address", addr, "--runtime-api-address", apiAddr, bootstrap)
	if err != nil {
		return nil, err
	}
	if err := p.WaitTCP(ctx, addr); err != nil {
		p.Stop()
		return nil, err
	}
	return &Instance{Process: p, Addr: addr}, nil
}

// invokeClient outwaits Lambda's longest run (15 minutes): a client that
// gives up mid-invocation makes the emulator crash, and the caller's
// context bounds the wait anyway.
var invokeClient = &http.Client{Timeout: 16 * time.Minute}

// FunctionError is an error the handler returned (Lambda's errorType and
// errorMessage), as opposed to a failure to invoke it.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string { return "function error " + e.Type + ": " + e.Message }

// Refused reports whether the handler refused its input as a client
// mistake: it returned a *people.Error with code invalid, which Lambda
// reports as errorType "Error" and errorMessage "invalid: <message> (<field>)".
func (e *FunctionError) Refused() bool {
	return e.Type == "Error" && strings.HasPrefix(e.Message, string(people.Invalid)+": ")
}

// Invoke sends one event and returns the handler's JSON result.
func (in *Instance) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+in.Addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := invokeClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("localstack: invoking %s: %w", in.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("localstack: invoking %s: emulator answered %d: %s", in.Name, resp.StatusCode, body)
	}
	var fe FunctionError
	if json.Unmarshal(body, &fe) == nil && fe.Type != "" {
		return nil, &fe
	}
	return body, nil
}

// Pool is n instances of one function, each serving one invocation at a
// time, as Lambda scales sandboxes out under concurrent load.
type Pool struct {
	Name      string
	free      chan *Instance
	instances []*Instance
	start     func(ctx context.Context, i int) (*Instance, error)
}

// StartPool starts n instances of a function.
func StartPool(ctx context.Context, root, logDir, name, bootstrap string, env map[string]string, n int) (*Pool, error) {
	p := &Pool{Name: name, free: make(chan *Instance, n), start: func(ctx context.Context, i int) (*Instance, error) {
		return StartInstance(ctx, root, logDir, fmt.Sprintf("%s-%d", name, i), bootstrap, env)
	}}
	for i := range n {
		in, err := p.start(ctx, i)
		if err != nil {
			p.Stop()
			return nil, err
		}
		p.instances = append(p.instances, in)
		p.free <- in
	}
	return p, nil
}

// Invoke runs event on a free instance, waiting for one if all are busy.
func (p *Pool) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	var in *Instance
	select {
	case in = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { p.free <- in }()
	return in.Invoke(ctx, event)
}

// KillAll kills every instance mid-whatever, as Lambda reclaims a crashed
// sandbox, and starts fresh ones: what was running is cut off where it was.
// Invocations in flight return an error.
func (p *Pool) KillAll(ctx context.Context) error {
	for _, in := range p.instances {
		in.Kill()
	}
	for i := range p.instances {
		<-p.free // every invocation in flight has returned its instance
		in, err := p.start(ctx, i)
		if err != nil {
			return err
		}
		p.instances[i] = in
	}
	for _, in := range p.instances {
		p.free <- in
	}
	return nil
}

// Stop stops every instance.
func (p *Pool) Stop() {
	for _, in := range p.instances {
		in.Stop()
	}
}
