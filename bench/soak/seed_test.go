package main

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/mastra-server/mastra-server/internal/llmtest"
)

// A seed replays: the same seed draws the same fault schedule and the same
// model answers (whatever order requests arrive in); another seed draws
// others.

func TestFaultPlanFollowsTheSeed(t *testing.T) {
	o := options{seed: 11, duration: time.Minute, instances: 2}
	plan := faultPlan(o)
	if !reflect.DeepEqual(plan, faultPlan(o)) {
		t.Fatal("one seed drew two fault schedules")
	}
	o.seed = 12
	if reflect.DeepEqual(plan, faultPlan(o)) {
		t.Fatal("two seeds drew one fault schedule")
	}
	kinds := map[string]bool{}
	for _, f := range plan {
		kinds[f.kind] = true
		if f.at+f.hold > o.duration-3*time.Second {
			t.Errorf("%s at %s lasts into the last 3 s of the traffic", f.kind, f.at)
		}
	}
	if len(kinds) != len(faultKinds) {
		t.Errorf("a minute's schedule has %d kinds of fault of %d: %v", len(kinds), len(faultKinds), plan)
	}
}

func TestModelFollowsTheSeed(t *testing.T) {
	answers := func(seed uint64, order []int) map[string]llmtest.Reply {
		m := &fakeModel{seed: seed}
		m.faulty.Store(true)
		out := map[string]llmtest.Reply{}
		for _, i := range order {
			msg := fmt.Sprintf("soak-1-%d", i)
			c := msg
			out[msg] = m.reply(llmtest.Request{Messages: []llmtest.Message{{Role: "user", Content: &c}}})
		}
		return out
	}
	var forward, backward []int
	for i := range 200 {
		forward = append(forward, i)
		backward = append(backward, 199-i)
	}
	a := answers(5, forward)
	if !reflect.DeepEqual(a, answers(5, backward)) {
		t.Fatal("one seed answered differently when the requests came in another order")
	}
	if reflect.DeepEqual(a, answers(6, forward)) {
		t.Fatal("two seeds gave the same answers")
	}
	failed := 0
	for _, r := range a {
		if r.Status != 0 || r.MidStreamError || r.StallBeforeAnswer {
			failed++
		}
	}
	if failed == 0 || failed > 100 {
		t.Errorf("%d of 200 answers failed; want about one in six", failed)
	}
}
