package plugin

import (
	"fmt"

	"github.com/tetratelabs/wazero/api"
)

// Reading and writing guest memory. A region outside memory traps.

func mustRead(mod api.Module, ptr, n uint32, what string) []byte {
	if n == 0 {
		return nil
	}
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("%s: region [%d, %d+%d) is outside memory", what, ptr, ptr, n))
	}
	return b
}

func mustString(mod api.Module, ptr, n uint32, what string) string {
	if n > maxGuestString {
		panic(fmt.Errorf("%s: length %d is too large", what, n))
	}
	return string(mustRead(mod, ptr, n, what))
}

// writeIfFits writes v at buf when it fits in limit and returns its length
// either way, so the guest can retry with a larger buffer.
func writeIfFits[T string | []byte](mod api.Module, buf, limit uint32, v T, what string) uint32 {
	n := uint32(len(v))
	if n == 0 || n > limit {
		return n
	}
	copy(mustRead(mod, buf, n, what), v)
	return n
}

// writeList writes NUL-terminated items at buf when they fit in limit and
// returns count<<32|len either way. lower lowercases ASCII while copying.
func writeList(mod api.Module, buf, limit uint32, items []string, lower bool) uint64 {
	if len(items) == 0 {
		return 0
	}
	n := uint32(len(items))
	for _, s := range items {
		n += uint32(len(s))
	}
	if n <= limit {
		dst := mustRead(mod, buf, n, "list buffer")
		i := 0
		for _, s := range items {
			for j := 0; j < len(s); j++ {
				c := s[j]
				if lower && 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				dst[i] = c
				i++
			}
			dst[i] = 0
			i++
		}
	}
	return packHiLo(uint32(len(items)), n)
}
