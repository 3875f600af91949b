package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// summarize reads the log bench/compare.sh writes (this tool's output,
// each line prefixed "[<side> <round>] ") and prints, per figure and side,
// the range over the rounds; the peer phase's closing lines as they are.
func summarize(r io.Reader, w io.Writer) error {
	var (
		closed   = regexp.MustCompile(`^\[(\S+) \d+\] (generate|stream) +\d+ ok +\d+ failed .*?([\d.]+) turns/s +p50 +([\d.]+)ms +p99 +([\d.]+)ms +server CPU +([\d.]+) ms/turn`)
		open     = regexp.MustCompile(`^\[(\S+) \d+\] open (generate|stream) +at ([\d.]+)/s .*?(\d+) failed (\d+) dropped \(([\d.]+) turns/s done\) +client p50 ([\d.]+)ms +p99 ([\d.]+)ms +server CPU ([\d.]+) ms/turn`)
		overhead = regexp.MustCompile(`^\[(\S+) \d+\] +mastra_server_overhead_seconds\{route="([^"]+)"\}: .*? p50 (≥ )?([\d.]+) ms +p99 (≥ )?([\d.]+) ms +mean ([\d.]+) ms`)
	)
	type key struct{ figure, side string }
	vals := map[key][]string{}
	var figures, sides []string
	seenF, seenS := map[string]bool{}, map[string]bool{}
	add := func(figure, side, v string) {
		if !seenF[figure] {
			seenF[figure] = true
			figures = append(figures, figure)
		}
		if !seenS[side] {
			seenS[side] = true
			sides = append(sides, side)
		}
		vals[key{figure, side}] = append(vals[key{figure, side}], v)
	}
	lastRate := map[string]string{} // side -> rate of its last open run
	var peer []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := closed.FindStringSubmatch(line); m != nil {
			side, k := m[1], m[2]
			add(k+" turns/s (closed loop)", side, m[3])
			add(k+" p50 ms", side, m[4])
			add(k+" p99 ms", side, m[5])
			add(k+" server CPU ms/turn", side, m[6])
			continue
		}
		if m := open.FindStringSubmatch(line); m != nil {
			side, k, rate := m[1], m[2], m[3]
			lastRate[side] = rate
			p := fmt.Sprintf("open %s at %s/s: ", k, rate)
			add(p+"turns/s done", side, m[6])
			add(p+"failed+dropped", side, strconv.Itoa(atoi(m[4])+atoi(m[5])))
			add(p+"client p50 ms", side, m[7])
			add(p+"client p99 ms", side, m[8])
			add(p+"server CPU ms/turn", side, m[9])
			continue
		}
		if m := overhead.FindStringSubmatch(line); m != nil {
			side := m[1]
			p := fmt.Sprintf("overhead %s at %s/s: ", m[2], lastRate[side])
			add(p+"p50 ms", side, strings.TrimSpace(m[3])+m[4])
			add(p+"p99 ms", side, strings.TrimSpace(m[5])+m[6])
			add(p+"mean ms", side, m[7])
			continue
		}
		if strings.HasPrefix(line, "[peer] peer ") {
			peer = append(peer, strings.TrimPrefix(line, "[peer] "))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%-58s", "figure (range over rounds)")
	for _, s := range sides {
		fmt.Fprintf(w, " %-22s", s)
	}
	fmt.Fprintln(w)
	for _, f := range figures {
		fmt.Fprintf(w, "%-58s", f)
		for _, s := range sides {
			fmt.Fprintf(w, " %-22s", valueRange(vals[key{f, s}]))
		}
		fmt.Fprintln(w)
	}
	for _, l := range peer {
		fmt.Fprintln(w, l)
	}
	return nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// valueRange is "min–max" of numbers, a "≥" kept when the largest carries it.
func valueRange(vs []string) string {
	if len(vs) == 0 {
		return "-"
	}
	type v struct {
		x     float64
		floor bool
	}
	xs := make([]v, 0, len(vs))
	for _, s := range vs {
		floor := strings.HasPrefix(s, "≥")
		x, err := strconv.ParseFloat(strings.TrimPrefix(s, "≥"), 64)
		if err == nil {
			xs = append(xs, v{x, floor})
		}
	}
	if len(xs) == 0 {
		return "?"
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].x < xs[j].x })
	f := func(a v) string {
		s := strconv.FormatFloat(a.x, 'f', -1, 64)
		if a.x >= 100 {
			s = strconv.FormatFloat(a.x, 'f', 0, 64)
		}
		if a.floor {
			s = "≥" + s
		}
		return s
	}
	lo, hi := xs[0], xs[len(xs)-1]
	if lo == hi {
		return f(lo)
	}
	return f(lo) + "–" + f(hi)
}
