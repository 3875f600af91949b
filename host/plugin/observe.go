package plugin

import (
	"context"
	"net/http"
)

// Observer watches guest calls, for metrics and traces; host/metrics and
// host/tracing implement it.
type Observer interface {
	// StartCall is called as a request enters the guest. header is the
	// request's header as the guest will read it: an observer may add to
	// it (a trace's traceparent, so the guest can pass it on). The context
	// returned is the call's from then on; end is called once, with the
	// call's outcome (one of the Outcome constants).
	StartCall(ctx context.Context, plugin string, kind Kind, header http.Header) (context.Context, func(outcome string))
}

// Outcomes of a guest call.
const (
	OutcomeOK       = "ok"
	OutcomeTrap     = "trap"
	OutcomeTimeout  = "timeout"
	OutcomeBusy     = "busy"
	OutcomeCanceled = "canceled"
	OutcomeTooLarge = "too_large" // the request body was over MaxBody
	OutcomeOverCap  = "over_cap"  // the guest made the host hold over MaxResponse
	OutcomeClosed   = "closed"
)

func (f failure) outcome() string {
	switch f {
	case 0:
		return OutcomeOK
	case failTimeout:
		return OutcomeTimeout
	case failBusy:
		return OutcomeBusy
	case failCanceled:
		return OutcomeCanceled
	case failTooLarge:
		return OutcomeTooLarge
	case failOverCap:
		return OutcomeOverCap
	case failClosed:
		return OutcomeClosed
	}
	return OutcomeTrap // failTrap, failNext: the guest misbehaved
}

// PoolStats is a snapshot of a plugin's instance pool.
type PoolStats struct {
	// InUse instances are serving a call; Live are instantiated (idle or
	// in use); Capacity is MaxInstances.
	InUse, Live, Capacity int
}

// Pool returns a snapshot of the plugin's pool; zero once closed.
func (p *Plugin) Pool() PoolStats {
	pl := p.cur.Load()
	if pl == nil {
		return PoolStats{}
	}
	live, idle := len(pl.slots), len(pl.idle)
	return PoolStats{InUse: max(live-idle, 0), Live: live, Capacity: cap(pl.slots)}
}

// Kind returns what the plugin is loaded as.
func (p *Plugin) Kind() Kind { return p.spec.Kind }

// Observers joins observers into one, called in order; nil when none.
func Observers(obs ...Observer) Observer {
	var list multiObserver
	for _, o := range obs {
		if o != nil {
			list = append(list, o)
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return list
}

type multiObserver []Observer

func (m multiObserver) StartCall(ctx context.Context, plugin string, kind Kind, h http.Header) (context.Context, func(string)) {
	ends := make([]func(string), len(m))
	for i, o := range m {
		ctx, ends[i] = o.StartCall(ctx, plugin, kind, h)
	}
	return ctx, func(outcome string) {
		for i := len(ends) - 1; i >= 0; i-- {
			ends[i](outcome)
		}
	}
}
