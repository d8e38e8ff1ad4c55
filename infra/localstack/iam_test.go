package localstack

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func testIAM() *IAM {
	table := tableARN("t")
	fns := []Function{
		{LogicalID: "Public", Statements: []Statement{{Actions: []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
			Resources: []string{"!GetAtt Table.Arn"}, ARNs: []string{table}, LeadingKeys: []string{"P#*", "L#*"}}}},
		{LogicalID: "Sweep", Statements: []Statement{
			{Actions: []string{"dynamodb:Query"}, Resources: []string{"!GetAtt Table.Arn", "!Sub ${Table.Arn}/index/due"}, ARNs: []string{table, table + "/index/due"}},
			{Actions: []string{"dynamodb:BatchWriteItem"}, Resources: []string{"!GetAtt Table.Arn"}, ARNs: []string{table}},
		}},
	}
	return NewIAM(fns, &dynamodb.CreateTableInput{TableName: aws.String("t"),
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: "HASH"}, {AttributeName: aws.String("sk"), KeyType: "RANGE"}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("due"),
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("duePK"), KeyType: "HASH"}}}}})
}

// call sends one signed DynamoDB call through m and returns the status the
// caller got (200: it went on to the emulator).
func call(m *IAM, fn, op, body string) (int, string) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+fn+"/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x")
	w := httptest.NewRecorder()
	if !m.DynamoDB(w, r) {
		return w.Code, w.Header().Get("X-Amzn-ErrorType") + " " + w.Body.String()
	}
	return http.StatusOK, ""
}

func TestIAMRefusesWhatTheStatementsDoNotGrant(t *testing.T) {
	tests := []struct {
		name, fn, op, body string
		allowed            bool
	}{
		{"a granted action on a person", "Public", "GetItem", `{"TableName":"t","Key":{"pk":{"S":"P#1"},"sk":{"S":"PROFILE"}}}`, true},
		{"an action not granted", "Public", "DeleteItem", `{"TableName":"t","Key":{"pk":{"S":"P#1"},"sk":{"S":"PROFILE"}}}`, false},
		{"a granted action outside the leading keys", "Public", "PutItem", `{"TableName":"t","Item":{"pk":{"S":"POLICY"},"sk":{"S":"V#1"}}}`, false},
		{"another table", "Public", "GetItem", `{"TableName":"other","Key":{"pk":{"S":"P#1"}}}`, false},
		{"a transaction of granted items", "Public", "TransactWriteItems",
			`{"TransactItems":[{"Update":{"TableName":"t","Key":{"pk":{"S":"P#1"}}}},{"Put":{"TableName":"t","Item":{"pk":{"S":"L#newsletter"}}}}]}`, true},
		{"a transaction with one item not granted", "Public", "TransactWriteItems",
			`{"TransactItems":[{"Update":{"TableName":"t","Key":{"pk":{"S":"P#1"}}}},{"Delete":{"TableName":"t","Key":{"pk":{"S":"L#newsletter"}}}}]}`, false},
		{"a transaction with one item outside the leading keys", "Public", "TransactWriteItems",
			`{"TransactItems":[{"Update":{"TableName":"t","Key":{"pk":{"S":"P#1"}}}},{"Put":{"TableName":"t","Item":{"pk":{"S":"STATS"}}}}]}`, false},
		{"a query of a granted index", "Sweep", "Query", `{"TableName":"t","IndexName":"due","KeyConditionExpression":"#0 = :0","ExpressionAttributeNames":{"#0":"duePK"},"ExpressionAttributeValues":{":0":{"S":"DUE#2026-11-30"}}}`, true},
		{"a query of an index not granted", "Sweep", "Query", `{"TableName":"t","IndexName":"recipients"}`, false},
		{"a batch write, an action of its own", "Sweep", "BatchWriteItem", `{"RequestItems":{"t":[{"DeleteRequest":{"Key":{"pk":{"S":"P#1"}}}}]}}`, true},
		{"a batch write is not its items' actions", "Public", "BatchWriteItem", `{"RequestItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"P#1"}}}}]}}`, false},
		{"a caller that is no function (a test, a tool)", "local", "DeleteItem", `{"TableName":"t","Key":{"pk":{"S":"POLICY"}}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := testIAM()
			code, answer := call(m, tt.fn, tt.op, tt.body)
			if (code == http.StatusOK) != tt.allowed {
				t.Fatalf("status %d %s, want allowed=%v", code, answer, tt.allowed)
			}
			if !tt.allowed && (code != http.StatusBadRequest || !strings.Contains(answer, "AccessDeniedException") || len(m.Denied()) != 1) {
				t.Fatalf("refused with %d %q, %d recorded; want 400 AccessDeniedException, recorded", code, answer, len(m.Denied()))
			}
		})
	}
}

func TestUnusedListsEveryGrantNoCallNeeded(t *testing.T) {
	m := testIAM()
	call(m, "Public", "GetItem", `{"TableName":"t","Key":{"pk":{"S":"P#1"}}}`)
	call(m, "Public", "TransactWriteItems", `{"TransactItems":[{"Update":{"TableName":"t","Key":{"pk":{"S":"P#1"}}}},{"Put":{"TableName":"t","Item":{"pk":{"S":"L#x"}}}}]}`)
	other := testIAM() // a second stack's run counts too
	call(other, "Sweep", "Query", `{"TableName":"t","IndexName":"due","KeyConditionExpression":"#0 = :0","ExpressionAttributeNames":{"#0":"duePK"},"ExpressionAttributeValues":{":0":{"S":"DUE#1"}}}`)
	got := Unused(m, other)
	want := []string{
		"Public is granted dynamodb:GetItem on !GetAtt Table.Arn for partition keys L#*, which no call of the suite needed",
		"Public is granted dynamodb:PutItem on !GetAtt Table.Arn for partition keys P#*, which no call of the suite needed",
		"Public is granted dynamodb:UpdateItem on !GetAtt Table.Arn for partition keys L#*, which no call of the suite needed",
		"Sweep is granted dynamodb:BatchWriteItem on !GetAtt Table.Arn, which no call of the suite needed",
		"Sweep is granted dynamodb:Query on !GetAtt Table.Arn, which no call of the suite needed",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("unused =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestIAMChecksSESSendsAgainstTheIdentityAndConfigurationSet(t *testing.T) {
	prefix := "arn:aws:ses:" + Region + ":" + Account + ":"
	m := NewIAM([]Function{{LogicalID: "Mailer", Statements: []Statement{{Actions: []string{"ses:SendEmail"},
		Resources: []string{"identity"}, ARNs: []string{prefix + "identity/example.com"}}}}}, &dynamodb.CreateTableInput{TableName: aws.String("t")})
	send := func(body string) int {
		r := httptest.NewRequest(http.MethodPost, "/v2/email/outbound-emails", strings.NewReader(body))
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=Mailer/20261130/us-east-1/ses/aws4_request")
		w := httptest.NewRecorder()
		if m.SES(w, r) {
			return http.StatusOK
		}
		return w.Code
	}
	if got := send(`{"FromEmailAddress":"Us <no-reply@example.com>"}`); got != http.StatusOK {
		t.Errorf("a send from the granted identity: %d", got)
	}
	if got := send(`{"FromEmailAddress":"no-reply@example.com","ConfigurationSetName":"notices"}`); got != http.StatusForbidden {
		t.Errorf("a send through a configuration set not granted: %d, want 403", got)
	}
	if got := send(`{"FromEmailAddress":"no-reply@other.example"}`); got != http.StatusForbidden {
		t.Errorf("a send from another identity: %d, want 403", got)
	}
}
