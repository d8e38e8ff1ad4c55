package main

import (
	"time"

	"github.com/smartprotect/pledge/shared/people"
	"github.com/smartprotect/pledge/shared/token"
	"github.com/smartprotect/pledge/shared/web"
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
	return web.TokenURL(l.base, "/confirm", t), now.Add(l.ttl)
}
