//go:build !amd64

package memory

// dotsInt8 sets out[i] to the dot product of q with row i of codes (n
// rows of stride codes; stride a multiple of codeAlign, len(q) = stride).
func dotsInt8(q []int16, codes []int8, stride int, out []int32) {
	dotsInt8Go(q, codes, stride, out)
}
