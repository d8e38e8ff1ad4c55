package secrets

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type fakeAPI struct {
	asked string
	err   error
}

func (f *fakeAPI) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.asked = aws.ToString(in.SecretId)
	if f.err != nil {
		return nil, f.err
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(`{"ADDRESS_PEPPER":"x"}`)}, nil
}

func TestAFetcherAsksForTheSecretByItsARN(t *testing.T) {
	api := &fakeAPI{}
	got, err := FromAPI(api)(context.Background(), "arn:aws:secretsmanager:us-east-1:1:secret:p")
	if err != nil || got != `{"ADDRESS_PEPPER":"x"}` || api.asked != "arn:aws:secretsmanager:us-east-1:1:secret:p" {
		t.Fatalf("fetch = %q, %v; asked for %q", got, err, api.asked)
	}
	denied := errors.New("AccessDeniedException")
	if _, err := FromAPI(&fakeAPI{err: denied})(context.Background(), "arn"); !errors.Is(err, denied) {
		t.Fatalf("a refused read = %v", err)
	}
}
