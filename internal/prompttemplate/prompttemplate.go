// Package prompttemplate splits a workflow prompt into literal text and
// ${expression} parts. It is a leaf (standard library only) so that config,
// which checks the expressions at start, and host/workflow, which evaluates
// them, read a prompt the same way.
package prompttemplate

import (
	"fmt"
	"strings"
)

// Split returns the prompt's parts: even indexes are literal text, odd
// indexes are expressions. "$${" writes a literal "${". An expression may
// hold nested braces and quoted strings.
func Split(tpl string) ([]string, error) {
	var parts []string
	var lit strings.Builder
	for i := 0; i < len(tpl); {
		switch {
		case strings.HasPrefix(tpl[i:], "$${"):
			lit.WriteString("${")
			i += 3
		case strings.HasPrefix(tpl[i:], "${"):
			end := closingBrace(tpl, i+2)
			if end < 0 {
				return nil, fmt.Errorf("unclosed ${ at byte %d", i)
			}
			parts = append(parts, lit.String(), tpl[i+2:end])
			lit.Reset()
			i = end + 1
		default:
			lit.WriteByte(tpl[i])
			i++
		}
	}
	return append(parts, lit.String()), nil
}

// closingBrace finds the } that closes an expression starting at i,
// skipping nested braces and quoted strings; -1 when there is none.
func closingBrace(s string, i int) int {
	depth := 0
	var quote byte
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}
