package main

import (
	"net/url"
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
)

// confirmLinks mints signed confirm links under one base URL.
type confirmLinks struct {
	keys *token.Keys
	ttl  time.Duration
	base string
}

func (l confirmLinks) ConfirmLink(personID string, purposes []people.Purpose, now time.Time) (string, time.Time) {
	scope := make([]string, len(purposes))
	for i, p := range purposes {
		scope[i] = string(p)
	}
	t := l.keys.Issue(token.Confirm, personID, scope, now, l.ttl)
	return l.base + "/confirm?t=" + url.QueryEscape(t), now.Add(l.ttl)
}
