package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"gopkg.in/yaml.v3"
)

// Account is the AWS account id of the local stack's ARNs.
const Account = "000000000000"

// Statement is one Allow statement of a function's IAM policy.
type Statement struct {
	Actions []string // as written, e.g. dynamodb:GetItem
	// Resources are as written ("!GetAtt Table.Arn", "!Ref TokenKeysSecretArn",
	// "*"); ARNs are the same resolved for the local stack ("" where a
	// parameter is empty locally).
	Resources, ARNs []string
	// LeadingKeys are the patterns of a ForAllValues:StringLike
	// dynamodb:LeadingKeys condition; nil when the statement has none.
	LeadingKeys []string
}

type statementYAML struct {
	Effect    string                          `yaml:"Effect"`
	Action    yaml.Node                       `yaml:"Action"`
	Resource  yaml.Node                       `yaml:"Resource"`
	Condition map[string]map[string]yaml.Node `yaml:"Condition"`
}

// statements reads a function's Policies. The local stack enforces only
// what it understands: inline Allow statements with at most a
// ForAllValues:StringLike dynamodb:LeadingKeys condition; anything else
// (a SAM policy template, a Deny, another condition) is refused here
// rather than silently not enforced.
func (t *Template) statements(policies []yaml.Node, refs Refs) ([]Statement, error) {
	var out []Statement
	for _, p := range policies {
		var doc struct {
			Statement []statementYAML `yaml:"Statement"`
		}
		if err := p.Decode(&doc); err != nil || len(doc.Statement) == 0 {
			return nil, fmt.Errorf("policies: only inline Statement lists are enforced locally (line %d)", p.Line)
		}
		for _, s := range doc.Statement {
			if s.Effect != "Allow" {
				return nil, fmt.Errorf("policies: Effect %q is not enforced locally (line %d)", s.Effect, s.Action.Line)
			}
			st := Statement{Actions: scalars(s.Action)}
			for _, n := range nodes(s.Resource) {
				st.Resources = append(st.Resources, strings.TrimSpace(n.Tag+" "+n.Value))
				st.ARNs = append(st.ARNs, t.arn(n, refs))
			}
			for op, keys := range s.Condition {
				for key, v := range keys {
					if op != "ForAllValues:StringLike" || key != "dynamodb:LeadingKeys" {
						return nil, fmt.Errorf("policies: condition %s %s is not enforced locally", op, key)
					}
					st.LeadingKeys = scalars(v)
				}
			}
			out = append(out, st)
		}
	}
	return out, nil
}

func nodes(n yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	if n.Kind == 0 {
		return nil
	}
	return []*yaml.Node{&n}
}

func scalars(n yaml.Node) []string {
	var out []string
	for _, c := range nodes(n) {
		out = append(out, c.Value)
	}
	return out
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

// arn resolves a Resource for the local stack: !Ref, !GetAtt X.Arn and !Sub
// of the table, functions, configuration sets and parameters.
func (t *Template) arn(n *yaml.Node, refs Refs) string {
	ref := func(name string) string {
		if strings.HasPrefix(name, "AWS::") {
			return map[string]string{"AWS::Partition": "aws", "AWS::Region": Region, "AWS::AccountId": Account, "AWS::URLSuffix": "amazonaws.com"}[name]
		}
		if obj, ok := strings.CutSuffix(name, ".Arn"); ok {
			return t.resourceARN(obj, refs)
		}
		v, _ := t.resolve(yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: name}, refs)
		return v
	}
	switch n.Tag {
	case "!Ref":
		return ref(n.Value)
	case "!GetAtt":
		return ref(n.Value)
	case "!Sub":
		return subVar.ReplaceAllStringFunc(n.Value, func(m string) string { return ref(m[2 : len(m)-1]) })
	}
	return n.Value
}

func (t *Template) resourceARN(logicalID string, refs Refs) string {
	name, _ := t.resolve(yaml.Node{Kind: yaml.ScalarNode, Tag: "!Ref", Value: logicalID}, refs)
	switch t.Resources[logicalID].Type {
	case "AWS::DynamoDB::Table":
		return tableARN(name)
	case "AWS::Serverless::Function":
		return "arn:aws:lambda:" + Region + ":" + Account + ":function:" + name
	case "AWS::Events::EventBus":
		return busARN(name)
	}
	return ""
}

func tableARN(name string) string {
	return "arn:aws:dynamodb:" + Region + ":" + Account + ":table/" + name
}

// need is what one call (or one item of a transaction) asks IAM for.
type need struct {
	action, resource string
	leadingKeys      []string // partition keys the call touches
}

// Use is one grant a function used: an action on a resource, and for a
// statement with a LeadingKeys condition, the pattern a key matched.
type Use struct {
	Function, Action, Resource, LeadingKey string
}

// IAM enforces, on the calls that reach the emulators, the IAM statements
// template.yaml grants each function, as AWS would: a function's calls are
// signed with an access key id of its own (its logical id), and a call
// whose action, resource or partition keys no statement of that function
// allows is answered AccessDeniedException. It records the grants each
// function used and every call it refused. Calls signed with any other key
// (tests, tools) pass unchecked.
type IAM struct {
	functions map[string][]Statement // by access key id = logical id
	table     string                 // the local table's name
	hashKeys  map[string]string      // "" (the table) and each index name -> its partition key attribute

	mu     sync.Mutex
	used   map[Use]bool
	denied []string
}

// NewIAM enforces the statements of fns on the table created by in.
func NewIAM(fns []Function, in *dynamodb.CreateTableInput) *IAM {
	m := &IAM{functions: map[string][]Statement{}, table: *in.TableName, hashKeys: map[string]string{}, used: map[Use]bool{}}
	for _, f := range fns {
		m.functions[f.LogicalID] = f.Statements
	}
	for _, k := range in.KeySchema {
		if k.KeyType == "HASH" {
			m.hashKeys[""] = *k.AttributeName
		}
	}
	for _, g := range in.GlobalSecondaryIndexes {
		for _, k := range g.KeySchema {
			if k.KeyType == "HASH" {
				m.hashKeys[*g.IndexName] = *k.AttributeName
			}
		}
	}
	return m
}

// caller returns the access key id a request is signed with.
func caller(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(cred, "/")
	return id
}

// DynamoDB checks a call to the DynamoDB emulator; it answers the refusal
// itself and returns false when the call may not go on.
func (m *IAM) DynamoDB(w http.ResponseWriter, r *http.Request) bool {
	return m.check(w, r, "dynamodb", func(body []byte) ([]need, error) { return m.dynamoDBNeeds(DynamoDBOperation(r), body) },
		func(w http.ResponseWriter, msg string) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazon.coral.service#AccessDeniedException", "Message": msg})
		})
}

// SES checks a call to the SES v2 emulator, as DynamoDB does.
func (m *IAM) SES(w http.ResponseWriter, r *http.Request) bool {
	return m.check(w, r, "ses", func(body []byte) ([]need, error) { return sesNeeds(SESOperation(r), body) }, denyREST)
}

// Lambda checks a call of the Lambda Invoke API on function name.
func (m *IAM) Lambda(w http.ResponseWriter, r *http.Request, name string) bool {
	return m.check(w, r, "lambda", func([]byte) ([]need, error) {
		return []need{{action: "lambda:InvokeFunction", resource: "arn:aws:lambda:" + Region + ":" + Account + ":function:" + name}}, nil
	}, denyREST)
}

// denyREST answers AccessDeniedException as AWS's REST JSON services do.
func denyREST(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
	w.WriteHeader(http.StatusForbidden)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (m *IAM) check(w http.ResponseWriter, r *http.Request, service string, needs func([]byte) ([]need, error), deny func(http.ResponseWriter, string)) bool {
	fn := caller(r)
	stmts, ok := m.functions[fn]
	if !ok {
		return true
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	ns, err := needs(body)
	if err != nil {
		ns = []need{{action: service + ":unreadable", resource: err.Error()}}
	}
	var uses []Use
	for _, n := range ns {
		u, ok := allows(fn, stmts, n)
		if !ok {
			msg := fmt.Sprintf("User: arn:aws:sts::%s:assumed-role/%sRole/%s is not authorized to perform: %s on resource: %s%s because no identity-based policy allows the %s action",
				Account, fn, fn, n.action, n.resource, keysNote(n.leadingKeys), n.action)
			m.mu.Lock()
			m.denied = append(m.denied, msg)
			m.mu.Unlock()
			deny(w, msg)
			return false
		}
		uses = append(uses, u...)
	}
	m.mu.Lock()
	for _, u := range uses {
		m.used[u] = true
	}
	m.mu.Unlock()
	return true
}

func keysNote(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return fmt.Sprintf(" (partition keys %q)", keys)
}

// allows finds a statement that allows n, and returns what it used of it.
func allows(fn string, stmts []Statement, n need) ([]Use, bool) {
	for _, s := range stmts {
		action := slices.IndexFunc(s.Actions, func(a string) bool { return like(a, n.action) })
		resource := slices.IndexFunc(s.ARNs, func(a string) bool { return a != "" && like(a, n.resource) })
		if action < 0 || resource < 0 {
			continue
		}
		use := Use{Function: fn, Action: s.Actions[action], Resource: s.Resources[resource]}
		if s.LeadingKeys == nil {
			return []Use{use}, true
		}
		// ForAllValues: every key must match a pattern; a call with no
		// key at all passes, as in AWS.
		if len(n.leadingKeys) == 0 {
			return []Use{use}, true
		}
		var uses []Use
		for _, k := range n.leadingKeys {
			p := slices.IndexFunc(s.LeadingKeys, func(p string) bool { return like(p, k) })
			if p < 0 {
				uses = nil
				break
			}
			u := use
			u.LeadingKey = s.LeadingKeys[p]
			uses = append(uses, u)
		}
		if uses != nil {
			return uses, true
		}
	}
	return nil, false
}

// like matches IAM's wildcards: * any run of characters, ? one.
func like(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if like(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && like(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && like(pattern[1:], s[1:])
}

type attr map[string]json.RawMessage

type keyed struct {
	TableName string
	Key, Item attr
}

// partitionKey returns the S value of the table's partition key in item.
func (m *IAM) partitionKey(item attr) []string {
	var v struct{ S string }
	if raw, ok := item[m.hashKeys[""]]; ok && json.Unmarshal(raw, &v) == nil {
		return []string{v.S}
	}
	return nil
}

func (m *IAM) itemNeed(action string, k keyed) need {
	key := k.Key
	if key == nil {
		key = k.Item
	}
	return need{action: action, resource: tableARN(k.TableName), leadingKeys: m.partitionKey(key)}
}

// dynamoDBNeeds is what IAM checks for one DynamoDB call: a transaction
// needs the action of each of its items (DynamoDB IAM has no
// TransactWriteItems action); BatchWriteItem and BatchGetItem are actions
// of their own, checked against the keys of every item.
func (m *IAM) dynamoDBNeeds(op string, body []byte) ([]need, error) {
	switch op {
	case "GetItem", "PutItem", "UpdateItem", "DeleteItem":
		var k keyed
		if err := json.Unmarshal(body, &k); err != nil {
			return nil, err
		}
		return []need{m.itemNeed("dynamodb:"+op, k)}, nil
	case "TransactWriteItems", "TransactGetItems":
		var in struct {
			TransactItems []map[string]keyed
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		actions := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		var ns []need
		for _, it := range in.TransactItems {
			for kind, k := range it {
				ns = append(ns, m.itemNeed("dynamodb:"+actions[kind], k))
			}
		}
		return ns, nil
	case "BatchWriteItem":
		var in struct {
			RequestItems map[string][]struct {
				PutRequest    *struct{ Item attr }
				DeleteRequest *struct{ Key attr }
			}
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		var ns []need
		for table, reqs := range in.RequestItems {
			n := need{action: "dynamodb:BatchWriteItem", resource: tableARN(table)}
			for _, r := range reqs {
				if r.PutRequest != nil {
					n.leadingKeys = append(n.leadingKeys, m.partitionKey(r.PutRequest.Item)...)
				}
				if r.DeleteRequest != nil {
					n.leadingKeys = append(n.leadingKeys, m.partitionKey(r.DeleteRequest.Key)...)
				}
			}
			ns = append(ns, n)
		}
		return ns, nil
	case "BatchGetItem":
		var in struct {
			RequestItems map[string]struct{ Keys []attr }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		var ns []need
		for table, req := range in.RequestItems {
			n := need{action: "dynamodb:BatchGetItem", resource: tableARN(table)}
			for _, k := range req.Keys {
				n.leadingKeys = append(n.leadingKeys, m.partitionKey(k)...)
			}
			ns = append(ns, n)
		}
		return ns, nil
	case "Query", "Scan":
		var in struct {
			TableName, IndexName, KeyConditionExpression string
			ExpressionAttributeNames                     map[string]string
			ExpressionAttributeValues                    attr
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		n := need{action: "dynamodb:" + op, resource: tableARN(in.TableName)}
		if in.IndexName != "" {
			n.resource += "/index/" + in.IndexName
		}
		if op == "Query" {
			n.leadingKeys = queriedKey(in.KeyConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues, m.hashKeys[in.IndexName])
		}
		return []need{n}, nil
	}
	var in struct{ TableName string }
	json.Unmarshal(body, &in)
	return []need{{action: "dynamodb:" + op, resource: tableARN(in.TableName)}}, nil
}

var (
	equality = regexp.MustCompile(`^\(*\s*(#?[\w.]+)\s*=\s*(:\w+)\s*\)*$`)
	and      = regexp.MustCompile(`(?i)\s+AND\s+`)
)

// queriedKey finds "hashKey = :value" among the AND-ed clauses of a key
// condition and returns the value.
func queriedKey(cond string, names map[string]string, values attr, hashKey string) []string {
	for _, clause := range and.Split(cond, -1) {
		m := equality.FindStringSubmatch(strings.TrimSpace(clause))
		if m == nil {
			continue
		}
		name := m[1]
		if n, ok := names[name]; ok {
			name = n
		}
		var v struct{ S string }
		if name == hashKey && json.Unmarshal(values[m[2]], &v) == nil {
			return []string{v.S}
		}
	}
	return nil
}

// sesNeeds is what IAM checks for one SES v2 call: sending needs the From
// address's identity and the configuration set the call names.
func sesNeeds(op string, body []byte) ([]need, error) {
	switch op {
	case "SendEmail", "SendBulkEmail":
		var in struct{ FromEmailAddress, ConfigurationSetName string }
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, err
		}
		from := in.FromEmailAddress
		if i := strings.LastIndexByte(from, '<'); i >= 0 {
			from = strings.TrimSuffix(from[i+1:], ">")
		}
		_, domain, _ := strings.Cut(from, "@")
		prefix := "arn:aws:ses:" + Region + ":" + Account + ":"
		ns := []need{{action: "ses:" + op, resource: prefix + "identity/" + domain}}
		if in.ConfigurationSetName != "" {
			ns = append(ns, need{action: "ses:" + op, resource: prefix + "configuration-set/" + in.ConfigurationSetName})
		}
		return ns, nil
	case "GetAccount":
		return []need{{action: "ses:GetAccount", resource: "*"}}, nil
	}
	return []need{{action: "ses:" + op, resource: "*"}}, nil
}

// Denied returns every call refused so far.
func (m *IAM) Denied() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.denied)
}

// Unused lists, over the runs of every given stack's IAM, each grant of a
// DynamoDB, SES, Lambda or EventBridge action (on each resource, and each LeadingKeys
// pattern) that no function call used: a grant the code never needed.
func Unused(runs ...*IAM) []string {
	if len(runs) == 0 {
		return nil
	}
	used := map[Use]bool{}
	for _, m := range runs {
		m.mu.Lock()
		for u := range m.used {
			used[u] = true
		}
		m.mu.Unlock()
	}
	var out []string
	for fn, stmts := range runs[0].functions {
		for _, s := range stmts {
			for _, a := range s.Actions {
				if !enforced(a) {
					continue
				}
				for _, r := range s.Resources {
					patterns := s.LeadingKeys
					if patterns == nil {
						patterns = []string{""}
					}
					for _, p := range patterns {
						if !used[Use{fn, a, r, p}] {
							what := fmt.Sprintf("%s is granted %s on %s", fn, a, r)
							if p != "" {
								what += " for partition keys " + p
							}
							out = append(out, what+", which no call of the suite needed")
						}
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// enforced reports whether the local stack sees the calls of an action.
func enforced(action string) bool {
	service, _, _ := strings.Cut(action, ":")
	return service == "dynamodb" || service == "ses" || service == "lambda" || service == "events"
}
