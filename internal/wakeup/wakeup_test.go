package wakeup

import "testing"

func TestSignalWakesOnlyItsKey(t *testing.T) {
	h := NewHub()
	a, b := h.Subscribe("a"), h.Subscribe("b")
	h.Signal("a")
	h.Signal("a") // a second signal before a read is the same wake-up
	select {
	case <-a:
	default:
		t.Fatal("a's subscriber was not woken")
	}
	select {
	case <-a:
		t.Fatal("two signals left two wake-ups; want one")
	case <-b:
		t.Fatal("b's subscriber was woken by a's signal")
	default:
	}
	h.SignalAll()
	for name, c := range map[string]chan struct{}{"a": a, "b": b} {
		select {
		case <-c:
		default:
			t.Errorf("SignalAll did not wake %s", name)
		}
	}
	h.Unsubscribe("a", a)
	h.Signal("a")
	select {
	case <-a:
		t.Fatal("an unsubscribed channel was woken")
	default:
	}
	if len(h.subs) != 1 {
		t.Fatalf("hub keeps %d keys after one unsubscribed; want 1", len(h.subs))
	}
}
