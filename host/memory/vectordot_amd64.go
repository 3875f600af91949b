package memory

import "golang.org/x/sys/cpu"

// dotsInt8AVX2 is in vectordot_amd64.s.
//
//go:noescape
func dotsInt8AVX2(q *int16, codes *int8, stride int, n int, out *int32)

var haveAVX2 = cpu.X86.HasAVX2

// dotsInt8 sets out[i] to the dot product of q with row i of codes (n
// rows of stride codes; stride a multiple of codeAlign, len(q) = stride).
func dotsInt8(q []int16, codes []int8, stride int, out []int32) {
	n := len(out)
	if n == 0 {
		return
	}
	_ = codes[n*stride-1]
	_ = q[stride-1]
	if haveAVX2 {
		dotsInt8AVX2(&q[0], &codes[0], stride, n, &out[0])
		return
	}
	dotsInt8Go(q, codes, stride, out)
}
