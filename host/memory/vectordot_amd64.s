#include "textflag.h"

// func dotsInt8AVX2(q *int16, codes *int8, stride int, n int, out *int32)
//
// For each of n rows of stride int8 codes (stride a multiple of 32, > 0),
// out[i] = Σ q[j]·codes[i·stride+j] in int32: 16 codes a step widened to
// int16 (VPMOVSXBW), multiplied with q and summed in pairs (VPMADDWD), in
// two accumulators of 8 lanes.
TEXT ·dotsInt8AVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), SI
	MOVQ codes+8(FP), DI
	MOVQ stride+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ out+32(FP), R8
	TESTQ DX, DX
	JZ done

row:
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	XORQ AX, AX

step:
	VPMOVSXBW (DI)(AX*1), Y2
	VPMOVSXBW 16(DI)(AX*1), Y3
	VPMADDWD (SI)(AX*2), Y2, Y2
	VPMADDWD 32(SI)(AX*2), Y3, Y3
	VPADDD Y2, Y0, Y0
	VPADDD Y3, Y1, Y1
	ADDQ $32, AX
	CMPQ AX, CX
	JLT step

	VPADDD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (R8)
	ADDQ $4, R8
	ADDQ CX, DI
	DECQ DX
	JNZ row

done:
	VZEROUPPER
	RET
