package main

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/mastra-server/mastra-server/internal/pgtest"
)

// plannedFault is one fault of the seed's schedule: what, on which
// instance, when (from the start of the traffic) and for how long.
type plannedFault struct {
	at       time.Duration
	kind     string
	instance int
	hold     time.Duration
}

// faultKinds are the faults of the schedule. Model errors and stalls and
// clients cutting their own streams happen besides, all along.
var faultKinds = []string{"kill-9", "sigstop", "pg-cut", "sse-drop", "model-pause", "pg-stop", "sigterm"}

// streamLease is server.streams.lease in serverConfig: a frozen instance
// stays frozen past it.
const streamLease = 2 * time.Second

// faultPlan draws the schedule from the seed: one fault at a time, every
// kind once in each round of len(faultKinds) in a shuffled order, with
// 1.5–4.5 s of calm between two (less in the first round of a short run,
// so that it still has every kind), none lasting into the last 3 s of the
// traffic.
func faultPlan(o options) []plannedFault {
	rng := rand.New(rand.NewPCG(o.seed, 1))
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)) }
	const tail = 3 * time.Second
	var plan []plannedFault
	t := between(time.Second, 2*time.Second)
	for round := 0; t < o.duration-tail; round++ {
		kinds := slices.Clone(faultKinds)
		rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		fs := make([]plannedFault, len(kinds))
		busy := time.Duration(0) // the round's faults, restarts included
		for i, kind := range kinds {
			f := plannedFault{kind: kind, instance: rng.IntN(o.instances)}
			switch f.kind {
			case "kill-9":
				f.hold = 500 * time.Millisecond // as a supervisor's restart delay
				busy += time.Second             // the restart
			case "sigterm":
				busy += 1500 * time.Millisecond // the drain and the restart
			case "sigstop":
				f.hold = streamLease + between(500*time.Millisecond, 1500*time.Millisecond)
			case "pg-cut":
				f.hold = between(time.Second, 2*time.Second)
			case "model-pause":
				f.hold = between(500*time.Millisecond, 2*time.Second)
			case "pg-stop":
				f.hold = between(1500*time.Millisecond, 3*time.Second)
			}
			busy += f.hold
			fs[i] = f
		}
		calmMax := time.Duration(1 << 62)
		if round == 0 {
			calmMax = max(500*time.Millisecond, (o.duration-tail-t-busy)/time.Duration(len(fs)))
		}
		for _, f := range fs {
			if t+f.hold >= o.duration-tail {
				t = o.duration // the round ends the schedule
				break
			}
			f.at = t
			plan = append(plan, f)
			t += f.hold + min(calmMax, between(1500*time.Millisecond, 4500*time.Millisecond))
			switch f.kind {
			case "kill-9":
				t += time.Second
			case "sigterm":
				t += 1500 * time.Millisecond
			}
		}
	}
	return plan
}

// inject runs the plan until ctx ends; a fault begun is always healed.
func inject(ctx context.Context, plan []plannedFault, f *fleet, pg *pgtest.Cluster, sh *shared, r *report) {
	for _, p := range plan {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(r.started.Add(p.at))):
		}
		in := f.all()[p.instance]
		// The fault is an operation of the history too (Jepsen's
		// nemesis), so that a violation's history shows what happened
		// around it.
		nemesis := r.h.invoke(&op{tenant: "nemesis", kind: "nemesis", fault: p.kind + " " + in.name})
		switch p.kind {
		case "kill-9":
			r.fault(p.kind, "kill -9 %s", in.name)
			in.kill()
			time.Sleep(p.hold)
			restart(in, r)
		case "sigterm":
			r.fault(p.kind, "SIGTERM %s", in.name)
			if err := in.terminate(); err == nil {
				restart(in, r)
			}
		case "sigstop":
			r.fault(p.kind, "SIGSTOP %s for %s", in.name, p.hold.Round(100*time.Millisecond))
			in.freeze()
			time.Sleep(p.hold)
			in.cont()
			r.fault("", "SIGCONT %s", in.name)
		case "pg-cut":
			r.fault(p.kind, "%s cut off Postgres for %s", in.name, p.hold.Round(100*time.Millisecond))
			in.pg.cut(p.hold)
			time.Sleep(p.hold)
		case "sse-drop":
			n := sh.dropStreams()
			r.fault(p.kind, "dropped %d open SSE connections", n)
		case "model-pause":
			r.fault(p.kind, "model paused for %s", p.hold.Round(100*time.Millisecond))
			r.model.pause()
			time.Sleep(p.hold)
			r.model.resume()
		case "pg-stop":
			r.fault(p.kind, "postgres stopped for %s", p.hold.Round(100*time.Millisecond))
			if err := pg.Stop(); err != nil {
				r.fault("", "pg stop: %v", err)
			}
			time.Sleep(p.hold)
			if err := pg.Start(); err != nil {
				r.fault("", "pg start: %v", err)
			}
			r.fault("", "postgres started")
		}
		r.h.done(nemesis, ok, "healed")
	}
}

func restart(in *instance, r *report) {
	if err := in.restart(context.Background()); err != nil {
		r.fault("", "restart of %s failed: %v", in.name, err)
	}
}
