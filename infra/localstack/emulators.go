package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// Region and the dummy credentials every local client and function uses.
const (
	Region    = "us-east-1"
	accessKey = "local"
	secretKey = "local"
)

// Emulator is a started emulator behind a call-counting proxy. URL is the
// proxy's: every client reaches the emulator through it.
type Emulator struct {
	*Process
	URL   string
	Calls *CallCounter
}

// front puts the counting proxy in front of a ready emulator at direct.
func front(p *Process, direct string, classify func(*http.Request) string, oneAtATime bool) (*Emulator, error) {
	calls, err := StartCounter(direct, classify, oneAtATime)
	if err != nil {
		p.Stop()
		return nil, err
	}
	return &Emulator{Process: p, URL: calls.URL, Calls: calls}, nil
}

// Stop stops the proxy and the emulator.
func (e *Emulator) Stop() {
	if e != nil {
		e.Calls.Close()
		e.Process.Stop()
	}
}

// StartDynamoDB starts moto_server from the project's virtualenv, through
// infra/moto/serve.py: moto with transactions that back up the items they
// name rather than whole tables, and queries that do not sort the whole
// table first, so its cost does not grow with the table.
// Its calls go through one at a time (see StartCounter).
func StartDynamoDB(ctx context.Context, root, logDir string) (*Emulator, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	p, err := StartProcess("moto", logDir, nil, filepath.Join(root, ".tools/venv/bin/python3"), filepath.Join(root, "infra/moto/serve.py"),
		"-H", "127.0.0.1", "-p", port(addr))
	if err != nil {
		return nil, err
	}
	if err := p.WaitHTTP(ctx, "http://"+addr+"/moto-api/"); err != nil {
		p.Stop()
		return nil, err
	}
	return front(p, "http://"+addr, DynamoDBOperation, true)
}

// SESAccount is what the SES emulator's GetAccount answers: it sets the
// account's send quota and max send rate for the local stack.
type SESAccount struct {
	MaxSendRate    float64
	Max24HourSend  float64
	SendingEnabled bool
	ProductionMode bool
}

func (a SESAccount) json() string {
	b, _ := json.Marshal(map[string]any{
		"DedicatedIpAutoWarmupEnabled": false,
		"EnforcementStatus":            "HEALTHY",
		"ProductionAccessEnabled":      a.ProductionMode,
		"SendingEnabled":               a.SendingEnabled,
		"SendQuota":                    map[string]float64{"Max24HourSend": a.Max24HourSend, "MaxSendRate": a.MaxSendRate, "SentLast24Hours": 0},
		// The emulator's schema requires these, though nothing reads them.
		"Details": map[string]any{"AdditionalContactEmailAddresses": []string{}, "ContactLanguage": "EN", "MailType": "TRANSACTIONAL",
			"ReviewDetails": map[string]string{"CaseId": "local", "Status": "GRANTED"}, "UseCaseDescription": "local", "WebsiteURL": "https://example.com"},
		"SuppressionAttributes": map[string][]string{"SuppressedReasons": {"BOUNCE", "COMPLAINT"}},
	})
	return string(b)
}

// StartSES starts aws-ses-v2-local from infra/sesemu.
func StartSES(ctx context.Context, root, logDir string, account SESAccount) (*Emulator, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(root, "infra/sesemu/node_modules/aws-ses-v2-local/dist/cli.js")
	p, err := StartProcess("ses", logDir, []string{"AWS_SES_ACCOUNT=" + account.json()}, nodePath(), cli, "--host", "127.0.0.1", "--port", port(addr))
	if err != nil {
		return nil, err
	}
	if err := p.WaitHTTP(ctx, "http://"+addr+"/health-check"); err != nil {
		p.Stop()
		return nil, err
	}
	return front(p, "http://"+addr, SESOperation, false)
}

// AWSConfig is an SDK configuration with the local credentials and region.
func AWSConfig() aws.Config {
	return aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider(accessKey, secretKey, "")}
}

// DynamoDBClient returns a real SDK client pointed at the emulator.
func (e *Emulator) DynamoDBClient() *dynamodb.Client {
	return dynamodb.NewFromConfig(AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.URL) })
}

// SESClient returns a real SDK client pointed at the emulator.
func (e *Emulator) SESClient() *sesv2.Client {
	return sesv2.NewFromConfig(AWSConfig(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(e.URL) })
}

// CreateTable creates the table that template.yaml declares as logicalID.
func CreateTable(ctx context.Context, db *dynamodb.Client, t *Template, logicalID, name string) error {
	in, ttl, err := t.Table(logicalID, name)
	if err != nil {
		return err
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		return fmt.Errorf("localstack: CreateTable(%s): %w", name, err)
	}
	if ttl != "" {
		_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String(name),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)}})
		if err != nil {
			return fmt.Errorf("localstack: UpdateTimeToLive(%s): %w", name, err)
		}
	}
	return nil
}

// Mail is one message as the SES emulator stored it.
type Mail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	ReplyTo []string `json:"replyTo"`
	Subject string   `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
	At int64 `json:"at"`
}

// Mailbox reads and clears what the SES emulator captured.
type Mailbox struct{ URL string }

var mailboxClient = &http.Client{Timeout: 10 * time.Second}

// Messages returns every captured mail, oldest first.
func (m Mailbox) Messages(ctx context.Context) ([]Mail, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.URL+"/store", nil)
	resp, err := mailboxClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var store struct {
		Emails []Mail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return nil, fmt.Errorf("localstack: reading /store: %w", err)
	}
	return store.Emails, nil
}

// To returns the captured mails addressed to addr.
func (m Mailbox) To(ctx context.Context, addr string) ([]Mail, error) {
	all, err := m.Messages(ctx)
	var out []Mail
	for _, mail := range all {
		for _, to := range mail.Destination.To {
			if to == addr {
				out = append(out, mail)
			}
		}
	}
	return out, err
}

// Clear empties the store.
func (m Mailbox) Clear(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, m.URL+"/clear-store", nil)
	resp, err := mailboxClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}
