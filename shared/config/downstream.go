package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/smartprotect/pledge/shared/privacy"
)

// DownstreamSettings name the systems that hold what pledge does not (the
// product's billing, support, ...) and the bus pledge tells them on.
type DownstreamSettings struct {
	// Bus (DOWNSTREAM_BUS, required) is the name of pledge's own
	// EventBridge bus for privacy requests' events.
	Bus string
	// Systems (DOWNSTREAM_SYSTEMS: comma-separated, may be empty) must
	// each acknowledge every request; a deletion completes only then.
	Systems []string
}

// Downstream reads DOWNSTREAM_BUS and DOWNSTREAM_SYSTEMS; a system's name
// is lower case letters, digits and hyphens (privacy.ValidSystemName), each
// named once.
func Downstream(e *Env) DownstreamSettings {
	s := DownstreamSettings{Bus: e.need("DOWNSTREAM_BUS")}
	for _, name := range strings.Split(e.get("DOWNSTREAM_SYSTEMS"), ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
		case !privacy.ValidSystemName(name):
			e.fail(fmt.Errorf("DOWNSTREAM_SYSTEMS: %q is not a system name (a-z, 0-9, -; at most 32)", name))
		case slices.Contains(s.Systems, name):
			e.fail(fmt.Errorf("DOWNSTREAM_SYSTEMS names %q twice", name))
		default:
			s.Systems = append(s.Systems, name)
		}
	}
	return s
}
