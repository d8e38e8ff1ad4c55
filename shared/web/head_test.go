package web

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHEADIsAnsweredAsTheGETWithoutItsBody(t *testing.T) {
	var seen []string
	page := func(_ context.Context, req Request) (Response, error) {
		seen = append(seen, req.RouteKey+" "+req.RequestContext.HTTP.Method)
		if req.RouteKey != "GET /signup" {
			return Response{StatusCode: http.StatusNotFound}, nil
		}
		return Response{StatusCode: http.StatusOK, Body: "<html>form</html>", Headers: map[string]string{"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}}, nil
	}
	serve := ServeHead(page)
	get, _ := serve(context.Background(), Request{RouteKey: "GET /signup"})
	head, err := serve(context.Background(), Request{RouteKey: "HEAD /signup", RequestContext: requestContext("HEAD")})
	if err != nil || head.StatusCode != get.StatusCode || !maps.Equal(head.Headers, get.Headers) || head.Body != "" || get.Body == "" {
		t.Fatalf("HEAD = %d %v %q, %v; GET = %d %v", head.StatusCode, head.Headers, head.Body, err, get.StatusCode, get.Headers)
	}
	if seen[1] != "GET /signup GET" {
		t.Fatalf("the handler saw %q for a HEAD; want the GET route and method", seen[1])
	}
	if post, _ := serve(context.Background(), Request{RouteKey: "POST /signup"}); post.StatusCode != http.StatusNotFound || seen[2] != "POST /signup " {
		t.Fatalf("a POST was not passed through as it came: %d, %q", post.StatusCode, seen[2])
	}
}

func requestContext(method string) (c events.APIGatewayV2HTTPRequestContext) {
	c.HTTP.Method = method
	return c
}
