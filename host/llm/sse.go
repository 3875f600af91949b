package llm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
)

// maxSSELine bounds one SSE line. A chunk that carries a whole tool call's
// arguments can be large, but not this large.
const maxSSELine = 8 << 20

// sseEvent is one server-sent event: its name (empty for the default
// "message") and its data.
type sseEvent struct {
	Name string
	Data []byte
}

// sseReader reads server-sent events. It accepts LF, CRLF and CR line ends,
// comment lines (": ping"), "event:" and other fields, and any split of the
// stream across reads. It is lenient where providers are sloppy: a data line
// that follows a complete JSON value or [DONE] without the blank line in
// between starts a new event, and data pending at EOF is delivered.
type sseReader struct {
	sc   *bufio.Scanner
	name string
	data []byte
	has  bool // data holds at least one data line
	done bool // the scanner is exhausted
}

func newSSEReader(r io.Reader) *sseReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxSSELine)
	sc.Split(scanSSELines)
	return &sseReader{sc: sc}
}

// Next returns the next event, or io.EOF after the last one.
func (s *sseReader) Next() (sseEvent, error) {
	for !s.done {
		if !s.sc.Scan() {
			s.done = true
			if err := s.sc.Err(); err != nil {
				return sseEvent{}, err
			}
			break
		}
		line := s.sc.Bytes()
		if len(line) == 0 {
			if ev, ok := s.take(); ok {
				return ev, nil
			}
			continue
		}
		if line[0] == ':' {
			continue // comment, e.g. a keep-alive ping
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			s.name = intern(value) // Anthropic names every event
		case "data":
			if s.has && complete(s.data) {
				ev, _ := s.take()
				s.has, s.data = true, append(s.data, value...)
				return ev, nil
			}
			if s.has {
				s.data = append(s.data, '\n')
			}
			s.has, s.data = true, append(s.data, value...)
		}
		// id:, retry: and unknown fields mean nothing here.
	}
	if ev, ok := s.take(); ok {
		return ev, nil
	}
	return sseEvent{}, io.EOF
}

// take returns the buffered event, if any, and resets the buffer.
func (s *sseReader) take() (sseEvent, bool) {
	if !s.has {
		s.name = ""
		return sseEvent{}, false
	}
	ev := sseEvent{Name: s.name, Data: bytes.Clone(s.data)}
	s.name, s.data, s.has = "", s.data[:0], false
	return ev, true
}

// complete reports whether data is already a whole event payload.
func complete(data []byte) bool {
	return string(data) == "[DONE]" || json.Valid(data)
}

// scanSSELines is a bufio.SplitFunc for lines ended by LF, CRLF or CR.
func scanSSELines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
		if data[i] == '\n' {
			return i + 1, data[:i], nil
		}
		// CR: a following LF belongs to it, so wait to see the next byte.
		if i+1 < len(data) {
			if data[i+1] == '\n' {
				return i + 2, data[:i], nil
			}
			return i + 1, data[:i], nil
		}
		if atEOF {
			return i + 1, data[:i], nil
		}
		return 0, nil, nil
	}
	if atEOF {
		return len(data), data, nil
	}
	return 0, nil, nil
}
