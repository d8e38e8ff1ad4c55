// Command hello is the smallest aws-lambda-go function: the bench's
// yardstick for bootstrap size and cold start, built and run exactly as the
// functions are.
package main

import "github.com/aws/aws-lambda-go/lambda"

func main() {
	lambda.Start(func() (string, error) { return "hello", nil })
}
