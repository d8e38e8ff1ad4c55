package localstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SignAdmin signs req with SigV4 for execute-api, as an operator's AWS tools
// sign a call to an AWS_IAM route, with the local stack's credentials.
func SignAdmin(ctx context.Context, req *http.Request, body []byte) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: accessKey, SecretAccessKey: secretKey}, req,
		hex.EncodeToString(sum[:]), "execute-api", Region, time.Now())
}
