package localstack

import "maps"

// LooseLimits are template parameters that put the abuse limits out of
// reach, for stacks whose tests and benchmarks are about something else
// (they sign up hundreds of times from one loopback address, and one
// address again and again): every counter is still taken, as deployed.
var LooseLimits = map[string]string{
	"LimitSignupsPerSource": "1000000/1m", "LimitMailsPerMailbox": "1000000/1m", "LimitMailsPerMinute": "1000000",
}

// NoLimits are template parameters that turn the abuse limits off: no
// counter is taken, as before there were limits.
var NoLimits = map[string]string{"LimitSignupsPerSource": "0", "LimitMailsPerMailbox": "0", "LimitMailsPerMinute": "0"}

// WithDefaults returns params with every key of defaults that params does
// not set.
func WithDefaults(params, defaults map[string]string) map[string]string {
	out := maps.Clone(defaults)
	maps.Copy(out, params)
	return out
}
