package localstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/smartprotect/pledge/shared/config"
)

// Options shape a local stack.
type Options struct {
	// Name prefixes the table and log directory, so stacks can run side by side.
	Name string
	// PoolSize is the number of emulator instances per function (default 1).
	PoolSize int
	// Parameters override template parameter defaults.
	Parameters map[string]string
	// GatewayAddr is where the gateway listens (default: a free loopback port).
	GatewayAddr string
	// SESAccount is what SES's GetAccount answers.
	SESAccount SESAccount
	// Observe, if set, sees every answer a route gives (Gateway.Observe).
	Observe func(events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse)
}

// Stack is the whole system running locally.
type Stack struct {
	Root       string
	LogDir     string
	Table      string
	GatewayURL string
	DynamoDB   *Emulator
	SES        *Emulator
	Mailbox    Mailbox
	// DynamoDBCalls and SESCalls count what reaches the emulators.
	DynamoDBCalls *CallCounter
	SESCalls      *CallCounter
	// Secrets are the local values of the secrets Secrets Manager holds in
	// AWS, by field (TOKEN_KEYS, ADDRESS_PEPPER, ...).
	Secrets   map[string]string
	Functions []Function
	// IAM enforces each function's IAM statements on its calls to the
	// emulators and the Lambda API, and records what each used.
	IAM   *IAM
	Pools map[string]*Pool

	server *http.Server
	once   sync.Once
	closed atomic.Bool // set by Close: what is still in flight may fail quietly
	// sesEvents counts the SES event deliveries under way (sesevents.go).
	sesEvents atomic.Int64
	bus       eventBus // what the functions put on EventBridge (events.go)
}

// Start builds every function, starts the emulators, creates the table and
// serves the routes. Close stops all of it.
func Start(ctx context.Context, opt Options) (s *Stack, err error) {
	if opt.Name == "" {
		opt.Name = "local"
	}
	if opt.PoolSize == 0 {
		opt.PoolSize = 1
	}
	if opt.SESAccount == (SESAccount{}) {
		opt.SESAccount = SESAccount{MaxSendRate: 14, Max24HourSend: 50000, SendingEnabled: true, ProductionMode: true}
	}
	root, err := Root()
	if err != nil {
		return nil, err
	}
	s = &Stack{Root: root, LogDir: filepath.Join(root, ".build/logs", opt.Name), Table: "pledge-" + opt.Name, Pools: map[string]*Pool{}}
	// A failed start stops what it started; every "return nil, err" below
	// has made s nil by the time this runs, so it closes its own copy.
	started := s
	defer func() {
		if err != nil {
			started.Close()
		}
	}()
	tmpl, err := LoadTemplate(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	if s.DynamoDB, err = StartDynamoDB(ctx, root, s.LogDir); err != nil {
		return nil, err
	}
	if s.SES, err = StartSES(ctx, root, s.LogDir, opt.SESAccount); err != nil {
		return nil, err
	}
	s.Mailbox = Mailbox{URL: s.SES.URL}
	s.DynamoDBCalls, s.SESCalls = s.DynamoDB.Calls, s.SES.Calls
	if err = CreateTable(ctx, s.DynamoDB.DynamoDBClient(), tmpl, "Table", s.Table); err != nil {
		return nil, err
	}

	listener, err := listen(opt.GatewayAddr)
	if err != nil {
		return nil, err
	}
	s.GatewayURL = "http://" + listener.Addr().String()
	s.Secrets = randomSecrets()
	// Locally the secrets' ARNs are empty: the functions read the secrets
	// from their environment, which holds only those the template grants
	// them (see FunctionEnv).
	params := map[string]string{"PublicBaseUrl": s.GatewayURL, "TokenKeysSecretArn": "", "AddressPepperSecretArn": ""}
	for k, v := range opt.Parameters {
		params[k] = v
	}
	if s.Functions, err = tmpl.Functions(Refs{Parameters: params, Resources: map[string]string{"Table": s.Table}}); err != nil {
		listener.Close()
		return nil, err
	}
	table, _, err := tmpl.Table("Table", s.Table)
	if err != nil {
		listener.Close()
		return nil, err
	}
	s.IAM = NewIAM(s.Functions, table)
	s.DynamoDBCalls.Guard(s.IAM.DynamoDB)
	s.SESCalls.Guard(s.IAM.SES)

	var routes []Route
	for _, f := range s.Functions {
		bootstrap, err := BuildBootstrap(ctx, root, f.Dir, filepath.Join(root, ".build/local", f.LogicalID))
		if err != nil {
			listener.Close()
			return nil, err
		}
		env := s.FunctionEnv(f)
		pool, err := StartPool(ctx, root, s.LogDir, f.LogicalID, bootstrap, env, opt.PoolSize)
		if err != nil {
			listener.Close()
			return nil, err
		}
		s.Pools[f.LogicalID] = pool
		routes = append(routes, f.Routes...)
	}
	s.publishSESEvents()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	mux := http.NewServeMux()
	gateway := NewGateway(routes, s.Pools, log)
	gateway.Observe(opt.Observe)
	mux.Handle("/", gateway)
	mux.HandleFunc("/_dev/newsletter", s.devPage)
	mux.HandleFunc("/_dev/sweep", s.devSweep)
	mux.HandleFunc("/_dev/privacy-clock", s.devPrivacyClock)
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", s.lambdaInvoke)
	mux.HandleFunc("POST /_events", s.putEvents)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.server.Serve(listener)
	return s, nil
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}

// FunctionEnv is what Lambda would give the function: the template's
// variables, the region and credentials of its own (its logical id as the
// access key id, by which IAM knows the caller), the local endpoints, and
// the secrets the template grants it, in clear where Secrets Manager would
// hold them in AWS.
func (s *Stack) FunctionEnv(f Function) map[string]string {
	env := map[string]string{
		"AWS_REGION": Region, "AWS_DEFAULT_REGION": Region,
		"AWS_ACCESS_KEY_ID": f.LogicalID, "AWS_SECRET_ACCESS_KEY": secretKey,
		"AWS_ENDPOINT_URL_DYNAMODB": s.DynamoDB.URL, "AWS_ENDPOINT_URL_SESV2": s.SES.URL,
		"AWS_ENDPOINT_URL_LAMBDA":      s.GatewayURL,                    // the Invoke API, served beside the routes
		"AWS_ENDPOINT_URL_EVENTBRIDGE": s.GatewayURL + "/_events",       // PutEvents, served beside the routes (events.go)
		"AWS_LAMBDA_FUNCTION_TIMEOUT":  strconv.Itoa(max(f.Timeout, 3)), // as the template says
		// Lets tests and `make sweep` run the retention sweep as of another day.
		"CLOCK_OVERRIDE": "allow",
	}
	for _, field := range grantedSecrets(f) {
		env[field] = s.Secrets[field]
	}
	for k, v := range f.Env {
		env[k] = v
	}
	return env
}

// grantedSecrets returns the fields of the secrets f may read: those of
// each secret loader whose ARN variable refers to a parameter that a
// statement of f grants secretsmanager:GetSecretValue on.
func grantedSecrets(f Function) []string {
	var fields []string
	for _, st := range f.Statements {
		if !slices.Contains(st.Actions, "secretsmanager:GetSecretValue") {
			continue
		}
		for _, r := range st.Resources {
			param, ok := strings.CutPrefix(r, "!Ref ")
			if !ok {
				continue
			}
			for _, l := range config.Loaders {
				if l.SecretARN != "" && f.EnvRefs[l.SecretARN] == param {
					fields = append(fields, l.Local...)
				}
			}
		}
	}
	return fields
}

// Env is the configuration environment one function of this stack sees,
// for tests that need what it loads (its keys, to mint an expired link;
// its pepper, to key a person): config.TokenKeys(ctx, s.Env("ConfirmFunction"), nil).
func (s *Stack) Env(logicalID string) *config.Env {
	for _, f := range s.Functions {
		if f.LogicalID == logicalID {
			env := s.FunctionEnv(f)
			return config.NewEnv(func(k string) string { return env[k] })
		}
	}
	return config.NewEnv(func(string) string { return "" })
}

// Close stops the gateway, every function and the emulators.
func (s *Stack) Close() {
	s.once.Do(func() {
		s.closed.Store(true)
		if s.server != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s.server.Shutdown(ctx)
			cancel()
		}
		for _, p := range s.Pools {
			p.Stop()
		}
		s.SES.Stop()
		s.DynamoDB.Stop()
	})
}

// randomSecrets makes fresh keys for one run of the local stack: its
// emulators keep nothing across runs, so neither need the keys.
func randomSecrets() map[string]string {
	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	return map[string]string{"TOKEN_KEYS": fmt.Sprintf("local1:%s", key()), "TOKEN_ACTIVE_KEY_ID": "local1", "ADDRESS_PEPPER": key()}
}
